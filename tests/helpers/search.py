"""What the search's test files share: a parent folder with its search.json, the scripts run from anywhere."""
import json
import os
import subprocess
import sys
import time

from helpers import ROOT, write_params


def write_search(parent_dir, search):
    """Write parent_dir/search.json: a dict as JSON, a string as it is (to write broken files)."""
    text = search if isinstance(search, str) else json.dumps(search)
    with open(os.path.join(str(parent_dir), 'search.json'), 'w') as f:
        f.write(text)


def make_parent(parent, search, **changes):
    """A search's parent folder: the tiny params (1 epoch unless `changes` say otherwise) and `search`."""
    write_params(str(parent), **dict({'num_epochs': 1}, **changes))
    write_search(parent, search)


def script(name, *args, cwd, check=True, env=None, timeout=600):
    """Run `python <repo>/name args...` from `cwd` (not the repository: the search must work from anywhere)."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, name), *args], cwd=str(cwd), env=env,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError('{} exited {}:\n{}\n{}'.format(name, result.returncode, result.stdout, result.stderr))
    return result


def start(name, *args, cwd, env=None):
    """`python <repo>/name args...` in the background from `cwd`, its output on a pipe (see read_until)."""
    return subprocess.Popen([sys.executable, os.path.join(ROOT, name), *args], cwd=str(cwd), env=env,
                            stdout=subprocess.PIPE, text=True)


def wait_for(ready, what, timeout=90, every=0.5):
    """ready()'s first true value, asked every `every` s; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        assert time.monotonic() < deadline, 'Timed out waiting for ' + what
        time.sleep(every)


def read_text(path):
    """The text of a file, '' if it is not there (yet)."""
    try:
        with open(str(path), errors='replace') as f:
            return f.read()
    except OSError:
        return ''
