"""search/slurm/: search_hyperparams.py --launcher slurm against a real single-node Slurm cluster (see
helpers/slurm_cluster.py).

One cluster serves every test (module fixture); the tests run one at a time, and most of them
leave no job behind. The two searches that wait for Slurm's time limits (limited_searches) run
at the same time, so that their minutes pass once.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import ROOT, read_json
from helpers.processes import Follower, processes_mentioning, read_until
from helpers.search import make_parent, read_text, script, start, wait_for
from helpers.slurm_cluster import CPUS, SlurmCluster, missing_reason

REASON = missing_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(REASON is not None, reason=str(REASON))]

FINISHED = re.compile(r'^\[\d/\d\] (\S+): Slurm job (\d+) (\S+?),? .*\(log: (.*)\)$')


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    cluster = SlurmCluster(str(tmp_path_factory.mktemp('slurm'))).start()
    yield cluster
    cluster.stop()


def slurm_script(cluster, name, *args, cwd, check=True, timeout=600):
    return script(name, *args, cwd=cwd, env=cluster.env, check=check, timeout=timeout)


def squeue_states(cluster, job_ids):
    """{job id: state} as the cluster sees it (finished jobs included)."""
    result = subprocess.run(['squeue', '--noheader', '--states=all', '--jobs=' + ','.join(job_ids),
                             '--format=%i %T'], env=cluster.env, capture_output=True, text=True, check=True)
    return dict(line.split() for line in result.stdout.splitlines())


def start_search(cluster, parent, data_dir, *args, cwd, env=None):
    """search_hyperparams.py --launcher slurm in the background, its output on a pipe."""
    return start('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, '--launcher', 'slurm',
                 '--poll', '1', *args, cwd=cwd, env=env or cluster.env)


def submitted_ids(lines):
    return [m.group(1) for m in (re.match(r'^submitted \S+ as Slurm job (\d+)$', line) for line in lines) if m]


def cancel_everything(cluster):
    """Cancel every job left on the cluster (the tests run one at a time: they are this test's)."""
    subprocess.run(['scancel', '--user=' + str(os.getuid())], env=cluster.env)
    wait_for(lambda: not subprocess.run(['squeue', '--noheader'], env=cluster.env, capture_output=True,
                                        text=True).stdout.strip(), 'the jobs to end', timeout=60)


def cancel_jobs_in(cluster, workdir):
    """Cancel the jobs left by the searches run from `workdir` (a test's own, while other tests' jobs run)."""
    listed = subprocess.run(['squeue', '--noheader', '--format=%i %Z'], env=cluster.env, capture_output=True,
                            text=True).stdout.split('\n')
    ids = [line.split(' ', 1)[0] for line in listed if ' ' in line and line.split(' ', 1)[1] == str(workdir)]
    if ids:
        scancel_and_wait(cluster, ids)


def scancel_and_wait(cluster, job_ids):
    subprocess.run(['scancel', *job_ids], env=cluster.env)
    wait_for(lambda: all(state not in ('PENDING', 'RUNNING', 'COMPLETING')
                         for state in squeue_states(cluster, job_ids).values()), 'the jobs to end', timeout=60)


def train_processes(folder):
    """The train.py processes training in `folder` (a path relative to the search's working directory)."""
    return [pid for pid in processes_mentioning('--model_dir\0' + folder + '\0') if pid != os.getpid()]


def blind_squeue(cluster, tmp_path):
    """The cluster's environment with an squeue first on the PATH that answers (exit status 0) but lists no job:
    a controller that restarted and lost its queue for a moment, a site's wrapper that filters it."""
    folder = tmp_path / 'blind-bin'
    folder.mkdir()
    (folder / 'squeue').write_text('#!/bin/sh\nexit 0\n')
    (folder / 'squeue').chmod(0o755)
    return dict(cluster.env, PATH='{}:{}'.format(folder, cluster.env['PATH']))


@pytest.fixture(scope='module')
def limited_searches(cluster, tmp_path_factory, data_dir):
    """The two searches that wait for Slurm's time limits (a minute or more each), started at once: 'limit' (the
    time limit itself) and 'warned' (the --signal warning before it, then --retries). Each test reads its own.

    What must happen at a given moment is done by threads: the moment its last epoch is saved, the job
    num_epochs_2 of 'limit' is stopped (SIGSTOP, its pids kept in `stopped`), so that its time limit ends it
    (num_epochs_3000 too, once it saved an epoch); and the second attempt of 'warned' gets a longer time
    limit as soon as it is submitted.
    """
    cwd = tmp_path_factory.mktemp('limited')
    make_parent(cwd / 'limit', {'num_epochs': [2, 3000], 'slurm': {'time': '1'}})
    make_parent(cwd / 'warned', {'num_epochs': [3000]})
    stopped, errors = [], []

    def stop_at_the_last_epoch():
        try:
            metrics = cwd / 'limit' / 'num_epochs_2' / 'metrics_eval_last_weights.json'
            wait_for(lambda: '"epoch": 2' in read_text(metrics), 'the last epoch', 180, every=0.005)
            for pid in train_processes('limit/num_epochs_2'):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            # The other job of 'limit' need not train on until its time limit (Slurm sends SIGCONT, then
            # SIGTERM, at the limit): stopped once it saved an epoch, it leaves the CPU to the 'warned' search.
            metrics = cwd / 'limit' / 'num_epochs_3000' / 'metrics_eval_last_weights.json'
            wait_for(lambda: '"epoch": ' in read_text(metrics), 'an epoch of num_epochs_3000', 60, every=0.05)
            for pid in train_processes('limit/num_epochs_3000'):
                os.kill(pid, signal.SIGSTOP)
        except Exception as e:  # reported by the test
            errors.append(e)

    def warned_line(line):
        # Slurm may warn the second attempt any time from 15 s on: a longer limit keeps it from doing so before
        # the test cancels it.
        match = re.match(r'^resubmitted num_epochs_3000 as Slurm job (\d+) ', line)
        if match:
            subprocess.run(['scontrol', 'update', 'jobid=' + match.group(1), 'timelimit=10'], env=cluster.env,
                           check=True)

    stopper = threading.Thread(target=stop_at_the_last_epoch, daemon=True)
    stopper.start()
    searches = {'limit': Follower(start_search(cluster, 'limit', data_dir, cwd=cwd)),
                'warned': Follower(start_search(cluster, 'warned', data_dir, '--time', '2', '--signal', '45',
                                                '--retries', '1', cwd=cwd), on_line=warned_line)}
    yield cwd, searches, stopped, errors
    for search in searches.values():
        search.kill()
    cancel_jobs_in(cluster, cwd)


# --- Submitting, following, failing ---


def test_two_jobs_through_slurm_then_skipped_then_the_table(cluster, tmp_path, data_dir):
    # Spaces, quotes, '#', '%' and a command substitution in the parent folder's name: the job script
    # must name it exactly in its #SBATCH lines, and a shell must never run any of it.
    name = "lr search; $(touch pwned) #1 'q' 50%"
    make_parent(tmp_path / name, {'learning_rate': [1e-3, 1e-2],
                                  'slurm': {'time': '0:10:00', 'cpus': 1, 'setup': ['export GREETING=hello']}})

    # Setup lines (the search.json's, then the command line's) before train.py; account and QOS checked and
    # written as #SBATCH lines.
    result = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', name, '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', '--mem', '1500M',
                    '--setup', 'echo "setup says $GREETING from $SLURM_JOB_NAME"', '--account', 'cs230',
                    '--qos', 'normal', cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines()
             if not line.startswith('Slurm: ') and not re.search(r': Slurm job \d+ pending \(', line)]
    submitted = dict(re.match(r'^submitted (\S+) as Slurm job (\d+)$', line).groups() for line in lines[1:3])
    assert sorted(submitted) == ['learning_rate_0.001', 'learning_rate_0.01']
    finished = [FINISHED.match(line).groups() for line in lines[3:5]]
    assert sorted(finished) == sorted(
        (job, job_id, 'COMPLETED', os.path.join(name, job, 'slurm-{}.out'.format(job_id)))
        for job, job_id in submitted.items())
    assert 'Search in {}: 2 job(s): 2 trained.'.format(name) in lines
    assert squeue_states(cluster, list(submitted.values())) == {job_id: 'COMPLETED' for job_id in submitted.values()}
    # The status line, printed when it changes.
    status = [line for line in result.stdout.splitlines() if line.startswith('Slurm: ')]
    assert status[-1] == 'Slurm: 0 running, 0 pending, 2 done, 0 failed'
    assert any(re.match(r'^Slurm: [12] running, [01] pending, 0 done, 0 failed$', line) for line in status), status
    assert all(a != b for a, b in zip(status, status[1:], strict=False))
    accounts = subprocess.run(['squeue', '--noheader', '--states=all', '--jobs=' + ','.join(submitted.values()),
                               '--format=%a'], env=cluster.env, capture_output=True, text=True, check=True)
    assert accounts.stdout.split() == ['cs230', 'cs230']

    metrics = {}
    for job, job_id in submitted.items():
        folder = tmp_path / name / job
        with open(str(folder / 'slurm-{}.out'.format(job_id))) as f:
            log = f.read()
        assert 'Epoch 1/1' in log and 'setup says hello from {}\n'.format(job) in log
        script_text = (folder / 'job.sbatch').read_text()
        assert ('#SBATCH --time=0:10:00\n#SBATCH --cpus-per-task=1\n#SBATCH --mem=1500M\n#SBATCH --account=cs230\n'
                '#SBATCH --qos=normal\n#SBATCH --open-mode=append\n') in script_text
        assert '#SBATCH --chdir="{}"\n'.format(tmp_path) in script_text
        assert (folder / 'slurm.jobid').read_text() == job_id + '\n'
        metrics[job] = read_json(str(folder / 'metrics_eval_best_weights.json'))
        assert metrics[job]['epoch'] == 1
    assert 'pwned' not in os.listdir(str(tmp_path)) + os.listdir(str(tmp_path / name)) + os.listdir(ROOT)

    again = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', name, '--data_dir', data_dir,
                   '--launcher', 'slurm', '--poll', '1', cwd=tmp_path)
    assert 'submitted' not in again.stdout
    assert 'Search in {}: 2 job(s): 0 trained, 2 skipped (already done).'.format(name) in again.stdout

    table = slurm_script(cluster, 'synthesize_results.py', '--parent_dir', name, cwd=tmp_path).stdout
    assert table.splitlines()[2:] == [
        '| {} | finished | {} | {:.4f} | {:.4f} | 1 |'.format(job, job.split('_')[-1], metrics[job]['accuracy'],
                                                              metrics[job]['loss'])
        for job in sorted(metrics, key=lambda job: -metrics[job]['accuracy'])] + [
        '', 'Ranked by dev accuracy: 2 finished run(s), and no unfinished one.']


