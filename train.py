"""Train the model"""
import argparse
import logging
import os
import shlex

from examples import check_params, example_of
from model.core.errors import InputError, run_script
from model.core.files import check_writable
from model.core.interrupts import Interrupted, how_to_resume
from model.core.layout import LAST_WEIGHTS, TRAIN_LOG, has_weights
from model.core.provenance import check_dataset, check_trained_values, record_dataset, trained_values
from model.core.tf_compat import DATA_ERRORS, tf
from model.training import train_and_evaluate
from model.utils import load_params, set_logger

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--data_dir', default=None,
                    help="Directory containing the dataset (default: data/64x64_SIGNS for the vision "
                         "example, data/NER for the NER example)")
parser.add_argument('--restore_from', default=None,
                    help="Optional, directory or file containing weights to reload before training")


def main(args):
    # Load the parameters from the experiment params.json file in model_dir
    params = load_params(args.model_dir, fix="create the experiment folder with one "
                                              "(copy experiments/base_model/params.json)")
    example = example_of(params)
    check_params(params)
    data_dir = args.data_dir or example.DEFAULT_DATA_DIR

    # Check that we are not overwriting some previous experiment
    if args.restore_from is None and has_weights(args.model_dir):
        raise InputError("{} already holds weights (last_weights/ or best_weights/): resume with "
                         "--restore_from {}, or choose a new --model_dir".format(
                             args.model_dir, shlex.quote(os.path.join(args.model_dir, LAST_WEIGHTS))))

    # Set the logger (in model_dir, where everything this run writes goes: it must be writable)
    check_writable(args.model_dir, "train a copy in a folder of yours: cp -r {} <new folder>".format(
        shlex.quote(args.model_dir)))
    set_logger(os.path.join(args.model_dir, TRAIN_LOG))

    # Get the examples of the train and dev sets (file names and labels, or sentences and tags)
    logging.info("Creating the datasets...")
    train_data, train_size = example.load_split(data_dir, 'train', params)
    eval_data, eval_size = example.load_split(data_dir, 'dev', params)
    identity = example.dataset_identity(data_dir)
    if args.restore_from is None:
        record_dataset(args.model_dir, dict(identity, trained_params=trained_values(params)))
    else:
        check_dataset(args.model_dir, identity)
        check_trained_values(args.model_dir, params)

    # Specify the sizes of the dataset we train on and evaluate on, and their batches per epoch
    params.train_size = train_size
    params.eval_size = eval_size
    params.train_steps = example.num_batches(train_data, train_size, params)
    params.eval_steps = example.num_batches(eval_data, eval_size, params)

    # A fresh graph per call, so that tests (and notebooks) can call main() more than once
    with tf.Graph().as_default():
        # Set the random seed for the whole graph for reproductible experiments
        tf.set_random_seed(params.seed)

        # Create the two iterators over the two datasets
        train_inputs = example.input_fn(True, train_data, params)
        eval_inputs = example.input_fn(False, eval_data, params)

        # Define the model
        logging.info("Creating the model...")
        train_model_spec = example.model_fn('train', train_inputs, params)
        eval_model_spec = example.model_fn('eval', eval_inputs, params, reuse=True)

        # Train the model
        logging.info("Starting training for {} epoch(s)".format(params.num_epochs))
        try:
            train_and_evaluate(train_model_spec, eval_model_spec, args.model_dir, params, args.restore_from)
        except DATA_ERRORS as error:
            # Which file could tf.data not read? Only looked for now that something failed.
            example.explain_data_error(error, [train_data, eval_data], data_dir)
            raise
        except Interrupted as interruption:
            raise Interrupted(interruption.signum, interruption.last_epoch,
                              how_to_resume(__file__, args, interruption)) from None


if __name__ == '__main__':
    run_script(main, parser.parse_args())
