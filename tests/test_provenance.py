"""model/core/provenance.py with the vision example's identity of a data set (vision/example.py): build_dataset.py's
source.json, copied by train.py into the experiment's dataset.json, and the note when its weights meet another set."""
import logging
import os
import shutil

import evaluate
from build_dataset import build
from helpers import copy_of, read_json, script_args


def test_where_the_data_set_was_built_from_goes_from_source_json_to_dataset_json_to_the_note(
        raw_dir, data_dir, trained, tmp_path, caplog):
    # build_dataset.py recorded where data_dir was built from; train.py copied it into the experiment folder.
    assert read_json(os.path.join(data_dir, 'source.json'))['source'] == os.path.abspath(raw_dir)
    recorded = read_json(os.path.join(trained, 'dataset.json'))
    assert (recorded['data_dir'], recorded['source']) == (os.path.abspath(data_dir), os.path.abspath(raw_dir))
    model_dir = copy_of(trained, tmp_path)
    with caplog.at_level(logging.WARNING):
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    assert 'Note:' not in caplog.text  # the data set the weights were trained on: nothing to say

    # The same pictures copied elsewhere, as photos of one's own, and a data set built from them.
    photos = shutil.copytree(raw_dir, str(tmp_path / 'photos'))
    other = str(tmp_path / 'built from photos')
    build(photos, other, jobs=1)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        evaluate.main(script_args(model_dir, other, 'best_weights'))
    assert ('Note: the weights in {} were trained on the data set in {} (built from {}); this run uses {} '
            '(built from {})'.format(model_dir, os.path.abspath(data_dir), os.path.abspath(raw_dir),
                                     os.path.abspath(other), os.path.abspath(photos))) in caplog.text
