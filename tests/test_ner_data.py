"""The NER data side: corpus readers, the synthetic set, build_vocab.py, and every message for bad input."""
import collections
import json
import logging
import os
import re
import time
from argparse import Namespace

import pytest

import build_ner_dataset
from build_ner_dataset import build
from build_vocab import build_vocab
from helpers import run
from model.core.errors import HANDLER_TAG, InputError, run_script
from ner.corpora import LOOKED_FOR, decode_csv, load_corpus, to_iob2
from ner.entities import count_entities, get_entities, precision_recall_f1
from ner.synthetic import generate

SPLITS = ('train', 'dev', 'test')


def write(path, text, encoding='utf-8'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding=encoding, newline='') as f:
        f.write(text)
    return path


def read(path):
    with open(path, encoding='utf-8', newline='') as f:
        return f.read()


def built_files(folder):
    """{relative path: bytes} of every file under folder."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


def make_built(root, splits):
    """A folder in the built layout from {split: (sentences.txt text, labels.txt text)}."""
    for split, (sentences, labels) in splits.items():
        write(os.path.join(root, split, 'sentences.txt'), sentences)
        write(os.path.join(root, split, 'labels.txt'), labels)
    return str(root)


TINY = {
    'train': ("John lives in New York\nNew York is big .\nJohn saw Mary\n",
              "B-PER O O B-LOC I-LOC\nB-LOC I-LOC O O O\nB-PER O B-PER\n"),
    'dev': ("Mary lives in Paris\n", "B-PER O O B-LOC\n"),
    'test': ("Bob\n", "B-PER\n"),
}


def output(folder, split):
    return read(os.path.join(folder, split, 'sentences.txt')), read(os.path.join(folder, split, 'labels.txt'))


# ---------------------------------------------------------------------------------------------
# CoNLL

CONLL_IOB1 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

In IN B-PP O
Bonn NNP B-NP I-LOC
Paris NNP I-NP B-LOC
Lyon NNP I-NP I-LOC
. . O O
"""


