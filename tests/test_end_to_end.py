"""The scripts as a user runs them: build a synthetic set, train, look at TensorBoard, evaluate, resume."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from helpers import read_json, run, write_params

pytestmark = pytest.mark.slow

# Lines that would mean TensorFlow's own start-up noise reached the user's terminal.
NOISE = ('WARNING:tensorflow', 'cuda', 'I0000', 'E0000', 'deprecat', 'oneDNN', 'absl')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def scalar_tags(logdir, timeout=120):
    """Start the real tensorboard on logdir and read back {run: [scalar tags]} over HTTP."""
    port = free_port()
    tensorboard = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
    process = subprocess.Popen([tensorboard, '--logdir', logdir, '--host', '127.0.0.1', '--port', str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                tags = get_json('http://127.0.0.1:{}/data/plugin/scalars/tags'.format(port))
                if {'train_summaries', 'eval_summaries'} <= set(tags):
                    break
            except OSError:
                pass
            assert time.time() < deadline, 'TensorBoard did not serve both runs within {} s'.format(timeout)
            time.sleep(1)
        values = {}
        for run_name in tags:
            for tag in tags[run_name]:
                query = urllib.parse.urlencode({'run': run_name, 'tag': tag})
                series = get_json('http://127.0.0.1:{}/data/plugin/scalars/scalars?{}'.format(port, query))
                values[run_name, tag] = [(step, value) for _, step, value in series]
        return values
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_build_train_tensorboard_evaluate_resume(tmp_path):
    raw, data, model_dir = str(tmp_path / 'raw signs'), str(tmp_path / 'data'), str(tmp_path / 'my model')

    built = run('build_dataset.py', '--synthetic', '--data_dir', raw, '--output_dir', data)
    assert 'Wrote 864 train, 216 dev and 120 test images of 64x64' in built.stderr
    refused = run('build_dataset.py', '--synthetic', '--data_dir', raw, '--output_dir', data, check=False)
    assert refused.returncode == 2 and refused.stderr.count('\n') == 1 and '--overwrite' in refused.stderr

    write_params(model_dir, num_channels=4, image_size=32, batch_size=32)
    trained = run('train.py', '--model_dir', model_dir, '--data_dir', data)
    output = trained.stdout + trained.stderr
    assert 'Epoch 2/2' in output and '- Eval metrics: accuracy:' in output
    assert not [line for line in output.splitlines() if any(word in line for word in NOISE)]
    for name in ('train.log', 'metrics_eval_best_weights.json', 'metrics_eval_last_weights.json',
                 'last_weights/after-epoch-2.index', 'best_weights/checkpoint'):
        assert os.path.exists(os.path.join(model_dir, name)), name

    values = scalar_tags(model_dir)
    for run_name in ('train_summaries', 'eval_summaries'):
        for tag in ('loss', 'accuracy'):
            assert values[run_name, tag], (run_name, tag)
    # 864 images in batches of 32: 27 steps an epoch; eval is written once per epoch, at the global step.
    assert [step for step, _ in values['eval_summaries', 'accuracy']] == [27, 54]
    assert len(values['train_summaries', 'loss']) == 54
    last = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    assert values['eval_summaries', 'accuracy'][-1][1] == pytest.approx(last['accuracy'])

    evaluated = run('evaluate.py', '--model_dir', model_dir, '--data_dir', data)
    test_metrics = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert 'accuracy: {:05.3f}'.format(test_metrics['accuracy']) in evaluated.stderr

    again = run('train.py', '--model_dir', model_dir, '--data_dir', data, check=False)
    assert again.returncode == 2 and 'already holds weights' in again.stderr

    write_params(model_dir, num_channels=4, image_size=32, batch_size=32, num_epochs=3)
    resumed = run('train.py', '--model_dir', model_dir, '--data_dir', data,
                  '--restore_from', os.path.join(model_dir, 'last_weights'))
    assert 'Epoch 3/3' in resumed.stderr and 'Epoch 2/3' not in resumed.stderr
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 3


def test_bad_params_is_one_clear_line(tmp_path):
    model_dir = str(tmp_path / 'bad')
    os.makedirs(model_dir)
    with open(os.path.join(model_dir, 'params.json'), 'w') as f:
        f.write('{"learning_rate": 1e-3,\n "batch_size": 32,,\n}')
    result = run('train.py', '--model_dir', model_dir, '--data_dir', str(tmp_path), check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'Error: {} is not valid JSON: Expecting property name enclosed in double quotes at line 2, column 19'.format(
            os.path.join(model_dir, 'params.json'))]
