"""A linear-chain conditional random field (CRF) in TF1 graph ops.

tf.contrib.crf is gone and tensorflow-addons stopped at TF 2.15, so the two functions NER needs
are written here with plain ops (no py_func: both work inside a SavedModel):
- crf_log_likelihood: log p(tags | sentence), by the forward algorithm in log space;
- crf_decode: the most likely tag sequence, by the Viterbi algorithm.

Shapes: B sentences, T time steps (the longest sentence of the batch), N tags.
A sentence's score for tags y_1..y_L is sum_t unary[t, y_t] + sum_{t>1} transition[y_{t-1}, y_t];
positions at or after a sentence's length never count. Every length must be at least 1.
"""
from model.core.tf_compat import tf


def _time_major(tensor):
    """[B, T, ...] -> [T, B, ...]: the loops below step through time."""
    rank = tensor.get_shape().ndims
    return tf.transpose(tensor, [1, 0] + list(range(2, rank)))


def _is_real_step(step, sequence_lengths):
    """[B, 1] bool: True for sentences that are still running at time `step`."""
    return tf.expand_dims(step < sequence_lengths, 1)


def crf_sequence_score(unary_scores, tag_indices, sequence_lengths, transition_params):
    """Score [B] of the given tag sequences: unary scores of the tags plus the transitions between them."""
    tag_indices = tf.cast(tag_indices, tf.int32)
    sequence_lengths = tf.cast(sequence_lengths, tf.int32)
    num_tags = tf.shape(unary_scores)[2]
    mask = tf.sequence_mask(sequence_lengths, tf.shape(tag_indices)[1], dtype=unary_scores.dtype)

    chosen = tf.one_hot(tag_indices, num_tags, dtype=unary_scores.dtype)
    unary = tf.reduce_sum(tf.reduce_sum(unary_scores * chosen, axis=2) * mask, axis=1)

    # Transition (y_{t-1}, y_t) counts when y_t is a real position (t >= 1 and t < length).
    pair_ids = tag_indices[:, :-1] * num_tags + tag_indices[:, 1:]
    pair_scores = tf.gather(tf.reshape(transition_params, [-1]), pair_ids)
    binary = tf.reduce_sum(pair_scores * mask[:, 1:], axis=1)
    return unary + binary


# Sums of exponentials below this count as this, so that the logarithm stays finite. A sum can only be
# that small if the transition scores span more than 69 (trained ones span about 10): below that, exact.
_TINY = 1e-30


def _log_matmul_exp(scores, exp_transitions, top, transpose=False):
    """log(exp(scores) @ exp(transitions)) [B, N] for scores [B, N], given exp(transitions - top) and top.

    Shifted so that every exponential is at most 1: exp(scores - shift) @ exp(transitions - top),
    then shift and top added back. `transpose` multiplies by the transposed transitions.
    """
    shift = tf.reduce_max(scores, axis=1, keepdims=True)
    total = tf.matmul(tf.exp(scores - shift), exp_transitions, transpose_b=transpose)
    return tf.math.log(tf.maximum(total, _TINY)) + (shift + top)


def _alphas(unary_by_time, transition_params):
    """The forward algorithm: alpha_t [T, B, N], alpha_t[j] = log sum_i exp(alpha_{t-1}[i] + transition[i, j]) + unary_t[j].

    Every step of the batch is computed; a sentence's alphas after its last step are never used.
    """
    num_steps = tf.shape(unary_by_time)[0]
    unary = tf.TensorArray(unary_by_time.dtype, size=num_steps).unstack(unary_by_time)
    top = tf.reduce_max(transition_params)
    exp_transitions = tf.exp(transition_params - top)

    def step(t, alpha, alphas):
        alpha = _log_matmul_exp(alpha, exp_transitions, top) + unary.read(t)
        return t + 1, alpha, alphas.write(t, alpha)

    first = unary.read(0)
    alphas = tf.TensorArray(unary_by_time.dtype, size=num_steps, element_shape=first.shape).write(0, first)
    # A while_loop (not tf.scan) so that one-step batches, with no loop iteration, just work.
    _, _, alphas = tf.while_loop(lambda t, *_: t < num_steps, step, (tf.constant(1), first, alphas))
    return alphas.stack()


