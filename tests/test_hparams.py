"""TensorBoard's HParams dashboard: what train.py, evaluate.py and the search write, and what TensorBoard reads back."""
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from tensorboard.plugins.hparams import api_pb2, metadata

import evaluate
import train
from helpers import ROOT, read_json, script_args, write_params
from helpers.tensorboard import TensorBoard
from model.core import hparams
from model.core.params import METRICS, params_spec
from model.core.tf_compat import tf
from model.utils import Params
from search.grid import format_value
from search.hparams_config import write_experiment_config

HPARAMS = 'hparams'  # the sub-folder of each experiment folder, and of a search's parent


def scalars(folder):
    """{tag: [(step, value), ...]} of every scalar in folder's event files, in the order TensorBoard reads them."""
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, 'events.out.tfevents.*'))):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField('simple_value'):
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


def plugin_values(path):
    """The HParams plugin data of one event file: {tag: content bytes}."""
    return {value.tag: value.metadata.plugin_data.content
            for event in tf.train.summary_iterator(path) for value in event.summary.value
            if value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME}


def session_files(model_dir):
    return glob.glob(os.path.join(model_dir, HPARAMS, 'events.out.tfevents.*.hparams-session'))


def test_the_session_is_written_once_and_replaced_only_when_the_params_change(tmp_path, params):
    model_dir = str(tmp_path / 'run')
    hparams.start_session(model_dir, params)
    (first,) = session_files(model_dir)
    info = hparams.read_session(model_dir)
    assert info.group_name == ''  # the group is the session: the folder
    values = {key: value.WhichOneof('kind') for key, value in info.hparams.items()}
    # Every key a search may vary, with its type; the optional keys left unset (class_names, cache_budget_mb) are not.
    unset = {key for key in params_spec('vision', 'params.json') if getattr(params, key) is None}
    assert unset == {'class_names', 'cache_budget_mb'}
    assert set(values) == set(params_spec('vision', 'params.json')) - unset
    assert values['learning_rate'] == values['batch_size'] == 'number_value'
    assert values['use_batch_norm'] == 'bool_value' and values['model_version'] == 'string_value'
    assert info.hparams['learning_rate'].number_value == params.learning_rate
    with open(first, 'rb') as f:
        content = f.read()

    time.sleep(1.1)  # a rewrite would get another file name (FileWriter names files by the second)
    hparams.start_session(model_dir, params)  # a resumed run, same params: nothing written
    assert session_files(model_dir) == [first]
    with open(first, 'rb') as f:
        assert f.read() == content

    params.num_epochs = 5  # resumed to train further: the same session, with the new value
    hparams.start_session(model_dir, params)
    (replaced,) = session_files(model_dir)
    assert replaced != first
    again = hparams.read_session(model_dir)
    assert again.hparams['num_epochs'].number_value == 5
    assert again.start_time_secs == info.start_time_secs

    params.num_epochs = 7  # evaluate.py keeps the session training wrote
    hparams.start_session(model_dir, params, replace=False)
    assert session_files(model_dir) == [replaced]
    assert hparams.read_session(model_dir).hparams['num_epochs'].number_value == 5


def test_a_list_value_is_its_json_text(tmp_path, params):
    params.class_names = ['fist', 'one', 'two', 'three', 'four', 'five']
    assert hparams.session_hparams(params)['class_names'] == json.dumps(params.class_names)


def test_a_damaged_session_file_is_written_anew(tmp_path, params):
    model_dir = str(tmp_path / 'run')
    hparams.start_session(model_dir, params)
    (path,) = session_files(model_dir)
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) - 7)
    assert hparams.read_session(model_dir) is None
    hparams.start_session(model_dir, params)
    assert hparams.read_session(model_dir).hparams['batch_size'].number_value == params.batch_size
    assert len(session_files(model_dir)) == 1


def experiment_of(parent):
    (path,) = glob.glob(os.path.join(parent, HPARAMS, 'events.out.tfevents.*.hparams-experiment'))
    return metadata.parse_experiment_plugin_data(plugin_values(path)[metadata.EXPERIMENT_TAG])


