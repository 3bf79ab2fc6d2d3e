"""The examples this template holds, and the few things the shared scripts ask of each.

The `example` key of params.json names one: `vision` (the SIGNS hand-sign images,
model/vision.py) or `ner` (named-entity recognition, ner/example.py). train.py,
evaluate.py, predict.py, export.py and the search are the same for both; each asks
the example's module for what differs:

    PARAMS                 its own keys of params.json (Specs, see model/params.py)
    DEFAULT_DATA_DIR       the --data_dir used when none is given
    BEST_METRIC            the dev metric that picks best_weights/ (higher is better)
    METRICS                the numbers of its metrics files, BEST_METRIC first
    check_params(params)   the checks that depend on the model version
    load_split(data_dir, split, params) -> (data, size): split is 'train', 'dev' or 'test'
    num_batches(data, size, params)  the batches input_fn makes of a split: the steps of an epoch
    input_fn(is_training, data, params) -> inputs         (step 1: the input pipeline)
    model_fn(mode, inputs, params, reuse=False) -> model_spec   (step 1: the graph)
    explain_data_error(error, datas, data_dir): raise an InputError naming the file behind a tf.data error
    dataset_identity(data_dir): what identifies the data set the weights are trained on

A dict from name to module is all the machinery: add an example by adding a line.
The modules import TensorFlow only inside their functions, so reading params stays quick.
"""
import importlib
from collections import namedtuple

from model.errors import InputError
from model.params import CORE_PARAMS


class ModelVersion(namedtuple('ModelVersion', 'build_model check_params')):
    """A network of an example's MODEL_VERSIONS: build_model(is_training, inputs, params) -> logits, and
    check_params(params), which raises InputError for settings that network cannot take."""


def no_check(params):
    """For a model version that takes any params the spec allows."""


def model_version(versions, params):
    """The ModelVersion of `versions` that params.model_version names; an unknown name is an InputError."""
    if params.model_version not in versions:
        raise InputError("Unknown model_version '{}' in params.json: known versions are {}".format(
            params.model_version, ', '.join(sorted(versions))))
    return versions[params.model_version]


EXAMPLES = {
    'vision': 'model.vision',
    'ner': 'ner.example',
}


def example_module(name, json_path='params.json'):
    """The module of the example called `name`; an unknown name is an InputError naming json_path."""
    if name not in EXAMPLES:
        raise InputError("{}: unknown example {!r}: known examples are {}".format(
            json_path, name, ', '.join(sorted(EXAMPLES))))
    return importlib.import_module(EXAMPLES[name])


def example_of(params):
    """The module of the example that params.json names (vision if it names none)."""
    return example_module(params.example)


def params_spec(name, json_path):
    """Every key a params.json of example `name` may hold: the core's and the example's."""
    if not isinstance(name, str):
        raise InputError("{}: 'example' must be a string such as \"vision\" or \"ner\", got {!r}".format(
            json_path, name))
    return dict(CORE_PARAMS, **example_module(name, json_path).PARAMS)


def check_params(params):
    """The checks of params that depend on the model version (an unknown version, a size it cannot take).

    The same ones for train.py and for the search before its first job: a typo must not
    cost a night of jobs. This imports TensorFlow (the versions are the model_fn's).
    """
    example_of(params).check_params(params)


def best_metric_of(params_dict):
    """The metric that picks the best weights of an experiment, from its params.json's values."""
    name = params_dict.get('example', 'vision')
    return importlib.import_module(EXAMPLES[name]).BEST_METRIC if name in EXAMPLES else 'accuracy'
