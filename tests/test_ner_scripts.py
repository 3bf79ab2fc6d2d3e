"""The scripts on NER data: train.py, evaluate.py, predict.py, export.py, in-process and as a user runs them."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import evaluate
import predict
import train
from helpers import read_json, run, script_args
from helpers.ner import write_ner_params, write_ner_set
from helpers.training import assert_same_training, train_metrics_lines, train_stopped_after
from model.core.errors import InputError
from model.core.tf_compat import tf

pytest_plugins = ['helpers.ner_fixtures']


def test_training_writes_the_experiment_and_keeps_its_vocabulary(ner_trained, ner_dir):
    metrics = read_json(os.path.join(ner_trained, 'metrics_eval_best_weights.json'))
    assert set(metrics) == {'accuracy', 'loss', 'f1', 'precision', 'recall', 'epoch'}
    for name in ('words.txt', 'tags.txt', 'chars.txt', 'dataset_params.json'):
        with open(os.path.join(ner_trained, 'vocab', name), 'rb') as kept, \
                open(os.path.join(ner_dir, name), 'rb') as original:
            assert kept.read() == original.read()
    recorded = read_json(os.path.join(ner_trained, 'dataset.json'))
    assert recorded['data_dir'] == os.path.abspath(ner_dir) and set(recorded['fits']) == {
        'words.txt', 'tags.txt', 'chars.txt'}


def test_a_run_interrupted_and_resumed_equals_one_never_interrupted(ner_trained, ner_dir, tmp_path):
    """Ctrl-C after epoch 1, then --restore_from: the weights and metrics of ner_trained, to the bit.

    The second epoch's order and its dropout masks are drawn from the global step, not from a
    random op's state, which would start anew in the resumed process.
    """
    model_dir = str(tmp_path / 'interrupted')
    write_ner_params(model_dir)
    train_stopped_after(model_dir, ner_dir, 1)
    train.main(script_args(model_dir, ner_dir, os.path.join(model_dir, 'last_weights')))
    assert_same_training(model_dir, ner_trained)
    assert train_metrics_lines(model_dir) == train_metrics_lines(ner_trained)


def test_a_rebuilt_vocabulary_does_not_fit_the_weights(ner_trained, ner_dir, tmp_path):
    data_dir = shutil.copytree(ner_dir, str(tmp_path / 'NER'))
    model_dir = shutil.copytree(ner_trained, str(tmp_path / 'model'))
    words_path = os.path.join(data_dir, 'words.txt')
    words = open(words_path, encoding='utf-8').read().splitlines()
    words[1], words[2] = words[2], words[1]  # same size, other ids: the embeddings would be wrong
    open(words_path, 'w', encoding='utf-8').write('\n'.join(words) + '\n')
    def results():  # what the scripts write, but for their logs
        return sorted(name for name in os.listdir(model_dir) if not name.endswith('.log'))
    before = results()
    with pytest.raises(InputError, match=r'words.txt is not the words.txt the weights in .* were trained with'):
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    with pytest.raises(InputError, match=r'words.txt is not the words.txt the weights'):
        train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    assert results() == before


def test_missing_vocabulary_says_to_run_build_vocab(ner_dir, tmp_path):
    data_dir = shutil.copytree(ner_dir, str(tmp_path / 'NER'))
    os.remove(os.path.join(data_dir, 'dataset_params.json'))
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir)
    with pytest.raises(InputError, match=r'No dataset_params.json in .*NER: run python build_vocab.py --data_dir'):
        train.main(script_args(model_dir, data_dir))
    assert not os.path.exists(os.path.join(model_dir, 'last_weights'))


def test_a_dev_tag_missing_from_tags_txt_is_named(ner_dir, tmp_path):
    data_dir = shutil.copytree(ner_dir, str(tmp_path / 'NER'))
    labels_path = os.path.join(data_dir, 'dev', 'labels.txt')
    lines = open(labels_path, encoding='utf-8').read().splitlines()
    lines[3] = ' '.join(['B-XYZ'] + lines[3].split()[1:])
    open(labels_path, 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir)
    with pytest.raises(InputError, match=r"dev/labels.txt:4: tag 'B-XYZ' is not in .*tags.txt: run python build_vocab"):
        train.main(script_args(model_dir, data_dir))


def test_predict_tags_sentences_and_refuses_an_empty_one(ner_trained, tmp_path, capsys):
    sentences = tmp_path / 'sentences.txt'
    sentences.write_text('John Smith lives in Paris.\nThe University of Kentor hired Maria Lopez, said Reuters.\n')
    output = str(tmp_path / 'tags.jsonl')
    results = predict.main(argparse.Namespace(inputs=[str(sentences)], model_dir=ner_trained,
                                              restore_from='best_weights', output=output))
    assert [tokens for tokens, _ in results] == [
        ['John', 'Smith', 'lives', 'in', 'Paris', '.'],
        ['The', 'University', 'of', 'Kentor', 'hired', 'Maria', 'Lopez', ',', 'said', 'Reuters', '.']]
    records = [json.loads(line) for line in open(output, encoding='utf-8')]
    assert [r['tags'] for r in records] == [tags for _, tags in results]
    assert records[0]['where'] == '{}:1'.format(sentences)
    printed = capsys.readouterr().out
    assert 'John/' in printed and 'entities:' in printed
    sentences.write_text('John lives here.\n\nAnd so does Mary.\n')
    with pytest.raises(InputError, match=r'sentences.txt:2: empty sentence'):
        predict.main(argparse.Namespace(inputs=[str(sentences)], model_dir=ner_trained,
                                        restore_from='best_weights', output=None))


def eval_metrics_by_epoch(model_dir):
    """[{metric: value}] of each epoch's dev evaluation, as train.log gives them (3 decimals)."""
    with open(os.path.join(model_dir, 'train.log')) as f:
        lines = re.findall(r'- Eval metrics: (.*)', f.read())
    return [{name: float(value) for name, value in (item.split(': ') for item in line.split(' ; '))} for line in lines]


