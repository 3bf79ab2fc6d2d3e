"""ner/moving_average.py: with ema_decay, evaluation, the best weights, predict and export use the averaged weights."""
import os

import numpy as np
import pytest

import evaluate
import train
from helpers import drain, read_json, script_args
from helpers.ner import ner_params, write_ner_params
from model.core.tf_compat import tf
from model.utils import Params
from ner import example as ner_example
from ner.input_fn import load_vocabularies
from ner.model_fn import model_fn
from ner.moving_average import SHADOW
from ner.predict_input import serving_input_fn

pytest_plugins = ['helpers.ner_fixtures']


def eval_loss(sess, spec):
    sess.run([spec['iterator_init_op'], spec['metrics_init_op']])
    drain(sess, [spec['update_metrics']])
    return sess.run(spec['metrics']['loss'][0])


def test_the_eval_graph_reads_the_averages_and_training_updates_them(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path, ema_decay=0.9)
    raw_params = ner_params(ner_dir, tmp_path / 'raw', ema_decay=0.0)
    train_data, _ = ner_example.load_split(ner_dir, 'train', params)
    eval_data, _ = ner_example.load_split(ner_dir, 'dev', params)
    with tf.Graph().as_default():
        inputs = [ner_example.input_fn(True, train_data, params), ner_example.input_fn(False, eval_data, params),
                  ner_example.input_fn(False, eval_data, raw_params)]
        train_spec = model_fn('train', inputs[0], params)
        trained = tf.trainable_variables()
        averaged_spec = model_fn('eval', inputs[1], params, reuse=True)
        raw_spec = model_fn('eval', inputs[2], raw_params, reuse=True)
        shadows = {v.op.name[:-len('/' + SHADOW)]: v for v in tf.global_variables() if v.op.name.endswith(SHADOW)}
        assert sorted(shadows) == sorted(v.op.name for v in trained)  # one average per trained variable
        assert tf.trainable_variables() == trained  # the averages are not trained
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            sess.run(train_spec['iterator_init_op'])
            for _ in range(4):
                sess.run(train_spec['train_op'])
            weights, averages = sess.run([trained, [shadows[v.op.name] for v in trained]])
            assert any(not np.allclose(w, a) for w, a in zip(weights, averages, strict=True))  # they moved apart
            assert eval_loss(sess, averaged_spec) != pytest.approx(eval_loss(sess, raw_spec), rel=1e-6)
            # Averages set to the weights: the two evaluations agree, so the one reads the averages.
            sess.run([tf.assign(shadows[v.op.name], v) for v in trained])
            assert eval_loss(sess, averaged_spec) == pytest.approx(eval_loss(sess, raw_spec), rel=1e-6)


def test_the_averages_are_saved_restored_and_used_by_evaluate_and_predict(ner_dir, tmp_path):
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir, ema_decay=0.8, num_epochs=1)
    train.main(script_args(model_dir, ner_dir))
    checkpoint = os.path.join(model_dir, 'best_weights', 'after-epoch-1')
    saved = dict(tf.train.list_variables(checkpoint))
    assert 'model/embeddings/' + SHADOW in saved and 'model/embeddings' in saved
    # evaluate.py on the dev split gives the dev metrics training saved (computed with the averages).
    metrics = evaluate.main(script_args(model_dir, ner_dir, 'best_weights'))
    best = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    params = Params(os.path.join(model_dir, 'params.json'))
    data, size = ner_example.load_split(ner_dir, 'dev', params)
    params.eval_size, params.eval_steps = size, ner_example.num_batches(data, size, params)
    with tf.Graph().as_default():
        spec = model_fn('eval', ner_example.input_fn(False, data, params), params)
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            tf.train.Saver().restore(sess, checkpoint)
            assert eval_loss(sess, spec) == pytest.approx(best['loss'], rel=1e-5)
    assert set(metrics) >= {'f1', 'loss'}
    # The predict graph reads the averages of the checkpoint, not the weights.
    with tf.Graph().as_default():
        ner_example.trained_vocabulary(model_dir, params)
        spec = model_fn('predict', serving_input_fn(load_vocabularies(params), params), params)
        embeddings = [v for v in tf.global_variables() if v.op.name == 'model/embeddings/' + SHADOW]
        assert embeddings
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            tf.train.Saver().restore(sess, checkpoint)
            np.testing.assert_array_equal(sess.run(embeddings[0]),
                                          tf.train.load_variable(checkpoint, 'model/embeddings/' + SHADOW))


def test_without_ema_there_is_no_average(ner_trained):
    names = [name for name, _ in tf.train.list_variables(os.path.join(ner_trained, 'last_weights', 'after-epoch-2'))]
    assert names and not any(SHADOW in name for name in names)
