"""vision/predict_input.py: the input of predict.py and of the exported model, new images without labels.

A new photo goes through build_dataset.py's resizing in the graph, then through the
evaluation pipeline's decoding: a built file gives exactly what evaluate.py sees.
"""
import os

import numpy as np
from PIL import Image

from helpers import drain
from helpers.images import read_bytes, save_picture
from model.core.tf_compat import tf
from model.input_fn import _parse_function
from vision.image_files import list_images
from vision.photos import resize_and_save
from vision.predict_input import decode_new_image, predict_input_fn, serving_input_fn


def run_predict_inputs(filenames, params):
    with tf.Graph().as_default():
        inputs = predict_input_fn(filenames, params)
        assert set(inputs) == {'images', 'filenames', 'iterator_init_op'}
        assert inputs['images'].get_shape().as_list() == [None, params.image_size, params.image_size, 3]
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, [inputs['filenames'], inputs['images']])
    return [os.fsdecode(f) for b in batches for f in b[0]], np.concatenate([b[1] for b in batches])


def eval_pipeline_image(filename, size):
    with tf.Graph().as_default(), tf.Session() as sess:
        return sess.run(_parse_function(tf.constant(filename), 0, size)[0])


def test_predict_input_fn_reads_in_order_and_skips_unreadable_files(data_dir, params, tmp_path):
    dataset_files = list_images(os.path.join(data_dir, 'dev_signs'), 6)[0][:3]
    text = tmp_path / 'notes.jpg'
    text.write_text('not a picture')
    truncated = tmp_path / 'truncated.jpg'
    truncated.write_bytes(read_bytes(save_picture('jpeg 511x300, draft 1/4', tmp_path))[:2000])
    png = save_picture('rgba png', tmp_path)
    params.batch_size = 2
    filenames = [dataset_files[0], str(text), png, dataset_files[1], str(truncated), dataset_files[2]]
    read, images = run_predict_inputs(filenames, params)

    assert read == [dataset_files[0], png, dataset_files[1], dataset_files[2]]
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    # A file of the data set gets exactly what evaluation gives it: no augmentation, same decoding.
    np.testing.assert_array_equal(images[2], eval_pipeline_image(dataset_files[1], 32))


def test_serving_input_gives_the_predict_pipeline_images(params, data_dir, tmp_path):
    """The exported model's input path and predict.py's are one: same images from the same bytes."""
    filenames = [save_picture(name, tmp_path) for name in ('photo 1100x900, draft 1/8', 'grayscale png',
                                                           'exif orientation 6 MM')]
    filenames.append(list_images(os.path.join(data_dir, 'test_signs'), 6)[0][0])
    _, expected = run_predict_inputs(filenames, params)
    with tf.Graph().as_default():
        inputs = serving_input_fn(params)
        assert inputs['images'].get_shape().as_list() == [None, 32, 32, 3]
        with tf.Session() as sess:
            images = sess.run(inputs['images'], {inputs['image_bytes']: [read_bytes(f) for f in filenames]})
    np.testing.assert_array_equal(images, expected)


def test_decode_new_image_honours_dataset_image_size(params, tmp_path):
    """Built at 128 (build_dataset.py --size 128): a new photo gives what training read from its 128x128 file."""
    path = save_picture('photo 1100x900, draft 1/8', tmp_path)
    for dataset_size in (64, 128):
        params.dataset_image_size = dataset_size
        with tf.Graph().as_default(), tf.Session() as sess:
            got = sess.run(decode_new_image(tf.constant(read_bytes(path)), params))
        out = tmp_path / 'built-{}'.format(dataset_size)
        os.makedirs(out)
        assert resize_and_save(path, str(out), dataset_size) is None
        [built] = os.listdir(out)
        assert Image.open(out / built).size == (dataset_size, dataset_size)
        # The training pipeline's view of the file build_dataset.py wrote, to the pixel.
        np.testing.assert_array_equal(got, eval_pipeline_image(str(out / built), params.image_size))
        assert got.shape == (32, 32, 3)
