"""Defects a new user met (issue 15): weights that do not fit, wrong advice, late or misleading errors."""
import argparse
import json
import os
import re

import pytest

import evaluate
import export
import predict
import train
from helpers import copy_of, write_params
from model.core.checkpoints import find_checkpoint, restore_weights
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.model_fn import model_fn
from model.utils import Params
from search.grid import plan_jobs, read_search
from search.report import summarize
from vision.predict_input import predict_input_fn


def snapshot(folder):
    """Every file under folder (but the logs) with its bytes: what a failed script must leave as it was."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if not name.endswith('.log'):
                with open(os.path.join(root, name), 'rb') as f:
                    files[os.path.relpath(os.path.join(root, name), folder)] = f.read()
    return files


@pytest.mark.parametrize('changes', [
    {'use_batch_norm': False},  # the checkpoint holds more variables than the graph: restored in part before
    {'num_channels': 8},        # other shapes
    {'num_channels': 4, 'image_size': 64},  # the dense layer's input size changes
])
def test_weights_that_do_not_fit_are_never_used(trained, data_dir, tmp_path, changes):
    model_dir = copy_of(trained, tmp_path)
    write_params(model_dir, num_epochs=4, **changes)
    before = snapshot(model_dir)
    fits = 'does not fit the model that params.json describes'
    with pytest.raises(InputError, match=fits):
        evaluate.main(argparse.Namespace(model_dir=model_dir, data_dir=data_dir, restore_from='best_weights'))
    with pytest.raises(InputError, match=fits):
        train.main(argparse.Namespace(model_dir=model_dir, data_dir=data_dir,
                                      restore_from=os.path.join(model_dir, 'last_weights')))
    output = str(tmp_path / 'predictions.csv')
    with pytest.raises(InputError, match=fits):
        predict.main(argparse.Namespace(inputs=[os.path.join(data_dir, 'test_signs')], model_dir=model_dir,
                                        restore_from='best_weights', output=output))
    export_dir = str(tmp_path / 'exported' / '1')
    with pytest.raises(InputError, match=fits):
        export.main(argparse.Namespace(model_dir=model_dir, restore_from='best_weights', export_dir=export_dir))
    assert snapshot(model_dir) == before  # no metrics file (over)written, no weights saved
    assert not os.path.exists(output) and not os.path.exists(export_dir)


def test_resuming_a_run_killed_in_its_first_epoch_says_to_start_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model_dir = os.path.join('experiments', 'k9')
    os.makedirs(os.path.join(model_dir, 'last_weights'))
    for leftovers in ([], ['checkpoint'], ['after-epoch-1.index.tempstate123']):
        for name in leftovers:
            open(os.path.join(model_dir, 'last_weights', name), 'w').close()
        with pytest.raises(InputError) as e:
            find_checkpoint(os.path.join(model_dir, 'last_weights'), model_dir)
        message = str(e.value)
        assert message.startswith('experiments/k9/last_weights holds no checkpoint')
        assert 'Train first, without --restore_from: python train.py --model_dir experiments/k9' in message
        assert 'experiments/k9/experiments/k9' not in message


def test_a_checkpoint_that_vanishes_while_training_replaces_it_is_named(trained, tmp_path):
    """evaluate.py found best_weights/after-epoch-N; train.py then replaced it before the restore."""
    model_dir = copy_of(trained, tmp_path)
    checkpoint = find_checkpoint('best_weights', model_dir)
    params = Params(os.path.join(model_dir, 'params.json'))
    with tf.Graph().as_default():
        model_fn('predict', predict_input_fn(['x.jpg'], params), params)
        saver = tf.train.Saver()
        for name in os.listdir(os.path.dirname(checkpoint)):
            if name.startswith(os.path.basename(checkpoint) + '.'):
                os.remove(os.path.join(os.path.dirname(checkpoint), name))
        with tf.Session() as sess, pytest.raises(InputError) as e:
            restore_weights(saver, sess, checkpoint)
    assert 'disappeared while it was being read: a training run is saving new weights' in str(e.value)
    assert 'params.json' not in str(e.value)


@pytest.mark.parametrize('where, message', [
    ('missing/predictions.csv', r'--output .*missing/predictions.csv: the folder .*missing does not exist'),
    ('.', r'--output \. is a folder: give a file name'),
])
def test_predict_checks_the_output_path_before_predicting(trained, data_dir, tmp_path, monkeypatch, caplog,
                                                           where, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message):
        predict.main(argparse.Namespace(inputs=[os.path.join(data_dir, 'test_signs')], model_dir=trained,
                                        restore_from='best_weights', output=where))
    assert 'Restoring' not in caplog.text


def test_predict_prints_a_file_name_that_is_not_utf8(trained, data_dir, tmp_path, capsys):
    source = os.path.join(data_dir, 'test_signs', sorted(os.listdir(os.path.join(data_dir, 'test_signs')))[0])
    odd = os.path.join(str(tmp_path), os.fsdecode(b'caf\xe9.jpg'))  # a Latin-1 name on a UTF-8 system
    with open(source, 'rb') as f, open(odd, 'wb') as g:
        g.write(f.read())
    output = str(tmp_path / 'predictions.csv')
    results = predict.main(argparse.Namespace(inputs=[odd], model_dir=trained, restore_from='best_weights',
                                              output=output))
    assert list(results) == [odd]
    assert 'caf\\xe9.jpg: ' in capsys.readouterr().out
    assert 'caf\\xe9.jpg' in open(output, encoding='utf-8').read()


@pytest.mark.parametrize('search, message', [
    ({'image_size': [40, 64]}, 'image_size in params.json must be a multiple of 16'),
    ({'model_version': ['baseline', 'resnet']}, "Unknown model_version 'resnet'"),
    ({'num_channels': [8, 0]}, "'num_channels' must be positive"),
    ({'class_names': [['a', 'b']]}, "'class_names' lists 2 names but 'num_labels' is 6"),
])
def test_the_search_checks_every_setting_as_train_py_would_before_any_job(tmp_path, search, message):
    parent = str(tmp_path)
    write_params(parent)
    with open(os.path.join(parent, 'search.json'), 'w') as f:
        json.dump(search, f)
    with pytest.raises(InputError, match=re.escape(message)):
        grid, _ = read_search(parent)
        plan_jobs(parent, grid)
    assert sorted(os.listdir(parent)) == ['params.json', 'search.json']


def test_an_empty_list_of_values_gets_a_usable_example(tmp_path):
    write_params(str(tmp_path))
    with open(tmp_path / 'search.json', 'w') as f:
        json.dump({'learning_rate': []}, f)
    with pytest.raises(InputError, match=r"'learning_rate' must be a non-empty list of values, such as \[0.005\], "
                                         r"got \[\]"):
        read_search(str(tmp_path))


def test_the_summary_counts_jobs_stopped_by_an_interruption(tmp_path, capsys):
    class Job:
        name = 'learning_rate_0.1'
    status = summarize(str(tmp_path), [], [Job()], interrupted=True, total=2)
    assert status == 130
    assert 'Search in {}: 2 job(s): 0 trained, 1 skipped (already done), 1 stopped or not started.'.format(
        tmp_path) in capsys.readouterr().out
