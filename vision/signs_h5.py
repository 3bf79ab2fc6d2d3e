"""The widely shared HDF5 version of SIGNS (train_signs.h5 and test_signs.h5), written out as image files.

It holds the 64x64 arrays under train_set_x / train_set_y and test_set_x / test_set_y.
Once written as {label}_IMG_{index}.png files in the course's layout, they go through
build_dataset.py like photos.
"""
import logging
import os

from PIL import Image

from model.core.errors import InputError
from vision.raw_signs import MIN_IMAGES

# The two splits of the download and the prefix of their arrays.
H5_SPLITS = (('train_signs', 'train_set'), ('test_signs', 'test_set'))


def raw_folders(data_dir, tmp_dir, num_labels):
    """The folder holding train_signs/ and test_signs/: data_dir, or tmp_dir/raw written from data_dir's .h5 files."""
    if not os.path.isdir(os.path.join(data_dir, 'train_signs')) and has_h5(data_dir):
        logging.info("Reading the HDF5 version of SIGNS in {}".format(data_dir))
        extract_h5(data_dir, os.path.join(tmp_dir, 'raw'), num_labels)
        return os.path.join(tmp_dir, 'raw')
    if not os.path.isdir(data_dir):
        raise InputError("No folder {}: put the SIGNS dataset there, or run python build_dataset.py "
                         "--synthetic for a generated one".format(data_dir))
    return data_dir


def has_h5(data_dir):
    return all(os.path.isfile(os.path.join(data_dir, split + '.h5')) for split, _ in H5_SPLITS)


def extract_h5(data_dir, raw_dir, num_labels):
    """Write the images of train_signs.h5 / test_signs.h5 as {label}_IMG_{index}.png into raw_dir."""
    import h5py  # comes with TensorFlow; imported here since only this path needs it
    for split, prefix in H5_SPLITS:
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
