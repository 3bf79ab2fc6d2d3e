"""Split the SIGNS dataset into train/dev/test and resize images to 64x64.

The SIGNS dataset comes in the following format:
    train_signs/
        0_IMG_5864.jpg
        ...
    test_signs/
        0_IMG_5942.jpg
        ...

Original images have size (3024, 3024).
Resizing to (64, 64) reduces the dataset size from 1.16 GB to 4.7 MB, and loading smaller images
makes training faster.

We already have a test set created, so we only need to split "train_signs" into train and dev sets.
Because we don't have a lot of images and we want that the statistics on the dev set be as
representative as possible, we'll take 20% of "train_signs" as dev set.

Also accepted in --data_dir: the widely shared HDF5 version (train_signs.h5 and test_signs.h5),
and `--synthetic` writes a generated set of hand signs there first (see vision/synthetic_signs.py).

Every image is written as {name without extension}.jpg. Two images of one folder that would
get the same name (0_IMG_1.jpg and 0_IMG_1.png, or 0_IMG_1.jpg and 0_IMG_1.JPG, which are one
file on macOS and Windows) are refused before anything is written: the error names both files
and asks to rename or remove one. Names are not changed behind the user's back.
"""
import argparse
import contextlib
import logging
import multiprocessing
import os
import random
import shlex
import shutil
import signal
import tempfile
import unicodedata

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from model.core.errors import InputError, run_script
from model.core.files import check_output_dir, save_dict_to_json
from model.core.interrupts import sigint_deferred, sigint_ignored
from model.core.params import SEED
from vision.example import SOURCE_FILE
from vision.image_files import IMAGE_EXTENSIONS, JPEG_QUALITY, SIZE, label_problem, scan_folder, split_by_label

SPLITS = ('train_signs', 'dev_signs', 'test_signs')
# Usable images a raw split needs: train_signs gives 80% to train and 20% to dev, at least one to each.
MIN_IMAGES = {'train_signs': 2, 'test_signs': 1}
# Seed of the shuffle that splits train_signs into train and dev: the course's seed, kept so
# that the split, and so the dev metrics, stay those of the original starter code.
SPLIT_SEED = SEED
# Largest image decoded in full (a 6000x4000 photo). A JPEG decodes at 1/8 scale and stays far below;
# a PNG cannot, and one of 12000x12000 would take 0.8 GB in each worker. PIL itself refuses 179 M pixels.
MAX_DECODED_PIXELS = 24_000_000
# The EXIF Orientation tag, and the values for which PIL's exif_transpose turns an image (others mean upright).
EXIF_ORIENTATION = 0x0112
EXIF_TURNS = range(2, 9)
# What PIL calls the formats read (MPO: a phone's JPEG holding more than one picture), and the modes
# of their images that convert('RGB') makes RGB as TensorFlow does. to_rgb handles SIXTEEN_BIT_GRAY.
READ_FORMATS = ('JPEG', 'MPO', 'PNG')
CONVERTED_MODES = ('1', 'L', 'LA', 'P', 'PA', 'RGB', 'RGBA', 'CMYK')
SIXTEEN_BIT_GRAY = ('I;16', 'I;16B', 'I;16L', 'I;16N')

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


def keeps_as_is(image, size):
    """Whether the (just opened) image is written unchanged: a colour JPEG of size x size, upright.

    That is what this script writes, so running it on its own output gives the same
    files, and predict.py on a built file sees what evaluate.py sees. Any other image,
    a 64x64 PNG or a 128x128 JPEG that decodes at 1/2 scale to 64x64 included, is
    resized (a no-op at the same size) and compressed. vision/image_resize.py decides the same way.
    """
    return (image.format in ('JPEG', 'MPO') and image.mode == 'RGB' and image.size == (size, size)
            and image.getexif().get(EXIF_ORIENTATION, 1) not in EXIF_TURNS)


