"""The vision example: SIGNS hand-sign images, 6 classes (the course's vision/), or any set of class folders.

What the shared scripts need of it (see examples.py); the pipeline and the
network themselves are model/input_fn.py and model/model_fn.py. Nothing here
imports TensorFlow at import time.
"""
import logging
import os

from model.core.errors import InputError
from model.core.files import read_json
from model.core.params import class_names
from vision.dataset_classes import classes_identity, dataset_classes, trained_class_names

DEFAULT_DATA_DIR = 'data/64x64_SIGNS'
# The folder of each split in a data set built by build_dataset.py.
SPLIT_DIRS = {'train': 'train_signs', 'dev': 'dev_signs', 'test': 'test_signs'}


def check_params(params):
    """An unknown model_version, or settings the chosen network cannot take: InputError."""
    from model.core.versions import model_version
    from model.model_fn import MODEL_VERSIONS
    model_version(MODEL_VERSIONS, params).check_params(params)
    # At most 10 classes for a SIGNS-style set is checked with the data set (load_split):
    # a set built from class folders may have more.
    class_names(params)


def load_split(data_dir, split, params):
    """((filenames, labels), number of images) of one split of a built data set: to use your own data, edit here.

    A built split is a folder of images (data/64x64_SIGNS/train_signs/...), each named after its label.
    A set built from class folders lists its classes in classes.json (vision/dataset_classes.py):
    they become params.class_names, and its names start with a label of any size (`12_whiskers.jpg`).
    """
    from vision.image_files import list_images
    split_dir = os.path.join(data_dir, SPLIT_DIRS[split])
    check_not_a_text_dataset(data_dir, split_dir)
    # The classes: those classes.json lists, for a set built from class folders; else SIGNS's digits
    class_folders = dataset_classes(data_dir, params, log=split != 'dev') is not None
    # Get the filenames of the split's images, and their labels from the file names (`3_IMG_5021.jpg` is a 3).
    # Labels will be between 0 and 5 included (6 classes in total: num_labels in params.json)
    filenames, labels = list_images(split_dir, params.num_labels, class_folders)
    return (filenames, labels), len(filenames)


def check_not_a_text_dataset(data_dir, split_dir):
    """A data set of the NER example given to a vision experiment: say so, rather than 'no folder train_signs'."""
    if not os.path.isdir(split_dir) and os.path.isfile(os.path.join(data_dir, 'train', 'sentences.txt')):
        raise InputError("{} is a data set of the NER example (train/sentences.txt), and this experiment is a vision "
                         "one (its params.json has no \"example\": \"ner\"): pass --data_dir a data set built by "
                         "build_dataset.py, such as {}".format(data_dir, DEFAULT_DATA_DIR))


def num_batches(data, size, params):
    """Batches in one pass over a split: all full but the last."""
    from model.evaluation import num_steps_for
    return num_steps_for(size, params.batch_size)


def input_fn(is_training, data, params):
    """The tutorial's input_fn(is_training, filenames, labels, params) on a split from load_split."""
    from model import input_fn as vision_input
    filenames, labels = data
    return vision_input.input_fn(is_training, filenames, labels, params)


def model_fn(mode, inputs, params, reuse=False):
    from model import model_fn as vision_model
    return vision_model.model_fn(mode, inputs, params, reuse)


def explain_data_error(error, datas, data_dir):
    """Raise an InputError naming the image behind a tf.data error, if one of the splits' files is unreadable."""
    from vision.image_check import raise_for_bad_image
    raise_for_bad_image(error, [name for filenames, _ in datas for name in filenames], data_dir)


# What build_dataset.py writes beside the splits: where the data set was built from.
SOURCE_FILE = 'source.json'


def dataset_identity(data_dir):
    """The data set in data_dir as dataset.json records it: its folder, what it was built from, and
    for a set built from class folders its class names (which predict.py and export.py read there)."""
    source_path = os.path.join(data_dir, SOURCE_FILE)
    source = read_json(source_path).get('source') if os.path.isfile(source_path) else None
    return dict({'data_dir': os.path.abspath(data_dir), 'source': source}, **classes_identity(data_dir))


# --- Using a trained model: predict.py and export.py ---------------------------------------------

def list_inputs(paths):
    """The image files named on the command line, with each folder replaced by its images (sorted)."""
    from vision.image_files import IMAGE_EXTENSIONS, list_image_files
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
        raise InputError("No images to predict in {}".format(', '.join(paths) or '(nothing given)'))
    return filenames


def predict(paths, params, model_dir, restore_from, output=None):
    """predict.py for images: the label and probability of each, printed; a CSV of all probabilities in `output`.

    Returns {filename: (label index, probabilities)} for the files that could be read.
    """
    from model import model_fn as vision_model
    from model.core.prediction import display_name, run_predictions, write_predictions_csv
    from model.core.tf_compat import tf
    from vision.predict_input import predict_input_fn, whole_images
    names = trained_class_names(model_dir, params)
    filenames = list_inputs(paths)

    with tf.Graph().as_default():
        # The predict pipeline: images resized as build_dataset.py does, no augmentation.
        inputs = predict_input_fn(whole_images(filenames), params)
        model_spec = vision_model.model_fn('predict', inputs, params)
        results = {}
        for batch in run_predictions(model_spec, ['filenames', 'predictions', 'probabilities'], model_dir,
                                     restore_from):
            for filename, prediction, probabilities in zip(*batch, strict=True):
                results[os.fsdecode(filename)] = (int(prediction), probabilities)

    for filename in filenames:
        if filename in results:
            prediction, probabilities = results[filename]
            print("{}: {} ({:.3f})".format(display_name(filename), names[prediction], probabilities[prediction]),
                  flush=True)
        else:
            logging.warning("Skipped %s: it could not be read as an image (JPEG or PNG)", display_name(filename))
    if not results:
        raise InputError("None of the {} file(s) could be read as an image".format(len(filenames)))
    if output:
        write_predictions_csv(output, filenames, results, names)
        logging.info("Predictions written to %s", output)
    return results


def serving_signature(params, model_dir):
    """The exported model's inputs and outputs: encoded images (any size) in; probabilities, classes, labels out."""
    from model import model_fn as vision_model
    from model.core.tf_compat import tf
    from vision.predict_input import serving_input_fn
    names = trained_class_names(model_dir, params)
    inputs = serving_input_fn(params)
    model_spec = vision_model.model_fn('predict', inputs, params)
    classes = model_spec['predictions']
    outputs = {'probabilities': model_spec['probabilities'],
               'classes': classes,
               'labels': tf.gather(tf.constant(names), classes)}
    description = ("signature 'serving_default' takes image_bytes (encoded JPEG or PNG images), gives "
                   "probabilities, classes and labels")
    return {'image_bytes': inputs['image_bytes']}, outputs, description
