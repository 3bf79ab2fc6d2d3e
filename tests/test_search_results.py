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
from search.spread import spread_table


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


def write_dataset(folder, data_dir):
    """The dataset.json train.py writes as a run starts (what identifies the data set it trains on)."""
    with open(os.path.join(folder, 'dataset.json'), 'w') as f:
        json.dump({'data_dir': os.path.abspath(data_dir), 'source': None}, f)


def write_test(folder, metrics, data_dir):
    """The test metrics evaluate.py writes, with the data set they were measured on."""
    with open(os.path.join(folder, 'metrics_test_best_weights.json'), 'w') as f:
        json.dump(dict(metrics, data_dir=os.path.abspath(data_dir)), f)


def test_the_table_says_which_data_set_each_run_was_trained_and_tested_on_and_ranks_within_each(tmp_path,
                                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)  # the data sets show relative to the working folder
    parent = str(tmp_path / 'p')
    write_params(parent, num_epochs=1, example='ner')
    runs = [('lr_0.1', 0.1, 0.62, 'data/ESP'), ('lr_0.01', 0.01, 0.16, 'data/NER'),
            ('lr_0.001', 0.001, 0.12, 'data/NER'), ('lr_0.0001', 0.0001, 0.14, 'data/ESP')]
    for name, learning_rate, f1, data in runs:
        folder = os.path.join(parent, name)
        write_result(folder, {'learning_rate': learning_rate, 'num_epochs': 1, 'example': 'ner'}, {'f1': f1})
        write_last_epoch(folder, 1)
        write_dataset(folder, data)
    write_test(os.path.join(parent, 'lr_0.01'), {'f1': 0.25}, 'data/NER')
    write_test(os.path.join(parent, 'lr_0.001'), {'f1': 0.5}, str(tmp_path.parent / 'elsewhere'))
    rows, problems = gather(parent)
    assert problems == []
    assert markdown_table(rows) == (
        '| experiment | state | data set | learning_rate | f1 |\n'
        '| --- | --- | --- | --- | --- |\n'
        '| lr_0.1 | finished | data/ESP | 0.1 | 0.6200 |\n'
        '| lr_0.0001 | finished | data/ESP | 0.0001 | 0.1400 |\n'
        '| lr_0.01 | finished | data/NER | 0.01 | 0.1600 |\n'
        '| lr_0.001 | finished | data/NER (tested on {}) | 0.001 | 0.1200 |\n'
        '\n'
        'Ranked by dev f1: 4 finished run(s), and no unfinished one. Ranked within each of the 2 data sets, one '
        'after the other: figures on different data sets do not compare.\n'.format(tmp_path.parent / 'elsewhere'))

    # One data set: the usual ranking; the column stays for the run tested on another one. A damaged record
    # is said, and skipped (that run's data set is then the one its test metrics name).
    write_dataset(os.path.join(parent, 'lr_0.1'), 'data/NER')
    write_dataset(os.path.join(parent, 'lr_0.0001'), 'data/NER')
    with open(os.path.join(parent, 'lr_0.01', 'dataset.json'), 'w') as f:
        f.write('{')
    rows, problems = gather(parent)
    assert len(problems) == 1 and problems[0].startswith('Skipped {} is not valid JSON'.format(
        os.path.join(parent, 'lr_0.01', 'dataset.json')))
    table = markdown_table(rows).splitlines()
    assert table[2:6] == ['| lr_0.1 | finished | data/NER | 0.1 | 0.6200 |',
                          '| lr_0.01 | finished | data/NER | 0.01 | 0.1600 |',
                          '| lr_0.0001 | finished | data/NER | 0.0001 | 0.1400 |',
                          '| lr_0.001 | finished | data/NER (tested on {}) | 0.001 | 0.1200 |'.format(
                              tmp_path.parent / 'elsewhere')]
    assert table[7] == 'Ranked by dev f1: 4 finished run(s), and no unfinished one.'
    # Every run on one data set, and tested on it: like a hyperparameter they share, it says nothing.
    write_test(os.path.join(parent, 'lr_0.001'), {'f1': 0.5}, 'data/NER')
    assert markdown_table(gather(parent)[0]).splitlines()[0] == '| experiment | state | learning_rate | f1 |'


