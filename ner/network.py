"""The NER networks: per-token tag scores (logits) from a batch of sentences, TF1 style.

`model_fn` calls `build_model_<version>(is_training, inputs, params)`, chosen by
params.model_version (see MODEL_VERSIONS in ner/model_fn.py); every version returns logits [B, T, number_of_tags].
`loss` and `predict_tags` train and decode any version: with the CRF for CRF_VERSIONS
(Viterbi decoding), with per-token softmax cross-entropy and argmax for the others.

`inputs` holds batched tensors (ner/input_fn.py):
    sentence          [B, T] int64 word ids, padded with the id of '<pad>'
    sentence_lengths  [B] int
    chars             [B, T, W] int64 character ids, padded with 0 (ner/features.py's `char_ids`)
    casing            [B, T] int64 casing class, padded with 0 (ner/features.py's `token_features`)

Params the networks read: the sizes of dataset_params.json (build_vocab.py): vocab_size (words + 1
OOV bucket), number_of_tags, char_vocab_size (characters + 1 OOV bucket, line 0 is '<pad>'); and the
hyperparameters, NER_PARAMS in model/core/params.py (the defaults of the shipped base model).
The fused BiLSTM and the character CNN are in ner/fast_layers.py.
"""
import math
import os

from model.core.params import SEED
from model.core.seeds import step_seed
from model.core.tf_compat import tf
from ner.crf import crf_decode, crf_log_likelihood
from ner.fast_layers import bidirectional_lstm, char_cnn
from ner.features import CASINGS
from ner.vocab import EMBEDDINGS
from ner.word_vectors import npy_layout

# The random draws of a training step, numbered: the epoch's shuffle (SHUFFLE, at its first step) and the dropouts.
WORD_DROPOUT, FEATURE_DROPOUT, OUTPUT_DROPOUT = 1, 2, 3
# The draw of the initial rows of the words without a pretrained vector (once, not keyed on the step).
WORD_VECTORS = 4

# The versions whose logits are the unary scores of a CRF (see ner/model_fn.py's MODEL_VERSIONS for all).
CRF_VERSIONS = {'bilstm_char_crf'}


def dropout(inputs, rate, is_training, draw):
    """In training, tf.layers.dropout's dropout (units zeroed with probability rate, the others
    scaled by 1 / (1 - rate)), with the masks of step_seed(draw)."""
    if not is_training or rate <= 0:
        return inputs
    return tf.nn.experimental.stateless_dropout(inputs, rate, step_seed(draw))


def drop_words(sentence, is_training, params):
    """In training, replace each word id by the OOV id with probability params.word_dropout.

    Every train word is in the vocabulary, so without this the OOV embedding (the last id,
    vocab_size - 1) would never be trained, yet every unknown dev or test word uses it.
    """
    if not is_training or params.word_dropout <= 0:
        return sentence
    dropped = tf.random.stateless_uniform(tf.shape(sentence), step_seed(WORD_DROPOUT)) < params.word_dropout
    return tf.where(dropped, tf.fill(tf.shape(sentence), tf.constant(params.vocab_size - 1, sentence.dtype)),
                    sentence)


def word_embeddings(is_training, params):
    """The [vocab_size, embedding_size] word embeddings: at random, or with params.word_vectors from the
    pretrained vectors of embeddings.npy (build_vocab.py --vectors), trained further or frozen.

    The vectors are only the initial value of the training graph's variable, read from the file
    when the variables are initialized: a checkpoint restores over them, and the graphs of
    evaluation, prediction and export (restored, never initialized from the file) hold no path to it.
    """
    if not getattr(params, 'word_vectors', False):
        return tf.get_variable('embeddings', dtype=tf.float32, shape=[params.vocab_size, params.embedding_size])
    # Frozen, the variable is not trainable: the optimizer computes no gradient for it and keeps no slots.
    return tf.get_variable('embeddings', dtype=tf.float32, shape=[params.vocab_size, params.embedding_size],
                           initializer=pretrained_initializer(params) if is_training else None,
                           trainable=params.word_vectors_trainable)


def pretrained_initializer(params):
    """An initializer of the embeddings: the rows of embeddings.npy, and for the words without a vector
    (its NaN rows) uniform draws in +-sqrt(3 / dimension) (Ma & Hovy 2016), seeded by the graph's seed."""
    path = os.path.join(params.vocab_dir, EMBEDDINGS)
    offset, shape = npy_layout(path)
    seed = tf.get_default_graph().seed
    seed = tf.constant([SEED if seed is None else seed, WORD_VECTORS], tf.int64)
    scale = math.sqrt(3.0 / shape[1])

    def initializer(variable_shape, dtype=tf.float32, partition_info=None):
        data = tf.strings.substr(tf.io.read_file(path), offset, shape[0] * shape[1] * 4)
        vectors = tf.reshape(tf.io.decode_raw(data, tf.float32, little_endian=True), variable_shape)
        drawn = tf.random.stateless_uniform(variable_shape, seed, -scale, scale, dtype=dtype)
        return tf.where(tf.math.is_nan(vectors), drawn, vectors)
    return initializer


