"""search/local.py: search_hyperparams.py (and synthesize_results.py) as a user runs them, training real (tiny) jobs
on this machine, as child processes or through a --launcher command."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import pytest

from helpers import ROOT, read_json
from helpers.processes import processes_mentioning, read_until
from helpers.search import make_parent, script
from helpers.training import assert_same_training
from search.grid import last_checkpoint_epoch, plan_jobs

pytestmark = pytest.mark.slow

# A parent folder name that would run commands if it ever reached a shell.
HOSTILE = 'lr; touch pwned1 $(touch pwned2) `touch pwned3` & touch pwned4 \'q" > pwned5'


def test_two_jobs_in_parallel_then_skipped_then_the_table(tmp_path, data_dir):
    parent = str(tmp_path / HOSTILE)
    make_parent(parent, {'learning_rate': [1e-3, 1e-2]})

    result = script('search_hyperparams.py', '--parent_dir', HOSTILE, '--data_dir', data_dir, '--jobs', '2',
                    cwd=str(tmp_path))
    lines = result.stdout.splitlines()
    assert lines[0] == 'Training 2 job(s), 2 at a time; each job writes its output to output.log in its folder'
    assert [line[:6] for line in lines[1:3]] == ['[1/2] ', '[2/2] ']
    assert sorted(line[6:].split(':')[0] for line in lines[1:3]) == ['learning_rate_0.001', 'learning_rate_0.01']
    assert 'Search in {}: 2 job(s): 2 trained.'.format(HOSTILE) in lines
    metrics = {}
    for name in ('learning_rate_0.001', 'learning_rate_0.01'):
        folder = os.path.join(parent, name)
        assert read_json(os.path.join(folder, 'params.json'))['learning_rate'] == float(name.split('_')[-1])
        metrics[name] = read_json(os.path.join(folder, 'metrics_eval_best_weights.json'))
        assert metrics[name]['epoch'] == 1
        with open(os.path.join(folder, 'output.log')) as f:
            assert 'Epoch 1/1' in f.read()
        assert any(line.startswith('[') and name + ': finished after' in line and
                   'best dev accuracy {:.4f}'.format(metrics[name]['accuracy']) in line for line in lines)
    # The two jobs ran at the same time: each started (its params.json written just before) before the
    # other ended (the last line of its output.log).
    folders = [os.path.join(parent, name) for name in metrics]
    started = [os.path.getmtime(os.path.join(folder, 'params.json')) for folder in folders]
    ended = [os.path.getmtime(os.path.join(folder, 'output.log')) for folder in folders]
    assert max(started) < min(ended), (started, ended)
    # Nothing in the folder name ran: no file made by a shell, anywhere the shell could have been.
    for folder in (str(tmp_path), parent, ROOT):
        assert not [f for f in os.listdir(folder) if f.startswith('pwned')]

    again = script('search_hyperparams.py', '--parent_dir', HOSTILE, '--data_dir', data_dir, '--jobs', '2',
                   cwd=str(tmp_path))
    assert again.stdout.splitlines()[:2] == ['skipped learning_rate_0.001: it has its results already',
                                             'skipped learning_rate_0.01: it has its results already']
    assert 'Search in {}: 2 job(s): 0 trained, 2 skipped (already done).'.format(HOSTILE) in again.stdout
    assert read_json(os.path.join(parent, 'learning_rate_0.01', 'metrics_eval_best_weights.json')) == metrics[
        'learning_rate_0.01']

    table = script('synthesize_results.py', '--parent_dir', HOSTILE, cwd=str(tmp_path)).stdout
    order = sorted(metrics, key=lambda name: -metrics[name]['accuracy'])
    assert table.splitlines() == ['| experiment | state | learning_rate | accuracy | loss | epoch |',
                                  '| --- | --- | --- | --- | --- | --- |'] + [
        '| {} | finished | {} | {:.4f} | {:.4f} | 1 |'.format(name, name.split('_')[-1], metrics[name]['accuracy'],
                                                              metrics[name]['loss']) for name in order] + [
        '', 'Ranked by dev accuracy: 2 finished run(s), and no unfinished one.']
    with open(os.path.join(parent, 'results.md')) as f:
        assert f.read() == table


def test_a_failing_job_through_a_launcher_while_the_other_finishes(tmp_path, data_dir):
    parent = str(tmp_path / 'num_labels')
    # num_labels 2 passes every check of the params, but the data set has labels up to 5: the job fails.
    make_parent(parent, {'num_labels': [6, 2]})
    # A real wrapper command, as a cluster's `srun` would be: it notes each command, then runs it.
    wrapper = tmp_path / 'wrapper.sh'
    wrapper.write_text('#!/bin/sh\necho "$LAUNCHED_BY: $*" >> "{}"\nexec "$@"\n'.format(tmp_path / 'launched.txt'))
    wrapper.chmod(0o755)

    result = script('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir,
                    '--launcher', 'env LAUNCHED_BY=env {}'.format(wrapper), cwd=str(tmp_path), check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    failed_log = os.path.join(parent, 'num_labels_2', 'output.log')
    assert 'Failed:\n  num_labels_2: exit status 2 (log: {})\n'.format(failed_log) in result.stdout
    assert 'num_labels_2: exit status 2 after' in result.stdout and 'a digit from 0 to 1' in result.stdout
    assert 'num_labels_6: finished after' in result.stdout
    assert 'Search in {}: 2 job(s): 1 trained, 1 failed.'.format(parent) in result.stdout
    assert os.path.isfile(os.path.join(parent, 'num_labels_6', 'metrics_eval_best_weights.json'))
    with open(failed_log) as f:
        assert 'the name must start with its label, a digit from 0 to 1' in f.read()

    launched = (tmp_path / 'launched.txt').read_text().splitlines()
    assert launched == ['env: {} {} --model_dir {} --data_dir {}'.format(
        sys.executable, os.path.join(ROOT, 'train.py'), os.path.join(parent, name), data_dir)
        for name in ('num_labels_6', 'num_labels_2')]


def test_ctrl_c_stops_the_running_job_keeps_the_finished_one_and_the_next_search_resumes_it(
        tmp_path, data_dir, trained):
    """Ctrl-C once the second job saved epoch 1; the same command again skips the first and resumes the second,
    which ends as the uninterrupted run of the same params (the trained fixture's) ends."""
    parent = str(tmp_path / 'epochs')
    make_parent(parent, {'num_epochs': [1, 2]})
    stopped_job = os.path.join(parent, 'num_epochs_2')
    search = subprocess.Popen([sys.executable, os.path.join(ROOT, 'search_hyperparams.py'), '--parent_dir', parent,
                               '--data_dir', data_dir], cwd=str(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        lines = read_until(search, lambda lines: len(lines) >= 2)
        assert lines[1].startswith('[1/2] num_epochs_1: finished'), lines
        deadline = time.monotonic() + 120
        while last_checkpoint_epoch(stopped_job) < 1:
            assert time.monotonic() < deadline and search.poll() is None
            time.sleep(0.002)
        assert processes_mentioning(stopped_job)
        search.send_signal(signal.SIGINT)
        output = ''.join(lines) + search.communicate(timeout=60)[0]
    finally:
        search.kill()
    assert search.returncode == 130
    assert 'stopped num_epochs_2 (log: {})'.format(os.path.join(stopped_job, 'output.log')) in output
    assert 'Interrupted: finished jobs are kept' in output
    assert processes_mentioning(stopped_job) == []
    finished = read_json(os.path.join(parent, 'num_epochs_1', 'metrics_eval_best_weights.json'))
    assert finished['epoch'] == 1
    # Stopped after its first epoch: the next search continues it from its weights.
    assert sorted(name for name in os.listdir(os.path.join(stopped_job, 'last_weights')) if name.endswith('.index')) == [
        'after-epoch-1.index']
    assert [job.status for job in plan_jobs(parent, {'num_epochs': [1, 2]})] == ['done', 'resume']

    again = script('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, cwd=str(tmp_path))
    assert again.stdout.splitlines()[0] == 'skipped num_epochs_1: it has its results already'
    assert '[1/1] num_epochs_2: finished after' in again.stdout
    assert 'Search in {}: 2 job(s): 1 trained, 1 skipped (already done).'.format(parent) in again.stdout
    assert read_json(os.path.join(parent, 'num_epochs_1', 'metrics_eval_best_weights.json')) == finished
    with open(os.path.join(stopped_job, 'output.log')) as f:
        attempts = f.read().split('==== ')[1:]
    assert len(attempts) == 2 and '--restore_from {}'.format(os.path.join(stopped_job, 'last_weights')) in attempts[1]
    assert 'Epoch 2/2' in attempts[1] and 'Epoch 1/2' not in attempts[1]
    assert read_json(os.path.join(stopped_job, 'params.json')) == read_json(os.path.join(trained, 'params.json'))
    assert_same_training(stopped_job, trained)


# A job that ignores SIGTERM (as a wrapper that neither handles nor forwards it might): it only sleeps.
STUBBORN_LAUNCHER = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(600)
"""


def test_ctrl_c_kills_a_job_that_ignores_sigterm_after_the_grace_period(tmp_path, data_dir):
    from search.local import GRACE_SECONDS
    parent = str(tmp_path / 'stubborn')
    make_parent(parent, {'learning_rate': [0.01]})
    job = os.path.join(parent, 'learning_rate_0.01')
    launcher = tmp_path / 'stubborn.py'
    launcher.write_text(STUBBORN_LAUNCHER)
    search = subprocess.Popen([sys.executable, os.path.join(ROOT, 'search_hyperparams.py'), '--parent_dir', parent,
                               '--data_dir', data_dir, '--launcher', '{} {}'.format(sys.executable, launcher)],
                              cwd=str(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not processes_mentioning(job):
            assert time.monotonic() < deadline and search.poll() is None
            time.sleep(0.1)
        time.sleep(1)  # its SIGTERM handler set
        search.send_signal(signal.SIGINT)
        sent = time.monotonic()
        time.sleep(GRACE_SECONDS / 2)
        assert processes_mentioning(job), 'the job ignores SIGTERM: it is still there during the grace period'
        output = search.communicate(timeout=GRACE_SECONDS + 30)[0]
        seconds = time.monotonic() - sent
    finally:
        search.kill()
        for pid in processes_mentioning(job):
            os.kill(pid, signal.SIGKILL)
    assert search.returncode == 130
    assert 'stopped learning_rate_0.01 (log: {})'.format(os.path.join(job, 'output.log')) in output
    assert processes_mentioning(job) == []
    # SIGTERM first, SIGKILL once the grace period is over, and not much later.
    assert GRACE_SECONDS <= seconds < GRACE_SECONDS + 5, seconds


def test_a_setting_over_three_seeds_its_spread_and_another_data_set_refused(tmp_path, data_dir):
    # A copy of the data set, to rebuild below (the shared one must stay as it is).
    data = shutil.copytree(data_dir, str(tmp_path / 'data'))
    make_parent(tmp_path / 'seeds', {'learning_rate': [0.01], 'seed': [1, 2, 3]})
    script('search_hyperparams.py', '--parent_dir', 'seeds', '--data_dir', 'data', cwd=tmp_path)
    names = ['learning_rate_0.01-seed_{}'.format(seed) for seed in (1, 2, 3)]
    assert sorted(name for name in os.listdir(str(tmp_path / 'seeds')) if '-seed_' in name) == names
    best = [read_json(str(tmp_path / 'seeds' / name / 'metrics_eval_best_weights.json'))['accuracy']
            for name in names]
    for seed, name in zip((1, 2, 3), names, strict=True):
        assert read_json(str(tmp_path / 'seeds' / name / 'params.json'))['seed'] == seed
        assert read_json(str(tmp_path / 'seeds' / name / 'dataset.json'))['data_dir'] == data

    table = script('synthesize_results.py', '--parent_dir', 'seeds', cwd=tmp_path).stdout
    over_seeds = table[table.index('Over seeds:'):].splitlines()
    assert over_seeds[2:5] == [
        '| setting | seeds | runs | dev accuracy mean | std | min-max |', '| --- | --- | --- | --- | --- | --- |',
        '| every run | 3 | 3 finished | {:.4f} | {:.4f} | {:.4f}-{:.4f} |'.format(
            statistics.mean(best), statistics.stdev(best), min(best), max(best))]
    assert '| data set |' not in table  # one data set: nothing to tell apart

    # The search: search.json extended, then run on another data set. Refused before any job.
    make_parent(tmp_path / 'seeds', {'learning_rate': [0.01, 0.1], 'seed': [1, 2, 3]})
    before = sorted(os.listdir(str(tmp_path / 'seeds')))
    refused = script('search_hyperparams.py', '--parent_dir', 'seeds', '--data_dir', data_dir, cwd=tmp_path,
                     check=False)
    assert refused.returncode == 2 and refused.stdout == ''
    assert refused.stderr == (
        'Error: {}: this run was trained on the data set in {}, and the search would train on {}: one table would '
        'rank them together. Run it with --data_dir {}, or search into a new --parent_dir\n'.format(
            os.path.join('seeds', names[0], 'dataset.json'), data, data_dir, data))
    # The same folder rebuilt from other images since (what its source.json says).
    with open(os.path.join(data, 'source.json')) as f:
        source = json.load(f)
    with open(os.path.join(data, 'source.json'), 'w') as f:
        json.dump(dict(source, source=str(tmp_path / 'other images')), f)
    refused = script('search_hyperparams.py', '--parent_dir', 'seeds', '--data_dir', 'data', cwd=tmp_path,
                     check=False)
    assert refused.returncode == 2 and refused.stderr.startswith('Error: {}: this run was trained on the data set '
                                                                 'in {} as it was before it was rebuilt (source '
                                                                 'changed since)'.format(
                                                                     os.path.join('seeds', names[0], 'dataset.json'),
                                                                     data))
    assert sorted(os.listdir(str(tmp_path / 'seeds'))) == before
