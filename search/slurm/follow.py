"""Follow a search's jobs on Slurm to their end: submit them (as many as --max_queued lets), look at the queue
every poll, resubmit a job stopped at its time limit (--retries), cancel one that can never start, and
say for each how it ended and what to do next. Ctrl-C cancels the jobs followed, and no other.

Whether a job trained is judged by its folder (its metrics of the last epoch), not by its
Slurm state: a job that saved its last epoch and was then killed at its time limit has its result.
"""
import collections
import os
import re
import shutil
import socket
import time

from model.core.errors import InputError
from search.grid import last_metrics_epoch, prepare_folder, status_of
from search.report import Outcome, format_duration, last_line, say
from search.slurm.commands import UNSURE, InterruptedCommand, error_text, run_command
from search.slurm.queue import Status, jobs_for, live_jobs, nodes_unusable, query, query_accounting, squeue
from search.slurm.submit import JOB_ID_FILE, LOCK_FILE, LOCKED_EXIT, SCRIPT, job_script, slurm_job_name, submit

# The states after which a job is resubmitted (up to `retries` times): not the job's fault,
# and the next attempt goes on from its last saved epoch.
# Who submitted a folder's job: 'host pid' of the search (another search following it leaves it alone on Ctrl-C).
OWNER_FILE = 'slurm.owner'
# What slurmstepd writes into a job's log when it kills the job for its memory (cgroup or not).
MEMORY_KILLED = ('Exceeded job memory limit', 'Exceeded step memory limit', 'oom-kill event')


def exceeded_memory(log_path):
    """Whether the job's log says Slurm killed it for exceeding its memory."""
    try:
        with open(log_path, encoding='utf-8', errors='replace') as f:
            return any(words in line for line in f for words in MEMORY_KILLED)
    except OSError:
        return False


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


