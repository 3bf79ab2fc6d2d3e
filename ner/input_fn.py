"""Create the input data pipeline of the NER example using `tf.data` (the tutorial's text example).

A split of the data set is two text files, one sentence per line:
    sentences.txt   John lives in New York
    labels.txt      B-PER O O B-LOC I-LOC
Each line is read with `tf.data.TextLineDataset`, split into tokens, and the tokens
are looked up in a vocabulary (words.txt, tags.txt, chars.txt: one entry per line, the
line number is the id). Sentences of a batch have different lengths: `padded_batch`
pads them with the id of '<pad>' (and the tags with the id of 'O'), and
`sentence_lengths` says how many tokens of each are real.
"""
import bisect
import collections
import os

from model.core.seeds import SHUFFLE, step_seed
from model.core.tf_compat import fixed_settings, tf
from ner.network import char_ids, token_features

# The vocabulary files of a data set (written by build_vocab.py), and its sizes.
WORDS, TAGS, CHARS = 'words.txt', 'tags.txt', 'chars.txt'
DATASET_PARAMS = 'dataset_params.json'
VOCABULARY_FILES = (WORDS, TAGS, CHARS, DATASET_PARAMS)


def vocabulary_table(path, num_oov_buckets):
    """A lookup table from the tokens of `path` (one per line) to their line numbers; others to the OOV bucket(s)."""
    initializer = tf.lookup.TextFileInitializer(path, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
    return tf.lookup.StaticVocabularyTable(initializer, num_oov_buckets)


def load_vocabularies(params):
    """The words, chars and tags lookup tables of params.vocab_dir (initialized by tf.tables_initializer())."""
    return {name: vocabulary_table(os.path.join(params.vocab_dir, filename), params.num_oov_buckets)
            for name, filename in (('words', WORDS), ('chars', CHARS), ('tags', TAGS))}


def split_tokens(line):
    """One line of text -> its tokens, split on whitespace (the layout build_ner_dataset.py writes)."""
    return tf.string_split([line]).values


def load_dataset_from_text(path_txt, vocab):
    """Create tf.data Instance from txt file: for each line, the ids of its tokens and their number.

    Args:
        path_txt: (string) path containing one example per line
        vocab: (tf.lookup table) from token to id

    Returns:
        dataset: (tf.Dataset) yielding (list of ids of tokens, number of tokens) for each example
    """
    # Load txt file, one example per line
    dataset = tf.data.TextLineDataset(path_txt)
    # Convert line into list of tokens, splitting by white space
    dataset = dataset.map(split_tokens)
    # Lookup tokens to return their ids
    dataset = dataset.map(lambda tokens: (vocab.lookup(tokens), tf.size(tokens)))
    return dataset


def sentence_features(tokens, vocabs, params):
    """Everything the networks read of one sentence, from its token strings [T].

    The word ids (the course's `sentence`) and the number of tokens, plus what the base
    model adds: the characters of each word and its casing. predict.py and the exported
    model compute the same from raw sentences.
    """
    features = {'tokens': tokens,
                'sentence': vocabs['words'].lookup(tokens),
                'sentence_lengths': tf.size(tokens),
                'chars': char_ids(tokens, vocabs['chars'], params.max_word_length)}
    features.update(token_features(tokens))
    return features


def load_sentences(path_txt, vocabs, params):
    """The sentences of a sentences.txt as a tf.data.Dataset of sentence_features dicts."""
    return (tf.data.TextLineDataset(path_txt)
            .map(split_tokens)
            .map(lambda tokens: sentence_features(tokens, vocabs, params)))


def padded_shapes_and_values(params, with_labels=True):
    """padded_batch's shapes and padding values for sentence_features dicts (and the labels)."""
    shapes = {'tokens': [None], 'sentence': [None], 'sentence_lengths': [], 'chars': [None, None], 'casing': [None]}
    values = {'tokens': params.pad_word, 'sentence': params.id_pad_word, 'sentence_lengths': 0,
              'chars': tf.constant(0, tf.int64), 'casing': tf.constant(0, tf.int64)}
    if not with_labels:
        return shapes, values
    # The labels of padding are the id of pad_tag ('O'); sentence_lengths masks them out of the loss and metrics.
    return (shapes, ([None], [])), (values, (params.id_pad_tag, 0))


def bucket_boundaries(longest=200):
    """Sentence lengths where a new bucket starts: each bucket spans at most ~10% of its lengths.

    Sentences of a batch come from one bucket, so they are padded by a few tokens at most:
    with one bucket for all, a batch is as long as its longest sentence and most of the
    LSTM's work would be on padding. Longer sentences than `longest` share the last bucket.
    """
    boundaries = [2]
    while boundaries[-1] < longest:
        boundaries.append(max(boundaries[-1] + 1, int(boundaries[-1] * 1.1)))
    return boundaries


def num_batches(lengths, batch_size):
    """How many batches input_fn makes of sentences of these lengths: bucket by bucket, all full but the last."""
    per_bucket = collections.Counter(bisect.bisect_right(bucket_boundaries(), length) for length in lengths)
    return sum(-(-count // batch_size) for count in per_bucket.values())


def prepared_once(dataset, num_sentences):
    """Every (sentence_features, labels) element of `dataset` as one element of ragged tensors [N, ...].

    The first epoch prepares the sentences (splitting, lookups, characters, casing: about a
    third of an epoch's time, all of it before the first batch, as the shuffle buffer holds the
    whole split); every later epoch takes them from memory. The iterator over the prepared
    split is initialized once, with the lookup tables it reads (tf.tables_initializer(), in
    variable_init_op), so its cache() lasts; iterator_init_op rebuilds only the pipeline after it.
    """
    whole = (dataset
             .apply(tf.data.experimental.dense_to_ragged_batch(num_sentences))
             .cache()
             .repeat()
             .prefetch(1))  # asks for the next element at once: the cache sees the end and is complete
    iterator = tf.data.make_initializable_iterator(whole)  # a one-shot iterator cannot read lookup tables
    tf.add_to_collection(tf.GraphKeys.TABLE_INITIALIZERS, iterator.initializer)
    return iterator.get_next()


def gather_batch(prepared, indices, padding_values):
    """The sentences `indices` of the prepared split, padded as padded_batch pads them."""
    def gather(tensor, padding):
        rows = tf.gather(tensor, indices)
        return rows.to_tensor(default_value=padding) if isinstance(rows, tf.RaggedTensor) else rows
    return tf.nest.map_structure(gather, prepared, padding_values)


def batches_of_sentences(lengths, batch_size, seed=None):
    """The numbers of the sentences of each batch of an epoch: ragged [number of batches, (sentences)] int64.

    Batches as bucket_by_sequence_length makes them, each of up to batch_size sentences of one
    bucket of lengths (bucket_boundaries), but made at once from the lengths with a few array ops:
    tf.data's grouping, sentence by sentence, took about 35 ms to set up every epoch and 2 ms of
    CPU a batch. With a seed (a pair, step_seed's: training), the sentences are shuffled before they
    are grouped and the batches after; without (evaluation), they keep the file's order, and the
    batches come in the order of their first sentences (the first batch, whose sentences TensorBoard
    shows, holds the file's first sentence).
    """
    number = tf.range(tf.size(lengths, out_type=tf.int64))
    if seed is not None:
        number = tf.random.experimental.stateless_shuffle(number, seed)
    bucket = tf.searchsorted(tf.constant(bucket_boundaries(), lengths.dtype), tf.gather(lengths, number),
                             side='right')
    by_bucket = tf.argsort(bucket, stable=True)
    number, bucket = tf.gather(number, by_bucket), tf.gather(bucket, by_bucket)
    place_in_bucket = tf.range(tf.size(bucket)) - tf.searchsorted(bucket, bucket, side='left')
    batch = tf.cumsum(tf.cast(tf.equal(place_in_bucket % batch_size, 0), tf.int64)) - 1
    batches = tf.RaggedTensor.from_value_rowids(number, batch, validate=False)
    if seed is not None:
        order = tf.random.experimental.stateless_shuffle(tf.range(batches.nrows()), seed)
    else:
        order = tf.argsort(tf.gather(batches.values, batches.row_starts()))
    return tf.gather(batches, order)


def input_fn(mode, sentences, labels, params, num_sentences=None):
    """Input function for NER

    Args:
        mode: (string) 'train', 'eval' or any other mode you can think of
                     At training, we shuffle the data and have multiple epochs
        sentences: (tf.Dataset) yielding sentence_features dicts (the ids of the words, their characters...)
        labels: (tf.Dataset) yielding list of ids of tags, and their number
        params: (Params) contains hyperparameters of the model (ex: `params.num_epochs`)
        num_sentences: (int) how many sentences the datasets hold, to prepare them once and keep
                       them in memory (see prepared_once); None: prepared again every epoch

    Returns:
        inputs: (dict) with the `sentence`, `labels`, `sentence_lengths` (and the base model's `chars`,
                `casing`, the `tokens` strings for TensorBoard) and the `iterator_init_op`
    """
    # Load all the dataset in memory for shuffling is training
    is_training = (mode == 'train')
    # As in the vision example: each epoch (a run of iterator_init_op) has a new order, keyed on
    # the global step: the same on every run and the right one when training resumes.
    if is_training:
        tf.train.get_or_create_global_step()
    seed = step_seed(SHUFFLE) if is_training else None

    # Zip the sentence and the labels together
    dataset = tf.data.Dataset.zip((sentences, labels))
    padded_shapes, padding_values = padded_shapes_and_values(params)
    if num_sentences is not None:
        # The sentences are prepared once (see prepared_once): an epoch is a list of batches of their
        # numbers, and each batch of numbers becomes the batch of those sentences, gathered from memory.
        prepared = prepared_once(dataset, num_sentences)
        batches = batches_of_sentences(prepared[0]['sentence_lengths'], params.batch_size, seed)
        dataset = (tf.data.Dataset.from_tensor_slices(batches)
                   .map(lambda indices: gather_batch(prepared, indices, padding_values)))
    else:
        if is_training:
            dataset = dataset.shuffle(buffer_size=params.train_size, seed=seed[0])  # tf.data's takes one number
        # Create batches and pad the sentences of different length: batches of sentences of similar length
        boundaries = bucket_boundaries()
        dataset = dataset.apply(tf.data.experimental.bucket_by_sequence_length(
            lambda features, _: features['sentence_lengths'], boundaries,
            [params.batch_size] * (len(boundaries) + 1), padded_shapes=padded_shapes, padding_values=padding_values))
    dataset = dataset.prefetch(1)  # make sure you always have one batch ready to serve

    # Create initializable iterator from this dataset so that we can reset at each epoch
    iterator = tf.data.make_initializable_iterator(fixed_settings(dataset))

    # Query the output of the iterator for input to the model
    features, (labels, _) = iterator.get_next()
    init_op = iterator.initializer

    # Build and return a dictionnary containing the nodes / ops
    inputs = dict(features, labels=labels, iterator_init_op=init_op)
    return inputs


# -----------------------------------------------------------
# PREDICT MODE: raw sentences, for predict.py and export.py

def tokenize(sentences):
    """Raw sentences (a string tensor) -> the same with spaces between the tokens, as the training data is tokenized.

    NER corpora (CoNLL, the Kaggle corpus) write punctuation as tokens of its own:
    `Hello, world!` is `Hello , world !`. So punctuation is split off words, as are
    English clitics ('s, n't), and a final period; periods inside a word (U.S., 3.5) stay.
    Done with TensorFlow ops, so that predict.py and the exported model split alike.
    """
    spaced = tf.strings.regex_replace(sentences, r'([,;:!?()\[\]{}"]|``|\'\')', r' \1 ')
    spaced = tf.strings.regex_replace(spaced, r"(\w)('[sS]|'[mM]|'[dD]|'ll|'re|'ve|n't)(\s|$)", r'\1 \2\3')
    return tf.strings.regex_replace(spaced, r'([^\s.])\.(\s*)$', r'\1 .\2')


def batch_features(sentences, vocabs, params):
    """sentence_features for a batch of raw sentences [N] at once, padded as padded_batch pads.

    Vectorized (ragged tensors rather than a tf.data pipeline), so that the exported
    model's signature is this function of its input; predict.py runs the same.
    """
    tokens = tf.strings.split(tokenize(sentences), result_type='RaggedTensor')  # [N, (T)]
    lengths = tf.cast(tokens.row_lengths(), tf.int32)
    padded = tokens.to_tensor(default_value=params.pad_word)
    chars = tf.strings.unicode_split(tokens, 'UTF-8')[:, :, :params.max_word_length]  # ragged [N, (T), (W)]
    features = {'tokens': padded,
                'sentence': vocabs['words'].lookup(padded),
                'sentence_lengths': lengths,
                'chars': tf.ragged.map_flat_values(vocabs['chars'].lookup, chars).to_tensor(default_value=0)}
    features.update(token_features(padded))
    return features


def predict_input_fn(sentences, vocabs, params):
    """Batches of raw sentences (a list of strings), in order, without labels."""
    dataset = (tf.data.Dataset.from_tensor_slices(tf.constant(sentences, tf.string))
               .batch(params.batch_size)
               .map(lambda batch: batch_features(batch, vocabs, params)))
    iterator = tf.data.make_initializable_iterator(fixed_settings(dataset))
    return dict(iterator.get_next(), iterator_init_op=iterator.initializer)


def serving_input_fn(vocabs, params):
    """The input of the exported model: a batch of raw sentences (strings), prepared as predict.py does."""
    sentences = tf.placeholder(tf.string, [None], name='sentences')
    return dict(batch_features(sentences, vocabs, params), sentences=sentences)
