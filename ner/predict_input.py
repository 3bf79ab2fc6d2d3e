"""The NER input pipeline in predict mode: raw sentences without labels, for predict.py and export.py.

A raw sentence is first tokenized as the training corpora are, then prepared as in
training (ner/input_fn.py's sentence_features: word ids, characters, casing), in the graph,
so that predict.py and the exported model split and prepare alike.
"""
from model.core.tf_compat import fixed_settings, tf
from ner.features import token_features


def tokenize(sentences):
    """Raw sentences (a string tensor) -> the same with spaces between the tokens, as the training data is tokenized.

    NER corpora (CoNLL, the Kaggle corpus) write punctuation as tokens of its own:
    `Hello, world!` is `Hello , world !`. So punctuation is split off words, as are
    English clitics ('s, n't), and a final period; periods inside a word (U.S., 3.5) stay.
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
