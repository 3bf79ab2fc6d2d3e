"""ner/synthetic.py: the generated data set is deterministic, BIO, and not solved by memorising words."""
import collections
import os
import re
import time

import pytest

from build_ner_dataset import build
from helpers import contents
from helpers.ner import SPLITS
from ner.corpora import to_iob2
from ner.entities import count_entities, get_entities, precision_recall_f1
from ner.synthetic import generate


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
    files = contents(str(tmp_path / 'a'))
    assert files == contents(str(tmp_path / 'b'))
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
