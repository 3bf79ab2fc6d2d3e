"""Aggregates results from the metrics_eval_best_weights.json in a parent folder into one table, with the state
of each run (finished, stopped at epoch k of N, failed and why, not started) and the data set it was trained on;
then, for a search over seeds, each setting's mean and spread over its seeds"""
import argparse
import os
import sys

from model.core.errors import InputError, run_script
from search.results import gather, markdown_table
from search.spread import spread_table

RESULTS_FILE = 'results.md'

parser = argparse.ArgumentParser(description=__doc__)
# --model_dir is the spelling of the tutorial's text: both name the parent folder of the search.
parser.add_argument('--parent_dir', '--model_dir', dest='parent_dir', default='experiments',
                    help="Directory containing the results of the experiments (searched recursively)")


def main(args):
    if not os.path.isdir(args.parent_dir):
        raise InputError("No folder {}: pass the --parent_dir of your search".format(args.parent_dir))
    rows, problems = gather(args.parent_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not rows:
        raise InputError("No results in {}: no metrics_eval_best_weights.json below it yet, nor a search.json. "
                         "Train first, for "
                         "example python search_hyperparams.py --parent_dir {}".format(
                             args.parent_dir, args.parent_dir))
    table = markdown_table(rows)
    spread = spread_table(rows)
    if spread:
        table += '\n' + spread
    print(table, end='')
    with open(os.path.join(args.parent_dir, RESULTS_FILE), 'w', encoding='utf-8') as f:
        f.write(table)


if __name__ == '__main__':
    run_script(main, parser.parse_args())
