"""Graph inputs for tests that build a model without any files."""
import numpy as np

from model.core.tf_compat import tf


def fake_inputs(params, batch=8, seed=0):
    """Constant inputs with the same contract as input_fn's, without any files."""
    rng = np.random.default_rng(seed)
    images = tf.placeholder_with_default(
        rng.random((batch, params.image_size, params.image_size, 3), dtype=np.float32),
        [None, params.image_size, params.image_size, 3])
    labels = tf.constant(rng.integers(0, params.num_labels, batch), tf.int32)
    return {'images': images, 'labels': labels, 'iterator_init_op': tf.no_op()}
