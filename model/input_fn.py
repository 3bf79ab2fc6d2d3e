"""Create the input data pipeline using `tf.data`"""
import logging
import os
from collections import namedtuple

from model.image_resize import resize_like_build_dataset
from model.memory import cache_budget, mb
from model.params import SEED
from model.tf_compat import fixed_settings, tf


def file_bytes(filenames):
    """File names as bytes, as the file system has them: a name that is not UTF-8 is still read."""
    return [os.fsencode(name) for name in filenames]


def _parse_function(filename, label, size):
    """Obtain the image from the filename (for both training and validation).

    The following operations are applied:
        - Decode the image from jpeg (or png) format, always as 3 channels (RGB)
        - Convert to float and to range [0, 1]
        - Resize to size x size
    """
    image_string = tf.read_file(filename)
    return decode_and_resize(image_string, size), label


def decode_and_resize(image_string, size):
    """The steps of _parse_function after reading the file; predict mode shares them (see decode_new_image)."""
    return to_float_and_resize(decode(image_string), size)


def decode(image_string):
    """The encoded image as decoded, 3 channels of uint8: what the uint8 image cache keeps."""
    return tf.image.decode_image(image_string, channels=3, expand_animations=False)


def to_float_and_resize(image, size):
    """The rest of decode_and_resize, from the decoded uint8 image."""
    # This will convert to float values in [0, 1]
    image = tf.image.convert_image_dtype(image, tf.float32)
    resized_image = tf.image.resize_images(image, [size, size])
    return resized_image


# Each training image gets its own three random draws, numbered from 3 * (its index in the epoch):
# one for the flip, one for the brightness, one for the saturation.
DRAWS_PER_IMAGE = 3
FLIP_DRAW, BRIGHTNESS_DRAW, SATURATION_DRAW = 0, 1, 2


def _random_uniform(seed, index, minval, maxval):
    """A random number that depends only on (seed, index, which draw): same every run, any thread order."""
    return tf.random.stateless_uniform([], seed=tf.stack([seed, index]), minval=minval, maxval=maxval)


def train_preprocess(image, label, seed, use_random_flip):
    """Image preprocessing for training.

    Apply the following operations:
        - Horizontally flip the image with probability 1/2
        - Apply random brightness and saturation

    The random draws are stateless, keyed on (seed, draw number): the parallel map
    threads may run in any order and the result is still the same on every run.
    """
    if use_random_flip:
        flip = _random_uniform(seed[0], seed[1] + FLIP_DRAW, 0., 1.) < 0.5
        # tf.where rather than tf.cond: the same pixels, without calling a branch function per image.
        image = tf.where(flip, tf.image.flip_left_right(image), image)
    image = image + _random_uniform(seed[0], seed[1] + BRIGHTNESS_DRAW, -32. / 255., 32. / 255.)
    image = tf.image.adjust_saturation(image, _random_uniform(seed[0], seed[1] + SATURATION_DRAW, 0.5, 1.5))

    # Make sure the image is still in [0, 1]
    image = tf.clip_by_value(image, 0.0, 1.0)

    return image, label


# --- The image cache: in which form, and whether it fits ----------------------------------------------

# While the first epoch decodes the images into one tensor, the process grows by more than the
# tensor: by 1.24 to 1.3 times its size when decoding alone, by 1.9 times the two caches in a
# whole training run on 43,200 + 10,800 images of 64x64 (benchmarks/README.md).
PEAK_FACTOR = 2

# How a split's decoded images are kept: `dtype` 'uint8' (as decoded, each converted and resized
# every epoch) or 'float32' (as _parse_function gives them); `side` as 'WxH'; `num_bytes` of all.
Cache = namedtuple('Cache', 'dtype side num_bytes')


def image_sizes(filenames):
    """The (width, height) of the images, from their headers (no pixels are read): a set.

    It stops at the second size found. A file whose size cannot be read counts as a size of
    its own, None: TensorFlow's decoding says what is wrong with it (see model/image_check.py).
    """
    sizes = set()
    for filename in filenames:
        sizes.add(header_size(filename))
        if len(sizes) > 1:
            break
    return sizes


PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# The JPEG markers that start a frame header (SOF0-3, 5-7, 9-11, 13-15), which holds the size.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def header_size(filename):
    """(width, height) of a PNG or JPEG file from its first bytes, else as Pillow reads it; None if unreadable.

    About ten times faster than Pillow's open (which also parses the JPEG tables): 40,000
    files take a few seconds, not half a minute.
    """
    try:
        with open(filename, 'rb') as f:
            start = f.read(24)
            if start[:8] == PNG_SIGNATURE and start[12:16] == b'IHDR':
                return int.from_bytes(start[16:20], 'big'), int.from_bytes(start[20:24], 'big')
            if start[:2] == b'\xff\xd8':
                f.seek(2)
                while True:
                    segment = f.read(4)  # 0xFF, the marker, the segment's length (2 bytes, counting itself)
                    if len(segment) < 4 or segment[0] != 0xFF or segment[1] in (0xD9, 0xDA):
                        break  # not a segment, or the end or the scan before any frame: Pillow's turn
                    if segment[1] == 0xFF:  # a fill byte before the marker
                        f.seek(-3, 1)
                        continue
                    if segment[1] in JPEG_FRAME_MARKERS:
                        frame = f.read(5)  # precision, height, width
                        if len(frame) == 5:
                            return int.from_bytes(frame[3:5], 'big'), int.from_bytes(frame[1:3], 'big')
                        break
                    f.seek(int.from_bytes(segment[2:4], 'big') - 2, 1)
    except OSError:
        return None
    return _pillow_size(filename)