def test_conll_with_pos_and_chunk_columns_iob1_converted(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    for name in ('train.txt', 'valid.txt', 'test.txt'):
        write(str(tmp_path / 'conll' / name), CONLL_IOB1)
    out = str(tmp_path / 'NER')
    stats = build(out, str(tmp_path / 'conll'))
    sentences, labels = output(out, 'train')
    assert sentences == "EU rejects German call .\nPeter Blackburn\nIn Bonn Paris Lyon .\n"
    # "Bonn" and "Paris Lyon" are two adjacent LOC entities: IOB1 marks the second with B-.
    assert labels == "B-ORG O B-MISC O O\nB-PER I-PER\nO B-LOC B-LOC I-LOC O\n"
    assert output(out, 'dev') == output(out, 'test') == (sentences, labels)
    assert stats['train'] == {'sentences': 3, 'tokens': 12, 'entities': {'LOC': 2, 'ORG': 1, 'MISC': 1, 'PER': 1}}
    assert re.search(r"train\.txt: tags are IOB1 \(I- starts an entity\); converted them to IOB2 \(BIO\): "
                     r"4 I- tag\(s\) became B-", caplog.text)


def test_two_column_conll_bio_with_dev_txt(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    conll = "John B-PER\nSmith I-PER\nsmiled O\n\n\n\nHi O\n"
    for name in ('train.txt', 'dev.txt', 'test.txt'):
        write(str(tmp_path / 'conll' / name), conll)
    splits = load_corpus(str(tmp_path / 'conll'))
    assert [s.tokens for s in splits['dev']] == [['John', 'Smith', 'smiled'], ['Hi']]
    assert [s.tags for s in splits['dev']] == [['B-PER', 'I-PER', 'O'], ['O']]
    assert 'IOB1' not in caplog.text and 'made them B-' not in caplog.text


def test_eng_names_crlf_and_bio_errors_repaired(tmp_path, caplog):
    # A BIO file with one I- starting an entity: read as conlleval does, with a warning.
    conll = "-DOCSTART- O\r\n\r\nA B-ORG\r\nb I-ORG\r\nc O\r\nd I-LOC\r\n"
    for name in ('eng.train', 'eng.testa', 'eng.testb'):
        write(str(tmp_path / 'conll' / name), conll)
    splits = load_corpus(str(tmp_path / 'conll'))
    assert splits['test'][0].tags == ['B-ORG', 'I-ORG', 'O', 'B-LOC']
    assert re.search(r"eng\.testa: 1 I- tag\(s\) start an entity \(first in the sentence at .*eng\.testa:3\) although "
                     r"the file is BIO: made them B-, as conlleval reads them", caplog.text)


def test_tab_separated_conll_with_spaces_inside_tokens(tmp_path, caplog):
    conll = "New York\tNNP\tB-LOC\nis\tVBZ\tO\n\xa0big\u00a0deal \tNN\tO\n"
    for name in ('train.conll', 'dev.conll', 'test.conll'):
        write(str(tmp_path / 'conll' / name), conll)
    out = str(tmp_path / 'NER')
    build(out, str(tmp_path / 'conll'))
    assert output(out, 'train') == ("New_York is big_deal\n", "B-LOC O O\n")
    assert re.search(r"train\.conll: 2 token\(s\) held whitespace \(first at .*train\.conll:1: 'New York'\): "
                     r"replaced it by '_' so that tokens stay separated by single spaces", caplog.text)


def test_iob1_to_iob2_cases():
    assert to_iob2(['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC']) == ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
    assert to_iob2(['B-PER', 'I-LOC', 'I-LOC']) == ['B-PER', 'B-LOC', 'I-LOC']
    # The conversion never changes the entities conlleval reads.
    tags = ['I-A', 'B-A', 'I-B', 'O', 'I-A', 'I-A', 'B-B']
    assert get_entities(to_iob2(tags)) == get_entities(tags)


# ---------------------------------------------------------------------------------------------
# Kaggle's CSV

def kaggle_csv(sentences):
    """CSV text in the corpus's format: the sentence number only on a sentence's first word."""
    lines = ['Sentence #,Word,POS,Tag']
    for number, words in enumerate(sentences, 1):
        for index, (word, tag) in enumerate(words):
            lines.append('{},{},NN,{}'.format('Sentence: {}'.format(number) if index == 0 else '', word, tag))
    return '\r\n'.join(lines) + '\r\n'


def test_kaggle_csv_windows_1252_quoted_comma_split_in_file_order(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sentences = [[('Word{}'.format(i), 'O'), ('Paris', 'B-geo')] for i in range(20)]
    sentences[0] = [('Café', 'B-org'), ('"1,000"', 'O'), ('€', 'O'), ('people', 'I-per')]
    path = write(str(tmp_path / 'kaggle' / 'ner_dataset.csv'), kaggle_csv(sentences), encoding='cp1252')
    out = str(tmp_path / 'NER')
    stats = build(out, str(tmp_path / 'kaggle'))
    assert [stats[split]['sentences'] for split in SPLITS] == [14, 3, 3]
    train_sentences, train_labels = output(out, 'train')
    assert train_sentences.split('\n')[:2] == ['Café 1,000 € people', 'Word1 Paris']
    assert train_labels.split('\n')[0] == 'B-org O O B-per'  # I-per after O: made B- as conlleval reads it
    assert output(out, 'test')[0] == 'Word17 Paris\nWord18 Paris\nWord19 Paris\n'
    assert '(Windows-1252)' in caplog.text
    assert 'Split the 20 sentences of {} 70/15/15 in file order, as the course did'.format(path) in caplog.text


def test_windows_1252_bytes_it_leaves_undefined_still_decode():
    assert decode_csv(b'caf\xe9 \x80 \x81') == ('caf\xe9 \u20ac \x81', 'Windows-1252')


def test_kaggle_csv_given_as_a_file_in_utf8(tmp_path):
    sentences = [[('Zürich', 'B-geo')]] * 10
    path = write(str(tmp_path / 'data.csv'), '\ufeff' + kaggle_csv(sentences))
    splits = load_corpus(path)
    assert [len(splits[split]) for split in SPLITS] == [7, 1, 2]
    assert splits['dev'][0].tokens == ['Zürich']


@pytest.mark.parametrize('text, message', [
    ('Sentence,Word,Tag\r\n', r"data\.csv:1: expected the header 'Sentence #,Word,POS,Tag' of Kaggle's "
                              r"ner_dataset\.csv, found 'Sentence,Word,Tag'$"),
    ('Sentence #,Word,POS,Tag\n,the,DT,O\n', r"data\.csv:2: the first word has no sentence number: the first "
                                             r"column of a sentence's first word must say which sentence it starts"),
    ('Sentence #,Word,POS,Tag\nSentence: 1,1,000,CD,O\n', r"data\.csv:2: expected 4 fields \(Sentence #,Word,POS,"
                                                          r"Tag\), found 5: a word holding a comma must be quoted"),
    ('Sentence #,Word,POS,Tag\nSentence: 1,,DT,O\n', r"data\.csv:2: the word \(second column\) is empty"),
    ('Sentence #,Word,POS,Tag\nSentence: 1,a,DT,X-geo\n', r"data\.csv:2: tag 'X-geo' is not O, B-TYPE or I-TYPE"),
    (kaggle_csv([[('a', 'O')]] * 2), r"data\.csv holds only 2 sentence\(s\): too few for a 70/15/15 split "
                                     r"\(a split would be empty\)$"),
])
def test_kaggle_csv_errors(tmp_path, text, message):
    path = write(str(tmp_path / 'data.csv'), text)
    with pytest.raises(InputError, match=message):
        load_corpus(path)


# ---------------------------------------------------------------------------------------------
# A folder already in the built layout

def test_pre_split_folder_is_checked_and_rewritten(tmp_path):
    data = make_built(tmp_path / 'given', {
        'train': ("\ufeffJohn  lives\tin Rome\r\n", "B-PER O O I-LOC\r\n"),
        'dev': ("a b", "O O"),
        'test': ("x\n", "I-PER\n"),
    })
    out = str(tmp_path / 'NER')
    build(out, data)
    assert output(out, 'train') == ("John lives in Rome\n", "B-PER O O B-LOC\n")
    assert output(out, 'dev') == ("a b\n", "O O\n")
    assert output(out, 'test') == ("x\n", "B-PER\n")


def test_overwrite_in_place_replaces_splits_and_drops_the_stale_vocabulary(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = make_built(tmp_path / 'NER', TINY)
    build_vocab(data)
    write(os.path.join(data, 'notes.md'), 'mine')
    with pytest.raises(InputError, match=r'NER already holds a dataset \(.*train is not empty\): pass --overwrite '
                                         r'to replace it, or choose another --output_dir$'):
        build(data, data)
    build(data, data, overwrite=True)
    assert sorted(os.listdir(data)) == ['dev', 'notes.md', 'test', 'train']
    assert output(data, 'train') == TINY['train']
    assert 'Removed the vocabulary of the replaced dataset (words.txt, tags.txt, chars.txt, dataset_params.json): ' \
           'run build_vocab.py again' in caplog.text
    assert not [name for name in os.listdir(tmp_path) if name.startswith('.building-')]


# ---------------------------------------------------------------------------------------------
# Bad input: one line naming the file (and line) and the fix; nothing on disk lost

BAD_BUILT = [
    ({'train': ("a b\nc\nd\n", "O O\nO\n")},
     r"train/sentences\.txt has 3 line\(s\) but .*train/labels\.txt has 2: .*train/labels\.txt ends at line 2; "
     r"line i of labels\.txt must tag line i of sentences\.txt$"),
    ({'train': ("a b\nc d e\n", "O O\nO O\n")},
     r"train/labels\.txt:2: 2 tag\(s\) for the 3 token\(s\) of sentences\.txt:2: give exactly one tag per token$"),
    ({'train': ("a b\n", "O S-PER\n")},
     r"train/labels\.txt:1: tag 'S-PER' is not O, B-TYPE or I-TYPE: use BIO tags \(IOBES tags such as E-X and S-X "
     r"must be converted to B-X and I-X first\)$"),
    ({'dev': ("", "")}, r"dev/sentences\.txt is empty: every split needs at least one sentence$"),
    ({'train': ("a\n\nb\n", "O\n\nO\n")},
     r"train/sentences\.txt:2: empty sentence: remove the line, and line 2 of labels\.txt$"),
    ({'test': ("a\ncaf\xe9 x\n", "O\nO O\n")},
     r"test/sentences\.txt:2: not valid UTF-8 \(byte 4 of the line is 0xe9\): convert it to UTF-8 first \(for example:"
     r" iconv -f <its encoding> -t UTF-8 old\.txt > new\.txt\)$"),
]


@pytest.mark.parametrize('changes, message', BAD_BUILT)
def test_bad_built_folder_messages_and_output_left_byte_identical(tmp_path, changes, message):
    splits = dict(TINY)
    splits.update(changes)
    data = str(tmp_path / 'given')
    for split, (sentences, labels) in splits.items():
        encoding = 'latin-1' if '\xe9' in sentences else 'utf-8'
        write(os.path.join(data, split, 'sentences.txt'), sentences, encoding)
        write(os.path.join(data, split, 'labels.txt'), labels)
    out = make_built(tmp_path / 'NER', TINY)
    write(os.path.join(out, 'words.txt'), '<pad>\nJohn\n')
    before = built_files(out)
    with pytest.raises(InputError, match=message):
        build(out, data, overwrite=True)
    assert built_files(out) == before
    assert sorted(os.listdir(tmp_path)) == ['NER', 'given']  # no temporary folder left behind


def test_missing_split_file(tmp_path):
    data = make_built(tmp_path / 'given', TINY)
    os.remove(os.path.join(data, 'dev', 'labels.txt'))
    with pytest.raises(InputError, match=r"^No file .*dev/labels\.txt: every split folder \(train/, dev/, test/\) "
                                         r"needs sentences\.txt and labels\.txt$"):
        load_corpus(data)


@pytest.mark.parametrize('files, message', [
    ({'train.txt': 'a O\n', 'test.txt': 'a O\n'},
     r"conll has train\.txt, test\.txt but no dev file \(looked for valid\.txt, dev\.txt, .*eng\.testa\): add it, "
     r"or split off part of the training file$"),
    ({'train.txt': 'a NN\tO\nb\n', 'valid.txt': 'a O\n', 'test.txt': 'a O\n'},
     r"train\.txt:2: expected a token and its tag \(the last column\), found 'b': separate the columns by spaces or "
     r"tabs, and sentences by a blank line$"),
    ({'train.txt': 'a O\n', 'valid.txt': '\nx B-PER\ny PER\n', 'test.txt': 'a O\n'},
     r"valid\.txt:3: tag 'PER' is not O, B-TYPE or I-TYPE"),
    ({'train.txt': 'a O\n', 'valid.txt': '-DOCSTART- -X- O\n\n', 'test.txt': 'a O\n'},
     r"valid\.txt holds no sentence: expected one token per line with its tag in the last column$"),
    ({'train.txt': 'a O\n', 'valid.txt': '\tO\n', 'test.txt': 'a O\n'},
     r"valid\.txt:1: the token \(first column\) is empty: remove the line or give its word$"),
    ({'train.txt': 'a O\n', 'valid.txt': 'a O\n', 'test.txt': 'a O\n\xff O\n'},
     r"test\.txt:2: not valid UTF-8 \(byte 1 of the line is 0xff\): convert it to UTF-8 first"),
    ({'notes.md': 'hi'}, r"conll holds no NER dataset that this script reads: looked for " + re.escape(LOOKED_FOR) + '$'),
])
def test_bad_conll_folder_messages(tmp_path, files, message):
    for name, text in files.items():
        write(str(tmp_path / 'conll' / name), text, encoding='latin-1' if '\xff' in text else 'utf-8')
    with pytest.raises(InputError, match=message):
        load_corpus(str(tmp_path / 'conll'))


def test_looked_for_lists_every_layout():
    assert LOOKED_FOR == ("train/, dev/ and test/ folders with sentences.txt and labels.txt; CoNLL files (train.txt, "
                          "train.conll, train.tsv, eng.train; valid.txt, dev.txt, valid.conll, dev.conll, valid.tsv, "
                          "dev.tsv, eng.testa; test.txt, test.conll, test.tsv, eng.testb); or ner_dataset.csv")


def test_no_data_dir(tmp_path):
    with pytest.raises(InputError, match=r"^No folder .*nowhere: put your corpus there \(train/, dev/ .*\), or run "
                                         r"python build_ner_dataset\.py --synthetic$"):
        load_corpus(str(tmp_path / 'nowhere'))


def test_script_refuses_both_or_neither_source(capsys):
    # A script run earlier in this process (train.main) may have left its log handlers: the error
    # would go to them; this script, run as a user runs it, has none.
    for handler in [h for h in logging.getLogger().handlers if getattr(h, HANDLER_TAG, False)]:
        logging.getLogger().removeHandler(handler)
        handler.close()
    for args in (Namespace(synthetic=True, data_dir='data/conll', output_dir='x', overwrite=False),
                 Namespace(synthetic=False, data_dir=None, output_dir='x', overwrite=False)):
        with pytest.raises(SystemExit) as exit_info:
            run_script(build_ner_dataset.main, args)
        assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("Error: Pass either --data_dir (the folder with your corpus) or "
                                         "--synthetic (a generated dataset)\n") == 2


# ---------------------------------------------------------------------------------------------
# The synthetic set

@pytest.fixture(scope='module')
def synthetic():
    start = time.perf_counter()
    splits = generate()
    return splits, time.perf_counter() - start


def entity_names(sentences):
    return [(kind, ' '.join(s.tokens[start:end])) for s in sentences for kind, start, end in get_entities(s.tags)]


def test_synthetic_is_deterministic(tmp_path):
    # (No time is asserted: the machine is shared; generating it takes about 0.2 s alone.)
    build(str(tmp_path / 'a'), synthetic=True)
    build(str(tmp_path / 'b'), synthetic=True)
    files = built_files(str(tmp_path / 'a'))
    assert files == built_files(str(tmp_path / 'b'))
    assert [files[os.path.join(split, 'sentences.txt')].count(b'\n') for split in SPLITS] == [3000, 600, 600]


def test_synthetic_sizes_can_be_shrunk_for_tests(tmp_path):
    stats = build(str(tmp_path / 'NER'), synthetic=True, synthetic_sizes=(30, 5, 4))
    assert [stats[split]['sentences'] for split in SPLITS] == [30, 5, 4]


def test_synthetic_is_bio_with_the_four_types(synthetic):
    splits, _ = synthetic
    for sentences in splits.values():
        for sentence in sentences:
            assert len(sentence.tokens) == len(sentence.tags)
            assert to_iob2(sentence.tags) == sentence.tags
            assert all(token and not re.search(r'\s', token) for token in sentence.tokens)
    assert {kind for kind, _ in entity_names(splits['train'])} == {'PER', 'LOC', 'ORG', 'MISC'}


def test_synthetic_dev_and_test_names_mostly_unseen_in_train(synthetic):
    splits, _ = synthetic
    seen = set(entity_names(splits['train']))
    for split in ('dev', 'test'):
        names = entity_names(splits[split])
        unseen = sum(name not in seen for name in names) / len(names)
        assert 0.6 < unseen < 0.85, (split, unseen)  # mostly new, yet some names recur, as in news


def test_synthetic_is_not_solved_by_memorising_words(synthetic):
    """Tagging each word with its most frequent training tag (O if unseen) scores low on dev."""
    splits, _ = synthetic
    tag_counts = collections.defaultdict(collections.Counter)
    for sentence in splits['train']:
        for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
            tag_counts[token][tag] += 1
    predicted = [[tag_counts[token].most_common(1)[0][0] if token in tag_counts else 'O' for token in sentence.tokens]
                 for sentence in splits['dev']]
    _, _, f1 = precision_recall_f1(*count_entities([s.tags for s in splits['dev']], predicted))
    assert f1 < 0.45


def test_synthetic_words_change_role_with_context(synthetic):
    splits, _ = synthetic
    roles = collections.defaultdict(set)
    for sentence in splits['train']:
        for token, tag in zip(sentence.tokens, sentence.tags, strict=True):
            roles[token].add(tag)
    assert {'B-PER', 'B-LOC'} <= roles['Jordan']
    assert {'B-ORG', 'O'} <= roles['Apple']
    assert {'B-PER', 'O'} <= roles['May']            # a woman and a month
    assert {'B-LOC', 'O'} <= roles['Reading']        # a town and a sentence's first word
    # Generated surnames are persons in some sentences and inside organisations in others.
    shared = [token for token, tags in roles.items() if {'B-PER', 'B-ORG'} <= tags and token not in ('Ford', 'Jordan')]
    assert len(shared) > 10


def test_synthetic_has_multi_token_entities(synthetic):
    splits, _ = synthetic
    entities = [(kind, end - start) for s in splits['train'] for kind, start, end in get_entities(s.tags)]
    assert sum(length > 1 for _, length in entities) / len(entities) > 0.3
    assert {kind for kind, length in entities if length > 1} == {'PER', 'LOC', 'ORG', 'MISC'}
    assert max(length for _, length in entities) >= 4
    # "University of X": a lower-case word inside an entity.
    assert any(token == 'of' and tag == 'I-ORG' for s in splits['train'] for token, tag in zip(s.tokens, s.tags, strict=True))


# ---------------------------------------------------------------------------------------------
# build_vocab.py

def test_build_vocab_exact_outputs(tmp_path):
    data = make_built(tmp_path / 'NER', TINY)
    params = build_vocab(data)
    lines = lambda name: read(os.path.join(data, name)).split('\n')[:-1]
    # Train words only ("Paris" and "Bob" are dev/test words), most frequent first, ties by first appearance.
    assert lines('words.txt') == ['<pad>', 'John', 'New', 'York', 'lives', 'in', 'is', 'big', '.', 'saw', 'Mary']
    assert lines('tags.txt') == ['O', 'B-LOC', 'B-PER', 'I-LOC']
    assert lines('chars.txt') == ['<pad>', 'o', 'i', 'n', 'e', 's', 'w', 'r', 'J', 'h', 'N', 'Y', 'k', 'a',
                                  'l', 'v', 'b', 'g', '.', 'M', 'y']
    expected = {'train_size': 3, 'dev_size': 1, 'test_size': 1, 'vocab_size': 12, 'number_of_tags': 4,
                'char_vocab_size': 22, 'pad_word': '<pad>', 'pad_tag': 'O', 'num_oov_buckets': 1}
    assert params == expected
    with open(os.path.join(data, 'dataset_params.json')) as f:
        assert json.load(f) == expected
    assert sorted(name for name in os.listdir(data) if name.startswith('.')) == []


def test_build_vocab_min_counts(tmp_path):
    data = make_built(tmp_path / 'NER', dict(TINY, test=("Bob\n", "B-LOC\n")))
    params = build_vocab(data, min_count_word=2)
    assert read(os.path.join(data, 'words.txt')) == '<pad>\nJohn\nNew\nYork\n'
    assert read(os.path.join(data, 'chars.txt')) == '<pad>\no\nJ\nh\nn\nN\ne\nw\nY\nr\nk\n'
    assert params['vocab_size'] == 5 and params['char_vocab_size'] == 12
    with pytest.raises(InputError, match=r"train/labels\.txt:1: tag 'B-LOC' is not in tags\.txt: it occurs 2 time\(s\) "
                                         r"in train, fewer than --min_count_tag 3: lower --min_count_tag, or merge the "
                                         r"type into another$"):
        build_vocab(data, min_count_tag=3)
    with pytest.raises(InputError, match=r"^--min_count_word and --min_count_tag must be at least 1$"):
        build_vocab(data, min_count_word=0)


def test_build_vocab_unknown_dev_tag_leaves_the_old_vocabulary(tmp_path):
    data = make_built(tmp_path / 'NER', TINY)
    build_vocab(data)
    before = built_files(data)
    write(os.path.join(data, 'dev', 'labels.txt'), "B-PER O O B-art\n")
    with pytest.raises(InputError, match=r"dev/labels\.txt:1: tag 'B-art' is not in tags\.txt: it never occurs in "
                                         r"train/labels\.txt, and every tag must: move sentences with it into train, "
                                         r"or merge the type into another$"):
        build_vocab(data)
    after = built_files(data)
    del before[os.path.join('dev', 'labels.txt')], after[os.path.join('dev', 'labels.txt')]
    assert after == before


def test_build_vocab_missing_data(tmp_path):
    with pytest.raises(InputError, match=r"^No folder .*nowhere: run build_ner_dataset\.py first \(python "
                                         r"build_ner_dataset\.py --synthetic, or --data_dir with your corpus\)$"):
        build_vocab(str(tmp_path / 'nowhere'))
    data = make_built(tmp_path / 'NER', {'train': TINY['train'], 'test': TINY['test']})
    with pytest.raises(InputError, match=r"^No file .*dev/sentences\.txt: run build_ner_dataset\.py first"):
        build_vocab(data)


@pytest.mark.parametrize('changes, message', BAD_BUILT + [
    ({'dev': ("Mary  lives in Paris\n", "B-PER O O B-LOC\n")},
     r"dev/sentences\.txt:1: tokens must be separated by single spaces \(no tabs, no spaces at the ends, no "
     r"byte-order mark\): run build_ner_dataset\.py --data_dir on this folder to rewrite it$"),
    ({'train': ("\ufeffJohn\n", "B-PER\n")}, r"train/sentences\.txt:1: tokens must be separated by single spaces"),
])
def test_build_vocab_checks_the_files(tmp_path, changes, message):
    data = str(tmp_path / 'NER')
    for split, (sentences, labels) in dict(TINY, **changes).items():
        write(os.path.join(data, split, 'sentences.txt'), sentences, 'latin-1' if '\xe9' in sentences else 'utf-8')
        write(os.path.join(data, split, 'labels.txt'), labels)
    with pytest.raises(InputError, match=message):
        build_vocab(data)
    assert not os.path.exists(os.path.join(data, 'words.txt'))


@pytest.mark.slow
def test_scripts_as_a_user_runs_them(tmp_path):
    out = str(tmp_path / 'NER')
    result = run('build_ner_dataset.py', '--synthetic', '--output_dir', out)
    assert re.search(r"- train: 3000 sentences, \d+ tokens, \d+ entities \(LOC \d+, ORG \d+, PER \d+, MISC \d+\)\n"
                     r"- dev: 600 sentences.*\n- test: 600 sentences.*\n"
                     r"Wrote 3000 train, 600 dev and 600 test sentences to .*NER\n", result.stderr)
    result = run('build_vocab.py', '--data_dir', out)
    assert '- number_of_tags: 9\n' in result.stderr
    result = run('build_ner_dataset.py', '--synthetic', '--output_dir', out, check=False)
    assert result.returncode == 2
    assert result.stderr == "Error: {} already holds a dataset ({} is not empty): pass --overwrite to replace it, " \
                            "or choose another --output_dir\n".format(out, os.path.join(out, 'train'))
