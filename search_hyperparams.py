"""Perform a hyperparameter search: train one job per setting of search.json, each in its own folder"""
import argparse
import os
import signal
import sys

from examples import example_of
from model.core.errors import InputError, run_script
from model.utils import load_params
from search.grid import SEARCH_FILE, check_same_dataset, plan_jobs, read_search, train_command
from search.hparams_config import write_experiment_config
from search.local import launcher_prefix, run_local
from search.report import record_outcomes, say, summarize
from search.slurm.follow import run_slurm
from search.slurm.resources import slurm_resources

# train.py next to this script, so that the search runs from any working directory.
TRAIN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'train.py')

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument('--parent_dir', default='experiments/learning_rate',
                    help="Directory containing params.json, and search.json listing the values to try "
                         "(without it: learning_rate 1e-4, 1e-3, 1e-2)")
parser.add_argument('--data_dir', default=None,
                    help="Directory containing the dataset (default: data/64x64_SIGNS for the vision "
                         "example, data/NER for the NER example)")
parser.add_argument('--jobs', type=int, default=1, help="How many jobs run at the same time (not with slurm)")
parser.add_argument('--launcher', default=None,
                    help="'slurm' to submit each job with sbatch; or a command put in front of each job's "
                         "command, for another job manager, for example \"srun --gres=gpu:1\"")
slurm = parser.add_argument_group('Slurm options of each job (--launcher slurm; they override the "slurm" '
                                  'section of search.json)')
slurm.add_argument('--partition', help="partition to submit to")
slurm.add_argument('--time', help="time limit of each job, such as 1:00:00")
slurm.add_argument('--cpus', type=int, help="CPUs per job")
slurm.add_argument('--mem', help="memory per job, such as 16G")
slurm.add_argument('--gpus', help="GPUs per job (1 or more), such as 1 or a100:1")
slurm.add_argument('--account', help="account to charge the jobs to, such as cs230")
slurm.add_argument('--qos', help="quality of service of the jobs, such as normal")
slurm.add_argument('--signal', type=int, metavar='SECONDS',
                   help="ask Slurm for SIGTERM this many seconds before the time limit: train.py saves the epoch it "
                        "is in and stops cleanly (with --retries, the job goes on in a new one)")
slurm.add_argument('--retries', type=int,
                   help="resubmit a job that reached its time limit or was preempted up to this many times, each "
                        "attempt going on from the last saved epoch (default 0)")
slurm.add_argument('--max_queued', type=int, metavar='N',
                   help="keep at most N jobs of the search queued or running at once; the others are submitted as "
                        "jobs end (default: all at once)")
slurm.add_argument('--setup', action='append', metavar='LINE',
                   help="a shell line each job runs before train.py, such as --setup \"module load cuda/12.2\" "
                        "(repeat for several; after the \"setup\" list of search.json)")
slurm.add_argument('--sbatch', action='append', metavar='OPTION',
                   help="any other sbatch option, such as --sbatch=--constraint=a100 (repeat for several)")
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
    check_data_dir(args.data_dir, args.parent_dir)
    write_experiment_config(args.parent_dir, grid)  # the columns of TensorBoard's HParams dashboard

    skipped = [job for job in jobs if job.status == 'done']
    to_run = [job for job in jobs if job.status != 'done']
    for job in skipped:
        say('skipped {}: it has its results already'.format(job.name))
    if not os.path.exists(os.path.join(args.parent_dir, SEARCH_FILE)):
        say('No {} in {}: searching learning_rate over 1e-4, 1e-3, 1e-2'.format(SEARCH_FILE, args.parent_dir))

    # SIGTERM (a job manager stopping the search itself) stops the jobs as Ctrl-C does; so does Ctrl-C
    # for a search started with it ignored (in the background of a script), as SIGTERM is sent on as it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _as_ctrl_c)
    if args.launcher == 'slurm':
        if to_run:
            say('{} job(s) to run on Slurm; each writes its output to slurm-<job id>.out in its folder'.format(
                len(to_run)))
        outcomes, interrupted = run_slurm(
            to_run, lambda job: train_command(job, args.data_dir, sys.executable, TRAIN_PY, resume=False),
            resources, poll_seconds=args.poll)
    else:
        # A closed terminal stops local jobs too: left running, a new search would start them a second time.
        signal.signal(signal.SIGHUP, _as_ctrl_c)
        if to_run:
            say('Training {} job(s), {} at a time; each job writes its output to output.log in its folder'.format(
                len(to_run), min(args.jobs, len(to_run))))
        outcomes, interrupted = run_local(to_run, args.data_dir, sys.executable, TRAIN_PY,
                                          max_jobs=args.jobs, prefix=prefix)
    record_outcomes(args.parent_dir, to_run, outcomes)  # what the table of synthesize_results.py says of them
    status = summarize(args.parent_dir, outcomes, skipped, interrupted, total=len(jobs))
    if status:
        raise SystemExit(status)


def _as_ctrl_c(signum, frame):
    # Sent on as SIGINT, so that it is held back or ignored wherever Ctrl-C is (model/core/interrupts.py).
    signal.raise_signal(signal.SIGINT)


def check_data_dir(data_dir, parent_dir):
    """The data set the jobs train on must be there (each job would fail on it otherwise), and be the one the
    runs already in parent_dir were trained on."""
    params = load_params(parent_dir)
    example = example_of(params)
    data_dir = data_dir or example.DEFAULT_DATA_DIR
    for split in ('train', 'dev'):
        example.load_split(data_dir, split, params)
    check_same_dataset(parent_dir, example.dataset_identity(data_dir))


if __name__ == '__main__':
    run_script(main, parser.parse_args())
