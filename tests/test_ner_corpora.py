"""ner/corpora.py: the corpus readers (CoNLL, Kaggle's CSV, the built layout) and every message for bad input."""
import logging
import os
import re

import pytest

from build_ner_dataset import build
from helpers import contents
from helpers.ner import BAD_BUILT, SPLITS, TINY_SPLITS, make_built, output, write
from model.core.errors import InputError
from ner.corpora import LOOKED_FOR, decode_csv, load_corpus, to_iob2
from ner.entities import get_entities

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


# ---------------------------------------------------------------------------------------------
# Bad input: one line naming the file (and line) and the fix; nothing on disk lost

@pytest.mark.parametrize('changes, message', BAD_BUILT)
def test_bad_built_folder_messages_and_output_left_byte_identical(tmp_path, changes, message):
    splits = dict(TINY_SPLITS)
    splits.update(changes)
    data = str(tmp_path / 'given')
    for split, (sentences, labels) in splits.items():
        encoding = 'latin-1' if '\xe9' in sentences else 'utf-8'
        write(os.path.join(data, split, 'sentences.txt'), sentences, encoding)
        write(os.path.join(data, split, 'labels.txt'), labels)
    out = make_built(tmp_path / 'NER', TINY_SPLITS)
    write(os.path.join(out, 'words.txt'), '<pad>\nJohn\n')
    before = contents(out)
    with pytest.raises(InputError, match=message):
        build(out, data, overwrite=True)
    assert contents(out) == before
    assert sorted(os.listdir(tmp_path)) == ['NER', 'given']  # no temporary folder left behind


def test_missing_split_file(tmp_path):
    data = make_built(tmp_path / 'given', TINY_SPLITS)
    os.remove(os.path.join(data, 'dev', 'labels.txt'))
    with pytest.raises(InputError, match=r"^No file .*dev/labels\.txt: every split folder \(train/, dev/, test/\) "
                                         r"needs sentences\.txt and labels\.txt$"):
        load_corpus(data)


@pytest.mark.parametrize('files, message', [
    ({'train.txt': 'a O\n', 'test.txt': 'a O\n'},
     r"conll has train\.txt, test\.txt but no dev file \(looked for valid\.txt, dev\.txt, valid\.conll, dev\.conll, "
     r"valid\.tsv, dev\.tsv\): add it, or split off part of the training file$"),
    ({'esp.train': 'a O\n', 'esp.testb': 'a O\n'},
     r"conll has esp\.train, esp\.testb but no dev file \(looked for esp\.testa\): add it, or split off part of the "
     r"training file$"),
    ({'eng.train': 'a O\n', 'eng.testa': 'a O\n', 'eng.testb': 'a O\n', 'deu.train': 'a O\n', 'train.txt': 'a O\n'},
     r"conll holds the files of 3 CoNLL data sets \(train\.txt; deu\.train; eng\.train, eng\.testa, eng\.testb\): keep "
     r"one per folder \(a folder for each language\), then pass that folder as --data_dir$"),
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
     r"test\.txt:2: not valid UTF-8 \(byte 1 of the line is 0xff\): it may be latin-1: pass --encoding latin-1 to "
     r"build_ner_dataset\.py .*, or convert it to UTF-8 first"),
    ({'notes.md': 'hi'}, r"conll holds no NER dataset that this script reads: looked for " + re.escape(LOOKED_FOR) + '$'),
])
def test_bad_conll_folder_messages(tmp_path, files, message):
    for name, text in files.items():
        write(str(tmp_path / 'conll' / name), text, encoding='latin-1' if '\xff' in text else 'utf-8')
    with pytest.raises(InputError, match=message):
        load_corpus(str(tmp_path / 'conll'))


def test_looked_for_lists_every_layout():
    assert LOOKED_FOR == ("train/, dev/ and test/ folders with sentences.txt and labels.txt; CoNLL files (train.txt, "
                          "train.conll, train.tsv, eng.train, deu.train, esp.train, ned.train; valid.txt, dev.txt, "
                          "valid.conll, dev.conll, valid.tsv, dev.tsv, eng.testa, deu.testa, esp.testa, ned.testa; "
                          "test.txt, test.conll, test.tsv, eng.testb, deu.testb, esp.testb, ned.testb); or "
                          "ner_dataset.csv")


def test_no_data_dir(tmp_path):
    with pytest.raises(InputError, match=r"^No folder .*nowhere: put your corpus there \(train/, dev/ .*\), or run "
                                         r"python build_ner_dataset\.py --synthetic$"):
        load_corpus(str(tmp_path / 'nowhere'))


# ---------------------------------------------------------------------------------------------
# The shared tasks' files as they were published: <lang>.train/.testa/.testb, Latin-1

# CoNLL-2002 Spanish: token and tag, IOB2, no -DOCSTART-.
ESP = "La DA O\nEspaña NC B-LOC\nde SP O\nMuñoz NC B-PER\n\nSeñor B-PER\n"
# CoNLL-2002 Dutch: token, POS, tag, -DOCSTART- lines of three columns, IOB2.
NED = "-DOCSTART- -DOCSTART- O\nDe Art O\nbeschuldigde N O\nDünya N B-ORG\n\nZo Adv O\n"
# CoNLL-2003 German: token, lemma, POS, chunk, tag; IOB1.
DEU = "-DOCSTART- -X- -X- -X- O\n\nIn in APPR I-PC O\nKöln Köln NE I-NC I-LOC\nlebt leben VVFIN I-VC O\n"


