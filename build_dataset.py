"""Split the SIGNS dataset into train/dev/test and resize images to 64x64.

The SIGNS dataset comes in the following format:
    train_signs/
        0_IMG_5864.jpg
        ...
    test_signs/
        0_IMG_5942.jpg
        ...

Original images have size (3024, 3024).
Resizing to (64, 64) makes the dataset far smaller (figures in benchmarks/README.md), and loading smaller images
makes training faster.

We already have a test set created, so we only need to split "train_signs" into train and dev sets.
Because we don't have a lot of images and we want that the statistics on the dev set be as
representative as possible, we'll take 20% of "train_signs" as dev set.

Also accepted in --data_dir: a set published as one folder of images per class (cat/, dog/...,
with or without train/ and test/ above them: vision/class_folders.py), the layout of Keras's
image_dataset_from_directory and torchvision's ImageFolder; the widely shared HDF5 version (train_signs.h5 and test_signs.h5,
see vision/signs_h5.py), and `--synthetic` writes a generated set of hand signs there first
(see vision/synthetic_signs.py).

Every image is written as {name without extension}.jpg (vision/photos.py: photos of any size,
turned upright as their EXIF note says). Two images of one folder that would get the same name
(0_IMG_1.jpg and 0_IMG_1.png, or 0_IMG_1.jpg and 0_IMG_1.JPG, which are one file on macOS and
Windows) are refused before anything is written: the error names both files and asks to rename
or remove one (vision/raw_signs.py). Names are not changed behind the user's back.

The images of class folders are written in the same three splits, so that train.py,
evaluate.py and the cache read them as they read SIGNS: each named after its label, which
is its class's rank in the sorted folder names, then '_' and its own name (cat/whiskers.jpg,
the 1st class, becomes 0_whiskers.jpg; any number of classes), and the class names are
listed in label order in classes.json beside the splits. A set published without a test
split gets one here, 10% of its images, seeded as the dev split is (the course's SIGNS
keeps 120 of its 1200 images for test), and the summary says so.
"""
import argparse
import logging
import os
import random

from model.core.errors import InputError, run_script
from model.core.files import check_output_dir
from model.core.params import SEED
from vision.class_folders import is_class_folders, read_class_folders
from vision.dataset_classes import CLASSES_FILE
from vision.image_files import SIZE
from vision.photos import resize_and_save
from vision.raw_signs import list_train_and_test
from vision.signs_h5 import raw_folders
from vision.staging import check_not_inside, move_splits_into_place, temporary_folder_beside
from vision.synthetic_signs import write_or_reuse_synthetic_signs
from vision.worker_pool import run_in_processes

SPLITS = ('train_signs', 'dev_signs', 'test_signs')
# Seed of the shuffle that splits train_signs into train and dev: the course's seed, kept so
# that the split, and so the dev metrics, stay those of the original starter code.
SPLIT_SEED = SEED
# The share of a set published without a test split that becomes test_signs: SIGNS's own share.
TEST_FRACTION = 0.1
# What source.json and the summary say of a test split made here.
MADE_TEST_SPLIT = "{}% of the images, drawn with a fixed seed as dev_signs is"
# The classes of SIGNS: its labels 0 .. 5.
SIGNS_NUM_LABELS = 6

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', default=None,
                    help="Directory with the SIGNS dataset (default data/SIGNS, "
                         "or data/SYNTHETIC_SIGNS with --synthetic)")
parser.add_argument('--output_dir', default='data/64x64_SIGNS', help="Where to write the new data")
parser.add_argument('--synthetic', action='store_true',
                    help="First write a synthetic hand-sign dataset into --data_dir (no download needed)")
parser.add_argument('--overwrite', action='store_true',
                    help="Replace a dataset already built in --output_dir")
parser.add_argument('--size', type=int, default=SIZE, help="Side of the square output images")
parser.add_argument('--num_labels', type=int, default=None,
                    help="SIGNS: labels are the digits 0 .. num_labels-1 (default 6); class folders: "
                         "the number of folders (default: however many there are)")
parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                    help="Processes resizing images in parallel (default: all cores)")


def split_train_dev(filenames):
    """Split the filenames into (train, dev), 80% / 20%, the same way on every run."""
    # Make sure to always shuffle with a fixed seed so that the split is reproducible
    filenames = sorted(filenames)
    random.Random(SPLIT_SEED).shuffle(filenames)
    split = int(0.8 * len(filenames))
    return filenames[:split], filenames[split:]


def split_off_test(filenames):
    """Split the filenames of a set published without a test split into (train, test), 90% / 10%, seeded."""
    filenames = sorted(filenames)
    random.Random(SPLIT_SEED).shuffle(filenames)
    split = len(filenames) - max(1, int(TEST_FRACTION * len(filenames)))
    return filenames[:split], filenames[split:]


