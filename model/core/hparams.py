"""TensorBoard's HParams dashboard: every run's hyperparameters and final metrics, in one table.

TensorBoard reads every folder that holds event files as a *run*. Its HParams plugin calls
a run holding a "session start" (the hyperparameters of one training run) a *session*, and
finds the session's metrics as scalar summaries in that run (or its sub-folders). The
table's columns come from the one run holding an *experiment config*, or, without one,
from the sessions and their scalars. Everything is written with tf.compat.v1's
FileWriter, the protos made by TensorBoard's own plugin package, into `hparams/`:

    experiments/learning_rate/                     a search's parent folder
        hparams/events.out.tfevents.*.hparams-experiment
                                                   the experiment config (search_hyperparams.py): the
                                                   hyperparameters search.json varies, their values,
                                                   and the metrics of experiment_metrics()
        learning_rate_0.001/                       one training run
            hparams/                               its session, the run "learning_rate_0.001/hparams"
                events.out.tfevents.*.hparams-session
                                                   its hyperparameters: every params.json key a search
                                                   may vary (train.py; written once, replaced only when
                                                   a resumed run trains with a changed params.json)
                events.out.tfevents.*              the numbers of metrics_eval_best_weights.json (train.py,
                                                   when the best epoch changes) and of
                                                   metrics_test_best_weights.json (evaluate.py)

A number of metrics_<split>_<weights>.json is the scalar tagged `<split>_<weights>/<key>`
(`eval_best_weights/accuracy`, `test_best_weights/f1`), at the step of the epoch those
weights were saved after. The session is the run's own sub-folder, not the run folder: a
session at the root of --logdir (`tensorboard --logdir experiments/base_model`) would be
the run ".", where TensorBoard finds no metrics. Its name (the dashboard's Trial ID) is
that sub-folder's path under --logdir, unique and the same when a run is resumed: the
same session, never a second one.
"""
import json
import os
import shutil
import tempfile

from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.plugins.hparams import summary as hparams_summary
from tensorboard.plugins.hparams import summary_v2 as hparams_summary_v2

from model.core.files import read_json
from model.core.layout import BEST_WEIGHTS, EVAL_BEST_METRICS, metrics_file
from model.core.params import METRICS, params_spec
from model.core.tf_compat import tf

# The sub-folder of an experiment folder (or a search's parent) where all of the above goes.
HPARAMS_DIR = 'hparams'
# The name endings (FileWriter's filename_suffix) of the two files replaced as a whole.
SESSION_SUFFIX = '.hparams-session'
EXPERIMENT_SUFFIX = '.hparams-experiment'

# TensorBoard's types: numbers (int or float), booleans and strings. A list (class_names) is its JSON text.
_DOMAIN_TYPES = {int: int, float: float, bool: bool, str: str, list: str}


def metric_tag(split, weights, key):
    """`eval_best_weights/accuracy`: the tag of metrics_eval_best_weights.json's accuracy."""
    return '{}_{}/{}'.format(split, weights, key)


# --- The session of one training run ---------------------------------------------------------------

def session_hparams(params):
    """The hyperparameters of a run as TensorBoard takes them: every params.json key a search may vary.

    Numbers stay numbers, booleans booleans; a list becomes its JSON text; an optional
    key left unset (None) is left out.
    """
    values = {}
    for key in params_spec(params.example, 'params.json'):
        value = getattr(params, key, None)
        if value is None:
            continue
        values[key] = json.dumps(value) if isinstance(value, list) else value
    return values


def start_session(model_dir, params, replace=True):
    """Write the session of model_dir: its hyperparameters, in its own event file.

    Written once: if the file is there with the same hyperparameters, nothing is written
    (a resumed run stays the same session, with the time it first started). If they
    differ (num_epochs raised to resume, say), the file is replaced, keeping that start
    time; replace=False leaves any readable session file as it is (evaluate.py).
    """
    hparams = session_hparams(params)
    folder = os.path.join(model_dir, HPARAMS_DIR)
    existing = read_session(model_dir)
    start_time = None
    if existing is not None:
        if not replace or _same_hparams(existing.hparams, hparams):
            return
        start_time = existing.start_time_secs
    # group_name '': each session is its own group, named after its folder (two folders trained with
    # the same values are two rows, as in synthesize_results.py's table, never one merged row).
    summary = hparams_summary_v2.hparams_pb(hparams, trial_id='', start_time_secs=start_time)
    _replace_event_file(folder, SESSION_SUFFIX, summary.SerializeToString())


def read_session(model_dir):
    """The SessionStartInfo proto of model_dir's session file, or None if there is none (or it is unreadable)."""
    paths = _event_files(os.path.join(model_dir, HPARAMS_DIR), SESSION_SUFFIX)
    if not paths:
        return None
    try:
        for event in tf.train.summary_iterator(paths[-1]):
            for value in event.summary.value:
                if value.tag == metadata.SESSION_START_INFO_TAG:
                    return metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
    except (tf.errors.OpError, ValueError):  # a damaged file: written anew
        return None
    return None


def _same_hparams(recorded, hparams):
    """recorded: a SessionStartInfo's hparams map (of google.protobuf.Value); hparams: as session_hparams."""
    expected = hparams_summary_v2.hparams_pb(hparams, trial_id='')
    content = expected.value[0].metadata.plugin_data.content
    return dict(recorded) == dict(metadata.parse_session_start_info_plugin_data(content).hparams)


