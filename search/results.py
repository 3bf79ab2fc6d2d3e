"""Gather the results of a search into one Markdown table that says how far each run got.

Every folder under the parent that holds a metrics_eval_best_weights.json is one
row; its params.json says which hyperparameters it trained with. Each setting of the
parent's search.json without such a folder is a row too: failed (with the one-line
reason) or not started. The table shows the state of each run, the hyperparameters that
differ between rows (those they share say nothing) and every metric. Finished runs come
first, best first (by accuracy, or entity F1 for NER); unfinished ones after them, and a
line under the table says whether the ranking compares unfinished runs.

The data set each run was trained on (its dataset.json; else the one its test metrics, from
evaluate.py, say) is a column when runs differ in it: on more than one data set, they rank
within each. A run's test figures are its metrics_test_best_weights.json's (evaluate.py's, on
the data set it names; search/spread.py shows them).
"""
import os

from model.core.errors import InputError
from model.core.files import read_json
from model.core.layout import (
    BEST_WEIGHTS,
    DATASET_FILE,
    EVAL_BEST_METRICS,
    EVAL_SUMMARIES,
    PARAMS_FILE,
    TRAIN_SUMMARIES,
    WEIGHTS_DIRS,
    metrics_file,
)
from model.core.params import best_metric_of
from search.grid import SEARCH_FILE, format_value, job_name, read_parent_params, read_search, settings
from search.report import read_outcomes
from search.states import FINISHED, KINDS, run_state

TEST_BEST_METRICS = metrics_file('test', BEST_WEIGHTS)


class Row:
    """One experiment: its folder (relative to the parent), params, best dev metrics, and state (see states.py).

    dataset: the folder of the data set it was trained on ('' if unknown); test: its test metrics ({} if none).
    """

    def __init__(self, name, params, metrics, state=(FINISHED, 'finished'), dataset='', test=None):
        self.name, self.params, self.metrics = name, params, metrics
        self.kind, self.state = state
        self.dataset, self.test = dataset, test or {}

    @property
    def best(self):
        """The dev value of the metric that picks best weights, or None."""
        return _number(self.metrics.get(best_metric_of(self.params)))

    @property
    def best_test(self):
        return _number(self.test.get(best_metric_of(self.params)))


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def gather(parent_dir):
    """The rows under parent_dir (the settings of its search.json included), and a message for each file that
    could not be read (skipped)."""
    rows, problems = _rows_with_metrics(parent_dir)
    rows += _rows_without_metrics(parent_dir, {row.name for row in rows}, problems)
    return rows, problems


def _rows_with_metrics(parent_dir):
    rows, problems = [], []
    for folder, subfolders, files in os.walk(parent_dir):
        subfolders.sort()  # the same order on every file system
        # Checkpoints and event files hold no results: do not walk through them.
        subfolders[:] = [d for d in subfolders if d not in WEIGHTS_DIRS + (TRAIN_SUMMARIES, EVAL_SUMMARIES)]
        if EVAL_BEST_METRICS not in files:
            continue
        metrics_path = os.path.join(folder, EVAL_BEST_METRICS)
        try:
            metrics = _read_object(metrics_path, 'metrics file')
        except InputError as e:
            problems.append('Skipped {}'.format(e))
            continue
        params = {}
        params_path = os.path.join(folder, PARAMS_FILE)
        if os.path.exists(params_path):
            try:
                params = _read_object(params_path, 'params file')
            except InputError as e:
                problems.append('No hyperparameters for this row: {}'.format(e))
        # What the search recorded of it is in the folder above (a search's parent folder).
        recorded = read_outcomes(os.path.dirname(folder)).get(os.path.basename(folder))
        test = _read_if_any(os.path.join(folder, TEST_BEST_METRICS), 'metrics file', problems)
        rows.append(Row(os.path.relpath(folder, parent_dir), params, metrics,
                        run_state(folder, params.get('num_epochs'), recorded), _dataset_of(folder, test, problems),
                        test))
    return rows, problems


def _rows_without_metrics(parent_dir, listed, problems):
    """A row for each setting of parent_dir/search.json whose folder holds no result: failed or not started."""
    if not os.path.isfile(os.path.join(parent_dir, SEARCH_FILE)):
        return []  # no search here (the tutorial's default search is named by the folders it made)
    try:
        grid, _ = read_search(parent_dir)
        base = read_parent_params(parent_dir, required=False)
    except InputError as e:
        problems.append('Settings not started are not listed: {}'.format(e))
        return []
    outcomes = read_outcomes(parent_dir)
    rows = []
    for setting in settings(grid):
        name = job_name(setting)
        if name not in listed:
            params = dict(base, **setting)
            folder = os.path.join(parent_dir, name)
            rows.append(Row(name, params, {}, run_state(folder, params.get('num_epochs'), outcomes.get(name)),
                            _dataset_of(folder, {}, problems)))
    return rows


def _dataset_of(folder, test, problems):
    """The folder of the data set the run in `folder` was trained on (dataset.json), else tested on; '' if unknown."""
    recorded = _read_if_any(os.path.join(folder, DATASET_FILE), 'dataset record', problems)
    dataset = recorded.get('data_dir') or test.get('data_dir')
    return dataset if isinstance(dataset, str) else ''


