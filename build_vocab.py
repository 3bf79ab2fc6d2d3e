"""Build the vocabularies of words, tags and characters of a dataset built by build_ner_dataset.py.

Writes into --data_dir, one entry per line (the line number is the id):
    words.txt   <pad>, then the training words (as written, cased), most frequent first
    tags.txt    O (also the tag of padding), then the other training tags, sorted
    chars.txt   <pad>, then the characters of the kept training words, most frequent first
    dataset_params.json   the sizes train.py adds to params.json
    embeddings.npy  with --vectors: row i is the pretrained vector of word i of words.txt (ner/word_vectors.py)
Only the training split is counted: the course also counted dev and test words, so
the model had ids (and trained embeddings' slots) for words it could only meet at
evaluation time. Dev and test are read to count them and to check their tags.
With --vectors, --eval_words_with_vectors also gives the dev and test words that have a
pretrained vector their own id (see docs/ner.md: no label is read, but the vocabulary then
depends on the dev and test text).
"""
import argparse
import collections
import logging
import os

import numpy as np

from model.core.errors import InputError, run_script
from model.core.files import save_dict_to_json, write_all_atomically
from ner.corpora import LABELS, SPLITS, read_split
from ner.vocab import CHARS, DATASET_PARAMS, EMBEDDINGS, TAGS, VOCABULARY_FILES, WORDS
from ner.word_vectors import embedding_rows, read_vectors

PAD_WORD = '<pad>'
PAD_TAG = 'O'
# Ids kept for words not in words.txt (and characters not in chars.txt).
NUM_OOV_BUCKETS = 1

parser = argparse.ArgumentParser()
parser.add_argument('--min_count_word', default=1, type=int,
                    help="Keep the training words seen at least this many times")
parser.add_argument('--min_count_tag', default=1, type=int,
                    help="Keep the training tags seen at least this many times")
parser.add_argument('--data_dir', default='data/NER', help="Folder of the dataset (built by build_ner_dataset.py)")
parser.add_argument('--vectors', default=None,
                    help="A pretrained word-vector file (GloVe .txt, word2vec or fastText .vec, gzipped or not): "
                         "writes the vectors of the vocabulary's words to embeddings.npy")
parser.add_argument('--eval_words_with_vectors', action='store_true',
                    help="With --vectors: also give an id to the dev and test words that have a vector (as tf_ner "
                         "does; the vocabulary then depends on the dev and test text)")

RUN_BUILD_FIRST = ("run build_ner_dataset.py first (python build_ner_dataset.py --synthetic, or --data_dir with "
                   "your corpus)")


def by_frequency(counts):
    """The keys of `counts`, most frequent first; ties keep the order in which they were first seen."""
    # sorted() is stable and `counts` keeps insertion order, so ties stay in order of first appearance.
    return sorted(counts, key=lambda key: -counts[key])


def word_vocabulary(sentences, min_count):
    counts = collections.Counter(token for sentence in sentences for token in sentence.tokens)
    counts.pop(PAD_WORD, None)  # a corpus word "<pad>" would take the pad's id anyway
    return [PAD_WORD] + [word for word in by_frequency(counts) if counts[word] >= min_count]


def eval_words(splits, words):
    """{word: count} of the dev and test words not in `words`, in order of first appearance (their text only,
    never their tags)."""
    known = set(words)
    return collections.Counter(token for split in ('dev', 'test') for sentence in splits[split]
                               for token in sentence.tokens if token not in known and token != PAD_WORD)


def with_vectors(counts, vectors):
    """The words of `counts` that have a vector (as written or lower-cased), most frequent first."""
    exact, lowered, _ = vectors
    return [word for word in by_frequency(counts) if word in exact or word.lower() in lowered]


def char_vocabulary(sentences, words):
    """<pad>, then the characters of the training tokens that are in `words`, counted over the text."""
    kept = set(words[1:])
    counts = collections.Counter(char for sentence in sentences for token in sentence.tokens
                                 if token in kept for char in token)
    return [PAD_WORD] + by_frequency(counts)


def tag_vocabulary(sentences, min_count):
    """O first (it pads the label sequences), then the other kept tags, sorted."""
    counts = collections.Counter(tag for sentence in sentences for tag in sentence.tags)
    return [PAD_TAG] + sorted(tag for tag, count in counts.items() if count >= min_count and tag != PAD_TAG), counts


def check_tags_known(splits, tags, train_counts, min_count_tag):
    """Every tag of every split must be in tags.txt: the model can only predict those."""
    known = set(tags)
    for split in SPLITS:
        for sentence in splits[split]:
            for tag in sentence.tags:
                if tag in known:
                    continue
                if train_counts[tag]:
                    raise InputError("{}: tag {!r} is not in tags.txt: it occurs {} time(s) in train, fewer than "
                                     "--min_count_tag {}: lower --min_count_tag, or merge the type into another".format(
                                         sentence.where, tag, train_counts[tag], min_count_tag))
                raise InputError("{}: tag {!r} is not in tags.txt: it never occurs in train/{}, and every tag must: "
                                 "move sentences with it into train, or merge the type into another".format(
                                     sentence.where, tag, LABELS))


def write_files_atomically(files):
    """Write {path: lines, or a NumPy array (an .npy file)}, all renamed over their paths once all are written
    (model/core/files.py): dataset_params.json, written after them, then still belongs to the old ones."""
    def writer(content):
        if isinstance(content, np.ndarray):
            return lambda f: np.save(f, content)
        return lambda f: f.write(''.join(line + '\n' for line in content).encode('utf-8'))
    write_all_atomically({path: writer(content) for path, content in files.items()}, binary=True)


