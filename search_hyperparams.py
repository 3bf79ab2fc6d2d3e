"""Perform a hyperparameter search: train one job per setting of search.json, each in its own folder"""
import argparse
import os
import shlex
import shutil
import signal
import sys

from model.utils import InputError, run_script
from search.grid import SEARCH_FILE, plan_jobs, read_search, train_command
from search.local import run_local
from search.report import say, summarize
from search.slurm import CLI_FLAGS, check_resources, run_slurm

# train.py next to this script, so that the search runs from any working directory.
TRAIN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'train.py')

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('--parent_dir', default='experiments/learning_rate',
                    help="Directory containing params.json, and search.json listing the values to try "
                         "(without it: learning_rate 1e-4, 1e-3, 1e-2)")
parser.add_argument('--data_dir', default='data/64x64_SIGNS', help="Directory containing the dataset")
parser.add_argument('--jobs', type=int, default=1, help="How many jobs run at the same time (not with slurm)")
parser.add_argument('--launcher', default=None,
                    help="'slurm' to submit each job with sbatch; or a command put in front of each job's "
                         "command, for another job manager, for example \"srun --gres=gpu:1\"")
slurm = parser.add_argument_group('Slurm resources of each job (--launcher slurm; they override the "slurm" '
                                  'section of search.json)')
slurm.add_argument('--partition', help="partition to submit to")
slurm.add_argument('--time', help="time limit of each job, such as 1:00:00")
slurm.add_argument('--cpus', type=int, help="CPUs per job")
slurm.add_argument('--mem', help="memory per job, such as 16G")
slurm.add_argument('--gpus', help="GPUs per job, such as 1 or a100:1")
slurm.add_argument('--sbatch', action='append', metavar='OPTION',
                   help="any other sbatch option, such as --sbatch=--account=cs230 (repeat for several)")
slurm.add_argument('--poll', type=float, default=30, help="seconds between two looks at the queue (squeue)")


def main(args):
    # Everything is checked before the first job starts: a typo must not cost a night of jobs.
    if args.jobs < 1:
        raise InputError("--jobs must be at least 1, got {}".format(args.jobs))
    if args.launcher == 'slurm' and args.jobs != 1:
        raise InputError("--jobs does not apply with --launcher slurm: Slurm runs the jobs as its resources allow")
    if args.poll <= 0:
        raise InputError("--poll must be a positive number of seconds, got {}".format(args.poll))
    grid, slurm_section = read_search(args.parent_dir)
    resources = slurm_resources(args, slurm_section)
    prefix = launcher_prefix(args.launcher)
    jobs = plan_jobs(args.parent_dir, grid)
    check_data_dir(args.data_dir)

    skipped = [job for job in jobs if job.status == 'done']
    to_run = [job for job in jobs if job.status != 'done']
    for job in skipped:
        say('skipped {}: it has its results already'.format(job.name))
    if not os.path.exists(os.path.join(args.parent_dir, SEARCH_FILE)):
        say('No {} in {}: searching learning_rate over 1e-4, 1e-3, 1e-2'.format(SEARCH_FILE, args.parent_dir))

    # SIGTERM (a job manager stopping the search itself) stops the jobs as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    if args.launcher == 'slurm':
        if to_run:
            say('{} job(s) to run on Slurm; each writes its output to slurm-<job id>.out in its folder'.format(
                len(to_run)))
        outcomes, interrupted = run_slurm(
            to_run, lambda job: train_command(job, args.data_dir, sys.executable, TRAIN_PY, resume=False),
            resources, poll_seconds=args.poll)
    else:
        # A closed terminal stops local jobs too: left running, a new search would start them a second time.
        signal.signal(signal.SIGHUP, _interrupt)
        if to_run:
            say('Training {} job(s), {} at a time; each job writes its output to output.log in its folder'.format(
                len(to_run), min(args.jobs, len(to_run))))
        outcomes, interrupted = run_local(to_run, args.data_dir, sys.executable, TRAIN_PY,
                                          max_jobs=args.jobs, prefix=prefix)
    status = summarize(args.parent_dir, outcomes, skipped, interrupted)
    if status:
        raise SystemExit(status)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def slurm_resources(args, section):
    """The `slurm` section of search.json, overridden by the command line; checked even when not used."""
    check_resources(section, os.path.join(args.parent_dir, SEARCH_FILE))
    given = {'partition': args.partition, 'time': args.time, 'cpus': args.cpus, 'mem': args.mem,
             'gpus': int(args.gpus) if args.gpus and args.gpus.isdigit() else args.gpus,
             'extra': list(section.get('extra') or []) + args.sbatch if args.sbatch else None}
    given = {key: value for key, value in given.items() if value is not None}
    if given and args.launcher != 'slurm':
        key = next(iter(given))
        raise InputError("--{} only applies with --launcher slurm".format(CLI_FLAGS.get(key, key)))
    return dict(section, **check_resources(given))


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


def check_data_dir(data_dir):
    for split in ('train_signs', 'dev_signs'):
        if not os.path.isdir(os.path.join(data_dir, split)):
            raise InputError("No folder {}: build the dataset first (python build_dataset.py), "
                             "or pass --data_dir".format(os.path.join(data_dir, split)))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