def _betas(unary_by_time, sequence_lengths, transition_params):
    """The backward algorithm: beta_t [T, B, N], the log-sum of the scores of every way to end the
    sentence from tag j at step t; 0 at a sentence's last step and after it."""
    num_steps = tf.shape(unary_by_time)[0]
    unary = tf.TensorArray(unary_by_time.dtype, size=num_steps).unstack(unary_by_time)
    top = tf.reduce_max(transition_params)
    exp_transitions = tf.exp(transition_params - top)
    last_steps = tf.expand_dims(sequence_lengths - 1, 1)  # [B, 1]

    def step(t, beta, betas):
        beta = _log_matmul_exp(unary.read(t + 1) + beta, exp_transitions, top, transpose=True)
        beta = tf.where(tf.broadcast_to(t >= last_steps, tf.shape(beta)), tf.zeros_like(beta), beta)
        return t - 1, beta, betas.write(t, beta)

    last = tf.zeros_like(unary.read(0))
    betas = tf.TensorArray(unary_by_time.dtype, size=num_steps, element_shape=last.shape).write(num_steps - 1, last)
    _, _, betas = tf.while_loop(lambda t, *_: t >= 0, step, (num_steps - 2, last, betas))
    return betas.stack()


def crf_log_norm(unary_scores, sequence_lengths, transition_params):
    """log Z [B]: log of the summed exp-scores of all tag sequences (the forward algorithm).

    Its gradient is written out (the forward-backward algorithm) rather than derived through
    the loop by tf.gradients, which would keep every intermediate of every step on stacks: the
    derivative of log Z by unary_t[j] is the probability that tag j is at step t, and by
    transition[i, j] the expected number of times tag i is followed by tag j.
    """
    sequence_lengths = tf.cast(sequence_lengths, tf.int32)

    @tf.custom_gradient
    def log_norm(unary_scores, transition_params):
        unary_by_time = _time_major(unary_scores)
        alphas = _alphas(unary_by_time, transition_params)
        last_steps = tf.stack([sequence_lengths - 1, tf.range(tf.shape(sequence_lengths)[0])], axis=1)
        log_z = tf.reduce_logsumexp(tf.gather_nd(alphas, last_steps), axis=1)

        def gradient(d_log_z):
            betas = _betas(unary_by_time, sequence_lengths, transition_params)
            real = tf.transpose(tf.sequence_mask(sequence_lengths, tf.shape(unary_by_time)[0]))  # [T, B]
            d_log_z = tf.reshape(d_log_z, [1, -1, 1])
            # P(y_t = j) = exp(alpha_t[j] + beta_t[j] - log Z); `where`, as after a sentence's end the
            # exponent is meaningless and may overflow.
            log_unary_marginals = alphas + betas - tf.expand_dims(tf.expand_dims(log_z, 0), 2)
            unary_marginals = tf.where(tf.broadcast_to(tf.expand_dims(real, 2), tf.shape(alphas)),
                                       tf.exp(log_unary_marginals), tf.zeros_like(alphas))
            # P(y_{t-1} = i, y_t = j) = exp(alpha_{t-1}[i] + transition[i, j] + unary_t[j] + beta_t[j] - log Z)
            log_pair_marginals = (tf.expand_dims(alphas[:-1], 3) + transition_params
                                  + tf.expand_dims(unary_by_time[1:] + betas[1:], 2)
                                  - tf.reshape(log_z, [1, -1, 1, 1]))  # [T-1, B, N, N]
            pair_real = tf.broadcast_to(tf.reshape(real[1:], [tf.shape(real)[0] - 1, -1, 1, 1]),
                                        tf.shape(log_pair_marginals))
            pair_marginals = tf.where(pair_real, tf.exp(log_pair_marginals), tf.zeros_like(log_pair_marginals))
            d_unary = _time_major(unary_marginals * d_log_z)  # [T, B, N] -> [B, T, N]
            d_transitions = tf.reduce_sum(pair_marginals * tf.expand_dims(d_log_z, 3), axis=[0, 1])
            return d_unary, d_transitions

        return log_z, gradient

    return log_norm(unary_scores, tf.convert_to_tensor(transition_params))