def test_the_experiment_config_names_the_searched_values_and_the_metrics(tmp_path):
    parent = str(tmp_path / 'search')
    write_params(parent)
    grid = {'learning_rate': [1e-4, 1e-3], 'use_batch_norm': [True, False], 'model_version': ['baseline'],
            'num_channels': [4, 8]}
    write_experiment_config(parent, grid)
    experiment = experiment_of(parent)
    infos = {info.name: info for info in experiment.hparam_infos}
    assert list(infos) == list(grid)
    assert infos['learning_rate'].type == api_pb2.DATA_TYPE_FLOAT64
    assert list(infos['learning_rate'].domain_discrete) == [1e-4, 1e-3]
    assert list(infos['num_channels'].domain_discrete) == [4, 8]
    assert infos['use_batch_norm'].type == api_pb2.DATA_TYPE_BOOL
    assert list(infos['use_batch_norm'].domain_discrete) == [False, True]
    assert infos['model_version'].type == api_pb2.DATA_TYPE_STRING
    assert list(infos['model_version'].domain_discrete) == ['baseline']
    assert [info.differs for info in infos.values()] == [True, True, False, True]
    assert infos['learning_rate'].description == "Adam's step size"
    names = [(m.name.group, m.name.tag, m.display_name) for m in experiment.metric_infos]
    assert names == [('', 'eval_best_weights/accuracy', 'dev accuracy'),
                     ('', 'test_best_weights/accuracy', 'test accuracy'),
                     ('', 'eval_best_weights/loss', 'dev loss'),
                     ('', 'eval_best_weights/epoch', 'best epoch'),
                     ('', 'test_best_weights/loss', 'test loss')]
    assert experiment.metric_infos[0].dataset_type == api_pb2.DATASET_VALIDATION

    # A search run again with another grid: one config, the new one.
    write_experiment_config(parent, {'batch_size': [16, 32]})
    assert [info.name for info in experiment_of(parent).hparam_infos] == ['batch_size']


def test_the_ner_metrics_put_f1_first():
    tags = [metric.as_proto().name.tag for metric in hparams.experiment_metrics('ner')]
    assert tags[:5] == ['eval_best_weights/f1', 'test_best_weights/f1', 'eval_best_weights/precision',
                        'eval_best_weights/recall', 'eval_best_weights/accuracy']
    assert sorted(tags) == sorted(['eval_best_weights/epoch'] + [
        '{}_best_weights/{}'.format(split, name) for split in ('eval', 'test')
        for name in ('f1', 'precision', 'recall', 'accuracy', 'loss')])


def test_the_vision_metrics_are_those_its_model_fn_computes(params):
    """The config names the metrics before any run: they must be the ones the graph's metrics dict has."""
    from helpers.graphs import fake_inputs
    from model.model_fn import model_fn
    with tf.Graph().as_default():
        spec = model_fn('eval', fake_inputs(params), params)
    assert set(spec['metrics']) == set(METRICS['vision'])


def test_training_evaluating_and_resuming_write_one_session_and_its_metrics(data_dir, tmp_path):
    model_dir = str(tmp_path / 'model')
    write_params(model_dir, num_epochs=2)
    train.main(script_args(model_dir, data_dir))
    (session,) = session_files(model_dir)
    start = hparams.read_session(model_dir)
    assert start.hparams['num_epochs'].number_value == 2
    best = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    written = scalars(os.path.join(model_dir, HPARAMS))
    # The epochs that became the best, each once; the last value is the file's.
    steps = [step for step, _ in written['eval_best_weights/accuracy']]
    assert steps == sorted(set(steps)) and steps[-1] == best['epoch'] and set(steps) <= {1, 2}
    for key in ('accuracy', 'loss', 'epoch'):
        assert written['eval_best_weights/' + key][-1] == (best['epoch'], best[key])

    metrics = evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    written = scalars(os.path.join(model_dir, HPARAMS))
    written_file = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    assert {key: written_file[key] for key in metrics} == metrics  # beside them, the report (test_reports.py)
    for key in ('accuracy', 'loss'):
        assert written['test_best_weights/' + key] == [(best['epoch'], metrics[key])]
    assert session_files(model_dir) == [session]

    # Resumed for one more epoch: the same session (its start time), now saying num_epochs 3.
    write_params(model_dir, num_epochs=3)
    train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))
    assert len(session_files(model_dir)) == 1
    resumed = hparams.read_session(model_dir)
    assert resumed.start_time_secs == start.start_time_secs
    assert resumed.hparams['num_epochs'].number_value == 3
    best = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    written = scalars(os.path.join(model_dir, HPARAMS))
    for key in ('accuracy', 'loss', 'epoch'):
        assert written['eval_best_weights/' + key][-1] == (best['epoch'], best[key])
    # Only the metrics files' numbers go to the session's folder; the curves stay where they were.
    assert set(written) == {'eval_best_weights/accuracy', 'eval_best_weights/loss', 'eval_best_weights/epoch',
                            'test_best_weights/accuracy', 'test_best_weights/loss'}


