"""The hyperparameters a params.json may hold: one spec per key, and the checks it implies.

The keys every example shares are here (CORE_PARAMS); each example adds its own
(VISION_PARAMS in model/vision.py, NER_PARAMS in ner/example.py). A spec says the
type, the default, what the key is for and its range: the checks are read from it,
so a new key needs one line, not a new rule. Nothing here imports TensorFlow.
"""
from collections import namedtuple

from model.errors import InputError

# The course's seed: the graph's random ops, the shuffles and augmentations, the train/dev split.
SEED = 230

# A default of REQUIRED means every params.json must set the key; None, that it is optional.
REQUIRED = object()


class Spec(namedtuple('Spec', 'type default help minimum below items')):
    """type; default; what the key is for; the smallest value allowed (None: any positive
    number); a value the key must stay below (None: no bound); for a list, its items' type."""


def spec(type_, default, help_, minimum=None, below=None, items=None):
    return Spec(type_, default, help_, minimum, below, items)


CORE_PARAMS = {
    'example': spec(str, 'vision', "which example this experiment is: 'vision' (SIGNS images) or 'ner' "
                                   "(named-entity recognition); see model/examples.py"),
    'model_version': spec(str, REQUIRED, "which network model_fn builds (see MODEL_VERSIONS in the example's "
                                         "model_fn.py)"),
    'learning_rate': spec(float, REQUIRED, "Adam's step size"),
    'use_cosine_decay': spec(bool, False, "decay the learning rate to 0 along a cosine over num_epochs"),
    'batch_size': spec(int, REQUIRED, "examples per training step"),
    'num_epochs': spec(int, REQUIRED, "total passes over the training set (a resumed run stops there too)"),
    'save_summary_steps': spec(int, REQUIRED, "write training summaries every this many steps"),
    # Speed settings (see benchmarks/README.md). Only xla_jit changes the results (slightly).
    'intra_op_threads': spec(int, 0, "threads one op may use (Session config); 0: TensorFlow's choice",
                             minimum=0),
    'inter_op_threads': spec(int, 0, "ops that may run at once (Session config); 0: TensorFlow's choice",
                             minimum=0),
    'xla_jit': spec(bool, False, "XLA auto-clustering, for GPUs (see benchmarks/README.md)"),
    # Default: half the memory available at start (see model/memory.py); 0: never keep a split in memory.
    'cache_budget_mb': spec(float, None, "MB one split may take in memory once prepared (the decoded images, the "
                                         "prepared sentences); above it, it is prepared again every epoch", minimum=0),
}

# Keys the scripts add at run time (the sizes of the splits, their batches per epoch); not for params.json.
RUNTIME_KEYS = ('train_size', 'eval_size', 'train_steps', 'eval_steps')

_TYPE_NAMES = {int: 'an integer', float: 'a number', bool: 'true or false', str: 'a string', list: 'a list'}


def check_value(key, value, key_spec, json_path):
    """The value of `key`, checked against its Spec (an int given for a float becomes a float).

    Raises InputError naming json_path and the key when the type or the range is wrong.
    """
    if value is None and key_spec.default is None:  # an optional key left unset (Params.save writes null)
        return value
    expected = key_spec.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    # bool is a subclass of int in Python: `"batch_size": true` must not pass as 1.
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        hint = ' (remove the quotes)' if isinstance(value, str) and expected in (int, float, bool) else ''
        raise InputError("{}: '{}' must be {}, got {!r}{}".format(
            json_path, key, _TYPE_NAMES[expected], value, hint))
    if expected in (int, float):
        if key_spec.minimum is None and value <= 0:
            raise InputError("{}: '{}' must be positive, got {!r}".format(json_path, key, value))
        if key_spec.minimum is not None and value < key_spec.minimum:
            raise InputError("{}: '{}' must be at least {}, got {!r}".format(json_path, key, key_spec.minimum, value))
        if key_spec.below is not None and not value < key_spec.below:
            raise InputError("{}: '{}' must be below {}, got {!r}".format(json_path, key, key_spec.below, value))
    if expected is str and not value:
        raise InputError("{}: '{}' must not be empty".format(json_path, key))
    if key_spec.items is not None and not all(isinstance(item, key_spec.items) and item for item in value):
        raise InputError("{}: '{}' must be a list of non-empty {}, got {!r}".format(
            json_path, key, {str: 'strings'}.get(key_spec.items, key_spec.items.__name__), value))
    return value
