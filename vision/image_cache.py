"""The image cache of the vision input pipeline: decode the images once, keep them in memory.

input_fn asks `decoded_once` for its images. When a split's decoded images fit in the
cache budget (model/core/memory.py), they are decoded in the first epoch only, in the
smallest form that gives exactly the pixels of reading the files (uint8 as decoded, or
float32 after the resize), and every later epoch gathers them from memory; otherwise
input_fn reads the files every epoch, as in the course. Which one, and why, is logged.
"""
import logging
from collections import namedtuple

from model.core.memory import cache_budget, mb
from model.core.tf_compat import fixed_settings, tf
from vision.image_files import JPEG_SIGNATURE, PNG_SIGNATURE

# While the first epoch decodes the images into one tensor, the process grows by more than the
# tensor (the decoding's own buffers): up to about twice the caches in a whole training run, as
# measured in benchmarks/README.md.
PEAK_FACTOR = 2

# How a split's decoded images are kept: `dtype` 'uint8' (as decoded, each converted and resized
# every epoch) or 'float32' (as _parse_function gives them); `side` as 'WxH'; `num_bytes` of all.
Cache = namedtuple('Cache', 'dtype side num_bytes')


def image_sizes(filenames):
    """The (width, height) of the images, from their headers (no pixels are read): a set.

    It stops at the second size found. A file whose size cannot be read counts as a size of
    its own, None: TensorFlow's decoding says what is wrong with it (see vision/image_check.py).
    """
    sizes = set()
    for filename in filenames:
        sizes.add(header_size(filename))
        if len(sizes) > 1:
            break
    return sizes


# The JPEG markers that start a frame header (SOF0-3, 5-7, 9-11, 13-15), which holds the size.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def header_size(filename):
    """(width, height) of a PNG or JPEG file from its first bytes, else as Pillow reads it; None if unreadable.

    Read from the headers rather than by Pillow's open, which also parses the JPEG tables: a
    large set's sizes take seconds, not minutes.
    """
    try:
        with open(filename, 'rb') as f:
            start = f.read(24)
            if start[:8] == PNG_SIGNATURE and start[12:16] == b'IHDR':
                return int.from_bytes(start[16:20], 'big'), int.from_bytes(start[20:24], 'big')
            if start[:3] == JPEG_SIGNATURE:
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




def decoded_once(dataset, filenames, labels, params, what, decode, finish):
    """(dataset, parse_fn) of the split's images kept in memory, or None when they are to be read every epoch.

    `dataset` is input_fn's, of (file name, label) pairs; `decode(image_string)` gives an image as decoded (uint8) and `finish(image)` the rest of
    input_fn's _parse_function. The dataset goes through the numbers of the images and
    parse_fn looks each up in the cache: a shuffle buffer of images would hold a second copy
    of the whole set. `what` names the images in the log line that says which and why.

    With a graph seed, a random op made without its own seed gets the next number of a count
    the graph keeps, and the model's initial weights are made after the input pipelines. This
    takes exactly one number whether it caches or not (its one-shot iterator none, see
    _decoded_once), so the weights, and the metrics, are the same either way.
    """
    tf.get_seed(None)
    cache = choose_cache(filenames, params, what)
    if cache is None:
        return None
    if cache.dtype == 'uint8':  # the rest of _parse_function is done every epoch
        decode_fn, finish_fn = (lambda f, l: decode(tf.read_file(f))), finish
    else:
        decode_fn, finish_fn = (lambda f, l: finish(decode(tf.read_file(f)))), (lambda image: image)
    images = _decoded_once(dataset, decode_fn, len(filenames), params)
    cached_labels = tf.constant(labels)
    parse_fn = lambda index: (finish_fn(tf.gather(images, index)), tf.gather(cached_labels, index))
    return tf.data.Dataset.range(len(filenames)), parse_fn
