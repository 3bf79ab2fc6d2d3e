"""Build the NER dataset: <output_dir>/{train,dev,test}/sentences.txt and labels.txt.

One sentence per line, tokens separated by single spaces; line i of labels.txt holds
the BIO tags of line i of sentences.txt (see ner/corpora.py for the layout).

--data_dir may hold (it is recognised by its file names):
    CoNLL files       train.txt, valid.txt (or dev.txt), test.txt -- also .conll/.tsv, or the
                      shared tasks' <lang>.train, <lang>.testa, <lang>.testb (CoNLL-2003: eng,
                      deu; CoNLL-2002: esp, ned). One token per line, the tag in the last column
                      (POS and chunk columns before it are skipped), a blank line between
                      sentences, -DOCSTART- lines skipped. IOB1 tags are converted to BIO.
                      The CoNLL-2002 and German CoNLL-2003 files are Latin-1: --encoding latin-1.
    Kaggle's CSV      ner_dataset.csv ("Annotated Corpus for Named Entity Recognition", which
                      the course used), split 70/15/15 in file order as the course did.
    A built dataset   train/, dev/ and test/ with sentences.txt and labels.txt: checked and
                      rewritten (single spaces, \\n line ends, BIO tags).
--synthetic writes a generated dataset instead (ner/synthetic.py), no download needed.

Then: python build_vocab.py --data_dir <output_dir>
"""
import argparse
import collections
import logging
import os
import shlex
import shutil
import tempfile

from model.core.errors import InputError, run_script
from model.core.files import check_output_dir
from ner.corpora import SPLITS, load_corpus, write_split
from ner.entities import get_entities
from ner.synthetic import generate
from ner.vocab import BUILT_FILES  # the files build_vocab.py writes: an overwritten dataset makes them stale

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', default=None,
                    help="Folder with the corpus: CoNLL files, ner_dataset.csv, or train/dev/test folders")
parser.add_argument('--synthetic', action='store_true', help="Write a generated dataset instead (no download)")
parser.add_argument('--output_dir', default='data/NER', help="Where to write the dataset")
parser.add_argument('--encoding', default=None,
                    help="The corpus files' text encoding (default: UTF-8; Kaggle's CSV: UTF-8, else Windows-1252). "
                         "The CoNLL-2002 files and CoNLL-2003's German ones, as published: latin-1")
parser.add_argument('--overwrite', action='store_true', help="Replace a dataset already built in --output_dir")


def write_dataset(splits, output_dir):
    """Write {split: sentences} into output_dir, replacing its splits only once all are written.

    The new splits go to a temporary folder beside output_dir first: an interrupted or
    failed build leaves what was there before untouched.
    """
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='.building-', dir=parent) as tmp_dir:
        new_dir = os.path.join(tmp_dir, 'new')
        for split in SPLITS:
            write_split(os.path.join(new_dir, split), splits[split])
        if not os.path.exists(output_dir):
            os.rename(new_dir, output_dir)
            return
        old_dir = os.path.join(tmp_dir, 'old')  # deleted with tmp_dir
        os.makedirs(old_dir)
        for split in SPLITS:
            if os.path.exists(os.path.join(output_dir, split)):  # only with --overwrite (or an empty folder)
                shutil.move(os.path.join(output_dir, split), os.path.join(old_dir, split))
            shutil.move(os.path.join(new_dir, split), os.path.join(output_dir, split))
        remove_stale_vocabulary(output_dir, old_dir)


def remove_stale_vocabulary(output_dir, old_dir):
    """Move away the vocabulary of the replaced dataset: training must not run on it by mistake."""
    stale = [name for name in BUILT_FILES if os.path.exists(os.path.join(output_dir, name))]
    for name in stale:
        shutil.move(os.path.join(output_dir, name), os.path.join(old_dir, name))
    if stale:
        logging.info("Removed the vocabulary of the replaced dataset (%s): run build_vocab.py again",
                     ', '.join(stale))


def split_statistics(sentences):
    """{'sentences': n, 'tokens': n, 'entities': {type: count}} of one split."""
    types = collections.Counter(entity_type for sentence in sentences
                                for entity_type, _, _ in get_entities(sentence.tags))
    return {'sentences': len(sentences), 'tokens': sum(len(sentence.tokens) for sentence in sentences),
            'entities': dict(types.most_common())}


def log_summary(statistics, output_dir):
    for split in SPLITS:
        stats = statistics[split]
        entities = ', '.join('{} {}'.format(entity_type, count) for entity_type, count in stats['entities'].items())
        logging.info("- %s: %d sentences, %d tokens, %d entities (%s)", split, stats['sentences'], stats['tokens'],
                     sum(stats['entities'].values()), entities or 'none')
    logging.info("Wrote %d train, %d dev and %d test sentences to %s", *(statistics[split]['sentences']
                                                                        for split in SPLITS), output_dir)


def build(output_dir, data_dir=None, synthetic=False, overwrite=False, synthetic_sizes=None, encoding=None):
    """Build output_dir from data_dir (or a generated set). Returns {split: statistics} (see split_statistics).

    encoding: that of data_dir's files (None: UTF-8); what is written is always UTF-8.
    synthetic_sizes: (train, dev, test) sentences of the generated set, for tests that want
    a smaller one (default: ner/synthetic.py's).
    """
    check_output_dir(output_dir, SPLITS, overwrite)
    if synthetic:
        logging.info("Generating a synthetic NER dataset (ner/synthetic.py)")
        splits = generate(*(synthetic_sizes or ()))
    else:
        splits = load_corpus(data_dir, encoding)
    write_dataset(splits, output_dir)
    statistics = {split: split_statistics(splits[split]) for split in SPLITS}
    log_summary(statistics, output_dir)
    return statistics


def main(args):
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    if args.synthetic == bool(args.data_dir):
        raise InputError("Pass either --data_dir (the folder with your corpus) or --synthetic (a generated dataset)")
    if args.synthetic and args.encoding:
        raise InputError("--encoding is the encoding of the files in --data_dir: --synthetic reads none")
    build(args.output_dir, args.data_dir, args.synthetic, args.overwrite, encoding=args.encoding)
    logging.info("Next: python build_vocab.py --data_dir %s", shlex.quote(args.output_dir))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
