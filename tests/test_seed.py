"""params.json's `seed`: every random draw of training follows it, so a setting can be run over several seeds."""
import os

import numpy as np

import train
from helpers import read_json, script_args, write_params
from helpers.training import assert_same_training, weights_of


def test_the_seed_of_params_json_makes_another_run_and_the_same_seed_the_same_run(trained, data_dir, tmp_path):
    runs = []
    for name in ('seed_7', 'seed_7_again'):
        model_dir = str(tmp_path / name)
        write_params(model_dir, seed=7)
        train.main(script_args(model_dir, data_dir))
        runs.append(model_dir)
    assert_same_training(runs[1], runs[0])
    # The default seed (230, the course's) is another run: other initial weights, shuffles and augmentation.
    ours = weights_of(os.path.join(runs[0], 'last_weights', 'after-epoch-2'))
    default = weights_of(os.path.join(trained, 'last_weights', 'after-epoch-2'))
    kernel = 'model/block_1/conv2d/kernel'
    assert not np.array_equal(ours[kernel], default[kernel])
    assert read_json(os.path.join(runs[0], 'metrics_eval_last_weights.json')) != \
        read_json(os.path.join(trained, 'metrics_eval_last_weights.json'))


def test_seed_230_is_the_default(trained, data_dir, tmp_path):
    model_dir = str(tmp_path / 'explicit')
    write_params(model_dir, seed=230)
    train.main(script_args(model_dir, data_dir))
    assert_same_training(model_dir, trained)
