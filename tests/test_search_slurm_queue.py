"""search/slurm/queue.py: reading what squeue and sacct print. (Against a real queue: test_search_slurm.py.)"""
import os

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


def judged(tmp_path, state, exit_text, log_text, resources=None):
    """The outcome the Slurm follower gives a job that ended so, with this log (no cluster needed)."""
    from search.grid import Job
    from search.slurm import follow
    parent = tmp_path / 'parent'
    job = Job(str(parent), {'learning_rate': 0.01}, {'num_epochs': 3})
    os.makedirs(job.folder, exist_ok=True)
    search = follow._Search([job], {}, resources or {}, 1, str(tmp_path))
    tracked = follow._Tracked(job, '42')
    with open(tracked.log, 'w') as f:
        f.write(log_text)
    search._ended(tracked, follow.Status(state, exit_text, seconds=30, final=True))
    [outcome] = search.outcomes
    return outcome


@pytest.mark.parametrize('state, exit_text, log', [
    ('FAILED', 'signal 9', 'Epoch 1/3\nslurmstepd: error: Exceeded job memory limit\n'),
    ('FAILED', 'exit status 137', 'slurmstepd: error: Detected 1 oom-kill event(s) in StepId=42.batch.\n'),
    ('OUT_OF_MEMORY', 'exit status 0', 'Epoch 1/3\n'),
])
def test_a_job_killed_for_its_memory_is_told_to_ask_for_more_mem(tmp_path, state, exit_text, log):
    outcome = judged(tmp_path, state, exit_text, log)
    assert not outcome.ok and '(ask for more --mem)' in outcome.detail and 'run the search again' not in outcome.detail


def test_a_job_killed_by_a_signal_without_the_memory_word_is_still_said_stopped_from_outside(tmp_path):
    outcome = judged(tmp_path, 'FAILED', 'signal 9', 'Epoch 1/3\n')
    assert 'stopped from outside the search' in outcome.detail and '--mem' not in outcome.detail


def test_a_time_limit_too_short_for_one_epoch_is_not_retried_and_the_advice_is_a_longer_time(tmp_path, monkeypatch):
    from search.slurm import follow
    monkeypatch.setattr(follow._Search, '_submit', lambda *args, **kwargs: pytest.fail('retried without progress'))
    outcome = judged(tmp_path, 'TIMEOUT', 'exit status 0', 'Epoch 1/3\n', resources={'retries': 2})
    assert 'no epoch saved' in outcome.detail and 'a longer --time' in outcome.detail
    assert 'retries' not in outcome.detail and 'attempt 1 of 3' in outcome.detail
