"""ruff check (ruff.toml: pyflakes, syntax errors, bugbear, import order) finds nothing in the tree."""
import os
import shutil
import subprocess
import sys

from helpers import ROOT


def ruff():
    """ruff from this environment (test requirements), else from the PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), 'ruff')
    return beside if os.path.exists(beside) else shutil.which('ruff')


def test_ruff_finds_nothing():
    assert ruff(), "ruff is not installed: bash test.sh installs requirements-test.txt"
    result = subprocess.run([ruff(), 'check', '--no-cache', '.'], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, "ruff check found problems (fix: ruff check --fix):\n" + result.stdout
