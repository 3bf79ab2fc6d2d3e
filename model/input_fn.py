"""Create the input data pipeline using `tf.data`"""
import os

from model.image_resize import resize_like_build_dataset
from model.params import SEED
from model.tf_compat import tf


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
    image = tf.image.decode_image(image_string, channels=3, expand_animations=False)
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


def _fixed_settings(dataset):
    """The dataset with tf.data's autotuning off: our parallelism and prefetch depth are set by hand.

    With autotuning on (TensorFlow's default), its background thread made iterator_init_op
    wait up to a second for the previous iterator to shut down, in about half of the
    epochs: more than the epoch's whole input pipeline costs (see benchmarks/README.md).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _decoded_once(dataset, parse_fn, num_samples, params):
    """Every image of `dataset` decoded, as one (images, labels) pair of tensors, decoded in the first epoch only.

    A one-shot iterator is made once per Session and keeps its dataset, so the cache()
    in it lasts: each later run of iterator_init_op reads the images from memory. (A
    cache() in the initializable pipeline would not last: iterator_init_op rebuilds that
    dataset, its cache included.)
    """
    decoded = (dataset
               .map(parse_fn, num_parallel_calls=params.num_parallel_calls)
               .batch(num_samples)  # the whole set as one element
               .cache()
               .repeat()
               .prefetch(1))  # asks for the next element at once: the cache sees the end and is complete
    return tf.data.make_one_shot_iterator(_fixed_settings(decoded)).get_next()


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

    # Create a Dataset serving batches of images and labels
    # We don't repeat for multiple epochs because we always train and evaluate for one epoch
    parse_fn = lambda f, l: _parse_function(f, l, params.image_size)
    dataset = tf.data.Dataset.from_tensor_slices((tf.constant(file_bytes(filenames)), tf.constant(labels)))
    if params.cache_images:
        # Decoded in the first epoch only, then served from memory (see _decoded_once).
        dataset = tf.data.Dataset.from_tensor_slices(_decoded_once(dataset, parse_fn, num_samples, params))

    if is_training:
        # Every run of iterator_init_op rebuilds the dataset: seeding the shuffle with
        # the global step gives each epoch a new order, the same on every run, and the
        # right one when training resumes from a checkpoint. The order depends on the
        # seed only, not on the elements: with or without cache_images it is the same.
        epoch_seed = SEED + tf.cast(tf.train.get_or_create_global_step(), tf.int64)
        dataset = dataset.shuffle(num_samples, seed=epoch_seed)  # whole dataset into the buffer ensures good shuffling

    if not params.cache_images:
        # Decoding after the shuffle keeps file names, not images, in the shuffle buffer.
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
    iterator = tf.data.make_initializable_iterator(_fixed_settings(dataset))
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
