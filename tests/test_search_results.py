"""search/results.py and synthesize_results.py: the table of a search, and the state of each of its runs."""
import json
import os
import shutil
import signal

import pytest

from helpers import read_json, run, write_params
from helpers.processes import read_until
from helpers.search import make_parent, script, start, wait_for, write_search
from search.grid import last_metrics_epoch
from search.results import gather, markdown_table


def write_result(folder, params, metrics):
    os.makedirs(folder, exist_ok=True)
    if params is not None:
        write_params(folder, **params)
    with open(os.path.join(folder, 'metrics_eval_best_weights.json'), 'w') as f:
        f.write(metrics if isinstance(metrics, str) else json.dumps(metrics))


def write_last_epoch(folder, epoch):
    """The metrics of the last epoch train.py saved (what says how far a run got)."""
    with open(os.path.join(folder, 'metrics_eval_last_weights.json'), 'w') as f:
        json.dump({'accuracy': 0.5, 'epoch': epoch}, f)


def test_results_table(tmp_path):
    parent = str(tmp_path / 'learning_rate')
    write_params(parent)
    write_result(os.path.join(parent, 'learning_rate_0.01'), {'learning_rate': 0.01},
                 {'accuracy': 0.5, 'loss': 1.25, 'epoch': 2})
    write_result(os.path.join(parent, 'learning_rate_0.001'), {'learning_rate': 0.001},
                 {'accuracy': 0.875, 'loss': 0.40625, 'epoch': 9})
    write_result(os.path.join(parent, 'broken'), {}, '{"accuracy": 0.9')
    write_result(os.path.join(parent, 'no accuracy | yet'), None, {'loss': 2.0})

    rows, problems = gather(parent)
    assert problems == ['Skipped {} is not valid JSON: Expecting \',\' delimiter at line 1, column 17'.format(
        os.path.join(parent, 'broken', 'metrics_eval_best_weights.json'))]
    assert markdown_table(rows) == (
        '| experiment | state | learning_rate | accuracy | loss | epoch |\n'
        '| --- | --- | --- | --- | --- | --- |\n'
        '| learning_rate_0.001 | finished | 0.001 | 0.8750 | 0.4062 | 9 |\n'
        '| learning_rate_0.01 | finished | 0.01 | 0.5000 | 1.2500 | 2 |\n'
        '| no accuracy \\| yet | unknown (no params.json with its num_epochs) |  |  | 2.0000 |  |\n'
        '\n'
        'Ranked by dev accuracy: 2 finished run(s), and no unfinished one. Without accuracy: 1 unknown.\n')


def test_synthesize_results_script(tmp_path):
    parent = str(tmp_path / 'lr')
    empty = run('synthesize_results.py', '--parent_dir', parent, check=False)
    assert empty.returncode == 2 and 'No folder {}'.format(parent) in empty.stderr
    write_params(parent)
    empty = run('synthesize_results.py', '--parent_dir', parent, check=False)
    assert empty.returncode == 2 and empty.stderr.startswith('Error: No results in {}'.format(parent))
    assert not os.path.exists(os.path.join(parent, 'results.md'))

    write_result(os.path.join(parent, 'learning_rate_0.1'), {'learning_rate': 0.1}, {'accuracy': 0.25})
    write_result(os.path.join(parent, 'learning_rate_0.01'), {'learning_rate': 0.01}, {'accuracy': 0.75})
    write_result(os.path.join(parent, 'learning_rate_1.0'), {'learning_rate': 1.0}, '[0.5]')
    # The tutorial's spelling, --model_dir, names the same folder.
    result = run('synthesize_results.py', '--model_dir', parent)
    table = ('| experiment | state | learning_rate | accuracy |\n| --- | --- | --- | --- |\n'
             '| learning_rate_0.01 | finished | 0.01 | 0.7500 |\n| learning_rate_0.1 | finished | 0.1 | 0.2500 |\n\n'
             'Ranked by dev accuracy: 2 finished run(s), and no unfinished one.\n')
    assert result.stdout == table
    assert result.stderr == 'Skipped {}: expected a JSON object, got list\n'.format(
        os.path.join(parent, 'learning_rate_1.0', 'metrics_eval_best_weights.json'))
    with open(os.path.join(parent, 'results.md')) as f:
        assert f.read() == table




