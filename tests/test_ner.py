"""The NER example on the shared core: input pipeline, graph, metrics, and the scripts end to end."""
import argparse
import bisect
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import build_ner_dataset
import build_vocab
import evaluate
import predict
import train
from helpers import ROOT, drain, read_json, run, script_args
from helpers.training import assert_same_training, train_metrics_lines, train_stopped_after
from model.core.errors import InputError
from model.core.params import METRICS, SEED
from model.core.tf_compat import tf
from model.utils import Params
from ner import example as ner_example
from ner import input_fn as ner_input
from ner.entities import count_entities, precision_recall_f1
from ner.model_fn import model_fn

# Small enough that an epoch of the tiny synthetic set takes a few seconds on two cores.
TINY_NER = {'embedding_size': 16, 'lstm_num_units': 16, 'char_embedding_size': 8, 'char_filters': 8,
            'casing_embedding_size': 4, 'batch_size': 16, 'num_epochs': 2, 'learning_rate': 0.01,
            'save_summary_steps': 5}
BASE_NER_PARAMS = os.path.join(ROOT, 'experiments', 'ner', 'base_model', 'params.json')


def write_ner_params(model_dir, **changes):
    with open(BASE_NER_PARAMS) as f:
        values = json.load(f)
    values.update(TINY_NER)
    values.update(changes)
    os.makedirs(model_dir, exist_ok=True)
    path = os.path.join(model_dir, 'params.json')
    with open(path, 'w') as f:
        json.dump(values, f, indent=4)
    return path


@pytest.fixture(scope='session')
def ner_dir(tmp_path_factory):
    """A small synthetic NER set with its vocabularies: 300 train, 60 dev, 60 test sentences."""
    path = str(tmp_path_factory.mktemp('ner') / 'NER')
    build_ner_dataset.build(path, synthetic=True, synthetic_sizes=(300, 60, 60))
    build_vocab.build_vocab(path)
    return path


@pytest.fixture(scope='session')
def ner_trained(ner_dir, tmp_path_factory):
    """The base NER model trained in-process for two epochs with tiny params (copy before changing)."""
    model_dir = str(tmp_path_factory.mktemp('ner_trained') / 'model')
    write_ner_params(model_dir)
    train.main(script_args(model_dir, ner_dir))
    return model_dir


def ner_params(ner_dir, tmp_path, **changes):
    params = Params(write_ner_params(str(tmp_path / 'params'), **changes))
    data, params.train_size = ner_example.load_split(ner_dir, 'train', params)
    params.train_steps = ner_example.num_batches(data, params.train_size, params)
    return params


# -----------------------------------------------------------------------------------------------
# The input pipeline

def test_input_fn_pads_batches_and_gives_the_real_lengths(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path)
    data, size = ner_example.load_split(ner_dir, 'dev', params)
    with open(data[0], encoding='utf-8') as f:
        lines = [line.split() for line in f.read().splitlines()]
    with tf.Graph().as_default():
        inputs = ner_example.input_fn(False, data, params)
        assert {'sentence', 'labels', 'sentence_lengths', 'iterator_init_op', 'chars', 'casing', 'tokens'} <= set(inputs)
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, [inputs['tokens'], inputs['sentence_lengths'], inputs['sentence'],
                                   inputs['labels'], inputs['chars']])
    seen = []
    for tokens, lengths, ids, labels, chars in batches:
        assert tokens.shape == ids.shape == labels.shape and chars.shape[:2] == ids.shape
        for row_tokens, length, row_ids, row_labels in zip(tokens, lengths, ids, labels, strict=True):
            seen.append([t.decode() for t in row_tokens[:length]])
            assert (row_ids[length:] == 0).all() and (row_labels[length:] == 0).all()  # <pad> and O
            assert all(t == b'<pad>' for t in row_tokens[length:])
    assert size == len(lines) == 60
    assert sorted(seen) == sorted(lines)  # every sentence once, whole (bucketing changes the order)
    assert seen[0] == lines[0]  # the first batch, whose sentences TensorBoard shows, starts with the file's first


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


