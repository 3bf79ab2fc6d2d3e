"""A generated NER dataset (PER, LOC, ORG, MISC in BIO) for trying the example without a download.

`python build_ner_dataset.py --synthetic` writes it. Sentences come from about
sixty news-like templates whose slots are filled with names. It is built so that
memorising words does not solve it:

- Names are made of syllables ("Morvask", "Telbrino Corp", "New Dravica") and each
  kind of name (first names, surnames, cities, countries, companies) is drawn from
  a pool split in four: a small part shared by all splits (the "famous" names that
  every news corpus repeats) and one part each for train, dev and test. Most dev and
  test entities were therefore never seen in training (tests/test_ner_data.py
  measures it), and a model must tag them from their context, their casing and
  their spelling.
- Some words are an entity in one sentence and not in another, or of another type:
  "Jordan" is a person, a country and (as "Jordanian") a MISC; "Apple" is a company
  in "Apple shares fell" and nothing in "Apple harvests fell"; "May" is a woman and
  a month (months are O, as in CoNLL-2003); "Reading", "Will", "Bill", "Hope"...
  start sentences as common words; surnames and cities reappear inside
  organisations ("Brandt Holdings", "University of Tarvel", with "of" as I-ORG).
- Entities span one to four tokens (first and last names, "Dr. X" with the title
  outside, "New X", "Lake X", "X Y Corp", "Bank of X", "X Open").
- About one sentence in twenty is an all-capitals headline, so that casing is a
  strong cue but not a perfect one.

What it can show: that the pipeline runs end to end; whether a model generalises
to unseen names from context and characters, or only memorises (a word-lookup
baseline scores far below a model that reads context); that entity F1, not token
accuracy, tracks that. What it cannot show: how a model does on real text. The
vocabulary is small, the templates repeat, sentences are short and every context
cue is local, so scores here run far above those on CoNLL-2003 or the Kaggle
corpus and say nothing about them; nor does it hold real annotation noise.

Deterministic: the same seed gives the same sentences, byte for byte.
"""
import random

from model.core.params import SEED
from ner.corpora import Sentence

# Share of each name pool used in every split; the rest is split 70/15/15 into train/dev/test.
SHARED_NAMES = 0.08
SPLIT_SHARES = {'train': 0.70, 'dev': 0.15, 'test': 0.15}
# Share of sentences written as all-capitals headlines.
HEADLINE_RATE = 0.05

SYLLABLES = ('ka', 'lo', 'ver', 'min', 'ta', 'bri', 'sor', 'den', 'vel', 'mar', 'ro', 'gan', 'tu', 'lis',
             'pe', 'dra', 'no', 'sha', 'quin', 'bel', 'zor', 'fi', 'han', 'mo', 'ter', 'vin', 'do', 'ra',
             'ste', 'lu', 'gor', 'ni', 'pa', 'rek', 'sel', 'tam', 'vo', 'wen', 'xa', 'yel', 'bo', 'cal',
             'dun', 'e', 'har', 'i', 'jas', 'kor', 'a', 'mun', 'o', 'pri', 'sken', 'tol', 'u', 'vask')

# How each kind of name is made: (how many, syllables from, to, endings to pick from).
NAME_KINDS = {
    'first': (400, 1, 2, ('a', 'o', 'en', 'ia', 'el', 'us', 'ine', 'an', '')),
    'surname': (900, 2, 3, ('son', 'ski', 'ov', 'ez', 'ani', 'berg', 'er', 'ton', '', '')),
    'city': (600, 1, 2, ('ford', 'burg', 'ville', 'grad', 'ton', 'polis', 'mouth', 'a', 'en', 'or')),
    'country_stem': (240, 1, 2, ('', '')),
    'company': (500, 1, 2, ('tex', 'ix', 'ora', 'on', 'ware', 'co', 'is', 'ent')),
}
# Country = stem + ending; its people and things are stem + the paired adjective ending (MISC).
COUNTRY_ENDINGS = (('ia', 'ian'), ('land', 'ish'), ('stan', 'i'), ('ora', 'oran'), ('ay', 'ayan'))

# Real words that are names in some sentences and not in others (shared by every split).
AMBIGUOUS = {
    'first': ('Jordan', 'Paris', 'Georgia', 'Chelsea', 'Florence', 'Victoria', 'Rose', 'Will', 'Bill',
              'May', 'Mark', 'Summer', 'Hope', 'Grace'),
    'surname': ('Washington', 'Ford', 'Bush', 'Jordan', 'Young', 'Black', 'Price', 'Rich'),
    'city': ('Paris', 'Florence', 'Victoria', 'Washington', 'Reading', 'Nice', 'Bath'),
    'country': (('Jordan', 'Jordanian'), ('Georgia', 'Georgian'), ('Turkey', 'Turkish'), ('China', 'Chinese'),
                ('Chad', 'Chadian')),
    'company': ('Apple', 'Amazon', 'Shell', 'Ford', 'Orange', 'Target'),
}
# How often a slot takes one of the ambiguous real words instead of a generated name.
AMBIGUOUS_RATE = 0.12

