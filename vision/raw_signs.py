"""The raw SIGNS set as build_dataset.py finds it: the image files of train_signs/ and test_signs/.

What is not usable (other files, names without a label) is left out and reported;
what would make a wrong data set (too few images, two files that would be written
under one name) stops the build with one line saying what to do.
"""
import os
import unicodedata

from model.core.errors import InputError
from vision.image_files import IMAGE_EXTENSIONS, label_problem, scan_folder, split_by_label
from vision.photos import output_name

# Usable images a raw split needs: train_signs gives 80% to train and 20% to dev, at least one to each.
MIN_IMAGES = {'train_signs': 2, 'test_signs': 1}


def list_train_and_test(data_dir, num_labels, skipped):
    """(train filenames, test filenames) of data_dir/train_signs/ and data_dir/test_signs/, each sorted.

    Files that are not usable are added to `skipped`, as 'file: why' lines.
    """
    train_filenames = list_split(os.path.join(data_dir, 'train_signs'), num_labels, skipped)
    test_filenames = list_split(os.path.join(data_dir, 'test_signs'), num_labels, skipped)
    if len(train_filenames) < MIN_IMAGES['train_signs']:
        raise InputError("{} holds only {} usable image: at least {} are needed, 80% for train_signs and "
                         "20% for dev_signs; add images to it".format(
                             os.path.join(data_dir, 'train_signs'), len(train_filenames), MIN_IMAGES['train_signs']))
    # Before the split: two such files would otherwise land in train and dev, one picture twice.
    check_distinct_outputs(train_filenames)
    check_distinct_outputs(test_filenames)
    return train_filenames, test_filenames


def list_split(split_dir, num_labels, skipped):
    """Image files of a raw split folder, sorted. Files that are not usable are added to `skipped`."""
    if not os.path.isdir(split_dir):
        raise InputError("No folder {}: put the SIGNS images there ({{label}}_IMG_{{id}}.jpg in train_signs/ "
                         "and test_signs/), or one folder of images per class in {}, or run python "
                         "build_dataset.py --synthetic".format(split_dir, os.path.dirname(split_dir)))
    images, others = scan_folder(split_dir)
    labelled, unlabelled = split_by_label(images, num_labels)
    skipped.extend('{}: not an image file ({})'.format(path, ', '.join(IMAGE_EXTENSIONS)) for path in others)
    skipped.extend(label_problem(path, num_labels) for path in unlabelled)
    filenames = [path for path, _ in labelled]
    if not filenames:
        raise InputError("{} holds no usable images: expected files named {{label}}_IMG_{{id}}.jpg".format(split_dir))
    return filenames


def check_distinct_outputs(filenames, names=None):
    """Raise InputError if two of `filenames` (one raw folder) would be written to the same file.

    A file is written as output_name(filename), or as names[filename] when `names` is given.
    Names equal but for case or Unicode normalisation count as the same: they are one
    file on macOS and Windows disks (and the dataset may be copied there).
    """
    seen = {}
    for filename in filenames:
        name = names[filename] if names else output_name(filename)
        key = unicodedata.normalize('NFC', name).lower()
        if key in seen:
            raise InputError("{} and {} would both be written as {}: rename or remove one of them".format(
                seen[key], filename, name))
        seen[key] = filename