def test_bucketing_keeps_padding_low(ner_dir, tmp_path):
    params = ner_params(ner_dir, tmp_path)
    data, _ = ner_example.load_split(ner_dir, 'train', params)
    with tf.Graph().as_default():
        inputs = ner_example.input_fn(True, data, params)
        with tf.Session() as sess:
            sess.run([tf.tables_initializer(), tf.global_variables_initializer()])
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, [inputs['sentence_lengths'], tf.shape(inputs['sentence'])])
    real = sum(int(lengths.sum()) for lengths, _ in batches)
    padded = sum(int(shape[0] * shape[1]) for _, shape in batches)
    # The steps of an epoch that train_sess runs are all the batches the pipeline makes, no fewer.
    assert len(batches) == ner_example.num_batches(data, 300, params) == params.train_steps
    assert real == sum(len(line.split()) for line in open(data[0], encoding='utf-8'))
    assert 1 - real / padded < 0.15


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
    names = ('tokens', 'sentence', 'sentence_lengths', 'chars', 'casing', 'labels')

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
                    epochs.append(drain(sess, {name: inputs[name] for name in names}))
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
    with open(data[0], encoding='utf-8') as f:
        lines = sorted(tuple(token.encode() for token in line.split()) for line in f.read().splitlines())
    reference = sentences_of(kept[0])
    assert [sentence[0] for sentence in reference] == lines  # every sentence once
    for epoch in kept + streamed:
        assert sentences_of(epoch) == reference  # the same sentences, prepared alike
        for batch in epoch:  # the sentences of a batch are of one bucket of lengths
            assert len({bisect.bisect_right(ner_input.bucket_boundaries(), length)
                        for length in batch['sentence_lengths']}) == 1
    for kept_batch, streamed_batch in zip(kept[0], streamed[0], strict=True):
        for name in names:
            assert kept_batch[name].dtype == streamed_batch[name].dtype, name
    if is_training:
        assert [b['sentence_lengths'].tolist() for b in kept[0]] != [b['sentence_lengths'].tolist() for b in kept[1]]


def test_tokenize_splits_punctuation_as_the_corpora_do():
    with tf.Graph().as_default(), tf.Session() as sess:
        spaced = sess.run(ner_input.tokenize(tf.constant([
            'John Smith, of the U.S., said: "Hello!"', "He didn't see Mary's car in 3.5 hours."])))
    assert spaced[0].decode().split() == ['John', 'Smith', ',', 'of', 'the', 'U.S.', ',', 'said', ':', '"',
                                          'Hello', '!', '"']
    assert spaced[1].decode().split() == ['He', 'did', "n't", 'see', 'Mary', "'s", 'car', 'in', '3.5', 'hours', '.']


# -----------------------------------------------------------------------------------------------
# The graph

@pytest.mark.parametrize('model_version', ['lstm', 'bilstm_char', 'bilstm_char_crf'])
def test_model_fn_train_and_eval_share_the_weights(ner_dir, tmp_path, model_version):
    params = ner_params(ner_dir, tmp_path, model_version=model_version)
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