TITLES = ('Mr.', 'Mrs.', 'Ms.', 'Dr.', 'President', 'Minister', 'coach', 'Senator')
COMPANY_SUFFIXES = ('Corp', 'Inc', 'Group', 'Holdings', 'Airlines', 'Bank', 'Motors', 'Ltd', 'Systems')
EVENT_WORDS = ('Open', 'Cup', 'Games', 'Marathon', 'Festival', 'Grand Prix')
DAYS = ('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday')
MONTHS = ('January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
          'November', 'December')

# Templates: tokens separated by spaces; {SLOT} is filled by the function of that name in SLOTS;
# word|TYPE is a one-word entity written out; other literal words are O. The first group are the sentences where an ambiguous word is not an entity.
TEMPLATES = (
    "Prices rose {PCT} in {MONTH} , the {ORG} said on {DAY} .",
    "Apple harvests in {COUNTRY} fell {PCT} after a dry summer .",
    "Apple|ORG shares fell {PCT} on {DAY} after the company cut its forecast .",
    "Reading the report , {PER} said the bill would pass in {MONTH} .",
    "Will {PER} attend the {EVENT} in {CITY} ?",
    "May {DATE} was the hottest day on record in {CITY} .",
    "The bill may reach {ORG} before {MONTH} , {PER} said .",
    "Shell casings were found near the border with {COUNTRY} , police said .",
    "Target prices for {COMPANY} shares were cut to {NUM} dollars .",
    "Hope is fading for the {NUM} miners trapped near {CITY} .",
    "Black smoke rose over {CITY} on {DAY} .",
    "Young voters in {COUNTRY} backed {PER} by a wide margin .",
    "Nice weather helped farmers in {LOC} , the {NAT} ministry said .",
    "Summer rains flooded {NUM} villages in {COUNTRY} .",
    "Rich countries pledged {NUM} million dollars to {COUNTRY} , {PER} said .",
    "Farmers sold {NUM} tonnes of apples and china to buyers from {CITY} .",
    "A turkey farm near {CITY} was closed by {ORG} .",
    "Mark the date : the {EVENT} opens in {CITY} on {DAY} .",
    "Grace periods for loans from {ORG} end in {MONTH} .",
    "Price controls in {COUNTRY} will end on {DAY} , {PER} said .",
    # Entities in context.
    "{PER} , who heads {ORG} , arrived in {CITY} on {DAY} .",
    "{PER} said on {DAY} that {ORG} would open an office in {LOC} .",
    "{ORG} chief executive {PER} told reporters the deal was worth {NUM} million dollars .",
    "The {NAT} government said talks with {COUNTRY} would resume in {MONTH} .",
    "{COUNTRY} and {COUNTRY} signed a trade agreement in {CITY} on {DAY} .",
    "{PER} of {COUNTRY} won the {EVENT} in {CITY} .",
    "{CLUB} beat {CLUB} {SCORE} on {DAY} .",
    "{CLUB} drew {DRAW} with {CLUB} in {CITY} .",
    "Police in {CITY} arrested {NUM} people after protests against {ORG} .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "Shares in {COMPANY} rose {PCT} after {PER} joined the board .",
    "{COMPANY} agreed to buy {ORG} for {NUM} million dollars .",
    "The {NAT} team arrived in {CITY} for the {EVENT} .",
    "{PER} met {PER} in {CITY} to discuss the crisis in {COUNTRY} .",
    "Floods in {LOC} forced {NUM} families from their homes , {ORG} said .",
    "{PER} studied at {UNIVERSITY} before joining {ORG} .",
    "{UNIVERSITY} will host the {EVENT} in {YEAR} .",
    "A {NAT} court in {CITY} sentenced {PER} to {NUM} years in prison .",
    "{ORG} opened a factory near {CITY} , creating {NUM} jobs .",
    "{PER} told {NAT} radio that {COUNTRY} would not change its policy .",
    "Talks between {ORG} and {ORG} broke down in {CITY} on {DAY} .",
    "{SURNAME} , {NUM} , has played for {CLUB} since {YEAR} .",
    "In {CITY} , {PER} opened the {EVENT} in front of {NUM} people .",
    "Exports from {COUNTRY} to {LOC} grew {PCT} last year .",
    "{PER} and {PER} will lead the {NAT} delegation .",
    "Investors sold {COMPANY} and bought {COMPANY} , traders in {CITY} said .",
    "{PER} was born in {CITY} , {COUNTRY} , in {YEAR} .",
    "The {NAT} and {NAT} ministers met on {DAY} .",
    "Rain delayed the start of the {EVENT} in {CITY} .",
    "{ORG} said its profit rose {PCT} in the year to {MONTH} .",
    "Jordan|LOC said {COUNTRY} would send {NUM} soldiers to the border .",
    "Jordan|PER scored {NUM} points as {CLUB} won in {CITY} .",
    "{PER} visited Jordan|LOC and {COUNTRY} in {MONTH} .",
    "Ford|ORG will build a plant in {LOC} , {PER} said .",
    "{PER} drove a Ford|ORG to {CITY} .",
    "Residents of {LOC} voted against the plan , {PER} said .",
    "The central bank of {COUNTRY} held rates at {PCT} .",
)
# Headlines are written in capitals (as wire services do): casing cannot be the only cue.
HEADLINES = (
    "SOCCER - {CLUB} BEAT {CLUB} {SCORE} .",
    "{COUNTRY} SAYS TALKS WITH {COUNTRY} TO RESUME .",
    "{SURNAME} WINS {EVENT} .",
    "{ORG} PROFIT RISES {PCT} .",
    "{PER} ARRIVES IN {CITY} FOR TALKS .",
)


