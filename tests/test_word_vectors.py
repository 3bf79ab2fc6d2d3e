"""Pretrained word vectors: build_vocab.py --vectors, the embeddings they start from, frozen or trained, and the
experiment that keeps them (predict and export need no vectors file)."""
import argparse
import gzip
import json
import logging
import os

import numpy as np
import pytest

from build_vocab import build_vocab
from helpers import contents, script_args
from helpers.ner import make_built, read_lines, write, write_ner_params, write_ner_set
from model.core.errors import InputError

# Train words, by frequency: <pad> John lives in Zürich New York is big . saw MARY; Paris is a dev word only.
SPLITS = {
    'train': ("John lives in Zürich\nNew York is big .\nJohn saw MARY\n",
              "B-PER O O B-LOC\nB-LOC I-LOC O O O\nB-PER O B-PER\n"),
    'dev': ("Mary lives in Paris\n", "B-PER O O B-LOC\n"),
    'test': ("Bob\n", "B-PER\n"),
}
WORDS = ['<pad>', 'John', 'lives', 'in', 'Zürich', 'New', 'York', 'is', 'big', '.', 'saw', 'MARY']
# A word's lower-cased form (john) does not replace the word as written (John); a lower-cased word's own vector
# (mary) is preferred to another spelling (Mary); a word holding a space (as a few of GloVe 840B do) is read whole.
VECTORS = [('john', [0.1, 0.2, 0.3]), ('John', [1, 2, 3]), ('Zürich', [4, 5, 6.5]), ('Mary', [10, 11, 12]),
           ('mary', [7, 8, 9]), ('york', [-1, -2, -3]), ('paris', [0.5, 0.25, 0.125]), ('at home', [1, 1, 1]),
           ('in', [0, 0, 1])]
EXPECTED = {'John': [1, 2, 3], 'in': [0, 0, 1], 'Zürich': [4, 5, 6.5], 'York': [-1, -2, -3], 'MARY': [7, 8, 9]}


def vectors_text(header=False, trailing_space=False, line_end='\n'):
    lines = ['{} {}'.format(word, ' '.join(str(v) for v in vector)) + (' ' if trailing_space else '')
             for word, vector in VECTORS]
    return line_end.join((['{} 3'.format(len(VECTORS))] if header else []) + lines) + line_end


