"""What a hyperparameter search runs: the settings listed in search.json, one job folder each.

A parent experiment folder holds a `params.json` (the values every job shares)
and, optionally, a `search.json` mapping hyperparameters to the values to try:

    {"learning_rate": [1e-4, 1e-3, 1e-2], "batch_size": [16, 32]}

Several keys mean their full grid (here 3 x 2 = 6 jobs). Each job gets the
sub-folder `learning_rate_0.001-batch_size_32`, holding the parent's params with
that setting applied. Without a search.json, the tutorial's learning-rate search runs.

Nothing here imports TensorFlow, and nothing is launched: this module only
reads, checks and writes files, so that every mistake is found before the first job starts.
"""
import itertools
import json
import os
import re

from model.core.errors import InputError
from model.core.files import read_json
from model.core.layout import (
    CHECKPOINT_NAME,
    DATASET_FILE,
    EVAL_BEST_METRICS,
    EVAL_LAST_METRICS,
    LAST_WEIGHTS,
    PARAMS_FILE,
    has_weights,
)

# params_spec and check_value: the same type and range checks (and messages) as a params.json gets.
from model.core.params import check_value, example_name, params_spec
from model.utils import Params, load_params, save_dict_to_json

SEARCH_FILE = 'search.json'
# The section of search.json that holds Slurm resources (see search/slurm.py), not a hyperparameter.
SLURM_SECTION = 'slurm'
# The tutorial's search, when the parent folder has no search.json.
DEFAULT_SEARCH = {'learning_rate': [1e-4, 1e-3, 1e-2]}
# Each job's terminal output (stdout and stderr of train.py), appended to on every attempt.
OUTPUT_LOG = 'output.log'
# Most file systems refuse longer file names (in bytes).
MAX_NAME_BYTES = 255


def read_parent_params(parent_dir, required=True):
    """The parent params.json (checked as train.py checks it), as the dict every job starts from.

    required=False: {} if there is none (plan_jobs says so, after the grid's own checks).
    """
    if not required and not os.path.isfile(os.path.join(parent_dir, PARAMS_FILE)):
        return {}
    load_params(parent_dir, fix="the parent folder of a search holds the params every job shares "
                                "(copy experiments/base_model/params.json)")
    return read_json(os.path.join(parent_dir, PARAMS_FILE), 'params file')


def read_search(parent_dir):
    """The grid {key: [values]} of `parent_dir/search.json`, checked, and its Slurm section (a dict).

    Returns (DEFAULT_SEARCH, {}) if there is no search.json. The Slurm section's
    keys are checked by search.slurm.check_resources.
    Raises InputError, naming the file, for bad JSON, an unknown key, an empty
    list, a value of the wrong type, or two values giving the same folder name.
    """
    json_path = os.path.join(parent_dir, SEARCH_FILE)
    base = read_parent_params(parent_dir, required=False)
    spec = params_spec(example_name(base, os.path.join(parent_dir, PARAMS_FILE)))
    if not os.path.exists(json_path):
        return dict(DEFAULT_SEARCH), {}
    search = read_json(json_path, 'search file')  # bad JSON: the message gives line and column
    example = '{"learning_rate": [0.0001, 0.001, 0.01]}'
    if not isinstance(search, dict):
        raise InputError("{}: expected a JSON object mapping hyperparameters to lists of values, "
                         "such as {}".format(json_path, example))
    slurm = search.pop(SLURM_SECTION, {})
    if not isinstance(slurm, dict):
        raise InputError("{}: '{}' must be an object of Slurm resources, such as "
                         '{{"time": "1:00:00", "gpus": 1}}'.format(json_path, SLURM_SECTION))
    if not search:
        raise InputError("{}: names no hyperparameter to search; write for example {}".format(json_path, example))
    grid = {}
    for key, values in search.items():
        if key not in spec:
            raise InputError("{}: unknown hyperparameter '{}'; the keys of params.json are {}".format(
                json_path, key, ', '.join(spec)))
        if not isinstance(values, list) or not values:
            such_as = values if isinstance(values, list) else [values]
            if not such_as:  # an empty list: the parent's value as an example
                such_as = [base[key]] if key in base else [spec[key].default]
            raise InputError("{}: '{}' must be a non-empty list of values, such as {}, got {}".format(
                json_path, key, json.dumps(such_as), json.dumps(values)))
        grid[key] = [check_value(key, value, spec[key], json_path) for value in values]
        names = [format_value(value) for value in grid[key]]
        for name in names:
            if names.count(name) > 1:
                raise InputError("{}: '{}' lists the value {} twice".format(json_path, key, name))
    return grid, slurm