def generate(num_train=3000, num_dev=600, num_test=600, seed=SEED):
    """{split: [Sentence]} of generated sentences, the same for the same arguments."""
    pools = name_pools(seed)
    sizes = {'train': num_train, 'dev': num_dev, 'test': num_test}
    splits = {}
    for split, size in sizes.items():
        # One generator per split: changing the size of one split leaves the others as they were.
        rng = random.Random('{}-{}'.format(seed, split))
        splits[split] = [make_sentence(rng, pools[split], 'synthetic {} sentence {}'.format(split, i + 1))
                         for i in range(size)]
    return splits


def make_sentence(rng, pool, where):
    headline = rng.random() < HEADLINE_RATE
    template = rng.choice(HEADLINES if headline else TEMPLATES)
    tokens, tags = [], []
    for word in template.split(' '):
        if word.startswith('{'):
            pairs = SLOTS[word[1:-1]](rng, pool)
        elif '|' in word:
            pairs = entity(*word.split('|'))
        else:
            pairs = [(word, 'O')]
        for token, tag in pairs:
            tokens.append(token)
            tags.append(tag)
    if headline:
        tokens = [token.upper() for token in tokens]
    return Sentence(tokens, tags, where)


# ---------------------------------------------------------------------------------------------
# Name pools

def make_name(rng, low, high, endings):
    syllables = ''.join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high)))
    return (syllables + rng.choice(endings)).capitalize()


def unique_names(rng, count, low, high, endings):
    names, seen = [], set()
    while len(names) < count:
        name = make_name(rng, low, high, endings)
        if len(name) > 2 and name not in seen:
            seen.add(name)
            names.append(name)
    return names


def name_pools(seed):
    """{split: {kind: names}}: each kind's generated names split between the splits, plus the shared ones."""
    rng = random.Random('{}-names'.format(seed))
    pools = {split: {} for split in SPLIT_SHARES}
    for kind, (count, low, high, endings) in NAME_KINDS.items():
        names = unique_names(rng, count, low, high, endings)
        if kind == 'country_stem':
            kind, names = 'country', [country_and_nationality(rng, stem) for stem in names]
        for split, part in share_out(names).items():
            pools[split][kind] = part
    return pools


def country_and_nationality(rng, stem):
    country_ending, nationality_ending = rng.choice(COUNTRY_ENDINGS)
    return stem + country_ending, stem + nationality_ending


def share_out(names):
    """{split: names}: the shared part, then a disjoint part per split."""
    shared_count = int(len(names) * SHARED_NAMES)
    shared, rest = names[:shared_count], names[shared_count:]
    parts, start = {}, 0
    for split, share in SPLIT_SHARES.items():
        end = start + int(len(rest) * share)
        parts[split] = shared + rest[start:end]
        start = end
    return parts


def pick(rng, pool, kind):
    """A name of that kind: now and then one of the ambiguous real words, else a generated one of the split."""
    if rng.random() < AMBIGUOUS_RATE:
        return rng.choice(AMBIGUOUS[kind])
    return rng.choice(pool[kind])


