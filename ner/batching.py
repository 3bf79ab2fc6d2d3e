"""Batches of sentences of similar lengths, padded: what ner/input_fn.py's input_fn asks of `padded_batches`.

Sentences of a batch come from one bucket of lengths (bucket_boundaries), so they are padded
by a few tokens at most. A split that fits the cache budget (`kept_in_memory`) is prepared once
(`prepared_once`) and every epoch is a list of batches of its sentences' numbers
(`batches_of_sentences`), each gathered from memory (`gather_batch`); a larger split is prepared
again every epoch and grouped by tf.data's bucket_by_sequence_length. Both give batches of the
same kind, in other orders. The measurements behind these choices are in benchmarks/README.md.
"""
import bisect
import collections
import logging

from model.core.tf_compat import tf

# Memory a split kept prepared in memory takes, per token, at its peak while the first epoch prepares
# it (the token strings, word, casing and tag ids, characters, and the per-sentence tensors before they
# are batched into one), rounded up from a measurement on the synthetic set.
PREPARED_BYTES_PER_TOKEN = 600


def padded_batches(dataset, params, padded_shapes, padding_values, seed=None, num_sentences=None):
    """The batches of an epoch of `dataset`'s (sentence_features, labels) pairs, padded as padded_batch pads.

    Args:
        seed: (pair of int64 tensors, step_seed's) in training: the sentences are shuffled; None: in order
        num_sentences: (int) how many sentences `dataset` holds, to prepare them once (see kept_in_memory);
                       None: prepared again every epoch
    """
    if num_sentences is not None:
        prepared = prepared_once(dataset, num_sentences)
        batches = batches_of_sentences(prepared[0]['sentence_lengths'], params.batch_size, seed)
        return (tf.data.Dataset.from_tensor_slices(batches)
                .map(lambda indices: gather_batch(prepared, indices, padding_values)))
    if seed is not None:
        dataset = dataset.shuffle(buffer_size=params.train_size, seed=seed[0])  # tf.data's takes one number
    boundaries = bucket_boundaries()
    return dataset.apply(tf.data.experimental.bucket_by_sequence_length(
        lambda features, _: features['sentence_lengths'], boundaries,
        [params.batch_size] * (len(boundaries) + 1), padded_shapes=padded_shapes, padding_values=padding_values))


def bucket_boundaries(longest=200):
    """Sentence lengths where a new bucket starts: each bucket spans at most ~10% of its lengths.

    With one bucket for all, a batch is as long as its longest sentence and most of the
    LSTM's work would be on padding. Longer sentences than `longest` share the last bucket.
    """
    boundaries = [2]
    while boundaries[-1] < longest:
        boundaries.append(max(boundaries[-1] + 1, int(boundaries[-1] * 1.1)))
    return boundaries


def bucket_of(length):
    """The bucket of a sentence of this length: sentences of one bucket may share a batch."""
    return bisect.bisect_right(bucket_boundaries(), length)


def num_batches(lengths, batch_size):
    """How many batches input_fn makes of sentences of these lengths: bucket by bucket, all full but the last."""
    per_bucket = collections.Counter(bucket_of(length) for length in lengths)
    return sum(-(-count // batch_size) for count in per_bucket.values())


def kept_in_memory(lengths, params, what):
    """len(lengths) if a split of sentences of these lengths is prepared once and kept in memory (within
    cache_budget_mb), None if it is prepared again every epoch; logs one line saying which and why."""
    from model.core.memory import cache_budget, mb
    budget, budget_source = cache_budget(params)
    tokens = sum(lengths)
    need = PREPARED_BYTES_PER_TOKEN * tokens
    figures = "{} sentences, {} tokens: up to {} MB".format(len(lengths), tokens, mb(need))
    if need <= budget:
        logging.info("%s: prepared once, then kept in memory, within the cache budget of %s MB (%s): %s",
                     what, mb(budget), budget_source, figures)
        return len(lengths)
    logging.info("%s: prepared again every epoch, as in memory they would pass the cache budget of %s MB (%s): %s",
                 what, mb(budget), budget_source, figures)
    return None


def prepared_once(dataset, num_sentences):
    """Every (sentence_features, labels) element of `dataset` as one element of ragged tensors [N, ...].

    The first epoch prepares the sentences (splitting, lookups, characters, casing), all of it
    before the first batch, as the shuffle buffer holds the whole split; every later epoch takes
    them from memory. The iterator over the prepared split is initialized once, with the lookup
    tables it reads (tf.tables_initializer(), in variable_init_op), so its cache() lasts;
    iterator_init_op rebuilds only the pipeline after it.
    """
    whole = (dataset
             .apply(tf.data.experimental.dense_to_ragged_batch(num_sentences))
             .cache()
             .repeat()
             .prefetch(1))  # asks for the next element at once: the cache sees the end and is complete
    iterator = tf.data.make_initializable_iterator(whole)  # a one-shot iterator cannot read lookup tables
    tf.add_to_collection(tf.GraphKeys.TABLE_INITIALIZERS, iterator.initializer)
    return iterator.get_next()


def gather_batch(prepared, indices, padding_values):
    """The sentences `indices` of the prepared split, padded as padded_batch pads them."""
    def gather(tensor, padding):
        rows = tf.gather(tensor, indices)
        return rows.to_tensor(default_value=padding) if isinstance(rows, tf.RaggedTensor) else rows
    return tf.nest.map_structure(gather, prepared, padding_values)


def batches_of_sentences(lengths, batch_size, seed=None):
    """The numbers of the sentences of each batch of an epoch: ragged [number of batches, (sentences)] int64.

    Batches as bucket_by_sequence_length makes them, each of up to batch_size sentences of one
    bucket of lengths (bucket_boundaries), but made at once from the lengths with a few array ops
    rather than by tf.data's grouping, sentence by sentence, which is slow to set up every epoch.
    With a seed (a pair, step_seed's: training), the sentences are shuffled before they are grouped
    and the batches after; without (evaluation), they keep the file's order, and the batches come
    in the order of their first sentences (the first batch, whose sentences TensorBoard shows,
    holds the file's first sentence).
    """
    number = tf.range(tf.size(lengths, out_type=tf.int64))
    if seed is not None:
        number = tf.random.experimental.stateless_shuffle(number, seed)
    bucket = tf.searchsorted(tf.constant(bucket_boundaries(), lengths.dtype), tf.gather(lengths, number),
                             side='right')
    by_bucket = tf.argsort(bucket, stable=True)
    number, bucket = tf.gather(number, by_bucket), tf.gather(bucket, by_bucket)
    place_in_bucket = tf.range(tf.size(bucket)) - tf.searchsorted(bucket, bucket, side='left')
    batch = tf.cumsum(tf.cast(tf.equal(place_in_bucket % batch_size, 0), tf.int64)) - 1
    batches = tf.RaggedTensor.from_value_rowids(number, batch, validate=False)
    if seed is not None:
        order = tf.random.experimental.stateless_shuffle(tf.range(batches.nrows()), seed)
    else:
        order = tf.argsort(tf.gather(batches.values, batches.row_starts()))
    return tf.gather(batches, order)