class _Tracked:
    """A job of this search on Slurm: its current Slurm id, its attempt, and what was last said about it."""

    def __init__(self, job, job_id, attempt=1):
        self.job, self.job_id, self.attempt = job, job_id, attempt
        self.state, self.reason = None, None
        self.epoch_at_start = last_metrics_epoch(job.folder)  # to know whether the attempt saved anything
        self.own = True  # False: a job another search, still running, submitted and will cancel on its Ctrl-C

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
                tracked = self._follow(job, ids[0])
                owner = _live_owner(job)
                if owner is not None:
                    tracked.own = False
                    say('{}: Slurm job {} was submitted by another search, still running (process {}): this one '
                        'follows it, and Ctrl-C here leaves it to that one'.format(job.name, ids[0], owner))
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
        except InterruptedCommand as e:
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
        with open(os.path.join(job.folder, OWNER_FILE), 'w') as f:
            f.write('{} {}\n'.format(socket.gethostname(), os.getpid()))
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
                squeue.error, format_duration(self.poll_seconds)))
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
        if status.exit_text == 'exit status {}'.format(LOCKED_EXIT):
            holder = _lock_holder(job)
            if holder and holder != tracked.job_id:
                # Another search (or the user, by hand) has a job training in this folder, which this search
                # did not see in the queue: that job's result is this setting's.
                say('{}: Slurm job {} found the folder locked by Slurm job {} (another search or a job.sbatch '
                    'submitted by hand): following {}'.format(job.name, tracked.job_id, holder, holder))
                self._follow(job, holder, tracked.attempt)
                return
        outcome = Outcome(job, False, status.state + (', ' + status.exit_text if status.exit_text else ''),
                          tracked.log, status.seconds, job_id=tracked.job_id)
        if status_of(job.folder, job.params['num_epochs']) == 'done':  # judged by its folder, whatever its state
            outcome.ok = True
            if status.state != 'COMPLETED':
                outcome.state = status.state + ', but it had saved its last epoch'
            self._end(outcome)
            return
        stopped_at_limit = status.state == 'TIMEOUT' or self._stopped_by_warning(status)
        saved = last_metrics_epoch(job.folder)
        progress = 'epoch {} of {} saved'.format(saved, job.params['num_epochs']) if saved else 'no epoch saved'
        if status.state == 'COMPLETED':
            outcome.detail = 'train.py ended without the result of its last epoch ({})'.format(progress)
        elif status.state == 'OUT_OF_MEMORY' or exceeded_memory(tracked.log):
            # Killed for its memory (state OUT_OF_MEMORY, or FAILED with slurmstepd's word in the log):
            # the same request would fail the same way.
            outcome.detail = '{}; {} (ask for more --mem)'.format(
                progress, last_line(tracked.log) or 'out of memory')
        elif stopped_at_limit or status.state in RETRY_STATES:
            # An attempt stopped at its time limit before saving a new epoch: another would do the same.
            no_progress = stopped_at_limit and saved == tracked.epoch_at_start
            if tracked.attempt <= self.retries and not no_progress:
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
                if no_progress:
                    outcome.detail = '{}{}: no epoch was saved in this attempt\'s time, so a retry would do no ' \
                                     'better: run the search again with a longer --time'.format(progress, attempts)
                else:
                    outcome.detail = '{}{}: run the search again with a longer --time{} to go on from there'.format(
                        progress, attempts, ' (or more --retries)' if self.retries else '')
            else:
                outcome.detail = '{}{}: run the search again to go on from there'.format(progress, attempts)
        elif status.state == 'CANCELLED' or status.exit_text in ('exit status 143', 'exit status 130',
                                                                  'signal 15', 'signal 9', 'signal 2'):
            outcome.detail = 'stopped from outside the search ({}): run the search again to go on from ' \
                             'there'.format(progress)
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
        elif any(reason.startswith(prefix) for prefix in NODES_REASONS) and nodes_unusable(status.partition):
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
            result = run_command(['scancel'] + ids)
        except InterruptedCommand as e:  # Ctrl-C again: scancel was let finish all the same
            result = e.result
        if result.returncode == 0 and not result.stderr.strip():
            return []
        # Did it work all the same (a job that had just ended), or not at all (a controller that does not answer)?
        try:
            statuses = query(ids)
        except InterruptedCommand:
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
        for tracked in [t for t in self.active if not t.own]:
            say('left {} to the search that submitted it: Slurm job {} (scancel {} to stop it)'.format(
                tracked.job.name, tracked.job_id, tracked.job_id))
            self.outcomes.append(Outcome(tracked.job, False, 'left running', tracked.log if tracked.started else None,
                                         job_id=tracked.job_id, stopped='left to the search that submitted it'))
        self.active = [t for t in self.active if t.own]
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


def _live_owner(job):
    """The process id of the search on this machine that submitted the folder's job, if it still runs; else None."""
    try:
        with open(os.path.join(job.folder, OWNER_FILE)) as f:
            host, pid = f.read().split()
        pid = int(pid)
    except (OSError, ValueError):
        return None
    if host != socket.gethostname() or pid == os.getpid():
        return None
    try:
        with open('/proc/{}/cmdline'.format(pid), 'rb') as f:
            running = b'search_hyperparams' in f.read()  # not another program that took over the id
    except OSError:
        return None
    return pid if running else None


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


def _lock_holder(job):
    """The id of the Slurm job that last took the folder's lock (job.sbatch writes it there), or None."""
    try:
        with open(os.path.join(job.folder, LOCK_FILE)) as f:
            job_id = f.read(32).strip()
    except OSError:
        return None
    return job_id if job_id.isdigit() else None


def _forgotten(job):
    """A job neither squeue nor sacct knows any more: judged by its files (a result of every epoch: done)."""
    if status_of(job.folder, job.params['num_epochs']) == 'done':
        return Status('COMPLETED', 'judged by its metrics files', final=True)
    return Status('UNKNOWN', 'over, but squeue and sacct no longer know how it ended', final=True)
