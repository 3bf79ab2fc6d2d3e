"""LazyAdamOptimizer (model/core/optimizer.py) against Adam's formulas computed in numpy."""
import numpy as np
import pytest

from model.core.optimizer import LazyAdamOptimizer
from model.core.tf_compat import tf

LEARNING_RATE, BETA1, BETA2, EPSILON = 0.1, 0.9, 0.999, 1e-8


def adam_rows(weights, m, v, gradient, step):
    """One Adam step of the rows given (numpy): the new weights, m and v."""
    m = BETA1 * m + (1 - BETA1) * gradient
    v = BETA2 * v + (1 - BETA2) * gradient ** 2
    step_size = LEARNING_RATE * np.sqrt(1 - BETA2 ** step) / (1 - BETA1 ** step)
    return weights - step_size * m / (np.sqrt(v) + EPSILON), m, v


@pytest.mark.parametrize('use_resource', [False, True])
def test_a_sparse_gradient_moves_only_its_rows_as_adam_would(use_resource):
    rng = np.random.RandomState(0)
    start = rng.randn(6, 3).astype(np.float32)
    # Step 1 uses row 4 three times (its gradients add up) and row 1; step 2 uses row 1 only: Adam would
    # still move row 4 at step 2 (its momentum), the lazy form leaves it. Rows 0, 2, 3, 5 are never used.
    steps_ids = [[4, 1, 4, 4], [1, 1, 1, 1]]
    with tf.Graph().as_default():
        embeddings = tf.get_variable('embeddings', initializer=start, use_resource=use_resource)
        dense = tf.get_variable('dense', initializer=start[:2], use_resource=use_resource)
        ids = tf.placeholder(tf.int32, [4])
        weights = tf.constant(rng.randn(4, 3).astype(np.float32))
        loss = tf.reduce_sum(tf.nn.embedding_lookup(embeddings, ids) * weights) + tf.reduce_sum(dense ** 2)
        optimizer = LazyAdamOptimizer(LEARNING_RATE, BETA1, BETA2, EPSILON)
        train_op = optimizer.minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            weights_value = sess.run(weights)
            values = []
            for step_ids in steps_ids:
                sess.run(train_op, {ids: step_ids})
                values.append(sess.run([embeddings, dense]))
            m, v = sess.run([optimizer.get_slot(embeddings, 'm'), optimizer.get_slot(embeddings, 'v')])
    expected, expected_m, expected_v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    dense_expected, dense_m, dense_v = start[:2].copy(), np.zeros_like(start[:2]), np.zeros_like(start[:2])
    for step, (step_ids, (embeddings_value, dense_value)) in enumerate(zip(steps_ids, values, strict=True), start=1):
        gradient = np.zeros_like(start)
        for row, id_ in zip(weights_value, step_ids, strict=True):
            gradient[id_] += row
        for row in sorted(set(step_ids)):
            expected[row], expected_m[row], expected_v[row] = adam_rows(
                expected[row], expected_m[row], expected_v[row], gradient[row], step)
        dense_expected, dense_m, dense_v = adam_rows(dense_expected, dense_m, dense_v, 2 * dense_expected, step)
        np.testing.assert_allclose(embeddings_value, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dense_value, dense_expected, rtol=1e-5, atol=1e-6)  # Adam's dense update
    np.testing.assert_array_equal(values[1][0][4], values[0][0][4])  # row 4 did not move at step 2
    unused = [0, 2, 3, 5]
    np.testing.assert_array_equal(values[-1][0][unused], start[unused])
    assert not m[unused].any() and not v[unused].any()
    np.testing.assert_allclose(m, expected_m, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, expected_v, rtol=1e-4, atol=1e-9)  # float32 squares
