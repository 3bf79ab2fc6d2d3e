"""build_vocab.py: the vocabularies it writes, their minimum counts, and the checks of the files it reads."""
import json
import os

import pytest

from build_vocab import build_vocab
from helpers import contents
from helpers.ner import BAD_BUILT, TINY_SPLITS, make_built, read, write
from model.core.errors import InputError


def test_build_vocab_exact_outputs(tmp_path):
    data = make_built(tmp_path / 'NER', TINY_SPLITS)
    params = build_vocab(data)
    lines = lambda name: read(os.path.join(data, name)).split('\n')[:-1]
    # Train words only ("Paris" and "Bob" are dev/test words), most frequent first, ties by first appearance.
    assert lines('words.txt') == ['<pad>', 'John', 'New', 'York', 'lives', 'in', 'is', 'big', '.', 'saw', 'Mary']
    assert lines('tags.txt') == ['O', 'B-LOC', 'B-PER', 'I-LOC']
    assert lines('chars.txt') == ['<pad>', 'o', 'i', 'n', 'e', 's', 'w', 'r', 'J', 'h', 'N', 'Y', 'k', 'a',
                                  'l', 'v', 'b', 'g', '.', 'M', 'y']
    expected = {'train_size': 3, 'dev_size': 1, 'test_size': 1, 'vocab_size': 12, 'number_of_tags': 4,
                'char_vocab_size': 22, 'pad_word': '<pad>', 'pad_tag': 'O', 'num_oov_buckets': 1}
    assert params == expected
    with open(os.path.join(data, 'dataset_params.json')) as f:
        assert json.load(f) == expected
    assert sorted(name for name in os.listdir(data) if name.startswith('.')) == []


def test_build_vocab_min_counts(tmp_path):
    data = make_built(tmp_path / 'NER', dict(TINY_SPLITS, test=("Bob\n", "B-LOC\n")))
    params = build_vocab(data, min_count_word=2)
    assert read(os.path.join(data, 'words.txt')) == '<pad>\nJohn\nNew\nYork\n'
    assert read(os.path.join(data, 'chars.txt')) == '<pad>\no\nJ\nh\nn\nN\ne\nw\nY\nr\nk\n'
    assert params['vocab_size'] == 5 and params['char_vocab_size'] == 12
    with pytest.raises(InputError, match=r"train/labels\.txt:1: tag 'B-LOC' is not in tags\.txt: it occurs 2 time\(s\) "
                                         r"in train, fewer than --min_count_tag 3: lower --min_count_tag, or merge the "
                                         r"type into another$"):
        build_vocab(data, min_count_tag=3)
    with pytest.raises(InputError, match=r"^--min_count_word and --min_count_tag must be at least 1$"):
        build_vocab(data, min_count_word=0)


def test_build_vocab_unknown_dev_tag_leaves_the_old_vocabulary(tmp_path):
    data = make_built(tmp_path / 'NER', TINY_SPLITS)
    build_vocab(data)
    before = contents(data)
    write(os.path.join(data, 'dev', 'labels.txt'), "B-PER O O B-art\n")
    with pytest.raises(InputError, match=r"dev/labels\.txt:1: tag 'B-art' is not in tags\.txt: it never occurs in "
                                         r"train/labels\.txt, and every tag must: move sentences with it into train, "
                                         r"or merge the type into another$"):
        build_vocab(data)
    after = contents(data)
    del before[os.path.join('dev', 'labels.txt')], after[os.path.join('dev', 'labels.txt')]
    assert after == before


def test_build_vocab_missing_data(tmp_path):
    with pytest.raises(InputError, match=r"^No folder .*nowhere: run build_ner_dataset\.py first \(python "
                                         r"build_ner_dataset\.py --synthetic, or --data_dir with your corpus\)$"):
        build_vocab(str(tmp_path / 'nowhere'))
    data = make_built(tmp_path / 'NER', {'train': TINY_SPLITS['train'], 'test': TINY_SPLITS['test']})
    with pytest.raises(InputError, match=r"^No file .*dev/sentences\.txt: run build_ner_dataset\.py first"):
        build_vocab(data)


@pytest.mark.parametrize('changes, message', BAD_BUILT + [
    ({'dev': ("Mary  lives in Paris\n", "B-PER O O B-LOC\n")},
     r"dev/sentences\.txt:1: tokens must be separated by single spaces \(no tabs, no spaces at the ends, no "
     r"byte-order mark\): run build_ner_dataset\.py --data_dir on this folder to rewrite it$"),
    ({'train': ("\ufeffJohn\n", "B-PER\n")}, r"train/sentences\.txt:1: tokens must be separated by single spaces"),
])
def test_build_vocab_checks_the_files(tmp_path, changes, message):
    data = str(tmp_path / 'NER')
    for split, (sentences, labels) in dict(TINY_SPLITS, **changes).items():
        write(os.path.join(data, split, 'sentences.txt'), sentences, 'latin-1' if '\xe9' in sentences else 'utf-8')
        write(os.path.join(data, split, 'labels.txt'), labels)
    with pytest.raises(InputError, match=message):
        build_vocab(data)
    assert not os.path.exists(os.path.join(data, 'words.txt'))


def test_the_vocabulary_files_have_the_permissions_of_a_plain_open(tmp_path):
    """words.txt, tags.txt, chars.txt and dataset_params.json: readable by a teammate or a server (umask 022)."""
    import stat

    import build_vocab
    from helpers.ner import write_ner_set
    data_dir = str(tmp_path / 'NER')
    write_ner_set(data_dir, sizes=(20, 5, 5))
    previous = os.umask(0o022)
    try:
        build_vocab.build_vocab(data_dir)
    finally:
        os.umask(previous)
    for name in ('words.txt', 'tags.txt', 'chars.txt', 'dataset_params.json'):
        assert stat.S_IMODE(os.stat(os.path.join(data_dir, name)).st_mode) == 0o644, name
