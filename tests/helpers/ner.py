"""What the NER test files share: tiny params, a small data set whose batches have padding, and checks of padding.

The session fixtures built on them (`ner_dir`, `ner_trained`) are in helpers/ner_fixtures.py.
"""
import json
import os

import numpy as np

from helpers import ROOT, drain

# Small enough that an epoch of the tiny synthetic set takes a few seconds on two cores; a learning
# rate at which two epochs find entities (at 0.01 the model tags every token O, and entity F1 is 0).
TINY_NER = {'embedding_size': 16, 'lstm_num_units': 16, 'char_embedding_size': 8, 'char_filters': 8,
            'casing_embedding_size': 4, 'batch_size': 16, 'num_epochs': 2, 'learning_rate': 0.03,
            'save_summary_steps': 5}
BASE_NER_PARAMS = os.path.join(ROOT, 'experiments', 'ner', 'base_model', 'params.json')
SPLITS = ('train', 'dev', 'test')


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


def write_ner_set(path, sizes=(300, 60, 60)):
    """A synthetic NER set of `sizes` sentences, with its vocabularies, whose batches hold padding.

    The generated sentences have 5 to 17 tokens, and below 20 tokens a bucket of lengths is one
    length wide: every batch would hold sentences of one length, without padding. So sentence k
    here is (k % 3) + 1 generated sentences joined: lengths 5 to about 50, many in buckets of
    several lengths, some on both sides of a bucket boundary.
    """
    import build_ner_dataset
    import build_vocab
    from ner.corpora import LABELS, SENTENCES
    build_ner_dataset.build(path, synthetic=True, synthetic_sizes=tuple(2 * size for size in sizes))
    for split, size in zip(SPLITS, sizes, strict=True):
        for name in (SENTENCES, LABELS):
            file_path = os.path.join(path, split, name)
            with open(file_path, encoding='utf-8') as f:
                lines = f.read().splitlines()
            joined, start = [], 0
            for k in range(size):
                joined.append(' '.join(lines[start:start + k % 3 + 1]))
                start += k % 3 + 1
            with open(file_path, 'w', encoding='utf-8') as f:
                f.write('\n'.join(joined) + '\n')
    build_vocab.build_vocab(path)
    return path


def ner_params(ner_dir, tmp_path, **changes):
    """Tiny NER Params with the sizes of ner_dir, as train.py sets them."""
    from model.utils import Params
    from ner import example
    params = Params(write_ner_params(str(tmp_path / 'params'), **changes))
    data, params.train_size = example.load_split(ner_dir, 'train', params)
    params.train_steps = example.num_batches(data, params.train_size, params)
    return params


def dev_pass(model_dir, ner_dir):
    """One pass of the eval graph, with the weights model_dir saved after epoch 2, over ner_dir's dev split.

    Returns (batches of [labels, predictions, sentence_lengths, sentence], the streamed metrics, the
    report by type, the number of dev sentences).
    """
    from model.core.reports import report
    from model.core.tf_compat import tf
    from model.utils import Params
    from ner import example
    from ner.model_fn import model_fn
    params = Params(os.path.join(model_dir, 'params.json'))
    data, size = example.load_split(ner_dir, 'dev', params)
    with tf.Graph().as_default():
        spec = model_fn('eval', example.input_fn(False, data, params), params)
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            tf.train.Saver().restore(sess, os.path.join(model_dir, 'last_weights', 'after-epoch-2'))
            sess.run([spec['iterator_init_op'], spec['metrics_init_op']])
            batches = drain(sess, [spec['update_metrics'], spec['labels'], spec['predictions'],
                                   spec['sentence_lengths'], spec['sentence']])
            metrics = sess.run({name: value for name, (value, _) in spec['metrics'].items()})
            by_type = report(sess, spec)
    return [batch[1:] for batch in batches], metrics, by_type, size


def read_lines(path):
    with open(path, encoding='utf-8') as f:
        return f.read().splitlines()


def vocabulary_id(data_dir, filename, entry):
    """The id of `entry` in a vocabulary file: its line number."""
    return read_lines(os.path.join(data_dir, filename)).index(entry)


def padding_of(batch):
    """The number of padded positions of a batch of the pipeline (a dict of numpy arrays)."""
    return int(batch['sentence'].size - batch['sentence_lengths'].sum())


