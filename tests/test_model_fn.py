"""The graph: train and eval model_specs sharing weights, metrics, summaries."""
import re

import numpy as np
import pytest

from helpers.graphs import fake_inputs
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.model_fn import model_fn

SPEC_KEYS = {'images', 'labels', 'iterator_init_op', 'variable_init_op', 'predictions', 'loss', 'accuracy',
             'metrics', 'update_metrics', 'metrics_init_op', 'summary_op', 'confusion_matrix', 'class_names'}


def test_train_and_eval_specs_share_weights(params):
    with tf.Graph().as_default():
        train_spec = model_fn('train', fake_inputs(params), params)
        variables = tf.global_variables()
        trainable = tf.trainable_variables()
        eval_spec = model_fn('eval', fake_inputs(params, seed=1), params, reuse=True)

        # The eval graph reuses every weight and creates no variable of its own.
        assert tf.global_variables() == variables and tf.trainable_variables() == trainable
        assert all(v.name.startswith('model/') for v in trainable)
        assert any('moving_mean' in v.name for v in variables)
        assert set(train_spec) == SPEC_KEYS | {'train_op'}
        assert set(eval_spec) == SPEC_KEYS
        assert train_spec['predictions'].get_shape().as_list() == [None]
        assert train_spec['loss'].get_shape().as_list() == []


def test_training_changes_the_weights_the_eval_graph_reads(params):
    # Without batch norm the eval graph computes exactly what the train graph fits: one fixed batch.
    params.use_batch_norm = False
    params.learning_rate = 1e-2
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        train_spec = model_fn('train', fake_inputs(params), params)
        eval_spec = model_fn('eval', fake_inputs(params), params, reuse=True)
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            before = sess.run(eval_spec['loss'])
            for _ in range(20):
                sess.run(train_spec['train_op'])
            after = sess.run(eval_spec['loss'])
            assert sess.run(tf.train.get_global_step()) == 20
    assert after < before


def test_metrics_accumulate_and_reset_to_zero(params):
    with tf.Graph().as_default():
        train_spec = model_fn('train', fake_inputs(params), params)
        eval_spec = model_fn('eval', fake_inputs(params, seed=1), params, reuse=True)
        accuracy = eval_spec['metrics']['accuracy'][0]
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            sess.run([train_spec['metrics_init_op'], eval_spec['metrics_init_op']])
            for _ in range(3):
                sess.run([eval_spec['update_metrics'], train_spec['update_metrics']])
            eval_values = sess.run({k: v[0] for k, v in eval_spec['metrics'].items()})
            assert eval_values['loss'] > 0
            sess.run(eval_spec['metrics_init_op'])
            eval_vars = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES, scope='metrics_1/')
            assert eval_vars and all(np.all(v == 0) for v in sess.run(eval_vars))  # the confusion matrix too
            # Resetting the eval metrics leaves the train metrics alone.
            train_vars = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES, scope='metrics/')
            assert any(np.any(v != 0) for v in sess.run(train_vars))
            assert sess.run(accuracy) == 0


def test_summaries_per_mode(params):
    with tf.Graph().as_default():
        train_spec = model_fn('train', fake_inputs(params), params)
        eval_spec = model_fn('eval', fake_inputs(params), params, reuse=True)
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            train_summary = tf.Summary.FromString(sess.run(train_spec['summary_op']))
            eval_summary = tf.Summary.FromString(sess.run(eval_spec['summary_op']))
    train_tags = {v.tag for v in train_summary.value}
    eval_tags = {v.tag for v in eval_summary.value}
    # Each mode's own summaries only: the per-step curves and input images in train, the mislabeled images in eval.
    assert train_tags == {'loss', 'accuracy', 'learning_rate'} | {'train_image/image/{}'.format(i) for i in range(3)}
    # An untrained network mislabels some of the 8 images: there is something to show, and only images.
    assert eval_tags and all(v.HasField('image') for v in eval_summary.value)
    assert all(re.fullmatch(r'incorrectly_labeled_[0-5]/image/[0-2]', tag) for tag in eval_tags), eval_tags


def test_no_batch_norm(params):
    params.use_batch_norm = False
    with tf.Graph().as_default():
        model_fn('train', fake_inputs(params), params)
        assert not any('batch_normalization' in v.name for v in tf.global_variables())


def test_unknown_model_version_lists_known_ones(params):
    params.model_version = 'resnet'
    with tf.Graph().as_default(), pytest.raises(InputError, match="Unknown model_version 'resnet'.*baseline"):
        model_fn('train', fake_inputs(params), params)


def test_learning_rate_schedule(params):
    """use_cosine_decay: from learning_rate down to 0 at num_epochs * train_steps, then 0; without it, constant."""
    from model.core.optimizer import learning_rate_schedule
    params.learning_rate, params.num_epochs, params.train_steps = 0.01, 4, 25  # 100 steps in all
    steps = [0, 25, 50, 75, 100, 150]
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        params.use_cosine_decay = True
        decayed = learning_rate_schedule(step, params)
        with tf.Session() as sess:
            values = [sess.run(decayed, {step: s}) for s in steps]
    half = 0.5 * 0.01 * (1 + np.cos(np.pi / 4))
    np.testing.assert_allclose(values, [0.01, half, 0.005, 0.01 - half, 0, 0], rtol=1e-6, atol=1e-12)
    params.use_cosine_decay = False
    assert learning_rate_schedule(step, params) == 0.01
