"""Training runs to compare and to stop: what several test files check of a run."""
import os
import re
import signal
import threading
import time

import numpy as np
import pytest

import train
from helpers import STEPS_PER_EPOCH, contents, listing, read_json, script_args
from model.core.checkpoints import checkpoint_problem, find_checkpoint
from model.core.interrupts import Interrupted
from model.core.tf_compat import tf


def saved_epoch(model_dir):
    """The newest epoch named by last_weights/checkpoint, 0 if none (the Saver replaces that file atomically)."""
    try:
        with open(os.path.join(model_dir, 'last_weights', 'checkpoint')) as f:
            return int(re.search(r'model_checkpoint_path: "after-epoch-(\d+)"', f.read()).group(1))
    except (FileNotFoundError, AttributeError):
        return 0


def train_stopped_after(model_dir, data_dir, epoch, restore_from=None):
    """train.main, stopped by a real SIGINT sent as soon as `epoch` is saved (Ctrl-C in the middle of the run).

    The signal comes while that epoch is being saved or early in the next one: training stops
    either way with that epoch as the last one saved. A signal that came after train.main
    returned would reach the handler set here, never pytest's.
    """
    late = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: late.append(signum))
    stop_watching = threading.Event()

    def watch():
        while not stop_watching.is_set():
            if saved_epoch(model_dir) >= epoch:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.002)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with pytest.raises(Interrupted) as raised:
            train.main(script_args(model_dir, data_dir, restore_from))
    finally:
        stop_watching.set()
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    assert raised.value.last_epoch == epoch and not late


def checkpoint_names(folder):
    return sorted(name[:-len('.index')] for name in os.listdir(folder) if name.endswith('.index'))


def weights_of(checkpoint):
    reader = tf.train.load_checkpoint(checkpoint)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def assert_same_training(model_dir, reference):
    """Same metrics files, same checkpoints, and every saved tensor equal, bit for bit."""
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(reference, name)), name
    for folder in ('last_weights', 'best_weights'):
        names = checkpoint_names(os.path.join(reference, folder))
        assert checkpoint_names(os.path.join(model_dir, folder)) == names
        for name in names:
            ours, theirs = (weights_of(os.path.join(d, folder, name)) for d in (model_dir, reference))
            assert sorted(ours) == sorted(theirs)
            for variable in theirs:
                np.testing.assert_array_equal(ours[variable], theirs[variable], err_msg=variable)


def train_metrics_lines(model_dir):
    with open(os.path.join(model_dir, 'train.log')) as f:
        return re.findall(r'- Train metrics: .*', f.read())


def weights_and_metrics(model_dir):
    """{relative path: bytes} of the checkpoints and metrics files: what no failure may change."""
    return {name: data for name, data in contents(model_dir).items()
            if name.startswith(('last_weights', 'best_weights', 'metrics_'))}


def check_resumable(model_dir):
    """There is a whole checkpoint to resume from, with the global step of its epoch; returns that epoch."""
    last = find_checkpoint('last_weights', model_dir)
    epoch = int(last.rsplit('-', 1)[1])
    assert checkpoint_problem(last) is None
    assert tf.train.load_variable(last, 'global_step') == epoch * STEPS_PER_EPOCH
    return epoch


def check_consistent(model_dir, num_epochs=None):
    """Everything on disk is whole and agrees: checkpoints load, metrics files name their epoch."""
    epoch = check_resumable(model_dir)
    for folder in ('last_weights', 'best_weights'):
        for name in listing(os.path.join(model_dir, folder)):
            assert 'tempstate' not in name and '.tmp' not in name, name
            if name.endswith('.index'):
                assert checkpoint_problem(os.path.join(model_dir, folder, name[:-len('.index')])) is None
    best = find_checkpoint('best_weights', model_dir)
    best_metrics = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    last_metrics = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    assert last_metrics['epoch'] == epoch
    assert best_metrics['epoch'] == int(best.rsplit('-', 1)[1])
    assert best_metrics['accuracy'] >= last_metrics['accuracy']
    if num_epochs is not None:
        assert epoch == num_epochs
    return epoch
