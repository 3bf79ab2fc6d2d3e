"""ner/predict_input.py: raw sentences tokenized as the corpora are, prepared as in training, padded."""
import os
import sys

import pytest

from helpers.ner import make_built, ner_params, read_lines, vocabulary_id, write_ner_set
from model.core.tf_compat import tf
from ner import input_fn as ner_input
from ner import predict_input
from ner.corpora import read_split

pytest_plugins = ['helpers.ner_fixtures']


def test_tokenize_splits_punctuation_as_the_corpora_do():
    with tf.Graph().as_default(), tf.Session() as sess:
        spaced = sess.run(predict_input.tokenize(tf.constant([
            'John Smith, of the U.S., said: "Hello!"', "He didn't see Mary's car in 3.5 hours."])))
    assert spaced[0].decode().split() == ['John', 'Smith', ',', 'of', 'the', 'U.S.', ',', 'said', ':', '"',
                                          'Hello', '!', '"']
    assert spaced[1].decode().split() == ['He', 'did', "n't", 'see', 'Mary', "'s", 'car', 'in', '3.5', 'hours', '.']


def tokens_of(sentences, tokenized=False):
    """The tokens tokenize gives each sentence (it must separate them by single spaces, as sentences.txt does)."""
    with tf.Graph().as_default(), tf.Session() as sess:
        spaced = sess.run(predict_input.tokenize(tf.constant(sentences), tokenized))
    lines = [line.decode() for line in spaced]
    assert all(line == ' '.join(line.split(' ')) and '  ' not in line and line == line.strip() for line in lines)
    return [line.split(' ') for line in lines]


@pytest.mark.parametrize('sentence, tokens', [
    ('It cost 1,000 dollars.', ['It', 'cost', '1,000', 'dollars', '.']),
    ('La inflación subió un 13,9 % en 2000.', ['La', 'inflación', 'subió', 'un', '13,9', '%', 'en', '2000', '.']),
    ('1,000,000 people, 3.5 hours, 1.234,56 euros', ['1,000,000', 'people', ',', '3.5', 'hours', ',', '1.234,56',
                                                     'euros']),
    ('At 12:30, he won 2:03.45 ago: 3', ['At', '12:30', ',', 'he', 'won', '2:03.45', 'ago', ':', '3']),
    ('Scores 1, 2 and 3,a,b,4', ['Scores', '1', ',', '2', 'and', '3', ',', 'a', ',', 'b', ',', '4']),
    ('It cost 3.5.', ['It', 'cost', '3.5', '.']),
    ('A ratio of 1:2:3, 1,5,7', ['A', 'ratio', 'of', '1:2:3', ',', '1,5,7']),  # one digit between separators
])
def test_numbers_with_separators_stay_one_token(sentence, tokens):
    assert tokens_of([sentence]) == [tokens]


@pytest.mark.parametrize('sentence, tokens', [
    ('He lives in the U.S.', ['He', 'lives', 'in', 'the', 'U.S.']),
    ('Llegó de EE.UU.', ['Llegó', 'de', 'EE.UU.']),
    ('It opens at 9 a.m.', ['It', 'opens', 'at', '9', 'a.m.']),
    ('He said "it is in the U.S."', ['He', 'said', '"', 'it', 'is', 'in', 'the', 'U.S.', '"']),
    ('Acme (of the U.K.)', ['Acme', '(', 'of', 'the', 'U.K.', ')']),
    ('Mr. Smith of the U.S. left.', ['Mr.', 'Smith', 'of', 'the', 'U.S.', 'left', '.']),
    ('He said "Stop."', ['He', 'said', '"', 'Stop', '.', '"']),
    ('He met Mr.', ['He', 'met', 'Mr', '.']),  # no inner period: the sentence's period
])
def test_abbreviations_with_inner_periods_keep_their_final_period(sentence, tokens):
    assert tokens_of([sentence]) == [tokens]


