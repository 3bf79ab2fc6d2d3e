"""Reading NER corpora into sentences, and reading and writing the built layout.

The built layout (what build_ner_dataset.py writes and everything after it reads):
    <data_dir>/{train,dev,test}/sentences.txt   one sentence per line, tokens separated by single spaces
    <data_dir>/{train,dev,test}/labels.txt      line i tags line i of sentences.txt, one tag per token
UTF-8, '\\n' line ends, tags in BIO (IOB2): O, B-TYPE, I-TYPE.

The readers below turn the corpora a user may have into lists of `Sentence`:
CoNLL files (space- or tab-separated columns, the tag last), Kaggle's
ner_dataset.csv, and folders already in the built layout. Every problem a user
can fix is an InputError naming the file and line. Nothing here imports TensorFlow.
"""
import codecs
import collections
import csv
import io
import logging
import os
import re

from model.core.errors import InputError
from ner.entities import split_tag

SPLITS = ('train', 'dev', 'test')
SENTENCES, LABELS = 'sentences.txt', 'labels.txt'

# One sentence: its tokens, its tags, and where it came from ("path:line" of its first token), for messages.
Sentence = collections.namedtuple('Sentence', ['tokens', 'tags', 'where'])

# Tokens go into sentences.txt separated by single spaces, so one holding whitespace
# ("New York" in some tab-separated corpora) would become two: its whitespace becomes this.
WHITESPACE_STANDIN = '_'

# CoNLL file names, by split; the first found is read. The shared tasks' files are named <language>.<split>:
# CoNLL-2003's English and German (eng, deu), CoNLL-2002's Spanish and Dutch (esp, ned).
SHARED_TASK_LANGUAGES = ('eng', 'deu', 'esp', 'ned')
SHARED_TASK_SPLITS = {'train': 'train', 'dev': 'testa', 'test': 'testb'}
CONLL_NAMES = {
    'train': ('train.txt', 'train.conll', 'train.tsv'),
    'dev': ('valid.txt', 'dev.txt', 'valid.conll', 'dev.conll', 'valid.tsv', 'dev.tsv'),
    'test': ('test.txt', 'test.conll', 'test.tsv'),
}
CONLL_NAMES = {split: names + tuple('{}.{}'.format(language, SHARED_TASK_SPLITS[split])
                                    for language in SHARED_TASK_LANGUAGES)
               for split, names in CONLL_NAMES.items()}
KAGGLE_NAME = 'ner_dataset.csv'
KAGGLE_HEADER = ['sentence #', 'word', 'pos', 'tag']
# The course's split of the Kaggle corpus, in percent of the sentences, in file order.
KAGGLE_SPLIT = (70, 15, 15)

PUBLISHED_IN = " (the CoNLL-2002 files and CoNLL-2003's German ones are Latin-1, as published)"


# ---------------------------------------------------------------------------------------------
# Text files

def check_encoding(encoding):
    """`encoding` (--encoding) if Python knows it; None (UTF-8) stays None."""
    if encoding is None:
        return None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError("Unknown --encoding {!r}: give a Python codec name such as latin-1{}, windows-1252 or "
                         "utf-8".format(encoding, PUBLISHED_IN)) from None
    return encoding


def encoding_to_try(data, tried):
    """The encoding to suggest for bytes that are not valid `tried`: UTF-8 if they are, else Windows-1252 if they
    hold its typographic characters (bytes 0x80-0x9f, control characters in Latin-1), else Latin-1."""
    for encoding in ('utf-8', 'windows-1252'):
        if codecs.lookup(encoding).name == codecs.lookup(tried).name:
            continue
        if encoding == 'windows-1252' and not any(0x80 <= byte <= 0x9f for byte in data):
            continue
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return 'latin-1'