class TrainingSession:
    """The HParams session of a training run: its hyperparameters, then its best dev metrics as they change.

    `record_best()` after each epoch writes the numbers of metrics_eval_best_weights.json
    when it names an epoch this run has not written yet: one small write after the first
    epoch (a resumed run may have evaluated its best weights again), then only after an
    epoch that became the best.
    """

    def __init__(self, model_dir, params):
        self.model_dir = model_dir
        start_session(model_dir, params)
        self._writer = None
        self._epoch_written = None

    def record_best(self):
        path = os.path.join(self.model_dir, EVAL_BEST_METRICS)
        if not os.path.isfile(path):
            return
        metrics = read_json(path, 'metrics file')
        epoch = metrics.get('epoch')
        if epoch == self._epoch_written:
            return
        if self._writer is None:
            self._writer = tf.summary.FileWriter(os.path.join(self.model_dir, HPARAMS_DIR))
        write_metrics(self._writer, 'eval', BEST_WEIGHTS, metrics, epoch if isinstance(epoch, int) else 0)
        self._epoch_written = epoch

    def close(self):
        if self._writer is not None:
            self._writer.close()


def record_test_metrics(model_dir, params, weights, metrics, epoch):
    """The test metrics of `weights` (as in metrics_test_<weights>.json) in model_dir's session (evaluate.py).

    A folder trained before sessions were written gets its session here.
    """
    start_session(model_dir, params, replace=False)
    writer = tf.summary.FileWriter(os.path.join(model_dir, HPARAMS_DIR))
    write_metrics(writer, 'test', weights, metrics, epoch)
    writer.close()


def write_metrics(writer, split, weights, metrics, step):
    """Every number of `metrics` (a metrics file's dict) as a scalar tagged metric_tag(split, weights, key)."""
    values = [tf.Summary.Value(tag=metric_tag(split, weights, key), simple_value=value)
              for key, value in sorted(metrics.items())
              if isinstance(value, (int, float)) and not isinstance(value, bool)]
    writer.add_summary(tf.Summary(value=values), step)
    writer.flush()


# --- The experiment config of a search ----------------------------------------------------------------

def write_experiment(parent_dir, grid, spec, example):
    """Write the experiment config of a search at parent_dir, replacing an earlier one.

    grid: {key: [values]} as search.json lists them (checked); spec: the Specs of the
    example's params.json keys; example: 'vision' or 'ner'. The hyperparameters are the
    grid's keys, each with the values it takes (a discrete domain) and its spec's help as
    description; the metrics are experiment_metrics(example).
    """
    hparam_infos = []
    for key, values in grid.items():
        info = api_pb2.HParamInfo(name=key, description=spec[key].help)
        domain_type = _DOMAIN_TYPES[spec[key].type]
        domain_values = [json.dumps(value) if isinstance(value, list) else value for value in values]
        hparams_summary_v2.Discrete(domain_values, dtype=domain_type).update_hparam_info(info)
        # The dashboard shows the hyperparameters that differ first.
        info.differs = len(values) > 1
        hparam_infos.append(info)
    metric_infos = [metric.as_proto() for metric in experiment_metrics(example)]
    summary = hparams_summary.experiment_pb(hparam_infos, metric_infos)
    _replace_event_file(os.path.join(parent_dir, HPARAMS_DIR), EXPERIMENT_SUFFIX, summary)


def experiment_metrics(example):
    """The metrics of the example's runs, in the dashboard's order.

    The metric that picks the best weights on dev and on test first, then the other dev
    metrics, the best epoch, and the other test metrics (vision: dev accuracy, test
    accuracy, dev loss, best epoch, test loss).
    """
    names = METRICS[example]  # the one that picks the best weights first
    best, others = names[0], names[1:]
    metrics = [_metric('eval', best), _metric('test', best)]
    metrics += [_metric('eval', name) for name in others]
    metrics.append(hparams_summary_v2.Metric(
        metric_tag('eval', BEST_WEIGHTS, 'epoch'), display_name='best epoch',
        description="the epoch of the best weights ({})".format(EVAL_BEST_METRICS)))
    metrics += [_metric('test', name) for name in others]
    return metrics


def _metric(split, name):
    dev = split == 'eval'
    return hparams_summary_v2.Metric(
        metric_tag(split, BEST_WEIGHTS, name),
        display_name='{} {}'.format('dev' if dev else 'test', name),
        description="{} of the best weights on the {} set ({}{})".format(
            name, 'dev' if dev else 'test', metrics_file(split, BEST_WEIGHTS),
            '' if dev else ', once evaluate.py ran'),
        dataset_type=hparams_summary_v2.Metric.VALIDATION if dev else None)


# --- Files written whole ---------------------------------------------------------------------------

def _event_files(folder, suffix):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.startswith('events.out.tfevents.') and name.endswith(suffix))


def _replace_event_file(folder, suffix, summary):
    """Write `summary` into a new event file of `folder` named ...<suffix>, and remove the earlier ones.

    The FileWriter writes in a temporary sub-folder first: the file appears whole, under
    the name FileWriter gives it, and replaces one of the same name (written in the same
    second) in one step.
    """
    os.makedirs(folder, exist_ok=True)
    earlier = _event_files(folder, suffix)
    tmp_dir = tempfile.mkdtemp(prefix='.hparams-', dir=folder)
    try:
        writer = tf.summary.FileWriter(tmp_dir, filename_suffix=suffix)
        writer.add_summary(summary)
        writer.close()
        (name,) = os.listdir(tmp_dir)
        os.replace(os.path.join(tmp_dir, name), os.path.join(folder, name))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    for path in earlier:
        if os.path.basename(path) != name:
            os.remove(path)
