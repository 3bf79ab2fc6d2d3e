"""The tf.data pipeline: shapes, labels, initializable iterators, train vs eval."""
import os

import numpy as np
import pytest
from PIL import Image

from model.core.errors import InputError
from model.core.tf_compat import tf
from model.input_fn import input_fn
from vision.image_files import list_images


def first_batches(inputs, num_batches, step=0):
    """Run iterator_init_op (with the global step at `step`), then fetch `num_batches` batches."""
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(tf.assign(tf.train.get_or_create_global_step(), step))
        sess.run(inputs['iterator_init_op'])
        return [sess.run([inputs['images'], inputs['labels']]) for _ in range(num_batches)]


def test_list_images_labels_come_from_names(data_dir):
    filenames, labels = list_images(os.path.join(data_dir, 'train_signs'), 6)
    assert len(filenames) == len(labels) == 96
    assert filenames == sorted(filenames)
    assert all(int(os.path.basename(f)[0]) == label for f, label in zip(filenames, labels, strict=True))
    assert sorted(set(labels)) == [0, 1, 2, 3, 4, 5]


def test_list_images_errors(tmp_path):
    with pytest.raises(InputError, match='No folder .*missing.*build the dataset'):
        list_images(str(tmp_path / 'missing'), 6)
    with pytest.raises(InputError, match='holds no images'):
        list_images(str(tmp_path), 6)
    Image.new('RGB', (8, 8)).save(tmp_path / '7_IMG_1.jpg')
    with pytest.raises(InputError, match='7_IMG_1.jpg: the name must start with its label, a digit from 0 to 5'):
        list_images(str(tmp_path), 6)


def test_shapes_and_value_range(data_dir, params):
    filenames, labels = list_images(os.path.join(data_dir, 'train_signs'), 6)
    with tf.Graph().as_default():
        inputs = input_fn(True, filenames, labels, params)
        assert set(inputs) == {'images', 'labels', 'iterator_init_op'}
        assert inputs['images'].get_shape().as_list() == [None, 32, 32, 3]
        images, batch_labels = first_batches(inputs, 1)[0]
    assert images.shape == (16, 32, 32, 3) and images.dtype == np.float32
    assert batch_labels.shape == (16,)
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_eval_pipeline_is_in_order_and_not_augmented(data_dir, params):
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        images, batch_labels = first_batches(inputs, 1)[0]
    assert list(batch_labels) == labels[:16]
    # The same file decoded and resized on its own gives the same pixels: no flip, no colour jitter.
    with tf.Graph().as_default(), tf.Session() as sess:
        expected = sess.run(tf.image.resize_images(
            tf.image.convert_image_dtype(tf.image.decode_jpeg(tf.read_file(filenames[3]), channels=3), tf.float32),
            [32, 32]))
    np.testing.assert_allclose(images[3], expected, atol=1e-6)