def build_model_lstm(is_training, inputs, params):
    """The course's model: word embeddings -> one LSTM -> dense, softmax per token.

    The course's params.json had a dropout_rate that nothing read; here it applies to the LSTM's
    output in training (set it to 0 for the course's model exactly).
    """
    # Word embeddings (from pretrained vectors with params.word_vectors: see word_embeddings)
    sentence = inputs['sentence']
    embeddings = word_embeddings(is_training, params)
    sentence = tf.nn.embedding_lookup(embeddings, sentence)

    # LSTM
    lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(params.lstm_num_units)
    output, _ = tf.nn.dynamic_rnn(lstm_cell, sentence, dtype=tf.float32)
    output = dropout(output, params.dropout_rate, is_training, OUTPUT_DROPOUT)

    # Scores of each tag
    return tf.layers.dense(output, params.number_of_tags)


def build_model_bilstm_char(is_training, inputs, params):
    """Word embeddings + character CNN + casing -> dropout -> BiLSTM -> dropout -> dense."""
    # Word embeddings (in training, some words replaced by the OOV id: see drop_words)
    sentence = drop_words(inputs['sentence'], is_training, params)
    embeddings = word_embeddings(is_training, params)

    # Char features: prefixes and suffixes (-stan, -ese, Mc-) tell names and their types apart,
    # and they are what gives unknown words a useful representation.
    with tf.variable_scope('chars'):
        char_embeddings = tf.get_variable('char_embeddings', dtype=tf.float32,
                                          shape=[params.char_vocab_size, params.char_embedding_size])
        chars = char_cnn(char_embeddings, inputs['chars'], params.char_filters, params.char_kernel_size)

    # Casing, and the three features of each token together
    words = tf.nn.embedding_lookup(embeddings, sentence)
    casing_embeddings = tf.get_variable('casing_embeddings', dtype=tf.float32,
                                        shape=[len(CASINGS), params.casing_embedding_size])
    features = tf.concat([words, chars, tf.nn.embedding_lookup(casing_embeddings, inputs['casing'])], axis=2)
    features = dropout(features, params.dropout_rate, is_training, FEATURE_DROPOUT)

    # BiLSTM
    with tf.variable_scope('bilstm'):
        output = bidirectional_lstm(features, inputs['sentence_lengths'], params.lstm_num_units)
    output = dropout(output, params.dropout_rate, is_training, OUTPUT_DROPOUT)

    # Scores of each tag
    return tf.layers.dense(output, params.number_of_tags)


def build_model_bilstm_char_crf(is_training, inputs, params):
    """The base model: bilstm_char's logits are the unary scores of a linear-chain CRF."""
    logits = build_model_bilstm_char(is_training, inputs, params)
    # CRF: created with the other variables, so that eval can reuse it
    transition_params(params)
    return logits


# ---------------------------------------------------------------- loss and predictions

def transition_params(params):
    """The CRF's [number_of_tags, number_of_tags] transition scores (from tag, to tag)."""
    with tf.variable_scope('crf', reuse=tf.AUTO_REUSE):
        return tf.get_variable('transition_params', shape=[params.number_of_tags, params.number_of_tags],
                               dtype=tf.float32, initializer=tf.zeros_initializer())


def loss(logits, labels, sentence_lengths, params):
    """Mean negative log-likelihood per sentence with a CRF; else mean cross-entropy per real token."""
    if params.model_version in CRF_VERSIONS:
        log_likelihood = crf_log_likelihood(logits, labels, sentence_lengths, transition_params(params))
        return -tf.reduce_mean(log_likelihood)
    mask = tf.sequence_mask(sentence_lengths, tf.shape(labels)[1])
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(tf.boolean_mask(cross_entropy, mask))


def predict_tags(logits, sentence_lengths, params):
    """Predicted tag ids [B, T] int64: Viterbi with a CRF, else the argmax per token. 0 ('O') at padding."""
    if params.model_version in CRF_VERSIONS:
        tags, _ = crf_decode(logits, transition_params(params), sentence_lengths)
        return tf.cast(tags, tf.int64)
    mask = tf.sequence_mask(sentence_lengths, tf.shape(logits)[1], dtype=tf.int64)
    return tf.argmax(logits, axis=2) * mask
