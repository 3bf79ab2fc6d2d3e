"""Run the jobs of a search on a Slurm cluster: one batch job per setting, followed until all end.

For each job, a script `job.sbatch` is written into its folder (the user can read it,
and resubmit it with `sbatch job.sbatch`) and submitted with `sbatch`. The job runs
train.py with the interpreter and working directory of the search, so a virtual
environment carries over, and appends its output to `slurm-<id>.out` in its folder
(a job that Slurm requeues keeps the output of its earlier attempts).

How the jobs are followed: one `squeue` call for all of them every `poll_seconds`,
rather than one `sbatch --wait` per job. A single query costs the controller
one request however many jobs there are (a hundred `sbatch --wait` would be a
hundred processes on the login node, each polling the controller), and it
gives each job's state by name (COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY,
CANCELLED...) and why a pending job waits, where `sbatch --wait` gives an exit code only.
Whether a job trained is judged by its folder (the epoch of its last metrics file), not
by its Slurm state: a job that saved its last epoch and was then killed at its time
limit has its result.

Never two jobs training in one folder:
- Before submitting, the search looks in the queue for a live job of this search for
  that folder (same job name, and its log going to that folder) and follows it instead:
  a job submitted by an earlier search whose id was lost (sbatch timed out but Slurm
  created the job), or a `job.sbatch` the user resubmitted by hand. The id of each job
  is also kept in `slurm.jobid` in its folder.
- Each job takes a lock (`flock` on `slurm.lock` in its folder) before training and holds
  it as long as train.py runs: a second job for the same folder stops at once with a
  message naming the first. The lock belongs to the open file, which the job's
  processes hold: a job that is killed, cancelled or whose node fails frees it.

Ctrl-C cancels (scancel) the jobs this search follows, and no other; if scancel fails
(a controller that does not answer), the search says which jobs may still be running.
"""
import collections
import json
import os
import re
import shlex
import shutil
import subprocess
import time

from model.core.errors import InputError
from model.core.layout import EVAL_LAST_METRICS, LAST_WEIGHTS
from search.grid import SEARCH_FILE, prepare_folder, status_of
from search.report import Outcome, format_duration, last_line, say

SCRIPT = 'job.sbatch'
JOB_ID_FILE = 'slurm.jobid'
LOCK_FILE = 'slurm.lock'
# The exit status of a job that found another job training in its folder.
LOCKED_EXIT = 3
# How long a job waits for the lock before giving up (the processes of a job that just
# ended at its time limit may take a few seconds to go).
LOCK_WAIT_SECONDS = 10
# The states in which a Slurm job is over (any other state: it is still queued or running).
FINAL_STATES = {'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED',
                'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT'}
# The states after which a job is resubmitted (up to `retries` times): not the job's fault,
# and the next attempt goes on from its last saved epoch.
RETRY_STATES = {'TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL'}
# Pending reasons that nothing but a change of the job's request clears: such a job is cancelled.
NEVER_REASONS = {'PartitionConfig', 'BadConstraints', 'PartitionNodeLimit', 'PartitionTimeLimit',
                 'InvalidAccount', 'InvalidQOS', 'QOSNotAllowed', 'AccountNotAllowed', 'DependencyNeverSatisfied',
                 'MaxMemPerLimit'}
# ... and the per-job limits of a QOS or an association (QOSMaxCpuPerJobLimit, AssocMaxWallDurationPerJobLimit...).
NEVER_REASON_PATTERN = re.compile(r'^(QOS|Assoc)(Max|Min)\w*(PerJob|NotSatisfied|PerJobLimit)\w*$|^QOSMin\w+$')
# Pending reasons that mean the partition has no node to run on now: an administrator must act.
NODES_REASONS = ('ReqNodeNotAvail', 'Nodes required for job are DOWN', 'PartitionDown', 'PartitionInactive',
                 'NodeDown')
# sinfo's short node states in which a node takes no new job.
UNUSABLE_NODE_STATES = {'down', 'drain', 'drng', 'drained', 'draining', 'fail', 'failg', 'inval'}