def test_the_best_weights_are_those_of_the_best_dev_f1(ner_dir, tmp_path, monkeypatch):
    """When dev accuracy and entity F1 disagree, best_weights/ holds the epoch of the best F1 (what NER users
    measure: most tokens are 'O'). A stand-in F1, 1 - the token accuracy, makes them disagree at every epoch."""
    from ner import model_fn as ner_model_fn
    entity_metrics = ner_model_fn.entity_metrics

    def f1_against_accuracy(labels, predictions, sentence_lengths, tag_names):
        metrics, by_type = entity_metrics(labels, predictions, sentence_lengths, tag_names)
        mask = tf.sequence_mask(sentence_lengths, tf.shape(labels)[1])
        accuracy, update = tf.metrics.accuracy(labels=labels, predictions=predictions, weights=mask)
        metrics['f1'] = (1 - tf.cast(accuracy, tf.float64), tf.group(metrics['f1'][1], update))
        return metrics, by_type
    monkeypatch.setattr(ner_model_fn, 'entity_metrics', f1_against_accuracy)
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir)
    train.main(script_args(model_dir, ner_dir))
    epochs = eval_metrics_by_epoch(model_dir)
    assert len(epochs) == 2 and epochs[0]['accuracy'] < epochs[1]['accuracy']  # so the stand-in F1 fell
    best = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    assert best['epoch'] == 1 and best['f1'] == pytest.approx(epochs[0]['f1'], abs=1e-3)
    with open(os.path.join(model_dir, 'best_weights', 'checkpoint')) as f:
        assert 'after-epoch-1' in f.read()


@pytest.mark.slow
def test_ner_scripts_end_to_end_and_the_export_gives_predict_s_tags(tmp_path):
    """As a user would: train, evaluate, predict from standard input, export, load in TF2 (on a small built set)."""
    data_dir, model_dir = str(tmp_path / 'NER'), str(tmp_path / 'experiment')
    # 300 sentences are enough to compare the export with predict.py (test_build_ner_dataset.py runs
    # build_ner_dataset.py and build_vocab.py as a user does, on the whole synthetic set).
    write_ner_set(data_dir)
    write_ner_params(model_dir, num_epochs=1)
    run('train.py', '--model_dir', model_dir, '--data_dir', data_dir)
    run('evaluate.py', '--model_dir', model_dir, '--data_dir', data_dir)
    test_metrics = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert set(test_metrics) == {'accuracy', 'loss', 'f1', 'precision', 'recall', 'data_dir', 'per_type'}
    assert test_metrics['data_dir'] == os.path.abspath(data_dir)  # the set they are the figures of
    assert os.listdir(os.path.join(model_dir, 'train_summaries')) and os.listdir(os.path.join(model_dir,
                                                                                             'eval_summaries'))
    sentences = ['Maria Lopez flew to New Dorvale on Monday.', 'Apple and Jordan signed a deal in Amman.']
    result = run('predict.py', '--model_dir', model_dir, '--output', str(tmp_path / 'tags.jsonl'),
                 input='\n'.join(sentences) + '\n')
    predicted = [json.loads(line)['tags'] for line in open(tmp_path / 'tags.jsonl', encoding='utf-8')]
    assert len(predicted) == 2 and 'entities:' in result.stdout
    export_dir = str(tmp_path / 'exported' / '1')
    run('export.py', '--model_dir', model_dir, '--export_dir', export_dir)
    assert sorted(os.listdir(os.path.join(export_dir, 'assets'))) == ['chars.txt', 'tags.txt', 'words.txt']
    # The SavedModel is self-contained: the experiment folder and the data set gone (and other vocabulary
    # files where the experiment's were, as after retraining on another corpus), it still tags the same.
    vocab_dir = os.path.join(model_dir, 'vocab')
    shutil.rmtree(data_dir)
    shutil.rmtree(model_dir)
    os.makedirs(vocab_dir)
    for name in ('words.txt', 'chars.txt', 'tags.txt'):
        with open(os.path.join(export_dir, 'assets', name), encoding='utf-8') as f:
            lines = f.read().splitlines()
        with open(os.path.join(vocab_dir, name), 'w', encoding='utf-8') as f:
            f.write('\n'.join(reversed(lines)) + '\n')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    # A plain TF2 process, without this project's set-up, loads it from another folder and tags the same sentences.
    code = ("import json, sys\nimport tensorflow as tf\n"
            "model = tf.saved_model.load(sys.argv[1])\n"
            "out = model.signatures['serving_default'](sentences=tf.constant(json.loads(sys.argv[2])))\n"
            "tags = [[t.decode() for t in row[:n]] for row, n in zip(out['tags'].numpy(), "
            "out['sentence_lengths'].numpy())]\n"
            "print(json.dumps(tags))\n")
    env = {key: value for key, value in os.environ.items() if key != 'TF_USE_LEGACY_KERAS'}
    env['TF_CPP_MIN_LOG_LEVEL'] = '3'
    loaded = subprocess.run([sys.executable, '-c', code, os.path.relpath(export_dir, elsewhere), json.dumps(sentences)],
                            capture_output=True, text=True, env=env, timeout=300, check=True, cwd=str(elsewhere))
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == predicted


