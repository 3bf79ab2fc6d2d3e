"""The NER input pipeline in predict mode: raw sentences without labels, for predict.py and export.py.

A raw sentence is first tokenized as the training corpora are, then prepared as in
training (ner/input_fn.py's sentence_features: word ids, characters, casing), in the graph,
so that predict.py and the exported model split and prepare alike.
"""
from model.core.tf_compat import fixed_settings, tf
from ner.features import token_features

# Every character Python's str.split() splits on. build_ner_dataset.py reads a line of
# sentences.txt with it, and writes any whitespace inside a corpus token as '_' (ner/corpora.py's
# clean_token): no token of the built data holds one, so each separates tokens here too.
# (TensorFlow's own split knows only the ASCII ones: a non-breaking space would stay inside a token.)
WHITESPACE = ('\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007'
              '\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000')
_WHITESPACE_RUN = '[{}]+'.format(''.join('\\x{{{:x}}}'.format(ord(c)) for c in WHITESPACE))

# Punctuation that is a token of its own wherever it stands (CoNLL writes `Hello , world !`).
_PUNCTUATION = r'([,;:!?()\[\]{}"¿¡]|``|\'\')'
# What may follow the period that ends a sentence: closing quotes and brackets.
_CLOSING = r'((?:\s+(?:[")\]}]|\'\'))*\s*)$'
# While the punctuation is split off, the characters that must stay are written as characters no
# text holds (private use) and put back after: RE2, TensorFlow's regular expressions, cannot look around.
_KEPT = {',': '\ue000', ':': '\ue001', '.': '\ue002'}


def tokenize(sentences, tokenized=False):
    """Raw sentences (a string tensor) -> the same with single spaces between the tokens, as the training data is.

    NER corpora (CoNLL, the Kaggle corpus) write punctuation as tokens of its own:
    `Hello, world!` is `Hello , world !`. The rules:
    - any whitespace (every Unicode kind, see WHITESPACE) separates tokens;
    - , ; : ! ? ( ) [ ] { } " ¿ ¡ `` '' are tokens of their own, except a comma or colon between
      two digits: 1,000, 13,9 and 12:30 stay one token;
    - English clitics ('s, 'm, 'd, 'll, 're, 've, n't) are split off the word before them;
    - a period ending the sentence (before any closing quotes or brackets) is split off its
      word, unless that word is an abbreviation with inner periods (U.S., a.m., EE.UU.): it keeps
      it, as the corpora write it. Other periods stay (3.5, Mr. Smith).
    A sentence tokenized so already (tokens separated by spaces, as sentences.txt is) comes out
    unchanged. `tokenized`: split on whitespace only, for text tokenized by other rules.
    """
    spaced = tf.strings.strip(tf.strings.regex_replace(sentences, _WHITESPACE_RUN, ' '))
    if tokenized:
        return spaced
    for _ in range(2):  # a digit between two separators (1,000,000) is in two matches
        spaced = tf.strings.regex_replace(spaced, r'(\d),(\d)', r'\1' + _KEPT[','] + r'\2')
        spaced = tf.strings.regex_replace(spaced, r'(\d):(\d)', r'\1' + _KEPT[':'] + r'\2')
    spaced = tf.strings.regex_replace(spaced, _PUNCTUATION, r' \1 ')
    spaced = tf.strings.regex_replace(spaced, r"([\pL\pN])('[sS]|'[mM]|'[dD]|'ll|'re|'ve|n't)(\s|$)", r'\1 \2\3')
    spaced = tf.strings.regex_replace(spaced, r'(^|\s)(\pL+(?:\.\pL+)+)\.' + _CLOSING, r'\1\2' + _KEPT['.'] + r'\3')
    spaced = tf.strings.regex_replace(spaced, r'([^\s.])\.' + _CLOSING, r'\1 .\2')
    for character, stand_in in _KEPT.items():
        spaced = tf.strings.regex_replace(spaced, stand_in, character)
    return tf.strings.strip(tf.strings.regex_replace(spaced, ' +', ' '))


def batch_features(sentences, vocabs, params, tokenized=False):
    """sentence_features for a batch of raw sentences [N] at once, padded as padded_batch pads.

    tokenized: the sentences are tokenized already (see tokenize).

    Vectorized (ragged tensors rather than a tf.data pipeline), so that the exported
    model's signature is this function of its input; predict.py runs the same.
    """
    tokens = tf.strings.split(tokenize(sentences, tokenized), result_type='RaggedTensor')  # [N, (T)]
    lengths = tf.cast(tokens.row_lengths(), tf.int32)
    padded = tokens.to_tensor(default_value=params.pad_word)
    chars = tf.strings.unicode_split(tokens, 'UTF-8')[:, :, :params.max_word_length]  # ragged [N, (T), (W)]
    features = {'tokens': padded,
                'sentence': vocabs['words'].lookup(padded),
                'sentence_lengths': lengths,
                'chars': tf.ragged.map_flat_values(vocabs['chars'].lookup, chars).to_tensor(default_value=0)}
    features.update(token_features(padded))
    return features


def predict_input_fn(sentences, vocabs, params, tokenized=False):
    """Batches of raw sentences (a list of strings), in order, without labels (tokenized: see tokenize)."""
    dataset = (tf.data.Dataset.from_tensor_slices(tf.constant(sentences, tf.string))
               .batch(params.batch_size)
               .map(lambda batch: batch_features(batch, vocabs, params, tokenized)))
    iterator = tf.data.make_initializable_iterator(fixed_settings(dataset))
    return dict(iterator.get_next(), iterator_init_op=iterator.initializer)


def serving_input_fn(vocabs, params):
    """The input of the exported model: a batch of raw sentences (strings), prepared as predict.py does."""
    sentences = tf.placeholder(tf.string, [None], name='sentences')
    return dict(batch_features(sentences, vocabs, params), sentences=sentences)
