"""Train the model"""
import argparse
import logging
import os
import shlex

from model.errors import InputError, run_script
from model.examples import check_params, example_of
from model.interrupts import Interrupted
from model.layout import LAST_WEIGHTS, TRAIN_LOG, checkpoint_path, has_weights
from model.params import SEED
from model.provenance import check_dataset, record_dataset
from model.tf_compat import DATA_ERRORS, tf
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
                             args.model_dir, os.path.join(args.model_dir, LAST_WEIGHTS)))

    # Set the logger
    set_logger(os.path.join(args.model_dir, TRAIN_LOG))

    # Get the examples of the train and dev sets (file names and labels, or sentences and tags)
    logging.info("Creating the datasets...")
    train_data, train_size = example.load_split(data_dir, 'train', params)
    eval_data, eval_size = example.load_split(data_dir, 'dev', params)
    identity = example.dataset_identity(data_dir)
    if args.restore_from is None:
        record_dataset(args.model_dir, identity)
    else:
        check_dataset(args.model_dir, identity)

    # Specify the sizes of the dataset we train on and evaluate on, and their batches per epoch
    params.train_size = train_size
    params.eval_size = eval_size
    params.train_steps = example.num_batches(train_data, train_size, params)
    params.eval_steps = example.num_batches(eval_data, eval_size, params)

    # A fresh graph per call, so that tests (and notebooks) can call main() more than once
    with tf.Graph().as_default():
        # Set the random seed for the whole graph for reproductible experiments
        tf.set_random_seed(SEED)

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
                              how_to_resume(args, interruption)) from None


def how_to_resume(args, interruption):
    """What was saved before the signal, and the command that carries on from there."""
    try:
        script = os.path.relpath(os.path.abspath(__file__))  # as run from the current folder
    except ValueError:  # Windows: the script is on another drive
        script = os.path.abspath(__file__)
    command = ['python', script, '--model_dir', args.model_dir]
    if args.data_dir is not None:
        command += ['--data_dir', args.data_dir]
    if interruption.last_epoch is None:
        # Nothing new saved: the same command again (with the same --restore_from, if any).
        if args.restore_from is not None:
            command += ['--restore_from', args.restore_from]
        return "Stopped by {} before this run finished an epoch: nothing new was saved.\nStart again with: {}".format(
            interruption.signal_name, shlex.join(command))
    command += ['--restore_from', os.path.join(args.model_dir, LAST_WEIGHTS)]
    return "Stopped by {}: the last finished epoch is {} (saved in {}).\nResume with: {}".format(
        interruption.signal_name, interruption.last_epoch,
        checkpoint_path(args.model_dir, LAST_WEIGHTS, interruption.last_epoch), shlex.join(command))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
