"""What the search prints: one line per job as it ends, and a summary that names every failure.

Both launchers (local and Slurm) describe each finished job as an Outcome, so the
terminal looks the same wherever the jobs ran.
"""
import os
import shlex

from model.utils import InputError, read_json
from search.grid import BEST_METRICS


class Outcome:
    """How one job ended.

    ok: whether it trained to the end; state: what the launcher saw ('exit status 2',
    'COMPLETED', 'TIMEOUT', ...); log: the file holding its output; seconds: how long it ran
    (None if unknown); job_id: the job manager's id, if any; detail: why it failed, if not
    the last line of its log.
    """

    def __init__(self, job, ok, state, log, seconds=None, job_id=None, detail=None):
        self.job, self.ok, self.state, self.log = job, ok, state, log
        self.seconds, self.job_id, self.detail = seconds, job_id, detail

    def describe(self):
        """`learning_rate_0.001: Slurm job 12 COMPLETED after 41s, accuracy 0.8125 (log: ...)`."""
        where = 'Slurm job {} '.format(self.job_id) if self.job_id else ''
        text = '{}: {}{}'.format(self.job.name, where, self.state)
        if self.seconds is not None:
            text += ' after {}'.format(format_duration(self.seconds))
        if self.ok:
            accuracy = best_accuracy(self.job.folder)
            if accuracy is not None:
                text += ', best dev accuracy {:.4f}'.format(accuracy)
        else:
            detail = self.detail or last_line(self.log)
            if detail:
                text += ': ' + detail
        return '{} (log: {})'.format(text, self.log)


def format_duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return '{}h{:02d}m{:02d}s'.format(hours, minutes, seconds)
    return '{}m{:02d}s'.format(minutes, seconds) if minutes else '{}s'.format(seconds)


def best_accuracy(folder):
    """The accuracy in folder's metrics_eval_best_weights.json, or None."""
    try:
        value = read_json(os.path.join(folder, BEST_METRICS)).get('accuracy')
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


def summarize(parent_dir, outcomes, skipped, interrupted=False):
    """Print the summary of a search; return its exit status (0: all good, 1: failures, 130: interrupted)."""
    failed = [o for o in outcomes if not o.ok]
    counts = ['{} trained'.format(len(outcomes) - len(failed))]
    if skipped:
        counts.append('{} skipped (already done)'.format(len(skipped)))
    if failed:
        counts.append('{} failed'.format(len(failed)))
    say('Search in {}: {} job(s): {}.'.format(parent_dir, len(outcomes) + len(skipped), ', '.join(counts)))
    if failed:
        say('Failed:')
    for outcome in failed:
        where = 'Slurm job {} '.format(outcome.job_id) if outcome.job_id else ''
        say('  {}: {}{} (log: {})'.format(outcome.job.name, where, outcome.state, outcome.log))
    if interrupted:
        say('Interrupted: finished jobs are kept; run the same command again to do what is left.')
        return 130
    if failed:
        say('Fix the cause (see each log), then run the same command again: finished jobs are skipped.')
    say('Table of results: python synthesize_results.py --parent_dir {}'.format(shlex.quote(parent_dir)))
    return 1 if failed else 0
