"""Gather the results of a search into one Markdown table.

Every folder under the parent that holds a metrics_eval_best_weights.json is one
row; its params.json says which hyperparameters it trained with. The table shows
the hyperparameters that differ between rows (those they share say nothing) and
every metric, best first (by accuracy, or entity F1 for NER).
"""
import os

from model.core.errors import InputError
from model.core.files import read_json
from model.core.layout import EVAL_BEST_METRICS, EVAL_SUMMARIES, PARAMS_FILE, TRAIN_SUMMARIES, WEIGHTS_DIRS
from model.core.params import best_metric_of
from search.grid import format_value


class Row:
    """One experiment: its folder (relative to the parent), params and best dev metrics."""

    def __init__(self, name, params, metrics):
        self.name, self.params, self.metrics = name, params, metrics


def gather(parent_dir):
    """The rows under parent_dir, and a message for each file that could not be read (skipped)."""
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
        rows.append(Row(os.path.relpath(folder, parent_dir), params, metrics))
    return rows, problems


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
    """Best first, by the metric that picks best weights (accuracy; entity F1 for NER); rows without it last."""
    def key(row):
        value = row.metrics.get(best_metric_of(row.params))
        known = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (not known, -value if known else 0, row.name)
    return sorted(rows, key=key)


def markdown_table(rows):
    """The Markdown table of `rows`, best first: experiment, differing hyperparameters, metrics."""
    rows = sort_by_best_metric(rows)
    hyper, metrics = differing_keys(rows), metric_keys(rows)
    header = ['experiment'] + hyper + metrics
    lines = [_line(header), _line(['---'] * len(header))]
    for row in rows:
        cells = [row.name]
        cells += [format_value(row.params[key]) if key in row.params else '' for key in hyper]
        cells += [_format_metric(row.metrics[key]) if key in row.metrics else '' for key in metrics]
        lines.append(_line(cells))
    return '\n'.join(lines) + '\n'


def _format_metric(value):
    if isinstance(value, float):
        return '{:.4f}'.format(value)
    return format_value(value) if isinstance(value, (str, int, bool)) else str(value)


def _line(cells):
    # A '|' inside a cell (a folder name, say) would split it: Markdown escapes it as '\|'.
    return '| ' + ' | '.join(str(cell).replace('|', '\\|') for cell in cells) + ' |'
