"""Perform a hyperparameter search: train one job per setting of search.json, each in its own folder"""
import argparse
import os
import shlex
import shutil
import signal
import sys

from model.utils import InputError, run_script
from search.grid import SEARCH_FILE, plan_jobs, read_search
from search.local import run_local
from search.report import say, summarize

# train.py next to this script, so that the search runs from any working directory.
TRAIN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'train.py')

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('--parent_dir', default='experiments/learning_rate',
                    help="Directory containing params.json, and search.json listing the values to try "
                         "(without it: learning_rate 1e-4, 1e-3, 1e-2)")
parser.add_argument('--data_dir', default='data/64x64_SIGNS', help="Directory containing the dataset")
parser.add_argument('--jobs', type=int, default=1, help="How many jobs run at the same time")
parser.add_argument('--launcher', default=None,
                    help="Command put in front of each job's command, for a cluster's job manager, "
                         "for example \"srun --gres=gpu:1\"")


def main(args):
    if args.jobs < 1:
        raise InputError("--jobs must be at least 1, got {}".format(args.jobs))
    prefix = launcher_prefix(args.launcher)
    # Everything is checked before the first job starts: a typo must not cost a night of jobs.
    grid, _ = read_search(args.parent_dir)
    jobs = plan_jobs(args.parent_dir, grid)
    check_data_dir(args.data_dir)

    skipped = [job for job in jobs if job.status == 'done']
    to_run = [job for job in jobs if job.status != 'done']
    for job in skipped:
        say('skipped {}: it has its results already'.format(job.name))
    if not os.path.exists(os.path.join(args.parent_dir, SEARCH_FILE)):
        say('No {} in {}: searching learning_rate over 1e-4, 1e-3, 1e-2'.format(SEARCH_FILE, args.parent_dir))
    if to_run:
        say('Training {} job(s), {} at a time; each job writes its output to output.log in its folder'.format(
            len(to_run), min(args.jobs, len(to_run))))

    # SIGTERM (a job manager stopping the search itself) stops the jobs as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    outcomes, interrupted = run_local(to_run, args.data_dir, sys.executable, TRAIN_PY,
                                      max_jobs=args.jobs, prefix=prefix)
    status = summarize(args.parent_dir, outcomes, skipped, interrupted)
    if status:
        raise SystemExit(status)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def launcher_prefix(launcher):
    """The --launcher command as an argument list, its program checked to exist."""
    if launcher is None:
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


def check_data_dir(data_dir):
    for split in ('train_signs', 'dev_signs'):
        if not os.path.isdir(os.path.join(data_dir, split)):
            raise InputError("No folder {}: build the dataset first (python build_dataset.py), "
                             "or pass --data_dir".format(os.path.join(data_dir, split)))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
