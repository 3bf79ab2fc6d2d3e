"""model/core/checkpoints.py: finding a whole checkpoint among damaged ones, and refusing weights that do not fit."""
import logging
import os
import re

import pytest

import evaluate
import export
import predict
import train
from helpers import copy_of, listing, script_args, truncate, write_params
from helpers.training import weights_and_metrics
from model.core.checkpoints import checkpoint_problem, find_checkpoint, has_weights, restore_weights
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.model_fn import model_fn
from model.utils import Params
from vision.predict_input import predict_input_fn


@pytest.fixture
def weights_dir(tmp_path):
    """tmp_path/model/last_weights with after-epoch-1, -2 and -3, saved as training saves them."""
    folder = str(tmp_path / 'model' / 'last_weights')
    os.makedirs(folder)
    with tf.Graph().as_default():
        weights = tf.get_variable('w', initializer=tf.zeros([64, 64]))
        saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)
        with tf.Session() as sess:
            for epoch in (1, 2, 3):
                sess.run(tf.assign(weights, tf.fill([64, 64], float(epoch))))
                saver.save(sess, os.path.join(folder, 'after-epoch'), global_step=epoch)
    return folder


def damage(folder, how):
    prefix = os.path.join(folder, 'after-epoch-3')
    if how == 'truncated .data':
        truncate(prefix + '.data-00000-of-00001')
    elif how == 'flipped byte in .data':
        with open(prefix + '.data-00000-of-00001', 'r+b') as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xff]))
    elif how == 'deleted .data':
        os.remove(prefix + '.data-00000-of-00001')
    elif how == 'deleted .index':
        os.remove(prefix + '.index')
    elif how == 'truncated .index':
        truncate(prefix + '.index')
    elif how == 'empty .index':
        truncate(prefix + '.index', 0)


@pytest.mark.parametrize('how', ['truncated .data', 'flipped byte in .data', 'deleted .data',
                                 'deleted .index', 'truncated .index', 'empty .index'])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(weights_dir, how, caplog):
    damage(weights_dir, how)
    model_dir = os.path.dirname(weights_dir)
    with caplog.at_level(logging.WARNING):
        checkpoint = find_checkpoint(weights_dir, model_dir)
    assert checkpoint == os.path.join(weights_dir, 'after-epoch-2')
    assert tf.train.load_variable(checkpoint, 'w')[0, 0] == 2.0
    assert 'after-epoch-3' in caplog.text and 'after-epoch-2' in caplog.text
    assert has_weights(model_dir)


@pytest.mark.parametrize('state', ['model_checkpoint_path: "after-ep', '', 'garbage \x00\xff', None])
def test_unreadable_checkpoint_state_file_uses_the_files_themselves(weights_dir, state, caplog):
    state_path = os.path.join(weights_dir, 'checkpoint')
    if state is None:
        os.remove(state_path)
    else:
        with open(state_path, 'w', encoding='utf-8', errors='surrogateescape') as f:
            f.write(state)
    model_dir = os.path.dirname(weights_dir)
    with caplog.at_level(logging.WARNING):
        assert find_checkpoint(weights_dir, model_dir) == os.path.join(weights_dir, 'after-epoch-3')
        assert has_weights(model_dir)  # so train.py still refuses to start over on top of them
    if state is not None:
        assert state_path in caplog.text
    damage(weights_dir, 'truncated .data')
    assert find_checkpoint(weights_dir, model_dir) == os.path.join(weights_dir, 'after-epoch-2')


def test_a_state_file_without_checkpoints_is_not_weights(weights_dir):
    for name in listing(weights_dir):
        if name != 'checkpoint':
            os.remove(os.path.join(weights_dir, name))
    model_dir = os.path.dirname(weights_dir)
    assert not has_weights(model_dir)  # train.py may start afresh: there is nothing to lose
    with pytest.raises(InputError, match='holds no checkpoint .*Train first, without --restore_from'):
        find_checkpoint(weights_dir, model_dir)


def test_no_usable_checkpoint_is_a_clear_error(weights_dir):
    for epoch in (1, 2, 3):
        truncate(os.path.join(weights_dir, 'after-epoch-{}.data-00000-of-00001'.format(epoch)))
    with pytest.raises(InputError) as e:
        find_checkpoint(weights_dir, os.path.dirname(weights_dir))
    message = str(e.value)
    assert '\n' not in message and 'no usable checkpoint' in message
    assert all('after-epoch-{}'.format(epoch) in message for epoch in (1, 2, 3))


def test_a_corrupt_checkpoint_named_explicitly_is_not_replaced_by_another(weights_dir):
    damage(weights_dir, 'truncated .data')
    prefix = os.path.join(weights_dir, 'after-epoch-3')
    assert checkpoint_problem(prefix) is not None
    assert checkpoint_problem(os.path.join(weights_dir, 'after-epoch-2')) is None
    with pytest.raises(InputError, match='after-epoch-3 .*(corrupt|incomplete)'):
        find_checkpoint(prefix, os.path.dirname(weights_dir))


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
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    with pytest.raises(InputError, match=fits):
        train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    output = str(tmp_path / 'predictions.csv')
    with pytest.raises(InputError, match=fits):
        predict.main(script_args(model_dir, restore_from='best_weights', inputs=[os.path.join(data_dir, 'test_signs')],
                                 output=output))
    export_dir = str(tmp_path / 'exported' / '1')
    with pytest.raises(InputError, match=fits):
        export.main(script_args(model_dir, restore_from='best_weights', export_dir=export_dir))
    assert snapshot(model_dir) == before  # no metrics file (over)written, no weights saved
    assert not os.path.exists(output) and not os.path.exists(export_dir)


def test_params_changed_since_the_weights_were_saved_is_explained(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    before = weights_and_metrics(model_dir)
    write_params(model_dir, num_epochs=3, num_channels=8)
    checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-2')
    pattern = ('{} does not fit the model that params.json describes \\(model/block_1/.* has shape \\[4\\] in the '
               'checkpoint but \\[8\\] here \\(and \\d+ more\\)\\): use the params.json'.format(re.escape(checkpoint)))
    with pytest.raises(InputError, match=pattern) as e:
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert '\n' not in str(e.value)
    with pytest.raises(InputError, match='does not fit the model that params.json describes'):
        evaluate.main(script_args(model_dir, data_dir, checkpoint))
    assert weights_and_metrics(model_dir) == before


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