def to_rgb(image):
    """The image in RGB, 8 bits a channel, as TensorFlow's decoders give it (vision/image_resize.py).

    PIL's convert('RGB') does just that for the modes of JPEG and PNG files, except
    16-bit grayscale (I;16): it clips each value to 255, and the picture turns white.
    There the high byte is kept, as for 16-bit colour PNGs, which PIL opens as RGB(A).
    """
    if image.mode in SIXTEEN_BIT_GRAY:
        high_bytes = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
        return Image.fromarray(high_bytes, 'L').convert('RGB')
    if image.mode not in CONVERTED_MODES:
        raise ValueError('an image in mode {}, which predict.py cannot read the same way: '
                         'save it as an 8-bit RGB JPEG or PNG'.format(image.mode))
    return image.convert('RGB')


def check_format(image):
    """Raise ValueError unless PIL opened a JPEG or a PNG, the formats predict.py reads (whatever the name)."""
    if image.format not in READ_FORMATS:
        raise ValueError('a {} image, not JPEG or PNG: save it as JPEG or PNG (predict.py refuses it too)'.format(
            image.format))


def resize_image(filename, size=SIZE):
    """The image in `filename` as this script stores it: upright, RGB, size x size (a PIL Image).

    predict.py and export.py do the same steps inside the TensorFlow graph
    (vision/image_resize.py); tests/test_predict.py checks both give the same pixels.
    Raises what PIL raises on a file it cannot read, and ValueError on one too large to decode.
    """
    with Image.open(filename) as image:
        check_format(image)
        return _resized(image, size)


