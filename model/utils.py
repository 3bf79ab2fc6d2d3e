"""General utilities: hyperparameters (Params), logging, and JSON metrics files.

Nothing here imports TensorFlow, so scripts that only read files stay quick.
"""
import json
import logging
import os
import signal
import sys
import tempfile


class InputError(Exception):
    """A problem with the user's files or settings, which the user can fix.

    The scripts print its message as one line (no traceback) and exit with status 2.
    Each message names the file at fault and what to do about it.
    """


# Image files that build_dataset.py reads and the input pipeline decodes.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def label_from_name(filename):
    """The label written as the first character of a file's base name (`3_IMG_5021.jpg` is a 3), or None."""
    first = os.path.basename(filename)[:1]
    return int(first) if first.isdigit() and first.isascii() else None


# The hyperparameters a params.json may hold: name -> (type, default, what it is for).
# A default of REQUIRED means every params.json must set it.
REQUIRED = object()
PARAMS_SPEC = {
    'model_version': (str, 'baseline', "which network model_fn builds (see MODEL_VERSIONS in model/model_fn.py)"),
    'learning_rate': (float, REQUIRED, "Adam's step size"),
    'use_cosine_decay': (bool, False, "decay the learning rate to 0 along a cosine over num_epochs"),
    'batch_size': (int, REQUIRED, "images per training step"),
    'num_epochs': (int, REQUIRED, "total passes over the training set (a resumed run stops there too)"),
    'num_channels': (int, REQUIRED, "channels of the first conv block; later blocks use 2x, 4x, 8x"),
    'use_batch_norm': (bool, REQUIRED, "batch norm after every conv and hidden dense layer"),
    'bn_momentum': (float, REQUIRED, "momentum of the batch-norm moving averages"),
    'image_size': (int, REQUIRED, "images are resized to image_size x image_size"),
    'use_random_flip': (bool, REQUIRED, "random left-right flips of training images"),
    'num_labels': (int, REQUIRED, "number of classes"),
    'num_parallel_calls': (int, REQUIRED, "threads decoding and augmenting images in tf.data"),
    'save_summary_steps': (int, REQUIRED, "write training summaries every this many steps"),
    # Used by predict.py and export.py on new images:
    'dataset_image_size': (int, 64, "side of the images build_dataset.py wrote (its --size): "
                                    "new photos are resized to it first, as the training images were"),
    'class_names': (list, None, "the name of each label, in order, as predictions print it "
                                "(default: the label's digit, as in SIGNS)"),
    # Speed settings, measured in benchmarks/README.md. Only xla_jit changes the results (slightly).
    'cache_images': (bool, True, "decode the images once and keep them in memory (turn off if they do not fit in RAM)"),
    'intra_op_threads': (int, 0, "threads one op may use (Session config); 0: TensorFlow's choice, one per core"),
    'inter_op_threads': (int, 0, "ops that may run at once (Session config); 0: TensorFlow's choice, one per core"),
    'xla_jit': (bool, False, "XLA auto-clustering, for GPUs (on a CPU it also needs "
                             "TF_XLA_FLAGS=--tf_xla_cpu_global_jit, and was 2x slower)"),
}
# Keys where 0 is a meaningful value ("let TensorFlow choose") rather than a mistake.
ZERO_MEANS_DEFAULT = ('intra_op_threads', 'inter_op_threads')
# Keys the scripts add at run time (the sizes of the splits); not for params.json.
RUNTIME_KEYS = ('train_size', 'eval_size')


def check_param_value(key, value, json_path):
    """Raise InputError if `value` does not have the type and range PARAMS_SPEC asks for."""
    expected, default = PARAMS_SPEC[key][:2]
    if value is None and default is None:  # an optional key left unset (Params.save writes it as null)
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    # bool is a subclass of int in Python: `"batch_size": true` must not pass as 1.
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        hint = ' (remove the quotes)' if isinstance(value, str) and expected in (int, float, bool) else ''
        raise InputError("{}: '{}' must be {}, got {!r}{}".format(
            json_path, key, _TYPE_NAMES[expected], value, hint))
    if key in ZERO_MEANS_DEFAULT and value < 0:
        raise InputError("{}: '{}' must be 0 (TensorFlow chooses) or more, got {!r}".format(json_path, key, value))
    if expected in (int, float) and value <= 0 and key not in ZERO_MEANS_DEFAULT:
        raise InputError("{}: '{}' must be positive, got {!r}".format(json_path, key, value))
    if key == 'bn_momentum' and not value < 1:
        raise InputError("{}: 'bn_momentum' must be below 1, got {!r}".format(json_path, value))
    if key == 'class_names' and not all(isinstance(name, str) and name for name in value):
        raise InputError("{}: 'class_names' must be a list of non-empty strings, got {!r}".format(json_path, value))
    if key == 'num_labels' and value < 2:
        raise InputError("{}: 'num_labels' must be at least 2, got {!r}".format(json_path, value))
    return value


_TYPE_NAMES = {int: 'an integer', float: 'a number', bool: 'true or false', str: 'a string',
               list: 'a list'}