@pytest.mark.parametrize('language, text, tokens, tags', [
    ('esp', ESP, [['La', 'España', 'de', 'Muñoz'], ['Señor']], [['O', 'B-LOC', 'O', 'B-PER'], ['B-PER']]),
    ('ned', NED, [['De', 'beschuldigde', 'Dünya'], ['Zo']], [['O', 'O', 'B-ORG'], ['O']]),
    ('deu', DEU, [['In', 'Köln', 'lebt']], [['O', 'B-LOC', 'O']]),
])
def test_shared_task_files_as_published_in_latin_1(tmp_path, language, text, tokens, tags):
    for split in ('train', 'testa', 'testb'):
        write(str(tmp_path / 'conll' / '{}.{}'.format(language, split)), text, encoding='latin-1')
    out = str(tmp_path / 'NER')
    build(out, str(tmp_path / 'conll'), encoding='latin-1')
    for split in SPLITS:
        assert output(out, split) == (''.join(' '.join(t) + '\n' for t in tokens),
                                      ''.join(' '.join(t) + '\n' for t in tags))  # written in UTF-8


def test_a_latin_1_file_read_as_utf_8_says_which_encoding_to_try(tmp_path):
    for split in ('train', 'testa', 'testb'):
        write(str(tmp_path / 'conll' / 'esp.{}'.format(split)), ESP, encoding='latin-1')
    with pytest.raises(InputError, match=r"esp\.train:2: not valid UTF-8 \(byte 5 of the line is 0xf1\): it may be "
                                         r"latin-1: pass --encoding latin-1 to build_ner_dataset\.py \(the CoNLL-2002 "
                                         r"files and CoNLL-2003's German ones are Latin-1, as published\), or convert "
                                         r"it to UTF-8 first \(for example: iconv -f latin-1 -t UTF-8 old\.txt > "
                                         r"new\.txt\)$"):
        load_corpus(str(tmp_path / 'conll'))


def test_windows_1252_quotes_suggest_windows_1252_and_a_file_valid_in_neither_is_refused(tmp_path):
    conll = write(str(tmp_path / 'conll' / 'train.txt'), 'a O\n\u201cb\u201d O\n', encoding='cp1252')
    write(str(tmp_path / 'conll' / 'valid.txt'), 'a O\n')
    write(str(tmp_path / 'conll' / 'test.txt'), 'a O\n')
    with pytest.raises(InputError, match=r"train\.txt:2: not valid UTF-8 \(byte 1 of the line is 0x93\): it may be "
                                         r"windows-1252: pass --encoding windows-1252 to build_ner_dataset\.py, or "
                                         r"convert it"):
        load_corpus(str(tmp_path / 'conll'))
    assert load_corpus(str(tmp_path / 'conll'), 'windows-1252')['train'][0].tokens == ['a', '\u201cb\u201d']
    with open(conll, 'ab') as f:
        f.write(b'c\x81 O\n')  # undefined in Windows-1252, and not UTF-8 either
    with pytest.raises(InputError, match=r"train\.txt:3: not valid windows-1252 \(byte 2 of the line is 0x81\): it "
                                         r"may be latin-1: pass --encoding latin-1"):
        load_corpus(str(tmp_path / 'conll'), 'windows-1252')


def test_unknown_encoding_and_the_option_of_the_script(tmp_path):
    data = make_built(tmp_path / 'given', TINY_SPLITS)
    with pytest.raises(InputError, match=r"^Unknown --encoding 'latin-9000': give a Python codec name such as latin-1 "
                                         r"\(the CoNLL-2002 files and CoNLL-2003's German ones are Latin-1, as "
                                         r"published\), windows-1252 or utf-8$"):
        load_corpus(data, 'latin-9000')
    import build_ner_dataset
    args = build_ner_dataset.parser.parse_args(['--data_dir', data, '--encoding', 'latin-1'])
    assert args.encoding == 'latin-1'
    with pytest.raises(InputError, match=r"^--encoding is the encoding of the files in --data_dir: --synthetic reads "
                                         r"none$"):
        build_ner_dataset.main(build_ner_dataset.parser.parse_args(['--synthetic', '--encoding', 'latin-1']))


def test_a_conll_file_whose_tag_is_not_the_last_column_says_where_the_tag_must_be(tmp_path):
    from ner.corpora import read_conll
    path = tmp_path / 'train.txt'
    path.write_text('EU B-ORG NNP\nrejects O VBZ\n\n')
    with pytest.raises(InputError) as raised:
        read_conll(str(path))
    message = str(raised.value)
    assert "train.txt:1: tag 'NNP' is not O, B-TYPE or I-TYPE" in message
    assert "the tag is the last column of each line: column 2 holds 'B-ORG'" in message
