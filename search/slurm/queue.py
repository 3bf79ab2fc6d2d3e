"""What Slurm says about jobs and nodes: squeue (the queue, and jobs that ended in the last minutes), sacct
(jobs squeue forgot) and sinfo (whether a partition has a node that takes jobs).

Each call is one request to the controller, however many jobs it asks about. None stands
for "Slurm does not answer" (a busy or restarting controller): the caller asks again later.
"""
import os
import re
import shutil

from search.slurm.commands import error_text, run_command
from search.slurm.resources import TIME, time_limit_seconds
from search.slurm.submit import slurm_job_name

# The states in which a Slurm job is over (any other state: it is still queued or running).
FINAL_STATES = {'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED',
                'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT'}
# sinfo's short node states in which a node takes no new job.
UNUSABLE_NODE_STATES = {'down', 'drain', 'drng', 'drained', 'draining', 'fail', 'failg', 'inval'}


class Status:
    """What Slurm says about a job: state (COMPLETED...), exit (text, or ''), seconds used, name, pending
    reason, time limit (seconds, None if none or unknown), partition; final if over."""

    def __init__(self, state, exit_text='', seconds=None, name=None, final=None, reason='', limit=None,
                 partition=''):
        self.state, self.exit_text, self.seconds, self.name = state, exit_text, seconds, name
        self.reason, self.limit, self.partition = reason, limit, partition
        self.final = state in FINAL_STATES if final is None else final


SEPARATOR = '\x1f'  # between squeue's fields: no name or path holds it


def squeue(fields, *options):
    """squeue's rows (lists of `fields`); None if squeue failed (the controller busy or restarting)."""
    columns = ','.join(field + ':' + SEPARATOR for field in fields[:-1]) + ',' + fields[-1] + ':'
    result = run_command(['squeue', '--noheader', *options, '--Format=' + columns])
    if result.returncode != 0:
        if 'Invalid job id' in result.stderr:
            return []  # none of them is known any more
        squeue.error = error_text(result)
        return None
    rows = [line.split(SEPARATOR) for line in result.stdout.splitlines()]
    return [[field.strip() for field in row] for row in rows if len(row) == len(fields)]


squeue.error = ''


def query(job_ids):
    """{job id: Status} for the jobs Slurm still knows (finished ones stay known for MinJobAge, 5 min by default).

    None if Slurm does not answer (the controller busy or restarting): ask again later.
    A job that squeue leaves out is not taken to be over on squeue's word (an squeue that
    answers with an empty list, while the controller restarts or a site's wrapper filters it):
    scontrol, which asks the controller for that one job, confirms it.
    """
    rows = squeue(['JobID', 'State', 'exit_code', 'TimeUsed', 'TimeLimit', 'Partition', 'Name', 'Reason'],
                  '--states=all', '--jobs=' + ','.join(job_ids))
    if rows is None:
        return None
    statuses = {}
    for job_id, state, code, used, limit, partition, name, reason in rows:
        if job_id in job_ids:
            statuses[job_id] = Status(state.split()[0] if state else 'UNKNOWN', wait_status_text(code),
                                      slurm_seconds(used), name, reason=reason, partition=partition,
                                      limit=time_limit_seconds(limit) if TIME.match(limit) else None)
    for job_id in job_ids:
        if job_id not in statuses:
            known, status = query_controller(job_id)
            if not known:
                return None
            if status is not None:
                statuses[job_id] = status
    return statuses


def query_controller(job_id):
    """(answered, Status or None) from `scontrol show job`: (True, None) if the controller no longer knows the
    job, (False, None) if it does not answer."""
    if shutil.which('scontrol') is None:
        return True, None  # nothing to confirm with: squeue's word stands
    result = run_command(['scontrol', 'show', 'job', '--oneliner', job_id])
    if result.returncode != 0:
        if 'Invalid job id' in result.stderr:
            return True, None
        squeue.error = 'squeue lists none of the jobs, and scontrol: ' + error_text(result)
        return False, None
    fields = dict(re.findall(r'(\w+)=(\S*)', result.stdout))
    if fields.get('JobId') != job_id:
        return True, None
    limit = fields.get('TimeLimit', '')
    return True, Status(fields.get('JobState', 'UNKNOWN'), exit_code_text(fields.get('ExitCode', '')),
                        slurm_seconds(fields.get('RunTime', '')),
                        fields.get('JobName'), reason=fields.get('Reason', ''), partition=fields.get('Partition', ''),
                        limit=time_limit_seconds(limit) if TIME.match(limit) else None)


class _Live:
    """A job in the queue, not over yet: id, state, name, working directory, and the folder of its log."""

    def __init__(self, job_id, state, name, workdir, stdout):
        self.job_id, self.state, self.name, self.workdir = job_id, state, name, workdir
        # squeue shows the --output pattern as written: this search doubles a '%' of the folder name.
        self.log_folder = os.path.dirname(stdout).replace('%%', '%') if os.path.isabs(stdout) else None


def live_jobs():
    """This user's jobs that are queued or running, as _Live; None if squeue failed."""
    rows = squeue(['JobID', 'State', 'Name', 'WorkDir', 'StdOut'], '--user=' + str(os.getuid()))
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
    result = run_command(['sacct', '--noheader', '--parsable2', '--allocations', '--jobs=' + job_id,
                          '--format=JobID,State,ExitCode,Elapsed'])
    for line in result.stdout.splitlines() if result.returncode == 0 else []:
        fields = line.split('|')
        if len(fields) == 4 and fields[0] == job_id:
            return Status(fields[1].split()[0], exit_code_text(fields[2]), slurm_seconds(fields[3]))
    return None


def exit_code_text(exit_code):
    """sacct's and scontrol's ExitCode `status:signal` as text: '0:15' is signal 15, '2:0' exit status 2."""
    code, _, signal_number = exit_code.partition(':')
    if signal_number not in ('', '0'):
        return 'signal {}'.format(signal_number)
    return 'exit status {}'.format(code) if code not in ('', '0') else ''


def wait_status_text(code):
    """squeue's exit_code is a raw wait status: 512 is exit status 2, 15 is signal 15."""
    if not code.isdigit() or int(code) == 0:
        return ''
    code = int(code)
    return 'signal {}'.format(code & 0x7f) if code & 0x7f else 'exit status {}'.format(code >> 8)


def slurm_seconds(used):
    """Slurm's `[days-][hours:]minutes:seconds` in seconds, or None."""
    match = re.match(r'^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$', used.strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds



def nodes_unusable(partition):
    """True if sinfo says that no node of `partition` (a name, or names joined by ',') takes new jobs."""
    if not partition or shutil.which('sinfo') is None:
        return False
    result = run_command(['sinfo', '--noheader', '--partition=' + partition, '--format=%t'])
    states = [state.rstrip('*~#!%$@^-+') for state in result.stdout.split()] if result.returncode == 0 else []
    return bool(states) and all(state in UNUSABLE_NODE_STATES for state in states)