def test_evaluate_gives_an_older_folder_its_session(data_dir, tmp_path):
    """A folder trained before sessions were written (no session file) gets one from evaluate.py."""
    model_dir = str(tmp_path / 'model')
    write_params(model_dir, num_epochs=1)
    train.main(script_args(model_dir, data_dir))
    for path in session_files(model_dir):
        os.remove(path)
    shutil.rmtree(os.path.join(model_dir, HPARAMS))
    evaluate.main(script_args(model_dir, data_dir, 'last_weights'))
    assert hparams.read_session(model_dir).hparams['num_epochs'].number_value == 1
    test = read_json(os.path.join(model_dir, 'metrics_test_last_weights.json'))
    assert scalars(os.path.join(model_dir, HPARAMS))['test_last_weights/accuracy'] == [(1, test['accuracy'])]


# --- TensorBoard itself, on a finished search ---------------------------------------------------------

STATUSES = ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING']
JOBS = ('learning_rate_0.001', 'learning_rate_0.01')


def script(name, *arguments, cwd):
    result = subprocess.run([sys.executable, os.path.join(ROOT, name), *arguments], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, '{} exited {}:\n{}\n{}'.format(name, result.returncode, result.stdout,
                                                                    result.stderr)
    return result.stdout


@pytest.fixture(scope='module')
def search(data_dir, tmp_path_factory):
    """A finished two-run search, as a user runs it: search, evaluate.py on each run, synthesize_results.py.

    evaluate.py runs in-process (the files it writes are the same; a process more would only start TensorFlow again).
    """
    home = tmp_path_factory.mktemp('hparams_search')
    parent = str(home / 'learning_rate')
    write_params(parent, num_epochs=1)
    with open(os.path.join(parent, 'search.json'), 'w') as f:
        json.dump({'learning_rate': [1e-3, 1e-2]}, f)
    script('search_hyperparams.py', '--parent_dir', parent, '--data_dir', data_dir, '--jobs', '2', cwd=str(home))
    for name in JOBS:
        evaluate.main(script_args(os.path.join(parent, name), data_dir, 'best_weights'))
    table = script('synthesize_results.py', '--parent_dir', parent, cwd=str(home))
    return parent, table


def hparams_tab(board, done, timeout=120):
    """(experiment, session groups) as the HParams tab asks for them on opening, once done(...) holds.

    TensorBoard loads the event files in the background: ask again until then.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            experiment = board.post('experiment', {'experimentName': '', 'hparamsLimit': 1000})
            groups = board.post('session_groups', {
                'experimentName': '', 'allowedStatuses': STATUSES,
                'colParams': [{'hparam': info['name'], 'includeInResult': True}
                              for info in experiment.get('hparamInfos', [])] +
                             [{'metric': info['name'], 'includeInResult': True}
                              for info in experiment.get('metricInfos', [])],
                'startIndex': 0, 'sliceSize': 100})
            if done(experiment, groups):
                return experiment, groups
        except urllib.error.URLError:  # not serving yet
            experiment = groups = None
        assert board.process.poll() is None, 'TensorBoard exited:\n' + board.output()
        assert time.monotonic() < deadline, 'Timed out; last answers: {}\n{}\n{}'.format(
            experiment, groups, board.output())
        time.sleep(0.5)


def metric_values(group):
    """{tag: (value, step)} of a session group's metrics (those of its session's own folder)."""
    return {m['name']['tag']: (m['value'], int(m['trainingStep'])) for m in group.get('metricValues', [])
            if m['name'].get('group', '') == ''}


def expected_metrics(model_dir):
    """{tag: (value, step)} as the run's metrics JSON files say (the test file's metrics; its report by class
    and the data set evaluated on are no metrics of the session)."""
    best = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    test = read_json(os.path.join(model_dir, 'metrics_test_best_weights.json'))
    expected = {'eval_best_weights/' + key: (value, best['epoch']) for key, value in best.items()}
    expected.update({'test_best_weights/' + key: (test[key], best['epoch']) for key in METRICS['vision']})
    return expected


def all_loaded(experiment, groups):
    sessions = groups.get('sessionGroups', [])
    return len(sessions) == len(JOBS) and all(len(metric_values(group)) == 5 for group in sessions)


@pytest.mark.slow
@pytest.mark.parametrize('loader', [[], ['--load_fast=false']], ids=['default', 'load_fast_false'])
def test_tensorboard_shows_the_search_as_the_metrics_files_and_the_table_say(search, loader, tmp_path):
    parent, table = search
    with TensorBoard(parent, str(tmp_path / 'tensorboard.log'), *loader) as board:
        experiment, groups = hparams_tab(board, all_loaded)

    # The columns: the searched hyperparameter with its values, and the config's metrics.
    assert [(info['name'], info['type'], info['domainDiscrete'], info['differs'])
            for info in experiment['hparamInfos']] == [('learning_rate', 'DATA_TYPE_FLOAT64', [0.001, 0.01], True)]
    assert [(m['name'].get('group', ''), m['name']['tag'], m['displayName']) for m in experiment['metricInfos']] == [
        ('', 'eval_best_weights/accuracy', 'dev accuracy'), ('', 'test_best_weights/accuracy', 'test accuracy'),
        ('', 'eval_best_weights/loss', 'dev loss'), ('', 'eval_best_weights/epoch', 'best epoch'),
        ('', 'test_best_weights/loss', 'test loss')]

    # The rows: one per run, its session being the run folder's hparams/ (the Trial ID), with the
    # values of its params.json and metrics files.
    assert sorted(group['name'] for group in groups['sessionGroups']) == [name + '/hparams' for name in JOBS]
    assert groups['totalSize'] == 2
    rows = {group['name'].rpartition('/')[0]: group for group in groups['sessionGroups']}
    for name, group in rows.items():
        model_dir = os.path.join(parent, name)
        assert group['hparams'] == {'learning_rate': read_json(os.path.join(model_dir, 'params.json'))['learning_rate']}
        assert metric_values(group) == expected_metrics(model_dir)
        assert [session['name'] for session in group['sessions']] == [group['name']]

    # synthesize_results.py's table: every number in it is the dashboard's, at the table's precision.
    lines = [line.strip('| ').split(' | ') for line in table.splitlines() if line.startswith('|')]
    header, cells = lines[0], lines[2:]
    assert header == ['experiment', 'state', 'learning_rate', 'accuracy', 'loss', 'epoch']
    assert sorted(row[0] for row in cells) == sorted(rows)
    for row in cells:
        group = rows[row[0]]
        assert row[1] == 'finished'
        assert row[2] == format_value(group['hparams']['learning_rate'])
        values = metric_values(group)
        for key, cell in zip(header[3:], row[3:], strict=False):
            assert '{:.4f}'.format(float(cell)) == '{:.4f}'.format(values['eval_best_weights/' + key][0]), key


@pytest.mark.slow
def test_tensorboard_shows_a_run_in_its_own_folder(search, tmp_path):
    """A run trained by hand: no experiment config; TensorBoard makes the columns from its session."""
    parent, _ = search
    model_dir = os.path.join(parent, JOBS[0])
    expected = expected_metrics(model_dir)

    def loaded(experiment, groups):
        sessions = groups.get('sessionGroups', [])
        return len(sessions) == 1 and set(expected) <= set(metric_values(sessions[0]))

    with TensorBoard(model_dir, str(tmp_path / 'tensorboard.log')) as board:
        experiment, groups = hparams_tab(board, loaded)
    params = Params(os.path.join(model_dir, 'params.json'))
    infos = {info['name']: info for info in experiment['hparamInfos']}
    assert set(infos) == set(hparams.session_hparams(params))
    assert infos['learning_rate']['type'] == 'DATA_TYPE_FLOAT64'
    assert infos['use_batch_norm']['type'] == 'DATA_TYPE_BOOL'
    (group,) = groups['sessionGroups']
    assert group['hparams']['learning_rate'] == params.learning_rate
    assert group['hparams']['model_version'] == params.model_version
    values = metric_values(group)
    assert {tag: values[tag] for tag in expected} == expected
