"""What the networks read of a token besides its word id, computed in the graph from the token strings.

Both the input pipeline (ner/input_fn.py) and the predict/serving inputs (ner/predict_input.py)
prepare sentences with these, so that a trained model and its export see the same features:
    char_ids        [T] strings -> [T, W] int64 character ids, padded with 0 (the '<pad>' line of chars.txt)
    token_features  [T] strings -> {'casing': [T] int64}, the casing class, 0 (CASINGS' '<pad>') at padding
"""
from model.core.tf_compat import tf

# Casing classes of `token_features`; 0 is padding.
CASINGS = ['<pad>', 'numeric', 'has_digit', 'lower', 'upper', 'title', 'punctuation', 'other']


def casing_classes(tokens):
    """Casing class id (index in CASINGS) of each token string, any shape -> same shape int64.

    Capitals are the strongest hint of a name in English; the character CNN could learn them,
    but an explicit class is cheap and helps most on words seen rarely.
    """
    # Tested in this order: the first pattern a token fully matches gives its class.
    patterns = [
        ('numeric', r'[0-9]+([.,:/-][0-9]+)*'),
        ('has_digit', r'.*[0-9].*'),
        ('lower', r'\p{Ll}+'),
        ('upper', r'\p{Lu}+'),
        ('title', r'\p{Lu}\p{Ll}.*'),
        ('punctuation', r'[^\p{L}\p{N}]+'),
    ]
    classes = tf.fill(tf.shape(tokens), tf.constant(CASINGS.index('other'), tf.int64))
    for name, pattern in reversed(patterns):
        matches = tf.strings.regex_full_match(tokens, pattern)
        classes = tf.where(matches, tf.fill(tf.shape(tokens), tf.constant(CASINGS.index(name), tf.int64)),
                           classes)
    return classes


def token_features(tokens):
    """Per-token features computed from the token strings [T]: {'casing': [T] int64}."""
    return {'casing': casing_classes(tokens)}


def char_ids(tokens, chars_table, max_word_length):
    """Character ids [T, W] int64 of the token strings [T], padded with 0 (the '<pad>' line).

    Args:
        tokens: [T] string, UTF-8
        chars_table: a lookup table from one character to its id (chars.txt, OOV bucket)
        max_word_length: (int) characters kept per word; W = min(longest word, max_word_length)
    """
    chars = tf.strings.unicode_split(tokens, 'UTF-8')[:, :max_word_length]
    return tf.ragged.map_flat_values(chars_table.lookup, chars).to_tensor(default_value=0)
