"""The NER example's report by entity type (model/core/reports.py), checked against seqeval, and what TensorBoard shows."""
import glob
import os
import warnings

import pytest
from seqeval.metrics import classification_report

import evaluate
from helpers import copy_of, read_json, script_args
from helpers.ner import dev_pass, read_lines
from model.core.reports import format_report
from model.core.tf_compat import tf

pytest_plugins = ['helpers.ner_fixtures']


def test_the_report_by_type_equals_seqeval_s_classification_report_on_the_same_tags(ner_trained, ner_dir):
    batches, overall, values, size = dev_pass(ner_trained, ner_dir)
    tags = read_lines(os.path.join(ner_dir, 'tags.txt'))
    gold, predicted = [], []
    for labels, predictions, lengths, _ in batches:
        for row_labels, row_predictions, length in zip(labels, predictions, lengths, strict=True):
            gold.append([tags[i] for i in row_labels[:length]])
            predicted.append([tags[i] for i in row_predictions[:length]])
    assert len(gold) == size
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        expected = classification_report(gold, predicted, output_dict=True, zero_division=0)
    types = sorted(name for name in expected if name not in ('micro avg', 'macro avg', 'weighted avg'))
    assert sorted(values['per_type']) == types and len(types) > 1
    for entity_type in types:
        row, want = values['per_type'][entity_type], expected[entity_type]
        assert (row['precision'], row['recall'], row['f1']) == pytest.approx(
            (want['precision'], want['recall'], want['f1-score']))
        assert row['gold'] == want['support']
    assert any(0 < row['f1'] < 1 for row in values['per_type'].values())  # figures that can be wrong
    # The overall line of the table is the streamed F1 of the metrics.
    table = format_report(values)
    assert table.splitlines()[-1].split()[1:4] == ['{:.3f}'.format(overall[k]) for k in ('precision', 'recall', 'f1')]


def test_evaluate_prints_conlleval_s_table_and_writes_it(ner_trained, ner_dir, tmp_path, caplog):
    model_dir = copy_of(ner_trained, tmp_path)
    with caplog.at_level('INFO'):
        metrics = evaluate.main(script_args(model_dir, ner_dir, 'best_weights'))
    saved = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert {'f1', 'precision', 'recall', 'accuracy', 'loss'} <= set(saved) and saved['f1'] == metrics['f1']
    rows = saved['per_type']
    assert rows and all(set(row) == {'precision', 'recall', 'f1', 'gold', 'predicted', 'correct'}
                        for row in rows.values())
    printed = '\n'.join(r.getMessage() for r in caplog.records)
    assert format_report(saved) in printed and 'precision  recall     f1   gold  predicted' in printed


def eval_events(model_dir):
    [events] = glob.glob(os.path.join(model_dir, 'eval_summaries', 'events.out.tfevents.*'))
    return list(tf.train.summary_iterator(events))


def test_tensorboard_has_the_f1_of_each_type_and_marks_the_wrong_tags(ner_trained, ner_dir):
    curves, texts = {}, []
    for event in eval_events(ner_trained):
        for value in event.summary.value:
            if value.tag.startswith('f1_by_type/'):
                curves.setdefault(value.tag, []).append(event.step)
            if value.tag.startswith('dev_sentences'):
                texts.append(tf.make_ndarray(value.tensor).item().decode())
    tags = read_lines(os.path.join(ner_dir, 'tags.txt'))
    types = sorted({tag[2:] for tag in tags if tag != 'O'})
    assert sorted(curves) == ['f1_by_type/' + t for t in types]
    assert all(len(steps) == 2 for steps in curves.values())  # one point per epoch
    assert texts and '| token | gold | predicted |' in texts[0]
    cells = [[cell.strip() for cell in line.strip().strip('|').split('|')]
             for text in texts for line in text.splitlines() if line.startswith('| ') and line != '| token | gold | predicted |']
    assert cells and all(len(row) == 3 for row in cells)
    wrong = [(gold, predicted) for _, gold, predicted in cells if predicted.strip('* ✗') != gold]
    marked = [(gold, predicted) for _, gold, predicted in cells if predicted.endswith('** ✗')]
    assert wrong and marked == wrong  # every wrong tag is marked, and only those