# ---------------------------------------------------------------------------------------------
# Slots: each returns [(token, tag)]

def entity(words, entity_type):
    """[(word, B-type), (word, I-type)...] for an entity written as `words` (a space-separated string)."""
    words = words.split(' ')
    return [(words[0], 'B-' + entity_type)] + [(word, 'I-' + entity_type) for word in words[1:]]


def person(rng, pool):
    form = rng.random()
    first, last = pick(rng, pool, 'first'), pick(rng, pool, 'surname')
    if form < 0.5:
        return entity('{} {}'.format(first, last), 'PER')
    if form < 0.65:  # CoNLL keeps titles out of the entity
        return [(rng.choice(TITLES), 'O')] + entity(last, 'PER')
    if form < 0.72:
        return entity('{} {}. {}'.format(first, rng.choice('ABCDEFGHJKLMNPRSTW'), last), 'PER')
    if form < 0.85:
        return entity(first, 'PER')
    return entity(last, 'PER')


def surname(rng, pool):
    return entity(pick(rng, pool, 'surname'), 'PER')


def city(rng, pool):
    return entity(pick(rng, pool, 'city'), 'LOC')


def country(rng, pool):
    return entity(pick(rng, pool, 'country')[0], 'LOC')


def nationality(rng, pool):
    return entity(pick(rng, pool, 'country')[1], 'MISC')


def location(rng, pool):
    form = rng.random()
    if form < 0.4:
        return city(rng, pool)
    if form < 0.7:
        return country(rng, pool)
    name = pick(rng, pool, 'city')
    pattern = rng.choice(('New {}', 'Lake {}', 'Mount {}', 'North {}', '{} Valley', 'Port {}'))
    return entity(pattern.format(name), 'LOC')


def company(rng, pool):
    return entity(pick(rng, pool, 'company'), 'ORG')


def university(rng, pool):
    pattern = rng.choice(('University of {}', '{} University', '{} Institute of Technology'))
    return entity(pattern.format(pick(rng, pool, 'city')), 'ORG')


def club(rng, pool):
    pattern = rng.choice(('{} United', '{} FC', '{}', 'Real {}', '{} City'))
    return entity(pattern.format(pick(rng, pool, 'city')), 'ORG')


def organisation(rng, pool):
    form = rng.random()
    if form < 0.3:
        return company(rng, pool)
    if form < 0.55:
        return entity('{} {}'.format(pick(rng, pool, 'company'), rng.choice(COMPANY_SUFFIXES)), 'ORG')
    if form < 0.7:  # named after people: the surnames are persons elsewhere
        names = '{} {}'.format(pick(rng, pool, 'surname'), pick(rng, pool, 'surname'))
        return entity('{} {}'.format(names, rng.choice(COMPANY_SUFFIXES)), 'ORG')
    if form < 0.8:
        return entity('Bank of {}'.format(pick(rng, pool, 'country')[0]), 'ORG')
    if form < 0.9:
        return university(rng, pool)
    nation = pick(rng, pool, 'country')[1]
    return entity('{} {}'.format(nation, rng.choice(('Airlines', 'Football Federation', 'Red Cross'))), 'ORG')


def event(rng, pool):
    if rng.random() < 0.5:
        name = pick(rng, pool, 'city')
    else:
        name = pick(rng, pool, 'country')[1]
    return entity('{} {}'.format(name, rng.choice(EVENT_WORDS)), 'MISC')


def outside(words):
    return [(word, 'O') for word in words.split(' ')]


SLOTS = {
    'PER': person,
    'SURNAME': surname,
    'CITY': city,
    'COUNTRY': country,
    'LOC': location,
    'NAT': nationality,
    'ORG': organisation,
    'COMPANY': company,
    'UNIVERSITY': university,
    'CLUB': club,
    'EVENT': event,
    'NUM': lambda rng, pool: outside(str(rng.choice((2, 3, 5, 7, 12, 15, 20, 40, 150, 300, 1200)))),
    'PCT': lambda rng, pool: outside('{}.{} percent'.format(rng.randint(0, 30), rng.randint(0, 9))),
    'SCORE': lambda rng, pool: outside('{}-{}'.format(*sorted(rng.sample(range(6), 2), reverse=True))),
    'DRAW': lambda rng, pool: outside('{0}-{0}'.format(rng.randint(0, 3))),
    'DATE': lambda rng, pool: outside(str(rng.randint(1, 31))),
    'DAY': lambda rng, pool: outside(rng.choice(DAYS)),
    'MONTH': lambda rng, pool: outside(rng.choice(MONTHS)),
    'YEAR': lambda rng, pool: outside(str(rng.randint(1950, 2024))),
}