def read_text_lines(path, keep_bom=False, encoding=None):
    """The lines of a text file in `encoding` (None: UTF-8), without their line ends ('\\n' or '\\r\\n').

    A byte-order mark (which some Windows editors write) is dropped unless `keep_bom`.
    Lines are split on '\\n' only (str.splitlines would also split on characters
    such as U+2028 that TensorFlow's TextLineDataset keeps inside a line).
    A file that is not in that encoding is an InputError naming the line and byte, and the encoding to try.
    """
    with open(path, 'rb') as f:
        data = f.read()
    tried = encoding or 'utf-8'
    try:
        text = data.decode(tried)
    except UnicodeDecodeError as e:
        line = data.count(b'\n', 0, e.start) + 1
        byte = e.start - (data.rfind(b'\n', 0, e.start) + 1) + 1
        other = encoding_to_try(data, tried)
        raise InputError("{}:{}: not valid {} (byte {} of the line is 0x{:02x}): it may be {}: pass --encoding {} to "
                         "build_ner_dataset.py{}, or convert it to UTF-8 first (for example: iconv -f {} -t UTF-8 "
                         "old.txt > new.txt)".format(path, line, 'UTF-8' if encoding is None else encoding, byte,
                                                     data[e.start], other, other,
                                                     PUBLISHED_IN if other == 'latin-1' else '', other)) from None
    if text.startswith('\ufeff') and not keep_bom:
        text = text[1:]
    lines = text.split('\n')
    if lines[-1] == '':  # what follows the last line end
        lines.pop()
    return [line[:-1] if line.endswith('\r') else line for line in lines]


def clean_token(token):
    """The token with each run of whitespace inside it replaced by WHITESPACE_STANDIN."""
    return re.sub(r'\s+', WHITESPACE_STANDIN, token)


def check_tag(tag, where, columns=None):
    """Raise an InputError unless `tag` is O, B-TYPE or I-TYPE; `columns`: the CoNLL line it is the last column of."""
    try:
        split_tag(tag)
    except ValueError:
        placed = ''
        if columns is not None:
            # A file whose tag is not its last column fails here first: say where the tag must be.
            tags_elsewhere = [number for number, column in enumerate(columns[:-1], 1) if _is_tag(column)]
            placed = " (in a CoNLL file the tag is the last column of each line{})".format(
                ": column {} holds {!r}".format(tags_elsewhere[0], columns[tags_elsewhere[0] - 1])
                if tags_elsewhere else '')
        raise InputError("{}: tag {!r} is not O, B-TYPE or I-TYPE{}: use BIO tags (IOBES tags such as E-X "
                         "and S-X must be converted to B-X and I-X first)".format(where, tag, placed)) from None


def _is_tag(text):
    try:
        split_tag(text)
    except ValueError:
        return False
    return True


def log_cleaned_tokens(path, cleaned):
    """Say once per file that tokens held whitespace. `cleaned` lists (where, original token)."""
    if cleaned:
        where, token = cleaned[0]
        logging.warning("%s: %d token(s) held whitespace (first at %s: %r): replaced it by '%s' so that "
                        "tokens stay separated by single spaces", path, len(cleaned), where, token,
                        WHITESPACE_STANDIN)


# ---------------------------------------------------------------------------------------------
# CoNLL files

def conll_columns(line):
    """The columns of a CoNLL line: split on tabs if it has any (tokens may then hold spaces), else on spaces."""
    if '\t' in line:
        return [column.strip() for column in line.rstrip().split('\t')]
    return [column for column in line.strip().split(' ') if column]


def read_conll(path, encoding=None):
    """The sentences of a CoNLL file: one token per line, its tag in the last column, a blank line between sentences.

    -DOCSTART- lines (document boundaries) are skipped. Tags are returned as written
    (IOB1 or IOB2); to_iob2_sentences converts them. `encoding`: the file's (None: UTF-8).
    """
    sentences, tokens, tags, start = [], [], [], None
    cleaned = []
    for number, line in enumerate(read_text_lines(path, encoding=encoding), 1):
        columns = conll_columns(line) if line.strip() else []
        if not columns or columns[0] == '-DOCSTART-':
            if tokens:
                sentences.append(Sentence(tokens, tags, '{}:{}'.format(path, start)))
            tokens, tags = [], []
            continue
        where = '{}:{}'.format(path, number)
        if len(columns) < 2:
            raise InputError("{}: expected a token and its tag (the last column), found {!r}: separate the columns "
                             "by spaces or tabs, and sentences by a blank line".format(where, line.strip()))
        if not columns[0]:
            raise InputError("{}: the token (first column) is empty: remove the line or give its word".format(where))
        check_tag(columns[-1], where, columns)
        token = clean_token(columns[0])
        if token != columns[0]:
            cleaned.append((where, columns[0]))
        if not tokens:
            start = number
        tokens.append(token)
        tags.append(columns[-1])
    if tokens:
        sentences.append(Sentence(tokens, tags, '{}:{}'.format(path, start)))
    if not sentences:
        raise InputError("{} holds no sentence: expected one token per line with its tag in the last column".format(path))
    log_cleaned_tokens(path, cleaned)
    return sentences


