"""ner/input_fn.py (through ner/example.py's input_fn, as train.py calls it): batches, padding, order."""
import logging

import numpy as np
import pytest

from helpers import drain
from helpers.ner import assert_padded_as_padded_batch, ner_params, padding_of, read_lines
from model.core.params import SEED
from model.core.tf_compat import tf
from ner import example as ner_example
from ner.batching import bucket_of

pytest_plugins = ['helpers.ner_fixtures']

NAMES = ('tokens', 'sentence', 'sentence_lengths', 'chars', 'casing', 'labels')


def one_epoch(data, params, is_training, step=0):
    """The batches of one epoch of example.input_fn, as dicts of numpy arrays, and the names of the inputs."""
    with tf.Graph().as_default():
        inputs = ner_example.input_fn(is_training, data, params)
        global_step = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run([tf.tables_initializer(), tf.global_variables_initializer()])
            sess.run(tf.assign(global_step, step))
            sess.run(inputs['iterator_init_op'])
            return drain(sess, {name: inputs[name] for name in NAMES}), set(inputs)


@pytest.mark.parametrize('cache_budget_mb', [None, 0])  # prepared once and kept; prepared again every epoch
def test_input_fn_pads_batches_and_gives_the_real_lengths(ner_dir, tmp_path, cache_budget_mb):
    # Words of more than 6 characters are cut to their first 6.
    params = ner_params(ner_dir, tmp_path, cache_budget_mb=cache_budget_mb, max_word_length=6)
    data, size = ner_example.load_split(ner_dir, 'dev', params)
    lines = [line.split() for line in read_lines(data[0])]
    tags = [line.split() for line in read_lines(data[1])]
    tag_names = read_lines(params.tags_path)
    batches, names = one_epoch(data, params, False)
    assert {'sentence', 'labels', 'sentence_lengths', 'iterator_init_op', 'chars', 'casing', 'tokens'} <= names
    seen = []
    for batch in batches:
        assert batch['tokens'].shape == batch['sentence'].shape == batch['labels'].shape
        assert batch['chars'].shape[:2] == batch['sentence'].shape
        assert batch['sentence'].shape[1] == batch['sentence_lengths'].max()
        assert_padded_as_padded_batch(batch, ner_dir, max_word_length=6)  # <pad>, O, no characters
        for row, length in enumerate(batch['sentence_lengths']):
            seen.append(([t.decode() for t in batch['tokens'][row, :length]],
                         [tag_names[i] for i in batch['labels'][row, :length]]))
    assert sum(padding_of(batch) for batch in batches) > 0  # else the padding was never looked at
    assert size == len(lines) == 60
    assert sorted(seen) == sorted(zip(lines, tags, strict=True))  # every sentence once, whole, with its tags
    if cache_budget_mb is None:  # the first batch, whose sentences TensorBoard shows, starts with the file's first
        assert seen[0] == (lines[0], tags[0])


def test_training_order_is_seeded_by_the_global_step(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path)
    data, _ = ner_example.load_split(ner_dir, 'train', params)

    def first_lengths(step):
        with tf.Graph().as_default():
            inputs = ner_example.input_fn(True, data, params)
            global_step = tf.train.get_or_create_global_step()
            with tf.Session() as sess:
                sess.run([tf.tables_initializer(), tf.global_variables_initializer()])
                sess.run(tf.assign(global_step, step))
                sess.run(inputs['iterator_init_op'])
                return [tuple(t) for t in sess.run(inputs['sentence'])[:4]]
    assert first_lengths(0) == first_lengths(0)
    assert first_lengths(0) != first_lengths(1)


def sentences_of(epoch):
    """Each sentence of an epoch's batches with everything the pipeline gives of it, trimmed of the padding; sorted."""
    sentences = []
    for batch in epoch:
        for row, length in enumerate(batch['sentence_lengths']):
            chars = batch['chars'][row, :length]
            sentences.append((tuple(batch['tokens'][row, :length]), tuple(batch['sentence'][row, :length]),
                              tuple(batch['labels'][row, :length]), tuple(batch['casing'][row, :length]),
                              tuple(tuple(word[word != 0]) for word in chars)))
    return sorted(sentences)


@pytest.mark.parametrize('is_training', [True, False])
def test_sentences_prepared_once_and_streamed_give_the_same_sentences_in_buckets(
        ner_dir, tmp_path, caplog, is_training):
    params = ner_params(ner_dir, tmp_path)
    data, _ = ner_example.load_split(ner_dir, 'train', params)

    def two_epochs(cache_budget_mb):
        params.cache_budget_mb = cache_budget_mb
        with tf.Graph().as_default():
            tf.set_random_seed(SEED)
            inputs = ner_example.input_fn(is_training, data, params)
            weights = tf.get_variable('weights', [4])  # made after the pipeline, as the model's are
            global_step = tf.train.get_or_create_global_step()
            with tf.Session() as sess:
                sess.run(tf.group(tf.tables_initializer(), tf.global_variables_initializer()))
                epochs = []
                for _ in range(2):
                    sess.run(inputs['iterator_init_op'])
                    epochs.append(drain(sess, {name: inputs[name] for name in NAMES}))
                    sess.run(tf.assign_add(global_step, 1))  # a new order for the next epoch
                return epochs, sess.run(weights)

    caplog.set_level(logging.INFO)
    kept, kept_weights = two_epochs(None)
    assert 'sentences: prepared once, then kept in memory, within the cache budget' in caplog.text
    assert two_epochs(None)[0][1][0]['tokens'].tolist() == kept[1][0]['tokens'].tolist()  # the same on every run
    streamed, streamed_weights = two_epochs(0)
    assert 'sentences: prepared again every epoch, as in memory they would pass the cache budget of 0.0 MB ' \
           '(cache_budget_mb in params.json): 300 sentences' in caplog.text
    np.testing.assert_array_equal(kept_weights, streamed_weights)  # the pipelines draw no random numbers of the model's
    assert [len(epoch) for epoch in kept] == [len(epoch) for epoch in streamed] == [params.train_steps] * 2
    lines = sorted(tuple(token.encode() for token in line.split()) for line in read_lines(data[0]))
    reference = sentences_of(kept[0])
    assert [sentence[0] for sentence in reference] == lines  # every sentence once
    for epoch in kept + streamed:
        assert sentences_of(epoch) == reference  # the same sentences, prepared alike
        for batch in epoch:  # the sentences of a batch are of one bucket of lengths, padded alike
            assert len({bucket_of(length) for length in batch['sentence_lengths']}) == 1
            assert_padded_as_padded_batch(batch, ner_dir, params.max_word_length)
        # Batches of sentences of several lengths (one bucket), and sentences of neighbouring buckets
        # (19 and 20 tokens): else the checks above could not fail.
        assert sum(padding_of(batch) for batch in epoch) > 0
        assert sum(len(set(batch['sentence_lengths'])) > 1 for batch in epoch) >= 3
    lengths = {len(line) for line in lines}
    assert {19, 20, 21} <= lengths
    for kept_batch, streamed_batch in zip(kept[0], streamed[0], strict=True):
        for name in NAMES:
            assert kept_batch[name].dtype == streamed_batch[name].dtype, name
    if is_training:
        assert [b['sentence_lengths'].tolist() for b in kept[0]] != [b['sentence_lengths'].tolist() for b in kept[1]]
