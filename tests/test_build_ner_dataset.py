"""build_ner_dataset.py: replacing a built data set, its command line, and both data scripts as a user runs them."""
import logging
import os
import re
from argparse import Namespace

import pytest

import build_ner_dataset
from build_ner_dataset import build
from build_vocab import build_vocab
from helpers import run
from helpers.ner import TINY_SPLITS, make_built, output, write
from model.core.errors import HANDLER_TAG, InputError, run_script


def test_overwrite_in_place_replaces_splits_and_drops_the_stale_vocabulary(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = make_built(tmp_path / 'NER', TINY_SPLITS)
    build_vocab(data)
    write(os.path.join(data, 'notes.md'), 'mine')
    with pytest.raises(InputError, match=r'NER already holds a dataset \(.*train is not empty\): pass --overwrite '
                                         r'to replace it, or choose another --output_dir$'):
        build(data, data)
    build(data, data, overwrite=True)
    assert sorted(os.listdir(data)) == ['dev', 'notes.md', 'test', 'train']
    assert output(data, 'train') == TINY_SPLITS['train']
    assert 'Removed the vocabulary of the replaced dataset (words.txt, tags.txt, chars.txt, dataset_params.json): ' \
           'run build_vocab.py again' in caplog.text
    assert not [name for name in os.listdir(tmp_path) if name.startswith('.building-')]


def test_script_refuses_both_or_neither_source(capsys):
    # A script run earlier in this process (train.main) may have left its log handlers: the error
    # would go to them; this script, run as a user runs it, has none.
    for handler in [h for h in logging.getLogger().handlers if getattr(h, HANDLER_TAG, False)]:
        logging.getLogger().removeHandler(handler)
        handler.close()
    for args in (Namespace(synthetic=True, data_dir='data/conll', output_dir='x', overwrite=False),
                 Namespace(synthetic=False, data_dir=None, output_dir='x', overwrite=False)):
        with pytest.raises(SystemExit) as exit_info:
            run_script(build_ner_dataset.main, args)
        assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("Error: Pass either --data_dir (the folder with your corpus) or "
                                         "--synthetic (a generated dataset)\n") == 2


@pytest.mark.slow
def test_scripts_as_a_user_runs_them(tmp_path):
    out = str(tmp_path / 'NER')
    result = run('build_ner_dataset.py', '--synthetic', '--output_dir', out)
    assert re.search(r"- train: 3000 sentences, \d+ tokens, \d+ entities \(LOC \d+, ORG \d+, PER \d+, MISC \d+\)\n"
                     r"- dev: 600 sentences.*\n- test: 600 sentences.*\n"
                     r"Wrote 3000 train, 600 dev and 600 test sentences to .*NER\n", result.stderr)
    result = run('build_vocab.py', '--data_dir', out)
    assert '- number_of_tags: 9\n' in result.stderr
    result = run('build_ner_dataset.py', '--synthetic', '--output_dir', out, check=False)
    assert result.returncode == 2
    assert result.stderr == "Error: {} already holds a dataset ({} is not empty): pass --overwrite to replace it, " \
                            "or choose another --output_dir\n".format(out, os.path.join(out, 'train'))