@pytest.mark.parametrize('is_training', [True, False])
def test_iterator_init_op_restarts_from_the_first_batch(data_dir, params, is_training):
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        inputs = input_fn(is_training, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(inputs['iterator_init_op'])
            first = sess.run(inputs['images'])
            second = sess.run(inputs['images'])
            sess.run(inputs['iterator_init_op'])
            again = sess.run(inputs['images'])
            # Past the last batch the iterator is exhausted until iterator_init_op runs again.
            with pytest.raises(tf.errors.OutOfRangeError):
                for _ in range(len(filenames)):
                    sess.run(inputs['images'])
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_training_order_changes_every_epoch_and_is_reproducible(data_dir, params):
    filenames, labels = list_images(os.path.join(data_dir, 'train_signs'), 6)
    params.batch_size = len(filenames)

    def labels_at_step(step):
        with tf.Graph().as_default():
            tf.set_random_seed(230)
            inputs = input_fn(True, filenames, labels, params)
            return first_batches(inputs, 1, step)[0]

    images_0, labels_0 = labels_at_step(0)
    images_0_again, labels_0_again = labels_at_step(0)
    images_6, labels_6 = labels_at_step(6)
    np.testing.assert_array_equal(images_0, images_0_again)
    assert list(labels_0) == list(labels_0_again)
    assert list(labels_0) != list(labels_6)
    assert sorted(labels_0) == sorted(labels) and list(labels_0) != labels


def augmented(data_dir, params, use_random_flip):
    """The dev images through the training pipeline (global step 0), as one batch; and the plain decodes."""
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    params.batch_size = len(filenames)
    params.use_random_flip = use_random_flip
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        train = first_batches(input_fn(True, filenames, labels, params), 1)[0]
    with tf.Graph().as_default():
        plain = first_batches(input_fn(False, filenames, labels, params), 1)[0]
    return train, plain


def orientation(image, plain_images):
    """(index, mirrored) of the plain image `image` was made from: the best correlated of all, either way round.

    Brightness and saturation jitter change the colours but not where things are: the
    brightness pattern of the grey image correlates best with the image it came from.
    """
    def grey(x):
        x = x.mean(axis=-1)
        return (x - x.mean()) / (x.std() + 1e-6)
    scores = [((grey(image) * grey(candidate)).mean(), index, mirrored)
              for index, plain in enumerate(plain_images)
              for mirrored, candidate in ((False, plain), (True, plain[:, ::-1]))]
    _, index, mirrored = max(scores)
    return index, mirrored


def test_random_flip_mirrors_some_images_and_only_with_the_flag(data_dir, params):
    (flipped, flipped_labels), (plain, plain_labels) = augmented(data_dir, params, True)
    (unflipped, unflipped_labels), _ = augmented(data_dir, params, False)
    # The flip has its own random draws: with or without it, the same order, brightness and saturation.
    assert list(flipped_labels) == list(unflipped_labels)
    mirrored = []
    for with_flip, without in zip(flipped, unflipped, strict=True):
        if np.array_equal(with_flip, without):
            mirrored.append(False)
        else:  # a left-right flip commutes with the colour jitter: the same pixels, mirrored
            np.testing.assert_array_equal(with_flip, without[:, ::-1])
            mirrored.append(True)
    assert 0 < sum(mirrored) < len(mirrored), mirrored

    # Each image traced back to the plain decode it came from: with the flag off none is mirrored,
    # and with it on exactly those found above.
    found = [orientation(image, plain) for image in unflipped]
    assert sorted(index for index, _ in found) == list(range(len(plain)))
    assert [plain_labels[index] for index, _ in found] == list(unflipped_labels)
    assert not any(is_mirrored for _, is_mirrored in found)
    assert [orientation(image, plain)[1] for image in flipped] == mirrored


def test_images_of_any_mode_in_the_built_dataset_decode_as_rgb(tmp_path, params):
    """Files copied straight into a split folder, without build_dataset.py: all become RGB in [0, 1]."""
    rng = np.random.default_rng(0)
    pixels = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
    rgb = Image.fromarray(pixels)
    folder = tmp_path / 'train_signs'
    folder.mkdir()
    rgb.convert('L').save(folder / '0_IMG_gray.jpg')
    rgb.convert('L').save(folder / '1_IMG_gray.png')
    rgb.convert('LA').save(folder / '2_IMG_gray_alpha.png')
    rgb.convert('RGBA').save(folder / '3_IMG_rgba.png')
    rgb.convert('P').save(folder / '4_IMG_palette.png')
    rgb.convert('CMYK').save(folder / '5_IMG_cmyk.jpg')
    rgb.convert('1').save(folder / '0_IMG_black_and_white.png')
    Image.fromarray((rng.random((40, 50)) * 65535).astype(np.uint16)).save(folder / '1_IMG_16bit.png')
    rgb.save(folder / '2_IMG_progressive.jpg', progressive=True)
    filenames, labels = list_images(str(folder), 6)
    params.batch_size = len(filenames)
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            images = sess.run(inputs['images'])
    assert images.shape == (9, params.image_size, params.image_size, 3)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert all(image.std() > 0.01 for image in images)  # real pictures, not blank fills