def test_entity_metrics_in_the_graph_equal_conlleval_counts(ner_trained, ner_dir, tmp_path):
    """Over a whole pass, the graph's streaming P/R/F1 equal ner/entities.py on the predictions it made."""
    params = Params(os.path.join(ner_trained, 'params.json'))
    data, size = ner_example.load_split(ner_dir, 'dev', params)
    params.eval_size = size
    params.eval_steps = ner_example.num_batches(data, size, params)
    tags = open(os.path.join(ner_dir, 'tags.txt'), encoding='utf-8').read().splitlines()
    with tf.Graph().as_default():
        spec = model_fn('eval', ner_example.input_fn(False, data, params), params)
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            tf.train.Saver().restore(sess, os.path.join(ner_trained, 'last_weights', 'after-epoch-2'))
            sess.run([spec['iterator_init_op'], spec['metrics_init_op']])
            batches = drain(sess, [spec['update_metrics'], spec['labels'], spec['predictions'],
                                   spec['sentence_lengths'], spec['sentence']])
            values = sess.run({name: value for name, (value, _) in spec['metrics'].items()})
    gold, predicted, accuracy_hits, tokens = [], [], 0, 0
    for _, labels, predictions, lengths, _ in batches:
        for row_labels, row_predictions, length in zip(labels, predictions, lengths, strict=True):
            gold.append([tags[i] for i in row_labels[:length]])
            predicted.append([tags[i] for i in row_predictions[:length]])
            accuracy_hits += int((row_labels[:length] == row_predictions[:length]).sum())
            tokens += int(length)
    precision, recall, f1 = precision_recall_f1(*count_entities(gold, predicted))
    assert values['precision'] == pytest.approx(precision, abs=1e-9)
    assert values['recall'] == pytest.approx(recall, abs=1e-9)
    assert values['f1'] == pytest.approx(f1, abs=1e-9)
    assert values['accuracy'] == pytest.approx(accuracy_hits / tokens, abs=1e-6)  # real tokens only
    assert len(gold) == size


# -----------------------------------------------------------------------------------------------
# The scripts on NER data

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


@pytest.mark.slow
def test_ner_scripts_end_to_end_and_the_export_gives_predict_s_tags(tmp_path):
    """As a user would: build the data, train, evaluate, predict from standard input, export, load in TF2."""
    data_dir, model_dir = str(tmp_path / 'NER'), str(tmp_path / 'experiment')
    run('build_ner_dataset.py', '--synthetic', '--output_dir', data_dir)
    run('build_vocab.py', '--data_dir', data_dir)
    write_ner_params(model_dir, num_epochs=1)
    run('train.py', '--model_dir', model_dir, '--data_dir', data_dir)
    run('evaluate.py', '--model_dir', model_dir, '--data_dir', data_dir)
    test_metrics = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert set(test_metrics) == {'accuracy', 'loss', 'f1', 'precision', 'recall'}
    assert os.listdir(os.path.join(model_dir, 'train_summaries')) and os.listdir(os.path.join(model_dir,
                                                                                             'eval_summaries'))
    sentences = ['Maria Lopez flew to New Dorvale on Monday.', 'Apple and Jordan signed a deal in Amman.']
    result = run('predict.py', '--model_dir', model_dir, '--output', str(tmp_path / 'tags.jsonl'),
                 input='\n'.join(sentences) + '\n')
    predicted = [json.loads(line)['tags'] for line in open(tmp_path / 'tags.jsonl', encoding='utf-8')]
    assert len(predicted) == 2 and 'entities:' in result.stdout
    export_dir = str(tmp_path / 'exported' / '1')
    run('export.py', '--model_dir', model_dir, '--export_dir', export_dir)
    # A plain TF2 process, without this project's set-up, loads it and tags the same sentences.
    code = ("import json, sys\nimport tensorflow as tf\n"
            "model = tf.saved_model.load(sys.argv[1])\n"
            "out = model.signatures['serving_default'](sentences=tf.constant(json.loads(sys.argv[2])))\n"
            "tags = [[t.decode() for t in row[:n]] for row, n in zip(out['tags'].numpy(), "
            "out['sentence_lengths'].numpy())]\n"
            "print(json.dumps(tags))\n")
    env = {key: value for key, value in os.environ.items() if key != 'TF_USE_LEGACY_KERAS'}
    env['TF_CPP_MIN_LOG_LEVEL'] = '3'
    loaded = subprocess.run([sys.executable, '-c', code, export_dir, json.dumps(sentences)], capture_output=True,
                            text=True, env=env, timeout=300, check=True)
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == predicted