def test_every_kind_of_whitespace_separates_tokens_as_the_corpora_builder_does(tmp_path):
    assert set(predict_input.WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    kinds = [c for c in predict_input.WHITESPACE if c != '\n']  # a line end ends the line in sentences.txt
    sentences = ['New{}York {}{} is{}'.format(c, c, c, c) for c in kinds]
    # build_ner_dataset.py reading the same lines from a folder in the built layout:
    built = make_built(tmp_path / 'built', {'train': (''.join(s + '\n' for s in sentences),
                                                      'B-LOC I-LOC O\n' * len(kinds))})
    read = [sentence.tokens for sentence in read_split(os.path.join(built, 'train'), '')]
    assert read == [['New', 'York', 'is']] * len(kinds)
    assert tokens_of(sentences) == read
    assert tokens_of(sentences, tokenized=True) == read
    assert tokens_of(['New\u00a0York, said he.']) == [['New', 'York', ',', 'said', 'he', '.']]


# Lines as the corpora write them (CoNLL-2003, CoNLL-2002 Spanish): numbers, abbreviations, punctuation.
TOKENIZED_LINES = [
    'EU rejects German call to boycott British lamb .',
    'Peter Blackburn said on Thursday the U.S. would pay $ 1,000,000 by 12:30 .',
    "`` We are n't going , '' said Mr. Smith of Acme Corp. in the U.S. .",
    "He did n't see Mary 's car in 3.5 hours , \" he said .",
    '( Reuters ) - Shares rose 0.5 percent to 1,234.56 ; the S&P 500 fell : 2:03.45 .',
    'Clinton flies to the U.S.',
    'La inflación subió un 13,9 % , según el Banco de España ( BE ) .',
    '¿ Qué dijo el Sr. López de EE.UU. ?',
    'Results : 1. Smith ( U.S. ) 2. Jones ( U.K. ) ...',
    '" Hello ! " [ 3 ] { x } -- 13,9',
]


def test_text_tokenized_as_the_training_data_comes_out_unchanged(tmp_path):
    built = write_ner_set(str(tmp_path / 'ner'), sizes=(40, 10, 10))
    lines = [line for split in ('train', 'dev', 'test')
             for line in read_lines(os.path.join(built, split, 'sentences.txt'))] + TOKENIZED_LINES
    assert tokens_of(lines) == [line.split(' ') for line in lines]


def test_the_tokenized_option_splits_on_whitespace_only(ner_dir, tmp_path):
    # Tokenized by other rules: a final 'etc.' and an 'a,b' token are kept as they are.
    lines = ['Vinieron Juan , Ana , etc.', 'ratio a,b\u00a0is  (x)']
    assert tokens_of(lines, tokenized=True) == [['Vinieron', 'Juan', ',', 'Ana', ',', 'etc.'],
                                                ['ratio', 'a,b', 'is', '(x)']]
    assert tokens_of(lines) == [['Vinieron', 'Juan', ',', 'Ana', ',', 'etc', '.'],
                                ['ratio', 'a', ',', 'b', 'is', '(', 'x', ')']]
    # predict.py's input and the exported model's take the option alike.
    params = ner_params(ner_dir, tmp_path, batch_size=2)
    with tf.Graph().as_default():
        vocabs = ner_input.load_vocabularies(params)
        batch = predict_input.batch_features(tf.constant(lines), vocabs, params, tokenized=True)
        inputs = predict_input.predict_input_fn(lines, vocabs, params, tokenized=True)
        with tf.Session() as sess:
            sess.run([tf.tables_initializer(), inputs['iterator_init_op']])
            batch, first = sess.run([batch['tokens'], inputs['tokens']])
    assert batch.tolist() == first.tolist() == [[b'Vinieron', b'Juan', b',', b'Ana', b',', b'etc.'],
                                                [b'ratio', b'a,b', b'is', b'(x)', b'<pad>', b'<pad>']]


def test_batch_features_are_the_training_features_padded(ner_dir, tmp_path):
    """A batch of raw sentences of different lengths: each sentence as input_fn prepares it, then padding."""
    params = ner_params(ner_dir, tmp_path, max_word_length=5)
    sentences = ['Maria Lopez flew to Dorvale', 'Hi', 'The University of Kentor hired Qzxv Lopez in 1990 .']
    with tf.Graph().as_default():
        vocabs = ner_input.load_vocabularies(params)
        batch = predict_input.batch_features(tf.constant(sentences), vocabs, params)
        alone = [ner_input.sentence_features(tf.constant(sentence.split()), vocabs, params) for sentence in sentences]
        with tf.Session() as sess:
            sess.run(tf.tables_initializer())
            batch, alone = sess.run([batch, alone])
    pad_word = vocabulary_id(ner_dir, 'words.txt', '<pad>')
    assert batch['sentence_lengths'].tolist() == [5, 1, 10]
    assert batch['chars'].shape == (3, 10, 5)  # the longest word cut to max_word_length
    for row, features in enumerate(alone):
        length = batch['sentence_lengths'][row]
        for name in ('tokens', 'sentence', 'casing'):
            assert batch[name][row, :length].tolist() == features[name].tolist(), name
        width = features['chars'].shape[1]
        assert batch['chars'][row, :length, :width].tolist() == features['chars'].tolist()
        assert (batch['chars'][row, :, width:] == 0).all() and (batch['chars'][row, length:] == 0).all()
        assert (batch['tokens'][row, length:] == b'<pad>').all()
        assert (batch['sentence'][row, length:] == pad_word).all()
    assert batch['tokens'][2, 5] == b'Qzxv' and batch['sentence'][2, 5] == params.vocab_size - 1  # the unknown word's id
