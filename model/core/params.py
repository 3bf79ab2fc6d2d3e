"""The hyperparameters a params.json may hold: one spec per key, and the checks it implies.

Every key of every example is here, once: the keys both examples share (CORE_PARAMS),
then each example's own (VISION_PARAMS, NER_PARAMS), with the dev metric that picks an
example's best weights. A spec says the type, the default, what the key is for and its
range: the checks are read from it, so a new key needs one line, not a new rule.
Nothing here imports TensorFlow, or the examples' code.
"""
from collections import namedtuple

from model.core.errors import InputError

# The course's seed: the graph's random ops, the shuffles and augmentations, the train/dev split.
SEED = 230

# The example of a params.json that names none (the course's first).
DEFAULT_EXAMPLE = 'vision'

# A default of REQUIRED means every params.json must set the key; None, that it is optional.
REQUIRED = object()


class Spec(namedtuple('Spec', 'type default help minimum below items trained')):
    """type; default; what the key is for; the smallest value allowed (None: any positive
    number); a value the key must stay below (None: no bound); for a list, its items' type;
    `trained`: the weights are trained for this value, but their variables do not show it
    (it changes what the graph computes, not its shapes), so it is recorded at training and
    checked when the weights are used again (model/core/provenance.py)."""


def spec(type_, default, help_, minimum=None, below=None, items=None, trained=False):
    return Spec(type_, default, help_, minimum, below, items, trained)


CORE_PARAMS = {
    'example': spec(str, DEFAULT_EXAMPLE, "which example this experiment is: 'vision' (SIGNS images) or 'ner' "
                                   "(named-entity recognition); see examples.py"),
    'model_version': spec(str, REQUIRED, "which network model_fn builds (see MODEL_VERSIONS in the example's "
                                         "model_fn.py)"),
    'learning_rate': spec(float, REQUIRED, "Adam's step size"),
    'use_cosine_decay': spec(bool, False, "decay the learning rate to 0 along a cosine over num_epochs"),
    'batch_size': spec(int, REQUIRED, "examples per training step"),
    'num_epochs': spec(int, REQUIRED, "total passes over the training set (a resumed run stops there too)"),
    'save_summary_steps': spec(int, REQUIRED, "write training summaries every this many steps"),
    'seed': spec(int, SEED, "the seed of every random draw of training (initial weights, shuffles, augmentation, "
                            "dropout): a search over several seeds shows a setting's spread", minimum=0),
    # Speed settings (see benchmarks/README.md). Only xla_jit changes the results (slightly).
    'intra_op_threads': spec(int, 0, "threads one op may use (Session config); 0: TensorFlow's choice",
                             minimum=0),
    'inter_op_threads': spec(int, 0, "ops that may run at once (Session config); 0: TensorFlow's choice",
                             minimum=0),
    'xla_jit': spec(bool, False, "XLA auto-clustering, for GPUs (see benchmarks/README.md)"),
    # Default: half the memory available at start (see model/core/memory.py); 0: never keep a split in memory.
    'cache_budget_mb': spec(float, None, "MB one split may take in memory once prepared (the decoded images, the "
                                         "prepared sentences); above it, it is prepared again every epoch", minimum=0),
}

VISION_PARAMS = {
    'model_version': spec(str, 'baseline', "which network model_fn builds (see MODEL_VERSIONS in model/model_fn.py)"),
    'num_channels': spec(int, REQUIRED, "channels of the first conv block; later blocks use 2x, 4x, 8x"),
    'use_batch_norm': spec(bool, REQUIRED, "batch norm after every conv and hidden dense layer"),
    'bn_momentum': spec(float, REQUIRED, "momentum of the batch-norm moving averages", below=1),
    'image_size': spec(int, REQUIRED, "images are resized to image_size x image_size"),
    'use_random_flip': spec(bool, REQUIRED, "random left-right flips of training images"),
    'num_parallel_calls': spec(int, REQUIRED, "threads decoding and augmenting images in tf.data"),
    'num_labels': spec(int, REQUIRED, "number of classes", minimum=2),
    # Used by predict.py and export.py on new images:
    'dataset_image_size': spec(int, 64, "side of the images build_dataset.py wrote (its --size): "
                                        "new photos are resized to it first, as the training images were"),
    'class_names': spec(list, None, "the name of each label, in order, as predictions print it "
                                    "(default: the label's digit, as in SIGNS)", items=str),
    'cache_images': spec(bool, True, "decode the images once and keep them in memory "
                                     "(when they fit in cache_budget_mb; false: always read the files)"),
}

