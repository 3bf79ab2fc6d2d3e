"""Reading and writing the project's files safely: JSON with one-line errors, writes that never leave half a file."""
import json
import os
import tempfile

from model.core.errors import InputError


class _Refused(ValueError):
    """What read_json refuses in a file that is valid JSON to Python: the message names the culprit."""


def _no_duplicate_keys(pairs):
    keys = set()
    for key, _ in pairs:
        if key in keys:
            # Python keeps the last value of a key given twice, without a word: refuse instead.
            raise _Refused("the key '{}' is given twice in one object: keep one".format(key))
        keys.add(key)
    return dict(pairs)


def _no_special_numbers(name):
    # Python reads NaN, Infinity and -Infinity, which JSON itself does not allow: a learning rate of NaN
    # would pass for a number.
    raise _Refused("{} is not a JSON number: write a finite number".format(name))


def read_json(json_path, what='file'):
    """Load a JSON file, turning a missing file, a syntax error, a key given twice or a NaN into a one-line InputError."""
    try:
        with open(json_path, encoding='utf-8') as f:
            return json.load(f, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_special_numbers)
    except FileNotFoundError:
        raise InputError("No {} found at {}".format(what, json_path)) from None
    except UnicodeDecodeError as e:
        raise InputError("{} is not UTF-8 text (byte {}): save it as UTF-8".format(json_path, e.start)) from None
    except json.JSONDecodeError as e:
        raise InputError("{} is not valid JSON: {} at line {}, column {}".format(
            json_path, e.msg, e.lineno, e.colno)) from None
    except _Refused as e:
        raise InputError("{}: {}".format(json_path, e)) from None


def read_params_file(json_path):
    """The JSON object of a params.json, as a dict (anything else is an InputError)."""
    params = read_json(json_path, 'params file')
    if not isinstance(params, dict):
        raise InputError("{}: expected a JSON object of hyperparameters, got {}".format(
            json_path, type(params).__name__))
    return params


def save_dict_to_json(d, json_path):
    """Saves dict of numbers (or other JSON values) in json file, atomically.

    The file is written under a temporary name in the same folder and then renamed
    over `json_path`, so a crash (or a kill) midway never leaves half a file behind.

    Args:
        d: (dict) of values such as np.float32, int, float
        json_path: (string) path to json file
    """
    # numpy scalars (what sess.run returns) are not JSON serializable: .item() gives the Python number.
    d = {k: v.item() if hasattr(v, 'item') else v for k, v in d.items()}

    def write(f):
        json.dump(d, f, indent=4)
        f.write('\n')
    write_atomically(json_path, write)


def write_atomically(path, write, newline=None):
    """Call write(f) on a new text file that replaces `path` only once complete (no half file after a crash)."""
    write_all_atomically({path: write}, newline)


def write_all_atomically(writes, newline=None, binary=False):
    """For each {path: write} call write(f) on a new file (text, or bytes with `binary`); rename them all over
    their paths once all are written.

    A rename is atomic, and all the renames come after all the writing: an interrupted run
    never leaves half a file, and almost never a mix of old and new files.
    """
    written = {}
    try:
        for path, write in writes.items():
            fd, tmp_path = tempfile.mkstemp(prefix='.tmp-', suffix=os.path.splitext(path)[1],
                                            dir=os.path.dirname(os.path.abspath(path)))
            written[path] = tmp_path
            # mkstemp makes the file readable by its owner only; give it what open() would (a teammate,
            # TensorBoard or a server run by another user must be able to read it).
            os.chmod(tmp_path, 0o666 & ~current_umask())
            with (os.fdopen(fd, 'wb') if binary else os.fdopen(fd, 'w', encoding='utf-8', newline=newline)) as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        for path, tmp_path in written.items():
            os.replace(tmp_path, path)
    finally:
        for tmp_path in written.values():
            if os.path.exists(tmp_path):
                os.remove(tmp_path)


def check_writable(folder, fix):
    """Stop at once, in one line saying `fix`, if files cannot be made in `folder` (or in the folder it will be made in).

    Scripts call it before they work, so that a read-only experiment folder is said before
    an hour of training, not by a traceback when the first file is written.
    """
    target = os.path.abspath(folder)
    while not os.path.isdir(target) and os.path.dirname(target) != target:
        target = os.path.dirname(target)
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as e:
        raise InputError("{} cannot be written ({}): {}".format(target, e.strerror, fix)) from None


def check_output_dir(output_dir, splits, overwrite):
    """Refuse to write a data set over one already built (a split folder not empty), unless --overwrite.

    Shared by build_dataset.py and build_ner_dataset.py.
    """
    for split in splits:
        folder = os.path.join(output_dir, split)
        if os.path.isdir(folder) and os.listdir(folder) and not overwrite:
            raise InputError("{} already holds a dataset ({} is not empty): pass --overwrite to replace it, "
                             "or choose another --output_dir".format(output_dir, folder))


def current_umask():
    """The process's umask (reading it means setting it: set back at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask
