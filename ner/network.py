"""The NER networks: per-token tag scores (logits) from a batch of sentences, TF1 style.

`model_fn` calls `build_model_<version>(is_training, inputs, params)`, chosen by
params.model_version (see MODEL_VERSIONS in ner/model_fn.py); every version returns logits [B, T, number_of_tags].
`loss` and `predict_tags` train and decode any version: with the CRF for CRF_VERSIONS
(Viterbi decoding), with per-token softmax cross-entropy and argmax for the others.

`inputs` holds batched tensors:
    sentence          [B, T] int64 word ids, padded with the id of '<pad>'
    sentence_lengths  [B] int
    chars             [B, T, W] int64 character ids, padded with 0 (`char_ids` makes them)
    casing            [B, T] int64 casing class, padded with 0 (`token_features` makes it)
`char_ids` and `token_features` run in the graph on a sentence's token strings, so the input
pipeline and an exported model's serving signature share them.

Params the networks read: the sizes of dataset_params.json (build_vocab.py) and NER_PARAMS
(ner/example.py, with the defaults of the shipped base model).
"""
from model.core.seeds import step_seed
from model.core.tf_compat import tf
from ner.crf import crf_decode, crf_log_likelihood

# Read from dataset_params.json: vocab_size (words + 1 OOV bucket), number_of_tags,
# char_vocab_size (characters + 1 OOV bucket, line 0 is '<pad>'). The hyperparameters are
# NER_PARAMS in ner/example.py.

# Casing classes of `token_features`; 0 is padding.
CASINGS = ['<pad>', 'numeric', 'has_digit', 'lower', 'upper', 'title', 'punctuation', 'other']


# ---------------------------------------------------------------- in-graph preprocessing

def casing_classes(tokens):
    """Casing class id (index in CASINGS) of each token string, any shape -> same shape int64.

    Capitals are the strongest hint of a name in English; the character CNN could learn them,
    but an explicit class is cheap and helps most on words seen rarely.
    """
    # Tested in this order: the first pattern a token fully matches gives its class.
    patterns = [
        ('numeric', r'[0-9]+([.,:/-][0-9]+)*'),
        ('has_digit', r'.*[0-9].*'),
        ('lower', r'\p{Ll}+'),
        ('upper', r'\p{Lu}+'),
        ('title', r'\p{Lu}\p{Ll}.*'),
        ('punctuation', r'[^\p{L}\p{N}]+'),
    ]
    classes = tf.fill(tf.shape(tokens), tf.constant(CASINGS.index('other'), tf.int64))
    for name, pattern in reversed(patterns):
        matches = tf.strings.regex_full_match(tokens, pattern)
        classes = tf.where(matches, tf.fill(tf.shape(tokens), tf.constant(CASINGS.index(name), tf.int64)),
                           classes)
    return classes


def token_features(tokens):
    """Per-token features computed from the token strings [T]: {'casing': [T] int64}."""
    return {'casing': casing_classes(tokens)}


def char_ids(tokens, chars_table, max_word_length):
    """Character ids [T, W] int64 of the token strings [T], padded with 0 (the '<pad>' line).

    Args:
        tokens: [T] string, UTF-8
        chars_table: a lookup table from one character to its id (chars.txt, OOV bucket)
        max_word_length: (int) characters kept per word; W = min(longest word, max_word_length)
    """
    chars = tf.strings.unicode_split(tokens, 'UTF-8')[:, :max_word_length]
    return tf.ragged.map_flat_values(chars_table.lookup, chars).to_tensor(default_value=0)


# ---------------------------------------------------------------- the networks

# The random draws of a training step, numbered: the epoch's shuffle (SHUFFLE, at its first step) and the dropouts.
WORD_DROPOUT, FEATURE_DROPOUT, OUTPUT_DROPOUT = 1, 2, 3


def dropout(inputs, rate, is_training, draw):
    """In training, tf.layers.dropout's dropout (units zeroed with probability rate, the others
    scaled by 1 / (1 - rate)), with the masks of step_seed(draw)."""
    if not is_training or rate <= 0:
        return inputs
    return tf.nn.experimental.stateless_dropout(inputs, rate, step_seed(draw))


