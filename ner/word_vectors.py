"""Pretrained word vectors: the rows of a vocabulary's words, read from a file a user downloaded.

build_vocab.py --vectors reads the file and writes embeddings.npy beside words.txt: row i
is the vector of word i of words.txt (and the last row that of the OOV id), NaN where the
file has no vector for the word. ner/network.py starts the word embeddings from it, drawing
the NaN rows at random. The file formats read (gzipped or not, recognised by their first bytes):
    GloVe text          word v1 ... vd, one word a line
    word2vec / fastText the same, after a header line `count dim` (.vec files)
A word that is not in the file as written takes the vector of its lower-cased form (GloVe 6B
and many others are lower-cased). Nothing here imports TensorFlow.
"""
import gzip
import logging
import os

import numpy as np

from model.core.errors import InputError
from ner.vocab import DATASET_PARAMS, EMBEDDINGS

GZIP_MAGIC = b'\x1f\x8b'


def open_vectors(path):
    """The file as binary lines, unpacked if it is gzipped (whatever its name says)."""
    if not os.path.isfile(path):
        raise InputError("No file {}: pass --vectors the word-vector file you downloaded (GloVe .txt, word2vec or "
                         "fastText .vec, gzipped or not)".format(path))
    with open(path, 'rb') as f:
        gzipped = f.read(2) == GZIP_MAGIC
    return gzip.open(path, 'rb') if gzipped else open(path, 'rb')


def is_header(fields):
    """word2vec's and fastText's first line: the number of words and their dimension."""
    return len(fields) == 2 and all(field.isdigit() for field in fields)


def parse_vector(fields, path, number):
    try:
        vector = np.array([float(field) for field in fields], np.float32)
    except ValueError:
        bad = next(field for field in fields if not is_number(field))
        raise InputError("{}:{}: {!r} is not a number: a line is a word then its {} values, separated by single "
                         "spaces; fix or delete the line".format(path, number, bad.decode('utf-8', 'replace'),
                                                                 len(fields))) from None
    if not np.isfinite(vector).all():
        raise InputError("{}:{}: the vector holds an infinite or NaN value: fix or delete the line".format(
            path, number))
    return vector


def is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def vector_lines(path):
    """(line number, the line's fields) of every line that is not blank; a damaged gzip file is an InputError."""
    number = 0
    try:
        with open_vectors(path) as f:
            for number, line in enumerate(f, 1):
                fields = line.rstrip(b'\r\n').rstrip(b' ').split(b' ')
                if fields != [b'']:
                    yield number, fields
    except (EOFError, gzip.BadGzipFile) as e:
        raise InputError("{}:{}: the gzipped file is damaged or cut short ({}): download it again".format(
            path, number + 1, e)) from None


def read_vectors(path, words):
    """({word: vector} for the words found as written, {lower-cased word: vector}, dimension).

    Only the vectors of `words` (as written or lower-cased) are kept: a big file never fills
    the memory. Every line's number of values is checked; the values themselves on the lines kept.
    A word holding spaces (a few in GloVe 840B) is everything before the last `dimension` values;
    one that is not UTF-8 cannot be a word of the vocabulary (it is UTF-8) and is skipped.
    """
    wanted = set(words)
    wanted_lowered = {word.lower() for word in words}
    exact, lowered, dimension, skipped = {}, {}, None, 0
    for number, fields in vector_lines(path):
        if number == 1 and is_header(fields):
            dimension = int(fields[1])
            continue
        if dimension is None:
            dimension = len(fields) - 1
            if dimension < 1:
                raise InputError("{}:{}: a word without values: a line is a word then its values, separated by "
                                 "single spaces (GloVe, word2vec or fastText text format)".format(path, number))
        if len(fields) < dimension + 1:
            raise InputError("{}:{}: {} value(s) where the vectors have {}: fix or delete the line (a line is a "
                             "word then its values, separated by single spaces)".format(
                                 path, number, len(fields) - 1, dimension))
        try:
            word = b' '.join(fields[:-dimension]).decode('utf-8')
        except UnicodeDecodeError:
            skipped += 1
            continue
        as_written = word in wanted and word not in exact
        lower = word.lower()
        # The lower-cased form's own vector if the file has one, else the first spelling found.
        as_lowered = lower in wanted_lowered and (lower not in lowered or word == lower)
        if as_written or as_lowered:
            vector = parse_vector(fields[-dimension:], path, number)
            if as_written:
                exact[word] = vector
            if as_lowered:
                lowered[lower] = vector
    if dimension is None:
        raise InputError("{} holds no vectors: expected lines of a word then its values (GloVe, word2vec or "
                         "fastText text format)".format(path))
    if skipped:
        logging.warning("%s: %d word(s) are not UTF-8 text: skipped (no word of the vocabulary can be one)",
                        path, skipped)
    return exact, lowered, dimension


def embedding_rows(words, vocab_size, vectors):
    """(the [vocab_size, dimension] float32 rows of `words` (words.txt's entries), NaN where the file has no
    vector, and (found as written, found lower-cased, missing) over the words after <pad>).

    `vectors`: what read_vectors read for them.
    """
    exact, lowered, dimension = vectors
    rows = np.full((vocab_size, dimension), np.nan, np.float32)
    as_written = as_lowered = 0
    for index, word in enumerate(words[1:], 1):
        if word in exact:
            rows[index], as_written = exact[word], as_written + 1
        elif word.lower() in lowered:
            rows[index], as_lowered = lowered[word.lower()], as_lowered + 1
    return rows, (as_written, as_lowered, len(words) - 1 - as_written - as_lowered)


def npy_layout(path):
    """(byte offset of the values, shape) of an embeddings.npy as build_vocab.py writes it (little-endian float32)."""
    try:
        rows = np.load(path, mmap_mode='r')
    except (OSError, ValueError) as e:
        raise InputError("{} is not a NumPy array file ({}): run build_vocab.py --vectors again".format(
            path, e)) from None
    if rows.dtype != np.dtype('<f4') or rows.ndim != 2 or not rows.flags.c_contiguous:
        raise InputError("{} holds a {} array of shape {}, not the float32 rows build_vocab.py writes: run "
                         "build_vocab.py --vectors again".format(path, rows.dtype, rows.shape))
    return rows.offset, rows.shape


def check_word_vectors(vocab_dir, dataset_params, params):
    """With word_vectors, embeddings.npy must be there, hold a row per id of words.txt, and have embedding_size
    values a row."""
    path = os.path.join(vocab_dir, EMBEDDINGS)
    rebuild = "run python build_vocab.py --data_dir {} --vectors <your vectors file>".format(vocab_dir)
    if not os.path.isfile(path) or 'word_vectors_size' not in dataset_params:
        raise InputError("params.json sets 'word_vectors' but {} has no {} (or {} does not describe it): {}, or set "
                         "'word_vectors' to false".format(vocab_dir, EMBEDDINGS, DATASET_PARAMS, rebuild))
    _, shape = npy_layout(path)
    if shape[0] != params.vocab_size or shape[1] != dataset_params['word_vectors_size']:
        raise InputError("{} holds {} rows of {} values, but the vocabulary has {} ids (words.txt's and the unknown "
                         "word's) and {} says {} values: it was written for another vocabulary; {}".format(
                             path, shape[0], shape[1], params.vocab_size, DATASET_PARAMS,
                             dataset_params['word_vectors_size'], rebuild))
    if params.embedding_size != shape[1]:
        raise InputError("params.json: 'embedding_size' is {} but the word vectors of {} have {} dimensions: set "
                         "'embedding_size' to {}".format(params.embedding_size, path, shape[1], shape[1]))

