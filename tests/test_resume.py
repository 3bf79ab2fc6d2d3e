"""model/core/resume.py, through train.py --restore_from: where a run goes on from, after a clean stop,
a damaged file or a SIGKILL in the middle of saving (the subprocess tests are marked slow)."""
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import train
from helpers import (
    ROOT,
    STEPS_PER_EPOCH,
    contents,
    copy_of,
    listing,
    read_json,
    script_args,
    truncate,
    write_params,
)
from helpers.training import (
    assert_same_training,
    check_consistent,
    check_resumable,
    checkpoint_names,
    saved_epoch,
    train_metrics_lines,
    train_stopped_after,
    weights_and_metrics,
)
from model.core.checkpoints import checkpoint_problem, find_checkpoint
from model.core.errors import InputError
from model.core.resume import resume
from model.core.tf_compat import tf
from model.training import TrainingDiverged, save_epoch


def test_resume_trains_only_the_remaining_epochs(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    write_params(model_dir, num_epochs=3)
    train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    log = open(os.path.join(model_dir, 'train.log')).read().split('Restoring parameters from')[1]
    assert 'Epoch 3/3' in log and 'Epoch 1/3' not in log and 'Epoch 2/3' not in log
    checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-3')
    assert tf.train.load_variable(checkpoint, 'global_step') == 18
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 3


def test_resume_keeps_a_better_best(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    best_json = os.path.join(model_dir, 'metrics_eval_best_weights.json')
    unbeatable = dict(read_json(best_json), accuracy=1.5)
    with open(best_json, 'w') as f:
        json.dump(unbeatable, f)
    best_before = listing(os.path.join(model_dir, 'best_weights'))
    write_params(model_dir, num_epochs=3)
    train.main(script_args(model_dir, data_dir, 'last_weights'))  # relative to model_dir works too
    assert read_json(best_json) == unbeatable
    assert listing(os.path.join(model_dir, 'best_weights')) == best_before


def test_resume_past_num_epochs_says_so(trained, data_dir):
    with pytest.raises(InputError, match='saved after epoch 2, and num_epochs in params.json is 2'):
        train.main(script_args(trained, data_dir, os.path.join(trained, 'last_weights')))


def test_a_run_stopped_by_ctrl_c_and_resumed_equals_one_never_interrupted(trained, data_dir, tmp_path):
    """Ctrl-C after epoch 1, then --restore_from: the weights and metrics of `trained` (same params), to the bit."""
    model_dir = str(tmp_path / 'interrupted')
    write_params(model_dir)
    train_stopped_after(model_dir, data_dir, 1)
    assert checkpoint_names(os.path.join(model_dir, 'last_weights')) == ['after-epoch-1']
    train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    assert_same_training(model_dir, trained)
    assert train_metrics_lines(model_dir) == train_metrics_lines(trained)


def test_resume_from_a_truncated_checkpoint_uses_the_last_complete_one(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    truncate(os.path.join(model_dir, 'last_weights', 'after-epoch-2.data-00000-of-00001'))
    # A save killed mid-way leaves TensorFlow's temporary files; resuming clears them.
    leftover = os.path.join(model_dir, 'last_weights', 'after-epoch-3.index.tempstate123456')
    open(leftover, 'wb').close()
    write_params(model_dir, num_epochs=3)
    train.main(script_args(model_dir, data_dir, 'last_weights'))

    log = open(os.path.join(model_dir, 'train.log')).read().split('Starting training')[-1]
    last = os.path.join(model_dir, 'last_weights')
    # The damaged checkpoint is named with what is wrong with it, and the one used instead.
    assert re.search(r'Skipped {}: incomplete or corrupt \(.+\); using {} instead\n'.format(
        re.escape(os.path.join(last, 'after-epoch-2')), re.escape(os.path.join(last, 'after-epoch-1'))), log), log
    assert 'Restoring parameters from {}'.format(os.path.join(last, 'after-epoch-1')) in log
    assert 'Epoch 2/3' in log and 'Epoch 3/3' in log and 'Epoch 1/3' not in log
    for epoch in (2, 3):
        checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-{}'.format(epoch))
        assert checkpoint_problem(checkpoint) is None
        assert tf.train.load_variable(checkpoint, 'global_step') == epoch * STEPS_PER_EPOCH
    assert not os.path.exists(leftover)


@pytest.mark.parametrize('damage_to_json', ['truncated', 'stale epoch'])
def test_unreadable_best_metrics_are_recomputed_from_the_best_weights(trained, data_dir, tmp_path, caplog,
                                                                     damage_to_json):
    model_dir = copy_of(trained, tmp_path)
    best_json = os.path.join(model_dir, 'metrics_eval_best_weights.json')
    original = read_json(best_json)
    epoch_2 = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    # The arrangement: the best is epoch 1, and epoch 2 was worse. Epoch 3 trains with a learning rate
    # too small to move a weight, so it keeps epoch 2's weights (batch norm's averages aside) and
    # cannot beat the best either: only the re-evaluated bar keeps the best weights of before.
    assert original['epoch'] == 1 and epoch_2['accuracy'] < original['accuracy'], (original, epoch_2)
    best_before = contents(os.path.join(model_dir, 'best_weights'))
    if damage_to_json == 'truncated':
        truncate(best_json)
    else:  # killed after saving the best weights, before writing their metrics
        with open(best_json, 'w') as f:
            json.dump({'accuracy': 0.0, 'loss': 9.9, 'epoch': original['epoch'] - 1}, f)
    write_params(model_dir, num_epochs=3, learning_rate=1e-30)
    with caplog.at_level(logging.INFO):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    warning = [r.getMessage() for r in caplog.records if 'metrics_eval_best_weights.json' in r.getMessage()]
    assert warning and best_json in warning[0]
    # The best weights were evaluated again, giving the accuracy they had when saved.
    recomputed = [r.getMessage() for r in caplog.records if 'Best weights re-evaluated' in r.getMessage()]
    assert 'after-epoch-{}'.format(original['epoch']) in recomputed[0]
    assert 'accuracy: {:05.3f}'.format(original['accuracy']) in recomputed[0]
    last = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    assert last['epoch'] == 3 and last['accuracy'] < original['accuracy'], last
    # Epoch 3 went on from last_weights (step 12), not from the best weights just evaluated (step 6): batch
    # norm's averages move the metrics whichever it started from, the global step says which it was.
    epoch_3 = os.path.join(model_dir, 'last_weights', 'after-epoch-3')
    assert tf.train.load_variable(epoch_3, 'global_step') == 3 * STEPS_PER_EPOCH
    # So the better weights of before stay, with their metrics written anew.
    assert contents(os.path.join(model_dir, 'best_weights')) == best_before
    best = read_json(best_json)
    assert best == dict(original, accuracy=pytest.approx(original['accuracy']), loss=pytest.approx(original['loss']))


def test_missing_best_weights_mean_no_best_so_far(trained, data_dir, tmp_path, caplog):
    model_dir = copy_of(trained, tmp_path)
    shutil.rmtree(os.path.join(model_dir, 'best_weights'))
    write_params(model_dir, num_epochs=3)
    with caplog.at_level(logging.WARNING):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert 'best_weights' in caplog.text
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['epoch'] == 3
    assert os.path.basename(find_checkpoint('best_weights', model_dir)) == 'after-epoch-3'


def test_diverging_resumed_run_overwrites_nothing(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    before = weights_and_metrics(model_dir)
    write_params(model_dir, num_epochs=3, learning_rate=1e30, use_batch_norm=True)
    with pytest.raises(TrainingDiverged, match='at epoch 3, step'):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert weights_and_metrics(model_dir) == before


def state_file_paths(folder):
    """The checkpoints a Saver's state file lists (all_model_checkpoint_paths), oldest first."""
    with open(os.path.join(folder, 'checkpoint')) as f:
        return re.findall(r'all_model_checkpoint_paths: "([^"]+)"', f.read())


def saving_epochs(model_dir, epochs, restore_from=None):
    """Save `epochs` as train_and_evaluate does, every one scoring the same (a tie replaces the best), with
    the Savers of a new run; with `restore_from`, that run first resumes (model/core/resume.py)."""
    params = SimpleNamespace(num_epochs=max(epochs), example='vision')
    with tf.Graph().as_default():
        tf.get_variable('w', initializer=0.0)
        last_saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)
        best_saver = tf.train.Saver(max_to_keep=1, save_relative_paths=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            best_eval = 0.0
            if restore_from is not None:
                unused = lambda: pytest.fail('the best metrics are whole: nothing to evaluate again')
                begin_at_epoch, best_eval = resume(sess, restore_from, model_dir, last_saver, best_saver, unused,
                                                   params)
                assert (begin_at_epoch, best_eval) == (min(epochs) - 1, 0.5)
            for epoch in epochs:
                best_eval = save_epoch(sess, last_saver, best_saver, model_dir,
                                       {'accuracy': 0.5, 'loss': 1.0, 'epoch': epoch}, best_eval)


def test_the_savers_of_a_resumed_run_prune_what_the_first_run_saved(tmp_path):
    """Epochs 1 to 4, then a resumed run saves 5 to 7: last_weights keeps the newest 5, best_weights 1."""
    model_dir = str(tmp_path)
    last, best = os.path.join(model_dir, 'last_weights'), os.path.join(model_dir, 'best_weights')
    saving_epochs(model_dir, [1, 2, 3, 4])
    assert checkpoint_names(last) == ['after-epoch-{}'.format(epoch) for epoch in (1, 2, 3, 4)]
    assert checkpoint_names(best) == ['after-epoch-4']
    saving_epochs(model_dir, [5, 6, 7], restore_from='last_weights')
    kept = ['after-epoch-{}'.format(epoch) for epoch in (3, 4, 5, 6, 7)]
    assert checkpoint_names(last) == kept and state_file_paths(last) == kept
    assert listing(last) == sorted(['checkpoint'] + [name + ext for name in kept for ext in (
        '.data-00000-of-00001', '.index', '.meta')])
    assert checkpoint_names(best) == state_file_paths(best) == ['after-epoch-7']
    assert len(os.listdir(best)) == 4


@pytest.mark.slow
def test_last_weights_keeps_5_and_best_weights_1_also_across_a_resume(data_dir, tmp_path):
    """7 epochs, stopped after epoch 4 and resumed: the Savers of the resumed run prune what the first one saved."""
    model_dir = str(tmp_path / 'seven')
    # A network that cannot move (no batch norm averages, a learning rate of 1e-30) scores the same every
    # epoch, and a tie replaces the best: every epoch saves new best weights, before and after the resume.
    write_params(model_dir, num_epochs=7, learning_rate=1e-30, use_batch_norm=False)
    last, best = os.path.join(model_dir, 'last_weights'), os.path.join(model_dir, 'best_weights')
    train_stopped_after(model_dir, data_dir, 4)
    assert checkpoint_names(last) == ['after-epoch-{}'.format(epoch) for epoch in (1, 2, 3, 4)]
    assert checkpoint_names(best) == ['after-epoch-4']

    train.main(script_args(model_dir, data_dir, last))
    with open(os.path.join(model_dir, 'train.log')) as f:
        assert len(set(re.findall(r'Eval metrics: (.*)', f.read()))) == 1  # the arrangement held
    kept = ['after-epoch-{}'.format(epoch) for epoch in (3, 4, 5, 6, 7)]
    assert checkpoint_names(last) == kept and state_file_paths(last) == kept
    assert sorted(os.listdir(last)) == sorted(['checkpoint'] + [name + ext for name in kept for ext in (
        '.data-00000-of-00001', '.index', '.meta')])
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['epoch'] == 7
    assert checkpoint_names(best) == state_file_paths(best) == ['after-epoch-7']
    assert len(os.listdir(best)) == 4


# train.py with a SIGKILL at one chosen point of saving an epoch (KILL_AT=point:epoch): the real
# functions run, and the process kills itself for real right there, as a power cut would.
KILLED_IN_THE_SAVE = """
import io, os, signal, sys
import model.core.files
import model.training
from tensorflow.python.checkpoint import checkpoint_management
from model.core.errors import run_script

point, epoch = os.environ['KILL_AT'].split(':')

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

def text_of(write):
    buffer = io.StringIO()
    write(buffer)
    return buffer.getvalue()

if point == 'before the best metrics':  # the best weights saved, their metrics file not written yet
    save_dict_to_json = model.training.save_dict_to_json
    def saving(metrics, path):
        if path.endswith('metrics_eval_best_weights.json') and metrics['epoch'] == int(epoch):
            kill()
        save_dict_to_json(metrics, path)
    model.training.save_dict_to_json = saving
elif point == 'half-way through the last metrics':  # the new file half written, under its temporary name
    write_atomically = model.core.files.write_atomically
    def writing(path, write, newline=None):
        text = text_of(write)
        if path.endswith('metrics_eval_last_weights.json') and '"epoch": ' + epoch in text:
            write = lambda f: (f.write(text[:len(text) // 2]), f.flush(), kill())
        write_atomically(path, write, newline)
    model.core.files.write_atomically = writing
elif point == 'before the state file':  # the checkpoint's files written, the Saver's state file not updated
    update = checkpoint_management.update_checkpoint_state_internal
    def updating(save_dir, model_checkpoint_path, *args, **kwargs):
        if save_dir.endswith('last_weights') and model_checkpoint_path.endswith('after-epoch-' + epoch):
            kill()
        update(save_dir, model_checkpoint_path, *args, **kwargs)
    checkpoint_management.update_checkpoint_state_internal = updating
else:
    raise SystemExit('unknown KILL_AT ' + point)

import train
run_script(train.main, train.parser.parse_args())
"""


def killed_in_the_save(model_dir, data_dir, point, epoch, restore=True):
    """Run train.py until it kills itself at `point` of saving `epoch`; returns what it printed."""
    args = ['--model_dir', model_dir, '--data_dir', data_dir]
    if restore:
        args += ['--restore_from', os.path.join(model_dir, 'last_weights')]
    result = subprocess.run([sys.executable, '-c', KILLED_IN_THE_SAVE, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, KILL_AT='{}:{}'.format(point, epoch)))
    assert result.returncode == -signal.SIGKILL, result.stderr
    # Never half a file under its real name: every metrics file on disk is whole.
    for name in listing(model_dir):
        if name.startswith('metrics_'):
            read_json(os.path.join(model_dir, name))
    return result.stderr


def temporary_files(model_dir):
    """What a save cut short leaves: TensorFlow's and our metrics files' temporary names."""
    return sorted(os.path.relpath(os.path.join(root, name), model_dir) for root, _, names in os.walk(model_dir)
                  for name in names if name.startswith('.tmp') or 'tempstate' in name or '.tmp' in name)


@pytest.mark.slow
def test_sigkill_in_the_middle_of_saving_leaves_a_resumable_run(data_dir, tmp_path):
    """Killed at three points of saving an epoch, resumed each time: the run ends as if never killed."""
    model_dir = str(tmp_path / 'killed')
    write_params(model_dir, num_epochs=4)

    killed_in_the_save(model_dir, data_dir, 'before the best metrics', 1, restore=False)
    assert checkpoint_problem(os.path.join(model_dir, 'best_weights', 'after-epoch-1')) is None
    assert not os.path.exists(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    assert check_resumable(model_dir) == 1

    # Resuming evaluates the best weights again (their metrics are missing); then killed while writing
    # the metrics of epoch 2: half of them in the temporary file, the real one still about epoch 1.
    printed = killed_in_the_save(model_dir, data_dir, 'half-way through the last metrics', 2)
    assert 'Best weights re-evaluated (after-epoch-1)' in printed
    [leftover] = temporary_files(model_dir)
    with open(os.path.join(model_dir, leftover)) as f:
        assert f.read().startswith('{\n    "accuracy": ')
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 1
    assert check_resumable(model_dir) == 2

    # Killed once the files of epoch 3's checkpoint are written, before the state file names it.
    killed_in_the_save(model_dir, data_dir, 'before the state file', 3)
    assert os.path.isfile(os.path.join(model_dir, 'last_weights', 'after-epoch-3.index'))
    assert saved_epoch(model_dir) == 2

    # The last run in this process (the killed ones were real processes; this one need not start TensorFlow again).
    train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    with open(os.path.join(model_dir, 'train.log')) as f:
        finished = f.read().split('Starting training')[-1]
    assert 'Restoring parameters from {}'.format(os.path.join(model_dir, 'last_weights', 'after-epoch-2')) in finished
    check_consistent(model_dir, 4)
    assert temporary_files(model_dir) == []  # the leftovers are removed on resume

    # The same weights and metrics as a run never killed.
    reference = str(tmp_path / 'never killed')
    write_params(reference, num_epochs=4)
    train.main(script_args(reference, data_dir))
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(reference, name)), name
    for folder in ('last_weights', 'best_weights'):
        assert listing(os.path.join(model_dir, folder)) == listing(os.path.join(reference, folder))
        for name in listing(os.path.join(model_dir, folder)):
            if name.endswith('.index'):
                ours, theirs = (tf.train.load_checkpoint(os.path.join(d, folder, name[:-len('.index')]))
                                for d in (model_dir, reference))
                for variable in theirs.get_variable_to_shape_map():
                    np.testing.assert_array_equal(ours.get_tensor(variable), theirs.get_tensor(variable),
                                                  err_msg=variable)


