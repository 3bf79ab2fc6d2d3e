"""The layout of an experiment folder: where train.py, evaluate.py and the search put each file.

    experiments/base_model/
        params.json                       the hyperparameters (written by you)
        dataset.json                      which data set the weights were trained on
        last_weights/after-epoch-N.*      the last 5 epochs (a Saver's files and its 'checkpoint' state file)
        best_weights/after-epoch-N.*      the epoch with the best dev metric
        metrics_eval_last_weights.json    dev metrics of the last epoch
        metrics_eval_best_weights.json    dev metrics of the best epoch
        metrics_test_best_weights.json    test metrics, from evaluate.py
        train_summaries/ eval_summaries/  TensorBoard event files
        train.log evaluate.log            everything the scripts printed

Nothing here imports TensorFlow: the search (search/) reads the same names.
"""
import os
import re

PARAMS_FILE = 'params.json'
DATASET_FILE = 'dataset.json'
# The data files the weights depend on (the NER example's vocabularies), copied from the data set.
VOCAB_DIR = 'vocab'
LAST_WEIGHTS = 'last_weights'
BEST_WEIGHTS = 'best_weights'
WEIGHTS_DIRS = (LAST_WEIGHTS, BEST_WEIGHTS)
# The file where a tf.train.Saver lists its checkpoints, newest last.
STATE_FILE = 'checkpoint'
# Checkpoints are `after-epoch-N`: the number is the epoch, so a checkpoint alone says where to resume.
CHECKPOINT_NAME = 'after-epoch'
TRAIN_SUMMARIES = 'train_summaries'
EVAL_SUMMARIES = 'eval_summaries'
TRAIN_LOG = 'train.log'
EVALUATE_LOG = 'evaluate.log'


def metrics_file(split, weights, other_dataset=None):
    """`metrics_eval_best_weights.json`: the metrics of the `weights` on a split ('eval' = dev, 'test').

    Figures on another data set than the one the weights were trained on (the folder
    `other_dataset`) get a name of their own: `metrics_test_best_weights_on_<folder>.json`.
    """
    if other_dataset:
        folder = re.sub(r'[^\w.-]+', '_', os.path.basename(os.path.normpath(other_dataset)))
        return 'metrics_{}_{}_on_{}.json'.format(split, weights, folder)
    return 'metrics_{}_{}.json'.format(split, weights)


EVAL_LAST_METRICS = metrics_file('eval', LAST_WEIGHTS)
EVAL_BEST_METRICS = metrics_file('eval', BEST_WEIGHTS)


def checkpoint_path(model_dir, weights, epoch):
    """model_dir/last_weights/after-epoch-3"""
    return os.path.join(model_dir, weights, '{}-{}'.format(CHECKPOINT_NAME, epoch))


def has_weights(model_dir):
    """True if model_dir already holds checkpoints that training from scratch would overwrite.

    Any checkpoint counts, even a damaged one or one its folder's state file does not name:
    better to ask for --restore_from than to overwrite. A folder with only a state file or
    the leftovers of a save killed midway (a run stopped in its first epoch) holds none.
    """
    for weights_dir in WEIGHTS_DIRS:
        folder = os.path.join(model_dir, weights_dir)
        if os.path.isdir(folder) and any(name.endswith('.index') for name in os.listdir(folder)):
            return True
    return False
