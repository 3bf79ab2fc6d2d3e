"""search/slurm/resources.py: the Slurm resources of search.json and the command line, checked before any job.

The cluster itself is in test_search_slurm.py.
"""
import os

import pytest

import search_hyperparams
from helpers import run, write_params
from helpers.search import make_parent, write_search
from model.core.errors import InputError
from search.slurm.resources import check_resources, sbatch_lines


def test_slurm_resources_make_sbatch_lines():
    resources = check_resources({'partition': 'gpu', 'time': '2-00:00:00', 'cpus': 4, 'mem': '16G',
                                 'gpus': 'a100:1', 'extra': ['--account=cs230', '#SBATCH --qos=normal']}, 's.json')
    assert sbatch_lines(resources) == ['#SBATCH --partition=gpu', '#SBATCH --time=2-00:00:00',
                                       '#SBATCH --cpus-per-task=4', '#SBATCH --mem=16G', '#SBATCH --gpus=a100:1',
                                       '#SBATCH --account=cs230', '#SBATCH --qos=normal']
    assert sbatch_lines({'gpus': 0, 'time': '90'}) == ['#SBATCH --time=90']


@pytest.mark.parametrize('slurm, message', [
    ({'partiton': 'gpu'}, "unknown Slurm resource 'partiton'; known: partition, time, cpus, mem, gpus, extra"),
    ({'time': '1h'}, "Slurm 'time' must be a time limit such as \"1:00:00\""),
    ({'cpus': '4'}, "Slurm 'cpus' must be a number of CPUs such as 4, got '4'"),
    ({'mem': '16 GB'}, "Slurm 'mem' must be an amount of memory such as \"16G\""),
    ({'partition': 'gpu; rm -rf'}, "Slurm 'partition' must be a partition name"),
    ({'extra': '--qos=high'}, "Slurm 'extra' must be a list of #SBATCH options"),
    ({'extra': ['--qos=high\nrm -rf /']}, "Slurm 'extra' must be a list of #SBATCH options"),
])
def test_bad_slurm_section_is_refused_before_any_job(tmp_path, data_dir, slurm, message):
    parent = str(tmp_path / 'search')
    write_params(parent)
    write_search(parent, {'learning_rate': [0.01], 'slurm': slurm})
    # Checked even without --launcher slurm: a typo is found before the day it matters.
    result = run('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, check=False)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert result.stderr.startswith('Error: {}: '.format(os.path.join(parent, 'search.json'))) and message in result.stderr
    assert sorted(os.listdir(parent)) == ['params.json', 'search.json']


def test_slurm_options_on_the_command_line_are_checked(tmp_path, data_dir):
    parent = str(tmp_path / 'search')
    write_params(parent)
    for args, message in [(['--partition', 'gpu'], '--partition only applies with --launcher slurm'),
                          (['--sbatch=--qos=high'], '--sbatch only applies with --launcher slurm'),
                          (['--launcher', 'slurm', '--time', '1h'], '--time must be a time limit'),
                          (['--launcher', 'slurm', '--jobs', '2'], '--jobs does not apply with --launcher slurm'),
                          (['--launcher', 'slurm', '--poll', '0'], '--poll must be a positive number')]:
        result = run('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, *args, check=False)
        assert result.returncode == 2 and result.stderr.count('\n') == 1 and message in result.stderr, result.stderr
    assert os.listdir(parent) == ['params.json']


@pytest.mark.parametrize('args, message', [
    (['--gpus', '-1'], '--gpus must be a number of GPUs (1 or more)'),
    (['--gpus', '0'], '--gpus must be a number of GPUs (1 or more)'),
    (['--gpus', 'a100:0'], '--gpus must be a number of GPUs (1 or more)'),
    (['--sbatch', 'account=cs230'], "--sbatch must be an sbatch option such as --sbatch=--constraint=a100, got "
                                    "'account=cs230'"),
    (['--account', 'cs 230'], '--account must be an account name'),
    (['--qos', ''], '--qos must be a QOS name'),
    (['--signal', '0'], '--signal must be a number of seconds'),
    (['--time', '5', '--signal', '300'], '--signal (300 s before the time limit) must be shorter than the time '
                                         'limit 5 (300 s)'),
    (['--retries', '-1'], '--retries must be a number of resubmissions (0 or more)'),
    (['--max_queued', '0'], '--max_queued must be a number of jobs (1 or more)'),
    (['--setup', ''], '--setup must be one shell line'),
])
def test_slurm_options_are_checked_before_anything_is_submitted(tmp_path, data_dir, args, message):
    # Defect 9 (and the new options): refused in one line (an InputError: the script prints it as "Error: ..."
    # and exits 2), before any folder or job is made, and before any Slurm command runs (none is needed here).
    parent = str(tmp_path / 'checked')
    make_parent(parent, {'learning_rate': [0.1]})
    with pytest.raises(InputError) as error:
        search_hyperparams.main(search_hyperparams.parser.parse_args(
            ['--parent_dir', parent, '--data_dir', data_dir, '--launcher', 'slurm', *args]))
    assert '\n' not in str(error.value) and str(error.value).startswith(message), str(error.value)
    assert sorted(os.listdir(parent)) == ['params.json', 'search.json']
