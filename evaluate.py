"""Evaluate the model"""
import argparse
import logging
import os

from model.evaluation import evaluate
from model.image_check import DATA_ERRORS, raise_for_bad_image
from model.input_fn import input_fn, list_images
from model.model_fn import model_fn
from model.tf_compat import tf
from model.utils import load_params, run_script, set_logger

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--data_dir', default='data/64x64_SIGNS',
                    help="Directory containing the dataset")
parser.add_argument('--restore_from', default='best_weights',
                    help="Subdirectory of model dir or file containing the weights")


def main(args):
    # Load the parameters
    params = load_params(args.model_dir)

    # Set the logger
    set_logger(os.path.join(args.model_dir, 'evaluate.log'))

    # Create the input data pipeline
    logging.info("Creating the dataset...")
    test_filenames, test_labels = list_images(os.path.join(args.data_dir, 'test_signs'), params.num_labels)

    # specify the size of the evaluation set
    params.eval_size = len(test_filenames)

    with tf.Graph().as_default():
        # Set the random seed for the whole graph
        tf.set_random_seed(230)

        # create the iterator over the dataset
        test_inputs = input_fn(False, test_filenames, test_labels, params)

        # Define the model
        logging.info("Creating the model...")
        model_spec = model_fn('eval', test_inputs, params, reuse=False)

        logging.info("Starting evaluation")
        try:
            return evaluate(model_spec, args.model_dir, params, args.restore_from)
        except DATA_ERRORS as error:
            # Which file could tf.data not read? Only looked for now that something failed.
            raise_for_bad_image(error, test_filenames, args.data_dir)
            raise


if __name__ == '__main__':
    run_script(main, parser.parse_args())
