"""Run the jobs of a search on a Slurm cluster: one batch job per setting, followed until all end.

For each job, a script `job.sbatch` is written into its folder (the user can read it,
and resubmit it with `sbatch job.sbatch`) and submitted with `sbatch`. The job runs
train.py with the interpreter and working directory of the search, so a virtual
environment carries over, and writes its output to `slurm-<id>.out` in its folder.

How the jobs are followed: one `squeue` call for all of them every `poll_seconds`,
rather than one `sbatch --wait` per job. A single query costs the controller
one request however many jobs there are (a hundred `sbatch --wait` would be a
hundred processes on the login node, each polling the controller), and it
gives each job's state by name (COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY,
CANCELLED...), where `sbatch --wait` gives an exit code only.

The id of each submitted job is kept in `slurm.jobid` in its folder. If the search
itself stops (a dropped connection to the login node), the jobs go on; the same
command run again follows the jobs still queued or running instead of submitting
them twice. Ctrl-C cancels (scancel) the jobs this search follows, and no other.
"""
import os
import re
import shlex
import shutil
import subprocess
import time

from model.errors import InputError
from model.layout import LAST_WEIGHTS
from search.grid import SEARCH_FILE, prepare_folder, status_of
from search.report import Outcome, say

SCRIPT = 'job.sbatch'
JOB_ID_FILE = 'slurm.jobid'
# The states in which a Slurm job is over (any other state: it is still queued or running).
FINAL_STATES = {'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED',
                'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT'}

