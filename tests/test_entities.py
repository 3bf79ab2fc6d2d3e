"""ner/entities.py: chunks and scores as conlleval counts them, checked against seqeval."""
import random
import warnings

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities as seqeval_entities

from ner.entities import count_entities, get_entities, precision_recall_f1, split_tag

# Types include one with a hyphen: conlleval's type is everything after the first one.
TAGS = ['O', 'O', 'O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-geo-loc', 'I-geo-loc']


def random_tags(rng, length):
    """Any sequence at all, invalid ones included (I-X after O, B-X I-Y, I-X I-Y)."""
    return [rng.choice(TAGS) for _ in range(length)]


def seqeval_scores(gold, pred):
    with warnings.catch_warnings():  # seqeval warns when a denominator is 0, then returns 0
        warnings.simplefilter('ignore')
        return precision_score(gold, pred), recall_score(gold, pred), f1_score(gold, pred)


@pytest.mark.parametrize('tags, expected', [
    (['B-PER', 'I-PER', 'O', 'B-LOC'], [('PER', 0, 2), ('LOC', 3, 4)]),
    (['I-PER', 'I-PER', 'O'], [('PER', 0, 2)]),                       # IOB1: I- starts an entity
    (['I-LOC', 'I-LOC', 'B-LOC', 'I-LOC'], [('LOC', 0, 2), ('LOC', 2, 4)]),  # IOB1: B- splits two of one type
    (['O', 'I-PER', 'I-PER'], [('PER', 1, 3)]),                       # I- after O starts one
    (['B-PER', 'I-LOC', 'I-LOC'], [('PER', 0, 1), ('LOC', 1, 3)]),    # B-X I-Y: two entities
    (['B-PER', 'B-PER'], [('PER', 0, 1), ('PER', 1, 2)]),
    (['I-PER', 'I-LOC', 'I-PER'], [('PER', 0, 1), ('LOC', 1, 2), ('PER', 2, 3)]),
    (['O', 'O'], []),
    ([], []),
    (['B-geo-loc', 'I-geo-loc'], [('geo-loc', 0, 2)]),
])
def test_get_entities_hand_cases(tags, expected):
    assert get_entities(tags) == expected


def test_get_entities_matches_seqeval_on_random_sequences():
    rng = random.Random(0)
    for _ in range(3000):
        tags = random_tags(rng, rng.randint(0, 12))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            expected = [(kind, start, end + 1) for kind, start, end in seqeval_entities(tags)]  # seqeval's end is inclusive
        assert get_entities(tags) == expected, tags


def test_scores_match_seqeval_on_random_corpora():
    rng = random.Random(1)
    for _ in range(300):
        lengths = [rng.randint(0, 10) for _ in range(rng.randint(1, 6))]
        gold = [random_tags(rng, n) for n in lengths]
        # Predictions near the gold tags (many exact hits) as well as far from them.
        pred = [[tag if rng.random() < 0.7 else rng.choice(TAGS) for tag in sentence] for sentence in gold]
        ours = precision_recall_f1(*count_entities(gold, pred))
        assert ours == pytest.approx(seqeval_scores(gold, pred)), (gold, pred)


def test_exact_counts_by_hand():
    gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['O', 'B-ORG', 'I-ORG', 'I-ORG']]
    pred = [['B-PER', 'I-PER', 'O', 'B-ORG'],   # PER right; LOC predicted as ORG: wrong type
            ['O', 'B-ORG', 'I-ORG', 'O']]       # ORG one token short: wrong boundary
    assert count_entities(gold, pred) == (1, 3, 3)
    assert precision_recall_f1(1, 3, 3) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    # Same entity read from IOB1 in the gold and IOB2 in the prediction: correct.
    assert count_entities([['I-PER', 'I-PER']], [['B-PER', 'I-PER']]) == (1, 1, 1)
    # Entity counts are per sentence: the same span in two sentences is two entities.
    assert count_entities([['B-LOC'], ['B-LOC']], [['B-LOC'], ['O']]) == (1, 1, 2)


def test_zero_denominators_give_zero():
    assert precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(0, 0, 5) == (0.0, 0.0, 0.0)   # nothing predicted
    assert precision_recall_f1(0, 4, 0) == (0.0, 0.0, 0.0)   # nothing to find
    assert precision_recall_f1(2, 2, 2) == (1.0, 1.0, 1.0)


def test_mismatched_input_is_refused():
    with pytest.raises(ValueError, match='2 gold sentences but 1 predicted'):
        count_entities([['O'], ['O']], [['O']])
    with pytest.raises(ValueError, match='sentence 0: 2 gold tags but 1 predicted'):
        count_entities([['O', 'O']], [['O']])
    for bad in ('E-PER', 'B-', 'PER', 'b-PER', ''):
        with pytest.raises(ValueError, match='not a BIO tag'):
            split_tag(bad)


def seqeval_report(gold, pred, mode=None, scheme=None):
    from seqeval.metrics import classification_report
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return classification_report(gold, pred, output_dict=True, mode=mode, scheme=scheme, zero_division=0)


@pytest.mark.parametrize('seed', range(5))
def test_counts_by_type_give_seqeval_s_classification_report(seed):
    """Random sequences (invalid ones too): each type's precision, recall, F1 and support equal seqeval's."""
    from model.core.reports import ratios
    from ner.entities import count_entities_by_type, entity_types
    rng = random.Random(seed)
    gold = [random_tags(rng, rng.randint(1, 12)) for _ in range(40)]
    pred = [random_tags(rng, len(tags)) for tags in gold]
    types = entity_types(TAGS)
    assert types == ['LOC', 'PER', 'geo-loc']
    counts = count_entities_by_type(gold, pred, types)
    expected = seqeval_report(gold, pred)
    for entity_type, (correct, predicted, gold_count) in zip(types, counts, strict=True):
        precision, recall, f1 = (float(x) for x in ratios(correct, predicted, gold_count))
        row = expected[entity_type]
        assert (precision, recall, f1) == pytest.approx((row['precision'], row['recall'], row['f1-score']))
        assert gold_count == row['support']
    # The types add up to the totals.
    assert tuple(map(sum, zip(*counts, strict=True))) == count_entities(gold, pred)


def test_counts_by_type_equal_seqeval_strict_mode_on_valid_iob2_tags():
    """On valid IOB2 sequences conlleval's reading and seqeval's strict IOB2 mode agree, type by type."""
    from seqeval.scheme import IOB2

    from model.core.reports import ratios
    from ner.entities import count_entities_by_type
    gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['B-LOC', 'O', 'B-PER'], ['O', 'B-ORG', 'I-ORG', 'I-ORG']]
    pred = [['B-PER', 'O', 'O', 'B-LOC'], ['B-LOC', 'O', 'B-PER'], ['O', 'B-ORG', 'I-ORG', 'I-ORG']]
    types = ['LOC', 'ORG', 'PER']
    expected = seqeval_report(gold, pred, mode='strict', scheme=IOB2)
    for entity_type, counts in zip(types, count_entities_by_type(gold, pred, types), strict=True):
        precision, recall, f1 = (float(x) for x in ratios(*counts))
        row = expected[entity_type]
        assert (precision, recall, f1) == pytest.approx((row['precision'], row['recall'], row['f1-score']))
        assert counts[2] == row['support']
