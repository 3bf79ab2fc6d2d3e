"""How far a run of a search got, from what is on disk: finished, stopped at epoch k of N, failed (and why), or
not started.

Judged by the run's folder first (its metrics of the last epoch), then by what the last
search recorded of it (search/report.py's outcomes file: the state its summary gave), then
by the last line of its log: the line of an error ends the log of a run that failed, not
that of a run stopped by Ctrl-C, a time limit or a kill.
"""
import glob
import os
import re

from model.core.layout import TRAIN_LOG
from search.grid import OUTPUT_LOG, last_metrics_epoch, status_of
from search.report import last_line

FINISHED, STOPPED, FAILED, NOT_STARTED, UNKNOWN = KINDS = ('finished', 'stopped', 'failed', 'not started',
                                                            'unknown')
# The last line of a log that failed: train.py's one-line "Error: ...", or a traceback's last line.
ERROR_LINE = re.compile(r'^(Error\b|[\w.]*(Error|Exception)\b)')
# What train.log puts in front of each line (model/utils.py's set_logger).
LOG_PREFIX = re.compile(r'^\d{4}-\d\d-\d\d [\d:,]+:[A-Z]+: ')


def run_state(folder, num_epochs, recorded=None):
    """(kind, text): kind is one of FINISHED, STOPPED, FAILED, NOT_STARTED, UNKNOWN; text is the table's cell.

    num_epochs: the run's params (None if unknown); recorded: what the last search said of it, if anything.
    """
    if not isinstance(num_epochs, int):
        return UNKNOWN, 'unknown (no params.json with its num_epochs)'
    if status_of(folder, num_epochs) == 'done':
        return FINISHED, 'finished'
    epoch = last_metrics_epoch(folder)
    at = 'at epoch {} of {}'.format(epoch, num_epochs) if epoch else 'before epoch 1 of {}'.format(num_epochs)
    reason = failure(folder, recorded)
    if reason is not None:
        return FAILED, 'failed {}: {}'.format(at, reason) if reason else 'failed ' + at
    if epoch:
        return STOPPED, 'stopped ' + at
    if newest_log(folder):
        return STOPPED, 'stopped ' + at + ' (no epoch saved)'
    return NOT_STARTED, 'not started'


def failure(folder, recorded):
    """Why the run failed, in one line ('' if it says nothing), or None if it did not fail."""
    if recorded is not None and not recorded.get('ok') and not recorded.get('stopped'):
        return ': '.join(text for text in (recorded.get('state'), recorded.get('detail')) if text)
    log = newest_log(folder)
    line = LOG_PREFIX.sub('', last_line(log)) if log else ''
    return line if ERROR_LINE.match(line) else None


def newest_log(folder):
    """The terminal output a run wrote last: output.log (local) or slurm-<id>.out (Slurm); else its train.log.

    None if it has none.
    """
    logs = [os.path.join(folder, OUTPUT_LOG)] + glob.glob(os.path.join(glob.escape(folder), 'slurm-*.out'))
    logs = [log for log in logs if os.path.isfile(log)]
    if logs:
        return max(logs, key=os.path.getmtime)
    train_log = os.path.join(folder, TRAIN_LOG)
    return train_log if os.path.isfile(train_log) else None
