"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM, never in the middle of saving.

Inside `with SignalGuard() as guard:` both signals raise `Interrupted` at once, wherever
training is (a step, an evaluation): that epoch is lost, nothing of it was saved yet.
Inside `with guard.deferred():` (saving an epoch's weights and metrics) a signal only
is noted, and `Interrupted` is raised once the saving is done. So the files on disk are
always whole, and the last epoch saved is the last epoch finished.

A second signal while the first is being handled stops the process at once, the usual
way: pressing Ctrl-C twice always works. SIGKILL cannot be caught; see find_checkpoint
in model/core/checkpoints.py for how a run killed that way is resumed.

No TensorFlow here: this module only deals with signals.
"""
import contextlib
import os
import shlex
import signal
import threading

from model.core.layout import LAST_WEIGHTS, checkpoint_path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Training was stopped by a signal.

    A KeyboardInterrupt, so `except Exception` does not swallow it. `signum` says which
    signal; `last_epoch` is the last epoch this run saved (None if it saved none).
    """

    def __init__(self, signum, last_epoch=None, message=''):
        super().__init__(message)
        self.signum = signum
        self.last_epoch = last_epoch

    @property
    def signal_name(self):
        return signal.Signals(self.signum).name


class SignalGuard:
    """Turn SIGINT and SIGTERM into Interrupted while training, held back while saving.

    Set `guard.last_epoch` once an epoch is saved: an Interrupted raised later carries it.

    Only the main thread can set signal handlers: elsewhere (a notebook running training
    in a thread) the guard does nothing and the signals keep their usual behaviour.
    """

    def __init__(self):
        self.last_epoch = None
        self._previous = {}
        self._deferring = False
        self._pending = None
        self._raised = False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False

    @contextlib.contextmanager
    def deferred(self):
        """Hold signals back while the block runs; raise Interrupted after it if one came."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending is not None:
            self._raise(self._pending)

    def _handle(self, signum, frame):
        if self._raised:
            # Already stopping and signalled again: stop right now, the usual way for this signal.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        elif self._deferring:
            self._pending = self._pending or signum
        else:
            self._raise(signum)

    def _raise(self, signum):
        self._raised = True
        raise Interrupted(signum, self.last_epoch)


def how_to_resume(script, args, interruption):
    """What was saved before the signal, and the train.py command (`script`, with train.py's `args`) that carries on."""
    try:
        script = os.path.relpath(os.path.abspath(script))  # as run from the current folder
    except ValueError:  # Windows: the script is on another drive
        script = os.path.abspath(script)
    command = ['python', script, '--model_dir', args.model_dir]
    if args.data_dir is not None:
        command += ['--data_dir', args.data_dir]
    if interruption.last_epoch is None:
        # Nothing new saved: the same command again (with the same --restore_from, if any).
        if args.restore_from is not None:
            command += ['--restore_from', args.restore_from]
        return "Stopped by {} before this run finished an epoch: nothing new was saved.\nStart again with: {}".format(
            interruption.signal_name, shlex.join(command))
    command += ['--restore_from', os.path.join(args.model_dir, LAST_WEIGHTS)]
    return "Stopped by {}: the last finished epoch is {} (saved in {}).\nResume with: {}".format(
        interruption.signal_name, interruption.last_epoch,
        checkpoint_path(args.model_dir, LAST_WEIGHTS, interruption.last_epoch), shlex.join(command))


@contextlib.contextmanager
def sigint_ignored():
    """Ignore Ctrl-C in this block (in the main thread; elsewhere signals cannot be set, nor do they arrive)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_deferred():
    """Let the block finish when Ctrl-C comes: yields a list, which holds the signal if one came."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