def build_model_lstm(is_training, inputs, params):
    """The course's model: word embeddings -> one LSTM -> dense, softmax per token.

    The course's params.json had a dropout_rate that nothing read; here it applies to the LSTM's
    output in training (set it to 0 for the course's model exactly).
    """
    sentence = inputs['sentence']
    embeddings = tf.get_variable('embeddings', dtype=tf.float32, shape=[params.vocab_size, params.embedding_size])
    sentence = tf.nn.embedding_lookup(embeddings, sentence)
    lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(params.lstm_num_units)
    output, _ = tf.nn.dynamic_rnn(lstm_cell, sentence, dtype=tf.float32)
    output = dropout(output, params.dropout_rate, is_training, OUTPUT_DROPOUT)
    return tf.layers.dense(output, params.number_of_tags)


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


# char_features runs its CNN over a stream of characters whose length is a multiple of this.
CHAR_STREAM_QUANTUM = 512


def char_features(chars, params):
    """[B, T, W] char ids -> [B, T, char_filters]: a CNN over each word's characters, max-pooled.

    Prefixes and suffixes (-stan, -ese, Mc-) tell names and their types apart, and they are
    what gives unknown words a useful representation.
    """
    char_embeddings = tf.get_variable('char_embeddings', dtype=tf.float32,
                                      shape=[params.char_vocab_size, params.char_embedding_size])
    batch_size, num_steps, word_length = tf.unstack(tf.shape(chars))
    # A batch repeats its words ('the', commas, padding): the CNN sees each distinct spelling once,
    # and every token takes its spelling's features back at the end.
    words, spelling = tf.raw_ops.UniqueV2(x=tf.reshape(chars, [-1, word_length]), axis=tf.constant([0], tf.int64))
    # The distinct words laid end to end, each followed by `gap` padding characters (id 0): as many as
    # the CNN's 'same' padding puts beside a word, so that no window sees two words and each word's
    # features are those of the CNN on it alone (padding characters are zeros to the CNN); at least one,
    # so that every word, the empty one of padding tokens too, has a position to pool. Most words are
    # much shorter than the batch's longest: in the stream no position is spent padding them to it.
    gap = max(1, params.char_kernel_size // 2)
    positions = tf.reduce_sum(tf.cast(tf.not_equal(words, 0), tf.int32), axis=1) + gap  # [N]: a word and its gap
    in_stream = tf.sequence_mask(positions, word_length + gap)
    stream = tf.boolean_mask(tf.pad(words, [[0, 0], [0, gap]]), in_stream)
    word_of_position = tf.repeat(tf.range(tf.shape(words)[0]), positions)
    # oneDNN keeps a compiled convolution for each input shape it meets: with one shape per stream length,
    # memory would grow epoch after epoch. Padding rounds the length up to a multiple, so few shapes occur.
    stream_length = tf.shape(stream)[0]
    stream = tf.pad(stream, [[0, tf.math.floormod(-stream_length, CHAR_STREAM_QUANTUM)]])
    is_char = tf.expand_dims(tf.cast(tf.not_equal(stream, 0), tf.float32), 1)
    conv = tf.layers.conv1d(tf.expand_dims(tf.nn.embedding_lookup(char_embeddings, stream) * is_char, 0),
                            params.char_filters, params.char_kernel_size, padding='same', activation=tf.nn.relu)
    # Padding characters must not win the max; ReLU outputs are >= 0, so zeroing them is enough.
    pooled = tf.math.segment_max((conv[0] * is_char)[:stream_length], word_of_position)  # [N, char_filters]
    return tf.reshape(tf.gather(pooled, spelling), [batch_size, num_steps, params.char_filters])


def casing_features(casing, params):
    """[B, T] casing class ids -> [B, T, casing_embedding_size]."""
    casing_embeddings = tf.get_variable('casing_embeddings', dtype=tf.float32,
                                        shape=[len(CASINGS), params.casing_embedding_size])
    return tf.nn.embedding_lookup(casing_embeddings, casing)


def lstm(inputs_by_time, num_units, name):
    """One LSTM layer over time-major inputs [T, B, D] -> outputs [T, B, num_units], in one fused op.

    The math of tf.nn.rnn_cell.LSTMCell (gates i, j, f, o from one kernel over [input, output],
    forget bias 1, no peepholes, no clipping), but BlockLSTM runs all the time steps in one op and
    its gradient in another: no while_loop with its dozens of small ops per step to schedule.
    """
    num_inputs = inputs_by_time.shape[2]
    with tf.variable_scope(name):
        kernel = tf.get_variable('kernel', [num_inputs + num_units, 4 * num_units])
        bias = tf.get_variable('bias', [4 * num_units], initializer=tf.zeros_initializer())
    zeros = tf.zeros(tf.stack([tf.shape(inputs_by_time)[1], num_units]))
    no_peephole = tf.zeros([num_units])
    outputs = tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(tf.shape(inputs_by_time)[0], tf.int64), x=inputs_by_time, cs_prev=zeros, h_prev=zeros,
        w=kernel, wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, forget_bias=1.0, cell_clip=-1.0,
        use_peephole=False)
    return outputs.h