def conll_set(name):
    """The data set a CoNLL file name belongs to: its language for the shared tasks' names, else ''."""
    language = name.split('.')[0]
    return language if language in SHARED_TASK_LANGUAGES else ''


def find_conll_files(data_dir):
    """{split: path} of the CoNLL files in data_dir, or None if it holds none.

    A partial set, or the files of two sets (eng.* and deu.*, or train.txt and eng.train), are an InputError.
    """
    present = {split: [name for name in names if os.path.isfile(os.path.join(data_dir, name))]
               for split, names in CONLL_NAMES.items()}
    sets = sorted({conll_set(name) for names in present.values() for name in names})
    if not sets:
        return None
    if len(sets) > 1:
        raise InputError("{} holds the files of {} CoNLL data sets ({}): keep one per folder (a folder for each "
                         "language), then pass that folder as --data_dir".format(
                             data_dir, len(sets), '; '.join(', '.join(name for names in present.values()
                                                                      for name in names if conll_set(name) == kind)
                                                            for kind in sets)))
    found = {split: next((os.path.join(data_dir, name) for name in names), None) for split, names in present.items()}
    for split, path in found.items():
        if path is None:
            present_names = ', '.join(os.path.basename(p) for p in found.values() if p)
            looked_for = [name for name in CONLL_NAMES[split] if conll_set(name) == sets[0]]
            raise InputError("{} has {} but no {} file (looked for {}): add it, or split off part of the training "
                             "file".format(data_dir, present_names, split, ', '.join(looked_for)))
    return found


# ---------------------------------------------------------------------------------------------
# IOB1 -> IOB2

def to_iob2(tags):
    """The tags in IOB2: an I-X that starts an entity (as conlleval reads it) becomes B-X."""
    converted = []
    previous_type = None  # the type of the entity the previous tag belongs to
    for tag in tags:
        prefix, entity_type = split_tag(tag)
        if prefix == 'I' and entity_type != previous_type:
            tag = 'B-' + entity_type
        converted.append(tag)
        previous_type = entity_type if prefix != 'O' else None
    return converted


def b_starting_after_outside(tags):
    """Whether a B- tag starts an entity where IOB1 would have written I- (not right after the same type)."""
    previous_type = None
    for tag in tags:
        prefix, entity_type = split_tag(tag)
        if prefix == 'B' and entity_type != previous_type:
            return True
        previous_type = entity_type if prefix != 'O' else None
    return False


def to_iob2_sentences(sentences, path):
    """The sentences with IOB2 tags, saying in the log what was converted.

    A file whose entities all start with I- (B- only between two adjacent entities of
    one type) is IOB1, as the original CoNLL-2003 files are: converting it is expected.
    A file where B- also starts entities, yet some I- starts one too, is IOB2 with
    errors: conlleval reads those I- as starting an entity, so they become B- as well.
    """
    converted, changed, first = [], 0, None
    for sentence in sentences:
        tags = to_iob2(sentence.tags)
        differences = sum(old != new for old, new in zip(sentence.tags, tags, strict=True))
        if differences and first is None:
            first = sentence.where
        changed += differences
        converted.append(sentence._replace(tags=tags))
    if not changed:
        return converted
    if any(b_starting_after_outside(sentence.tags) for sentence in sentences):
        logging.warning("%s: %d I- tag(s) start an entity (first in the sentence at %s) although the file is BIO: "
                        "made them B-, as conlleval reads them", path, changed, first)
    else:
        logging.info("%s: tags are IOB1 (I- starts an entity); converted them to IOB2 (BIO): %d I- tag(s) became B-",
                     path, changed)
    return converted


# ---------------------------------------------------------------------------------------------
# Kaggle's "Annotated Corpus for Named Entity Recognition"

# Windows-1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); Windows itself
# decodes them to the code points of the same value, and so does this table, so that
# reading never fails on them.
_WINDOWS_1252 = ''.join(bytes([byte]).decode('cp1252', errors='ignore') or chr(byte) for byte in range(256))


def decode_csv(data):
    """(text, encoding name): UTF-8 if the bytes are valid UTF-8, else Windows-1252 (the corpus as published)."""
    try:
        return data.decode('utf-8-sig'), 'UTF-8'
    except UnicodeDecodeError:
        # Text in Windows-1252 with any non-ASCII letter is almost never valid UTF-8 by chance.
        return codecs.charmap_decode(data, 'strict', _WINDOWS_1252)[0], 'Windows-1252'


