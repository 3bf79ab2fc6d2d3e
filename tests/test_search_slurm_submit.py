"""search/slurm/submit.py: the text of job.sbatch. (sbatch itself: test_search_slurm.py, on a real cluster.)"""
import os

import pytest

from helpers import write_params
from model.core.errors import InputError
from search.grid import plan_jobs, train_command
from search.slurm.submit import job_script


def test_slurm_job_script(tmp_path):
    parent = str(tmp_path / "50% 'q' #1")
    write_params(parent)
    [job] = plan_jobs(parent, {'learning_rate': [0.01]})
    command = train_command(job, 'data dir', '/venv/bin/python', '/code/train.py', resume=False)
    text = job_script(job, command, {'time': '1:00:00'}, str(tmp_path))
    folder = os.path.join(parent, 'learning_rate_0.01')
    assert text.splitlines()[3:7] == [
        '#SBATCH --job-name=learning_rate_0.01',
        '#SBATCH --output="{}"'.format(os.path.join(folder.replace('%', '%%'), 'slurm-%j.out')),
        '#SBATCH --chdir="{}"'.format(tmp_path),
        '#SBATCH --time=1:00:00']
    assert text.splitlines()[-1] == (
        "exec /venv/bin/python /code/train.py --model_dir '{}' --data_dir 'data dir' \"${{restore[@]}}\"".format(
            folder.replace("'", "'\"'\"'")))

    both_quotes = str(tmp_path / 'say "it\'s"')
    write_params(both_quotes)
    [job] = plan_jobs(both_quotes, {'learning_rate': [0.01]})
    with pytest.raises(InputError, match='a Slurm job script cannot name a path holding'):
        job_script(job, command, {}, str(tmp_path))