def format_value(value):
    """A value as it reads in folder names and tables: 0.001, 32, true, baseline."""
    if isinstance(value, str):
        return value
    return json.dumps(value)  # 1e-4 -> 0.0001 (as the tutorial's folder names), True -> true


def settings(grid):
    """Every combination of the grid's values, as dicts, in the order search.json lists them."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def job_name(setting):
    """The folder name of a setting: `learning_rate_0.001`, or `learning_rate_0.001-batch_size_32`."""
    return '-'.join('{}_{}'.format(key, format_value(value)) for key, value in setting.items())


class Job:
    """One setting of the search: its folder, the params it trains with, and where it stands.

    status is 'done' (it has its result: skipped), 'resume' (an earlier attempt
    saved weights but stopped before num_epochs: it continues from last_weights)
    or 'new'.
    """

    def __init__(self, parent_dir, setting, params):
        self.name = job_name(setting)
        self.setting = setting
        self.folder = os.path.join(parent_dir, self.name)
        self.params = params
        self.status = status_of(self.folder, params['num_epochs'])

    @property
    def output_log(self):
        return os.path.join(self.folder, OUTPUT_LOG)

    def __repr__(self):
        return 'Job({!r}, {})'.format(self.name, self.status)


def status_of(folder, num_epochs):
    """'done', 'resume' or 'new': see Job."""
    if os.path.isfile(os.path.join(folder, EVAL_BEST_METRICS)):
        last_epoch = last_metrics_epoch(folder)
        # Killed after saving its last epoch's weights but before their metrics, a job has nothing
        # left to train: train.py --restore_from would refuse (num_epochs reached) on every rerun.
        # A result without a readable last epoch counts as done.
        if last_epoch is None or max(last_epoch, last_checkpoint_epoch(folder)) >= num_epochs:
            return 'done'
    # Interrupted or failed after saving an epoch: train.py refuses to start over on top of
    # these weights, so the job continues from them. (Stopped before its first checkpoint,
    # it has nothing to resume from: it starts again.)
    if has_weights(folder):
        return 'resume'
    return 'new'


def last_metrics_epoch(folder):
    """The last epoch that train.py evaluated and saved in folder (metrics_eval_last_weights.json), or None."""
    try:
        epoch = read_json(os.path.join(folder, EVAL_LAST_METRICS)).get('epoch')
    except (InputError, OSError, AttributeError):
        return None
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None


def last_checkpoint_epoch(folder):
    """The epoch of the newest checkpoint in folder/last_weights, from the names train.py gives them (0 if none).

    It can be one more than last_metrics_epoch: a run killed between saving an epoch's weights and its metrics.
    """
    weights_dir = os.path.join(folder, LAST_WEIGHTS)
    names = os.listdir(weights_dir) if os.path.isdir(weights_dir) else []
    found = (re.fullmatch(re.escape(CHECKPOINT_NAME) + r'-(\d+)\.index', name) for name in names)
    return max((int(match.group(1)) for match in found if match), default=0)


# The old name of last_checkpoint_epoch, which tests/test_run_sh.py still imports.
saved_epoch = last_checkpoint_epoch


def plan_jobs(parent_dir, grid):
    """The jobs of the search, checked against what is already on disk; writes nothing.

    Every job's params go through train.py's checks (examples.py's check_params
    too: a network that cannot take a value fails here, not in the middle of the night).
    A job folder that exists already must hold the params this search would give it: if
    the parent params.json changed since, the folder's results would not be what the
    table says they are, so that is an InputError naming the differences.
    """
    from examples import check_params  # imports TensorFlow (the model versions are the model_fn's)
    base = read_parent_params(parent_dir)
    jobs = []
    for setting in settings(grid):
        params = dict(base, **setting)
        job = Job(parent_dir, setting, params)
        _check_name(job.name, parent_dir)
        where = '{} (the setting {} of {})'.format(os.path.join(parent_dir, PARAMS_FILE), job.name, SEARCH_FILE)
        check_params(Params(where, values=params))
        _check_existing_params(job)
        jobs.append(job)
    return jobs


def _check_name(name, parent_dir):
    if '/' in name or os.sep in name or (os.altsep and os.altsep in name) or '\0' in name:
        raise InputError("{}: the job folder name {!r} would hold a path separator: use values "
                         "without '/' or '\\' in search.json".format(os.path.join(parent_dir, SEARCH_FILE), name))
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        raise InputError("{}: the job folder name {}... is longer than {} bytes: search fewer keys at once".format(
            os.path.join(parent_dir, SEARCH_FILE), name[:60], MAX_NAME_BYTES))


def _check_existing_params(job):
    json_path = os.path.join(job.folder, 'params.json')
    if not os.path.exists(json_path):
        return
    existing = read_json(json_path, 'params file')
    if existing == job.params:
        return
    keys = sorted(set(existing) | set(job.params))
    differences = ['{} is {} there, {} now'.format(
        key, json.dumps(existing.get(key, '(missing)')), json.dumps(job.params.get(key, '(missing)')))
        for key in keys if existing.get(key) != job.params.get(key)]
    raise InputError("{} does not match the search's params ({}): the parent params.json changed since this "
                     "job ran. Put the old value back, or move the job folder away to run it again".format(
                         json_path, '; '.join(differences)))


def check_same_dataset(parent_dir, identity):
    """Refuse to search into parent_dir if a run there (finished or started) was trained on another data set.

    `identity`: the example's dataset_identity of the data set this search trains on. A run's
    dataset.json (train.py writes it as the run starts) records the one it was trained on:
    another folder, or the same folder rebuilt since (the files the weights fit differ, as
    train.py's resume compares them), would put figures that do not compare in one table.
    """
    for name in sorted(os.listdir(parent_dir)):
        json_path = os.path.join(parent_dir, name, DATASET_FILE)
        recorded = read_json(json_path, 'dataset record') if os.path.isfile(json_path) else None
        if not isinstance(recorded, dict) or _what_identifies(recorded) == _what_identifies(identity):
            continue
        was, now = recorded.get('data_dir'), identity.get('data_dir')
        if was != now:
            raise InputError("{}: this run was trained on the data set in {}, and the search would train on {}: one "
                             "table would rank them together. Run it with --data_dir {}, or search into a new "
                             "--parent_dir".format(json_path, was, now, was))
        raise InputError("{}: this run was trained on the data set in {} as it was before it was rebuilt ({} "
                         "changed since): one table would rank them together. Search into a new --parent_dir, or "
                         "move this search's runs away".format(json_path, was, ', '.join(_changed(recorded, identity))))


def _changed(recorded, identity):
    """What differs between two identities of one folder: the files the weights fit, by name; else the keys."""
    fits_then, fits_now = recorded.get('fits') or {}, identity.get('fits') or {}
    changed = sorted(name for name in set(fits_then) | set(fits_now) if fits_then.get(name) != fits_now.get(name))
    then, now = _what_identifies(recorded), _what_identifies(identity)
    return changed + sorted(key for key in (set(then) | set(now)) - {'fits'} if then.get(key) != now.get(key))


def _what_identifies(identity):
    """What tells data sets apart in a dataset.json (not the params trained with, nor the files kept beside)."""
    return {key: value for key, value in identity.items() if key not in ('trained_params', 'keep')}


def prepare_folder(job):
    """Create the job folder and its params.json (kept as it is if it exists: it matches)."""
    os.makedirs(job.folder, exist_ok=True)
    json_path = os.path.join(job.folder, 'params.json')
    if not os.path.exists(json_path):
        save_dict_to_json(job.params, json_path)


def train_command(job, data_dir, python, train_py, resume=True):
    """The argument list that trains `job`: train.py run by `python`, resuming if the job is half done.

    resume=False leaves --restore_from out (the Slurm job script decides when it starts).
    """
    command = [python, train_py, '--model_dir', job.folder]
    if data_dir is not None:  # else train.py's default for the example
        command += ['--data_dir', data_dir]
    if resume and job.status == 'resume':
        command += ['--restore_from', os.path.join(job.folder, LAST_WEIGHTS)]
    return command
