"""Entity-level precision, recall and F1, as CoNLL's conlleval script counts them.

Token accuracy says little in NER: most tokens are `O`, so a model that tags
everything `O` is already "90% accurate". What NER users report is whether each
entity was found with the right type and exactly the right boundaries.

An entity (a "chunk") is read from a tag sequence the way conlleval reads it:
- it starts at `B-X`, at `I-X` after `O`, or at `I-X` after a tag of another type;
- it ends before `O`, before any `B-`, or before a tag of another type.
So IOB1 input (`I-X` starting an entity) and invalid sequences (`I-X` after `O`,
`B-X I-Y`) are read as conlleval reads them, and the scores match `seqeval`'s
default mode, which follows conlleval too (tests/test_entities.py checks it).

Nothing here imports TensorFlow: the evaluation loop calls it on tag strings.
"""

OUTSIDE = 'O'


def split_tag(tag):
    """('B', 'PER') for 'B-PER', ('O', '') for 'O'. The type is all after the first hyphen ('B-geo-loc' is geo-loc)."""
    if tag == OUTSIDE:
        return OUTSIDE, ''
    prefix, hyphen, entity_type = tag.partition('-')
    if prefix not in ('B', 'I') or not hyphen or not entity_type:
        raise ValueError("{!r} is not a BIO tag: expected O, B-TYPE or I-TYPE".format(tag))
    return prefix, entity_type


def get_entities(tags):
    """The entities of one sentence's tags, as a list of (type, start, end) in order.

    `end` is exclusive, as in Python slices: tokens[start:end] are the entity's words.
    Example: ['B-PER', 'I-PER', 'O', 'I-LOC'] -> [('PER', 0, 2), ('LOC', 3, 4)].
    """
    entities = []
    current_type, start = None, None  # the entity being read, if any
    for position, tag in enumerate(tags):
        prefix, entity_type = split_tag(tag)
        # An entity goes on only through I- tags of its own type; anything else closes it.
        continues = current_type is not None and prefix == 'I' and entity_type == current_type
        if continues:
            continue
        if current_type is not None:
            entities.append((current_type, start, position))
            current_type = None
        if prefix != OUTSIDE:  # B-X, or an I-X that could not continue: a new entity either way
            current_type, start = entity_type, position
    if current_type is not None:
        entities.append((current_type, start, len(tags)))
    return entities


def count_entities(gold_tag_seqs, pred_tag_seqs):
    """(correct, predicted, gold) entity counts over sentences, for micro-averaged scores.

    An entity is correct when the prediction has one of the same type, start and end.
    Each argument is a sequence of sentences, each a sequence of tags; the two must
    pair up sentence by sentence with the same lengths.
    """
    correct = predicted = gold = 0
    for gold_tags, pred_tags in _pairs(list(gold_tag_seqs), list(pred_tag_seqs)):
        gold_entities = set(get_entities(gold_tags))
        pred_entities = set(get_entities(pred_tags))
        correct += len(gold_entities & pred_entities)
        predicted += len(pred_entities)
        gold += len(gold_entities)
    return correct, predicted, gold


def _pairs(gold_tag_seqs, pred_tag_seqs):
    """The (gold, predicted) tags of each sentence, checked to pair up."""
    if len(gold_tag_seqs) != len(pred_tag_seqs):
        raise ValueError("{} gold sentences but {} predicted".format(len(gold_tag_seqs), len(pred_tag_seqs)))
    for index, (gold_tags, pred_tags) in enumerate(zip(gold_tag_seqs, pred_tag_seqs, strict=True)):
        if len(gold_tags) != len(pred_tags):
            raise ValueError("sentence {}: {} gold tags but {} predicted".format(index, len(gold_tags), len(pred_tags)))
        yield gold_tags, pred_tags


def entity_types(tag_names):
    """The entity types of a tag set, sorted: ['LOC', 'PER'] for O, B-PER, I-PER, B-LOC, I-LOC."""
    return sorted({split_tag(tag)[1] for tag in tag_names} - {''})


def count_entities_by_type(gold_tag_seqs, pred_tag_seqs, types):
    """[(correct, predicted, gold)] entity counts for each of `types`, as conlleval's table by type gives them.

    They add up to count_entities' totals when `types` holds every type of the tags.
    """
    gold_tag_seqs, pred_tag_seqs = list(gold_tag_seqs), list(pred_tag_seqs)
    counts = {entity_type: [0, 0, 0] for entity_type in types}
    for gold_tags, pred_tags in _pairs(gold_tag_seqs, pred_tag_seqs):
        gold_entities, pred_entities = set(get_entities(gold_tags)), set(get_entities(pred_tags))
        for entities, column in ((gold_entities & pred_entities, 0), (pred_entities, 1), (gold_entities, 2)):
            for entity_type, _, _ in entities:
                counts[entity_type][column] += 1
    return [tuple(counts[entity_type]) for entity_type in types]


def precision_recall_f1(correct, predicted, gold):
    """(precision, recall, F1) from entity counts; a score whose denominator is 0 is 0.

    conlleval and seqeval report 0 there too: a model that predicts no entity has
    precision 0, not "undefined", so it never looks best by accident.
    """
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
