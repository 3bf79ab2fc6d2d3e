"""search_hyperparams.py --launcher slurm against a real single-node Slurm cluster (see slurm_cluster.py)."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, read_json, write_params
from processes import processes_mentioning, read_until
from slurm_cluster import SlurmCluster, missing_reason

REASON = missing_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(REASON is not None, reason=str(REASON))]

FINISHED = re.compile(r'^\[\d/\d\] (\S+): Slurm job (\d+) (\S+?),? .*\(log: (.*)\)$')


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    cluster = SlurmCluster(str(tmp_path_factory.mktemp('slurm'))).start()
    yield cluster
    cluster.stop()


def make_parent(parent, search, **changes):
    write_params(str(parent), num_epochs=1, **changes)
    with open(os.path.join(str(parent), 'search.json'), 'w') as f:
        json.dump(search, f)


def script(cluster, name, *args, cwd, check=True):
    result = subprocess.run([sys.executable, os.path.join(ROOT, name), *args], cwd=str(cwd), env=cluster.env,
                            capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError('{} exited {}:\n{}\n{}'.format(name, result.returncode, result.stdout, result.stderr))
    return result


def squeue_states(cluster, job_ids):
    """{job id: state} as the cluster sees it (finished jobs included)."""
    result = subprocess.run(['squeue', '--noheader', '--states=all', '--jobs=' + ','.join(job_ids),
                             '--format=%i %T'], env=cluster.env, capture_output=True, text=True, check=True)
    return dict(line.split() for line in result.stdout.splitlines())


def test_two_jobs_through_slurm_then_skipped_then_the_table(cluster, tmp_path, data_dir):
    # Spaces, quotes, '#', '%' and a command substitution in the parent folder's name: the job script
    # must name it exactly in its #SBATCH lines, and a shell must never run any of it.
    name = "lr search; $(touch pwned) #1 'q' 50%"
    make_parent(tmp_path / name, {'learning_rate': [1e-3, 1e-2], 'slurm': {'time': '0:10:00', 'cpus': 1}})

    result = script(cluster, 'search_hyperparams.py', '--parent_dir', name, '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', '--mem', '1500M', cwd=tmp_path)
    lines = result.stdout.splitlines()
    submitted = dict(re.match(r'^submitted (\S+) as Slurm job (\d+)$', line).groups() for line in lines[1:3])
    assert sorted(submitted) == ['learning_rate_0.001', 'learning_rate_0.01']
    finished = [FINISHED.match(line).groups() for line in lines[3:5]]
    assert sorted(finished) == sorted(
        (job, job_id, 'COMPLETED', os.path.join(name, job, 'slurm-{}.out'.format(job_id)))
        for job, job_id in submitted.items())
    assert 'Search in {}: 2 job(s): 2 trained.'.format(name) in lines
    assert squeue_states(cluster, list(submitted.values())) == {job_id: 'COMPLETED' for job_id in submitted.values()}

    metrics = {}
    for job, job_id in submitted.items():
        folder = tmp_path / name / job
        with open(str(folder / 'slurm-{}.out'.format(job_id))) as f:
            assert 'Epoch 1/1' in f.read()
        script_text = (folder / 'job.sbatch').read_text()
        assert '#SBATCH --time=0:10:00\n#SBATCH --cpus-per-task=1\n#SBATCH --mem=1500M\n' in script_text
        assert '#SBATCH --chdir="{}"\n'.format(tmp_path) in script_text
        assert (folder / 'slurm.jobid').read_text() == job_id + '\n'
        metrics[job] = read_json(str(folder / 'metrics_eval_best_weights.json'))
        assert metrics[job]['epoch'] == 1
    assert 'pwned' not in os.listdir(str(tmp_path)) + os.listdir(str(tmp_path / name)) + os.listdir(ROOT)

    again = script(cluster, 'search_hyperparams.py', '--parent_dir', name, '--data_dir', data_dir,
                   '--launcher', 'slurm', '--poll', '1', cwd=tmp_path)
    assert 'submitted' not in again.stdout
    assert 'Search in {}: 2 job(s): 0 trained, 2 skipped (already done).'.format(name) in again.stdout

    table = script(cluster, 'synthesize_results.py', '--parent_dir', name, cwd=tmp_path).stdout
    assert table.splitlines()[2:] == [
        '| {} | {} | {:.4f} | {:.4f} | 1 |'.format(job, job.split('_')[-1], metrics[job]['accuracy'],
                                                     metrics[job]['loss'])
        for job in sorted(metrics, key=lambda job: -metrics[job]['accuracy'])]


def test_a_failing_job_is_reported_with_its_slurm_state(cluster, tmp_path, data_dir):
    # image_size 40 passes the params checks, but train.py refuses it (not a multiple of 16).
    make_parent(tmp_path / 'size', {'image_size': [40]})
    result = script(cluster, 'search_hyperparams.py', '--parent_dir', 'size', '--data_dir', data_dir,
                    '--launcher', 'slurm', '--poll', '1', cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    job_id = re.search(r'submitted image_size_40 as Slurm job (\d+)', result.stdout).group(1)
    log = os.path.join('size', 'image_size_40', 'slurm-{}.out'.format(job_id))
    assert re.search(r'\[1/1\] image_size_40: Slurm job {} FAILED, exit status 2 after \d+s: Error: image_size in '
                     r'params.json must be a multiple of 16 .*\(log: {}\)'.format(job_id, re.escape(log)), result.stdout)
    assert 'Failed:\n  image_size_40: Slurm job {} FAILED, exit status 2 (log: {})\n'.format(job_id, log) in result.stdout
    assert squeue_states(cluster, [job_id]) == {job_id: 'FAILED'}


def test_ctrl_c_cancels_the_submitted_jobs_and_no_other(cluster, tmp_path, data_dir):
    # Someone else's job on the cluster, queued before the search: it must survive the Ctrl-C.
    other = subprocess.run(['sbatch', '--parsable', '--output=/dev/null', '--wrap', 'sleep 300'], env=cluster.env,
                           capture_output=True, text=True, check=True).stdout.strip()
    make_parent(tmp_path / 'long', {'num_epochs': [300, 301]})
    search = subprocess.Popen([sys.executable, os.path.join(ROOT, 'search_hyperparams.py'), '--parent_dir', 'long',
                               '--data_dir', data_dir, '--launcher', 'slurm', '--poll', '1'],
                              cwd=str(tmp_path), env=cluster.env, stdout=subprocess.PIPE, text=True)
    try:
        lines = read_until(search, lambda lines: len(lines) >= 3)
        ours = [re.match(r'^submitted \S+ as Slurm job (\d+)$', line).group(1) for line in lines[1:3]]
        # Wait until one of them trains (two CPUs: the other job and one of ours run, the last one waits).
        deadline = time.monotonic() + 60
        while 'RUNNING' not in squeue_states(cluster, ours).values():
            assert time.monotonic() < deadline
            time.sleep(0.5)
        search.send_signal(signal.SIGINT)
        output = ''.join(lines) + search.communicate(timeout=60)[0]
        assert search.returncode == 130, output
        for job, job_id in zip(('num_epochs_300', 'num_epochs_301'), ours):
            assert 'cancelled {}: Slurm job {} (log: {})'.format(
                job, job_id, os.path.join('long', job, 'slurm-{}.out'.format(job_id))) in output
        deadline = time.monotonic() + 30
        while set(squeue_states(cluster, ours).values()) != {'CANCELLED'}:
            assert time.monotonic() < deadline, squeue_states(cluster, ours)
            time.sleep(0.5)
        assert squeue_states(cluster, [other])[other] in ('RUNNING', 'PENDING')
        while processes_mentioning('long/num_epochs_30'):
            assert time.monotonic() < deadline, 'a cancelled job still runs'
            time.sleep(0.5)
    finally:
        search.kill()
        subprocess.run(['scancel', other], env=cluster.env)


def test_run_again_the_search_follows_the_jobs_it_had_submitted(cluster, tmp_path, data_dir):
    # The search dies (a dropped connection to the login node) while its jobs are queued: they go on,
    # and the same command run again follows them instead of submitting them a second time.
    make_parent(tmp_path / 'long', {'num_epochs': [300, 301]})
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
        assert lines[1:3] == ['following num_epochs_300: already Slurm job {}\n'.format(ours[0]),
                              'following num_epochs_301: already Slurm job {}\n'.format(ours[1])]
        second.send_signal(signal.SIGINT)
        output = second.communicate(timeout=60)[0]
        assert second.returncode == 130 and 'cancelled num_epochs_301: Slurm job {}'.format(ours[1]) in output
        deadline = time.monotonic() + 30
        while set(squeue_states(cluster, ours).values()) != {'CANCELLED'}:
            assert time.monotonic() < deadline, squeue_states(cluster, ours)
            time.sleep(0.5)
    finally:
        for search in (first, second):
            if search is not None:
                search.kill()
