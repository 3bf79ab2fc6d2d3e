"""The metrics files say which data set their figures were computed on, and other data sets' never pass for the experiment's."""
import os
import shutil

import evaluate
from helpers import copy_of, read_json, script_args
from model.core.layout import metrics_file


def test_test_metrics_name_their_data_set_and_another_set_s_figures_are_kept_apart(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    own_path = os.path.join(model_dir, 'metrics_test_best_weights.json')
    own = read_json(own_path)
    assert own['data_dir'] == os.path.abspath(data_dir)
    assert {'accuracy', 'loss'} <= set(own)
    with open(own_path, 'rb') as f:
        own_bytes = f.read()

    # The same images in another folder with a space in its name: another data set to the experiment.
    other = str(tmp_path / 'other set')
    shutil.copytree(data_dir, other)
    evaluate.main(script_args(model_dir, other, 'best_weights'))
    with open(own_path, 'rb') as f:
        assert f.read() == own_bytes  # the experiment's test figures are untouched
    apart = read_json(os.path.join(model_dir, 'metrics_test_best_weights_on_other_set.json'))
    assert apart['data_dir'] == os.path.abspath(other)
    assert apart['accuracy'] == own['accuracy']  # the same images: the same figures, in a file of their own
    log = open(os.path.join(model_dir, 'evaluate.log'), encoding='utf-8').read()
    assert 'metrics_test_best_weights_on_other_set.json' in log


def test_metrics_file_names():
    assert metrics_file('test', 'best_weights') == 'metrics_test_best_weights.json'
    assert metrics_file('test', 'best_weights', '/data/my set/') == 'metrics_test_best_weights_on_my_set.json'
    assert metrics_file('test', 'last_weights', 'data/SIGNS ü') == 'metrics_test_last_weights_on_SIGNS_ü.json'
