"""ner/model_fn.py: the train and eval graphs, and their metrics, on the real tokens only."""
import os

import numpy as np
import pytest

from helpers import drain
from helpers.ner import dev_pass, ner_params, padding_of, read_lines, with_more_padding
from model.core.params import METRICS
from model.core.tf_compat import tf
from ner import example as ner_example
from ner.entities import count_entities, precision_recall_f1
from ner.model_fn import model_fn

pytest_plugins = ['helpers.ner_fixtures']

VERSIONS = ['lstm', 'bilstm_char', 'bilstm_char_crf']
FEATURES = ('tokens', 'sentence', 'sentence_lengths', 'chars', 'casing', 'labels')


def eval_pass(sess, spec):
    """The eval metrics of one pass over the spec's split, and its predictions."""
    sess.run([spec['iterator_init_op'], spec['metrics_init_op']])
    predictions = drain(sess, [spec['update_metrics'], spec['predictions']])
    return sess.run({name: value for name, (value, _) in spec['metrics'].items()}), predictions


@pytest.mark.parametrize('model_version', VERSIONS)
def test_model_fn_train_and_eval_share_the_weights(ner_dir, tmp_path, model_version):
    # No dropout: a train step is then a function of the weights alone, and so is every evaluation.
    params = ner_params(ner_dir, tmp_path, model_version=model_version, dropout_rate=0.0, word_dropout=0.0)
    train_data, _ = ner_example.load_split(ner_dir, 'train', params)
    eval_data, _ = ner_example.load_split(ner_dir, 'dev', params)
    with tf.Graph().as_default():
        train_spec = model_fn('train', ner_example.input_fn(True, train_data, params), params)
        variables = tf.global_variables()
        eval_spec = model_fn('eval', ner_example.input_fn(False, eval_data, params), params, reuse=True)
        assert tf.global_variables() == variables  # eval reuses the train weights, creates none
        assert set(eval_spec['metrics']) == {'accuracy', 'loss', 'f1', 'precision', 'recall'} == set(METRICS['ner'])
        assert set(train_spec['metrics']) == {'accuracy', 'loss'}
        assert 'train_op' in train_spec and 'train_op' not in eval_spec
        assert eval_spec['predictions'].dtype == tf.int64
        with tf.Session() as sess:
            sess.run(eval_spec['variable_init_op'])  # made last: it initializes the tables of both pipelines
            before, _ = eval_pass(sess, eval_spec)
            sess.run(train_spec['iterator_init_op'])
            for _ in range(3):
                sess.run(train_spec['train_op'])
            after, _ = eval_pass(sess, eval_spec)
            saved = tf.train.Saver().save(sess, str(tmp_path / 'weights' / 'after-3-steps'))
    # Evaluation sees the trained weights: its loss moved, and it is that of the saved weights in a graph of their own.
    assert after['loss'] != before['loss']
    with tf.Graph().as_default():
        eval_spec = model_fn('eval', ner_example.input_fn(False, eval_data, params), params)
        with tf.Session() as sess:
            sess.run(eval_spec['variable_init_op'])
            tf.train.Saver().restore(sess, saved)
            restored, _ = eval_pass(sess, eval_spec)
    assert restored == pytest.approx(after, rel=1e-6)


def dev_batch_with_padding(ner_dir, params):
    """The dev batch with the most padding, as a dict of numpy arrays."""
    data, _ = ner_example.load_split(ner_dir, 'dev', params)
    with tf.Graph().as_default():
        inputs = ner_example.input_fn(False, data, params)
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, {name: inputs[name] for name in FEATURES})
    return max(batches, key=padding_of)


@pytest.mark.parametrize('model_version', VERSIONS)
def test_padding_changes_nothing_the_model_computes(ner_dir, tmp_path, model_version):
    """A batch, and the same batch with more padding: the same loss, accuracy, metrics, and tags of the real tokens."""
    params = ner_params(ner_dir, tmp_path, model_version=model_version)
    batch = dev_batch_with_padding(ner_dir, params)
    assert padding_of(batch) > 0
    more = with_more_padding(batch, ner_dir)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        specs = [model_fn('eval', {name: tf.constant(value) for name, value in inputs.items()}, params, reuse=reuse)
                 for inputs, reuse in ((batch, False), (more, True))]
        with tf.Session() as sess:
            sess.run(specs[0]['variable_init_op'])
            values = []
            for spec in specs:
                sess.run(spec['metrics_init_op'])
                loss, accuracy, predictions, _ = sess.run([spec['loss'], spec['accuracy'], spec['predictions'],
                                                           spec['update_metrics']])
                metrics = sess.run({name: value for name, (value, _) in spec['metrics'].items()})
                values.append((loss, accuracy, predictions, metrics))
    (loss, accuracy, predictions, metrics), (more_loss, more_accuracy, more_predictions, more_metrics) = values
    lengths, labels = batch['sentence_lengths'], batch['labels']
    real = np.arange(labels.shape[1])[None, :] < lengths[:, None]
    assert accuracy == pytest.approx((predictions == labels)[real].mean(), rel=1e-6)  # real tokens only
    assert 0 < accuracy < 1  # so that counting the padding, predicted 'O' as it is, would change it
    assert more_loss == pytest.approx(loss, rel=1e-5) and more_accuracy == pytest.approx(accuracy, rel=1e-6)
    assert more_metrics == pytest.approx(metrics, rel=1e-5)
    assert metrics['accuracy'] == pytest.approx(accuracy, rel=1e-6) and metrics['loss'] == pytest.approx(loss, rel=1e-6)
    np.testing.assert_array_equal(more_predictions[:, :labels.shape[1]][real], predictions[real])
    assert (predictions[~real] == 0).all() and (more_predictions[:, labels.shape[1]:] == 0).all()


def test_entity_metrics_in_the_graph_equal_conlleval_counts(ner_trained, ner_dir, tmp_path):
    """Over a whole pass, the graph's streaming P/R/F1 equal ner/entities.py on the predictions it made."""
    batches, values, _, size = dev_pass(ner_trained, ner_dir)
    tags = read_lines(os.path.join(ner_dir, 'tags.txt'))
    gold, predicted, accuracy_hits, tokens, padding = [], [], 0, 0, 0
    for labels, predictions, lengths, _ in batches:
        for row_labels, row_predictions, length in zip(labels, predictions, lengths, strict=True):
            gold.append([tags[i] for i in row_labels[:length]])
            predicted.append([tags[i] for i in row_predictions[:length]])
            accuracy_hits += int((row_labels[:length] == row_predictions[:length]).sum())
            tokens += int(length)
            padding += len(row_labels) - int(length)
    precision, recall, f1 = precision_recall_f1(*count_entities(gold, predicted))
    assert values['precision'] == pytest.approx(precision, abs=1e-9)
    assert values['recall'] == pytest.approx(recall, abs=1e-9)
    assert values['f1'] == pytest.approx(f1, abs=1e-9)
    assert 0 < precision < 1 and 0 < recall < 1  # entities found, and missed: counts that can be wrong
    assert values['accuracy'] == pytest.approx(accuracy_hits / tokens, abs=1e-6)  # real tokens only
    # The padding, 'O' predicted for 'O', would count as right: the line above tells them apart.
    assert padding > 0 and accuracy_hits / tokens != pytest.approx((accuracy_hits + padding) / (tokens + padding))
    assert len(gold) == size