def assert_padded_as_padded_batch(batch, data_dir, max_word_length):
    """Each sentence of the batch, up to its length, then padding: '<pad>' tokens, the id of '<pad>' in
    words.txt, the id of 'O' in tags.txt, casing 0, no character; each word's characters, then 0."""
    pad_word, pad_tag = vocabulary_id(data_dir, 'words.txt', '<pad>'), vocabulary_id(data_dir, 'tags.txt', 'O')
    for row, length in enumerate(batch['sentence_lengths']):
        assert (batch['tokens'][row, length:] == b'<pad>').all()
        assert (batch['sentence'][row, length:] == pad_word).all()
        assert (batch['labels'][row, length:] == pad_tag).all()
        assert (batch['casing'][row, length:] == 0).all() and (batch['casing'][row, :length] > 0).all()
        assert (batch['chars'][row, length:] == 0).all()
        for token, chars in zip(batch['tokens'][row, :length], batch['chars'][row, :length], strict=True):
            kept = min(len(token.decode()), max_word_length)
            assert (chars[:kept] > 0).all() and (chars[kept:] == 0).all(), (token, chars)
    assert batch['chars'].shape[2] == min(max_word_length, max(
        len(token.decode()) for row, length in enumerate(batch['sentence_lengths'])
        for token in batch['tokens'][row, :length]))


def with_more_padding(batch, data_dir, steps=3, chars=2):
    """The same batch with `steps` more padded tokens after every sentence and `chars` more padding characters."""
    pad_word, pad_tag = vocabulary_id(data_dir, 'words.txt', '<pad>'), vocabulary_id(data_dir, 'tags.txt', 'O')
    padded = dict(batch)
    for name, value in (('tokens', b'<pad>'), ('sentence', pad_word), ('labels', pad_tag), ('casing', 0)):
        padded[name] = np.pad(batch[name], [(0, 0), (0, steps)], constant_values=value)
    padded['chars'] = np.pad(batch['chars'], [(0, 0), (0, steps), (0, chars)])
    return padded


# ---------------------------------------------------------------------------------------------
# Files in the built layout, for the data-side tests

def write(path, text, encoding='utf-8'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding=encoding, newline='') as f:
        f.write(text)
    return path


def read(path):
    with open(path, encoding='utf-8', newline='') as f:
        return f.read()


def make_built(root, splits):
    """A folder in the built layout from {split: (sentences.txt text, labels.txt text)}."""
    for split, (sentences, labels) in splits.items():
        write(os.path.join(root, split, 'sentences.txt'), sentences)
        write(os.path.join(root, split, 'labels.txt'), labels)
    return str(root)


# Three tiny splits in the built layout (dev and test words unseen in train: Paris, Bob).
TINY_SPLITS = {
    'train': ("John lives in New York\nNew York is big .\nJohn saw Mary\n",
              "B-PER O O B-LOC I-LOC\nB-LOC I-LOC O O O\nB-PER O B-PER\n"),
    'dev': ("Mary lives in Paris\n", "B-PER O O B-LOC\n"),
    'test': ("Bob\n", "B-PER\n"),
}


def output(folder, split):
    return read(os.path.join(folder, split, 'sentences.txt')), read(os.path.join(folder, split, 'labels.txt'))


# Built folders with one fault each, and the message that names it: build_ner_dataset.py and build_vocab.py check alike.
BAD_BUILT = [
    ({'train': ("a b\nc\nd\n", "O O\nO\n")},
     r"train/sentences\.txt has 3 line\(s\) but .*train/labels\.txt has 2: .*train/labels\.txt ends at line 2; "
     r"line i of labels\.txt must tag line i of sentences\.txt$"),
    ({'train': ("a b\nc d e\n", "O O\nO O\n")},
     r"train/labels\.txt:2: 2 tag\(s\) for the 3 token\(s\) of sentences\.txt:2: give exactly one tag per token$"),
    ({'train': ("a b\n", "O S-PER\n")},
     r"train/labels\.txt:1: tag 'S-PER' is not O, B-TYPE or I-TYPE: use BIO tags \(IOBES tags such as E-X and S-X "
     r"must be converted to B-X and I-X first\)$"),
    ({'dev': ("", "")}, r"dev/sentences\.txt is empty: every split needs at least one sentence$"),
    ({'train': ("a\n\nb\n", "O\n\nO\n")},
     r"train/sentences\.txt:2: empty sentence: remove the line, and line 2 of labels\.txt$"),
    ({'test': ("a\ncaf\xe9 x\n", "O\nO O\n")},
     r"test/sentences\.txt:2: not valid UTF-8 \(byte 4 of the line is 0xe9\): it may be latin-1: pass --encoding "
     r"latin-1 to build_ner_dataset\.py \(the CoNLL-2002 files and CoNLL-2003's German ones are Latin-1, as "
     r"published\), or convert it to UTF-8 first \(for example: iconv -f latin-1 -t UTF-8 old\.txt > new\.txt\)$"),
]

