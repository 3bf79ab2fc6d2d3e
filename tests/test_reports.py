"""model/core/reports.py and what evaluate.py and TensorBoard show of it: the report by class of the vision example."""
import glob
import io
import os
import urllib.parse

import numpy as np
import pytest
from PIL import Image

import evaluate
from helpers import copy_of, read_json, script_args
from helpers.tensorboard import TensorBoard
from model.core.checkpoints import restore
from model.core.reports import format_report, ratios, report
from model.core.tf_compat import tf
from model.input_fn import input_fn
from model.model_fn import model_fn
from model.utils import Params
from vision.image_files import list_images


def test_the_streamed_confusion_matrix_is_the_one_counted_in_numpy_on_the_same_predictions(trained, data_dir):
    params = Params(os.path.join(trained, 'params.json'))
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), params.num_labels)
    params.batch_size = 7  # several batches, the last one short: the counts are summed over the pass
    with tf.Graph().as_default():
        spec = model_fn('eval', input_fn(False, filenames, labels, params), params)
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            restore(sess, 'best_weights', trained)
            sess.run([spec['iterator_init_op'], spec['metrics_init_op']])
            gold, predicted = [], []
            while True:
                try:
                    batch_labels, batch_predictions, _ = sess.run([spec['labels'], spec['predictions'],
                                                                   spec['update_metrics']])
                except tf.errors.OutOfRangeError:
                    break
                gold.extend(batch_labels)
                predicted.extend(batch_predictions)
            values = report(sess, spec)
    assert len(gold) == len(filenames) and len(set(predicted)) > 1
    expected = np.zeros((6, 6), np.int64)
    for true, guess in zip(gold, predicted, strict=True):
        expected[true, guess] += 1
    assert values['confusion_matrix'] == expected.tolist()
    assert values['class_names'] == ['0', '1', '2', '3', '4', '5']
    for k, name in enumerate(values['class_names']):
        row = values['per_class'][name]
        true_k, guessed_k = np.array(gold) == k, np.array(predicted) == k
        hits = int(np.sum(true_k & guessed_k))
        assert row['support'] == int(true_k.sum())
        assert row['precision'] == pytest.approx(hits / guessed_k.sum() if guessed_k.sum() else 0.0)
        assert row['recall'] == pytest.approx(hits / true_k.sum())
        p, r = row['precision'], row['recall']
        assert row['f1'] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)


def test_ratios_are_zero_where_undefined():
    precision, recall, f1 = ratios([0, 2, 0], [0, 4, 3], [1, 2, 0])
    assert precision.tolist() == [0.0, 0.5, 0.0] and recall.tolist() == [0.0, 1.0, 0.0]
    assert f1.tolist() == pytest.approx([0.0, 2 / 3, 0.0])


def test_evaluate_prints_the_table_and_writes_it_with_the_metrics(trained, data_dir, tmp_path, caplog):
    model_dir = copy_of(trained, tmp_path)
    with caplog.at_level('INFO'):
        metrics = evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    saved = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert saved['accuracy'] == metrics['accuracy'] and saved['loss'] == metrics['loss']  # its keys stay
    matrix = np.array(saved['confusion_matrix'])
    assert matrix.sum() == len(os.listdir(os.path.join(data_dir, 'test_signs')))
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics['accuracy'])
    assert [saved['per_class'][name]['support'] for name in saved['class_names']] == matrix.sum(axis=1).tolist()
    printed = '\n'.join(r.getMessage() for r in caplog.records)
    table = format_report(saved)
    assert table in printed
    assert 'precision  recall     f1  support' in table and 'rows: true class, columns: predicted class' in table


def test_class_names_name_the_rows_of_the_table(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    params_path = os.path.join(model_dir, 'params.json')
    params = read_json(params_path)
    params['class_names'] = ['zero', 'one', 'two', 'three', 'four', 'five']
    with open(params_path, 'w') as f:
        import json
        json.dump(params, f)
    evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    saved = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert saved['class_names'] == params['class_names'] and set(saved['per_class']) == set(params['class_names'])
    assert format_report(saved).splitlines()[1].startswith('zero ')


def confusion_images(model_dir):
    """{step: PIL image} of the confusion matrices in the eval event file."""
    [events] = glob.glob(os.path.join(model_dir, 'eval_summaries', 'events.out.tfevents.*'))
    images = {}
    for event in tf.train.summary_iterator(events):
        for value in event.summary.value:
            if value.tag == 'confusion_matrix':
                images[event.step] = Image.open(io.BytesIO(value.image.encoded_image_string))
    return images


def test_training_writes_the_dev_confusion_matrix_of_every_epoch(trained):
    images = confusion_images(trained)
    assert sorted(images) == [6, 12]  # after each epoch of 6 steps
    for image in images.values():
        assert image.format == 'PNG' and image.width > 6 * 30 and image.height > 6 * 30


@pytest.mark.slow
def test_tensorboard_serves_the_confusion_matrix_image(trained, tmp_path):
    with TensorBoard(trained, str(tmp_path / 'tensorboard.log')) as board:
        tags = board.wait_for(lambda: board.get('/data/plugin/images/tags'),
                              lambda answer: 'confusion_matrix' in answer.get('eval_summaries', {}))
        assert 'confusion_matrix' in tags['eval_summaries']
        query = urllib.parse.urlencode({'run': 'eval_summaries', 'tag': 'confusion_matrix'})
        entries = board.get('/data/plugin/images/images?' + query)
        assert [entry['step'] for entry in entries] == [6, 12]
        png = board.get('/data/plugin/images/individualImage?' + entries[-1]['query'], raw=True)
    assert Image.open(io.BytesIO(png)).size == confusion_images(trained)[12].size
