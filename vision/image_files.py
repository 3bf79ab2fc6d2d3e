"""The image files of the vision example: which files of a folder are images, and what their names say.

build_dataset.py, the input pipeline (train.py, evaluate.py) and predict.py all list
folders with `scan_folder`, so they agree on what counts as an image: a file whose name
ends in one of IMAGE_EXTENSIONS (in any case), not hidden. No TensorFlow here: the
processes of build_dataset.py import this module too.
"""
import os

from model.core.errors import InputError

# Image files that build_dataset.py reads and the input pipeline decodes (.JPG counts as .jpg).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
# Side of the square images build_dataset.py writes unless told otherwise (its --size).
SIZE = 64
# Quality of the JPEG files build_dataset.py writes; vision/image_resize.py encodes new photos the same way.
JPEG_QUALITY = 95
# How the files of the two formats that build_dataset.py and predict.py read begin (PIL and
# TensorFlow tell formats by these bytes, not by the name). Others (GIF, BMP, TIFF...) are refused.
JPEG_SIGNATURE = b'\xff\xd8\xff'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# The EXIF tag that says how to turn a photo upright (phones store many sideways): build_dataset.py
# reads it with PIL, vision/image_resize.py from the bytes, and both turn the picture the same way.
EXIF_ORIENTATION = 0x0112


def file_bytes(filenames):
    """File names as bytes, as the file system has them: a name that is not UTF-8 is still read."""
    return [os.fsencode(name) for name in filenames]


def label_from_name(filename):
    """The label written as the first character of a file's base name (`3_IMG_5021.jpg` is a 3), or None."""
    first = os.path.basename(filename)[:1]
    return int(first) if first.isdigit() and first.isascii() else None


def label_index_from_name(filename):
    """The label index before the first '_' of a name build_dataset.py gave an image of class folders, or None.

    `12_whiskers.jpg` is a 12: such a set may have more than ten classes (vision/class_folders.py).
    """
    head, underscore, _ = os.path.basename(filename).partition('_')
    return int(head) if underscore and head.isdigit() and head.isascii() else None


def is_hidden(name):
    """Names starting with a dot: .DS_Store, the ._IMG_1.jpg metadata files macOS leaves on shared drives..."""
    return name.startswith('.')


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS) and not is_hidden(name)


def scan_folder(folder):
    """(images, others): the paths of the image files in `folder` and of its other files, each sorted by name.

    Hidden files are in neither list, nor are subfolders. Raises OSError if `folder`
    cannot be listed (the callers check first that it is a folder, to say what to do).
    """
    images, others = [], []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if is_hidden(name) or not os.path.isfile(path):
            continue
        (images if is_image_name(name) else others).append(path)
    return images, others


def split_by_label(filenames, num_labels, class_folders=False):
    """(labelled, unlabelled): [(filename, label)] for the names that start with a label in 0..num_labels-1,
    and the other filenames. The label is the first digit (SIGNS), or with `class_folders` the number before '_'."""
    label_of = label_index_from_name if class_folders else label_from_name
    labelled, unlabelled = [], []
    for filename in filenames:
        label = label_of(filename)
        if label is None or label >= num_labels:
            unlabelled.append(filename)
        else:
            labelled.append((filename, label))
    return labelled, unlabelled


def label_problem(filename, num_labels, class_folders=False):
    """What is wrong with the name of an image without a usable label, for a message."""
    if class_folders:
        return ("{}: the name must start with its label and '_', a number from 0 to {}, as build_dataset.py "
                "names the images of class folders".format(filename, num_labels - 1))
    return "{}: the name must start with its label, a digit from 0 to {}".format(filename, num_labels - 1)


def list_image_files(folder):
    """The sorted paths of the image files in `folder` (see scan_folder)."""
    return scan_folder(folder)[0]


def list_images(split_dir, num_labels, class_folders=False):
    """List the images of a built split folder and their labels, in sorted order.

    The label of an image is the first character of its file name: `3_IMG_5021.jpg` is a 3.
    In a set built from class folders, it is the number before the first '_': `12_whiskers.jpg` is a 12.

    Args:
        split_dir: (string) folder such as data/64x64_SIGNS/train_signs
        num_labels: (int) labels must be in [0, num_labels)
        class_folders: (bool) the set was built from class folders (its classes.json says so)

    Returns:
        filenames: (list of strings) paths of the images
        labels: (list of ints) their labels

    Raises InputError naming the folder, or the first image without a usable label.
    """
    if not os.path.isdir(split_dir):
        raise InputError("No folder {}: build the dataset first (python build_dataset.py), "
                         "or pass --data_dir".format(split_dir))
    images = list_image_files(split_dir)
    if not images:
        raise InputError("{} holds no images ({}): build the dataset again with "
                         "python build_dataset.py".format(split_dir, ', '.join(IMAGE_EXTENSIONS)))
    labelled, unlabelled = split_by_label(images, num_labels, class_folders)
    if unlabelled:
        raise InputError("{} (num_labels in params.json is {})".format(
            label_problem(unlabelled[0], num_labels, class_folders), num_labels))
    return [filename for filename, _ in labelled], [label for _, label in labelled]
