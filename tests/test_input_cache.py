"""cache_images: decoded once per Session, and the batches are exactly those of the uncached pipeline."""
import os
import shutil

import numpy as np
import pytest

from conftest import drain
from model.input_fn import input_fn
from model.image_files import list_images
from model.tf_compat import tf


def epochs_of_batches(filenames, labels, params, is_training, steps):
    """All the images the pipeline serves in one epoch, for an epoch started at each global step in `steps`."""
    epochs = []
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        inputs = input_fn(is_training, filenames, labels, params)
        global_step = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in steps:
                sess.run(tf.assign(global_step, step))
                sess.run(inputs['iterator_init_op'])
                batches = drain(sess, [inputs['images'], inputs['labels']])
                epochs.append((np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])))
    return epochs


@pytest.mark.parametrize('is_training', [True, False])
def test_cached_pipeline_serves_the_same_batches(data_dir, params, is_training):
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    params.cache_images = True
    cached = epochs_of_batches(filenames, labels, params, is_training, steps=[0, 2, 4])
    params.cache_images = False
    uncached = epochs_of_batches(filenames, labels, params, is_training, steps=[0, 2, 4])
    for (cached_images, cached_labels), (images, labels_) in zip(cached, uncached):
        np.testing.assert_array_equal(cached_images, images)
        np.testing.assert_array_equal(cached_labels, labels_)
    if is_training:  # still a new order (and new augmentations) every epoch
        assert not np.array_equal(cached[0][1], cached[1][1])


def test_cache_outlives_iterator_init_op_but_not_the_session(data_dir, params, tmp_path):
    """After one epoch the images come from memory: the files can go. A new Session decodes again."""
    folder = shutil.copytree(os.path.join(data_dir, 'dev_signs'), str(tmp_path / 'dev_signs'))
    filenames, labels = list_images(folder, 6)
    params.cache_images = True
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            first = [sess.run(inputs['images']) for _ in range(2)]
            drain(sess, inputs['images'])  # finish the epoch, as training does
            shutil.rmtree(folder)
            sess.run(inputs['iterator_init_op'])
            np.testing.assert_array_equal(sess.run(inputs['images']), first[0])
        with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError):
            sess.run(inputs['iterator_init_op'])
            sess.run(inputs['images'])
