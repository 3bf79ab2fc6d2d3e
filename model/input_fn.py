"""Create the input data pipeline using `tf.data`"""
from model.core.seeds import SHUFFLE, step_seed
from model.core.tf_compat import fixed_settings, tf
from vision.image_cache import decoded_once
from vision.image_files import file_bytes


def _parse_function(filename, label, size):
    """Obtain the image from the filename (for both training and validation).

    The following operations are applied:
        - Decode the image from jpeg (or png) format, always as 3 channels (RGB)
        - Convert to float and to range [0, 1]
        - Resize to size x size
    """
    image_string = tf.read_file(filename)
    return to_float_and_resize(decode(image_string), size), label


def decode(image_string):
    """The encoded image as decoded, 3 channels of uint8 (JPEG or PNG: decode_image tells them apart)."""
    return tf.image.decode_image(image_string, channels=3, expand_animations=False)


def to_float_and_resize(image, size):
    """The rest of _parse_function, from the decoded uint8 image."""
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


def input_fn(is_training, filenames, labels, params):
    """Input function for the SIGNS dataset.

    The filenames have format "{label}_IMG_{id}.jpg".
    For instance: "data_dir/2_IMG_4584.jpg".

    Args:
        is_training: (bool) whether to use the train or test pipeline.
                     At training, we shuffle the data and have multiple epochs
        filenames: (list) filenames of the images, as ["data_dir/{label}_IMG_{id}.jpg"...]
        labels: (list) corresponding list of labels
        params: (Params) contains hyperparameters of the model (ex: `params.num_epochs`)

    Returns:
        inputs: (dict) with the `images`, the `labels` and the `iterator_init_op`
    """
    num_samples = len(filenames)
    assert len(filenames) == len(labels), "Filenames and labels should have same length"

    # Create a Dataset serving batches of images and labels
    # We don't repeat for multiple epochs because we always train and evaluate for one epoch
    dataset = tf.data.Dataset.from_tensor_slices((tf.constant(file_bytes(filenames)), tf.constant(labels)))
    parse_fn = lambda f, l: _parse_function(f, l, params.image_size)
    # When the decoded images fit in memory, they are decoded in the first epoch only and the
    # dataset goes through their numbers instead (vision/image_cache.py): the same pixels.
    cached = decoded_once(dataset, filenames, labels, params,
                          'Training images' if is_training else 'Evaluation images',
                          decode, lambda image: to_float_and_resize(image, params.image_size))
    if cached is not None:
        dataset, parse_fn = cached

    if is_training:
        # Every run of iterator_init_op rebuilds the dataset: seeding the shuffle with the global
        # step gives each epoch a new order, the same on every run, and the right one when training
        # resumes from a checkpoint.
        epoch_seed = step_seed(SHUFFLE)[0]
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