NER_PARAMS = {
    'model_version': spec(str, 'bilstm_char_crf', "which network model_fn builds: 'lstm' (the course's), "
                                                  "'bilstm_char' or 'bilstm_char_crf' (see ner/network.py)"),
    'embedding_size': spec(int, 100, "size of the word embeddings (trained from scratch, or the dimension of the "
                                     "pretrained vectors with word_vectors)"),
    'word_vectors': spec(bool, False, "start the word embeddings from the pretrained vectors build_vocab.py "
                                      "--vectors wrote (embeddings.npy beside words.txt)"),
    # Recorded: resuming with the other value would look for (or leave) the optimizer's slots of the embeddings.
    'word_vectors_trainable': spec(bool, False, "with word_vectors: train the pretrained embeddings further "
                                                "(false: keep them frozen, as tf_ner does)", trained=True),
    'lstm_num_units': spec(int, 100, "LSTM units (per direction for the bidirectional LSTM)"),
    'char_embedding_size': spec(int, 30, "size of the character embeddings fed to the character CNN"),
    'char_filters': spec(int, 50, "filters of the character CNN: size of a word's character feature"),
    'char_kernel_size': spec(int, 3, "width in characters of the character CNN's filters"),
    'max_word_length': spec(int, 20, "characters kept per word (the start of longer words) for the CNN",
                            trained=True),
    'casing_embedding_size': spec(int, 8, "size of the embedding of a word's casing class"),
    'dropout_rate': spec(float, 0.5, "dropout on the BiLSTM's input features and on its outputs", minimum=0, below=1),
    'word_dropout': spec(float, 0.15, "training only: chance that a word is replaced by the unknown word, so "
                                      "that its embedding is trained too", minimum=0, below=1),
    'clip_gradients': spec(float, 5.0, "clip the gradients to this global norm (0: no clipping)", minimum=0),
    'ema_decay': spec(float, 0.0, "decay of an exponential moving average of the weights, which evaluation, the "
                                  "best weights, predict and export then use (0: the weights as trained)",
                      minimum=0, below=1),
}

# The examples by name (examples.py has their code), with what the shared code needs to know of each.
EXAMPLE_PARAMS = {'vision': VISION_PARAMS, 'ner': NER_PARAMS}
# The dev metric that picks best_weights/ (higher is better), and every number of a metrics file
# (besides 'epoch'), the best metric first: the columns of TensorBoard's HParams view.
BEST_METRIC = {'vision': 'accuracy', 'ner': 'f1'}
METRICS = {'vision': ('accuracy', 'loss'), 'ner': ('f1', 'precision', 'recall', 'accuracy', 'loss')}


def example_name(params_dict, json_path='params.json'):
    """The example a params.json's values name (DEFAULT_EXAMPLE if none); anything else is an InputError."""
    name = params_dict.get('example', DEFAULT_EXAMPLE)
    if not isinstance(name, str):
        raise InputError("{}: 'example' must be a string such as \"vision\" or \"ner\", got {!r}".format(
            json_path, name))
    if name not in EXAMPLE_PARAMS:
        raise InputError("{}: unknown example {!r}: known examples are {}".format(
            json_path, name, ', '.join(sorted(EXAMPLE_PARAMS))))
    return name


def params_spec(name, json_path='params.json'):
    """Every key a params.json of example `name` may hold: the core's and the example's."""
    return dict(CORE_PARAMS, **EXAMPLE_PARAMS[example_name({'example': name}, json_path)])


def best_metric_of(params_dict):
    """The metric that picks the best weights of an experiment, from its params.json's values."""
    return BEST_METRIC.get(params_dict.get('example', DEFAULT_EXAMPLE), BEST_METRIC[DEFAULT_EXAMPLE])


def class_names(params):
    """The name of each label, by index: params.class_names, or the digits '0' .. num_labels-1."""
    if params.class_names is None:
        return [str(label) for label in range(params.num_labels)]
    if len(params.class_names) != params.num_labels:
        raise InputError("params.json: 'class_names' lists {} names but 'num_labels' is {}: give one name "
                         "per label, in the order of the labels".format(len(params.class_names), params.num_labels))
    return list(params.class_names)


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
