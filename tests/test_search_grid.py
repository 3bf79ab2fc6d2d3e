"""search/grid.py: the search's grid, job folders and where each job stands, in-process, and its refusals.

The refusals run search_hyperparams.py as a user would: it must stop with one line before
making any job folder. Training through the search is in test_search_local.py (and
test_search_slurm.py); the results table in test_search_results.py.
"""
import argparse
import json
import os
import shutil

import pytest

import train
from helpers import read_json, run, write_params
from helpers.search import write_search
from model.core.errors import InputError
from search.grid import (
    DEFAULT_SEARCH,
    check_same_dataset,
    job_name,
    plan_jobs,
    prepare_folder,
    read_search,
    settings,
    status_of,
    train_command,
)


def test_without_search_json_the_tutorials_learning_rates(tmp_path):
    grid, slurm = read_search(str(tmp_path))
    assert grid == DEFAULT_SEARCH == {'learning_rate': [1e-4, 1e-3, 1e-2]} and slurm == {}
    assert [job_name(s) for s in settings(grid)] == [
        'learning_rate_0.0001', 'learning_rate_0.001', 'learning_rate_0.01']


def test_several_keys_make_their_full_grid(tmp_path):
    write_search(str(tmp_path), {'learning_rate': [1e-3, 1e-2], 'batch_size': [16, 32, 64],
                                 'use_batch_norm': [True, False], 'slurm': {'time': '1:00:00'}})
    grid, slurm = read_search(str(tmp_path))
    names = [job_name(s) for s in settings(grid)]
    assert len(names) == len(set(names)) == 12
    assert names[:3] == ['learning_rate_0.001-batch_size_16-use_batch_norm_true',
                         'learning_rate_0.001-batch_size_16-use_batch_norm_false',
                         'learning_rate_0.001-batch_size_32-use_batch_norm_true']
    assert slurm == {'time': '1:00:00'}


def test_an_integer_for_a_float_key_is_accepted_as_a_float(tmp_path):
    write_search(str(tmp_path), {'learning_rate': [1]})
    grid, _ = read_search(str(tmp_path))
    assert grid == {'learning_rate': [1.0]} and isinstance(grid['learning_rate'][0], float)


