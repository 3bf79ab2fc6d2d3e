"""`tensorboard --logdir` on a free loopback port, asked over its HTTP API as its dashboards ask."""
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request


class TensorBoard:
    """`tensorboard --logdir logdir` on a free loopback port, for the duration of a `with` block."""

    def __init__(self, logdir, log_path, *flags):
        self.command = [sys.executable, '-m', 'tensorboard.main', '--logdir', logdir, '--host', '127.0.0.1',
                        '--port', '0', *flags]
        self.log_path = log_path

    def __enter__(self):
        self.log = open(self.log_path, 'w')
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                found = re.search(r'http://127\.0\.0\.1:(\d+)/', self.output())
                if found:
                    self.url = 'http://127.0.0.1:{}'.format(found.group(1))
                    return self
                assert self.process.poll() is None, 'TensorBoard exited:\n' + self.output()
                assert time.monotonic() < deadline, 'TensorBoard did not start:\n' + self.output()
                time.sleep(0.2)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.log.close()

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, route, raw=False):
        """GET `route` (such as /data/plugin/images/tags): the JSON answer, or the bytes with raw."""
        with urllib.request.urlopen(self.url + route, timeout=30) as response:
            body = response.read()
        return body if raw else json.loads(body)

    def post(self, route, body):
        """POST the JSON `body` to the HParams plugin's `route`, as its dashboard does; the JSON answer."""
        request = urllib.request.Request(self.url + '/data/plugin/hparams/' + route, data=json.dumps(body).encode(),
                                         headers={'Content-Type': 'application/json'}, method='POST')
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def wait_for(self, ask, done, timeout=120):
        """ask() again until done(its answer) holds (TensorBoard loads the event files in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = ask()
                if done(answer):
                    return answer
            except urllib.error.URLError:  # not serving yet
                answer = None
            assert self.process.poll() is None, 'TensorBoard exited:\n' + self.output()
            assert time.monotonic() < deadline, 'Timed out; last answer: {}\n{}'.format(answer, self.output())
            time.sleep(0.5)