def test_a_vocabulary_that_does_not_fit_is_said_rebuilt_or_another_data_set(ner_trained, ner_dir, tmp_path):
    """In the folder the weights were trained on: rebuilt since; elsewhere: another data set, named, with its fix."""
    data_dir = shutil.copytree(ner_dir, str(tmp_path / 'other NER'))
    model_dir = shutil.copytree(ner_trained, str(tmp_path / 'model'))
    words_path = os.path.join(data_dir, 'words.txt')
    words = open(words_path, encoding='utf-8').read().splitlines()
    words[1], words[2] = words[2], words[1]
    open(words_path, 'w', encoding='utf-8').write('\n'.join(words) + '\n')
    with pytest.raises(InputError) as raised:
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    message = str(raised.value)
    assert 'is another data set than the one they were trained on ({})'.format(os.path.abspath(ner_dir)) in message
    assert 'Pass --data_dir {}'.format(os.path.abspath(ner_dir)) in message and 'rebuilt' not in message
    # The experiment as if trained on that folder, whose words.txt then changed: rebuilt.
    record_path = os.path.join(model_dir, 'dataset.json')
    record = read_json(record_path)
    record['data_dir'] = os.path.abspath(data_dir)
    with open(record_path, 'w') as f:
        json.dump(record, f)
    with pytest.raises(InputError, match=r'words.txt the weights in .* were trained with: it changed since \(the '
                                         r'data set was rebuilt\?\)'):
        evaluate.main(script_args(model_dir, data_dir, 'best_weights'))


def test_an_ner_experiment_given_the_vision_data_set_is_told_so(data_dir, tmp_path):
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir)
    with pytest.raises(InputError) as raised:
        train.main(script_args(model_dir, data_dir))
    message = str(raised.value)
    assert 'data set of the vision example' in message and data_dir in message and 'run python' not in message
    assert not os.path.exists(os.path.join(model_dir, 'last_weights'))


def test_the_suggested_build_vocab_command_can_be_pasted(tmp_path):
    from ner.example import load_dataset_params
    folder = str(tmp_path / 'my data' / 'córpus ü')
    os.makedirs(folder)
    with pytest.raises(InputError) as raised:
        load_dataset_params(folder, None)
    assert "run python build_vocab.py --data_dir '{}' first".format(folder) in str(raised.value)


def test_predict_tokenized_splits_on_whitespace_only(ner_trained, trained, tmp_path):
    sentences = tmp_path / 'sentences.txt'
    sentences.write_text('He met Acme Corp. in Paris,France\n')
    default = predict.main(script_args(ner_trained, restore_from='best_weights', inputs=[str(sentences)], output=None))
    tokenized = predict.main(script_args(ner_trained, restore_from='best_weights', inputs=[str(sentences)],
                                         output=None, tokenized=True))
    assert [tokens for tokens, _ in default] == [['He', 'met', 'Acme', 'Corp.', 'in', 'Paris', ',', 'France']]
    assert [tokens for tokens, _ in tokenized] == [['He', 'met', 'Acme', 'Corp.', 'in', 'Paris,France']]
    assert len(tokenized[0][1]) == 6  # a tag per token
    with pytest.raises(InputError, match='--tokenized is for sentences'):
        predict.main(script_args(trained, restore_from='best_weights', inputs=[str(sentences)], output=None,
                                 tokenized=True))