def test_runs_that_differ_only_by_their_seed_are_summed_up_per_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the data sets show relative to the working folder
    parent = str(tmp_path / 'p')
    write_params(parent, num_epochs=2)
    # Seed 4 is not started anywhere: a row of each setting's, without a data set.
    write_search(parent, {'learning_rate': [0.1, 0.01, 0.001], 'seed': [1, 2, 3, 4]})
    accuracy = {(0.1, 1): 0.5, (0.1, 2): 0.75, (0.1, 3): 0.25, (0.01, 1): 0.875, (0.01, 2): 0.625}
    for (learning_rate, seed), value in accuracy.items():
        folder = os.path.join(parent, 'learning_rate_{}-seed_{}'.format(learning_rate, seed))
        write_result(folder, {'learning_rate': learning_rate, 'seed': seed, 'num_epochs': 2},
                     {'accuracy': value, 'epoch': 2})
        write_last_epoch(folder, 2)
        write_dataset(folder, 'data')
    write_test(os.path.join(parent, 'learning_rate_0.1-seed_1'), {'accuracy': 0.4}, 'data')
    write_test(os.path.join(parent, 'learning_rate_0.1-seed_2'), {'accuracy': 0.6}, 'data')
    # Best of all so far, but stopped at epoch 1 of 2: left out of the figures of its setting.
    stopped = os.path.join(parent, 'learning_rate_0.01-seed_3')
    write_result(stopped, {'learning_rate': 0.01, 'seed': 3, 'num_epochs': 2}, {'accuracy': 1.0, 'epoch': 1})
    write_last_epoch(stopped, 1)
    write_dataset(stopped, 'data')

    rows, _ = gather(parent)
    assert spread_table(rows) == (
        'Over seeds:\n\n'
        '| setting | seeds | runs | dev accuracy mean | std | min-max | test accuracy mean | std | min-max |\n'
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
        '| learning_rate_0.01 | 2 | 2 finished, 1 stopped, 1 not started | 0.7500 | 0.1768 | 0.6250-0.8750 |  |  |  |\n'
        '| learning_rate_0.1 | 3 | 3 finished, 1 not started | 0.5000 | 0.2500 | 0.2500-0.7500 | 0.5000 | 0.1414 | '
        '0.4000-0.6000 |\n'
        '| learning_rate_0.001 | 0 | 4 not started |  |  |  |  |  |  |\n'
        '\n'
        'Ranked by the mean dev accuracy over the finished runs of each setting (3 setting(s)); std is the standard '
        'deviation of a sample (n - 1), none for one seed.\n')
    # synthesize_results.py: the table of the runs, then the one over seeds.
    result = script('synthesize_results.py', '--parent_dir', parent, cwd=tmp_path)
    assert result.stdout == markdown_table(rows) + '\n' + spread_table(rows)
    with open(os.path.join(parent, 'results.md')) as f:
        assert f.read() == result.stdout

    # One seed per setting, or seeds on their own: nothing to sum up; one setting over seeds: 'every run'.
    assert spread_table([row for row in rows if row.params['seed'] == 1]) == ''
    one_setting = spread_table([row for row in rows if row.params['learning_rate'] == 0.1]).splitlines()
    assert one_setting[4] == '| every run | 3 | 3 finished, 1 not started | 0.5000 | 0.2500 | 0.2500-0.7500 | 0.5000 | 0.1414 | ' \
                             '0.4000-0.6000 |'
    # A seed alone finished: its mean, without a spread.
    alone = [row for row in rows if row.name in ('learning_rate_0.1-seed_1', 'learning_rate_0.1-seed_2',
                                                  'learning_rate_0.01-seed_1')]
    assert spread_table(alone).splitlines()[4:6] == [
        '| learning_rate_0.01 | 1 | 1 finished | 0.8750 |  | 0.8750-0.8750 |  |  |  |',
        '| learning_rate_0.1 | 2 | 2 finished | 0.6250 | 0.1768 | 0.5000-0.7500 | 0.5000 | 0.1414 | 0.4000-0.6000 |']
    # The same setting on two data sets: two settings, each saying its data set.
    write_dataset(os.path.join(parent, 'learning_rate_0.1-seed_3'), 'other')
    rows, _ = gather(parent)
    table = spread_table(rows).splitlines()
    assert table[2] == ('| setting | data set | seeds | runs | dev accuracy mean | std | min-max | test accuracy mean '
                        '| std | min-max |')
    assert table[4:8] == [
        '| learning_rate_0.01 | data | 2 | 2 finished, 1 stopped, 1 not started | 0.7500 | 0.1768 | 0.6250-0.8750 '
        '|  |  |  |',
        '| learning_rate_0.1 | data | 2 | 2 finished, 1 not started | 0.6250 | 0.1768 | 0.5000-0.7500 | 0.5000 | '
        '0.1414 | 0.4000-0.6000 |',
        '| learning_rate_0.1 | other | 1 | 1 finished | 0.2500 |  | 0.2500-0.2500 |  |  |  |',
        '| learning_rate_0.001 |  | 0 | 4 not started |  |  |  |  |  |  |']
