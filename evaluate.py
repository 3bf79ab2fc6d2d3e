"""Evaluate the model"""
import argparse
import logging
import os
import shlex

from examples import check_params, example_of
from model.core.errors import run_script
from model.core.files import check_writable
from model.core.layout import BEST_WEIGHTS, EVALUATE_LOG
from model.core.provenance import check_dataset, check_trained_values
from model.core.tf_compat import DATA_ERRORS, tf
from model.evaluation import evaluate
from model.utils import load_params, set_logger

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--data_dir', default=None,
                    help="Directory containing the dataset (default: data/64x64_SIGNS for the vision "
                         "example, data/NER for the NER example)")
parser.add_argument('--restore_from', default=BEST_WEIGHTS,
                    help="Subdirectory of model dir or file containing the weights")


def main(args):
    # Load the parameters
    params = load_params(args.model_dir)
    example = example_of(params)
    check_params(params)
    data_dir = args.data_dir or example.DEFAULT_DATA_DIR

    # Set the logger (in model_dir, where the test metrics go: it must be writable)
    check_writable(args.model_dir, "evaluate a copy in a folder of yours: cp -r {} <new folder>".format(
        shlex.quote(args.model_dir)))
    set_logger(os.path.join(args.model_dir, EVALUATE_LOG))

    # Get the examples of the test set, and check they fit the weights
    logging.info("Creating the dataset...")
    test_data, test_size = example.load_split(data_dir, 'test', params)
    # Figures on another data set than the weights were trained on are kept apart (see evaluate)
    other_dataset = not check_dataset(args.model_dir, example.dataset_identity(data_dir))
    check_trained_values(args.model_dir, params)

    # specify the size of the evaluation set
    params.eval_size = test_size
    params.eval_steps = example.num_batches(test_data, test_size, params)

    with tf.Graph().as_default():
        # create the iterator over the dataset
        test_inputs = example.input_fn(False, test_data, params)

        # Define the model
        logging.info("Creating the model...")
        model_spec = example.model_fn('eval', test_inputs, params, reuse=False)

        logging.info("Starting evaluation")
        try:
            return evaluate(model_spec, args.model_dir, params, args.restore_from, data_dir, other_dataset)
        except DATA_ERRORS as error:
            # Which file could tf.data not read? Only looked for now that something failed.
            example.explain_data_error(error, [test_data], data_dir)
            raise


if __name__ == '__main__':
    run_script(main, parser.parse_args())