def test_a_failing_job_is_reported_with_its_slurm_state(cluster, tmp_path, data_dir):
    # A setup line that fails: the job stops before train.py, and its log's last line says why.
    # --max_queued 1: the second job is submitted only once the first has ended.
    make_parent(tmp_path / 'setup', {'learning_rate': [0.1, 0.2]})
    result = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', 'setup', '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', '--setup', 'echo first line runs',
                    '--setup', 'cd /no/such/folder', '--max_queued', '1', cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith('Slurm: ')]
    assert re.search(r'^Slurm: .*, 1 to submit$', result.stdout, re.MULTILINE), result.stdout
    for index, job in ((1, 'learning_rate_0.1'), (3, 'learning_rate_0.2')):
        job_id = re.match(r'^submitted {} as Slurm job (\d+)$'.format(job), lines[index]).group(1)
        log = os.path.join('setup', job, 'slurm-{}.out'.format(job_id))
        assert re.match(r'^\[{}/2\] {}: Slurm job {} FAILED, exit status 1 after \d+s: Error: the setup line '
                        r'"cd /no/such/folder" of job.sbatch failed \(status 1\): the job stops before training '
                        r'\(log: {}\)$'.format(index // 2 + 1, job, job_id, re.escape(log)), lines[index + 1]), lines
        assert '  {}: Slurm job {} FAILED, exit status 1 (log: {})\n'.format(job, job_id, log) in result.stdout
        assert squeue_states(cluster, [job_id]) == {job_id: 'FAILED'}
        text = read_text(tmp_path / log)
        assert 'first line runs' in text and 'Creating the datasets' not in text


def test_ctrl_c_on_a_search_that_follows_another_live_search_s_jobs_leaves_them_running(cluster, tmp_path, data_dir):
    # Issue 27, item 4: the README invites running the command again to check on jobs; while the search that
    # submitted them still runs, this one says so at start, and its Ctrl-C leaves the jobs to that one.
    make_parent(tmp_path / 'shared', {'num_epochs': [3000, 3001]})
    command = [sys.executable, os.path.join(ROOT, 'search_hyperparams.py'), '--parent_dir', 'shared',
               '--data_dir', data_dir, '--launcher', 'slurm', '--poll', '1']
    first = subprocess.Popen(command, cwd=str(tmp_path), env=cluster.env, stdout=subprocess.PIPE, text=True)
    second = None
    try:
        lines = read_until(first, lambda lines: len(lines) >= 3)
        ours = [re.match(r'^submitted \S+ as Slurm job (\d+)$', line).group(1) for line in lines[1:3]]
        second = subprocess.Popen(command, cwd=str(tmp_path), env=cluster.env, stdout=subprocess.PIPE, text=True)
        lines = read_until(second, lambda lines: sum('still running (process {})'.format(first.pid) in line
                                                     for line in lines) >= 2)
        assert any('Ctrl-C here leaves it to that one' in line for line in lines)
        second.send_signal(signal.SIGINT)
        output = second.communicate(timeout=60)[0]
        assert second.returncode == 130, output
        for job_id in ours:
            assert 'to the search that submitted it: Slurm job {} (scancel {} to stop it)'.format(job_id, job_id) \
                in output
        assert 'cancelled num_epochs' not in output
        time.sleep(2)
        assert set(squeue_states(cluster, ours).values()) <= {'PENDING', 'RUNNING'}  # still there
        assert first.poll() is None  # and the first search still follows them
    finally:
        for search in (first, second):
            if search is not None:
                search.kill()
        cancel_jobs_in(cluster, tmp_path)


def test_run_again_the_search_follows_the_jobs_it_had_submitted(cluster, tmp_path, data_dir):
    # The search dies (a dropped connection to the login node) while its jobs are queued: they go on,
    # and the same command run again follows them instead of submitting them a second time.
    make_parent(tmp_path / 'long', {'num_epochs': [3000, 3001]})
    command = [sys.executable, os.path.join(ROOT, 'search_hyperparams.py'), '--parent_dir', 'long',
               '--data_dir', data_dir, '--launcher', 'slurm', '--poll', '1']
    first = subprocess.Popen(command, cwd=str(tmp_path), env=cluster.env, stdout=subprocess.PIPE, text=True)
    second = None
    try:
        lines = read_until(first, lambda lines: len(lines) >= 3)
        first.kill()
        first.wait()
        ours = [re.match(r'^submitted \S+ as Slurm job (\d+)$', line).group(1) for line in lines[1:3]]
        assert set(squeue_states(cluster, ours).values()) <= {'PENDING', 'RUNNING'}

        second = subprocess.Popen(command, cwd=str(tmp_path), env=cluster.env, stdout=subprocess.PIPE, text=True)
        lines = read_until(second, lambda lines: len(lines) >= 3)
        assert lines[1:3] == ['following num_epochs_3000: already Slurm job {}\n'.format(ours[0]),
                              'following num_epochs_3001: already Slurm job {}\n'.format(ours[1])]
        second.send_signal(signal.SIGINT)
        output = second.communicate(timeout=60)[0]
        assert second.returncode == 130 and 'cancelled num_epochs_3001: Slurm job {}'.format(ours[1]) in output
        deadline = time.monotonic() + 30
        while set(squeue_states(cluster, ours).values()) != {'CANCELLED'}:
            assert time.monotonic() < deadline, squeue_states(cluster, ours)
            time.sleep(0.5)
    finally:
        for search in (first, second):
            if search is not None:
                search.kill()


@pytest.mark.parametrize('args, cause', [
    (['--sbatch=--acount=cs230'], "unrecognized option '--acount=cs230'"),
    (['--partition', 'nosuch'], 'invalid partition specified: nosuch'),
    (['--gpus', '1'], 'Invalid generic resource (gres) specification'),  # no GPU here: the request reaches sbatch
])
def test_sbatch_errors_keep_their_cause(cluster, tmp_path, data_dir, args, cause):
    # Defect 3: the line that says what is wrong, not sbatch's "Try --help" hint.
    make_parent(tmp_path / 'typo', {'learning_rate': [0.1]})
    result = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', 'typo', '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', *args, cwd=tmp_path, check=False)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr
    assert result.stderr.startswith('Error: sbatch refused {}: '.format(
        os.path.join('typo', 'learning_rate_0.1', 'job.sbatch'))) and cause in result.stderr, result.stderr
    assert 'sbatch --help' not in result.stderr


def test_a_requeued_job_keeps_the_log_of_its_first_attempt(cluster, tmp_path, data_dir):
    # Defect 8: Slurm requeues a job (a node failure, an administrator) under the same id: same log file.
    make_parent(tmp_path / 'requeued', {'num_epochs': [3000]})
    search = start_search(cluster, 'requeued', data_dir, cwd=tmp_path)
    try:
        [job_id] = submitted_ids(read_until(search, lambda lines: len(lines) >= 2))
        log = tmp_path / 'requeued' / 'num_epochs_3000' / 'slurm-{}.out'.format(job_id)
        wait_for(lambda: 'Epoch 2/3000' in read_text(log), 'the first epoch to be saved')
        subprocess.run(['scontrol', 'requeue', job_id], env=cluster.env, check=True)
        wait_for(lambda: squeue_states(cluster, [job_id])[job_id] == 'PENDING', 'the job to be requeued', 30)
        # A requeued job waits two minutes before it may start again: now, for this test.
        subprocess.run(['scontrol', 'update', 'jobid=' + job_id, 'starttime=now'], env=cluster.env, check=True)
        wait_for(lambda: read_text(log).count('Creating the datasets') == 2, 'the second attempt to start', 60)
        text = read_text(log)
        assert text.index('Epoch 2/3000') < text.index('DUE TO JOB REQUEUE') < text.rindex('Creating the datasets')
        search.send_signal(signal.SIGINT)
        output = search.communicate(timeout=60)[0]
        assert '[1/1]' not in output  # requeued is not over: the search went on following it
        assert 'cancelled num_epochs_3000: Slurm job {}'.format(job_id) in output
    finally:
        search.kill()


def test_an_squeue_that_lists_none_of_the_jobs_is_not_taken_at_its_word(cluster, tmp_path, data_dir):
    # Issue 27, item 2: a job that squeue does not list is not over until the controller (scontrol) says so.
    make_parent(tmp_path / 'blind', {'learning_rate': [0.1]})
    try:
        result = script('search_hyperparams.py', '--parent_dir', 'blind', '--data_dir', data_dir, '--launcher',
                        'slurm', '--poll', '1', cwd=tmp_path, env=blind_squeue(cluster, tmp_path), check=False,
                        timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        [job_id] = submitted_ids(result.stdout.splitlines())
        assert re.search(r'^\[1/1\] learning_rate_0.1: Slurm job {} COMPLETED after \d+s, best dev accuracy '
                         r'\d\.\d{{4}} \(log: .*\)$'.format(job_id), result.stdout, re.MULTILINE), result.stdout
        assert 'UNKNOWN' not in result.stdout and 'Search in blind: 1 job(s): 1 trained.' in result.stdout
        assert squeue_states(cluster, [job_id]) == {job_id: 'COMPLETED'}
    finally:
        cancel_jobs_in(cluster, tmp_path)


def test_a_job_that_finds_its_folder_locked_follows_the_job_holding_it(cluster, tmp_path, data_dir):
    # Issue 27, item 3: a search that did not see the job training in a folder (here: squeue lists nothing)
    # submits a second one, which finds the folder locked and stops (exit status 3). That is not a failure:
    # the search follows the job that holds the lock.
    make_parent(tmp_path / 'held', {'num_epochs': [3000]})
    folder = tmp_path / 'held' / 'num_epochs_3000'
    first = start_search(cluster, 'held', data_dir, cwd=tmp_path)
    second = None
    try:
        [holder] = submitted_ids(read_until(first, lambda lines: len(lines) >= 2))
        wait_for(lambda: 'Epoch 1/3000' in read_text(folder / 'slurm-{}.out'.format(holder)), 'the job to train')
        first.kill()  # the holder goes on
        first.wait()
        second = Follower(start_search(cluster, 'held', data_dir, cwd=tmp_path, env=blind_squeue(cluster, tmp_path)))
        lines = second.wait_until(lambda lines: any(' following ' in line or line.startswith('[1/1]')
                                                    for line in lines), timeout=120)
        [locked] = submitted_ids(lines)
        assert [line for line in lines if not line.startswith('Slurm: ')][2:] == [
            'num_epochs_3000: Slurm job {} found the folder locked by Slurm job {} (another search or a job.sbatch '
            'submitted by hand): following {}\n'.format(locked, holder, holder)], ''.join(lines)
        assert squeue_states(cluster, [locked, holder]) == {locked: 'FAILED', holder: 'RUNNING'}
        assert (folder / 'slurm.jobid').read_text() == holder + '\n'
        second.process.send_signal(signal.SIGINT)
        output = second.output(timeout=60)
        assert second.process.returncode == 130, output
        assert 'cancelled num_epochs_3000: Slurm job {} (log: '.format(holder) in output and 'FAILED' not in output
        assert 'Search in held: 1 job(s): 0 trained, 1 stopped or not started (1 cancelled while running).' in output
        wait_for(lambda: squeue_states(cluster, [holder]) == {holder: 'CANCELLED'}, 'the holder to be cancelled', 30)
    finally:
        first.kill()
        if second is not None:
            second.kill()
        cancel_jobs_in(cluster, tmp_path)


# --- The time limits ---


def test_time_limit_judged_by_the_folder_and_the_advice_is_to_run_the_search_again(cluster, limited_searches):
    # Defect 7: a job that saved its last epoch but that Slurm then ended at its time limit (TIMEOUT) trained.
    # Defect 5: one that did not is told to run the search again with a longer --time, not train.py by hand.
    # 3000 epochs, here and in the other tests, for a job that must still be running when the test acts:
    # on a quiet machine the tiny set trains 300 epochs within the minute.
    tmp_path, searches, stopped, errors = limited_searches
    search = searches['limit']
    lines = search.wait_until(lambda lines: len(lines) >= 3)
    done_id, timeout_id = submitted_ids(lines)
    # The moment its last epoch is saved, train.py is stopped (SIGSTOP, by the fixture): the time limit ends the job.
    wait_for(lambda: stopped or errors, 'num_epochs_2 to be stopped', 180)
    assert stopped and not errors, errors
    output = search.output(timeout=240)
    assert search.process.returncode == 1, output
    assert squeue_states(cluster, [done_id, timeout_id]) == {done_id: 'TIMEOUT', timeout_id: 'TIMEOUT'}
    assert re.search(r'^\[\d/2\] num_epochs_2: Slurm job {} TIMEOUT, but it had saved its last epoch after '
                     r'1m\d\ds, best dev accuracy \d\.\d{{4}} \(log: .*\)$'.format(done_id), output,
                     re.MULTILINE), output
    timed_out = re.search(r'^\[\d/2\] num_epochs_3000: Slurm job {} TIMEOUT.* after 1m\d\ds: (epoch (\d+) of 3000 '
                          r'saved: run the search again with a longer --time to go on from there) \(log: .*\)$'.format(
                              timeout_id), output, re.MULTILINE)
    assert timed_out, output
    assert 'Search in limit: 2 job(s): 1 trained, 1 failed.' in output
    assert 'train.py' not in output

    # The table says what the summary said: one finished, one failed at its time limit (with the advice).
    table = slurm_script(cluster, 'synthesize_results.py', '--parent_dir', 'limit', cwd=tmp_path).stdout
    rows = {line.split(' | ')[0][2:]: line.split(' | ')[1] for line in table.splitlines()[2:4]}
    assert rows == {'num_epochs_2': 'finished', 'num_epochs_3000': 'failed at epoch {} of 3000: TIMEOUT: {}'.format(
        timed_out.group(2), timed_out.group(1))}, table
    assert table.splitlines()[2].startswith('| num_epochs_2 | finished |'), table


def test_signal_before_the_time_limit_then_retries_resume_from_the_last_epoch(cluster, limited_searches):
    # SIGTERM 45 s before the 2-minute limit (Slurm sends it 0 to 30 s earlier still): train.py saves and
    # stops; the job is resubmitted (--retries 1) and goes on from its last saved epoch.
    tmp_path, searches, _, _ = limited_searches
    search = searches['warned']
    lines = search.wait_until(lambda lines: any(line.startswith('resubmitted') for line in lines), timeout=180)
    [first] = submitted_ids(lines)
    match = re.match(r'^resubmitted num_epochs_3000 as Slurm job (\d+) \(attempt 2 of 2\): Slurm job {} stopped '
                     r'before its time limit after (?:\d+m)?\d+s \(epoch (\d+) of 3000 saved\)\n$'.format(first),
                     next(line for line in lines if line.startswith('resubmitted')))
    assert match, ''.join(lines)
    second, saved = match.group(1), int(match.group(2))
    wait_for(lambda: squeue_states(cluster, [second]).get(second) and not search.errors and
             'TimeLimit=00:10:00' in subprocess.run(['scontrol', 'show', 'job', second], env=cluster.env,
                                                    capture_output=True, text=True).stdout,
             'the longer time limit of the second attempt', 30, every=0.2)
    assert not search.errors, search.errors
    assert squeue_states(cluster, [first]) == {first: 'FAILED'}  # exit status 143: it stopped itself
    folder = tmp_path / 'warned' / 'num_epochs_3000'
    assert 'Stopped by SIGTERM: the last finished epoch is {} '.format(saved) in read_text(
        folder / 'slurm-{}.out'.format(first))
    restored = 'Restoring parameters from {}'.format(os.path.join('warned', 'num_epochs_3000', 'last_weights',
                                                                   'after-epoch-{}'.format(saved)))
    wait_for(lambda: restored in read_text(folder / 'slurm-{}.out'.format(second)), 'the second attempt to resume')

    # Cancelled from outside (defect 5): the advice is the search again, not train.py by hand.
    subprocess.run(['scancel', second], env=cluster.env, check=True)
    output = search.output(timeout=60)
    assert search.process.returncode == 1, output
    assert re.search(r'^\[1/1\] num_epochs_3000: Slurm job {} CANCELLED.* after (?:\d+m)?\d+s: stopped from outside the '
                     r'search \(epoch \d+ of 3000 saved\): run the search again to go on from there \(log: '
                     r'.*\)$'.format(second), output, re.MULTILINE), output
    assert 'train.py' not in output


# --- Ctrl-C, a controller that does not answer, jobs that cannot run ---


def test_ctrl_c_cancels_the_submitted_jobs_and_no_other(cluster, tmp_path, data_dir):
    # Someone else's job on the cluster, queued before the search: it must survive the Ctrl-C.
    # It takes all the node's CPUs but one.
    other = subprocess.run(['sbatch', '--parsable', '--output=/dev/null', '--cpus-per-task={}'.format(CPUS - 1),
                            '--wrap', 'sleep 300'], env=cluster.env, capture_output=True, text=True,
                           check=True).stdout.strip()
    make_parent(tmp_path / 'long', {'num_epochs': [3000, 3001, 3002]})
    search = start_search(cluster, 'long', data_dir, cwd=tmp_path)
    try:
        lines = read_until(search, lambda lines: len(lines) >= 4)
        ours = submitted_ids(lines)
        # Wait until one of them trains (the other job and one of ours run, the last two wait).
        wait_for(lambda: 'RUNNING' in squeue_states(cluster, ours).values(), 'a job to run', timeout=60)
        wait_for(lambda: any(os.path.exists(os.path.join(str(tmp_path), 'long', 'num_epochs_{}'.format(n),
                                                         'slurm-{}.out'.format(job_id)))
                             for n, job_id in zip((3000, 3001, 3002), ours, strict=True)), 'its log')
        running = [job_id for job_id, state in squeue_states(cluster, ours).items() if state == 'RUNNING']
        assert len(running) == 1
        search.send_signal(signal.SIGINT)
        output = ''.join(lines) + search.communicate(timeout=60)[0]
        assert search.returncode == 130, output
        for job, job_id in zip(('num_epochs_3000', 'num_epochs_3001', 'num_epochs_3002'), ours, strict=True):
            if job_id in running:
                expected = 'cancelled {}: Slurm job {} (log: {})'.format(
                    job, job_id, os.path.join('long', job, 'slurm-{}.out'.format(job_id)))
            else:  # defect 6: a job that never started has no log to name
                expected = 'cancelled {}: Slurm job {} (it had not started)'.format(job, job_id)
            assert expected + '\n' in output
        assert ('Search in long: 3 job(s): 0 trained, 3 stopped or not started (1 cancelled while running, '
                '2 cancelled before starting).\n') in output
        wait_for(lambda: set(squeue_states(cluster, ours).values()) == {'CANCELLED'}, 'the jobs to be cancelled', 30)
        assert squeue_states(cluster, [other])[other] in ('RUNNING', 'PENDING')
        wait_for(lambda: not processes_mentioning('long/num_epochs_30'), 'no cancelled job to run', 30)
    finally:
        search.kill()
        subprocess.run(['scancel', other], env=cluster.env)


def test_never_two_jobs_in_one_folder(cluster, tmp_path, data_dir):
    # Defect 1. sbatch times out talking to a controller that does not answer, which creates the job later:
    # the search finds that job and follows it, rather than saying "sbatch refused" (and a rerun submitting
    # a second one).
    make_parent(tmp_path / 'twice', {'num_epochs': [3000]})
    folder = tmp_path / 'twice' / 'num_epochs_3000'
    cluster.pause()
    try:
        search = start_search(cluster, 'twice', data_dir, cwd=tmp_path)
        sbatch = wait_for(lambda: processes_mentioning('sbatch\0--parsable\0'), 'sbatch to run', 60, every=0.1)
        wait_for(lambda: not set(sbatch) & set(processes_mentioning('sbatch\0--parsable\0')), 'sbatch to give up',
                 60, every=0.1)
    finally:
        cluster.resume()
    rerun = None
    try:
        lines = read_until(search, lambda lines: any('following it' in line for line in lines), timeout=180)
        match = re.match(r'^num_epochs_3000: sbatch said "(.*)", but Slurm made job (\d+) for it: following it$',
                         lines[-1])
        assert match and 'Socket timed out' in match.group(1), ''.join(lines)
        first = match.group(2)
        assert (folder / 'slurm.jobid').read_text() == first + '\n'
        wait_for(lambda: 'Epoch 1/3000' in read_text(folder / 'slurm-{}.out'.format(first)), 'the job to train')

        # The user submits the job's script again by hand: that job stops at once, naming the one that trains.
        second = subprocess.run(['sbatch', '--parsable', str(folder / 'job.sbatch')], env=cluster.env,
                                capture_output=True, text=True, check=True).stdout.strip()
        wait_for(lambda: squeue_states(cluster, [second]).get(second) == 'FAILED', 'the second job to stop', 60)
        assert read_text(folder / 'slurm-{}.out'.format(second)).splitlines()[-1] == (
            'Error: Slurm job {} is training in this folder already: Slurm job {} stops without touching '
            'it'.format(first, second))
        assert len(train_processes('twice/num_epochs_3000')) == 1

        # The search stops, and its record of the job is lost: run again, it follows the job all the same.
        search.kill()
        search.wait()
        os.remove(str(folder / 'slurm.jobid'))
        rerun = start_search(cluster, 'twice', data_dir, cwd=tmp_path)
        lines = read_until(rerun, lambda lines: len(lines) >= 2)
        assert lines[1] == 'following num_epochs_3000: already Slurm job {}\n'.format(first), ''.join(lines)
        rerun.send_signal(signal.SIGINT)
        output = rerun.communicate(timeout=60)[0]
        assert rerun.returncode == 130 and 'cancelled num_epochs_3000: Slurm job {}'.format(first) in output
        assert len(submitted_ids(output.splitlines())) == 0
    finally:
        for process in (search, rerun):
            if process is not None:
                process.kill()
        cancel_everything(cluster)


def test_ctrl_c_says_which_jobs_may_still_run_when_scancel_fails(cluster, tmp_path, data_dir):
    # Defect 2: a controller that does not answer; scancel fails, and the search must not say "cancelled".
    make_parent(tmp_path / 'stuck', {'num_epochs': [3000, 3001]})
    search = start_search(cluster, 'stuck', data_dir, cwd=tmp_path)
    ours = []
    try:
        ours = submitted_ids(read_until(search, lambda lines: len(lines) >= 3))
        wait_for(lambda: set(squeue_states(cluster, ours).values()) == {'RUNNING'}, 'both jobs to run', 60)
        cluster.pause()
        try:
            search.send_signal(signal.SIGINT)
            output = search.communicate(timeout=120)[0]
        finally:
            cluster.resume()
        assert search.returncode == 130, output
        assert 'cancelled num_epochs_30' not in output
        assert re.search(r'^Could not cancel num_epochs_3000 \(Slurm job {0}\), num_epochs_3001 \(Slurm job {1}\) '
                         r'\(scancel: .*Socket timed out.*\): they may still be queued or running; cancel them with: '
                         r'scancel {0} {1}$'.format(*ours), output, re.MULTILINE), output
        assert 'Search in stuck: 2 job(s): 0 trained, 2 stopped or not started (2 may still be running).' in output
    finally:
        search.kill()
        scancel_and_wait(cluster, ours)


def test_a_job_that_can_never_start_is_not_waited_for(cluster, tmp_path, data_dir):
    # Defect 4: more CPUs than the node has. Waiting changes nothing: the search cancels it and says why.
    make_parent(tmp_path / 'big', {'learning_rate': [0.1]})
    result = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', 'big', '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', '--cpus', '64', cwd=tmp_path, check=False, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    [job_id] = submitted_ids(result.stdout.splitlines())
    assert re.search(r'^\[1/1\] learning_rate_0.1: Slurm job {} PENDING \(PartitionConfig\): it can never start as '
                     r'it asks \(Slurm says PartitionConfig: .*\); cancelled it: ask for less .* then run the search '
                     r'again \(no log: it never started\)$'.format(job_id), result.stdout, re.MULTILINE), result.stdout
    assert squeue_states(cluster, [job_id]) == {job_id: 'CANCELLED'}

    # A drained node: the job waits for an administrator, not for the search; it says so and stops following it.
    subprocess.run(['scontrol', 'update', 'nodename=' + cluster.host, 'state=drain', 'reason=maintenance'],
                   env=cluster.env, check=True)
    try:
        result = slurm_script(cluster, 'search_hyperparams.py', '--parent_dir', 'big', '--data_dir', data_dir,
                        '--launcher', 'slurm', '--poll', '1', cwd=tmp_path, check=False, timeout=120)
        assert result.returncode == 1, result.stdout + result.stderr
        [job_id] = submitted_ids(result.stdout.splitlines())
        # Slurm gives either reason for a drained node, depending on when its scheduler last looked at the job.
        assert re.search(r'^\[1/1\] learning_rate_0.1: Slurm job {} PENDING \((?:Nodes required for job are DOWN, '
                         r'DRAINED|ReqNodeNotAvail).*\): no node of partition debug takes jobs now \(drained or down\); the job stays '
                         r'queued until an administrator returns one \(sinfo shows them; cancel it with scancel {}\) '
                         r'\(no log: it never started\)$'.format(job_id, job_id), result.stdout, re.MULTILINE), \
            result.stdout
        assert squeue_states(cluster, [job_id]) == {job_id: 'PENDING'}
    finally:
        subprocess.run(['scontrol', 'update', 'nodename=' + cluster.host, 'state=resume'], env=cluster.env)
        cancel_everything(cluster)
