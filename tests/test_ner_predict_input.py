"""ner/predict_input.py: raw sentences tokenized as the corpora are, prepared as in training, padded."""
from helpers.ner import ner_params, vocabulary_id
from model.core.tf_compat import tf
from ner import input_fn as ner_input
from ner import predict_input

pytest_plugins = ['helpers.ner_fixtures']


def test_tokenize_splits_punctuation_as_the_corpora_do():
    with tf.Graph().as_default(), tf.Session() as sess:
        spaced = sess.run(predict_input.tokenize(tf.constant([
            'John Smith, of the U.S., said: "Hello!"', "He didn't see Mary's car in 3.5 hours."])))
    assert spaced[0].decode().split() == ['John', 'Smith', ',', 'of', 'the', 'U.S.', ',', 'said', ':', '"',
                                          'Hello', '!', '"']
    assert spaced[1].decode().split() == ['He', 'did', "n't", 'see', 'Mary', "'s", 'car', 'in', '3.5', 'hours', '.']


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
