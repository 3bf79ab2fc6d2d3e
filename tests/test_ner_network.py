"""ner/network.py: the variables each version makes (checkpoints restore by name), the loss, the tags, word dropout."""
from types import SimpleNamespace

import numpy as np
import pytest

from helpers.ner import ner_params
from model.core.tf_compat import tf
from ner import input_fn as ner_input
from ner import network
from ner.crf import crf_log_likelihood
from ner.model_fn import model_fn

pytest_plugins = ['helpers.ner_fixtures']

BILSTM_CHAR = ['model/embeddings', 'model/chars/char_embeddings', 'model/chars/conv1d/kernel', 'model/chars/conv1d/bias',
               'model/casing_embeddings', 'model/bilstm/forward/kernel', 'model/bilstm/forward/bias',
               'model/bilstm/backward/kernel', 'model/bilstm/backward/bias', 'model/dense/kernel', 'model/dense/bias']
# What a checkpoint of each version holds, by name: a trained model restores only if these stay.
VARIABLES = {
    'lstm': ['model/embeddings', 'model/rnn/basic_lstm_cell/kernel', 'model/rnn/basic_lstm_cell/bias',
             'model/dense/kernel', 'model/dense/bias'],
    'bilstm_char': BILSTM_CHAR,
    'bilstm_char_crf': BILSTM_CHAR + ['model/crf/transition_params'],
}


def placeholder_inputs():
    return {'sentence': tf.placeholder(tf.int64, [None, None]), 'labels': tf.placeholder(tf.int64, [None, None]),
            'sentence_lengths': tf.placeholder(tf.int32, [None]), 'chars': tf.placeholder(tf.int64, [None, None, None]),
            'casing': tf.placeholder(tf.int64, [None, None]), 'tokens': tf.placeholder(tf.string, [None, None])}


@pytest.mark.parametrize('model_version', sorted(VARIABLES))
def test_the_variables_keep_the_names_trained_checkpoints_hold(ner_dir, tmp_path, model_version):
    params = ner_params(ner_dir, tmp_path, model_version=model_version)
    with tf.Graph().as_default():
        model_fn('train', placeholder_inputs(), params)
        names = [variable.op.name for variable in tf.global_variables()]
    slots = [name + slot for name in VARIABLES[model_version] for slot in ('/Adam', '/Adam_1')]
    assert names == ['global_step'] + VARIABLES[model_version] + ['beta1_power', 'beta2_power'] + slots


LENGTHS = [5, 2, 4, 1]


@pytest.mark.parametrize('model_version', ['lstm', 'bilstm_char_crf'])
def test_the_loss_and_the_tags_are_of_the_real_tokens_only(model_version):
    params = SimpleNamespace(model_version=model_version, number_of_tags=4)
    rng = np.random.RandomState(0)
    # Sentences of LENGTHS padded to 6 tokens: logits 0 at padding and labels 1 (not 'O', the padding's, here);
    # then other logits and labels at padding, and less padding.
    padding = np.arange(6)[None, :] >= np.array(LENGTHS)[:, None]
    logits = np.where(padding[:, :, None], 0, rng.randn(len(LENGTHS), 6, 4)).astype(np.float32)
    labels = np.where(padding, 1, rng.randint(4, size=padding.shape))
    noisy_logits = np.where(padding[:, :, None], rng.randn(*logits.shape) * 50, logits).astype(np.float32)
    with tf.Graph().as_default():
        logits_in, labels_in = tf.placeholder(tf.float32, [None, None, 4]), tf.placeholder(tf.int64, [None, None])
        lengths = tf.constant(LENGTHS)
        loss = network.loss(logits_in, labels_in, lengths, params)
        tags = network.predict_tags(logits_in, lengths, params)
        crf_loss = -tf.reduce_mean(crf_log_likelihood(logits_in, labels_in, lengths, network.transition_params(params)))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = [sess.run([loss, tags, crf_loss], {logits_in: value, labels_in: label})
                      for value, label in ((logits, labels), (noisy_logits, labels), (logits, np.where(padding, 3, labels)),
                                           (logits[:, :5], labels[:, :5]))]
    if model_version == 'lstm':  # the mean cross-entropy of the real tokens
        log_softmax = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
        real = [-log_softmax[row, t, labels[row, t]] for row, length in enumerate(LENGTHS) for t in range(length)]
        assert values[0][0] == pytest.approx(np.mean(real), rel=1e-5)
    else:  # the mean negative log-likelihood of the sentences
        assert values[0][0] == pytest.approx(values[0][2], rel=1e-6)
    for loss_value, tag_values, _ in values[1:]:  # whatever the padding holds, or how much there is of it
        assert loss_value == pytest.approx(values[0][0], rel=1e-5)
        np.testing.assert_array_equal(tag_values[:, :5], values[0][1][:, :5])
    for row, length in enumerate(LENGTHS):
        assert (values[0][1][row, length:] == 0).all()  # 'O' at padding
        if model_version == 'lstm':
            assert values[0][1][row, :length].tolist() == logits[row, :length].argmax(axis=1).tolist()


def test_word_dropout_gives_the_id_of_an_unknown_word(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path, word_dropout=0.5)
    words = np.arange(1, 401).reshape(20, 20) % (params.vocab_size - 1)  # known words only
    with tf.Graph().as_default():
        tf.train.get_or_create_global_step()  # the masks are keyed on it
        unknown = ner_input.load_vocabularies(params)['words'].lookup(tf.constant('Qzxvbnq'))
        dropped = network.drop_words(tf.constant(words), True, params)
        kept = network.drop_words(tf.constant(words), False, params)
        with tf.Session() as sess:
            sess.run([tf.tables_initializer(), tf.global_variables_initializer()])
            unknown, dropped, kept = sess.run([unknown, dropped, kept])
    changed = dropped != words
    assert 0.4 < changed.mean() < 0.6
    assert (dropped[changed] == unknown).all() and unknown == params.vocab_size - 1  # the OOV embedding's row
    assert (kept == words).all()  # evaluation drops nothing
