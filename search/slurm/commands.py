"""Run one Slurm command (sbatch, squeue, scancel...) from the search, and say in one line what went wrong.

A command runs in its own session, so that the terminal's Ctrl-C does not kill it halfway
(an sbatch killed after sending its request may still create a job): a Ctrl-C meanwhile
lets it finish, and is raised after it (InterruptedCommand, carrying its result).
"""
import re
import subprocess

from model.core.errors import InputError
from model.core.interrupts import sigint_deferred


class InterruptedCommand(KeyboardInterrupt):
    """Ctrl-C came while a Slurm command ran; it was let finish, and here is its result."""

    def __init__(self, result):
        super().__init__()
        self.result = result


def run_command(command, timeout=120):
    """Run a Slurm command (an argument list); its CompletedProcess, or InputError if it is not installed.

    Ctrl-C meanwhile: the command finishes, then InterruptedCommand carries its result.
    """
    with sigint_deferred() as interrupted:
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, start_new_session=True)
        except FileNotFoundError:
            raise InputError("--launcher slurm: no command '{}' found on the PATH (run the search on a Slurm "
                             "login node)".format(command[0])) from None
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            stderr += '\n{} did not answer within {} s'.format(command[0], timeout)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if interrupted:
        raise InterruptedCommand(result)
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