# The resources a search can ask for: key of the `slurm` section of search.json -> (check, #SBATCH option).
_SIMPLE = re.compile(r'^[A-Za-z0-9_.,:=+-]+$')  # nothing an #SBATCH line would split or quote
RESOURCES = {
    'partition': (lambda v: isinstance(v, str) and _SIMPLE.match(v), '--partition',
                  'a partition name such as "gpu"'),
    'time': (lambda v: isinstance(v, str) and re.match(r'^((\d+-)?\d+(:\d+){0,2}|\d+-\d+|UNLIMITED|INFINITE)$',
                                                        v, re.IGNORECASE), '--time',
             'a time limit such as "1:00:00" (hours:minutes:seconds), "90" (minutes) or "2-00:00:00" (days)'),
    'cpus': (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, '--cpus-per-task',
             'a number of CPUs such as 4'),
    'mem': (lambda v: isinstance(v, str) and re.match(r'^\d+[KMGT]?$', v, re.IGNORECASE), '--mem',
            'an amount of memory such as "16G"'),
    'gpus': (lambda v: (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or
             (isinstance(v, str) and _SIMPLE.match(v)), '--gpus', 'a number of GPUs such as 1, or "a100:1"'),
    'extra': (lambda v: isinstance(v, list) and all(isinstance(line, str) and '\n' not in line and
                                                    line.strip().startswith(('-', '#SBATCH')) for line in v),
              None, 'a list of #SBATCH options such as ["--account=cs230", "--qos=normal"]'),
}


def check_resources(resources, source=None):
    """Raise InputError for an unknown key or a malformed value, naming the file `source` (None: the command line)."""
    for key, value in resources.items():
        if key not in RESOURCES:
            raise InputError("{}: unknown Slurm resource '{}'; known: {}".format(source, key, ', '.join(RESOURCES)))
        check, _, example = RESOURCES[key]
        if value is not None and not check(value):
            what = "{}: Slurm '{}'".format(source, key) if source else '--' + CLI_FLAGS.get(key, key)
            raise InputError("{} must be {}, got {!r}".format(what, example, value))
    return resources


# The command-line flags of search_hyperparams.py whose names differ from the keys of the slurm section.
CLI_FLAGS = {'extra': 'sbatch'}


def sbatch_lines(resources):
    """The #SBATCH lines asking for `resources`."""
    lines = []
    for key, (_, option, _) in RESOURCES.items():
        value = resources.get(key)
        if value is None or option is None or (key == 'gpus' and value == 0):
            continue
        lines.append('#SBATCH {}={}'.format(option, value))
    for line in resources.get('extra') or []:
        line = line.strip()
        lines.append(line if line.startswith('#SBATCH') else '#SBATCH ' + line)
    return lines


def _sbatch_quote(value, what):
    """`value` quoted for an #SBATCH line: sbatch honours quotes there, but no backslash escapes."""
    if '\\' in value or '\n' in value or ('"' in value and "'" in value):
        raise InputError("{} {!r}: a Slurm job script cannot name a path holding a backslash, a line break, or "
                         "both kinds of quotes; rename it".format(what, value))
    return "'{}'".format(value) if '"' in value else '"{}"'.format(value)


def job_script(job, command, resources, workdir):
    """The text of job.sbatch: the #SBATCH lines, then train.py, resuming from last_weights if there are some."""
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
    ] + sbatch_lines(resources) + [
        '',
        'export PYTHONUNBUFFERED=1  # the log fills as the job goes',
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


def _run(command):
    """Run a Slurm command (an argument list); its CompletedProcess, or InputError if it is not installed."""
    try:
        return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    except FileNotFoundError:
        raise InputError("--launcher slurm: no command '{}' found on the PATH (run the search on a Slurm login "
                         "node)".format(command[0])) from None


def _first_error_line(result):
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else 'exit status {}'.format(result.returncode)


def submit(script_path):
    """sbatch the script; the Slurm job id, or RuntimeError with sbatch's message."""
    result = _run(['sbatch', '--parsable', script_path])
    if result.returncode != 0:
        raise RuntimeError(_first_error_line(result))
    return result.stdout.strip().split(';')[0]  # `--parsable` prints `id` or `id;cluster`


class Status:
    """What Slurm says about a job: state (COMPLETED...), exit (text, or ''), seconds used, name; final if over."""

    def __init__(self, state, exit_text='', seconds=None, name=None, final=None):
        self.state, self.exit_text, self.seconds, self.name = state, exit_text, seconds, name
        self.final = state in FINAL_STATES if final is None else final


def query(job_ids):
    """{job id: Status} for the jobs squeue still knows (finished ones stay listed for MinJobAge, 5 min by default).

    None if squeue itself failed (the controller busy or restarting): ask again later.
    """
    result = _run(['squeue', '--noheader', '--states=all', '--jobs=' + ','.join(job_ids),
                   '--Format=JobID:|,State:|,exit_code:|,TimeUsed:|,Name:'])
    statuses = {}
    if result.returncode != 0:
        if 'Invalid job id' in result.stderr:
            return statuses  # none of them is known any more
        return None
    for line in result.stdout.splitlines():
        fields = line.split('|', 4)
        if len(fields) == 5 and fields[0].strip() in job_ids:
            job_id, state, code, used, name = (field.strip() for field in fields)
            statuses[job_id] = Status(state.split()[0] if state else 'UNKNOWN', _wait_status_text(code),
                                      _seconds(used), name)
    return statuses


def query_accounting(job_id):
    """The Status of a job squeue forgot, from sacct; None where accounting is not set up."""
    result = _run(['sacct', '--noheader', '--parsable2', '--allocations', '--jobs=' + job_id,
                   '--format=JobID,State,ExitCode,Elapsed'])
    for line in result.stdout.splitlines() if result.returncode == 0 else []:
        fields = line.split('|')
        if len(fields) == 4 and fields[0] == job_id:
            code, _, signal_number = fields[2].partition(':')
            exit_text = 'signal {}'.format(signal_number) if signal_number not in ('', '0') else \
                ('exit status {}'.format(code) if code not in ('', '0') else '')
            return Status(fields[1].split()[0], exit_text, _seconds(fields[3]))
    return None


def _wait_status_text(code):
    """squeue's exit_code is a raw wait status: 512 is exit status 2, 15 is signal 15."""
    if not code.isdigit() or int(code) == 0:
        return ''
    code = int(code)
    return 'signal {}'.format(code & 0x7f) if code & 0x7f else 'exit status {}'.format(code >> 8)


def _seconds(used):
    """Slurm's `[days-][hours:]minutes:seconds` in seconds, or None."""
    match = re.match(r'^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$', used.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


class _Followed:
    """A job this search follows: its Slurm id and what is known of it."""

    def __init__(self, job, job_id):
        self.job, self.job_id = job, job_id

    @property
    def log(self):
        return os.path.join(self.job.folder, 'slurm-{}.out'.format(self.job_id))

    def outcome(self, status):
        ok = status.state == 'COMPLETED'
        state = status.state + (', ' + status.exit_text if status.exit_text else '')
        return Outcome(self.job, ok, state, self.log, status.seconds, job_id=self.job_id)


def run_slurm(jobs, command_of, resources, poll_seconds=30):
    """Submit `jobs` to Slurm (or follow them if a previous search did) and wait until all end.

    command_of(job) is the train.py argument list of a job. Returns (outcomes, interrupted),
    as run_local does. On Ctrl-C, the jobs followed are cancelled with scancel.
    """
    for program in ('sbatch', 'squeue', 'scancel'):
        if shutil.which(program) is None:
            raise InputError("--launcher slurm: no command '{}' found on the PATH (run the search on a Slurm "
                             "login node)".format(program))
    workdir = os.getcwd()
    # Every script first, so that a path a job script cannot hold stops the search before it submits anything.
    scripts = [job_script(job, command_of(job), resources, workdir) for job in jobs]
    followed, outcomes = [], []
    try:
        for index, (job, script) in enumerate(zip(jobs, scripts)):
            already = _still_queued(job)
            if already:
                followed.append(_Followed(job, already))
                say('following {}: already Slurm job {}'.format(job.name, already))
                continue
            prepare_folder(job)
            script_path = os.path.join(job.folder, SCRIPT)
            with open(script_path, 'w', encoding='utf-8') as f:
                f.write(script)
            try:
                job_id = submit(script_path)
            except RuntimeError as e:
                if not followed and index == 0:  # the first job: nothing is queued, say it in one line
                    raise InputError('sbatch refused {}: {}'.format(script_path, e)) from None
                outcomes.append(Outcome(job, False, 'not submitted', script_path, detail=str(e)))
                say('[{}/{}] {}'.format(len(outcomes), len(jobs), outcomes[-1].describe()))
                continue
            followed.append(_Followed(job, job_id))  # at once: from now on, Ctrl-C cancels it
            with open(os.path.join(job.folder, JOB_ID_FILE), 'w') as f:
                f.write(job_id + '\n')
            say('submitted {} as Slurm job {}'.format(job.name, job_id))

        waiting = list(followed)
        while waiting:
            time.sleep(poll_seconds)
            statuses = query([f.job_id for f in waiting])
            if statuses is None:
                continue  # squeue failed this time; the jobs go on regardless
            for f in list(waiting):
                status = statuses.get(f.job_id) or query_accounting(f.job_id) or _forgotten(f.job)
                if status.final:
                    waiting.remove(f)
                    outcomes.append(f.outcome(status))
                    say('[{}/{}] {}'.format(len(outcomes), len(jobs), outcomes[-1].describe()))
    except KeyboardInterrupt:
        done = {o.job_id for o in outcomes}
        to_cancel = [f for f in followed if f.job_id not in done]
        if to_cancel:
            _run(['scancel'] + [f.job_id for f in to_cancel])
            for f in to_cancel:
                say('cancelled {}: Slurm job {} (log: {})'.format(f.job.name, f.job_id, f.log))
        return outcomes, True
    return outcomes, False


def _still_queued(job):
    """The id of a job that an earlier search submitted for this folder and that is not over yet, or None."""
    try:
        with open(os.path.join(job.folder, JOB_ID_FILE)) as f:
            job_id = f.read().strip()
    except OSError:
        return None
    status = (query([job_id]) or {}).get(job_id) if job_id.isdigit() else None
    # The name must match too: on a reinstalled cluster the ids start again from 1.
    if status and not status.final and status.name == slurm_job_name(job):
        return job_id
    return None


def _forgotten(job):
    """A job neither squeue nor sacct knows any more: judged by its files (a result of every epoch: done)."""
    if status_of(job.folder, job.params['num_epochs']) == 'done':
        return Status('COMPLETED', 'judged by its metrics files', final=True)
    return Status('UNKNOWN', 'over, but squeue and sacct no longer know how it ended', final=True)


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
