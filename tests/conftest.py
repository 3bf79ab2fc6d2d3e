"""Shared fixtures: a small synthetic dataset built once per test session, and tiny params."""
import os

import pytest

from helpers import script_args, write_params


@pytest.fixture(scope='session')
def raw_dir(tmp_path_factory):
    """A raw synthetic SIGNS set in the course's layout: 120 train and 30 test images of 96x96."""
    from vision.synthetic_signs import write_synthetic_signs
    path = str(tmp_path_factory.mktemp('raw') / 'SIGNS')
    write_synthetic_signs(path, num_train=120, num_test=30, size=96)
    return path


@pytest.fixture(scope='session')
def data_dir(raw_dir, tmp_path_factory):
    """The raw set built into train/dev/test splits of 64x64 images."""
    from build_dataset import build
    path = str(tmp_path_factory.mktemp('data') / '64x64_SIGNS')
    build(raw_dir, path, jobs=1)
    return path


@pytest.fixture(scope='session')
def trained(data_dir, tmp_path_factory):
    """A model trained in-process for two epochs with tiny params (shared: copy it before changing it)."""
    import train
    model_dir = str(tmp_path_factory.mktemp('trained') / 'model')
    write_params(model_dir)
    train.main(script_args(model_dir, data_dir))
    return model_dir


@pytest.fixture
def params(tmp_path):
    """Tiny Params, loaded from a params.json in a fresh folder."""
    from model.utils import Params
    params = Params(write_params(str(tmp_path / 'params')))
    params.train_size = 96  # what train.py sets from the data; the learning-rate schedule needs it
    params.train_steps = 6
    return params


# Tests that need something CI installs (the Slurm tests need slurm-wlm and munge, which .ci/run
# installs): a skip there on CI means the install failed, and must fail the run, not pass it quietly.
# A prefix: every Slurm test file, however the Slurm tests are split.
MUST_RUN_ON_CI = ('tests/test_search_slurm',)


# test.sh's two processes each take one file at a time, in this order (test.sh asks pytest-xdist not to
# reorder them). The longest files go first, so that neither process is left running one alone at the end:
# those named here (Slurm's time limits are whole minutes; the benchmark runs every part; then the files
# that run the scripts several times over), then the other files with a slow test, then the quick files.
LONGEST_FIRST = ('tests/test_search_slurm.py', 'tests/test_bench.py', 'tests/test_run_sh.py',
                 'tests/test_end_to_end.py', 'tests/test_interrupts.py', 'tests/test_resume.py',
                 'tests/test_hparams.py')


def pytest_collection_modifyitems(items):
    files_with_slow_tests = {item.nodeid.split('::')[0] for item in items if item.get_closest_marker('slow')}

    def rank(item):
        path = item.nodeid.split('::')[0]
        if path in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(path))
        return (1 if path in files_with_slow_tests else 2, 0)
    items.sort(key=rank)  # stable: each file keeps its own order, and the files theirs within a rank


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    on_ci = os.environ.get('CI', '').lower() in ('true', '1')
    if on_ci and report.skipped and item.nodeid.startswith(MUST_RUN_ON_CI):
        report.outcome = 'failed'
        report.longrepr = 'skipped on CI, where it must run: {}'.format(report.longrepr)
