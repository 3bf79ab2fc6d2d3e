"""General utilities: hyperparameters (Params), logging, and JSON files.

The same file serves both examples (as in the course, where utils.py was one file
copied in both). Nothing here imports TensorFlow, so scripts that only read files stay quick.
"""
import json
import logging
import os
import tempfile

from model.errors import HANDLER_TAG, InputError
from model.layout import PARAMS_FILE
from model.params import REQUIRED, RUNTIME_KEYS, check_value


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


class Params():
    """Class that loads hyperparameters from a json file.

    Example:
    ```
    params = Params(json_path)
    print(params.learning_rate)
    params.learning_rate = 0.5  # change the value of learning_rate in params
    ```
    Every key is checked against the spec of its example (model/params.py and the
    example's PARAMS): a missing or mistyped required key is an InputError naming
    it; an unknown key is logged as a warning, since it is most often a typo that
    would otherwise be silently ignored.
    """

    def __init__(self, json_path, values=None):
        """Load json_path; or, given `values` (a dict, such as one setting of a search), check those
        as if they were that file."""
        from model.examples import params_spec  # the spec depends on the example the file names
        if values is None:
            values = read_params_file(json_path)
        self._spec = params_spec(values.get('example', 'vision'), json_path)
        for key, key_spec in self._spec.items():
            if key_spec.default is not REQUIRED:
                setattr(self, key, key_spec.default)
        self._set(values, json_path)
        missing = [key for key, key_spec in self._spec.items()
                   if key_spec.default is REQUIRED and key not in self.__dict__]
        if missing:
            raise InputError("{}: missing required key(s) {}; see {}".format(
                json_path, ', '.join("'{}'".format(key) for key in missing), self.example_params()))

    def example_params(self):
        """The shipped params.json of this experiment's example, to copy from."""
        folder = 'ner/base_model' if getattr(self, 'example', 'vision') == 'ner' else 'base_model'
        return os.path.join('experiments', folder, PARAMS_FILE)

    def save(self, json_path):
        """Saves parameters to json file"""
        save_dict_to_json(self.dict, json_path)

    def update(self, json_path):
        """Loads parameters from json file"""
        self._set(read_params_file(json_path), json_path)

    def _set(self, values, json_path):
        for key, value in values.items():
            if key in self._spec:
                value = check_value(key, value, self._spec[key], json_path)
            elif key not in RUNTIME_KEYS:
                # A named logger: logging.warning() itself would add a second handler to the root
                # logger when none is set yet, and every later line would be printed twice.
                logging.getLogger(__name__).warning(
                    "%s: unknown key '%s' is not used by this code (a typo?)", json_path, key)
            self.__dict__[key] = value

    @property
    def dict(self):
        """Gives dict-like access to Params instance by `params.dict['learning_rate']`"""
        return {key: value for key, value in self.__dict__.items() if not key.startswith('_')}


def load_params(model_dir, fix="pass the --model_dir you trained"):
    """The Params of the experiment in model_dir (its params.json); a missing file is an InputError saying `fix`."""
    json_path = os.path.join(model_dir, PARAMS_FILE)
    if not os.path.isfile(json_path):
        raise InputError("No params.json found at {}: {}".format(json_path, fix))
    return Params(json_path)


def set_logger(log_path):
    """Set the logger to log info in terminal and file `log_path`.

    In general, it is useful to have a logger so that every output to the terminal is saved
    in a permanent file. Here we save it to `model_dir/train.log`.

    Example:
    ```
    logging.info("Starting training...")
    ```

    Calling it again (tests do, in one process) replaces the handlers it added before.

    Args:
        log_path: (string) where to log
    """
    logger = logging.getLogger()
    logger.setLevel(logging.INFO)
    for handler in [h for h in logger.handlers if getattr(h, HANDLER_TAG, False)]:
        logger.removeHandler(handler)
        handler.close()

    # Logging to a file
    file_handler = logging.FileHandler(log_path, encoding='utf-8')
    file_handler.setFormatter(logging.Formatter('%(asctime)s:%(levelname)s: %(message)s'))
    # Logging to console
    stream_handler = logging.StreamHandler()
    stream_handler.setFormatter(logging.Formatter('%(message)s'))
    for handler in (file_handler, stream_handler):
        setattr(handler, HANDLER_TAG, True)
        logger.addHandler(handler)


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