def _pillow_size(filename):
    import warnings

    from PIL import Image
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)  # a big photo is no threat here
        try:
            with Image.open(filename) as image:
                return image.size
        except (OSError, ValueError, Image.DecompressionBombError):
            return None


def smallest_exact_cache(filenames, size):
    """The Cache of the smallest form that gives exactly the pixels of _parse_function, and why that form.

    uint8 as decoded needs every image to have the same size (one tensor holds them all); it
    takes 3 bytes a pixel at that size, float32 takes 12 at size x size (after the resize).
    """
    float32 = Cache('float32', '{0}x{0}'.format(size), len(filenames) * size * size * 3 * 4)
    sizes = image_sizes(filenames)
    if len(sizes) != 1 or None in sizes:
        known = sorted('{}x{}'.format(*wh) for wh in sizes if wh is not None)
        return float32, 'the images are not all the same size: {}'.format(
            ' and '.join(known + (['an unreadable one'] if None in sizes else [])))
    (width, height), = sizes
    uint8 = Cache('uint8', '{}x{}'.format(width, height), len(filenames) * width * height * 3)
    if uint8.num_bytes <= float32.num_bytes:
        return uint8, 'as decoded'
    return float32, 'smaller than uint8 at {}'.format(uint8.side)


def choose_cache(filenames, params, what):
    """The Cache to keep the decoded images of `filenames` in, or None to read the files every epoch.

    Logs one line saying which and why, with the figures. `what` names the images in it.
    """
    if not params.cache_images:
        logging.info("%s: read from the files every epoch (cache_images is false in params.json)", what)
        return None
    cache, why = smallest_exact_cache(filenames, params.image_size)
    budget, budget_source = cache_budget(params)
    figures = "{} images as {} {} ({}): {} MB, up to {} MB while the first epoch decodes them".format(
        len(filenames), cache.dtype, cache.side, why, mb(cache.num_bytes), mb(PEAK_FACTOR * cache.num_bytes))
    if PEAK_FACTOR * cache.num_bytes <= budget:
        logging.info("%s: decoded once, then kept in memory, within the cache budget of %s MB (%s): %s",
                     what, mb(budget), budget_source, figures)
        return cache
    logging.info("%s: read from the files every epoch, as in memory they would pass the cache budget of %s MB "
                 "(%s): %s", what, mb(budget), budget_source, figures)
    return None


def _decoded_once(dataset, decode_fn, num_samples, params):
    """Every image of `dataset` decoded by `decode_fn`, as one tensor, decoded in the first epoch only.

    A one-shot iterator is made once per Session and keeps its dataset, so the cache()
    in it lasts: each later run of iterator_init_op reads the images from memory. (A
    cache() in the initializable pipeline would not last: iterator_init_op rebuilds that
    dataset, its cache included.)
    """
    decoded = (dataset
               .map(decode_fn, num_parallel_calls=params.num_parallel_calls)
               .batch(num_samples)  # the whole set as one element (tf.data fuses map and batch: no second copy)
               .cache()
               .repeat()
               .prefetch(1))  # asks for the next element at once: the cache sees the end and is complete
    # A one-shot iterator takes an operation seed from the graph's count (for random ops in its
    # dataset: there are none). input_fn has taken one on every path (see there): not a second.
    graph = tf.get_default_graph()
    graph_seed, graph.seed = graph.seed, None
    try:
        iterator = tf.data.make_one_shot_iterator(fixed_settings(decoded))
    finally:
        graph.seed = graph_seed
    return iterator.get_next()


