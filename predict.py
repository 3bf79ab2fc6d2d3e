"""Predict the labels of new images with a trained model.

    python predict.py --model_dir experiments/base_model --restore_from best_weights photo.jpg my_photos/

Images may have any size and mode (JPEG or PNG, grayscale, RGBA...): they are
resized the way build_dataset.py resized the training images. A file that cannot
be read as an image is named and skipped.
"""
import argparse
import logging
import os

from model.image_files import IMAGE_EXTENSIONS, list_image_files
from model.input_fn import input_fn
from model.model_fn import model_fn
from model.prediction import predict, write_predictions_csv
from model.tf_compat import tf
from model.utils import InputError, class_names, load_params, run_script

parser = argparse.ArgumentParser()
parser.add_argument('images', nargs='+', metavar='IMAGE_OR_FOLDER',
                    help="Image files, or folders of images ({})".format(', '.join(IMAGE_EXTENSIONS)))
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--restore_from', default='best_weights',
                    help="Subdirectory of model dir or file containing the weights")
parser.add_argument('--output', default=None,
                    help="Also write a CSV file: file, label and the probability of every class")


def list_inputs(paths):
    """The image files named on the command line, with each folder replaced by its images (sorted)."""
    filenames = []
    for path in paths:
        if os.path.isdir(path):
            images = list_image_files(path)
            if not images:
                logging.warning("%s holds no images (%s)", path, ', '.join(IMAGE_EXTENSIONS))
            filenames.extend(images)
        elif os.path.isfile(path):
            filenames.append(path)
        else:
            raise InputError("No file or folder {}: pass image files or folders of images".format(path))
    if not filenames:
        raise InputError("No images to predict in {}".format(', '.join(paths)))
    return filenames


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    params = load_params(args.model_dir)
    names = class_names(params)
    filenames = list_inputs(args.images)

    with tf.Graph().as_default():
        # Labels None: the predict pipeline, images resized as build_dataset.py does, no augmentation.
        inputs = input_fn(False, filenames, None, params)
        model_spec = model_fn('predict', inputs, params)
        results = predict(model_spec, args.model_dir, args.restore_from)

    for filename in filenames:
        if filename in results:
            prediction, probabilities = results[filename]
            print("{}: {} ({:.3f})".format(filename, names[prediction], probabilities[prediction]), flush=True)
        else:
            logging.warning("Skipped %s: it could not be read as an image (JPEG, PNG, GIF or BMP)", filename)
    if not results:
        raise InputError("None of the {} file(s) could be read as an image".format(len(filenames)))
    if args.output:
        write_predictions_csv(args.output, filenames, results, names)
        logging.info("Predictions written to %s", args.output)
    return results


if __name__ == '__main__':
    run_script(main, parser.parse_args())