@pytest.mark.parametrize('search, message', [
    ('{"learning_rate": [0.1, 0.01,]}', 'is not valid JSON: Expecting value at line 1, column 30'),
    ('{\n  "learning_rate": [0.1]\n  "batch_size": [16]\n}', "Expecting ',' delimiter at line 3, column 3"),
    ('[0.1, 0.01]', 'expected a JSON object mapping hyperparameters to lists of values'),
    ('{}', 'names no hyperparameter to search'),
    ({'learning_rate': []}, "'learning_rate' must be a non-empty list of values"),
    ({'learning_rate': 0.01}, "'learning_rate' must be a non-empty list of values, such as [0.01], got 0.01"),
    ({'learning_rte': [0.01]}, "unknown hyperparameter 'learning_rte'"),
    ({'train_size': [10]}, "unknown hyperparameter 'train_size'"),
    ({'batch_size': [16, '32']}, "'batch_size' must be an integer, got '32' (remove the quotes)"),
    ({'batch_size': [16, 32.5]}, "'batch_size' must be an integer, got 32.5"),
    ({'use_batch_norm': [1, 0]}, "'use_batch_norm' must be true or false, got 1"),
    ({'learning_rate': [0.01, -0.1]}, "'learning_rate' must be positive, got -0.1"),
    ({'learning_rate': [1e-3, 0.001]}, "'learning_rate' lists the value 0.001 twice"),
    ({'learning_rate': [1e-3], 'slurm': 'gpu'}, "'slurm' must be an object of Slurm resources"),
])
def test_bad_search_json_is_refused_before_any_job(tmp_path, data_dir, search, message):
    parent = str(tmp_path / 'search')
    write_params(parent)
    write_search(parent, search)
    with pytest.raises(InputError) as error:
        read_search(parent)
    assert message in str(error.value) and os.path.join(parent, 'search.json') in str(error.value)

    # The script: one line, exit status 2, and not a single job folder made.
    result = run('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == 'Error: {}\n'.format(error.value) and result.stdout == ''
    assert sorted(os.listdir(parent)) == ['params.json', 'search.json']


def test_other_mistakes_are_refused_before_any_job(tmp_path, data_dir):
    parent = str(tmp_path / 'search')
    write_params(parent, batch_size='16')
    result = run('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, check=False)
    assert result.returncode == 2 and "'batch_size' must be an integer" in result.stderr

    write_params(parent)
    for args, message in [(['--data_dir', str(tmp_path / 'nothing')], 'nothing/train_signs: build the dataset'),
                          (['--data_dir', data_dir, '--jobs', '0'], '--jobs must be at least 1'),
                          (['--data_dir', data_dir, '--launcher', 'no-such-launcher -x'],
                           "no command 'no-such-launcher' found"),
                          (['--data_dir', data_dir, '--launcher', 'srun "unclosed'], 'No closing quotation')]:
        result = run('search_hyperparams.py', '--parent_dir', parent, *args, check=False)
        assert result.returncode == 2 and result.stderr.count('\n') == 1 and message in result.stderr, result.stderr
    assert os.listdir(parent) == ['params.json']


def test_job_folders_params_and_commands(tmp_path):
    parent = str(tmp_path)
    write_params(parent, learning_rate=0.5)
    write_search(parent, {'learning_rate': [1e-4, 1e-2]})
    jobs = plan_jobs(parent, read_search(parent)[0])
    assert [(job.name, job.status) for job in jobs] == [('learning_rate_0.0001', 'new'), ('learning_rate_0.01', 'new')]
    assert not os.path.exists(jobs[0].folder)  # planning writes nothing

    prepare_folder(jobs[0])
    params = read_json(os.path.join(jobs[0].folder, 'params.json'))
    assert params == dict(read_json(os.path.join(parent, 'params.json')), learning_rate=1e-4)
    assert train_command(jobs[0], 'data dir', '/py', 'train.py') == [
        '/py', 'train.py', '--model_dir', os.path.join(parent, 'learning_rate_0.0001'), '--data_dir', 'data dir']


def test_done_and_half_done_jobs(trained, data_dir, tmp_path):
    """Job folders as train.py leaves them (the trained fixture: 2 epochs saved), for a search of 2 or 3 epochs."""
    parent = str(tmp_path / 'search')
    write_params(parent, num_epochs=3)
    grid = {'learning_rate': [1e-4, 1e-3, 1e-2]}
    half_done, killed_in_its_last_save, interrupted_early = [
        os.path.join(parent, job_name({'learning_rate': v})) for v in grid['learning_rate']]
    for folder in (half_done, killed_in_its_last_save):
        shutil.copytree(trained, folder)
        write_params(folder, num_epochs=3, learning_rate=float(folder.rsplit('_', 1)[1]))
    # Killed after saving the weights of epoch 2 (with num_epochs 2), before their metrics: what is on
    # disk says epoch 1 was the last one measured, and the weights are there.
    last_json = os.path.join(killed_in_its_last_save, 'metrics_eval_last_weights.json')
    epoch_1 = dict(read_json(last_json), epoch=1)
    with open(last_json, 'w') as f:
        json.dump(epoch_1, f)
    # Stopped during its first epoch: only what a save killed midway leaves (or nothing at all);
    # train.py --restore_from would have nothing to restore, so the job starts again.
    os.makedirs(os.path.join(interrupted_early, 'last_weights'))
    open(os.path.join(interrupted_early, 'last_weights', 'after-epoch-1.index.tempstate12345'), 'w').close()

    assert status_of(trained, 2) == 'done'
    assert status_of(half_done, 3) == 'resume'
    assert status_of(killed_in_its_last_save, 2) == 'done'
    assert status_of(interrupted_early, 3) == 'new'
    jobs = plan_jobs(parent, grid)
    assert [job.status for job in jobs] == ['resume', 'resume', 'new']  # 2 epochs of 3: both continue
    assert train_command(jobs[0], 'data', 'py', 'train.py')[-2:] == [
        '--restore_from', os.path.join(half_done, 'last_weights')]
    # Why the job killed in its last save counts as done: resuming it would fail on every rerun.
    write_params(killed_in_its_last_save, num_epochs=2, learning_rate=1e-3)
    with pytest.raises(InputError, match='saved after epoch 2, and num_epochs in params.json is 2'):
        train.main(argparse.Namespace(model_dir=killed_in_its_last_save, data_dir=data_dir,
                                      restore_from=os.path.join(killed_in_its_last_save, 'last_weights')))


def test_a_job_folder_made_with_other_params_is_refused(tmp_path):
    parent = str(tmp_path)
    write_params(parent, num_channels=8)
    [job] = plan_jobs(parent, {'learning_rate': [0.01]})
    prepare_folder(job)
    write_params(parent, num_channels=16)
    with pytest.raises(InputError) as error:
        plan_jobs(parent, {'learning_rate': [0.01]})
    assert "learning_rate_0.01/params.json does not match the search's params (num_channels is 8 there, 16 now)" in str(error.value)


def test_a_value_cannot_make_a_path(tmp_path):
    parent = str(tmp_path)
    write_params(parent)
    with pytest.raises(InputError, match="would hold a path separator"):
        plan_jobs(parent, {'model_version': ['../../outside']})


def write_dataset_record(folder, **identity):
    """A run's dataset.json, as train.py writes it (the data set's identity, the params it trained with)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'dataset.json'), 'w') as f:
        json.dump(dict(identity, trained_params={'embedding_size': 16}, keep=['dataset_params.json']), f)


def test_a_search_on_another_data_set_than_its_runs_is_refused(tmp_path):
    parent = str(tmp_path / 'p')
    ner = {'data_dir': '/data/NER', 'source': None, 'fits': {'words.txt': 'a1', 'tags.txt': 'b1', 'chars.txt': 'c1'}}
    write_dataset_record(os.path.join(parent, 'learning_rate_0.01'), **ner)
    os.makedirs(os.path.join(parent, 'learning_rate_0.1'))  # not started: nothing recorded
    check_same_dataset(parent, dict(ner, keep=[]))  # the same data set: what was kept beside does not matter

    with pytest.raises(InputError) as error:
        check_same_dataset(parent, dict(ner, data_dir='/data/ESP'))
    assert str(error.value) == (
        "{}: this run was trained on the data set in /data/NER, and the search would train on /data/ESP: one table "
        "would rank them together. Run it with --data_dir /data/NER, or search into a new --parent_dir".format(
            os.path.join(parent, 'learning_rate_0.01', 'dataset.json')))
    # The same folder rebuilt since: its vocabulary (what train.py's resume compares) is another.
    with pytest.raises(InputError) as error:
        check_same_dataset(parent, dict(ner, fits=dict(ner['fits'], **{'words.txt': 'a2', 'chars.txt': 'c2'})))
    assert str(error.value) == (
        "{}: this run was trained on the data set in /data/NER as it was before it was rebuilt (chars.txt, words.txt "
        "changed since): one table would rank them together. Search into a new --parent_dir, or move this search's "
        "runs away".format(os.path.join(parent, 'learning_rate_0.01', 'dataset.json')))
    # A vision set rebuilt from other images (its source.json), or with other classes.
    signs = {'data_dir': '/data/SIGNS', 'source': '/raw/SIGNS'}
    write_dataset_record(os.path.join(parent, 'learning_rate_0.01'), **signs)
    with pytest.raises(InputError, match=r'before it was rebuilt \(source changed since\)'):
        check_same_dataset(parent, dict(signs, source='/raw/OTHER'))
    with pytest.raises(InputError, match=r'before it was rebuilt \(classes.json, class_names changed since\)'):
        check_same_dataset(parent, dict(signs, class_names=['a', 'b'], fits={'classes.json': 'd'}))
