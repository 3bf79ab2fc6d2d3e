#!/usr/bin/env bash
# Create the virtual environment .venv/ and install a requirements file into it.
# Used by run.sh and test.sh; pip runs again only when the requirements files change.
# Usage: bash setup.sh requirements.txt     (PYTHON=python3.12 bash setup.sh ... picks the interpreter;
#                                            VENV=dir puts the environment elsewhere, as .ci/run does)
set -euo pipefail
cd "$(dirname "$0")"
requirements=${1:-requirements.txt}
python=${PYTHON:-python3}
venv=${VENV:-.venv}

# The Pythons TensorFlow 2.21 has wheels for, and so the ones requirements.txt installs on (each is
# tested by .ci/run). Any other is refused here, in one line, before pip could fail on it at length.
min_minor=10
max_minor=13
supported="Python 3.$min_minor to 3.$max_minor"
if ! command -v "$python" >/dev/null; then
    echo "Error: '$python' not found: this project needs $supported; install one and run with" \
         "PYTHON=/path/to/python3.12 before the command." >&2
    exit 2
fi
if ! version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    echo "Error: '$python' did not run ($("$python" -c '' 2>&1 | head -n 1)): this project needs $supported;" \
         "install one and run with PYTHON=/path/to/python3.12 before the command." >&2
    exit 2
fi
if [[ ! "$version" =~ ^3\.([0-9]+)$ ]] || (( BASH_REMATCH[1] < min_minor || BASH_REMATCH[1] > max_minor )); then
    echo "Error: '$python' is Python $version, and TensorFlow 2.21 needs $supported:" \
         "install one and run with PYTHON=/path/to/python3.12 before the command." >&2
    exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "Creating the virtual environment $venv/ with Python $version"
    "$python" -m venv "$venv"
fi
stamp=$venv/installed-$(basename "$requirements").sha
wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "Installing $requirements into $venv/ (TensorFlow is large: about a minute)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" > "$stamp"
fi
