"""Helpers for tests that watch a running process: read its output with a deadline, find live processes."""
import os
import selectors
import time


def read_until(process, done, timeout=120):
    """Lines from process.stdout (a text pipe) until done(lines) is true; AssertionError after `timeout` s."""
    lines, partial = [], ''
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while not done(lines):
        remaining = deadline - time.monotonic()
        assert remaining > 0, 'Timed out; output so far:\n' + ''.join(lines) + partial
        if selector.select(timeout=remaining):
            chunk = os.read(process.stdout.fileno(), 65536).decode()
            assert chunk, 'The process ended; its output:\n' + ''.join(lines) + partial
            partial += chunk
            *complete, partial = partial.split('\n')
            lines += [line + '\n' for line in complete]
    selector.close()
    return lines


def processes_mentioning(text):
    """Pids of the live processes whose command line contains `text`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/{}/cmdline'.format(pid), 'rb') as f:
                if text.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids
