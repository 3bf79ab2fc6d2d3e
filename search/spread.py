"""The spread of a search's results over seeds: the runs of one setting that differ only by their seed, summed up.

A search.json listing `"seed": [1, 2, 3]` trains each setting once per seed. One run
says little of a setting (another seed may rank it elsewhere); the mean over its seeds,
and how far they spread, say more. For each setting (its params but the seed, and the
data set it was trained on): how many seeds finished, the states of all its runs (as the
table of the runs says them), and the mean, standard deviation (of a sample: n - 1; none
for one seed) and min-max of the best dev metric over the finished runs; the same for the
test metric where evaluate.py measured it. Settings rank by the mean; those with no
finished run come last.
"""
import statistics

from model.core.params import best_metric_of
from search.grid import job_name
from search.results import differing_keys, show_path, table_line
from search.states import FINISHED, KINDS

SEED_KEY = 'seed'


class Setting:
    """The runs of one setting over seeds: `values` (its differing hyperparameters but the seed), data set, rows."""

    def __init__(self, values, dataset):
        self.values, self.dataset, self.rows = values, dataset, []

    @property
    def finished(self):
        return [row for row in self.rows if row.kind == FINISHED]

    def dev(self):
        return [row.best for row in self.finished if row.best is not None]

    def test(self):
        return [row.best_test for row in self.finished if row.best_test is not None]


def over_seeds(rows):
    """The settings of rows that differ by their seed (in the order of their first row), [] if none do."""
    rows = [row for row in rows if row.params]
    keys = differing_keys(rows)
    if SEED_KEY not in keys:
        return []
    keys.remove(SEED_KEY)
    found = []
    # A run not started yet has no data set: it belongs to its setting's, whichever that is.
    for row in sorted(rows, key=lambda row: not row.dataset):
        values = {key: row.params[key] for key in keys if key in row.params}
        setting = next((setting for setting in found if setting.values == values and
                        (setting.dataset == row.dataset or not row.dataset)), None)
        if setting is None:
            setting = Setting(values, row.dataset)
            found.append(setting)
        setting.rows.append(row)
    return found


def spread_table(rows):
    """The Markdown table of the settings over seeds, best mean first, then what it compares ('' if no seeds)."""
    found = over_seeds(rows)
    if not found:
        return ''
    metric = ', '.join(sorted({best_metric_of(row.params) for row in rows if row.params}))
    found.sort(key=lambda setting: (not setting.dev(), -statistics.mean(setting.dev()) if setting.dev() else 0))
    with_dataset = len({setting.dataset for setting in found if setting.dataset}) > 1
    with_test = any(setting.test() for setting in found)
    header = (['setting'] + ['data set'] * with_dataset + ['seeds', 'runs', 'dev {} mean'.format(metric), 'std',
                                                            'min-max'])
    header += ['test {} mean'.format(metric), 'std', 'min-max'] * with_test
    lines = [table_line(header), table_line(['---'] * len(header))]
    for setting in found:
        cells = [job_name(setting.values) or 'every run'] + [show_path(setting.dataset)] * with_dataset
        cells += [len(setting.finished), runs_cell(setting)] + spread_cells(setting.dev())
        cells += spread_cells(setting.test()) * with_test
        lines.append(table_line(cells))
    return ('Over seeds:\n\n' + '\n'.join(lines) + '\n\n' + 'Ranked by the mean dev {} over the finished runs of '
            'each setting ({} setting(s)); std is the standard deviation of a sample (n - 1), none for one '
            'seed.\n'.format(metric, len(found)))


def runs_cell(setting):
    """How many runs of the setting are in each state: '3 finished', '2 finished, 1 stopped'."""
    counts = {kind: sum(row.kind == kind for row in setting.rows) for kind in KINDS}
    return ', '.join('{} {}'.format(n, kind) for kind, n in counts.items() if n)


def spread_cells(values):
    """[mean, std, min-max] of the values, as the cells say them ('' where there is nothing to say)."""
    if not values:
        return ['', '', '']
    std = '{:.4f}'.format(statistics.stdev(values)) if len(values) > 1 else ''
    return ['{:.4f}'.format(statistics.mean(values)), std, '{:.4f}-{:.4f}'.format(min(values), max(values))]

