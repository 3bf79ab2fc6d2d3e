"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd, all in one folder.

Everything the daemons write (key, sockets, state, spool, logs, slurm.conf) lives in
the folder given to SlurmCluster, on ports picked free at start, so a system-wide
Slurm or munge (if any) is left alone. Clients find this cluster through the
environment variable SLURM_CONF (see SlurmCluster.env). Needs root (the jobs run as
the user who submits them, and slurmd must be able to become that user) and the
Debian packages slurm-wlm and munge.

The node says it has CPUS CPUs (at least 4, whatever the machine has), so that the three jobs
of the two searches that wait for Slurm's time limits run at once.

Used by the fixture in test_search_slurm.py; by hand:

    python tests/helpers/slurm_cluster.py /tmp/cluster   # starts it, prints the SLURM_CONF to export,
                                                         # stops it on Ctrl-C
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

DAEMONS = ('munged', 'slurmctld', 'slurmd')
CPUS = max(4, os.cpu_count() or 1)
CLIENTS = ('sbatch', 'squeue', 'scancel', 'sinfo', 'scontrol')


def missing_reason():
    """Why this machine cannot run the cluster, or None if it can."""
    missing = [name for name in DAEMONS + CLIENTS if shutil.which(name) is None and
               not os.path.exists(os.path.join('/usr/sbin', name))]
    if missing:
        return 'Slurm is not installed (no {}): apt-get install slurm-wlm munge'.format(', '.join(missing))
    if os.geteuid() != 0:
        return 'a test Slurm cluster needs root (slurmd runs jobs as the submitting user)'
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _program(name):
    return shutil.which(name) or os.path.join('/usr/sbin', name)


def _memory_mb():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                return int(line.split()[1]) // 1024 * 9 // 10  # leave some for the system
    return 1024


SLURM_CONF = """\
# A single-node test cluster (written by tests/helpers/slurm_cluster.py).
ClusterName=testcluster
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# Commands give up on a controller that does not answer after 5 s (10 by default): the tests that stop it wait less.
MessageTimeout=5
# The node's CPUs as this file says (more than the machine may have: tiny jobs share them).
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
# Finished jobs stay visible to squeue for 5 minutes (the search reads their state there).
MinJobAge=300
# To see a job PREEMPTED (by hand: `sbatch -p urgent -c <all CPUs> --wrap "sleep 5"`): a job of the partition
# 'urgent' preempts (cancels) jobs of 'debug' it needs room from, within a minute; they get SIGTERM, and
# SIGKILL GraceTime seconds later. Jobs of 'debug' never preempt one another.
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=30
PartitionName=urgent Nodes={host} MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
"""


class SlurmCluster:
    """Start with start(), stop with stop(): only the three daemons it started, by their pids."""

    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        self.conf = os.path.join(self.folder, 'slurm.conf')
        self.processes = []

    @property
    def env(self):
        """The environment in which Slurm's commands talk to this cluster."""
        return dict(os.environ, SLURM_CONF=self.conf)

    def start(self, timeout=60):
        for sub in ('state', 'spool'):
            os.makedirs(os.path.join(self.folder, sub), exist_ok=True)
        self.host = socket.gethostname().split('.')[0]
        with open(self.conf, 'w') as f:
            f.write(SLURM_CONF.format(host=self.host, folder=self.folder, cpus=CPUS,
                                      memory=_memory_mb(), ctld_port=_free_port(), slurmd_port=_free_port()))
        key = os.path.join(self.folder, 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)  # munged refuses a key that others can read
        try:
            self._daemon('munged', '--foreground', '--force', '--socket', os.path.join(self.folder, 'munge.socket'),
                         '--key-file', key, '--pid-file', os.path.join(self.folder, 'munged.pid'),
                         '--log-file', os.path.join(self.folder, 'munged.log'),
                         '--seed-file', os.path.join(self.folder, 'munged.seed'))
            self._wait_for(lambda: os.path.exists(os.path.join(self.folder, 'munge.socket')), timeout, 'munged')
            # -D: stay in the foreground (their pids are ours); -i: ignore saved state of an earlier run.
            self._daemon('slurmctld', '-D', '-i', '-f', self.conf)
            self._daemon('slurmd', '-D', '-f', self.conf, '-N', self.host)
            self._wait_for(self._node_ready, timeout, 'the node to be idle')
        except BaseException:
            self.stop()
            raise
        return self

    def pid(self, name):
        """The pid of the daemon `name` ('slurmctld', 'slurmd', 'munged') this object started."""
        for process in self.processes:
            if os.path.basename(process.args[0]) == name and process.poll() is None:
                return process.pid
        raise RuntimeError('{} is not running'.format(name))

    def pause(self):
        """Stop slurmctld (SIGSTOP): a controller that does not answer; the commands time out (MessageTimeout,
        5 s), but a request sent meanwhile waits in its socket and is handled after resume()."""
        os.kill(self.pid('slurmctld'), signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid('slurmctld'), signal.SIGCONT)

    def _daemon(self, name, *args):
        log = open(os.path.join(self.folder, name + '.out'), 'ab')
        self.processes.append(subprocess.Popen([_program(name), *args], stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT, env=self.env, start_new_session=True))
        log.close()

    def _squeue(self, field):
        """`field` of the jobs that are still queued or running on this cluster."""
        result = subprocess.run(['squeue', '--noheader', '--format=' + field], env=self.env,
                                capture_output=True, text=True)
        return result.stdout.split()

    def _node_ready(self):
        result = subprocess.run(['sinfo', '--noheader', '--format=%t'], env=self.env,
                                capture_output=True, text=True)
        return result.returncode == 0 and result.stdout.split() == ['idle']

    def _wait_for(self, ready, timeout, what):
        deadline = time.monotonic() + timeout
        while not ready():
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError('{} exited with status {} while waiting for {}; see the logs in {}'.format(
                        process.args[0], process.returncode, what, self.folder))
            if time.monotonic() > deadline:
                raise RuntimeError('Timed out waiting for {}; see the logs in {}'.format(what, self.folder))
            time.sleep(0.2)

    def stop(self):
        """Cancel the jobs left on this cluster, then SIGTERM the daemons this object started (newest first).

        A paused slurmctld is resumed first.

        slurmd does not take its running jobs down with it: they are cancelled first, so that
        no training outlives the cluster. Only this cluster's jobs: SLURM_CONF names it.
        """
        if self.processes and all(process.poll() is None for process in self.processes):
            self.resume()
            ids = self._squeue('%i')
            if ids:
                subprocess.run(['scancel', *ids], env=self.env, capture_output=True)
                deadline = time.monotonic() + 30
                while self._squeue('%i') and time.monotonic() < deadline:
                    time.sleep(0.5)
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


if __name__ == '__main__':
    reason = missing_reason()
    if reason:
        sys.exit('Cannot start a cluster: ' + reason)
    # Ctrl-C, and SIGTERM too, take the cluster down (even when started in the background, with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    cluster = SlurmCluster(sys.argv[1] if len(sys.argv) > 1 else 'slurm-test-cluster').start()
    print('Cluster up. In another shell: export SLURM_CONF={}'.format(cluster.conf), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
