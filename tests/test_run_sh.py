"""run.sh as a user runs it, in a copy of the repository: trained, stopped by Ctrl-C, run again to resume,
run a third time to evaluate only; and stopped when photos arrive after a run on a synthetic set. Tiny params
and a tiny set of photos in data/SIGNS, as a user's own.

The copy gets a virtual environment that sees the packages of the one running the tests, so that
setup.sh finds everything installed (it installs nothing, and never into the environment it sees).
"""
import os
import platform
import shutil
import signal
import site
import subprocess
import sys
import time

import pytest

from helpers import ROOT, read_json, write_params
from helpers.training import assert_same_training
from search.grid import saved_epoch

pytestmark = pytest.mark.slow


def copy_of_the_repository(destination):
    """The files git tracks, as they are in the working tree (what a fresh clone of them would hold)."""
    listed = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split('\0')):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):  # a tracked file deleted in the working tree is left out
            os.makedirs(os.path.dirname(os.path.join(destination, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(destination, name))
    return destination


def environment_seeing_ours(venv):
    """A virtual environment at `venv` whose packages are those of the running one (a .pth file names them)."""
    base = os.path.realpath(getattr(sys, '_base_executable', sys.executable))
    os.makedirs(os.path.join(venv, 'bin'))
    os.symlink(base, os.path.join(venv, 'bin', 'python'))
    with open(os.path.join(venv, 'pyvenv.cfg'), 'w') as f:
        f.write('home = {}\ninclude-system-site-packages = false\nversion = {}\n'.format(
            os.path.dirname(base), platform.python_version()))
    site_packages = os.path.join(venv, 'lib', 'python{}.{}'.format(*sys.version_info[:2]), 'site-packages')
    os.makedirs(site_packages)
    with open(os.path.join(site_packages, 'packages_of_the_tests.pth'), 'w') as f:
        f.write('\n'.join(site.getsitepackages()) + '\n')
    return base


def run_sh(repo, base_python):
    """Start `bash run.sh` in repo, in its own process group (as a terminal runs it), output to a pipe."""
    env = dict(os.environ, PYTHON=base_python)
    return subprocess.Popen(['bash', 'run.sh'], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def finish(process, timeout=600):
    try:
        return process.communicate(timeout=timeout)[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def contents(folder):
    files = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            files[name] = f.read()
    return files


def test_run_sh_resumes_after_ctrl_c_then_only_evaluates_once_trained(raw_dir, trained, tmp_path):
    repo = copy_of_the_repository(str(tmp_path / 'repo'))
    base_python = environment_seeing_ours(os.path.join(repo, '.venv'))
    shutil.copytree(raw_dir, os.path.join(repo, 'data', 'SIGNS'))  # the photos: train_signs/, test_signs/
    model_dir = os.path.join(repo, 'experiments', 'base_model')
    write_params(model_dir)  # the trained fixture's params: 2 epochs, tiny

    # 1. Set up, build the data set from the photos, train; Ctrl-C once epoch 1 is saved.
    process = run_sh(repo, base_python)
    try:
        deadline = time.monotonic() + 600
        while saved_epoch(model_dir) < 1:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, 'no epoch saved within 600 s'
            time.sleep(0.002)
        os.killpg(process.pid, signal.SIGINT)
    finally:
        first = finish(process)
    assert process.returncode == 130, first
    assert 'Stopped by SIGINT: the last finished epoch is 1 ' in first
    assert os.path.isdir(os.path.join(repo, 'data', '64x64_SIGNS', 'dev_signs'))
    assert not os.path.exists(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    # setup.sh found every requirement installed: nothing went into the copy's environment.
    assert os.listdir(os.path.join(repo, '.venv', 'lib', 'python{}.{}'.format(*sys.version_info[:2]),
                                   'site-packages')) == ['packages_of_the_tests.pth']

    # 2. The same command again: resumes at epoch 2, then evaluates on the test split.
    process = run_sh(repo, base_python)
    second = finish(process)
    assert process.returncode == 0, second
    assert 'experiments/base_model stopped after epoch 1 of 2: resuming' in second
    assert 'Epoch 2/2' in second and 'Epoch 1/2' not in second
    assert 'Test metrics:        experiments/base_model/metrics_test_best_weights.json' in second
    # The data set built by run.sh is the conftest's, and the run is the uninterrupted one, to the bit.
    assert_same_training(model_dir, trained)
    test_metrics = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))

    # 3. Once more: already trained, so it only evaluates again; no weight changes.
    weights = {folder: contents(os.path.join(model_dir, folder)) for folder in ('last_weights', 'best_weights')}
    os.remove(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    process = run_sh(repo, base_python)
    third = finish(process)
    assert process.returncode == 0, third
    assert ('experiments/base_model is already trained: evaluating it again (delete its last_weights/ and '
            'best_weights/ to retrain)') in third
    assert 'Epoch' not in third and 'Done building dataset' not in third
    assert {folder: contents(os.path.join(model_dir, folder)) for folder in weights} == weights
    assert read_json(os.path.join(model_dir, 'metrics_test_best_weights.json')) == test_metrics


def test_run_sh_stops_when_photos_arrive_after_a_synthetic_run(raw_dir, data_dir, trained, tmp_path):
    """Weights trained on a synthetic set, then photos in data/SIGNS: run.sh builds the data set again from the
    photos, and stops rather than go on training (or evaluating) the synthetic set's weights on them."""
    repo = copy_of_the_repository(str(tmp_path / 'repo'))
    base_python = environment_seeing_ours(os.path.join(repo, '.venv'))
    built = os.path.join(repo, 'data', '64x64_SIGNS')
    shutil.copytree(data_dir, built)  # built from the synthetic raw_dir, as its source.json says
    model_dir = os.path.join(repo, 'experiments', 'base_model')
    shutil.copytree(trained, model_dir, dirs_exist_ok=True)  # trained on it: its dataset.json says so
    photos = shutil.copytree(raw_dir, os.path.join(repo, 'data', 'SIGNS'))
    weights = {folder: contents(os.path.join(model_dir, folder)) for folder in ('last_weights', 'best_weights')}

    process = run_sh(repo, base_python)
    output = finish(process)
    assert process.returncode == 2, output
    assert 'data/64x64_SIGNS was built from {}, not from data/SIGNS: building it again from data/SIGNS'.format(
        os.path.abspath(raw_dir)) in output
    assert read_json(os.path.join(built, 'source.json'))['source'] == photos
    assert ('Error: experiments/base_model holds weights trained on the data set built from {}, and '
            'data/64x64_SIGNS is now built from {}.'.format(os.path.abspath(raw_dir), photos)) in output
    assert 'Epoch' not in output and 'Test metrics' not in output
    assert {folder: contents(os.path.join(model_dir, folder)) for folder in weights} == weights
    assert not os.path.exists(os.path.join(model_dir, 'metrics_test_best_weights.json'))