def write_vectors(path, text, gzipped=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with (gzip.open if gzipped else open)(path, 'wb') as f:
        f.write(text.encode('utf-8'))
    return path


FORMATS = {
    'glove.txt': dict(),
    'glove.txt.gz': dict(gzipped=True),
    'wiki.vec': dict(header=True, trailing_space=True),  # fastText: a header line, a space ending each line
    'word2vec.vec.gz': dict(header=True, gzipped=True, line_end='\r\n'),
    'gzipped-without-saying-so.txt': dict(gzipped=True),
}


@pytest.mark.parametrize('name', sorted(FORMATS))
def test_embedding_rows_are_the_file_s_vectors(tmp_path, caplog, name):
    caplog.set_level(logging.INFO)
    options = dict(FORMATS[name])
    gzipped = options.pop('gzipped', False)
    vectors = write_vectors(str(tmp_path / name), vectors_text(**options), gzipped)
    data = make_built(tmp_path / 'NER', SPLITS)
    params = build_vocab(data, vectors=vectors)
    assert read_lines(os.path.join(data, 'words.txt')) == WORDS
    rows = np.load(os.path.join(data, 'embeddings.npy'))
    assert rows.dtype == np.float32 and rows.shape == (len(WORDS) + 1, 3) == (params['vocab_size'], 3)
    for index, word in enumerate(WORDS):
        if word in EXPECTED:
            assert rows[index].tolist() == pytest.approx(EXPECTED[word]), word
        else:  # drawn at random when training starts
            assert np.isnan(rows[index]).all(), word
    assert np.isnan(rows[-1]).all()  # the OOV id
    assert {key: value for key, value in params.items() if 'vectors' in key} == {
        'word_vectors_size': 3, 'word_vectors_file': os.path.abspath(vectors), 'word_vectors_found': 3,
        'word_vectors_found_lowercased': 2, 'word_vectors_missing': 6, 'eval_words_with_vectors': False}
    assert "Word vectors of {} (3 dimensions): of the 11 words, 3 found as written, 2 found lower-cased, 6 missing " \
           "(initialised at random)".format(vectors) in caplog.text


def test_eval_words_with_vectors_get_their_own_id(tmp_path):
    vectors = write_vectors(str(tmp_path / 'glove.txt'), vectors_text())
    data = make_built(tmp_path / 'NER', SPLITS)
    params = build_vocab(data, vectors=vectors, eval_words_with_vectors=True)
    # Mary and Paris (dev) have a vector (Mary, paris): they get an id; Bob (test) has none: it stays the OOV word.
    assert read_lines(os.path.join(data, 'words.txt')) == WORDS + ['Mary', 'Paris']
    rows = np.load(os.path.join(data, 'embeddings.npy'))
    assert rows[len(WORDS)].tolist() == [10, 11, 12] and rows[len(WORDS) + 1].tolist() == [0.5, 0.25, 0.125]
    assert params['vocab_size'] == len(WORDS) + 3 and params['eval_words_with_vectors'] is True
    # The characters stay those of the training words.
    assert 'P' not in read_lines(os.path.join(data, 'chars.txt'))
    with pytest.raises(InputError, match=r"^--eval_words_with_vectors adds the dev and test words that have a "
                                         r"pretrained vector: pass the vectors file too \(--vectors\)$"):
        build_vocab(data, eval_words_with_vectors=True)


def test_the_script_s_options(tmp_path, caplog):
    import build_vocab
    caplog.set_level(logging.INFO)
    vectors = write_vectors(str(tmp_path / 'wiki.vec'), vectors_text(header=True))
    data = make_built(tmp_path / 'NER', SPLITS)
    build_vocab.main(build_vocab.parser.parse_args(['--data_dir', data, '--vectors', vectors,
                                                    '--eval_words_with_vectors']))
    assert read_lines(os.path.join(data, 'words.txt'))[-2:] == ['Mary', 'Paris']
    assert '- done. Saved words.txt, tags.txt, chars.txt, dataset_params.json and embeddings.npy in' in caplog.text
    assert '- word_vectors_found_lowercased: 3' in caplog.text  # York, MARY and Paris


def test_a_vocabulary_built_again_without_vectors_drops_the_old_ones(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    vectors = write_vectors(str(tmp_path / 'glove.txt'), vectors_text())
    data = make_built(tmp_path / 'NER', SPLITS)
    build_vocab(data, vectors=vectors)
    params = build_vocab(data)
    assert not os.path.exists(os.path.join(data, 'embeddings.npy'))
    assert not [key for key in params if 'vectors' in key]
    assert "embeddings.npy (the vectors of the earlier vocabulary): pass --vectors to write it again" in caplog.text
    # build_ner_dataset.py --overwrite makes them stale as the rest of the vocabulary.
    from build_ner_dataset import build
    build_vocab(data, vectors=vectors)
    build(data, data, overwrite=True)
    assert 'Removed the vocabulary of the replaced dataset (words.txt, tags.txt, chars.txt, dataset_params.json, ' \
           'embeddings.npy): run build_vocab.py again' in caplog.text
    assert not os.path.exists(os.path.join(data, 'embeddings.npy'))


@pytest.mark.parametrize('text, message', [
    ("John 1 2 3\nZürich 4 5\n", r"glove\.txt:2: 2 value\(s\) where the vectors have 3: fix or delete the line \(a "
                                 r"line is a word then its values, separated by single spaces\)$"),
    ("2 3\nJohn 1 2\n", r"glove\.txt:2: 2 value\(s\) where the vectors have 3"),
    ("John 1 2 3\n\nin 1 x 3\n", r"glove\.txt:3: 'x' is not a number: a line is a word then its 3 values, separated "
                                 r"by single spaces; fix or delete the line$"),
    ("John 1 nan 3\n", r"glove\.txt:1: the vector holds an infinite or NaN value: fix or delete the line$"),
    ("John\n", r"glove\.txt:1: a word without values: a line is a word then its values"),
    ("", r"glove\.txt holds no vectors: expected lines of a word then its values \(GloVe, word2vec or fastText text "
         r"format\)$"),
])
def test_malformed_vectors_files_are_named_by_line(tmp_path, text, message):
    vectors = write_vectors(str(tmp_path / 'glove.txt'), text)
    data = make_built(tmp_path / 'NER', SPLITS)
    before = contents(data)
    with pytest.raises(InputError, match=message):
        build_vocab(data, vectors=vectors)
    assert contents(data) == before  # nothing written


def test_a_line_that_is_not_utf_8_is_skipped_and_a_damaged_gzip_refused(tmp_path, caplog):
    path = str(tmp_path / 'glove.txt')
    with open(path, 'wb') as f:
        f.write(b'caf\xe9 9 9 9\nJohn 1 2 3\n')
    data = make_built(tmp_path / 'NER', SPLITS)
    assert build_vocab(data, vectors=path)['word_vectors_found'] == 1
    assert 'glove.txt: 1 word(s) are not UTF-8 text: skipped' in caplog.text
    whole = write_vectors(str(tmp_path / 'glove.txt.gz'), vectors_text() * 50, gzipped=True)
    with open(whole, 'rb') as f:
        data_bytes = f.read()
    with open(whole, 'wb') as f:
        f.write(data_bytes[:len(data_bytes) // 2])
    with pytest.raises(InputError, match=r"glove\.txt\.gz:\d+: the gzipped file is damaged or cut short \(.*\): "
                                         r"download it again$"):
        build_vocab(data, vectors=whole)
    with pytest.raises(InputError, match=r"^No file .*nowhere\.vec: pass --vectors the word-vector file you "
                                         r"downloaded"):
        build_vocab(data, vectors=str(tmp_path / 'nowhere.vec'))


# ---------------------------------------------------------------------------------------------
# The embeddings in the graph

DIMENSION = 4


@pytest.fixture(scope='module')
def vectors_set(tmp_path_factory):
    """A small synthetic set with the vectors of two words in three (every third one lower-cased), seeded."""
    root = tmp_path_factory.mktemp('vectors')
    data = write_ner_set(str(root / 'NER'), sizes=(40, 8, 8))
    words = read_lines(os.path.join(data, 'words.txt'))[1:]
    rng = np.random.RandomState(0)
    lines = []
    for index, word in enumerate(words):
        if index % 3 != 2:
            vector = rng.uniform(-1, 1, DIMENSION).round(4)
            lines.append('{} {}'.format(word.lower() if index % 3 == 1 else word, ' '.join(map(str, vector))))
    vectors = write_vectors(str(root / 'vectors.txt'), '\n'.join(lines) + '\n')
    build_vocab(data, vectors=vectors)
    return data


def graph_params(data, tmp_path, **changes):
    from helpers.ner import ner_params
    values = dict(word_vectors=True, embedding_size=DIMENSION, word_dropout=0.0)
    values.update(changes)
    return ner_params(data, tmp_path, **values)


def embeddings_before_and_after_a_step(data, params):
    from model.core.tf_compat import tf
    from ner import example
    train_data, _ = example.load_split(data, 'train', params)
    with tf.Graph().as_default():
        tf.set_random_seed(params.seed)
        spec = example.model_fn('train', example.input_fn(True, train_data, params), params)
        [embeddings] = [v for v in tf.global_variables() if v.op.name == 'model/embeddings']
        trainable = embeddings in tf.trainable_variables()
        slots = [v.op.name for v in tf.global_variables() if v.op.name.startswith('model/embeddings/')]
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            sess.run(spec['iterator_init_op'])
            before = sess.run(embeddings)
            sess.run(spec['train_op'])
            after = sess.run(embeddings)
    return before, after, trainable, slots


@pytest.mark.parametrize('trainable', [False, True])
def test_frozen_rows_do_not_move_trained_ones_do(vectors_set, tmp_path, trainable):
    params = graph_params(vectors_set, tmp_path, word_vectors_trainable=trainable)
    before, after, is_trainable, slots = embeddings_before_and_after_a_step(vectors_set, params)
    rows = np.load(os.path.join(vectors_set, 'embeddings.npy'))
    found = ~np.isnan(rows).any(axis=1)
    assert found.sum() > 0 and (~found).sum() > 0
    np.testing.assert_array_equal(before[found], rows[found])  # the file's vectors, to the bit
    scale = np.sqrt(3.0 / DIMENSION)
    assert (np.abs(before[~found]) <= scale).all() and len(np.unique(before[~found])) == before[~found].size
    assert is_trainable == trainable
    if trainable:
        assert slots == ['model/embeddings/Adam', 'model/embeddings/Adam_1']
        assert (after != before).any(axis=1).sum() > 0
    else:
        assert slots == []  # LazyAdam keeps no moments for a frozen variable
        np.testing.assert_array_equal(after, before)


def test_the_random_rows_follow_the_seed(vectors_set, tmp_path):
    first, _, _, _ = embeddings_before_and_after_a_step(vectors_set, graph_params(vectors_set, tmp_path / 'a'))
    again, _, _, _ = embeddings_before_and_after_a_step(vectors_set, graph_params(vectors_set, tmp_path / 'b'))
    other, _, _, _ = embeddings_before_and_after_a_step(vectors_set, graph_params(vectors_set, tmp_path / 'c',
                                                                                 seed=7))
    missing = np.isnan(np.load(os.path.join(vectors_set, 'embeddings.npy'))).any(axis=1)
    np.testing.assert_array_equal(first, again)
    assert (first[missing] != other[missing]).all() and (first[~missing] == other[~missing]).all()


def test_params_that_do_not_fit_the_vectors(vectors_set, tmp_path):
    from ner import example
    with pytest.raises(InputError, match=r"^params\.json: 'embedding_size' is 16 but the word vectors of .*"
                                         r"embeddings\.npy have 4 dimensions: set 'embedding_size' to 4$"):
        graph_params(vectors_set, tmp_path, embedding_size=16)
    params = graph_params(vectors_set, tmp_path)
    data = str(tmp_path / 'other')
    make_built(tmp_path / 'other', SPLITS)
    build_vocab(data)
    with pytest.raises(InputError, match=r"^params\.json sets 'word_vectors' but .*other has no embeddings\.npy \(or "
                                         r"dataset_params\.json does not describe it\): run python build_vocab\.py "
                                         r"--data_dir .*other --vectors <your vectors file>, or set 'word_vectors' "
                                         r"to false$"):
        example.load_split(data, 'train', params)
    # Vectors of another vocabulary (a words.txt rebuilt since, by hand or by an interrupted build): refused.
    np.save(os.path.join(data, 'embeddings.npy'), np.zeros((5, DIMENSION), np.float32))
    with open(os.path.join(data, 'dataset_params.json')) as f:
        values = json.load(f)
    values['word_vectors_size'] = DIMENSION
    write(os.path.join(data, 'dataset_params.json'), json.dumps(values))
    with pytest.raises(InputError, match=r"embeddings\.npy holds 5 rows of 4 values, but the vocabulary has 13 ids "
                                         r"\(words\.txt's and the unknown word's\) and dataset_params\.json says 4 values: it was written for another vocabulary; "
                                         r"run python build_vocab\.py"):
        example.load_split(data, 'train', params)


# ---------------------------------------------------------------------------------------------
# The experiment: the vectors kept with its vocabulary, predict and export without them

def test_an_experiment_with_frozen_vectors_predicts_exports_and_refuses_changed_vectors(vectors_set, tmp_path):
    import export
    import predict
    import train
    from model.core.provenance import check_dataset
    from model.core.tf_compat import tf
    from ner import example
    model_dir = str(tmp_path / 'model')
    write_ner_params(model_dir, num_epochs=1, word_vectors=True, embedding_size=DIMENSION)
    train.main(script_args(model_dir, vectors_set))
    kept = os.path.join(model_dir, 'vocab', 'embeddings.npy')
    rows = np.load(kept)
    np.testing.assert_array_equal(rows, np.load(os.path.join(vectors_set, 'embeddings.npy')), strict=True)
    found = ~np.isnan(rows).any(axis=1)
    trained = tf.train.load_variable(os.path.join(model_dir, 'last_weights'), 'model/embeddings')
    np.testing.assert_array_equal(trained[found], rows[found])  # frozen through an epoch

    sentences = tmp_path / 'sentences.txt'
    sentences.write_text('John Smith lives in Paris.\n')
    data_copy = str(tmp_path / 'moved')
    os.rename(vectors_set, data_copy)  # predict and export need no data set
    try:
        results = predict.main(argparse.Namespace(inputs=[str(sentences)], model_dir=model_dir,
                                                  restore_from='best_weights', output=None))
        assert [tokens for tokens, _ in results] == [['John', 'Smith', 'lives', 'in', 'Paris', '.']]
        export_dir = str(tmp_path / 'exported' / '1')
        export.main(argparse.Namespace(model_dir=model_dir, restore_from='best_weights', export_dir=export_dir))
    finally:
        os.rename(data_copy, vectors_set)
    with open(os.path.join(export_dir, 'saved_model.pb'), 'rb') as f:
        graph = f.read()
    assert b'embeddings.npy' not in graph and b'ReadFile' not in graph  # the weights are in variables/
    assert sorted(os.listdir(os.path.join(export_dir, 'assets'))) == ['chars.txt', 'tags.txt', 'words.txt']

    # Vectors written again (from another file) do not fit the weights: refused as a rebuilt words.txt is.
    assert check_dataset(model_dir, example.dataset_identity(vectors_set))
    path = os.path.join(vectors_set, 'embeddings.npy')
    original = np.load(path)
    np.save(path, np.where(np.isnan(original), original, original + 1))
    try:
        # (the rest of the message is model/core/provenance.py's, as for words.txt)
        with pytest.raises(InputError, match=r"embeddings\.npy is not the embeddings\.npy the weights in .*model were "
                                             r"trained with"):
            check_dataset(model_dir, example.dataset_identity(vectors_set))
    finally:
        np.save(path, original)
