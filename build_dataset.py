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

Also accepted in --data_dir: the widely shared HDF5 version (train_signs.h5 and test_signs.h5,
see vision/signs_h5.py), and `--synthetic` writes a generated set of hand signs there first
(see vision/synthetic_signs.py).

Every image is written as {name without extension}.jpg (vision/photos.py: photos of any size,
turned upright as their EXIF note says). Two images of one folder that would get the same name
(0_IMG_1.jpg and 0_IMG_1.png, or 0_IMG_1.jpg and 0_IMG_1.JPG, which are one file on macOS and
Windows) are refused before anything is written: the error names both files and asks to rename
or remove one (vision/raw_signs.py). Names are not changed behind the user's back.
"""
import argparse
import logging
import os
import random

from model.core.errors import InputError, run_script
from model.core.files import check_output_dir
from model.core.params import SEED
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
parser.add_argument('--num_labels', type=int, default=6, help="Labels are the digits 0 .. num_labels-1")
parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                    help="Processes resizing images in parallel (default: all cores)")


def split_train_dev(filenames):
    """Split the filenames into (train, dev), 80% / 20%, the same way on every run."""
    # Make sure to always shuffle with a fixed seed so that the split is reproducible
    filenames = sorted(filenames)
    random.Random(SPLIT_SEED).shuffle(filenames)
    split = int(0.8 * len(filenames))
    return filenames[:split], filenames[split:]


def build(data_dir, output_dir, size=SIZE, num_labels=6, jobs=1, overwrite=False):
    """Build output_dir/{train,dev,test}_signs from data_dir. Returns {split: number of images}.

    The new splits are written in a temporary folder beside output_dir and moved into
    place only once complete (vision/staging.py): an interrupted build, or a failed
    --overwrite, leaves whatever was there before untouched.
    """
    check_not_inside(data_dir, output_dir)
    check_output_dir(output_dir, SPLITS, overwrite)
    skipped = []  # 'file: why' for each file left out
    with temporary_folder_beside(output_dir, '.building-',
                                 "Interrupted: {} was left as it was".format(output_dir)) as tmp_dir:
        raw_dir = raw_folders(data_dir, tmp_dir, num_labels)  # data_dir, or its .h5 files as images

        # 1. The image files of train_signs/ and test_signs/
        train_filenames, test_filenames = list_train_and_test(raw_dir, num_labels, skipped)

        # 2. Split train_signs into train and dev
        train_filenames, dev_filenames = split_train_dev(train_filenames)
        filenames = {'train_signs': train_filenames, 'dev_signs': dev_filenames, 'test_signs': test_filenames}

        # 3. Resize each image and save it into its split's folder
        new_dir = os.path.join(tmp_dir, 'out')
        counts = resize_splits(filenames, new_dir, size, jobs, skipped)

        # Where the images come from, recorded beside the splits: an experiment trained on
        # one data set then knows when it is given another.
        source = {'source': os.path.abspath(data_dir), 'size': size}
        interrupted = move_splits_into_place(new_dir, output_dir, SPLITS, tmp_dir, source)

    log_summary(counts, skipped, size, output_dir)
    if interrupted:
        raise KeyboardInterrupt("Interrupted once the new dataset was in place in {}".format(output_dir))
    return counts


def resize_splits(filenames, output_dir, size, jobs, skipped):
    """Resize every image of {split: filenames} into output_dir/{split}/, `jobs` images at a time.

    Returns {split: images written}; the files that could not be read go to `skipped`.
    """
    tasks = []
    for split in SPLITS:
        output_dir_split = os.path.join(output_dir, split)
        os.makedirs(output_dir_split)
        tasks.extend((filename, output_dir_split, size) for filename in filenames[split])
    # One stream of tasks for all the splits, so the processes stay busy to the end.
    errors = {split: [] for split in SPLITS}
    for (filename, output_dir_split, _), error in run_in_processes(resize_and_save, tasks, jobs, 'resizing'):
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


def log_summary(counts, skipped, size, output_dir):
    for line in skipped[:20]:
        logging.warning("Skipped %s", line)
    summary = "Wrote {} train, {} dev and {} test images of {}x{} to {}".format(
        counts['train_signs'], counts['dev_signs'], counts['test_signs'], size, size, output_dir)
    if skipped:
        listed = ' (first 20 listed above)' if len(skipped) > 20 else ''
        summary += "; skipped {} file(s){}".format(len(skipped), listed)
    logging.info(summary)


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    data_dir = args.data_dir or ('data/SYNTHETIC_SIGNS' if args.synthetic else 'data/SIGNS')
    if args.size < 1 or args.num_labels < 1 or args.jobs < 1:
        raise InputError("--size, --num_labels and --jobs must be positive")
    check_not_inside(data_dir, args.output_dir)
    check_output_dir(args.output_dir, SPLITS, args.overwrite)
    if args.synthetic:
        write_or_reuse_synthetic_signs(data_dir)
    build(data_dir, args.output_dir, args.size, args.num_labels, args.jobs, args.overwrite)
    logging.info("Done building dataset")


if __name__ == '__main__':
    run_script(main, parser.parse_args())
