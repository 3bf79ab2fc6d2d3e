"""The CRF against brute force: every tag sequence of tiny random sentences enumerated in numpy."""
import itertools

import numpy as np
import pytest

from model.core.tf_compat import tf
from ner.crf import crf_decode, crf_log_likelihood

NUM_TAGS = 3
MAX_LENGTH = 4
LENGTHS = [1, 2, 4, 3, 1]


def sequence_score(unary, tags, transitions):
    """Score of one tag sequence of one sentence (unary [L, N] without padding)."""
    score = sum(unary[t, tag] for t, tag in enumerate(tags))
    return score + sum(transitions[a, b] for a, b in zip(tags[:-1], tags[1:], strict=False))


def brute_force(unary, length, gold, transitions):
    """(log-likelihood of gold, best tags, best score) over all NUM_TAGS ** length sequences."""
    unary = unary[:length]
    sequences = list(itertools.product(range(NUM_TAGS), repeat=length))
    scores = np.array([sequence_score(unary, s, transitions) for s in sequences])
    log_norm = np.logaddexp.reduce(scores)
    best = int(np.argmax(scores))
    return sequence_score(unary, gold[:length], transitions) - log_norm, sequences[best], scores[best]


@pytest.fixture(scope='module')
def crf_results():
    """One graph and one Session for all the checks: the CRF outputs for the same sentences padded
    with zeros and padded with large random values (padding must not matter)."""
    rng = np.random.RandomState(0)
    shape = (len(LENGTHS), MAX_LENGTH, NUM_TAGS)
    unary = rng.randn(*shape).astype(np.float32) * 2
    tags = rng.randint(NUM_TAGS, size=shape[:2])
    transitions = rng.randn(NUM_TAGS, NUM_TAGS).astype(np.float32)
    padding = np.arange(MAX_LENGTH)[None, :] >= np.array(LENGTHS)[:, None]
    noisy_unary = np.where(padding[:, :, None], rng.randn(*shape) * 100, unary).astype(np.float32)
    noisy_tags = np.where(padding, rng.randint(NUM_TAGS, size=shape[:2]), tags)

    with tf.Graph().as_default():
        unary_in = tf.placeholder(tf.float32, [None, None, NUM_TAGS])
        tags_in = tf.placeholder(tf.int64, [None, None])
        lengths_in = tf.placeholder(tf.int64, [None])
        transitions_in = tf.constant(transitions)
        likelihood = crf_log_likelihood(unary_in, tags_in, lengths_in, transitions_in)
        decoded, best_scores = crf_decode(unary_in, transitions_in, lengths_in)
        gradients = tf.gradients(tf.reduce_sum(likelihood), [unary_in, transitions_in])
        fetches = (likelihood, decoded, best_scores, gradients)
        with tf.Session() as sess:
            clean = sess.run(fetches, {unary_in: unary, tags_in: tags, lengths_in: LENGTHS})
            noisy = sess.run(fetches, {unary_in: noisy_unary, tags_in: noisy_tags, lengths_in: LENGTHS})
            # A batch whose longest sentence has one token: the loops run no step at all.
            single = sess.run(fetches, {unary_in: unary[:1, :1], tags_in: tags[:1, :1], lengths_in: [1]})
    return {'unary': unary, 'tags': tags, 'transitions': transitions,
            'clean': clean, 'noisy': noisy, 'single': single}


def test_log_likelihood_matches_brute_force(crf_results):
    likelihood = crf_results['clean'][0]
    for i, length in enumerate(LENGTHS):
        expected, _, _ = brute_force(crf_results['unary'][i], length, crf_results['tags'][i],
                                     crf_results['transitions'])
        np.testing.assert_allclose(likelihood[i], expected, rtol=1e-5, atol=1e-5)
    assert np.all(likelihood < 0)


def test_decode_matches_brute_force(crf_results):
    _, decoded, best_scores, _ = crf_results['clean']
    assert decoded.shape == (len(LENGTHS), MAX_LENGTH)
    for i, length in enumerate(LENGTHS):
        _, best_tags, best_score = brute_force(crf_results['unary'][i], length, crf_results['tags'][i],
                                               crf_results['transitions'])
        assert tuple(decoded[i, :length]) == best_tags
        assert np.all(decoded[i, length:] == 0)
        np.testing.assert_allclose(best_scores[i], best_score, rtol=1e-5, atol=1e-5)


def test_gradients_are_gold_counts_minus_expected_counts(crf_results):
    """d log p(gold) / d unary[t, j] = [gold_t == j] - P(y_t = j); for a transition (a, b), the gold count
    of a -> b minus its expected count: the probabilities from every tag sequence, enumerated."""
    unary_gradient, transition_gradient = crf_results['clean'][3]
    expected_unary = np.zeros_like(crf_results['unary'])
    expected_transitions = np.zeros_like(crf_results['transitions'])
    for i, length in enumerate(LENGTHS):
        sequences = list(itertools.product(range(NUM_TAGS), repeat=length))
        scores = np.array([sequence_score(crf_results['unary'][i], s, crf_results['transitions'])
                           for s in sequences])
        probabilities = np.exp(scores - np.logaddexp.reduce(scores))
        gold = crf_results['tags'][i][:length]
        for sequence, probability in [(gold, -1.0)] + list(zip(sequences, probabilities, strict=True)):
            for t, tag in enumerate(sequence):
                expected_unary[i, t, tag] -= probability
            for a, b in zip(sequence[:-1], sequence[1:], strict=False):
                expected_transitions[a, b] -= probability
    np.testing.assert_allclose(unary_gradient, expected_unary, atol=1e-5)  # zero at padded positions
    np.testing.assert_allclose(transition_gradient, expected_transitions, atol=1e-5)


def test_padding_changes_nothing(crf_results):
    likelihood, decoded, best_scores, gradients = crf_results['clean']
    for clean, noisy in zip([likelihood, decoded, best_scores, *gradients], [*crf_results['noisy'][:3],
                                                                             *crf_results['noisy'][3]], strict=True):
        np.testing.assert_allclose(clean, noisy, rtol=1e-6, atol=1e-5)


def test_one_step_batch(crf_results):
    likelihood, decoded, best_scores, _ = crf_results['single']
    unary = crf_results['unary'][0, 0]
    np.testing.assert_allclose(likelihood[0], unary[crf_results['tags'][0, 0]] - np.logaddexp.reduce(unary),
                               rtol=1e-5)
    assert decoded.tolist() == [[int(np.argmax(unary))]]
    np.testing.assert_allclose(best_scores[0], unary.max(), rtol=1e-6)