def test_every_setting_of_the_search_says_its_state_and_finished_runs_rank_first(tmp_path):
    # Folders as a search leaves them (without a record of its outcomes: judged by the folders and their logs).
    parent = str(tmp_path / 'lr')
    write_params(parent, num_epochs=3)
    write_search(parent, {'learning_rate': [0.1, 0.01, 0.001, 0.0001]})
    write_result(os.path.join(parent, 'learning_rate_0.1'), {'learning_rate': 0.1, 'num_epochs': 3},
                 {'accuracy': 0.25, 'epoch': 3})
    write_last_epoch(os.path.join(parent, 'learning_rate_0.1'), 3)
    # Better so far, but stopped after 1 epoch of 3: it must not rank above the finished run.
    stopped = os.path.join(parent, 'learning_rate_0.01')
    write_result(stopped, {'learning_rate': 0.01, 'num_epochs': 3}, {'accuracy': 0.75, 'epoch': 1})
    write_last_epoch(stopped, 1)
    with open(os.path.join(stopped, 'output.log'), 'w') as f:
        f.write('Epoch 2/3\nStopped by SIGINT: the last finished epoch is 1 (saved in ...).\n')
    failed = os.path.join(parent, 'learning_rate_0.001')
    write_params(failed, num_epochs=3, learning_rate=0.001)
    with open(os.path.join(failed, 'output.log'), 'w') as f:
        f.write('==== python train.py\nTraceback (most recent call last):\n  File "train.py"\n'
                'ValueError: the labels go up to 5\n')

    result = run('synthesize_results.py', '--parent_dir', parent)
    assert result.stdout == (
        '| experiment | state | learning_rate | accuracy | epoch |\n'
        '| --- | --- | --- | --- | --- |\n'
        '| learning_rate_0.1 | finished | 0.1 | 0.2500 | 3 |\n'
        '| learning_rate_0.01 | stopped at epoch 1 of 3 | 0.01 | 0.7500 | 1 |\n'
        '| learning_rate_0.001 | failed before epoch 1 of 3: ValueError: the labels go up to 5 | 0.001 |  |  |\n'
        '| learning_rate_0.0001 | not started | 0.0001 |  |  |\n'
        '\n'
        'Ranked by dev accuracy: the 1 finished run(s) first; the 1 unfinished one(s) after them, by their best '
        'so far (not comparable with the finished ones). Without accuracy: 1 failed, 1 not started.\n')
    with open(os.path.join(parent, 'results.md')) as f:
        assert f.read() == result.stdout

    # Only failures and settings not started: a table that says so, not "No results ... Train first".
    for folder in ('learning_rate_0.1', 'learning_rate_0.01'):
        shutil.rmtree(os.path.join(parent, folder))
    result = run('synthesize_results.py', '--parent_dir', parent)
    assert result.stdout.splitlines()[2:] == [
        '| learning_rate_0.001 | failed before epoch 1 of 3: ValueError: the labels go up to 5 | 0.001 |',
        '| learning_rate_0.1 | not started | 0.1 |',
        '| learning_rate_0.01 | not started | 0.01 |',
        '| learning_rate_0.0001 | not started | 0.0001 |',
        '',
        'Nothing ranked: no run has a dev accuracy yet. Without accuracy: 1 failed, 3 not started.']


@pytest.mark.slow
def test_a_real_search_stopped_midway_with_a_failure_and_settings_never_started(tmp_path, data_dir):
    # The search: stopped (Ctrl-C) while its second long run trains. num_labels 2 passes the checks of
    # the params, but the data set has labels up to 5: that setting fails.
    make_parent(tmp_path / 'p', {'num_epochs': [1, 3000, 3001], 'num_labels': [6, 2]})
    search = start('search_hyperparams.py', '--parent_dir', 'p', '--data_dir', data_dir, cwd=tmp_path)
    running = str(tmp_path / 'p' / 'num_epochs_3000-num_labels_6')
    try:
        lines = read_until(search, lambda lines: len(lines) >= 3)
        wait_for(lambda: (last_metrics_epoch(running) or 0) >= 1, 'an epoch of the long run', 120, every=0.05)
        search.send_signal(signal.SIGINT)
        summary = ''.join(lines) + search.communicate(timeout=60)[0]
    finally:
        search.kill()
    assert search.returncode == 130, summary
    assert 'Search in p: 6 job(s): 1 trained, 1 failed, 4 stopped or not started.' in summary

    table = script('synthesize_results.py', '--parent_dir', 'p', cwd=tmp_path).stdout.splitlines()
    finished = read_json(str(tmp_path / 'p' / 'num_epochs_1-num_labels_6' / 'metrics_eval_best_weights.json'))
    stopped = read_json(os.path.join(running, 'metrics_eval_best_weights.json'))
    assert table[0] == '| experiment | state | num_epochs | num_labels | accuracy | loss | epoch |'
    assert table[2:4] == [
        '| num_epochs_1-num_labels_6 | finished | 1 | 6 | {:.4f} | {:.4f} | 1 |'.format(
            finished['accuracy'], finished['loss']),
        '| num_epochs_3000-num_labels_6 | stopped at epoch {} of 3000 | 3000 | 6 | {:.4f} | {:.4f} | {} |'.format(
            last_metrics_epoch(running), stopped['accuracy'], stopped['loss'], stopped['epoch'])]
    # The reason the search's summary gave (exit status 2, and the last line of its log).
    assert table[4].startswith('| num_epochs_1-num_labels_2 | failed before epoch 1 of 1: exit status 2: Error: ')
    assert 'a digit from 0 to 1' in table[4] and table[4].endswith(' | 1 | 2 |  |  |  |')
    assert table[5:8] == ['| num_epochs_3000-num_labels_2 | not started | 3000 | 2 |  |  |  |',
                          '| num_epochs_3001-num_labels_6 | not started | 3001 | 6 |  |  |  |',
                          '| num_epochs_3001-num_labels_2 | not started | 3001 | 2 |  |  |  |']
    assert table[8:] == ['', 'Ranked by dev accuracy: the 1 finished run(s) first; the 1 unfinished one(s) after '
                             'them, by their best so far (not comparable with the finished ones). Without accuracy: '
                             '1 failed, 3 not started.']
