"""ner/batching.py: buckets of lengths, the batches of an epoch made at once, and how many there are."""
import collections

import pytest

from helpers import drain
from helpers.ner import ner_params, padding_of, read_lines
from model.core.tf_compat import tf
from ner import example as ner_example
from ner.batching import batches_of_sentences, bucket_boundaries, bucket_of, num_batches

pytest_plugins = ['helpers.ner_fixtures']


def test_bucket_boundaries_span_a_tenth_of_their_lengths():
    boundaries = bucket_boundaries()
    assert boundaries == list(range(2, 21)) + [22, 24, 26, 28, 30, 33, 36, 39, 42, 46, 50, 55, 60, 66, 72, 79, 86,
                                               94, 103, 113, 124, 136, 149, 163, 179, 196, 215]
    for start, end in zip(boundaries, boundaries[1:], strict=False):  # a bucket: start <= length < end
        assert end - start == max(1, int(start * 0.1))
    # Sentences shorter than 2 tokens share the first bucket; longer than 200, the last.
    assert bucket_of(0) == bucket_of(1) == 0 and bucket_of(2) == 1 and bucket_of(215) == bucket_of(5000)
    assert bucket_of(19) != bucket_of(20) == bucket_of(21) != bucket_of(22)


# Lengths on both sides of bucket boundaries (19 | 20 21 | 22 23 | 24), and in buckets of several lengths.
LENGTHS = [19, 20, 21, 22, 19, 23, 24, 20, 21, 5, 5, 19, 22, 23, 24, 25, 30, 31, 32, 33, 20, 19, 1, 0, 240, 230]


@pytest.mark.parametrize('seed', [None, (7, 0)])
def test_batches_of_sentences_are_batches_of_one_bucket_each(seed):
    batch_size = 2
    with tf.Graph().as_default(), tf.Session() as sess:
        lengths = tf.constant(LENGTHS, tf.int32)
        batches = batches_of_sentences(lengths, batch_size, None if seed is None else tf.constant(seed, tf.int64))
        batches = sess.run(batches).to_list()
    assert sorted(number for batch in batches for number in batch) == list(range(len(LENGTHS)))  # each once
    per_bucket = collections.defaultdict(list)
    for batch in batches:
        buckets = {bucket_of(LENGTHS[number]) for number in batch}
        assert len(buckets) == 1, [LENGTHS[number] for number in batch]
        per_bucket[buckets.pop()].append(len(batch))
    for sizes in per_bucket.values():  # all full but the last of each bucket
        assert sorted(sizes)[1:] == [batch_size] * (len(sizes) - 1) and max(sizes) <= batch_size
    assert len(batches) == num_batches(LENGTHS, batch_size) == 15
    if seed is None:  # the file's order: within a batch, and the batches by their first sentence
        assert batches == sorted(batches) and all(batch == sorted(batch) for batch in batches)
        assert batches[:4] == [[0, 4], [1, 2], [3, 5], [6, 14]]


def test_bucketing_keeps_padding_low(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path)
    data, _ = ner_example.load_split(ner_dir, 'train', params)
    with tf.Graph().as_default():
        inputs = ner_example.input_fn(True, data, params)
        with tf.Session() as sess:
            sess.run([tf.tables_initializer(), tf.global_variables_initializer()])
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, {'sentence_lengths': inputs['sentence_lengths'], 'sentence': inputs['sentence']})
    real = sum(int(batch['sentence_lengths'].sum()) for batch in batches)
    padded = sum(batch['sentence'].size for batch in batches)
    # The steps of an epoch that train_sess runs are all the batches the pipeline makes, no fewer.
    assert len(batches) == ner_example.num_batches(data, 300, params) == params.train_steps
    lengths = [len(line.split()) for line in read_lines(data[0])]
    assert real == sum(lengths)
    assert 1 - real / padded < 0.15
    # Padding there is (else the bound above could not fail): with one bucket for all, far more.
    assert sum(padding_of(batch) for batch in batches) > 0
    assert 1 - sum(lengths) / (len(lengths) * max(lengths)) > 0.4