def permuted_rows(rows, order, inverse):
    """rows[order] for a permutation `order` of the rows; the gradient goes back through `inverse`.

    tf.gather's own gradient adds the rows up (any index may repeat); a permutation's is just
    the other permutation, a gather too.
    """
    @tf.custom_gradient
    def permute(rows):
        return tf.gather(rows, order), lambda gradient: tf.gather(gradient, inverse)
    return permute(rows)


def bidirectional_lstm(features, sequence_lengths, num_units):
    """Forward and backward LSTM over the real tokens of each sentence, outputs concatenated (zeros at padding).

    The backward LSTM reads each sentence reversed up to its own length, so it starts at the
    sentence's last real token, never at the padding.
    """
    batch_size, num_steps = tf.unstack(tf.shape(features)[:2])
    # The fused op steps through the first axis: it reads rows in time-major order (step t of sentence b
    # is row t * B + b), the features are batch-major (row b * T + t). So each LSTM's input and output is
    # a permutation of rows, one gather, which for the backward LSTM also reverses each sentence: its step
    # t reads token length - 1 - t (steps past the length read the padding, in place).
    step = tf.range(num_steps)[:, None]  # [T, 1]
    sentence = tf.range(batch_size)[None, :]  # [1, B]
    lengths = sequence_lengths[None, :]
    token = tf.where(step < lengths, lengths - 1 - step, tf.broadcast_to(step, [num_steps, batch_size]))  # [T, B]
    forward_order = tf.reshape(sentence * num_steps + step, [-1])  # the row of each time-major position
    backward_order = tf.reshape(sentence * num_steps + token, [-1])
    # And back: reversing a sentence twice gives it back, so `token` also says where each token's step is.
    forward_inverse = tf.reshape(tf.transpose(step * batch_size + sentence), [-1])
    backward_inverse = tf.reshape(tf.transpose(token * batch_size + sentence), [-1])

    rows = tf.reshape(features, [-1, features.shape[2]])
    outputs = []
    for name, order, inverse in (('forward', forward_order, forward_inverse),
                                 ('backward', backward_order, backward_inverse)):
        by_time = tf.reshape(permuted_rows(rows, order, inverse), [num_steps, batch_size, rows.shape[1]])
        output_rows = tf.reshape(lstm(by_time, num_units, name), [-1, num_units])
        outputs.append(tf.reshape(permuted_rows(output_rows, inverse, order), [batch_size, num_steps, num_units]))
    outputs = tf.concat(outputs, axis=2)
    return outputs * tf.sequence_mask(sequence_lengths, num_steps, dtype=outputs.dtype)[:, :, None]


def build_model_bilstm_char(is_training, inputs, params):
    """Word embeddings + character CNN + casing -> dropout -> BiLSTM -> dropout -> dense."""
    sentence = drop_words(inputs['sentence'], is_training, params)
    embeddings = tf.get_variable('embeddings', dtype=tf.float32, shape=[params.vocab_size, params.embedding_size])
    with tf.variable_scope('chars'):
        chars = char_features(inputs['chars'], params)
    features = tf.concat([tf.nn.embedding_lookup(embeddings, sentence), chars,
                          casing_features(inputs['casing'], params)], axis=2)
    features = dropout(features, params.dropout_rate, is_training, FEATURE_DROPOUT)
    with tf.variable_scope('bilstm'):
        output = bidirectional_lstm(features, inputs['sentence_lengths'], params.lstm_num_units)
    output = dropout(output, params.dropout_rate, is_training, OUTPUT_DROPOUT)
    return tf.layers.dense(output, params.number_of_tags)


def build_model_bilstm_char_crf(is_training, inputs, params):
    """The base model: bilstm_char's logits are the unary scores of a linear-chain CRF."""
    logits = build_model_bilstm_char(is_training, inputs, params)
    transition_params(params)  # created with the other variables, so that eval can reuse it
    return logits


# The versions whose logits are the unary scores of a CRF (see ner/model_fn.py's MODEL_VERSIONS for all).
CRF_VERSIONS = {'bilstm_char_crf'}


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
