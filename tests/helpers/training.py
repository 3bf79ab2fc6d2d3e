"""Training runs to compare and to stop: what several test files check of a run."""
import os
import re
import signal
import threading
import time

import numpy as np
import pytest

import train
from helpers import read_json, script_args
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
