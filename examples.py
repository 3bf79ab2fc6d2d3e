"""The examples this template holds, and the few things the shared scripts ask of each.

The `example` key of params.json names one: `vision` (the SIGNS hand-sign images,
vision/example.py) or `ner` (named-entity recognition, ner/example.py). train.py,
evaluate.py, predict.py, export.py and the search are the same for both; each asks
the example's module for what differs:

    DEFAULT_DATA_DIR       the --data_dir used when none is given
    check_params(params)   the checks that depend on the model version
    load_split(data_dir, split, params) -> (data, size): split is 'train', 'dev' or 'test'
    num_batches(data, size, params)  the batches input_fn makes of a split: the steps of an epoch
    input_fn(is_training, data, params) -> inputs         (step 1: the input pipeline)
    model_fn(mode, inputs, params, reuse=False) -> model_spec   (step 1: the graph)
    explain_data_error(error, datas, data_dir): raise an InputError naming the file behind a tf.data error
    dataset_identity(data_dir): what identifies the data set the weights are trained on
    predict(...), serving_signature(...)   for predict.py and export.py

Its params.json keys and the metric that picks its best weights are data, in
model/core/params.py. A dict from name to module is all the machinery: add an example
by adding a line here and its keys there. The modules import TensorFlow only inside their
functions, so reading params stays quick.
"""
import ner.example
import vision.example
from model.core.params import example_name

EXAMPLES = {
    'vision': vision.example,
    'ner': ner.example,
}


def example_of(params):
    """The module of the example that params.json names (vision if it names none)."""
    return EXAMPLES[example_name(params.dict)]


def check_params(params):
    """The checks of params that depend on the model version (an unknown version, a size it cannot take).

    The same ones for train.py and for the search before its first job: a typo must not
    cost a night of jobs. This imports TensorFlow (the versions are the model_fn's).
    """
    example_of(params).check_params(params)