def build(data_dir, output_dir, size=SIZE, num_labels=None, jobs=1, overwrite=False):
    """Build output_dir/{train,dev,test}_signs from data_dir. Returns {split: number of images}.

    num_labels: SIGNS's labels are 0 .. num_labels-1 (None: 6); class folders must be that many (None: any).

    The new splits are written in a temporary folder beside output_dir and moved into
    place only once complete (vision/staging.py): an interrupted build, or a failed
    --overwrite, leaves whatever was there before untouched.
    """
    check_not_inside(data_dir, output_dir)
    check_output_dir(output_dir, SPLITS, overwrite)
    skipped = []  # 'file: why' for each file left out
    with temporary_folder_beside(output_dir, '.building-',
                                 "Interrupted: {} was left as it was".format(output_dir)) as tmp_dir:
        raw_dir = raw_folders(data_dir, tmp_dir, num_labels or SIGNS_NUM_LABELS)  # data_dir, or its .h5 files

        # 1. The image files of train_signs/ and test_signs/, or of the class folders (each given a new name)
        if is_class_folders(raw_dir):
            class_names, names, train_filenames, test_filenames = read_class_folders(raw_dir, num_labels, skipped)
        else:
            class_names, names = None, None  # the names already say the labels
            train_filenames, test_filenames = list_train_and_test(raw_dir, num_labels or SIGNS_NUM_LABELS, skipped)

        # 2. Split train_signs into train and dev (a set published without a test split first gives 10% to test)
        made_test = test_filenames is None
        if made_test:
            train_filenames, test_filenames = split_off_test(train_filenames)
        train_filenames, dev_filenames = split_train_dev(train_filenames)
        filenames = {'train_signs': train_filenames, 'dev_signs': dev_filenames, 'test_signs': test_filenames}

        # 3. Resize each image and save it into its split's folder
        new_dir = os.path.join(tmp_dir, 'out')
        counts = resize_splits(filenames, new_dir, size, jobs, skipped, names)

        # Where the images come from, recorded beside the splits: an experiment trained on
        # one data set then knows when it is given another.
        source = {'source': os.path.abspath(data_dir), 'size': size}
        if made_test:
            source['test_split'] = MADE_TEST_SPLIT.format(int(100 * TEST_FRACTION))
        interrupted = move_splits_into_place(new_dir, output_dir, SPLITS, tmp_dir, source, class_names)

    log_summary(counts, skipped, size, output_dir, class_names, made_test)
    if interrupted:
        raise KeyboardInterrupt("Interrupted once the new dataset was in place in {}".format(output_dir))
    return counts


def resize_splits(filenames, output_dir, size, jobs, skipped, names=None):
    """Resize every image of {split: filenames} into output_dir/{split}/, `jobs` images at a time.

    Each is written as {its name}.jpg, or as names[filename] if given. Returns {split: images
    written}; the files that could not be read go to `skipped`.
    """
    tasks = []
    for split in SPLITS:
        output_dir_split = os.path.join(output_dir, split)
        os.makedirs(output_dir_split)
        tasks.extend((filename, output_dir_split, size, names and names[filename]) for filename in filenames[split])
    # One stream of tasks for all the splits, so the processes stay busy to the end.
    errors = {split: [] for split in SPLITS}
    for (filename, output_dir_split, _, _), error in run_in_processes(resize_and_save, tasks, jobs, 'resizing'):
        if error:
            errors[os.path.basename(output_dir_split)].append('{}: {}'.format(filename, error))
    counts = {}
    for split in SPLITS:
        split_errors = sorted(errors[split])
        skipped.extend(split_errors)
        counts[split] = len(filenames[split]) - len(split_errors)
        if counts[split] == 0:
            raise InputError("None of the {} image(s) for {} could be read (first: {}): replace them, "
                             "or add readable images to {}".format(len(filenames[split]), split, split_errors[0],
                                                                   os.path.dirname(filenames[split][0])))
    return counts


def log_summary(counts, skipped, size, output_dir, class_names=None, made_test=False):
    for line in skipped[:20]:
        logging.warning("Skipped %s", line)
    if made_test:
        logging.info("No test split given: test_signs is %s", MADE_TEST_SPLIT.format(int(100 * TEST_FRACTION)))
    summary = "Wrote {} train, {} dev and {} test images of {}x{} to {}".format(
        counts['train_signs'], counts['dev_signs'], counts['test_signs'], size, size, output_dir)
    if class_names:
        summary += ", {} classes ({}): {}".format(len(class_names), CLASSES_FILE, ', '.join(class_names))
    if skipped:
        listed = ' (first 20 listed above)' if len(skipped) > 20 else ''
        summary += "; skipped {} file(s){}".format(len(skipped), listed)
    logging.info(summary)


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    data_dir = args.data_dir or ('data/SYNTHETIC_SIGNS' if args.synthetic else 'data/SIGNS')
    if args.size < 1 or (args.num_labels is not None and args.num_labels < 1) or args.jobs < 1:
        raise InputError("--size, --num_labels and --jobs must be positive")
    check_not_inside(data_dir, args.output_dir)
    check_output_dir(args.output_dir, SPLITS, args.overwrite)
    if args.synthetic:
        write_or_reuse_synthetic_signs(data_dir)
    build(data_dir, args.output_dir, args.size, args.num_labels, args.jobs, args.overwrite)
    logging.info("Done building dataset")


if __name__ == '__main__':
    run_script(main, parser.parse_args())
