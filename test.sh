#!/usr/bin/env bash
# Set up .venv/ with the test requirements and run the whole test suite (about 8 minutes on 2 cores).
# Extra arguments go to pytest: bash test.sh -m "not slow" for the quick tests only; -n 0 for one process.
# Two processes (pytest-xdist), each given whole test files: many slow tests wait on other processes
# (scripts, Slurm), and a file's tests share what its fixtures built.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh requirements-test.txt
exec .venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder "$@"
