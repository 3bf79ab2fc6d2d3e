"""What the test files share: the repository's paths, tiny params, and running the scripts as a user would."""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_PARAMS = os.path.join(ROOT, 'experiments', 'base_model', 'params.json')

# Small enough that an epoch takes about a second on two cores.
TINY = {'num_channels': 4, 'batch_size': 16, 'num_epochs': 2, 'image_size': 32, 'num_parallel_calls': 2}
# 96 training images (conftest's data_dir) in TINY's batches of 16.
STEPS_PER_EPOCH = 6


def script_args(model_dir, data_dir=None, restore_from=None, **more):
    """The arguments of train.py or evaluate.py (and predict.py, export.py with `more`), as argparse gives them."""
    return argparse.Namespace(model_dir=model_dir, data_dir=data_dir, restore_from=restore_from, **more)


def write_params(model_dir, **changes):
    """Write model_dir/params.json: the base model's params with TINY and `changes` applied."""
    with open(BASE_PARAMS) as f:
        params = json.load(f)
    params.update(TINY)
    params.update(changes)
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, 'params.json'), 'w') as f:
        json.dump(params, f, indent=4)
    return os.path.join(model_dir, 'params.json')


def run(*args, check=True, **kwargs):
    """Run `python args...` from the repository root, as a user would; returns the CompletedProcess."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("{} exited {}:\n{}\n{}".format(args, result.returncode, result.stdout, result.stderr))
    return result


def read_json(path):
    with open(path) as f:
        return json.load(f)


def listing(folder):
    return sorted(os.listdir(folder))


def contents(folder):
    """{relative path: bytes} of every file under folder."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


def truncate(path, fraction=0.5):
    with open(path, 'r+b') as f:
        f.truncate(int(os.path.getsize(path) * fraction))


def with_extra_file(data_dir, tmp_path, split, name, data):
    """A copy of data_dir with one more file, `name` holding `data` (bytes), in `split`."""
    copy = shutil.copytree(data_dir, str(tmp_path / 'data'))
    with open(os.path.join(copy, split, name), 'wb') as f:
        f.write(data)
    return copy


def copy_of(model_dir, tmp_path):
    """A copy of an experiment folder to change (tmp_path/model)."""
    return shutil.copytree(model_dir, str(tmp_path / 'model'))


def drain(sess, fetches):
    """The values of `fetches` for every batch up to the end of the pipeline (its iterator initialized)."""
    from model.core.tf_compat import tf
    batches = []
    while True:
        try:
            batches.append(sess.run(fetches))
        except tf.errors.OutOfRangeError:
            return batches
