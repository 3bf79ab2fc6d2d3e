"""search/slurm/queue.py: reading what squeue and sacct print. (Against a real queue: test_search_slurm.py.)"""
import pytest

from search.slurm.queue import exit_code_text, slurm_seconds, wait_status_text


@pytest.mark.parametrize('code, text', [('0', ''), ('512', 'exit status 2'), ('15', 'signal 15'), ('', '')])
def test_squeue_exit_codes(code, text):
    assert wait_status_text(code) == text


@pytest.mark.parametrize('used, seconds', [('0:41', 41), ('1:02:03', 3723), ('2-01:00:00', 176400), ('N/A', None)])
def test_slurm_times(used, seconds):
    assert slurm_seconds(used) == seconds


@pytest.mark.parametrize('exit_code, text', [('0:0', ''), ('2:0', 'exit status 2'), ('0:15', 'signal 15'),
                                             ('3:0', 'exit status 3'), ('', '')])
def test_sacct_and_scontrol_exit_codes(exit_code, text):
    assert exit_code_text(exit_code) == text