def crf_log_likelihood(unary_scores, tag_indices, sequence_lengths, transition_params):
    """Log-likelihood [B] of the gold tag sequences: sequence score minus log partition.

    Args:
        unary_scores: [B, T, N] float, per-token tag scores (the network's logits)
        tag_indices: [B, T] int, gold tags (any value at padded positions)
        sequence_lengths: [B] int, each >= 1
        transition_params: [N, N] float, transition_params[i, j] scores tag i followed by tag j

    Returns:
        log_likelihood: [B] float; the training loss is its negated mean
    """
    score = crf_sequence_score(unary_scores, tag_indices, sequence_lengths, transition_params)
    return score - crf_log_norm(unary_scores, sequence_lengths, transition_params)


def _viterbi_forward(unary_by_time, sequence_lengths, transition_params):
    """Best scores per end tag [B, N] and back-pointers [T-1, B, N] (int32).

    After a sentence ends its back-pointers point each tag to itself, so following them from
    the last step walks unchanged through the padding back to the real last tag.
    """
    num_steps = tf.shape(unary_by_time)[0]
    transitions = tf.expand_dims(transition_params, 0)
    num_tags = tf.shape(transition_params)[0]
    identity = tf.broadcast_to(tf.range(num_tags), tf.shape(unary_by_time[0]))

    def step(t, best, pointers):
        candidates = tf.expand_dims(best, 2) + transitions  # [B, N_from, N_to]
        real = tf.broadcast_to(_is_real_step(t, sequence_lengths), tf.shape(best))
        new_best = tf.where(real, tf.reduce_max(candidates, axis=1) + unary_by_time[t], best)
        came_from = tf.where(real, tf.argmax(candidates, axis=1, output_type=tf.int32), identity)
        return t + 1, new_best, pointers.write(t - 1, came_from)

    pointers = tf.TensorArray(tf.int32, size=tf.maximum(num_steps - 1, 0), element_shape=identity.shape)
    _, best, pointers = tf.while_loop(lambda t, *_: t < num_steps, step,
                                      (tf.constant(1), unary_by_time[0], pointers))
    return best, pointers


def _viterbi_backtrack(last_tags, pointers, num_steps):
    """Tags [T, B] from the best last tags [B] and the back-pointers TensorArray."""
    rows = tf.range(tf.shape(last_tags)[0])

    def step(t, tag, tags):
        came_from = tf.gather_nd(pointers.read(t - 1), tf.stack([rows, tag], axis=1))
        return t - 1, came_from, tags.write(t - 1, came_from)

    tags = tf.TensorArray(tf.int32, size=num_steps, element_shape=last_tags.shape)
    tags = tags.write(num_steps - 1, last_tags)
    _, _, tags = tf.while_loop(lambda t, *_: t > 0, step, (num_steps - 1, last_tags, tags))
    return tags.stack()


def crf_decode(unary_scores, transition_params, sequence_lengths):
    """Most likely tag sequences by Viterbi.

    Args:
        unary_scores: [B, T, N] float
        transition_params: [N, N] float
        sequence_lengths: [B] int, each >= 1

    Returns:
        tags: [B, T] int32, the best tags; 0 at padded positions
        best_scores: [B] float, the score of those sequences
    """
    sequence_lengths = tf.cast(sequence_lengths, tf.int32)
    unary_by_time = _time_major(unary_scores)
    num_steps = tf.shape(unary_by_time)[0]
    best, pointers = _viterbi_forward(unary_by_time, sequence_lengths, transition_params)
    last_tags = tf.argmax(best, axis=1, output_type=tf.int32)
    tags = tf.transpose(_viterbi_backtrack(last_tags, pointers, num_steps))
    tags = tags * tf.sequence_mask(sequence_lengths, num_steps, dtype=tf.int32)
    return tags, tf.reduce_max(best, axis=1)
