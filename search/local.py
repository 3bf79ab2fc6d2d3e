"""Run the jobs of a search as child processes of this one, up to N at a time.

Each job is `python train.py --model_dir <job folder> ...` started from an argument
list, never through a shell: a folder name is only ever a string handed to train.py.
An optional command prefix (`--launcher "srun --gres=gpu:1"`) goes in front of it,
so that a cluster's job manager runs the job instead.
"""
import datetime
import os
import shlex
import shutil
import signal
import subprocess
import time

from model.core.errors import InputError
from model.core.interrupts import sigint_ignored
from search.grid import prepare_folder, train_command
from search.report import Outcome, say

# After Ctrl-C: how long a stopped job may take to exit before it is killed.
GRACE_SECONDS = 10
# How often to look for finished jobs.
POLL_SECONDS = 0.2


class _Running:
    """A started job: its process and the log file its output goes to."""

    def __init__(self, job, command):
        self.job = job
        self.started = time.monotonic()
        self.log = open(job.output_log, 'ab')
        # The header says which attempt each part of the log belongs to (a resumed job appends).
        header = '==== {} {}\n'.format(datetime.datetime.now().isoformat(' ', 'seconds'), shlex.join(command))
        self.log.write(header.encode('utf-8'))
        self.log.flush()
        env = dict(os.environ, PYTHONUNBUFFERED='1')  # the log fills as the job goes, not at its end
        # Its own session: the terminal's Ctrl-C reaches the search only, which then stops
        # each job (with whatever the prefix started) as one process group.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def outcome(self):
        code = self.process.returncode
        if code == 0:
            state = 'finished'
        elif code < 0:
            state = 'killed by signal {}'.format(signal.Signals(-code).name)
        else:
            state = 'exit status {}'.format(code)
        return Outcome(self.job, code == 0, state, self.job.output_log, time.monotonic() - self.started)

    def signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass  # already gone


def run_local(jobs, data_dir, python, train_py, max_jobs=1, prefix=()):
    """Run `jobs`, at most `max_jobs` at once; print a line as each ends.

    Returns (outcomes, interrupted). On Ctrl-C (KeyboardInterrupt) the running jobs
    are stopped with SIGTERM (SIGKILL after GRACE_SECONDS) and interrupted is True;
    jobs that had finished keep their folders untouched.
    """
    pending, running, outcomes = list(jobs), [], []
    try:
        while pending or running:
            while pending and len(running) < max_jobs:
                job = pending.pop(0)
                prepare_folder(job)
                running.append(_Running(job, list(prefix) + train_command(job, data_dir, python, train_py)))
            finished = [r for r in running if r.process.poll() is not None]
            for r in finished:
                running.remove(r)
                r.log.close()
                outcomes.append(r.outcome())
                say('[{}/{}] {}'.format(len(outcomes), len(jobs), outcomes[-1].describe()))
            if not finished:
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        with sigint_ignored():  # a second Ctrl-C must not leave jobs behind
            _stop(running)
        for r in running:
            say('stopped {} (log: {})'.format(r.job.name, r.job.output_log))
        return outcomes, True
    return outcomes, False


def _stop(running):
    """SIGTERM every running job's process group, then SIGKILL what is left after GRACE_SECONDS."""
    for r in running:
        r.signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for r in running:
        try:
            r.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            r.signal(signal.SIGKILL)
            r.process.wait()
        r.log.close()


def launcher_prefix(launcher):
    """The --launcher command as an argument list, its program checked to exist ([] for none or slurm)."""
    if launcher is None or launcher == 'slurm':
        return []
    try:
        prefix = shlex.split(launcher)
    except ValueError as e:
        raise InputError("--launcher {!r}: {} (quote it as you would in a shell)".format(launcher, e)) from None
    if not prefix:
        raise InputError("--launcher is empty: give a command such as \"srun --gres=gpu:1\", or leave it out")
    if shutil.which(prefix[0]) is None:
        raise InputError("--launcher: no command {!r} found on the PATH".format(prefix[0]))
    return prefix
