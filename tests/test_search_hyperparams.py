"""search_hyperparams.py: every setting checked as train.py would before any job, and the summary of a stopped search.

(Re-filed from test_new_user.py; their place is with the other search tests, tests/test_search_grid.py.)"""
import json
import os
import re

import pytest

from helpers import write_params
from model.core.errors import InputError
from search.grid import plan_jobs, read_search
from search.report import summarize


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