def _resized(image, size):
    # JPEG can decode straight at 1/2, 1/4 or 1/8 scale (still at least `size`):
    # for 3000x3000 photos that is most of the work saved.
    image.draft('RGB', (size, size))
    if image.width * image.height > MAX_DECODED_PIXELS:
        raise ValueError('too large to decode: {}x{} pixels (the limit is {} million); make it smaller first'.format(
            image.width, image.height, MAX_DECODED_PIXELS // 1_000_000))
    # Photos from phones are often stored sideways with an EXIF note to rotate them.
    image = to_rgb(ImageOps.exif_transpose(image))
    # Use bilinear interpolation instead of the default "nearest neighbor" method
    # (to the same size, PIL's resize is a copy: the pixels as decoded)
    return image.resize((size, size), Image.BILINEAR)


def resize_and_save(filename, output_dir, size=SIZE):
    """Resize the image contained in `filename` and save it to the `output_dir` as {stem}.jpg.

    A JPEG that keeps_as_is is copied, once it is known to decode. Returns None on
    success, or why the file could not be read (it is then skipped).
    """
    target = os.path.join(output_dir, output_name(filename))
    try:
        with Image.open(filename) as image:
            check_format(image)
            if keeps_as_is(image, size):
                image.load()  # a truncated or broken file is skipped like any other
                shutil.copyfile(filename, target)
                return None
            image = _resized(image, size)
    except UnidentifiedImageError:
        return 'not an image PIL can read: replace or remove it'
    except ValueError as e:  # ours, which say what to do
        return str(e)
    except (OSError, Image.DecompressionBombError) as e:
        return 'unreadable image ({})'.format(e)
    image.save(target, quality=JPEG_QUALITY)
    return None


def _resize_task(task):
    """Pool worker: (filename, output_dir, size) -> (task, error or None)."""
    return task, resize_and_save(*task)


def list_split(split_dir, num_labels, skipped):
    """Image files of a raw split folder, sorted. Files that are not usable are added to `skipped`."""
    if not os.path.isdir(split_dir):
        raise InputError("No folder {}: put the SIGNS images there ({{label}}_IMG_{{id}}.jpg in train_signs/ "
                         "and test_signs/), or run python build_dataset.py --synthetic".format(split_dir))
    images, others = scan_folder(split_dir)
    labelled, unlabelled = split_by_label(images, num_labels)
    skipped.extend('{}: not an image file ({})'.format(path, ', '.join(IMAGE_EXTENSIONS)) for path in others)
    skipped.extend(label_problem(path, num_labels) for path in unlabelled)
    filenames = [path for path, _ in labelled]
    if not filenames:
        raise InputError("{} holds no usable images: expected files named {{label}}_IMG_{{id}}.jpg".format(split_dir))
    return filenames


def split_train_dev(filenames):
    """Split the filenames into (train, dev), 80% / 20%, the same way on every run."""
    # Make sure to always shuffle with a fixed seed so that the split is reproducible
    filenames = sorted(filenames)
    random.Random(SPLIT_SEED).shuffle(filenames)
    split = int(0.8 * len(filenames))
    return filenames[:split], filenames[split:]


def check_not_inside(data_dir, output_dir):
    """Refuse an --output_dir that is --data_dir: --overwrite would replace the raw images by the resized ones."""
    if os.path.isdir(data_dir) and os.path.isdir(output_dir) and os.path.samefile(data_dir, output_dir):
        raise InputError("--output_dir {} is the --data_dir: the resized images would replace the originals; "
                         "choose another --output_dir".format(output_dir))


def resize_splits(splits, output_dir, size, jobs, skipped):
    """Resize every image of {split: filenames} into output_dir/split/, with `jobs` processes."""
    tasks = []
    for split, filenames in splits.items():
        split_dir = os.path.join(output_dir, split)
        os.makedirs(split_dir)
        tasks.extend((filename, split_dir, size) for filename in filenames)
    errors = {split: [] for split in splits}
    # One stream of tasks for all the splits, in chunks small enough that the processes
    # finish together (a split whose images fit in one chunk would keep a single core busy).
    chunksize = max(1, min(8, len(tasks) // (4 * jobs)))
    with _task_runner(jobs) as run:
        for (filename, split_dir, _), error in tqdm(run(_resize_task, tasks, chunksize), total=len(tasks),
                                                     desc='resizing', disable=None):
            if error:
                errors[os.path.basename(split_dir)].append(error_line(filename, error))
    counts = {}
    for split, filenames in splits.items():
        split_errors = sorted(errors[split])
        skipped.extend(split_errors)
        counts[split] = len(filenames) - len(split_errors)
        if counts[split] == 0:
            raise InputError("None of the {} image(s) for {} could be read (first: {}): replace them, "
                             "or add readable images to {}".format(len(filenames), split, split_errors[0],
                                                                   os.path.dirname(filenames[0])))
    return counts


@contextlib.contextmanager
def _task_runner(jobs):
    """Yield a function like Pool.imap_unordered, running in `jobs` processes (in this one if `jobs` is 1)."""
    if jobs == 1:  # no process to start
        yield lambda function, tasks, chunksize: map(function, tasks)
        return
    # 'spawn': workers start clean, even when the calling process has TensorFlow's threads running.
    # Ctrl-C reaches every process of the terminal's group: the workers ignore it (from their start,
    # as an ignored signal stays ignored in a new process) and this process stops them.
    with sigint_ignored():
        pool = multiprocessing.get_context('spawn').Pool(jobs, initializer=_ignore_sigint)
    with pool:
        yield pool.imap_unordered


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def error_line(filename, error):
    return '{}: {}'.format(filename, error)


def output_name(filename):
    """The name of the file written for `filename`: its name with the extension .jpg."""
    return os.path.splitext(os.path.basename(filename))[0] + '.jpg'


def check_distinct_outputs(filenames):
    """Raise InputError if two of `filenames` (one raw folder) would be written to the same file.

    Names equal but for case or Unicode normalisation count as the same: they are one
    file on macOS and Windows disks (and the dataset may be copied there).
    """
    seen = {}
    for filename in filenames:
        name = output_name(filename)
        key = unicodedata.normalize('NFC', name).lower()
        if key in seen:
            raise InputError("{} and {} would both be written as {}: rename or remove one of them".format(
                seen[key], filename, name))
        seen[key] = filename


def splits_from_folders(data_dir, num_labels, skipped):
    """{split: filenames} from the course's layout: data_dir/train_signs/ and data_dir/test_signs/."""
    train_filenames = list_split(os.path.join(data_dir, 'train_signs'), num_labels, skipped)
    test_filenames = list_split(os.path.join(data_dir, 'test_signs'), num_labels, skipped)
    if len(train_filenames) < MIN_IMAGES['train_signs']:
        raise InputError("{} holds only {} usable image: at least {} are needed, 80% for train_signs and "
                         "20% for dev_signs; add images to it".format(
                             os.path.join(data_dir, 'train_signs'), len(train_filenames), MIN_IMAGES['train_signs']))
    # Before the split: two such files would otherwise land in train and dev, one picture twice.
    check_distinct_outputs(train_filenames)
    check_distinct_outputs(test_filenames)
    train_filenames, dev_filenames = split_train_dev(train_filenames)
    return {'train_signs': train_filenames, 'dev_signs': dev_filenames, 'test_signs': test_filenames}


def extract_h5(data_dir, raw_dir, num_labels):
    """Write the images of train_signs.h5 / test_signs.h5 as {label}_IMG_{index}.png into raw_dir.

    The HDF5 version holds the 64x64 arrays under train_set_x / train_set_y and
    test_set_x / test_set_y. Once written as files, they go through the same path as photos.
    """
    import h5py  # comes with TensorFlow; imported here since only this path needs it
    for split, prefix in (('train_signs', 'train_set'), ('test_signs', 'test_set')):
        h5_path = os.path.join(data_dir, split + '.h5')
        try:
            with h5py.File(h5_path, 'r') as f:
                images, labels = f[prefix + '_x'][:], f[prefix + '_y'][:].reshape(-1)
        except (OSError, KeyError) as e:
            raise InputError("{} is not the SIGNS HDF5 file (needs {}_x and {}_y): {}".format(
                h5_path, prefix, prefix, e)) from None
        if images.dtype != 'uint8' or images.ndim != 4 or images.shape[3] != 3 or len(labels) != len(images):
            raise InputError("{}: {}_x must hold N images as uint8 (N, height, width, 3) and {}_y N labels; it holds "
                             "{} {} and {} labels".format(h5_path, prefix, prefix, images.dtype, images.shape,
                                                          len(labels)))
        if len(images) < MIN_IMAGES[split]:
            raise InputError("{} holds {} image(s): at least {} are needed".format(
                h5_path, len(images), MIN_IMAGES[split]))
        os.makedirs(os.path.join(raw_dir, split))
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            if not 0 <= int(label) < num_labels:
                raise InputError("{}: label {} of image {} is not in 0..{}".format(
                    h5_path, label, index, num_labels - 1))
            name = '{}_IMG_{:04d}.png'.format(int(label), index)
            Image.fromarray(image).convert('RGB').save(os.path.join(raw_dir, split, name))


def has_h5(data_dir):
    return all(os.path.isfile(os.path.join(data_dir, s + '.h5')) for s in ('train_signs', 'test_signs'))


def build(data_dir, output_dir, size=SIZE, num_labels=6, jobs=1, overwrite=False):
    """Build output_dir/{train,dev,test}_signs from data_dir. Returns {split: number of images}.

    The new splits are written in a temporary folder beside output_dir and moved into
    place only once complete: an interrupted build, or a failed --overwrite, leaves
    whatever was there before untouched. Ctrl-C while the splits are moved into place
    waits for the move to finish.
    """
    check_not_inside(data_dir, output_dir)
    check_output_dir(output_dir, SPLITS, overwrite)
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    skipped = []
    # Where the images come from, recorded beside the splits (vision/example.py's SOURCE_FILE): an
    # experiment trained on one data set then knows when it is given another.
    source = {'source': os.path.abspath(data_dir), 'size': size}
    try:
        with tempfile.TemporaryDirectory(prefix='.building-', dir=parent) as tmp_dir:
            if not os.path.isdir(os.path.join(data_dir, 'train_signs')) and has_h5(data_dir):
                logging.info("Reading the HDF5 version of SIGNS in {}".format(data_dir))
                extract_h5(data_dir, os.path.join(tmp_dir, 'raw'), num_labels)
                data_dir = os.path.join(tmp_dir, 'raw')
            if not os.path.isdir(data_dir):
                raise InputError("No folder {}: put the SIGNS dataset there, or run python build_dataset.py "
                                 "--synthetic for a generated one".format(data_dir))
            splits = splits_from_folders(data_dir, num_labels, skipped)
            new_dir = os.path.join(tmp_dir, 'out')
            counts = resize_splits(splits, new_dir, size, jobs, skipped)
            with sigint_deferred() as interrupted:
                os.makedirs(output_dir, exist_ok=True)
                for split in SPLITS:
                    target = os.path.join(output_dir, split)
                    if os.path.isdir(target):  # only with --overwrite: check_output_dir refused otherwise
                        shutil.move(target, os.path.join(tmp_dir, 'old-' + split))
                    shutil.move(os.path.join(new_dir, split), target)
                save_dict_to_json(source, os.path.join(output_dir, SOURCE_FILE))
    except KeyboardInterrupt:
        raise KeyboardInterrupt("Interrupted: {} was left as it was".format(output_dir)) from None

    for line in skipped[:20]:
        logging.warning("Skipped %s", line)
    summary = "Wrote {} train, {} dev and {} test images of {}x{} to {}".format(
        counts['train_signs'], counts['dev_signs'], counts['test_signs'], size, size, output_dir)
    if skipped:
        summary += "; skipped {} file(s){}".format(len(skipped), ' (first 20 listed above)' if len(skipped) > 20 else '')
    logging.info(summary)
    if interrupted:
        raise KeyboardInterrupt("Interrupted once the new dataset was in place in {}".format(output_dir))
    return counts


def write_synthetic(data_dir):
    """Write the synthetic raw set into data_dir (see vision/synthetic_signs.py), or reuse it if already there.

    The set is the same on every run: a data_dir holding exactly it (checked against
    the manifest written with it) is used as it is. A data_dir with other images is
    never written into: the error says what to type. The set is written in a temporary
    folder beside data_dir and moved in when complete, so an interrupted run leaves
    nothing that a second run would refuse to write over.
    """
    from vision.synthetic_signs import MANIFEST, is_synthetic_set, write_synthetic_signs
    progress = lambda jobs: tqdm(jobs, desc='synthetic', disable=None)
    if os.path.exists(data_dir):
        same, difference = is_synthetic_set(data_dir)
        if same:
            logging.info("Using the synthetic SIGNS dataset already in {}".format(data_dir))
            return
        if any(scan_folder(os.path.join(data_dir, split))[0] for split in ('train_signs', 'test_signs')
               if os.path.isdir(os.path.join(data_dir, split))):
            raise InputError("{} holds images that are not the synthetic set ({}): to write it again, delete "
                             "the folder first (rm -r {}), or pass another --data_dir".format(
                                 data_dir, difference, shlex.quote(data_dir)))
    logging.info("Writing a synthetic SIGNS dataset into {}".format(data_dir))
    parent = os.path.dirname(os.path.abspath(data_dir))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='.synthetic-', dir=parent) as tmp_dir:
        raw = os.path.join(tmp_dir, 'raw')
        try:
            write_synthetic_signs(raw, progress=progress)
        except KeyboardInterrupt:
            raise KeyboardInterrupt("Interrupted: nothing was written to {}".format(data_dir)) from None
        with sigint_deferred() as interrupted:
            if not os.path.exists(data_dir):
                os.rename(raw, data_dir)
            else:  # a folder without images (checked above): the files go in, the manifest last
                for split in ('train_signs', 'test_signs'):
                    os.makedirs(os.path.join(data_dir, split), exist_ok=True)
                    for name in os.listdir(os.path.join(raw, split)):
                        os.replace(os.path.join(raw, split, name), os.path.join(data_dir, split, name))
                os.replace(os.path.join(raw, MANIFEST), os.path.join(data_dir, MANIFEST))
    if interrupted:
        raise KeyboardInterrupt("Interrupted once the synthetic set was written to {}".format(data_dir))


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    data_dir = args.data_dir or ('data/SYNTHETIC_SIGNS' if args.synthetic else 'data/SIGNS')
    if args.size < 1 or args.num_labels < 1 or args.jobs < 1:
        raise InputError("--size, --num_labels and --jobs must be positive")
    check_not_inside(data_dir, args.output_dir)
    check_output_dir(args.output_dir, SPLITS, args.overwrite)
    if args.synthetic:
        write_synthetic(data_dir)
    build(data_dir, args.output_dir, args.size, args.num_labels, args.jobs, args.overwrite)
    logging.info("Done building dataset")


if __name__ == '__main__':
    run_script(main, parser.parse_args())
