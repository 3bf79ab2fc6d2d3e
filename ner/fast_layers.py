"""The two layers of the base model written for speed: the same numbers as the plain TensorFlow
layers they replace (tests/test_ner_fast_layers.py checks values and gradients), in fewer ops.

    char_cnn(char_embeddings, chars, filters, kernel_size)
        chars [B, T, W] int64 character ids, 0 at padding -> [B, T, filters] float32:
        a 'same' conv1d (ReLU) over each word's embedded characters, max-pooled over the word;
        0 for a word without characters (a padding token). Its variables: conv1d/kernel, conv1d/bias.
    bidirectional_lstm(features, sequence_lengths, num_units)
        features [B, T, D], sequence_lengths [B] -> [B, T, 2 * num_units]: a forward and a backward
        LSTM over the real tokens of each sentence, concatenated, zeros at padding.
        Its variables: forward/kernel, forward/bias, backward/kernel, backward/bias.
    lstm(inputs_by_time, num_units, name)
        [T, B, D] time-major -> [T, B, num_units]: one LSTM layer (tf.nn.rnn_cell.LSTMCell's math).

The measurements behind each trick are in benchmarks/README.md.
"""
from model.core.tf_compat import tf

# char_cnn runs its CNN over a stream of characters whose length is a multiple of this.
CHAR_STREAM_QUANTUM = 512


def char_cnn(char_embeddings, chars, filters, kernel_size):
    """[B, T, W] char ids -> [B, T, filters]: the CNN over the batch's distinct words laid end to end.

    A batch repeats its words ('the', commas, padding): the CNN sees each distinct spelling once,
    and every token takes its spelling's features back at the end.
    """
    batch_size, num_steps, word_length = tf.unstack(tf.shape(chars))
    words, spelling = tf.raw_ops.UniqueV2(x=tf.reshape(chars, [-1, word_length]), axis=tf.constant([0], tf.int64))
    # The distinct words laid end to end, each followed by `gap` padding characters (id 0): as many as
    # the CNN's 'same' padding puts beside a word, so that no window sees two words and each word's
    # features are those of the CNN on it alone (padding characters are zeros to the CNN); at least one,
    # so that every word, the empty one of padding tokens too, has a position to pool. Most words are
    # much shorter than the batch's longest: in the stream no position is spent padding them to it.
    gap = max(1, kernel_size // 2)
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
                            filters, kernel_size, padding='same', activation=tf.nn.relu)
    # Padding characters must not win the max; ReLU outputs are >= 0, so zeroing them is enough.
    pooled = tf.math.segment_max((conv[0] * is_char)[:stream_length], word_of_position)  # [N, filters]
    return tf.reshape(tf.gather(pooled, spelling), [batch_size, num_steps, filters])


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
