"""Which data set an experiment's weights were trained on (its dataset.json), and a plain word when another is used.

train.py writes `dataset.json` into the experiment folder when it starts from scratch:
what the example's `dataset_identity(data_dir)` says of the data set. Resuming,
evaluating or predicting compares it with the data set at hand:
- `fits` (for NER, the vocabulary files): the graph depends on it; a difference means
  the weights cannot be used with this data set, and the script stops;
- everything else (the folder, where the data set was built from): a difference is
  worth a warning, since evaluating a model on another data set is sometimes the point.
"""
import logging
import os
import shlex
import shutil

from model.core.errors import InputError
from model.core.files import read_json, save_dict_to_json
from model.core.layout import DATASET_FILE, PARAMS_FILE, VOCAB_DIR
from model.core.params import params_spec


def record_dataset(model_dir, identity):
    """Write model_dir/dataset.json (when training starts from scratch), and keep a copy of the files
    the weights depend on in model_dir/vocab/ (so predict.py and export.py need no data set)."""
    kept = sorted(identity.get('fits') or {}) + list(identity.get('keep') or [])
    if kept:
        folder = os.path.join(model_dir, VOCAB_DIR)
        os.makedirs(folder, exist_ok=True)
        for name in kept:
            shutil.copyfile(os.path.join(identity['data_dir'], name), os.path.join(folder, name))
    save_dict_to_json(identity, os.path.join(model_dir, DATASET_FILE))


def trained_on(model_dir):
    """What dataset.json in model_dir says, or None (an experiment trained before it was written)."""
    json_path = os.path.join(model_dir, DATASET_FILE)
    if not os.path.isfile(json_path):
        return None
    recorded = read_json(json_path, 'dataset record')
    if not isinstance(recorded, dict):
        raise InputError("{} is damaged (not a JSON object): delete it to skip the check of the data set".format(
            json_path))
    return recorded


def check_dataset(model_dir, identity):
    """Stop if the data set at hand does not fit the weights in model_dir; warn if it is another one.

    Returns whether it is the data set they were trained on (True too when none is recorded).
    """
    recorded = trained_on(model_dir)
    if recorded is None:
        return True
    trained_dir = recorded.get('data_dir', '?')
    for name, digest in sorted((recorded.get('fits') or {}).items()):
        now = (identity.get('fits') or {}).get(name)
        if now == digest:
            continue
        mismatch = "{} is not the {} the weights in {} were trained with".format(
            os.path.join(identity['data_dir'], name), name, model_dir)
        if identity['data_dir'] != trained_dir:  # another data set, not a rebuilt one: say which they need
            raise InputError("{}: {} is another data set than the one they were trained on ({}). Pass --data_dir "
                             "{}, or train in a new --model_dir".format(mismatch, identity['data_dir'], trained_dir,
                                                                         shlex.quote(trained_dir)))
        raise InputError("{}: it changed since (the data set was rebuilt?). Use the data set they were trained on, "
                         "or train in a new --model_dir".format(mismatch))
    differences = [key for key in ('data_dir', 'source') if recorded.get(key) != identity.get(key)]
    if differences:
        logging.warning("Note: the weights in %s were trained on the data set in %s%s; this run uses %s%s",
                        model_dir, recorded.get('data_dir'), _source(recorded), identity.get('data_dir'),
                        _source(identity))
    return not differences


def trained_values(params):
    """The values of the params the weights are trained for and their variables do not show (Spec.trained)."""
    return {key: getattr(params, key) for key, key_spec in sorted(params_spec(params.example).items())
            if key_spec.trained}


def check_trained_values(model_dir, params):
    """Stop if params.json now gives another value than at training to a key the weights depend on silently."""
    recorded = (trained_on(model_dir) or {}).get('trained_params') or {}
    for key, value in sorted(trained_values(params).items()):
        if key in recorded and recorded[key] != value:
            raise InputError("{}: '{}' is {!r}, and the weights in {} were trained with {!r}: they would compute "
                             "something else. Set it back to {!r}, or train in a new --model_dir".format(
                                 os.path.join(model_dir, PARAMS_FILE), key, value, model_dir, recorded[key],
                                 recorded[key]))


def _source(identity):
    return ' (built from {})'.format(identity['source']) if identity.get('source') else ''
