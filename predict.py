"""Predict with a trained model: the labels of new images, or the entity tags of new sentences.

    python predict.py --model_dir experiments/base_model --restore_from best_weights photo.jpg my_photos/
    python predict.py --model_dir experiments/ner/base_model my_sentences.txt
    echo "John lives in New York ." | python predict.py --model_dir experiments/ner/base_model

Images may have any size and mode (JPEG or PNG, grayscale, RGBA...): they are
resized the way build_dataset.py resized the training images. A file that cannot
be read as an image is named and skipped. Sentences are raw text, one per line:
they are split into tokens the way the training data was.
"""
import argparse
import logging

from examples import check_params, example_of
from model.core.errors import InputError, run_script
from model.core.layout import BEST_WEIGHTS
from model.core.prediction import check_output_path
from model.core.provenance import check_trained_values
from model.utils import load_params

parser = argparse.ArgumentParser()
parser.add_argument('inputs', nargs='*', metavar='FILE_OR_FOLDER',
                    help="Vision: image files or folders of images (JPEG, PNG). NER: text files of sentences, "
                         "one per line ('-' or nothing: standard input)")
parser.add_argument('--model_dir', default='experiments/base_model',
                    help="Experiment directory containing params.json")
parser.add_argument('--restore_from', default=BEST_WEIGHTS,
                    help="Subdirectory of model dir or file containing the weights")
parser.add_argument('--tokenized', action='store_true',
                    help="NER: the sentences are tokenized already (tokens separated by spaces, as in sentences.txt): "
                         "split on whitespace only")
parser.add_argument('--output', default=None,
                    help="Also write the predictions to this file: CSV (vision: the probability of every class; "
                         "NER: one row per token), or JSON lines for NER if it ends in .jsonl")


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    params = load_params(args.model_dir)
    check_params(params)
    check_trained_values(args.model_dir, params)
    if args.output:
        check_output_path(args.output)  # before anything is computed
    options = {}
    if getattr(args, 'tokenized', False):
        if params.example != 'ner':
            raise InputError("--tokenized is for sentences (an NER experiment); {} is a {} one".format(
                args.model_dir, params.example))
        options['tokenized'] = True
    return example_of(params).predict(args.inputs, params, args.model_dir, args.restore_from, args.output, **options)


if __name__ == '__main__':
    run_script(main, parser.parse_args())