def input_fn(is_training, filenames, labels, params):
    """Input function for the SIGNS dataset.

    The filenames have format "{label}_IMG_{id}.jpg".
    For instance: "data_dir/2_IMG_4584.jpg".

    Args:
        is_training: (bool) whether to use the train or test pipeline.
                     At training, we shuffle the data and have multiple epochs
        filenames: (list) filenames of the images, as ["data_dir/{label}_IMG_{id}.jpg"...]
        labels: (list) corresponding list of labels (for new images without labels: predict_input_fn)
        params: (Params) contains hyperparameters of the model (ex: `params.num_epochs`)

    Returns:
        inputs: (dict) with the `images`, the `labels` and the `iterator_init_op`
    """
    num_samples = len(filenames)
    assert len(filenames) == len(labels), "Filenames and labels should have same length"
    # With a graph seed, a random op made without its own seed gets the next number of a count
    # the graph keeps, and the model's initial weights are made after the input pipelines. A
    # one-shot iterator takes a number too: input_fn takes exactly one on every path (the
    # cache's iterator none, see _decoded_once), so the weights, and the metrics, are the same
    # whether the images are cached or read from the files.
    tf.get_seed(None)

    # Create a Dataset serving batches of images and labels
    # We don't repeat for multiple epochs because we always train and evaluate for one epoch
    parse_fn = lambda f, l: _parse_function(f, l, params.image_size)
    dataset = tf.data.Dataset.from_tensor_slices((tf.constant(file_bytes(filenames)), tf.constant(labels)))
    cache = choose_cache(filenames, params, 'Training images' if is_training else 'Evaluation images')
    if cache is not None:
        # Decoded in the first epoch only, then served from memory (see _decoded_once). The
        # pipeline below goes through the numbers of the images, and each is looked up in the
        # cache: a shuffle buffer of images would hold a second copy of the whole set.
        if cache.dtype == 'uint8':  # the rest of _parse_function is done every epoch
            decode_fn = lambda f, l: decode(tf.read_file(f))
            finish = lambda image: to_float_and_resize(image, params.image_size)
        else:
            decode_fn = lambda f, l: parse_fn(f, l)[0]
            finish = lambda image: image
        images = _decoded_once(dataset, decode_fn, num_samples, params)
        cached_labels = tf.constant(labels)
        parse_fn = lambda index: (finish(tf.gather(images, index)), tf.gather(cached_labels, index))
        dataset = tf.data.Dataset.range(num_samples)

    if is_training:
        # Every run of iterator_init_op rebuilds the dataset: seeding the shuffle with
        # the global step gives each epoch a new order, the same on every run, and the
        # right one when training resumes from a checkpoint. The order depends on the
        # seed only, not on the elements: file names, or numbers in the cache, it is the same.
        epoch_seed = SEED + tf.cast(tf.train.get_or_create_global_step(), tf.int64)
        dataset = dataset.shuffle(num_samples, seed=epoch_seed)  # whole dataset into the buffer ensures good shuffling

    # After the shuffle: the shuffle buffer keeps file names (or numbers), not images.
    dataset = dataset.map(parse_fn, num_parallel_calls=params.num_parallel_calls)

    if is_training:
        train_fn = lambda index, example: train_preprocess(
            *example, (epoch_seed, DRAWS_PER_IMAGE * index), params.use_random_flip)
        dataset = (dataset
                   .enumerate()  # the draw number of each image's random augmentation
                   .map(train_fn, num_parallel_calls=params.num_parallel_calls))

    dataset = (dataset
               .batch(params.batch_size)
               .prefetch(1)  # make sure you always have one batch ready to serve
               )

    # Create reinitializable iterator from dataset
    iterator = tf.data.make_initializable_iterator(fixed_settings(dataset))
    images, labels = iterator.get_next()
    iterator_init_op = iterator.initializer

    inputs = {'images': images, 'labels': labels, 'iterator_init_op': iterator_init_op}
    return inputs


# -----------------------------------------------------------
# PREDICT MODE: new images without labels, for predict.py and export.py.
# A new photo of any size first goes through build_dataset.py's resizing (done in the
# graph, see model/image_resize.py), then through the same decoding as evaluation.

def decode_new_image(image_string, params):
    """An encoded image of any size (JPEG, PNG...) -> the float image the model takes, prepared as in training."""
    built = resize_like_build_dataset(image_string, params.dataset_image_size)
    return decode_and_resize(built, params.image_size)


def predict_input_fn(filenames, params):
    """Batches of the images in `filenames`, in order, without labels and without augmentation.

    A file that cannot be decoded as an image is left out of the batches instead of
    stopping the run: the `filenames` returned next to the `images` say which were read.

    Returns:
        inputs: (dict) with the `images`, their `filenames` and the `iterator_init_op`
    """
    read_fn = lambda filename: (filename, decode_new_image(tf.read_file(filename), params))
    dataset = (tf.data.Dataset.from_tensor_slices(tf.constant(file_bytes(filenames), tf.string))
               .map(read_fn, num_parallel_calls=params.num_parallel_calls)
               .ignore_errors()  # an unreadable file: predict.py names it
               .batch(params.batch_size)
               .prefetch(1)
               )
    iterator = tf.data.make_initializable_iterator(dataset)
    read_filenames, images = iterator.get_next()
    return {'images': images, 'filenames': read_filenames, 'iterator_init_op': iterator.initializer}


def serving_input_fn(params):
    """The input of the exported model: a batch of encoded images (JPEG or PNG bytes, any size).

    Returns:
        inputs: (dict) with the `image_bytes` placeholder and the `images` the model takes
    """
    image_bytes = tf.placeholder(tf.string, [None], name='image_bytes')
    images = tf.map_fn(lambda image_string: decode_new_image(image_string, params), image_bytes,
                       fn_output_signature=tf.float32, back_prop=False)
    return {'image_bytes': image_bytes, 'images': images}
