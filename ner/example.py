"""The named-entity recognition example (the course's nlp/): what the shared scripts need of it.

See examples.py for what each name is for. The pipeline and the network are
ner/input_fn.py, ner/model_fn.py and ner/network.py; the data set is built by
build_ner_dataset.py and build_vocab.py (the vocabulary's file names: ner/vocab.py).
Nothing here imports TensorFlow at import time.
"""
import hashlib
import logging
import os
import shlex
import sys

from model.core.errors import InputError
from model.core.files import read_json
from model.core.layout import VOCAB_DIR
from ner.corpora import LABELS, SENTENCES, read_split
from ner.vocab import DATASET_PARAMS, EMBEDDINGS, TAGS, VOCABULARIES, VOCABULARY_FILES
from ner.word_vectors import check_word_vectors

DEFAULT_DATA_DIR = 'data/NER'
SPLIT_DIRS = {'train': 'train', 'dev': 'dev', 'test': 'test'}
# What dataset_params.json brings into params (as the course's params.update(dataset_params.json)).
DATASET_KEYS = ('vocab_size', 'number_of_tags', 'char_vocab_size', 'pad_word', 'pad_tag', 'num_oov_buckets')


def run_build_vocab(data_dir):
    """The fix of a missing or stale vocabulary, as a command that can be pasted (the path quoted)."""
    return "run python build_vocab.py --data_dir {} first".format(shlex.quote(data_dir))


def check_params(params):
    """An unknown model_version: InputError."""
    from model.core.versions import model_version
    from ner.model_fn import MODEL_VERSIONS
    model_version(MODEL_VERSIONS, params).check_params(params)


def load_dataset_params(vocab_dir, params):
    """Add dataset_params.json's sizes to params, and where the vocabulary files are."""
    json_path = os.path.join(vocab_dir, DATASET_PARAMS)
    missing = [name for name in VOCABULARY_FILES if not os.path.isfile(os.path.join(vocab_dir, name))]
    if missing and os.path.isdir(os.path.join(vocab_dir, 'train_signs')):
        raise InputError("{} is a data set of the vision example (train_signs/), and this experiment is an NER one "
                         "(\"example\": \"ner\" in its params.json): pass --data_dir a data set built by "
                         "build_ner_dataset.py and build_vocab.py, such as {}".format(vocab_dir, DEFAULT_DATA_DIR))
    if missing:
        raise InputError("No {} in {}: {}".format(' or '.join(missing), vocab_dir, run_build_vocab(vocab_dir)))
    dataset_params = read_json(json_path, 'dataset params file')
    absent = [key for key in DATASET_KEYS if not isinstance(dataset_params, dict) or key not in dataset_params]
    if absent:
        raise InputError("{} lacks {}: {}".format(json_path, ', '.join(absent), run_build_vocab(vocab_dir)))
    for key in DATASET_KEYS:
        setattr(params, key, dataset_params[key])
    params.vocab_dir = vocab_dir
    params.tags_path = os.path.join(vocab_dir, TAGS)
    if getattr(params, 'word_vectors', False):
        check_word_vectors(vocab_dir, dataset_params, params)


def load_split(data_dir, split, params):
    """((sentences.txt, labels.txt, sentence lengths), number of sentences) of a split; input_fn reads them."""
    load_dataset_params(data_dir, params)
    split_dir = os.path.join(data_dir, SPLIT_DIRS[split])
    lengths = checked_sentence_lengths(split_dir, params, data_dir)
    return (os.path.join(split_dir, SENTENCES), os.path.join(split_dir, LABELS), lengths), len(lengths)


def checked_sentence_lengths(split_dir, params, data_dir):
    """The number of tokens of each sentence of a split, every line checked first.

    The checks are the ones build_vocab.py makes (same line counts, one tag per token, single
    spaces) and every tag must be in tags.txt: tf.data would fail on them mid-epoch, or worse,
    silently read a shifted sentence.
    """
    sentences = read_split(split_dir, "build the data set with python build_ner_dataset.py", strict=True)
    with open(params.tags_path, encoding='utf-8') as f:
        known = set(line.rstrip('\n') for line in f)
    for sentence in sentences:
        unknown = [tag for tag in sentence.tags if tag not in known]
        if unknown:
            raise InputError("{}: tag {!r} is not in {}: {}".format(
                sentence.where, unknown[0], params.tags_path, run_build_vocab(data_dir)))
    return [len(sentence.tokens) for sentence in sentences]


def num_batches(data, size, params):
    """Batches in one pass over a split: sentences are batched by length (see ner/batching.py)."""
    from ner.batching import num_batches as batches_of
    return batches_of(data[2], params.batch_size)


def input_fn(is_training, data, params):
    """The course's train.py steps: lookup tables, load_dataset_from_text, then input_fn(mode, ...)."""
    from model.core.tf_compat import tf
    from ner import input_fn as ner_input
    from ner.batching import kept_in_memory
    sentences_path, labels_path, lengths = data
    # Load Vocabularies (tables initialized by tf.tables_initializer(), in variable_init_op)
    vocabs = ner_input.load_vocabularies(params)
    params.id_pad_word = vocabs['words'].lookup(tf.constant(params.pad_word))
    params.id_pad_tag = vocabs['tags'].lookup(tf.constant(params.pad_tag))
    # Create the input data pipeline
    sentences = ner_input.load_sentences(sentences_path, vocabs, params)
    labels = ner_input.load_dataset_from_text(labels_path, vocabs['tags'])
    # Prepared once and kept in memory if the split fits the cache budget, else prepared every epoch
    num_sentences = kept_in_memory(lengths, params, 'Training sentences' if is_training else 'Evaluation sentences')
    return ner_input.input_fn('train' if is_training else 'eval', sentences, labels, params, num_sentences)


