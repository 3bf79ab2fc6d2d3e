"""Write a job's job.sbatch and submit it with sbatch.

job.sbatch is the whole job: the #SBATCH lines of its resources, the folder's lock (one
job at a time trains in a folder), the setup lines, then train.py, resuming from the
last saved epoch if an earlier attempt saved one. The user can read it, and submit it
again by hand (`sbatch job.sbatch`).
"""
import os
import re
import shlex

from model.core.errors import InputError
from model.core.layout import LAST_WEIGHTS
from search.slurm.commands import InterruptedCommand, error_text, run_command
from search.slurm.resources import extra_lines, resource_lines

SCRIPT = 'job.sbatch'
JOB_ID_FILE = 'slurm.jobid'
LOCK_FILE = 'slurm.lock'
# The exit status of a job that found another job training in its folder.
LOCKED_EXIT = 3
# How long a job waits for the lock before giving up (the processes of a job that just
# ended at its time limit may take a few seconds to go).
LOCK_WAIT_SECONDS = 10


def job_script(job, command, resources, workdir):
    """The text of job.sbatch: the #SBATCH lines, the lock, the setup lines, then train.py (resuming if it can)."""
    folder = os.path.abspath(job.folder)
    # %j in the output name is the job id; a literal '%' in the folder name must be doubled.
    output = os.path.join(folder.replace('%', '%%'), 'slurm-%j.out')
    restore = os.path.join(job.folder, LAST_WEIGHTS)
    lines = [
        '#!/bin/bash',
        '# Job {} of a hyperparameter search, written by search_hyperparams.py.'.format(job.name),
        '# Submit it again with: sbatch {}'.format(shlex.quote(os.path.join(folder, SCRIPT))),
        '#SBATCH --job-name={}'.format(slurm_job_name(job)),
        '#SBATCH --output={}'.format(_sbatch_quote(output, 'The job folder')),
        '#SBATCH --chdir={}'.format(_sbatch_quote(workdir, 'The working directory')),
    ] + resource_lines(resources) + [
        '#SBATCH --open-mode=append',  # a requeued job adds to its log instead of overwriting it
    ] + extra_lines(resources) + [
        '',
        'export PYTHONUNBUFFERED=1  # the log fills as the job goes',
        'echo "==== Slurm job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname), $(date \'+%F %T\')"',
        '',
        '# One job at a time in this folder. The lock is held by file descriptor 9, which train.py',
        '# inherits through `exec`: it is freed when train.py ends, however it ends (a kill, a node failure).',
        'lock={}'.format(shlex.quote(os.path.join(folder, LOCK_FILE))),
        'if command -v flock > /dev/null; then',
        '    exec 9>> "$lock"',
        '    if ! flock --wait {} 9; then'.format(LOCK_WAIT_SECONDS),
        '        echo "Error: Slurm job $(head -c 32 "$lock") is training in this folder already: Slurm job '
        '$SLURM_JOB_ID stops without touching it" >&2',
        '        exit {}'.format(LOCKED_EXIT),
        '    fi',
        '    echo "$SLURM_JOB_ID" > "$lock"',
        'else',
        '    echo "Warning: no flock command: this job cannot check that no other job trains in its folder" >&2',
        'fi',
    ]
    setup = resources.get('setup') or []
    if setup:
        lines += [
            '',
            '# Setup (--setup, or "setup" in search.json): a line that fails stops the job before training.',
            "trap 'echo \"Error: the setup line \\\"$BASH_COMMAND\\\" of job.sbatch failed (status $?): the job "
            "stops before training\" >&2; exit 1' ERR",
        ] + [line.strip() for line in setup] + ['trap - ERR']
    lines += [
        '',
        '# Resume from the last saved epoch if an earlier attempt saved one (train.py refuses to start over).',
        'restore=()',
        # A checkpoint's .index file, not the Saver's state file: a run stopped in its first epoch
        # may leave the folder without any checkpoint to restore.
        'if compgen -G {}"/*.index" > /dev/null; then'.format(shlex.quote(restore)),
        '    restore=(--restore_from {})'.format(shlex.quote(restore)),
        'fi',
        'exec {} "${{restore[@]}}"'.format(shlex.join(command)),
    ]
    return '\n'.join(lines) + '\n'


def slurm_job_name(job):
    """The job's name in squeue: its folder name, with anything unusual made '_'."""
    return re.sub(r'[^A-Za-z0-9_.=+-]', '_', job.name)



def _sbatch_quote(value, what):
    """`value` quoted for an #SBATCH line: sbatch honours quotes there, but no backslash escapes."""
    if '\\' in value or '\n' in value or ('"' in value and "'" in value):
        raise InputError("{} {!r}: a Slurm job script cannot name a path holding a backslash, a line break, or "
                         "both kinds of quotes; rename it".format(what, value))
    return "'{}'".format(value) if '"' in value else '"{}"'.format(value)


def submit(script_path):
    """sbatch the script; the Slurm job id, or RuntimeError with sbatch's message."""
    try:
        result = run_command(['sbatch', '--parsable', script_path])
    except InterruptedCommand as e:
        if e.result.returncode == 0:
            e.job_id = _parse_job_id(e.result)
        raise
    if result.returncode != 0:
        raise RuntimeError(error_text(result))
    return _parse_job_id(result)


def _parse_job_id(result):
    return result.stdout.strip().split(';')[0]  # `--parsable` prints `id` or `id;cluster`
