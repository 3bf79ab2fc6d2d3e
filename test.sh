#!/usr/bin/env bash
# Set up .venv/ with the test requirements and run the whole test suite (about 25 minutes on 2 cores).
# Extra arguments go to pytest: bash test.sh -m "not slow" for the quick tests only.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh requirements-test.txt
exec .venv/bin/python -m pytest "$@"
