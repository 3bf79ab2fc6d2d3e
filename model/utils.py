"""General utilities: hyperparameters (Params), logging, and JSON files.

The same file serves both examples (as in the course, where utils.py was one file
copied in both). Nothing here imports TensorFlow, so scripts that only read files stay quick.
"""
import logging
import os

from model.core.errors import HANDLER_TAG, InputError

# save_dict_to_json: the tutorial's name, kept here for the scripts; written beside the other file writers.
from model.core.files import read_params_file, save_dict_to_json  # noqa: F401
from model.core.layout import PARAMS_FILE
from model.core.params import REQUIRED, RUNTIME_KEYS, check_value, example_name, params_spec


class Params():
    """Class that loads hyperparameters from a json file.

    Example:
    ```
    params = Params(json_path)
    print(params.learning_rate)
    params.learning_rate = 0.5  # change the value of learning_rate in params
    ```
    Every key is checked against the spec of its example (model/core/params.py and the
    example's PARAMS): a missing or mistyped required key is an InputError naming
    it; an unknown key is logged as a warning, since it is most often a typo that
    would otherwise be silently ignored.
    """

    def __init__(self, json_path, values=None):
        """Load json_path; or, given `values` (a dict, such as one setting of a search), check those
        as if they were that file."""
        if values is None:
            values = read_params_file(json_path)
        self._spec = params_spec(example_name(values, json_path), json_path)
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
        folder = 'ner/base_model' if self.example == 'ner' else 'base_model'
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
    in a permanent file. Here we save it to `model_dir/train.log`. Calling it again (tests
    do, in one process) replaces the handlers it added before.

    Example:
    ```
    logging.info("Starting training...")
    ```
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
