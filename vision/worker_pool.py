"""Run one function over many tasks in worker processes, with a progress bar, and Ctrl-C stopping them all.

build_dataset.py resizes its photos this way: decoding a large JPEG is the work, and
it runs in C, one photo per core.
"""
import contextlib
import functools
import multiprocessing
import signal

from tqdm import tqdm

from model.core.interrupts import sigint_ignored


def run_in_processes(function, tasks, jobs, desc):
    """[(task, function(*task))] for every task, in the order they finished, run `jobs` at a time.

    `function` must be importable by name (the workers import it). `desc` labels the progress bar.
    """
    # Chunks small enough that the processes finish together (a split whose images
    # fit in one chunk would keep a single core busy).
    chunksize = max(1, min(8, len(tasks) // (4 * jobs)))
    with _task_runner(jobs) as run:
        return list(tqdm(run(functools.partial(_call, function), tasks, chunksize), total=len(tasks), desc=desc,
                         disable=None))


def _call(function, task):
    return task, function(*task)


@contextlib.contextmanager
def _task_runner(jobs):
    """Yield a function like Pool.imap_unordered, running in `jobs` processes (in this one if `jobs` is 1)."""
    if jobs == 1:  # no process to start
        yield lambda function, tasks, chunksize: map(function, tasks)
        return
    # 'spawn': workers start clean, even when the calling process has TensorFlow's threads running.
    # Ctrl-C reaches every process of the terminal's group: the workers ignore it (from their start,
    # as an ignored signal stays ignored in a new process) and this process stops them.
    with sigint_ignored():
        pool = multiprocessing.get_context('spawn').Pool(jobs, initializer=_ignore_sigint)
    with pool:
        yield pool.imap_unordered


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