def read_json(json_path, what='file'):
    """Load a JSON file, turning a missing file or a syntax error into a one-line InputError."""
    try:
        with open(json_path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError("No {} found at {}".format(what, json_path)) from None
    except json.JSONDecodeError as e:
        raise InputError("{} is not valid JSON: {} at line {}, column {}".format(
            json_path, e.msg, e.lineno, e.colno)) from None


class Params():
    """Class that loads hyperparameters from a json file.

    Example:
    ```
    params = Params(json_path)
    print(params.learning_rate)
    params.learning_rate = 0.5  # change the value of learning_rate in params
    ```
    Every key is checked against PARAMS_SPEC: a missing or mistyped required key
    is an InputError naming it; an unknown key is logged as a warning, since it
    is most often a typo that would otherwise be silently ignored.
    """

    def __init__(self, json_path):
        for key, (_, default, _) in PARAMS_SPEC.items():
            if default is not REQUIRED:
                setattr(self, key, default)
        self.update(json_path)
        missing = [key for key, spec in PARAMS_SPEC.items()
                   if spec[1] is REQUIRED and key not in self.__dict__]
        if missing:
            raise InputError("{}: missing required key(s) {}; see experiments/base_model/params.json".format(
                json_path, ', '.join("'{}'".format(key) for key in missing)))

    def save(self, json_path):
        """Saves parameters to json file"""
        save_dict_to_json(self.__dict__, json_path)

    def update(self, json_path):
        """Loads parameters from json file"""
        params = read_json(json_path, 'params file')
        if not isinstance(params, dict):
            raise InputError("{}: expected a JSON object of hyperparameters, got {}".format(
                json_path, type(params).__name__))
        for key, value in params.items():
            if key in PARAMS_SPEC:
                value = check_param_value(key, value, json_path)
            elif key not in RUNTIME_KEYS:
                # A named logger: logging.warning() itself would add a second handler to the root
                # logger when none is set yet, and every later line would be printed twice.
                logging.getLogger(__name__).warning(
                    "%s: unknown key '%s' is not used by this code (a typo?)", json_path, key)
            self.__dict__[key] = value

    @property
    def dict(self):
        """Gives dict-like access to Params instance by `params.dict['learning_rate']`"""
        return self.__dict__


def load_params(model_dir, fix="pass the --model_dir you trained"):
    """The Params of the experiment in model_dir (its params.json); a missing file is an InputError saying `fix`."""
    json_path = os.path.join(model_dir, 'params.json')
    if not os.path.isfile(json_path):
        raise InputError("No params.json found at {}: {}".format(json_path, fix))
    return Params(json_path)


def class_names(params):
    """The name of each label, by index: params.class_names, or the digits '0' .. num_labels-1."""
    if params.class_names is None:
        return [str(label) for label in range(params.num_labels)]
    if len(params.class_names) != params.num_labels:
        raise InputError("params.json: 'class_names' lists {} names but 'num_labels' is {}: give one name "
                         "per label, in the order of the labels".format(len(params.class_names), params.num_labels))
    return list(params.class_names)


_HANDLER_TAG = '_starter_code_handler'


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
    for handler in [h for h in logger.handlers if getattr(h, _HANDLER_TAG, False)]:
        logger.removeHandler(handler)
        handler.close()

    # Logging to a file
    file_handler = logging.FileHandler(log_path, encoding='utf-8')
    file_handler.setFormatter(logging.Formatter('%(asctime)s:%(levelname)s: %(message)s'))
    # Logging to console
    stream_handler = logging.StreamHandler()
    stream_handler.setFormatter(logging.Formatter('%(message)s'))
    for handler in (file_handler, stream_handler):
        setattr(handler, _HANDLER_TAG, True)
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
    folder = os.path.dirname(os.path.abspath(json_path))
    fd, tmp_path = tempfile.mkstemp(prefix='.tmp-', suffix='.json', dir=folder)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(d, f, indent=4)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, json_path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def tf_error_reason(message):
    """The line of a TensorFlow error message that says what went wrong.

    Graph-mode messages are framed: 'Graph execution error:', where the op was defined,
    the reason, then '[[{{node ...}}]]' and often a stack trace. The reason is the line
    just before the first '[[' line (or the first line, for a message without framing).
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for before, line in zip(lines, lines[1:]):
        if line.startswith('[['):
            return before[:300]
    return (lines or ['unknown error'])[0][:300]


def run_script(main, args):
    """Run a script's main(args), turning the errors a user can act on into one clear message.

    An InputError becomes one line "Error: ..." and exit status 2. Ctrl-C (or SIGTERM
    during training, see model/interrupts.py) prints what the script says about it, no
    traceback, and exits with the status a shell gives a process stopped by that signal:
    130 for SIGINT, 143 for SIGTERM.
    """
    try:
        main(args)
    except InputError as e:
        _report('Error: {}'.format(e))
        raise SystemExit(2) from None
    except KeyboardInterrupt as e:
        _report(str(e) or 'Interrupted.')
        raise SystemExit(128 + getattr(e, 'signum', signal.SIGINT)) from None


def _report(message):
    """To the terminal, and to the run's log file once set_logger has set one."""
    if any(getattr(h, _HANDLER_TAG, False) for h in logging.getLogger().handlers):
        logging.error(message)
    else:
        print(message, file=sys.stderr)