def _name(value):
    return isinstance(value, str) and re.match(r'^[A-Za-z0-9_.-]+$', value)


def _int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


_SIMPLE = re.compile(r'^[A-Za-z0-9_.,:=+-]+$')  # nothing an #SBATCH line would split or quote
TIME = re.compile(r'^((\d+-)?\d+(:\d+){0,2}|\d+-\d+|UNLIMITED|INFINITE)$', re.IGNORECASE)
# The keys of the `slurm` section of search.json -> (check, #SBATCH option or None, what it must be).
# The command-line flag of each is --<key> (--sbatch for `extra`).
RESOURCES = {
    'partition': (lambda v: isinstance(v, str) and _SIMPLE.match(v), '--partition',
                  'a partition name such as "gpu"'),
    'time': (lambda v: isinstance(v, str) and TIME.match(v), '--time',
             'a time limit such as "1:00:00" (hours:minutes:seconds), "90" (minutes) or "2-00:00:00" (days)'),
    'cpus': (lambda v: _int(v, 1), '--cpus-per-task', 'a number of CPUs such as 4'),
    'mem': (lambda v: isinstance(v, str) and re.match(r'^\d+[KMGT]?$', v, re.IGNORECASE), '--mem',
            'an amount of memory such as "16G"'),
    'gpus': (lambda v: _int(v, 1) or (isinstance(v, str) and re.match(r'^([A-Za-z0-9_.-]+:)?[1-9]\d*$', v)),
             '--gpus', 'a number of GPUs (1 or more) such as 1, or a type and number such as "a100:1"'),
    'extra': (lambda v: isinstance(v, list) and all(_sbatch_option(line) for line in v),
              None, 'a list of #SBATCH options such as ["--constraint=a100", "--mail-type=END"]'),
    'account': (_name, '--account', 'an account name such as "cs230"'),
    'qos': (_name, '--qos', 'a QOS name such as "normal"'),
    'signal': (lambda v: _int(v, 1) and v <= 65535, None,
               'a number of seconds (1 to 65535) before the time limit, such as 300'),
    'setup': (lambda v: isinstance(v, list) and all(isinstance(line, str) and line.strip() and '\n' not in line
                                                    and '\r' not in line for line in v),
              None, 'a list of shell lines run before train.py, such as ["module load cuda/12.2"]'),
    'retries': (lambda v: _int(v, 0), None, 'a number of resubmissions (0 or more) such as 2'),
    'max_queued': (lambda v: _int(v, 1), None, 'a number of jobs (1 or more) such as 20'),
}
# The command-line flags whose names differ from the keys of the slurm section, and what one value
# of a repeatable flag must be.
CLI_FLAGS = {'extra': 'sbatch'}
CLI_VALUES = {'extra': 'an sbatch option such as --sbatch=--constraint=a100',
              'setup': 'one shell line such as --setup "module load cuda/12.2"'}


def _sbatch_option(line):
    return isinstance(line, str) and '\n' not in line and '\r' not in line and \
        line.strip().startswith(('-', '#SBATCH'))


def check_resources(resources, source=None):
    """Raise InputError for an unknown key or a malformed value, naming the file `source` (None: the command line)."""
    for key, value in resources.items():
        if key not in RESOURCES:
            raise InputError("{}: unknown Slurm resource '{}'; known: {}".format(source, key, ', '.join(RESOURCES)))
        check, _, example = RESOURCES[key]
        if value is None:
            continue
        if source is None and key in CLI_VALUES:  # a repeatable flag: each value on its own
            for item in value:
                if not check([item]):
                    raise InputError("--{} must be {}, got {!r}".format(CLI_FLAGS.get(key, key), CLI_VALUES[key],
                                                                        item))
        elif not check(value):
            what = "{}: Slurm '{}'".format(source, key) if source else '--' + CLI_FLAGS.get(key, key)
            raise InputError("{} must be {}, got {!r}".format(what, example, value))
    return resources


