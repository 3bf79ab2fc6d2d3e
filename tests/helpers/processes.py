"""Helpers for tests that watch a running process: read its output with a deadline (or in a thread), find live
processes."""
import os
import selectors
import threading
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


class Follower:
    """A process whose output a thread reads as it comes, so that a test can do something else meanwhile (and
    several processes go on at once). on_line(line), if given, runs in that thread for each line; what it
    raises is kept in `errors`."""

    def __init__(self, process, on_line=None):
        self.process, self.lines, self.errors = process, [], []
        self._thread = threading.Thread(target=self._read, args=(on_line,), daemon=True)
        self._thread.start()

    def _read(self, on_line):
        for line in self.process.stdout:
            self.lines.append(line)
            if on_line is not None:
                try:
                    on_line(line)
                except Exception as e:  # reported by the test, not lost in the thread
                    self.errors.append(e)

    def wait_until(self, done, timeout=120):
        """The lines so far once done(lines) is true; AssertionError after `timeout` s or if the process ended."""
        deadline = time.monotonic() + timeout
        while not done(list(self.lines)):
            assert self._thread.is_alive(), 'The process ended; its output:\n' + ''.join(self.lines)
            assert time.monotonic() < deadline, 'Timed out; output so far:\n' + ''.join(self.lines)
            time.sleep(0.05)
        return list(self.lines)

    def output(self, timeout=60):
        """All of its output, once it has ended (within `timeout` s)."""
        self.process.wait(timeout=timeout)
        self._thread.join(timeout=10)
        return ''.join(self.lines)

    def kill(self):
        self.process.kill()
