"""setup.sh: a Python the project cannot serve is refused in one line, before any venv or pip.

The README names Python 3.10 to 3.13. Any other interpreter must stop setup.sh at once with one
line that says why and what to do, never in pip's resolver output. The refused versions are
played by this test's own interpreter with another sys.version_info (set by a sitecustomize
module), so the check runs as it would on a real Python 3.9 or 3.14; the accepted ones are real
interpreters when the machine has them (.ci/run installs and tests each of them).
"""
import glob
import os
import stat
import subprocess
import sys

import pytest

from helpers import ROOT

SUPPORTED = ['3.10', '3.11', '3.12', '3.13']


def setup_sh(tmp_path, python, requirements='requirements.txt'):
    """Run setup.sh with PYTHON=python and its environment in tmp_path/venv."""
    env = dict(os.environ, PYTHON=str(python), VENV=str(tmp_path / 'venv'))
    return subprocess.run(['bash', os.path.join(ROOT, 'setup.sh'), requirements], env=env, capture_output=True,
                          text=True, timeout=600)


def executable(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def python_claiming(version_info, tmp_path):
    """A `python` that is this interpreter with sys.version_info replaced; it logs its arguments."""
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text('import sys\nsys.version_info = {!r}\n'.format(version_info))
    return executable(str(tmp_path / 'python'), '#!/bin/sh\necho "$@" >> "{log}"\nPYTHONPATH="{site}" exec "{real}" "$@"\n'
                      .format(log=tmp_path / 'calls.log', site=site, real=sys.executable))


def assert_refused_in_one_line(result, tmp_path, *words):
    assert result.returncode == 2, result
    assert result.stdout == ''
    assert result.stderr.count('\n') == 1 and result.stderr.startswith('Error: '), result.stderr
    for word in ('Python 3.10 to 3.13', 'PYTHON=') + words:
        assert word in result.stderr, (word, result.stderr)
    assert not (tmp_path / 'venv').exists()


@pytest.mark.parametrize('version_info', [(3, 9, 18, 'final', 0), (3, 14, 0, 'final', 0), (2, 7, 18, 'final', 0),
                                          (4, 10, 0, 'final', 0)])
def test_a_python_outside_3_10_to_3_13_is_refused_in_one_line_before_venv_and_pip(version_info, tmp_path):
    result = setup_sh(tmp_path, python_claiming(version_info, tmp_path))
    assert_refused_in_one_line(result, tmp_path, "is Python {}.{}".format(*version_info[:2]))
    # The interpreter was only asked for its version: no `-m venv`, no `-m pip`.
    calls = (tmp_path / 'calls.log').read_text().splitlines()
    assert calls and not [call for call in calls if call.startswith('-m')], calls


def test_a_missing_or_broken_interpreter_is_refused_in_one_line(tmp_path):
    result = setup_sh(tmp_path, tmp_path / 'no-such-python3.10')
    assert_refused_in_one_line(result, tmp_path, 'no-such-python3.10', 'not found')
    # What a pyenv shim does for a version that is installed but not selected.
    shim = executable(str(tmp_path / 'python3.10'),
                      '#!/bin/sh\necho "pyenv: python3.10: command not found" >&2\nexit 127\n')
    result = setup_sh(tmp_path, shim)
    assert_refused_in_one_line(result, tmp_path, shim, 'did not run', 'pyenv: python3.10: command not found')


def find_python(version):
    """An interpreter of this Python version that runs (on PATH or under pyenv), or None."""
    root = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    candidates = ['python' + version] + sorted(glob.glob(os.path.join(root, 'versions', version + '.*', 'bin',
                                                                      'python' + version)))
    for candidate in candidates:
        try:
            if subprocess.run([candidate, '-c', ''], capture_output=True, timeout=60).returncode == 0:
                return candidate
        except OSError:
            pass
    return None


@pytest.mark.slow
@pytest.mark.parametrize('version', SUPPORTED)
def test_every_python_the_readme_names_is_accepted(version, tmp_path):
    """The real interpreter gets its venv (an empty requirements file: no download here)."""
    python = find_python(version)
    if python is None:
        pytest.skip('no Python {} on this machine (.ci/run fails without it)'.format(version))
    requirements = tmp_path / 'nothing.txt'
    requirements.write_text('')
    result = setup_sh(tmp_path, python, str(requirements))
    assert result.returncode == 0, result.stderr
    assert 'Creating the virtual environment {}/ with Python {}'.format(tmp_path / 'venv', version) in result.stdout
    venv_python = str(tmp_path / 'venv' / 'bin' / 'python')
    assert subprocess.run([venv_python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                          capture_output=True, text=True).stdout.strip() == version
    assert os.path.exists(tmp_path / 'venv' / 'installed-nothing.txt.sha')