def build_vocab(data_dir, min_count_word=1, min_count_tag=1, vectors=None, eval_words_with_vectors=False):
    """Write words.txt, tags.txt, chars.txt and dataset_params.json into data_dir (and embeddings.npy with
    `vectors`, the path of a word-vector file); return the params dict."""
    if min_count_word < 1 or min_count_tag < 1:
        raise InputError("--min_count_word and --min_count_tag must be at least 1")
    if eval_words_with_vectors and not vectors:
        raise InputError("--eval_words_with_vectors adds the dev and test words that have a pretrained vector: "
                         "pass the vectors file too (--vectors)")
    if not os.path.isdir(data_dir):
        raise InputError("No folder {}: {}".format(data_dir, RUN_BUILD_FIRST))
    splits = {split: read_split(os.path.join(data_dir, split), RUN_BUILD_FIRST, strict=True) for split in SPLITS}
    train = splits['train']
    # Adapt it here to your data. The minimum counts are options (--min_count_word, --min_count_tag); another
    # vocabulary (of part-of-speech tags, say) is one more step like these, its file named in ner/vocab.py.
    # A change to the words themselves (lower-casing them) must be made alike where ner/input_fn.py looks them up.

    # 1. Words: the training words seen at least min_count_word times, after <pad> (with --eval_words_with_vectors,
    #    then the dev and test words that have a pretrained vector); the vectors file is read once, for all of them
    words = word_vocabulary(train, min_count_word)
    unseen = eval_words(splits, words) if eval_words_with_vectors else {}
    found = read_vectors(vectors, words[1:] + list(unseen)) if vectors else None
    words += with_vectors(unseen, found) if eval_words_with_vectors else []

    # 2. Chars: the characters of those words, after <pad>
    chars = char_vocabulary(train, words)

    # 3. Tags: O (it pads the labels), then the training tags; every dev and test tag must be one of them
    tags, train_tag_counts = tag_vocabulary(train, min_count_tag)
    check_tags_known(splits, tags, train_tag_counts, min_count_tag)

    # 4. Pretrained vectors (--vectors): row i of embeddings.npy is the vector of word i, NaN for a word without
    files = {os.path.join(data_dir, WORDS): words, os.path.join(data_dir, TAGS): tags,
             os.path.join(data_dir, CHARS): chars}
    vocab_size = len(words) + NUM_OOV_BUCKETS
    if vectors:
        files[os.path.join(data_dir, EMBEDDINGS)], coverage = embedding_rows(words, vocab_size, found)
    else:
        remove_stale_embeddings(data_dir)
    write_files_atomically(files)

    # 5. The sizes: dataset_params.json, which train.py adds to params.json's
    dataset_params = {
        'train_size': len(train),
        'dev_size': len(splits['dev']),
        'test_size': len(splits['test']),
        'vocab_size': vocab_size,
        'number_of_tags': len(tags),
        'char_vocab_size': len(chars) + NUM_OOV_BUCKETS,
        'pad_word': PAD_WORD,
        'pad_tag': PAD_TAG,
        'num_oov_buckets': NUM_OOV_BUCKETS,
    }
    if vectors:
        dataset_params.update(vectors_params(files[os.path.join(data_dir, EMBEDDINGS)], coverage, vectors,
                                             eval_words_with_vectors))
    # Written last: a dataset_params.json always describes the vocabulary files beside it.
    save_dict_to_json(dataset_params, os.path.join(data_dir, DATASET_PARAMS))
    return dataset_params


def vectors_params(rows, coverage, vectors, eval_words_with_vectors):
    """What dataset_params.json says of embeddings.npy (train.py checks embedding_size against its dimension)."""
    as_written, lowered, missing = coverage
    logging.info("Word vectors of %s (%d dimensions): of the %d words, %d found as written, %d found lower-cased, "
                 "%d missing (initialised at random)", vectors, rows.shape[1], sum(coverage), as_written, lowered,
                 missing)
    return {'word_vectors_size': int(rows.shape[1]), 'word_vectors_file': os.path.abspath(vectors),
            'word_vectors_found': as_written, 'word_vectors_found_lowercased': lowered,
            'word_vectors_missing': missing, 'eval_words_with_vectors': eval_words_with_vectors}


def remove_stale_embeddings(data_dir):
    """An embeddings.npy of an earlier build has the rows of another words.txt: training must not start from it."""
    path = os.path.join(data_dir, EMBEDDINGS)
    if os.path.exists(path):
        os.remove(path)
        logging.info("Removed %s (the vectors of the earlier vocabulary): pass --vectors to write it again", path)


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    logging.info("Building the vocabularies of %s from its training split...", args.data_dir)
    dataset_params = build_vocab(args.data_dir, args.min_count_word, args.min_count_tag, args.vectors,
                                 args.eval_words_with_vectors)
    saved = VOCABULARY_FILES + ((EMBEDDINGS,) if args.vectors else ())
    logging.info("- done. Saved %s and %s in %s", ', '.join(saved[:-1]), saved[-1], args.data_dir)
    logging.info("Characteristics of the dataset:")
    for key, value in dataset_params.items():
        logging.info("- %s: %s", key, value)


if __name__ == '__main__':
    run_script(main, parser.parse_args())