def model_fn(mode, inputs, params, reuse=False):
    from ner import model_fn as ner_model
    return ner_model.model_fn(mode, inputs, params, reuse)


def explain_data_error(error, datas, data_dir):
    """The files were checked line by line before training: a tf.data error here is not the data's fault."""


def file_digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def dataset_identity(data_dir):
    """The data set as dataset.json records it: its folder, and the vocabulary the weights depend on."""
    # The pretrained vectors too when there are some: the weights started from them (and, frozen, are them).
    fits = VOCABULARIES + ((EMBEDDINGS,) if os.path.isfile(os.path.join(data_dir, EMBEDDINGS)) else ())
    return {'data_dir': os.path.abspath(data_dir), 'source': None,
            'fits': {name: file_digest(os.path.join(data_dir, name)) for name in fits},
            'keep': [DATASET_PARAMS]}


# --- Using a trained model: predict.py and export.py ---------------------------------------------

def trained_vocabulary(model_dir, params):
    """Load the vocabulary the weights in model_dir were trained with (kept in model_dir/vocab/)."""
    vocab_dir = os.path.join(model_dir, VOCAB_DIR)
    if not os.path.isdir(vocab_dir):
        raise InputError("No {}: train this experiment first (python train.py --model_dir {}), which keeps its "
                         "vocabulary there".format(vocab_dir, model_dir))
    load_dataset_params(vocab_dir, params)


def read_sentences(paths):
    """[(where, sentence)] from the text files named (one sentence per line), or standard input for '-' or none."""
    sentences = []
    for path in paths or ['-']:
        if path == '-':
            lines, name = sys.stdin.read().splitlines(), '<stdin>'
        else:
            if not os.path.isfile(path):
                raise InputError("No file {}: pass text files of sentences, one per line (or - for standard "
                                 "input)".format(path))
            try:
                with open(path, encoding='utf-8') as f:
                    lines, name = f.read().splitlines(), path
            except UnicodeDecodeError as e:
                raise InputError("{} is not UTF-8 text (byte {}): convert it to UTF-8 first".format(
                    path, e.start)) from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise InputError("{}:{}: empty sentence: give one sentence per line, without blank lines".format(
                    name, number))
            sentences.append(('{}:{}'.format(name, number), line))
    if not sentences:
        raise InputError("No sentences to tag in {}".format(', '.join(paths or ['standard input'])))
    return sentences


def predict(paths, params, model_dir, restore_from, output=None, tokenized=False):
    """predict.py for sentences: each token with its tag, then the entities found; --output CSV or JSON lines.

    Returns a list of (tokens, tags) per sentence, in order.
    """
    from model.core.prediction import run_predictions
    from model.core.tf_compat import tf
    from ner import input_fn as ner_input
    from ner import model_fn as ner_model
    from ner import predict_input
    from ner.entities import get_entities
    trained_vocabulary(model_dir, params)
    sentences = read_sentences(paths)

    with tf.Graph().as_default():
        vocabs = ner_input.load_vocabularies(params)
        inputs = predict_input.predict_input_fn([sentence for _, sentence in sentences], vocabs, params,
                                                tokenized=tokenized)
        model_spec = ner_model.model_fn('predict', inputs, params)
        results = []
        for tokens, tags, lengths in run_predictions(model_spec, ['tokens', 'tags', 'sentence_lengths'],
                                                     model_dir, restore_from):
            for row_tokens, row_tags, length in zip(tokens, tags, lengths, strict=True):
                results.append(([t.decode('utf-8') for t in row_tokens[:length]],
                                [t.decode('utf-8') for t in row_tags[:length]]))

    records = []
    for (where, _), (tokens, tags) in zip(sentences, results, strict=True):
        entities = [(' '.join(tokens[start:end]), kind) for kind, start, end in get_entities(tags)]
        print(' '.join('{}/{}'.format(token, tag) for token, tag in zip(tokens, tags, strict=True)), flush=True)
        print('  entities: {}'.format('; '.join('{} ({})'.format(text, kind) for text, kind in entities) or 'none'),
              flush=True)
        records.append({'where': where, 'tokens': tokens, 'tags': tags,
                        'entities': [{'text': text, 'type': kind} for text, kind in entities]})
    if output:
        write_predictions(output, records)
        logging.info("Predictions written to %s", output)
    return results


def write_predictions(path, records):
    """JSON lines (one sentence a line) if path ends in .jsonl, else CSV (one token a row), written atomically."""
    import csv
    import json

    from model.core.files import write_atomically

    def write(f):
        if path.endswith('.jsonl'):
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + '\n')
            return
        writer = csv.writer(f)
        writer.writerow(['sentence', 'token', 'tag'])
        for record in records:
            for token, tag in zip(record['tokens'], record['tags'], strict=True):
                writer.writerow([record['where'], token, tag])
    write_atomically(path, write, newline='')


def serving_signature(params, model_dir):
    """The exported model's inputs and outputs: raw sentences in; tokens, tags and sentence lengths out."""
    from ner import input_fn as ner_input
    from ner import model_fn as ner_model
    from ner import predict_input
    trained_vocabulary(model_dir, params)
    inputs = predict_input.serving_input_fn(ner_input.load_vocabularies(params), params)
    model_spec = ner_model.model_fn('predict', inputs, params)
    outputs = {'tokens': model_spec['tokens'], 'tags': model_spec['tags'],
               'sentence_lengths': model_spec['sentence_lengths']}
    description = ("signature 'serving_default' takes sentences (strings), gives tokens, tags (one per token, "
                   "padded) and sentence_lengths")
    return {'sentences': inputs['sentences']}, outputs, description
