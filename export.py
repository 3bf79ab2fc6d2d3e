"""Export a trained model as a SavedModel, for TensorFlow Serving or any TensorFlow 2 program.

    python export.py --model_dir experiments/base_model --restore_from best_weights --export_dir exported/base_model/1

The serving signature takes encoded images (JPEG or PNG bytes, any size) and
prepares them as predict.py does, so a client need not know the image size.
"""
import argparse
import logging
import os

from model.input_fn import serving_input_fn
from model.model_fn import model_fn
from model.prediction import export_saved_model
from model.tf_compat import tf
from model.utils import InputError, class_names, load_params, run_script

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--restore_from', default='best_weights',
                    help="Subdirectory of model dir or file containing the weights")
parser.add_argument('--export_dir', default=None,
                    help="New folder for the SavedModel, named by its version number "
                         "(default: the next version in exported/<name of model_dir>/)")


def next_version_dir(model_dir):
    """exported/<experiment>/<N+1>, N being the highest version already there (0 if none)."""
    base = os.path.join('exported', os.path.basename(os.path.normpath(model_dir)))
    versions = [int(name) for name in os.listdir(base) if name.isdigit()] if os.path.isdir(base) else []
    return os.path.join(base, str(max(versions, default=0) + 1))


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    params = load_params(args.model_dir)
    names = class_names(params)

    export_dir = args.export_dir or next_version_dir(args.model_dir)
    if os.path.exists(export_dir):
        raise InputError("{} already exists: export to a new version folder, such as {}".format(
            export_dir, os.path.join(os.path.dirname(os.path.normpath(export_dir)), 'N+1')))
    if not os.path.basename(os.path.normpath(export_dir)).isdigit():
        logging.warning("TensorFlow Serving loads only version folders named by a number, "
                        "such as exported/base_model/1: %s will not be served as it is", export_dir)

    with tf.Graph().as_default():
        inputs = serving_input_fn(params)
        model_spec = model_fn('predict', inputs, params)
        classes = model_spec['predictions']
        outputs = {'probabilities': model_spec['probabilities'],
                   'classes': classes,
                   'labels': tf.gather(tf.constant(names), classes)}
        export_saved_model({'image_bytes': inputs['image_bytes']}, outputs,
                           args.model_dir, args.restore_from, export_dir)

    logging.info("SavedModel written to %s: signature 'serving_default' takes image_bytes "
                 "(encoded JPEG or PNG images), gives probabilities, classes and labels", export_dir)
    return export_dir


if __name__ == '__main__':
    run_script(main, parser.parse_args())
