"""ner/fast_layers.py against the plain TensorFlow it replaces: the same numbers, values and gradients."""
from types import SimpleNamespace

import numpy as np
import pytest

from model.core.tf_compat import tf
from ner import fast_layers

LENGTHS = [7, 3, 1, 7, 5]


def test_fused_bidirectional_lstm_equals_tf_bidirectional_dynamic_rnn():
    rng = np.random.RandomState(0)
    features_value = rng.randn(len(LENGTHS), max(LENGTHS), 6).astype(np.float32)
    with tf.Graph().as_default():
        features, lengths = tf.constant(features_value), tf.constant(LENGTHS)
        with tf.variable_scope('fused'):
            fused = fast_layers.bidirectional_lstm(features, lengths, 4)
        with tf.variable_scope('plain'):
            cells = [tf.nn.rnn_cell.LSTMCell(4, name=name) for name in ('forward', 'backward')]
            (forward, backward), _ = tf.nn.bidirectional_dynamic_rnn(*cells, features, sequence_length=lengths,
                                                                     dtype=tf.float32)
            plain = tf.concat([forward, backward], axis=2)
        fused_variables = tf.trainable_variables('fused')
        plain_variables = tf.trainable_variables('plain')
        # The same weights (kernel over [input, output], gates i, j, f, o; bias) in both.
        copy = [tf.assign(mine, theirs) for mine, theirs in zip(fused_variables, plain_variables, strict=True)]
        # Any loss that weighs every output differently: the gradients must agree too.
        weights = tf.constant(rng.randn(len(LENGTHS), max(LENGTHS), 8).astype(np.float32))
        gradients = [tf.gradients(tf.reduce_sum(out * weights), variables + [features])
                     for out, variables in ((fused, fused_variables), (plain, plain_variables))]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(copy)
            fused_value, plain_value, (fused_gradients, plain_gradients) = sess.run([fused, plain, gradients])
    assert [v.name for v in fused_variables] == ['fused/forward/kernel:0', 'fused/forward/bias:0',
                                                 'fused/backward/kernel:0', 'fused/backward/bias:0']
    np.testing.assert_allclose(fused_value, plain_value, atol=1e-5)
    for length, row in zip(LENGTHS, fused_value, strict=True):
        assert (row[length:] == 0).all() and (np.abs(row[:length]) > 0).any()
    for mine, theirs in zip(fused_gradients, plain_gradients, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4)


@pytest.mark.parametrize('kernel_size', [1, 2, 3, 4, 5])
def test_char_features_of_distinct_words_equal_the_cnn_on_every_token(kernel_size):
    # Even and odd widths: 'same' pads them unevenly, and the stream of words must leave room for both sides.
    params = SimpleNamespace(char_vocab_size=12, char_embedding_size=5, char_filters=7, char_kernel_size=kernel_size)
    rng = np.random.RandomState(1)
    # 5 sentences of 7 tokens, words of up to 4 characters (0 pads), drawn from 6 spellings: many repeats.
    spellings = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7], [1, 2, 3, 0], [8, 9, 10, 11], [0, 0, 0, 0]])
    chars_value = spellings[rng.randint(0, len(spellings), size=(len(LENGTHS), max(LENGTHS)))]
    with tf.Graph().as_default():
        chars = tf.constant(chars_value, tf.int64)
        with tf.variable_scope('chars'):  # as ner/network.py makes them
            char_embeddings = tf.get_variable('char_embeddings', dtype=tf.float32,
                                              shape=[params.char_vocab_size, params.char_embedding_size])
            distinct = fast_layers.char_cnn(char_embeddings, chars, params.char_filters, params.char_kernel_size)
        with tf.variable_scope('chars', reuse=True):
            # The CNN on each token's characters, as the course's layout would run it.
            embeddings = tf.get_variable('char_embeddings')
            words = tf.reshape(chars, [-1, 4])
            is_char = tf.expand_dims(tf.cast(tf.not_equal(words, 0), tf.float32), 2)
            conv = tf.layers.conv1d(tf.nn.embedding_lookup(embeddings, words) * is_char, 7, kernel_size,
                                    padding='same', activation=tf.nn.relu, name='conv1d', reuse=True)
            every = tf.reshape(tf.reduce_max(conv * is_char, axis=1), [len(LENGTHS), max(LENGTHS), 7])
        variables = tf.trainable_variables()
        gradients = [[tf.convert_to_tensor(gradient) for gradient in tf.gradients(tf.reduce_sum(out * out), variables)]
                     for out in (distinct, every)]  # the embeddings' gradients as dense tensors, to compare
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            distinct_value, every_value, (distinct_gradients, every_gradients) = sess.run(
                [distinct, every, gradients])
    assert distinct_value.shape == (len(LENGTHS), max(LENGTHS), 7)
    np.testing.assert_allclose(distinct_value, every_value, atol=1e-6)
    assert (distinct_value[chars_value.sum(axis=2) == 0] == 0).all()  # padding tokens have no feature
    for mine, theirs in zip(distinct_gradients, every_gradients, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