def read_kaggle_csv(path, encoding=None):
    """The sentences of ner_dataset.csv (`Sentence #,Word,POS,Tag`; the number only on a sentence's first word).

    `encoding`: the file's; None: UTF-8 if it is, else Windows-1252 (see decode_csv).
    """
    if encoding is None:
        with open(path, 'rb') as f:
            text, encoding = decode_csv(f.read())
    else:
        text = '\n'.join(read_text_lines(path, encoding=encoding)) + '\n'
    logging.info("Reading %s (%s)", path, encoding)
    reader = csv.reader(io.StringIO(text, newline=''))
    header = next(reader, [])
    if [field.strip().lower() for field in header] != KAGGLE_HEADER:
        raise InputError("{}:1: expected the header 'Sentence #,Word,POS,Tag' of Kaggle's ner_dataset.csv, found "
                         "{!r}".format(path, ','.join(header)))
    sentences, tokens, tags, start = [], [], [], None
    cleaned = []
    for row in reader:
        where = '{}:{}'.format(path, reader.line_num)
        if not any(field.strip() for field in row):
            continue
        if len(row) != 4:
            raise InputError("{}: expected 4 fields (Sentence #,Word,POS,Tag), found {}: a word holding a comma "
                             "must be quoted (\"a,b\")".format(where, len(row)))
        number, word, _, tag = (field.strip() for field in row)
        if number:
            if tokens:
                sentences.append(Sentence(tokens, tags, '{}:{}'.format(path, start)))
            tokens, tags, start = [], [], reader.line_num
        elif start is None:
            raise InputError("{}: the first word has no sentence number: the first column of a sentence's first "
                             "word must say which sentence it starts ('Sentence: 1')".format(where))
        if not word:
            raise InputError("{}: the word (second column) is empty: remove the line or give its word".format(where))
        check_tag(tag, where)
        token = clean_token(word)
        if token != word:
            cleaned.append((where, word))
        tokens.append(token)
        tags.append(tag)
    if tokens:
        sentences.append(Sentence(tokens, tags, '{}:{}'.format(path, start)))
    log_cleaned_tokens(path, cleaned)
    return sentences


def split_in_file_order(sentences, path):
    """{split: sentences}: the first 70% train, the next 15% dev, the last 15% test, as the course split it."""
    count = len(sentences)
    train_end = count * KAGGLE_SPLIT[0] // 100
    dev_end = count * (KAGGLE_SPLIT[0] + KAGGLE_SPLIT[1]) // 100
    if not 0 < train_end < dev_end < count:
        raise InputError("{} holds only {} sentence(s): too few for a 70/15/15 split (a split would be empty)".format(
            path, count))
    logging.info("Split the %d sentences of %s 70/15/15 in file order, as the course did (no shuffling: "
                 "neighbouring sentences come from the same document)", count, path)
    return {'train': sentences[:train_end], 'dev': sentences[train_end:dev_end], 'test': sentences[dev_end:]}


# ---------------------------------------------------------------------------------------------
# The built layout

def split_paths(split_dir):
    return os.path.join(split_dir, SENTENCES), os.path.join(split_dir, LABELS)


def read_split(split_dir, missing_fix, strict=False, encoding=None):
    """The sentences of one split folder in the built layout, checked line by line.

    With `strict`, the files must already be exactly as build_ner_dataset.py writes them
    (single spaces, no byte-order mark), since TensorFlow will split them as they are;
    otherwise any whitespace separates tokens, and writing them back normalises it.
    A missing file is an InputError ending with `missing_fix`. `encoding`: the files' (None: UTF-8).
    """
    sentences_path, labels_path = split_paths(split_dir)
    for path in (sentences_path, labels_path):
        if not os.path.isfile(path):
            raise InputError("No file {}: {}".format(path, missing_fix))
    sentence_lines = read_text_lines(sentences_path, keep_bom=strict, encoding=encoding)
    label_lines = read_text_lines(labels_path, keep_bom=strict, encoding=encoding)
    check_same_line_count(sentences_path, len(sentence_lines), labels_path, len(label_lines))
    if not sentence_lines:
        raise InputError("{} is empty: every split needs at least one sentence".format(sentences_path))
    sentences = []
    for number, (sentence_line, label_line) in enumerate(zip(sentence_lines, label_lines, strict=True), 1):
        tokens, tags = sentence_line.split(), label_line.split()
        if not tokens:
            raise InputError("{}:{}: empty sentence: remove the line, and line {} of {}".format(
                sentences_path, number, number, LABELS))
        if len(tokens) != len(tags):
            raise InputError("{}:{}: {} tag(s) for the {} token(s) of {}:{}: give exactly one tag per token".format(
                labels_path, number, len(tags), len(tokens), SENTENCES, number))
        if strict:
            check_single_spaces(sentences_path, number, sentence_line, tokens)
            check_single_spaces(labels_path, number, label_line, tags)
        for tag in tags:
            check_tag(tag, '{}:{}'.format(labels_path, number))
        sentences.append(Sentence(tokens, tags, '{}:{}'.format(labels_path, number)))
    return sentences


