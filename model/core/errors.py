"""Errors the user can act on, and how a script reports them: one line, no traceback."""
import errno
import logging
import signal
import sys

# set_logger (model/utils.py) tags the handlers it adds with this attribute.
HANDLER_TAG = '_starter_code_handler'


class InputError(Exception):
    """A problem with the user's files or settings, which the user can fix.

    The scripts print its message as one line (no traceback) and exit with status 2.
    Each message names the file at fault and what to do about it.
    """


def tf_error_reason(message):
    """The line of a TensorFlow error message that says what went wrong.

    Graph-mode messages are framed: 'Graph execution error:', where the op was defined,
    the reason, then '[[{{node ...}}]]' and often a stack trace. The reason is the line
    just before the first '[[' line (or the first line, for a message without framing).
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for before, line in zip(lines, lines[1:], strict=False):
        if line.startswith('[['):
            return before[:300]
    return (lines or ['unknown error'])[0][:300]


# The errors of a write the file system refuses: said in one line, as an InputError is.
UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def run_script(main, args):
    """Run a script's main(args), turning the errors a user can act on into one clear message.

    An InputError becomes one line "Error: ..." and exit status 2. Ctrl-C (or SIGTERM
    during training, see model/core/interrupts.py) prints what the script says about it, no
    traceback, and exits with the status a shell gives a process stopped by that signal:
    130 for SIGINT, 143 for SIGTERM.
    """
    try:
        main(args)
    except InputError as e:
        report('Error: {}'.format(e))
        raise SystemExit(2) from None
    except OSError as e:
        if e.errno not in UNWRITABLE:
            raise
        # A write refused midway (the scripts check their folders first: this is the safety net).
        report('Error: {} cannot be written ({}): check that you may write there and that the disk '
               'has room'.format(e.filename or 'a file', e.strerror))
        raise SystemExit(2) from None
    except KeyboardInterrupt as e:
        report(str(e) or 'Interrupted.')
        raise SystemExit(128 + getattr(e, 'signum', signal.SIGINT)) from None


def report(message):
    """To the terminal, and to the run's log file once set_logger has set one."""
    if any(getattr(h, HANDLER_TAG, False) for h in logging.getLogger().handlers):
        logging.error(message)
    else:
        print(message, file=sys.stderr)
