"""The columns of TensorBoard's HParams dashboard for a search, written at its parent folder.

Written before the first job starts, so that `tensorboard --logdir <parent_dir>` shows
the right hyperparameters (those search.json varies, with their values) and metrics
from the first finished run on. See model/core/hparams.py for what each run writes.
"""
import os

from model.core.layout import PARAMS_FILE
from model.core.params import example_name, params_spec
from search.grid import read_parent_params


def write_experiment_config(parent_dir, grid):
    """The HParams experiment config of the search in parent_dir, with `grid` as read_search returns it."""
    from model.core.hparams import write_experiment  # imports TensorFlow (the FileWriter)
    example = example_name(read_parent_params(parent_dir), os.path.join(parent_dir, PARAMS_FILE))
    spec = params_spec(example, os.path.join(parent_dir, PARAMS_FILE))
    write_experiment(parent_dir, grid, spec, example)
