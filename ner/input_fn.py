"""Create the input data pipeline of the NER example using `tf.data` (the tutorial's text example).

A split of the data set is two text files, one sentence per line:
    sentences.txt   John lives in New York
    labels.txt      B-PER O O B-LOC I-LOC
Each line is read with `tf.data.TextLineDataset`, split into tokens, and the tokens
are looked up in a vocabulary (words.txt, tags.txt, chars.txt: one entry per line, the
line number is the id). Sentences of a batch have different lengths: they are padded
with the id of '<pad>' (and the tags with the id of 'O'), and `sentence_lengths` says
how many tokens of each are real. Raw sentences (predict.py, export.py): ner/predict_input.py.
"""
import os

from model.core.seeds import SHUFFLE, step_seed
from model.core.tf_compat import fixed_settings, tf
from ner.batching import padded_batches
from ner.features import char_ids, token_features
from ner.vocab import CHARS, TAGS, WORDS


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
    model adds: the characters of each word and its casing (ner/features.py). predict.py
    and the exported model compute the same from raw sentences.
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


def padded_shapes_and_values(params):
    """padded_batch's shapes and padding values for (sentence_features dicts, labels) pairs."""
    shapes = {'tokens': [None], 'sentence': [None], 'sentence_lengths': [], 'chars': [None, None], 'casing': [None]}
    values = {'tokens': params.pad_word, 'sentence': params.id_pad_word, 'sentence_lengths': 0,
              'chars': tf.constant(0, tf.int64), 'casing': tf.constant(0, tf.int64)}
    # The labels of padding are the id of pad_tag ('O'); sentence_lengths masks them out of the loss and metrics.
    return (shapes, ([None], [])), (values, (params.id_pad_tag, 0))


def input_fn(mode, sentences, labels, params, num_sentences=None):
    """Input function for NER

    Args:
        mode: (string) 'train', 'eval' or any other mode you can think of
                     At training, we shuffle the data and have multiple epochs
        sentences: (tf.Dataset) yielding sentence_features dicts (the ids of the words, their characters...)
        labels: (tf.Dataset) yielding list of ids of tags, and their number
        params: (Params) contains hyperparameters of the model (ex: `params.num_epochs`)
        num_sentences: (int) how many sentences the datasets hold, to prepare them once and keep
                       them in memory (see ner/batching.py); None: prepared again every epoch

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

    # Create batches and pad the sentences of different length (padded_batch), each batch of sentences
    # of similar lengths (bucketing: little padding), shuffled in training
    padded_shapes, padding_values = padded_shapes_and_values(params)
    dataset = padded_batches(dataset, params, padded_shapes, padding_values, seed, num_sentences)
    dataset = dataset.prefetch(1)  # make sure you always have one batch ready to serve

    # Create initializable iterator from this dataset so that we can reset at each epoch
    iterator = tf.data.make_initializable_iterator(fixed_settings(dataset))

    # Query the output of the iterator for input to the model
    features, (labels, _) = iterator.get_next()
    init_op = iterator.initializer

    # Build and return a dictionnary containing the nodes / ops
    inputs = dict(features, labels=labels, iterator_init_op=init_op)
    return inputs
