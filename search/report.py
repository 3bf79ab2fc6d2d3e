"""What the search prints: one line per job as it ends, and a summary that names every failure.

Both launchers (local and Slurm) describe each finished job as an Outcome, so the
terminal looks the same wherever the jobs ran.
"""
import collections
import os
import shlex

from model.core.errors import InputError
from model.core.files import read_json, save_dict_to_json
from model.core.layout import EVAL_BEST_METRICS
from model.core.params import best_metric_of


class Outcome:
    """How one job ended.

    ok: whether it trained to the end; state: what the launcher saw ('exit status 2',
    'COMPLETED', 'TIMEOUT', ...); log: the file holding its output; seconds: how long it ran
    (None if unknown); job_id: the job manager's id, if any; detail: why it failed, if not
    the last line of its log. log is None for a job that never started (it has none).
    stopped: for a job that an interruption of the search stopped, how it was left
    ('cancelled while running', ...): it counts as neither trained nor failed.
    """

    def __init__(self, job, ok, state, log, seconds=None, job_id=None, detail=None, stopped=None):
        self.job, self.ok, self.state, self.log = job, ok, state, log
        self.seconds, self.job_id, self.detail, self.stopped = seconds, job_id, detail, stopped

    @property
    def where_log(self):
        return '(log: {})'.format(self.log) if self.log else '(no log: it never started)'

    def describe(self):
        """`learning_rate_0.001: Slurm job 12 COMPLETED after 41s, accuracy 0.8125 (log: ...)`."""
        where = 'Slurm job {} '.format(self.job_id) if self.job_id else ''
        text = '{}: {}{}'.format(self.job.name, where, self.state)
        if self.seconds is not None:
            text += ' after {}'.format(format_duration(self.seconds))
        if self.ok:
            metric = best_metric_of(self.job.params)
            value = best_metric(self.job.folder, metric)
            if value is not None:
                text += ', best dev {} {:.4f}'.format(metric, value)
        else:
            detail = self.detail or (last_line(self.log) if self.log else '')
            if detail:
                text += ': ' + detail
        return '{} {}'.format(text, self.where_log)


# In the parent folder: how each job of the last search ended, as its summary said (synthesize_results.py reads it).
OUTCOMES_FILE = 'search_outcomes.json'


def record_outcomes(parent_dir, ran, outcomes):
    """Keep in OUTCOMES_FILE how the jobs `ran` ended; a job run but without an outcome (the search stopped
    while it ran) loses its earlier record, which no longer says where it stands."""
    record = read_outcomes(parent_dir)
    for job in ran:
        record.pop(job.name, None)
    for outcome in outcomes:
        detail = outcome.detail or (last_line(outcome.log) if outcome.log and not outcome.ok else '')
        record[outcome.job.name] = {'ok': outcome.ok, 'state': outcome.state, 'detail': detail,
                                    'stopped': outcome.stopped}
    save_dict_to_json(record, os.path.join(parent_dir, OUTCOMES_FILE))


def read_outcomes(parent_dir):
    """{job name: {'ok', 'state', 'detail', 'stopped'}} as the last search recorded them; {} if none (or unreadable)."""
    try:
        record = read_json(os.path.join(parent_dir, OUTCOMES_FILE))
    except (InputError, OSError):
        return {}
    return {name: value for name, value in record.items() if isinstance(value, dict)} \
        if isinstance(record, dict) else {}


def format_duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return '{}h{:02d}m{:02d}s'.format(hours, minutes, seconds)
    return '{}m{:02d}s'.format(minutes, seconds) if minutes else '{}s'.format(seconds)


def best_metric(folder, metric):
    """The `metric` in folder's metrics_eval_best_weights.json, or None."""
    try:
        value = read_json(os.path.join(folder, EVAL_BEST_METRICS)).get(metric)
    except (InputError, AttributeError):
        return None
    return value if isinstance(value, (int, float)) else None


def last_line(path, limit=200):
    """The last non-empty line of a log file (the error, when a job failed), shortened; '' if none."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            tail = f.read().decode('utf-8', errors='replace')
    except OSError:
        return ''
    # A progress bar redraws with carriage returns: keep what was drawn last.
    lines = [line.rsplit('\r', 1)[-1].strip() for line in tail.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ''
    return lines[-1] if len(lines[-1]) <= limit else lines[-1][:limit - 3] + '...'


def say(message):
    """One line to the terminal, at once (the search runs for hours; output must not wait in a buffer)."""
    print(message, flush=True)


def summarize(parent_dir, outcomes, skipped, interrupted=False, total=None):
    """Print the summary of a search; return its exit status (0: all good, 1: failures, 130: interrupted).

    total: the number of jobs in the search; those neither ended nor skipped were stopped
    (or not started) by an interruption. Outcomes with `stopped` set say how (the Slurm
    launcher: cancelled while running, before it started, may still be running).
    """
    stopped = [o.stopped for o in outcomes if o.stopped]
    outcomes = [o for o in outcomes if not o.stopped]
    failed = [o for o in outcomes if not o.ok]
    total = len(outcomes) + len(skipped) if total is None else total
    counts = ['{} trained'.format(len(outcomes) - len(failed))]
    if skipped:
        counts.append('{} skipped (already done)'.format(len(skipped)))
    if failed:
        counts.append('{} failed'.format(len(failed)))
    unfinished = total - len(outcomes) - len(skipped)
    if unfinished:
        how = collections.Counter(stopped)
        if stopped and unfinished > len(stopped):
            how['not submitted'] = unfinished - len(stopped)
        details = ' ({})'.format(', '.join('{} {}'.format(n, what) for what, n in how.items())) if how else ''
        counts.append('{} stopped or not started{}'.format(unfinished, details))
    say('Search in {}: {} job(s): {}.'.format(parent_dir, total, ', '.join(counts)))
    if failed:
        say('Failed:')
    for outcome in failed:
        where = 'Slurm job {} '.format(outcome.job_id) if outcome.job_id else ''
        say('  {}: {}{} {}'.format(outcome.job.name, where, outcome.state, outcome.where_log))
    if interrupted:
        say('Interrupted: finished jobs are kept; run the same command again to do what is left.')
        return 130
    if failed:
        say('Fix the cause (see each log), then run the same command again: finished jobs are skipped.')
    say('Table of results: python synthesize_results.py --parent_dir {}'.format(shlex.quote(parent_dir)))
    return 1 if failed else 0