def check_same_line_count(sentences_path, sentence_count, labels_path, label_count):
    if sentence_count != label_count:
        shorter = labels_path if label_count < sentence_count else sentences_path
        raise InputError("{} has {} line(s) but {} has {}: {} ends at line {}; line i of {} must tag line i of "
                         "{}".format(sentences_path, sentence_count, labels_path, label_count, shorter,
                                     min(sentence_count, label_count), LABELS, SENTENCES))


def check_single_spaces(path, number, line, items):
    if line != ' '.join(items) or (number == 1 and line.startswith('\ufeff')):
        raise InputError("{}:{}: tokens must be separated by single spaces (no tabs, no spaces at the ends, no "
                         "byte-order mark): run build_ner_dataset.py --data_dir on this folder to rewrite it".format(
                             path, number))


def write_split(split_dir, sentences):
    """Write sentences.txt and labels.txt of one split (in a new folder: build_ner_dataset.py renames it into place)."""
    os.makedirs(split_dir)
    sentences_path, labels_path = split_paths(split_dir)
    with open(sentences_path, 'w', encoding='utf-8', newline='\n') as f:
        f.writelines(' '.join(sentence.tokens) + '\n' for sentence in sentences)
    with open(labels_path, 'w', encoding='utf-8', newline='\n') as f:
        f.writelines(' '.join(sentence.tags) + '\n' for sentence in sentences)


def is_built_layout(data_dir):
    return any(os.path.isdir(os.path.join(data_dir, split)) for split in SPLITS)


# ---------------------------------------------------------------------------------------------
# Whatever --data_dir holds

LOOKED_FOR = ("train/, dev/ and test/ folders with {} and {}; CoNLL files ({}; {}; {}); or {}".format(
    SENTENCES, LABELS, ', '.join(CONLL_NAMES['train']), ', '.join(CONLL_NAMES['dev']),
    ', '.join(CONLL_NAMES['test']), KAGGLE_NAME))


def load_corpus(data_dir, encoding=None):
    """{split: sentences in IOB2} from what data_dir holds (see LOOKED_FOR), or a path to Kaggle's CSV file.

    `encoding`: the files' (--encoding); None: UTF-8 (Kaggle's CSV: UTF-8 if it is, else Windows-1252).
    """
    encoding = check_encoding(encoding)
    if os.path.isfile(data_dir) and data_dir.lower().endswith('.csv'):
        return load_kaggle(data_dir, encoding)
    if not os.path.isdir(data_dir):
        raise InputError("No folder {}: put your corpus there ({}), or run python build_ner_dataset.py "
                         "--synthetic".format(data_dir, LOOKED_FOR))
    if is_built_layout(data_dir):
        logging.info("Reading the train/dev/test folders of %s", data_dir)
        fix = "every split folder (train/, dev/, test/) needs {} and {}".format(SENTENCES, LABELS)
        return {split: to_iob2_sentences(read_split(os.path.join(data_dir, split), fix, encoding=encoding),
                                         os.path.join(data_dir, split, LABELS))
                for split in SPLITS}
    conll_files = find_conll_files(data_dir)
    if conll_files:
        logging.info("Reading CoNLL files (%s): %s", encoding or 'UTF-8', ', '.join(conll_files.values()))
        return {split: to_iob2_sentences(read_conll(path, encoding), path) for split, path in conll_files.items()}
    kaggle_path = os.path.join(data_dir, KAGGLE_NAME)
    if os.path.isfile(kaggle_path):
        return load_kaggle(kaggle_path, encoding)
    raise InputError("{} holds no NER dataset that this script reads: looked for {}".format(data_dir, LOOKED_FOR))


def load_kaggle(path, encoding=None):
    sentences = to_iob2_sentences(read_kaggle_csv(path, encoding), path)
    return split_in_file_order(sentences, path)
