"""Reading and writing the project's files safely: JSON with one-line errors, writes that never leave half a file."""
import json
import os
import tempfile

from model.core.errors import InputError


def read_json(json_path, what='file'):
    """Load a JSON file, turning a missing file or a syntax error into a one-line InputError."""
    try:
        with open(json_path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError("No {} found at {}".format(what, json_path)) from None
    except UnicodeDecodeError as e:
        raise InputError("{} is not UTF-8 text (byte {}): save it as UTF-8".format(json_path, e.start)) from None
    except json.JSONDecodeError as e:
        raise InputError("{} is not valid JSON: {} at line {}, column {}".format(
            json_path, e.msg, e.lineno, e.colno)) from None


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
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix='.tmp-', suffix=os.path.splitext(path)[1], dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline=newline) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def check_output_dir(output_dir, splits, overwrite):
    """Refuse to write a data set over one already built (a split folder not empty), unless --overwrite.

    Shared by build_dataset.py and build_ner_dataset.py.
    """
    for split in splits:
        folder = os.path.join(output_dir, split)
        if os.path.isdir(folder) and os.listdir(folder) and not overwrite:
            raise InputError("{} already holds a dataset ({} is not empty): pass --overwrite to replace it, "
                             "or choose another --output_dir".format(output_dir, folder))