def _read_if_any(path, what, problems):
    """The JSON object in path; {} if there is none, or (said in problems) if it cannot be read."""
    if not os.path.isfile(path):
        return {}
    try:
        return _read_object(path, what)
    except InputError as e:
        problems.append('Skipped {}'.format(e))
        return {}


def _read_object(path, what):
    """A JSON file that must hold an object (of metric or param values)."""
    value = read_json(path, what)
    if not isinstance(value, dict):
        raise InputError("{}: expected a JSON object, got {}".format(path, type(value).__name__))
    return value


def differing_keys(rows):
    """The params keys whose values are not the same in every row, in the order the files list them.

    A row without a params.json has nothing to compare: it does not make every key differ.
    """
    rows = [row for row in rows if row.params]
    keys = []
    for row in rows:
        keys += [key for key in row.params if key not in keys]
    return [key for key in keys if len({repr(row.params.get(key)) for row in rows}) > 1]


def metric_keys(rows):
    keys = []
    for row in rows:
        keys += [key for key in row.metrics if key not in keys]
    return keys


def sort_by_best_metric(rows):
    """Finished runs first, then the others; within each, best first by the metric that picks best weights
    (accuracy; entity F1 for NER); rows without it last (failed, then not started). Rows trained on several
    data sets: all this within each data set, one after the other (their figures do not compare)."""
    datasets = datasets_of(rows)

    def key(row):
        value = row.best
        known = value is not None
        # Without the metric: in the order gathered (the settings not started as search.json lists them).
        return (datasets.index(row.dataset) if len(datasets) > 1 and row.dataset else len(datasets),
                row.kind != FINISHED, not known, -value if known else 0, KINDS.index(row.kind),
                row.name if known else '')
    return sorted(rows, key=key)


def datasets_of(rows):
    """The data sets the rows were trained on, sorted (unknown ones left out)."""
    return sorted({row.dataset for row in rows if row.dataset})


def show_path(path):
    """A data set's folder as the table shows it: relative to the working folder if inside it, else absolute."""
    if not path:
        return ''
    relative = os.path.relpath(path)
    return path if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def markdown_table(rows):
    """The Markdown table of `rows` (experiment, state, differing hyperparameters, metrics), then what its order
    compares."""
    rows = sort_by_best_metric(rows)
    hyper, metrics = differing_keys(rows), metric_keys(rows)
    # Like the hyperparameters, the data set is a column when it tells rows apart.
    with_dataset = len(datasets_of(rows)) > 1 or any(tested_elsewhere(row) for row in rows)
    header = ['experiment', 'state'] + ['data set'] * with_dataset + hyper + metrics
    lines = [table_line(header), table_line(['---'] * len(header))]
    for row in rows:
        cells = [row.name, row.state] + [dataset_cell(row)] * with_dataset
        cells += [format_value(row.params[key]) if key in row.params else '' for key in hyper]
        cells += [_format_metric(row.metrics[key]) if key in row.metrics else '' for key in metrics]
        lines.append(table_line(cells))
    return '\n'.join(lines) + '\n\n' + ranking_line(rows) + '\n'


def tested_elsewhere(row):
    """The folder of the data set a row's test metrics were measured on, if not the one it was trained on; else None."""
    tested = row.test.get('data_dir')
    return tested if row.dataset and isinstance(tested, str) and tested != row.dataset else None


def dataset_cell(row):
    """The data set a row was trained on; and the one it was tested on, if another."""
    if tested_elsewhere(row):
        return '{} (tested on {})'.format(show_path(row.dataset), show_path(tested_elsewhere(row)))
    return show_path(row.dataset)


def ranking_line(rows):
    """What the order of the table compares: finished runs only, or unfinished ones too (and which)."""
    metric = ', '.join(sorted({best_metric_of(row.params) for row in rows}))
    ranked = [row for row in rows if row.best is not None]
    finished = [row for row in ranked if row.kind == FINISHED]
    unfinished = [row for row in ranked if row.kind != FINISHED]
    if not ranked:
        text = 'Nothing ranked: no run has a dev {} yet.'.format(metric)
    elif not unfinished:
        text = 'Ranked by dev {}: {} finished run(s), and no unfinished one.'.format(metric, len(finished))
    elif not finished:
        text = ('Ranked by dev {} so far: no run finished, so this compares {} unfinished run(s), each by its best '
                'so far.'.format(metric, len(unfinished)))
    else:
        text = ('Ranked by dev {}: the {} finished run(s) first; the {} unfinished one(s) after them, by their best '
                'so far (not comparable with the finished ones).'.format(metric, len(finished), len(unfinished)))
    others = [row for row in rows if row not in ranked]
    if others:
        counts = {}
        for row in others:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        text += ' Without {}: {}.'.format(metric, ', '.join('{} {}'.format(n, kind) for kind, n in counts.items()))
    datasets = datasets_of(rows)
    if len(datasets) > 1:
        text += (' Ranked within each of the {} data sets, one after the other: figures on different data sets do '
                 'not compare.'.format(len(datasets)))
    return text


def _format_metric(value):
    if isinstance(value, float):
        return '{:.4f}'.format(value)
    return format_value(value) if isinstance(value, (str, int, bool)) else str(value)


def table_line(cells):
    # A '|' inside a cell (a folder name, say) would split it: Markdown escapes it as '\|'.
    return '| ' + ' | '.join(str(cell).replace('|', '\\|') for cell in cells) + ' |'