def time_limit_seconds(text):
    """A Slurm time limit (checked by TIME) in seconds; None for no limit."""
    if text.upper() in ('UNLIMITED', 'INFINITE'):
        return None
    days, _, rest = text.rpartition('-')
    parts = [int(part) for part in rest.split(':')]
    if days:  # days-hours[:minutes[:seconds]]
        hours, minutes, seconds = (parts + [0, 0])[:3]
    else:  # minutes, minutes:seconds, hours:minutes:seconds
        hours, minutes, seconds = ([0] + parts + [0])[:3] if len(parts) < 3 else parts
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def sbatch_lines(resources):
    """The #SBATCH lines asking for `resources`: the resources first, then the `extra` options as given."""
    return _resource_lines(resources) + _extra_lines(resources)


def _resource_lines(resources):
    lines = []
    for key, (_, option, _) in RESOURCES.items():
        value = resources.get(key)
        if value is None or option is None or (key == 'gpus' and value == 0):
            continue
        lines.append('#SBATCH {}={}'.format(option, value))
    if resources.get('signal'):
        # B: to the batch shell only, which is train.py itself (the script ends with `exec`):
        # it saves the epoch it is in and exits (status 143) before the time limit kills it.
        lines.append('#SBATCH --signal=B:TERM@{}'.format(resources['signal']))
    return lines


