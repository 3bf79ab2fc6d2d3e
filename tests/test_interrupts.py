"""model/core/interrupts.py and train.py's Ctrl-C: the signal guard, the advice to resume, and real train.py
processes stopped by SIGINT and SIGTERM (those are marked slow)."""
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import train
from helpers import ROOT, listing, read_json, script_args, write_params
from helpers.training import check_consistent, saved_epoch
from model.core.checkpoints import find_checkpoint
from model.core.interrupts import Interrupted, SignalGuard, how_to_resume
from model.core.tf_compat import tf


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_signal_raises_interrupted_outside_saving_and_waits_inside(signum):
    previous = signal.getsignal(signum)
    with SignalGuard():
        with pytest.raises(Interrupted) as raised:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler interrupts this at once
        assert raised.value.signum == signum and isinstance(raised.value, KeyboardInterrupt)

    with SignalGuard() as guard:
        steps = []
        with pytest.raises(Interrupted):
            with guard.deferred():
                os.kill(os.getpid(), signum)
                time.sleep(0.2)  # a signal arriving in the middle of saving...
                steps.append('saving finished')  # ...lets the saving finish
            steps.append('not reached')
        assert steps == ['saving finished']
    assert signal.getsignal(signum) == previous


# The guard in a process of its own (a second signal ends that process), stopping slowly after the first
# signal, as train.py would if closing its Session hung (a data pipeline stuck reading a network disk).
SLOW_TO_STOP = """
import sys, time
from model.core.interrupts import Interrupted, SignalGuard
with SignalGuard():
    try:
        print('training', flush=True)
        time.sleep(60)
    except Interrupted:
        print('stopping', flush=True)
        time.sleep(60)
        print('stopped slowly', flush=True)
"""


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_stopping_ends_the_process_at_once(signum):
    process = subprocess.Popen([sys.executable, '-c', SLOW_TO_STOP], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == 'training\n'
        process.send_signal(signum)
        assert process.stdout.readline() == 'stopping\n'
        sent = time.monotonic()
        process.send_signal(signum)
        status = process.wait(timeout=30)
        seconds = time.monotonic() - sent
    finally:
        process.kill()
    # Ended by the signal itself, the usual way (no handler, no traceback), without waiting for the stop.
    assert status == -signum and process.stdout.read() == ''
    assert seconds < 5


def test_guard_outside_the_main_thread_does_nothing():
    """Only the main thread may set signal handlers (signal.signal raises ValueError elsewhere)."""
    errors = []

    def use_guard():
        try:
            with SignalGuard() as guard, guard.deferred():
                pass
        except ValueError as e:
            errors.append(e)
    thread = threading.Thread(target=use_guard)
    thread.start()
    thread.join()
    assert errors == []


@pytest.mark.parametrize('restore_from, data_dir, last_epoch, expected', [
    (None, None, 4,
     "Stopped by SIGINT: the last finished epoch is 4 (saved in {last_path}/after-epoch-4).\n"
     "Resume with: python train.py --model_dir {model} --restore_from {last}"),
    (None, 'my data', None,
     "Stopped by SIGINT before this run finished an epoch: nothing new was saved.\n"
     "Start again with: python train.py --model_dir {model} --data_dir 'my data'"),
    ('best_weights', None, None,
     "Stopped by SIGINT before this run finished an epoch: nothing new was saved.\n"
     "Start again with: python train.py --model_dir {model} --restore_from best_weights"),
])
def test_how_to_resume_gives_the_command_for_what_was_saved(restore_from, data_dir, last_epoch, expected,
                                                            monkeypatch):
    monkeypatch.chdir(ROOT)  # the command names train.py as run from the current folder
    model_dir = os.path.join('experiments', "it's mine")
    args = script_args(model_dir, data_dir, restore_from)
    message = how_to_resume(train.__file__, args, Interrupted(signal.SIGINT, last_epoch))
    last_path = os.path.join(model_dir, 'last_weights')
    assert message == expected.format(model=shlex.quote(model_dir), last=shlex.quote(last_path), last_path=last_path)


def start(*args, output):
    """Start `python args...` from the repository root, its output going to the file `output`."""
    with open(output, 'w') as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_for_epoch(process, model_dir, epoch, timeout=120, poll=0.02):
    deadline = time.time() + timeout
    while saved_epoch(model_dir) < epoch:
        assert process.poll() is None, 'train.py ended before epoch {}'.format(epoch)
        assert time.time() < deadline, 'no epoch {} within {} s'.format(epoch, timeout)
        time.sleep(poll)


def stop(process, signum, timeout=60):
    """Send signum, wait for the process to end; returns (exit status, seconds it took)."""
    assert process.poll() is None, 'train.py had already ended'
    sent = time.time()
    process.send_signal(signum)
    status = process.wait(timeout=timeout)
    return status, time.time() - sent


def resume_command(output):
    """The command train.py printed after 'Resume with:', as the argv a shell would make of it."""
    line = [line for line in output.splitlines() if 'Resume with: ' in line][-1]
    command = line.split('Resume with: ', 1)[1]
    # Let a real shell parse it: wrong quoting would run the $(...) in the folder name.
    parsed = subprocess.run(['bash', '-c', 'printf "%s\\0" ' + command.split(' ', 1)[1]],
                            cwd=ROOT, capture_output=True, check=True).stdout
    assert command.startswith('python ')
    return parsed.decode().split('\0')[:-1]


HOSTILE_NAME = "run é; touch PWNED $(touch PWNED) `touch PWNED` 'q' \"dq\" & | > x"


@pytest.mark.slow
def test_sigint_then_sigterm_stop_cleanly_and_say_how_to_resume(data_dir, tmp_path):
    """Ctrl-C after an epoch, resume with the printed command, SIGTERM: nothing lost, exit 130 then 143."""
    data = shutil.copytree(data_dir, str(tmp_path / 'dätä dir'))
    model_dir = str(tmp_path / HOSTILE_NAME)
    write_params(model_dir, num_epochs=50)
    output = str(tmp_path / 'first.txt')
    process = start('train.py', '--model_dir', model_dir, '--data_dir', data, output=output)
    wait_for_epoch(process, model_dir, 1)  # signalled right as the epoch is being saved
    status, seconds = stop(process, signal.SIGINT)
    printed = open(output, encoding='utf-8').read()
    assert status == 130, printed
    assert 'Traceback' not in printed
    epoch = check_consistent(model_dir)
    assert epoch == 1  # the save under way finished; the next epoch, if begun, was dropped
    assert 'Stopped by SIGINT: the last finished epoch is {} '.format(epoch) in printed
    argv = resume_command(printed)
    assert argv == ['train.py', '--model_dir', model_dir, '--data_dir', data,
                    '--restore_from', os.path.join(model_dir, 'last_weights')]

    output = str(tmp_path / 'second.txt')
    process = start(*argv, output=output)
    wait_for_epoch(process, model_dir, epoch + 1)
    status, seconds_term = stop(process, signal.SIGTERM)
    printed = open(output, encoding='utf-8').read()
    assert status == 143, printed
    assert 'Traceback' not in printed
    resumed_epoch = check_consistent(model_dir)
    assert resumed_epoch == epoch + 1
    assert 'Stopped by SIGTERM: the last finished epoch is {} '.format(resumed_epoch) in printed
    log = open(os.path.join(model_dir, 'train.log'), encoding='utf-8').read().split('Restoring parameters from')[-1]
    assert 'Epoch {}/50'.format(epoch + 1) in log and 'Epoch {}/50'.format(epoch) not in log
    assert resume_command(printed) == argv
    print('stopped {:.1f} s after SIGINT, {:.1f} s after SIGTERM'.format(seconds, seconds_term))
    for folder in (ROOT, str(tmp_path), model_dir):
        assert 'PWNED' not in os.listdir(folder)


@pytest.mark.slow
def test_a_signal_in_the_middle_of_an_epoch_stops_at_once_and_drops_that_epoch(data_dir, tmp_path):
    """SIGTERM a third into an epoch: stopped within a fraction of the epoch, that epoch not saved."""
    # Ten copies of each training image, one per batch: 960 steps, an epoch several times longer than
    # it takes the process to stop (with five, under load, stopping took more than half an epoch).
    data = shutil.copytree(data_dir, str(tmp_path / 'data'))
    train_dir = os.path.join(data, 'train_signs')
    for name in listing(train_dir):
        for copy in range(1, 10):
            shutil.copyfile(os.path.join(train_dir, name),
                            os.path.join(train_dir, '{}_copy{}.jpg'.format(os.path.splitext(name)[0], copy)))
    steps_per_epoch = 10 * 96
    model_dir = str(tmp_path / 'long epochs')
    write_params(model_dir, num_epochs=50, batch_size=1)
    output = str(tmp_path / 'output.txt')
    process = start('train.py', '--model_dir', model_dir, '--data_dir', data, output=output)
    wait_for_epoch(process, model_dir, 1, timeout=300)
    saved_1 = time.monotonic()
    wait_for_epoch(process, model_dir, 2, timeout=300)
    epoch_seconds = time.monotonic() - saved_1
    time.sleep(epoch_seconds / 3)
    status, seconds = stop(process, signal.SIGTERM)
    printed = open(output, encoding='utf-8').read()
    assert status == 143 and 'Stopped by SIGTERM: the last finished epoch is 2 ' in printed, printed
    # Epoch 3 was being trained: dropped, not finished. Nothing of it is on disk.
    assert saved_epoch(model_dir) == 2
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 2
    last = find_checkpoint('last_weights', model_dir)
    assert last.endswith('after-epoch-2') and tf.train.load_variable(last, 'global_step') == 2 * steps_per_epoch
    # Finishing the epoch would take two thirds of one; stopping takes a step and the process's exit.
    assert seconds < epoch_seconds / 2, 'stopped {:.1f} s after SIGTERM; an epoch takes {:.1f} s'.format(
        seconds, epoch_seconds)
    print('stopped {:.1f} s after SIGTERM, a third into an epoch of {:.1f} s'.format(seconds, epoch_seconds))


