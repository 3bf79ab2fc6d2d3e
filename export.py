"""Export a trained model as a SavedModel, for TensorFlow Serving or any TensorFlow 2 program.

    python export.py --model_dir experiments/base_model --restore_from best_weights --export_dir exported/base_model/1

The serving signature takes what a client has: encoded images (JPEG or PNG bytes, any
size) for the vision example, sentences (strings) for the NER example; each is
prepared in the graph as predict.py prepares it, so a client need not know how.
"""
import argparse
import logging
import os

from examples import check_params, example_of
from model.core.errors import InputError, run_script
from model.core.files import check_writable
from model.core.layout import BEST_WEIGHTS
from model.core.prediction import export_saved_model
from model.core.provenance import check_trained_values
from model.core.tf_compat import tf
from model.utils import load_params

parser = argparse.ArgumentParser()
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--restore_from', default=BEST_WEIGHTS,
                    help="Subdirectory of model dir or file containing the weights")
parser.add_argument('--export_dir', default=None,
                    help="New folder for the SavedModel, named by its version number "
                         "(default: the next version in exported/<name of model_dir>/)")


def next_version_dir(model_dir):
    """exported/<experiment>/<N+1>, N being the highest version already there (0 if none).

    The experiment is its path under experiments/ (`ner/base_model`), else its folder's name.
    """
    relative = os.path.relpath(os.path.abspath(model_dir), os.path.abspath('experiments'))
    name = relative if not relative.startswith(os.pardir) else os.path.basename(os.path.normpath(model_dir))
    base = os.path.join('exported', name)
    versions = [int(name) for name in os.listdir(base) if name.isdigit()] if os.path.isdir(base) else []
    return os.path.join(base, str(max(versions, default=0) + 1))


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    params = load_params(args.model_dir)
    check_params(params)
    check_trained_values(args.model_dir, params)
    example = example_of(params)

    export_dir = args.export_dir or next_version_dir(args.model_dir)
    if os.path.exists(export_dir):
        raise InputError("{} already exists: export to a new version folder, such as {}".format(
            export_dir, os.path.join(os.path.dirname(os.path.normpath(export_dir)), 'N+1')))
    check_writable(os.path.dirname(os.path.abspath(export_dir)), "pass an --export_dir in a folder of yours")
    if not os.path.basename(os.path.normpath(export_dir)).isdigit():
        logging.warning("TensorFlow Serving loads only version folders named by a number, "
                        "such as exported/base_model/1: %s will not be served as it is", export_dir)

    with tf.Graph().as_default():
        inputs, outputs, description = example.serving_signature(params, args.model_dir)
        export_saved_model(inputs, outputs, args.model_dir, args.restore_from, export_dir)

    logging.info("SavedModel written to %s: %s", export_dir, description)
    return export_dir


if __name__ == '__main__':
    run_script(main, parser.parse_args())
