"""Train the model"""
import argparse
import logging
import os
import shlex

from model.checkpoints import has_weights
from model.image_check import DATA_ERRORS, raise_for_bad_image
from model.input_fn import input_fn, list_images
from model.interrupts import Interrupted
from model.model_fn import model_fn
from model.tf_compat import tf
from model.training import train_and_evaluate
from model.utils import InputError, load_params, run_script, set_logger

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--data_dir', default='data/64x64_SIGNS',
                    help="Directory containing the dataset")
parser.add_argument('--restore_from', default=None,
                    help="Optional, directory or file containing weights to reload before training")


def main(args):
    # Load the parameters from the experiment params.json file in model_dir
    params = load_params(args.model_dir, fix="create the experiment folder with one "
                                              "(copy experiments/base_model/params.json)")

    # Check that we are not overwriting some previous experiment
    if args.restore_from is None and has_weights(args.model_dir):
        raise InputError("{} already holds weights (last_weights/ or best_weights/): resume with "
                         "--restore_from {}, or choose a new --model_dir".format(
                             args.model_dir, os.path.join(args.model_dir, 'last_weights')))

    # Set the logger
    set_logger(os.path.join(args.model_dir, 'train.log'))

    # Get the filenames and labels from the train and dev sets
    logging.info("Creating the datasets...")
    train_filenames, train_labels = list_images(os.path.join(args.data_dir, 'train_signs'), params.num_labels)
    eval_filenames, eval_labels = list_images(os.path.join(args.data_dir, 'dev_signs'), params.num_labels)

    # Specify the sizes of the dataset we train on and evaluate on
    params.train_size = len(train_filenames)
    params.eval_size = len(eval_filenames)

    # A fresh graph per call, so that tests (and notebooks) can call main() more than once
    with tf.Graph().as_default():
        # Set the random seed for the whole graph for reproductible experiments
        tf.set_random_seed(230)

        # Create the two iterators over the two datasets
        train_inputs = input_fn(True, train_filenames, train_labels, params)
        eval_inputs = input_fn(False, eval_filenames, eval_labels, params)

        # Define the model
        logging.info("Creating the model...")
        train_model_spec = model_fn('train', train_inputs, params)
        eval_model_spec = model_fn('eval', eval_inputs, params, reuse=True)

        # Train the model
        logging.info("Starting training for {} epoch(s)".format(params.num_epochs))
        try:
            train_and_evaluate(train_model_spec, eval_model_spec, args.model_dir, params, args.restore_from)
        except DATA_ERRORS as error:
            # Which file could tf.data not read? Only looked for now that something failed.
            raise_for_bad_image(error, train_filenames + eval_filenames, args.data_dir)
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
    if args.data_dir != parser.get_default('data_dir'):
        command += ['--data_dir', args.data_dir]
    if interruption.last_epoch is None:
        # Nothing new saved: the same command again (with the same --restore_from, if any).
        if args.restore_from is not None:
            command += ['--restore_from', args.restore_from]
        return "Stopped by {} before this run finished an epoch: nothing new was saved.\nStart again with: {}".format(
            interruption.signal_name, shlex.join(command))
    last_weights = os.path.join(args.model_dir, 'last_weights')
    command += ['--restore_from', last_weights]
    return "Stopped by {}: the last finished epoch is {} (saved in {}).\nResume with: {}".format(
        interruption.signal_name, interruption.last_epoch,
        os.path.join(last_weights, 'after-epoch-{}'.format(interruption.last_epoch)), shlex.join(command))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