def _extra_lines(resources):
    lines = []
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
    ] + _resource_lines(resources) + [
        '#SBATCH --open-mode=append',  # a requeued job adds to its log instead of overwriting it
    ] + _extra_lines(resources) + [
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


class _InterruptedCommand(KeyboardInterrupt):
    """Ctrl-C came while a Slurm command ran; it was let finish, and here is its result."""

    def __init__(self, result):
        super().__init__()
        self.result = result


def _run(command, timeout=120):
    """Run a Slurm command (an argument list); its CompletedProcess, or InputError if it is not installed.

    The command runs in its own session, so that the terminal's Ctrl-C does not kill it halfway
    (an sbatch killed after sending its request may still create a job): a Ctrl-C meanwhile lets it
    finish, then raises _InterruptedCommand carrying its result.
    """
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
    except FileNotFoundError:
        raise InputError("--launcher slurm: no command '{}' found on the PATH (run the search on a Slurm login "
                         "node)".format(command[0])) from None
    interrupted = False
    while True:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            break
        except KeyboardInterrupt:
            interrupted = True
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            stderr += '\n{} did not answer within {} s'.format(command[0], timeout)
            break
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if interrupted:
        raise _InterruptedCommand(result)
    return result


def error_text(result):
    """What a failed Slurm command said: its error lines (not the 'Try --help' hint), joined."""
    lines = []
    for line in (result.stderr + '\n' + result.stdout).splitlines():
        line = line.strip()
        if not line or line.startswith('Try "') or line.startswith("Try '"):
            continue
        line = re.sub(r'^(sbatch|squeue|scancel|sinfo|sacct): (error: )?', '', line)
        if line not in lines:
            lines.append(line)
    return '; '.join(lines) if lines else 'exit status {}'.format(result.returncode)


# Errors of a command that may have reached the controller although it failed: the job may exist.
UNSURE = re.compile(r'timed out|time out|Unable to contact|Connection refused|Zero Bytes|Transport endpoint|'
                    r'did not answer|Socket', re.IGNORECASE)


def submit(script_path):
    """sbatch the script; the Slurm job id, or RuntimeError with sbatch's message."""
    try:
        result = _run(['sbatch', '--parsable', script_path])
    except _InterruptedCommand as e:
        if e.result.returncode == 0:
            e.job_id = _parse_job_id(e.result)
        raise
    if result.returncode != 0:
        raise RuntimeError(error_text(result))
    return _parse_job_id(result)


def _parse_job_id(result):
    return result.stdout.strip().split(';')[0]  # `--parsable` prints `id` or `id;cluster`


class Status:
    """What Slurm says about a job: state (COMPLETED...), exit (text, or ''), seconds used, name, pending
    reason, time limit (seconds, None if none or unknown), partition; final if over."""

    def __init__(self, state, exit_text='', seconds=None, name=None, final=None, reason='', limit=None,
                 partition=''):
        self.state, self.exit_text, self.seconds, self.name = state, exit_text, seconds, name
        self.reason, self.limit, self.partition = reason, limit, partition
        self.final = state in FINAL_STATES if final is None else final


SEPARATOR = '\x1f'  # between squeue's fields: no name or path holds it


def _squeue(fields, *options):
    """squeue's rows (lists of `fields`); None if squeue failed (the controller busy or restarting)."""
    result = _run(['squeue', '--noheader', *options,
                   '--Format=' + ','.join(field + ':' + SEPARATOR for field in fields[:-1]) + ',' + fields[-1] + ':'])
    if result.returncode != 0:
        if 'Invalid job id' in result.stderr:
            return []  # none of them is known any more
        _squeue.error = error_text(result)
        return None
    rows = [line.split(SEPARATOR) for line in result.stdout.splitlines()]
    return [[field.strip() for field in row] for row in rows if len(row) == len(fields)]


_squeue.error = ''


def query(job_ids):
    """{job id: Status} for the jobs squeue still knows (finished ones stay listed for MinJobAge, 5 min by default).

    None if squeue itself failed (the controller busy or restarting): ask again later.
    """
    rows = _squeue(['JobID', 'State', 'exit_code', 'TimeUsed', 'TimeLimit', 'Partition', 'Name', 'Reason'],
                   '--states=all', '--jobs=' + ','.join(job_ids))
    if rows is None:
        return None
    statuses = {}
    for job_id, state, code, used, limit, partition, name, reason in rows:
        if job_id in job_ids:
            statuses[job_id] = Status(state.split()[0] if state else 'UNKNOWN', _wait_status_text(code),
                                      _seconds(used), name, reason=reason, partition=partition,
                                      limit=time_limit_seconds(limit) if TIME.match(limit) else None)
    return statuses


class _Live:
    """A job in the queue, not over yet: id, state, name, working directory, and the folder of its log."""

    def __init__(self, job_id, state, name, workdir, stdout):
        self.job_id, self.state, self.name, self.workdir = job_id, state, name, workdir
        # squeue shows the --output pattern as written: this search doubles a '%' of the folder name.
        self.log_folder = os.path.dirname(stdout).replace('%%', '%') if os.path.isabs(stdout) else None


def live_jobs():
    """This user's jobs that are queued or running, as _Live; None if squeue failed."""
    rows = _squeue(['JobID', 'State', 'Name', 'WorkDir', 'StdOut'], '--user=' + str(os.getuid()))
    if rows is None:
        return None
    return [_Live(*row) for row in rows if row[1] not in FINAL_STATES]


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def jobs_for(job, live, workdir):
    """The ids of the jobs of `live` that train `job`'s folder: its name, and a log in its folder
    (or, for a job without a log path of its own, the working directory of the search)."""
    name = slurm_job_name(job)
    found = [j for j in live if j.name == name and
             (_same_path(j.log_folder, job.folder) if j.log_folder else _same_path(j.workdir, workdir))]
    # The one running first (it holds the folder's lock), then the oldest.
    found.sort(key=lambda j: (j.state != 'RUNNING', int(j.job_id) if j.job_id.isdigit() else 0))
    return [j.job_id for j in found]


def query_accounting(job_id):
    """The Status of a job squeue forgot, from sacct; None where accounting is not set up."""
    if shutil.which('sacct') is None:
        return None
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


def _saved_epoch(folder):
    """The last epoch whose metrics the folder holds, or None."""
    try:
        with open(os.path.join(folder, EVAL_LAST_METRICS)) as f:
            epoch = json.load(f).get('epoch')
    except (OSError, ValueError, AttributeError):
        return None
    return epoch if isinstance(epoch, int) else None


def _nodes_unusable(partition):
    """True if sinfo says that no node of `partition` (a name, or names joined by ',') takes new jobs."""
    if not partition or shutil.which('sinfo') is None:
        return False
    result = _run(['sinfo', '--noheader', '--partition=' + partition, '--format=%t'])
    states = [state.rstrip('*~#!%$@^-+') for state in result.stdout.split()] if result.returncode == 0 else []
    return bool(states) and all(state in UNUSABLE_NODE_STATES for state in states)


class _Tracked:
    """A job of this search on Slurm: its current Slurm id, its attempt, and what was last said about it."""

    def __init__(self, job, job_id, attempt=1):
        self.job, self.job_id, self.attempt = job, job_id, attempt
        self.state, self.reason = None, None

    @property
    def log(self):
        return os.path.join(self.job.folder, 'slurm-{}.out'.format(self.job_id))

    @property
    def started(self):
        """Whether the job ever ran: Slurm creates its log as it starts."""
        return os.path.exists(self.log)


class _Search:
    """The state of one run of run_slurm: the jobs still to submit, those followed, the outcomes."""

    def __init__(self, jobs, scripts, resources, poll_seconds, workdir):
        self.jobs, self.scripts, self.poll_seconds, self.workdir = jobs, scripts, poll_seconds, workdir
        self.retries = resources.get('retries') or 0
        self.max_queued = resources.get('max_queued')
        self.signal = resources.get('signal')
        self.to_submit = list(jobs)
        self.active, self.outcomes = [], []
        self.status_line = None

    # --- submitting ---

    def follow_live_jobs(self):
        """Follow the jobs that an earlier search (or the user, by hand) submitted for these folders."""
        live = live_jobs()
        for job in list(self.to_submit):
            ids = jobs_for(job, live, self.workdir) if live is not None else _from_id_file(job)
            if ids:
                self.to_submit.remove(job)
                self._follow(job, ids[0])
                others = ' (also for this folder: Slurm job {}; it waits for the folder\'s lock, cancel it with '\
                    'scancel {} if it was a mistake)'.format(', '.join(ids[1:]), ' '.join(ids[1:])) if ids[1:] else ''
                say('following {}: already Slurm job {}{}'.format(job.name, ids[0], others))

    def _follow(self, job, job_id, attempt=1):
        tracked = _Tracked(job, job_id, attempt)
        self.active.append(tracked)  # at once: from now on, Ctrl-C cancels it
        with open(os.path.join(job.folder, JOB_ID_FILE), 'w') as f:
            f.write(job_id + '\n')
        return tracked

    def submit_what_fits(self):
        while self.to_submit and (self.max_queued is None or len(self.active) < self.max_queued):
            job = self.to_submit.pop(0)
            self._submit(job)

    def _submit(self, job, attempt=1, why=''):
        """sbatch the job's script and follow the job; an outcome if no job could be made."""
        prepare_folder(job)
        script_path = os.path.join(job.folder, SCRIPT)
        with open(script_path, 'w', encoding='utf-8') as f:
            f.write(self.scripts[job.name])
        try:
            job_id = submit(script_path)
        except _InterruptedCommand as e:
            if getattr(e, 'job_id', None):
                self._follow(job, e.job_id, attempt)
            raise KeyboardInterrupt from None
        except RuntimeError as e:
            job_id = self._created_anyway(job, str(e), attempt)
            if job_id is None:
                return
            say('{}: sbatch said "{}", but Slurm made job {} for it: following it'.format(job.name, e, job_id))
            self._follow(job, job_id, attempt)
            return
        self._follow(job, job_id, attempt)
        if attempt == 1:
            say('submitted {} as Slurm job {}'.format(job.name, job_id))
        else:
            say('resubmitted {} as Slurm job {} (attempt {} of {}){}'.format(
                job.name, job_id, attempt, self.retries + 1, why))

    def _created_anyway(self, job, error, attempt):
        """After a failed sbatch: the id of the job Slurm made anyway for this folder, or None (then it says why).

        sbatch may time out waiting for a busy controller that creates the job all the same.
        """
        unsure = UNSURE.search(error)
        deadline = time.monotonic() + 120
        looks = 0
        while True:
            live = live_jobs()
            if live is not None:
                looks += 1
                ids = jobs_for(job, live, self.workdir)
                if ids:
                    return ids[0]
                # A controller that was slow may not have handled the request yet: look twice.
                if not unsure or looks >= 2:
                    break
            elif time.monotonic() > deadline:
                break
            time.sleep(min(5, self.poll_seconds))
        script_path = os.path.join(job.folder, SCRIPT)
        if live is None:
            error += ('; Slurm does not answer, so a job may have been made all the same: check squeue before '
                      'running the search again (it follows such a job)')
        elif attempt == 1 and not self.active and not self.outcomes and job is self.jobs[0]:
            # The first job, nothing else queued: the script or the options are wrong; one line says it.
            raise InputError('sbatch refused {}: {}'.format(script_path, error))
        self._end(Outcome(job, False, 'not submitted', script_path, detail=error))
        return None

    # --- following ---

    def look(self):
        """One look at the queue: report the jobs that ended, resubmit or stop some; print the status line."""
        statuses = query([t.job_id for t in self.active])
        if statuses is None:
            self._status('Slurm does not answer ({}); asking again in {}'.format(
                _squeue.error, format_duration(self.poll_seconds)))
            return
        for tracked in list(self.active):
            status = statuses.get(tracked.job_id) or query_accounting(tracked.job_id) or _forgotten(tracked.job)
            tracked.state = status.state
            if status.final:
                self.active.remove(tracked)
                self._ended(tracked, status)
            elif status.state == 'PENDING':
                self._pending(tracked, status)
            else:
                tracked.reason = None  # running: a later wait (requeued) is reported again
        self._status(self._counts(statuses))

    def _ended(self, tracked, status):
        job = tracked.job
        outcome = Outcome(job, False, status.state + (', ' + status.exit_text if status.exit_text else ''),
                          tracked.log, status.seconds, job_id=tracked.job_id)
        if status_of(job.folder, job.params['num_epochs']) == 'done':  # judged by its folder, whatever its state
            outcome.ok = True
            if status.state != 'COMPLETED':
                outcome.state = status.state + ', but it had saved its last epoch'
            self._end(outcome)
            return
        stopped_at_limit = status.state == 'TIMEOUT' or self._stopped_by_warning(status)
        saved = _saved_epoch(job.folder)
        progress = 'epoch {} of {} saved'.format(saved, job.params['num_epochs']) if saved else 'no epoch saved'
        if status.state == 'COMPLETED':
            outcome.detail = 'train.py ended without the result of its last epoch ({})'.format(progress)
        elif stopped_at_limit or status.state in RETRY_STATES:
            if tracked.attempt <= self.retries:
                why = ': Slurm job {} {} after {} ({})'.format(
                    tracked.job_id, 'reached its time limit' if status.state == 'TIMEOUT' else
                    'stopped before its time limit' if stopped_at_limit else status.state,
                    format_duration(status.seconds or 0), progress)
                self._submit(job, tracked.attempt + 1, why)
                return
            attempts = ' (attempt {} of {})'.format(tracked.attempt, self.retries + 1) if self.retries else ''
            if stopped_at_limit:
                outcome.state = 'TIMEOUT' if status.state == 'TIMEOUT' else \
                    'stopped {} s before its time limit (--signal)'.format(self.signal)
                outcome.detail = '{}{}: run the search again with a longer --time{} to go on from there'.format(
                    progress, attempts, ' (or more --retries)' if self.retries else '')
            else:
                outcome.detail = '{}{}: run the search again to go on from there'.format(progress, attempts)
        elif status.state == 'CANCELLED' or status.exit_text in ('exit status 143', 'exit status 130',
                                                                  'signal 15', 'signal 9', 'signal 2'):
            outcome.detail = 'stopped from outside the search ({}): run the search again to go on from ' \
                             'there'.format(progress)
        elif status.state == 'OUT_OF_MEMORY':
            outcome.detail = '{} (ask for more --mem)'.format(last_line(tracked.log) or 'out of memory')
        self._end(outcome)

    def _stopped_by_warning(self, status):
        """A job that train.py ended (status 143) on the --signal warning before its time limit."""
        if not self.signal or status.exit_text not in ('exit status 143', 'signal 15'):
            return False
        if status.limit is None or status.seconds is None:
            return True
        return status.limit - status.seconds <= self.signal + 90  # Slurm may signal up to a minute early

    def _pending(self, tracked, status):
        reason = status.reason or 'None'
        if reason == tracked.reason:
            return
        tracked.reason = reason
        job = tracked.job
        if reason in NEVER_REASONS or NEVER_REASON_PATTERN.match(reason):
            # Waiting longer changes nothing: cancel it, so that the search run again (with other
            # options) submits a new job instead of following this one.
            cancelled = not self._cancel([tracked], report=False)
            self.active.remove(tracked)
            self._end(Outcome(job, False, 'PENDING ({})'.format(reason), None, job_id=tracked.job_id, detail=(
                'it can never start as it asks ({}); {}: ask for less (--cpus, --mem, --gpus, --time) or choose '
                'another --partition, --account or --qos, then run the search again'.format(
                    _explain(reason), 'cancelled it' if cancelled else 'could not cancel it: scancel {}'.format(
                        tracked.job_id)))))
        elif any(reason.startswith(prefix) for prefix in NODES_REASONS) and _nodes_unusable(status.partition):
            # An administrator may return a node: the job stays queued, the search no longer waits for it.
            self.active.remove(tracked)
            self._end(Outcome(job, False, 'PENDING ({})'.format(reason), None, job_id=tracked.job_id, detail=(
                'no node of partition {} takes jobs now (drained or down); the job stays queued until an '
                'administrator returns one (sinfo shows them; cancel it with scancel {})'.format(
                    status.partition, tracked.job_id))))
        elif reason != 'None':
            say('{}: Slurm job {} pending ({})'.format(job.name, tracked.job_id, reason))

    def _counts(self, statuses):
        """`Slurm: 1 running, 2 pending (2 Priority), 3 done, 1 failed, 4 to submit`."""
        states = collections.Counter()
        reasons = collections.Counter()
        for tracked in self.active:
            status = statuses.get(tracked.job_id) or Status('PENDING')  # submitted since the query
            if status.state == 'PENDING' and status.reason not in ('', 'None'):
                reasons[status.reason] += 1
            states[status.state] += 1
        parts = ['{} running'.format(states.pop('RUNNING', 0))]
        pending = states.pop('PENDING', 0)
        parts.append('{} pending'.format(pending) + (' ({})'.format(', '.join(
            '{} {}'.format(n, reason) for reason, n in sorted(reasons.items()))) if reasons else ''))
        parts += ['{} {}'.format(n, state.lower()) for state, n in sorted(states.items())]
        done = sum(1 for o in self.outcomes if o.ok)
        parts += ['{} done'.format(done), '{} failed'.format(len(self.outcomes) - done)]
        if self.to_submit:
            parts.append('{} to submit'.format(len(self.to_submit)))
        return 'Slurm: ' + ', '.join(parts)

    def _status(self, line):
        if line != self.status_line:
            self.status_line = line
            say(line)

    def _end(self, outcome):
        self.outcomes.append(outcome)
        say('[{}/{}] {}'.format(len(self.outcomes), len(self.jobs), outcome.describe()))

    # --- stopping ---

    def _cancel(self, tracked, report=True):
        """scancel the jobs; return those Slurm does not confirm cancelled (if `report`, say how to cancel them)."""
        ids = [t.job_id for t in tracked]
        try:
            result = _run(['scancel'] + ids)
        except _InterruptedCommand as e:  # Ctrl-C again: scancel was let finish all the same
            result = e.result
        if result.returncode == 0 and not result.stderr.strip():
            return []
        # Did it work all the same (a job that had just ended), or not at all (a controller that does not answer)?
        try:
            statuses = query(ids)
        except _InterruptedCommand:
            statuses = None
        alive = [t for t in tracked if statuses is None or t.job_id not in statuses or
                 not (statuses[t.job_id].final or statuses[t.job_id].state in ('COMPLETING', 'CANCELLED'))]
        if alive and report:
            they = 'it' if len(alive) == 1 else 'they'
            say('Could not cancel {} (scancel: {}): {} may still be queued or running; cancel {} with: '
                'scancel {}'.format(', '.join('{} (Slurm job {})'.format(t.job.name, t.job_id) for t in alive),
                                    error_text(result), they, 'it' if len(alive) == 1 else 'them',
                                    ' '.join(t.job_id for t in alive)))
        return alive

    def cancel_all(self):
        """After Ctrl-C: cancel the jobs followed; an outcome for each, `stopped` saying how it was left."""
        if not self.active:
            return
        alive = self._cancel(self.active)
        for tracked in self.active:
            if tracked in alive:
                how = 'may still be running'
            elif tracked.started:
                how = 'cancelled while running'
                say('cancelled {}: Slurm job {} (log: {})'.format(tracked.job.name, tracked.job_id, tracked.log))
            else:
                how = 'cancelled before starting'
                say('cancelled {}: Slurm job {} (it had not started)'.format(tracked.job.name, tracked.job_id))
            self.outcomes.append(Outcome(tracked.job, False, how, tracked.log if tracked.started else None,
                                         job_id=tracked.job_id, stopped=how))
        self.active = []


def _explain(reason):
    if reason == 'PartitionConfig':
        return 'Slurm says PartitionConfig: more CPUs, memory, GPUs or nodes than the partition has or allows'
    if reason == 'PartitionTimeLimit':
        return "Slurm says PartitionTimeLimit: a longer --time than the partition's limit"
    return 'Slurm says ' + reason


def _from_id_file(job):
    """The id in the folder's slurm.jobid if squeue still lists that job as not over (and under its name)."""
    try:
        with open(os.path.join(job.folder, JOB_ID_FILE)) as f:
            job_id = f.read().strip()
    except OSError:
        return []
    status = (query([job_id]) or {}).get(job_id) if job_id.isdigit() else None
    # The name must match too: on a reinstalled cluster the ids start again from 1.
    return [job_id] if status and not status.final and status.name == slurm_job_name(job) else []


def _forgotten(job):
    """A job neither squeue nor sacct knows any more: judged by its files (a result of every epoch: done)."""
    if status_of(job.folder, job.params['num_epochs']) == 'done':
        return Status('COMPLETED', 'judged by its metrics files', final=True)
    return Status('UNKNOWN', 'over, but squeue and sacct no longer know how it ended', final=True)


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
    scripts = {job.name: job_script(job, command_of(job), resources, workdir) for job in jobs}
    search = _Search(jobs, scripts, resources, poll_seconds, workdir)
    try:
        if jobs:
            search.follow_live_jobs()
        search.submit_what_fits()
        while search.active or search.to_submit:
            time.sleep(poll_seconds)
            search.look()
            search.submit_what_fits()
    except KeyboardInterrupt:
        search.cancel_all()
        return search.outcomes, True
    return search.outcomes, False


def slurm_resources(args, section):
    """The `slurm` section of search.json, overridden by the command line; checked even when not used.

    The lists (`extra`, `setup`) of the command line come after those of the section.
    """
    source = os.path.join(args.parent_dir, SEARCH_FILE)
    check_resources(section, source)
    given = {'partition': args.partition, 'time': args.time, 'cpus': args.cpus, 'mem': args.mem,
             'gpus': int(args.gpus) if args.gpus and args.gpus.isdigit() else args.gpus,
             'account': args.account, 'qos': args.qos, 'signal': args.signal, 'retries': args.retries,
             'max_queued': args.max_queued, 'extra': args.sbatch, 'setup': args.setup}
    given = {key: value for key, value in given.items() if value is not None}
    if given and args.launcher != 'slurm':
        key = next(iter(given))
        raise InputError("--{} only applies with --launcher slurm".format(CLI_FLAGS.get(key, key)))
    check_resources(given)
    for key in ('extra', 'setup'):
        if key in given:
            given[key] = list(section.get(key) or []) + given[key]
    resources = dict(section, **given)
    signal, limit = resources.get('signal'), resources.get('time')
    if signal and limit and time_limit_seconds(limit) is not None and signal >= time_limit_seconds(limit):
        where = '--signal' if 'signal' in given else "{}: Slurm 'signal'".format(source)
        raise InputError("{} ({} s before the time limit) must be shorter than the time limit {} ({} s)".format(
            where, signal, limit, time_limit_seconds(limit)))
    return resources
