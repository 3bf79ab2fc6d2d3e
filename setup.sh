#!/usr/bin/env bash
# Create the virtual environment .venv/ and install a requirements file into it.
# Used by run.sh and test.sh; pip runs again only when the requirements files change.
# Usage: bash setup.sh requirements.txt     (PYTHON=python3.12 bash setup.sh ... picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")"
requirements=${1:-requirements.txt}
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
    echo "Error: TensorFlow 2.21 needs Python 3.10 to 3.13; '$python' is $("$python" --version 2>&1)." \
         "Run with PYTHON=/path/to/python3.11 bash $0" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment .venv/ with $("$python" --version)"
    "$python" -m venv .venv
fi
stamp=.venv/installed-$(basename "$requirements").sha
wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "Installing $requirements into .venv/ (TensorFlow is large: about a minute)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi
