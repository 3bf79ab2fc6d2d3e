"""The classes of a built data set, and of the weights trained on it.

A data set built from class folders (vision/class_folders.py) lists its class names in
label order in classes.json, beside its splits, and its image names start with their
label ('12_whiskers.jpg'). The data set then decides: params.json's num_labels must be
its number of classes, and a `class_names` given there must be its names. A data set
built from SIGNS has no classes.json: its labels are the one digit its names start with
(so at most 10 classes), and its class names are params.json's class_names, or the digits.

train.py keeps the class names in the experiment's dataset.json (vision/example.py
dataset_identity), where predict.py and export.py read them: they need no data set.
classes.json is also one of the files the weights `fit` (model/core/provenance.py):
evaluating or resuming them on a data set with other classes stops, as it should,
since label 3 would mean another class there.
"""
import hashlib
import logging
import os

from model.core.errors import InputError
from model.core.files import read_json
from model.core.layout import DATASET_FILE, PARAMS_FILE
from model.core.params import class_names
from model.core.provenance import trained_on

CLASSES_FILE = 'classes.json'
# A SIGNS-style label is the one digit its file name starts with.
MAX_DIGIT_LABELS = 10
REBUILD = "build the data set again (python build_dataset.py --data_dir <its class folders> --overwrite)"


def classes_of(data_dir):
    """The class names that data_dir's classes.json lists in label order, or None (a SIGNS-style set)."""
    json_path = os.path.join(data_dir, CLASSES_FILE)
    if not os.path.isfile(json_path):
        return None
    recorded = read_json(json_path, 'list of classes')
    names = recorded.get('class_names') if isinstance(recorded, dict) else None
    if not (isinstance(names, list) and len(names) >= 2 and all(isinstance(name, str) and name for name in names)):
        raise InputError("{} is damaged ('class_names' must list at least 2 names): {}".format(json_path, REBUILD))
    return names


def dataset_classes(data_dir, params, log=True):
    """The class names of the data set in data_dir, checked against params and set as params.class_names.

    None for a SIGNS-style set (params.class_names is then left as params.json gives it).
    """
    names = classes_of(data_dir)
    if names is None:
        if params.num_labels > MAX_DIGIT_LABELS:
            raise InputError("params.json: 'num_labels' is {}, but an image's label is the one digit its file name "
                             "starts with (0 to 9): at most 10 classes (a data set built from class folders has no "
                             "such limit: python build_dataset.py --data_dir <class folders>)".format(
                                 params.num_labels))
        return None
    json_path = os.path.join(data_dir, CLASSES_FILE)
    if params.num_labels != len(names):
        raise InputError("params.json: 'num_labels' is {}, but the data set in {} has {} classes ({}): set "
                         "\"num_labels\": {}".format(params.num_labels, data_dir, len(names), json_path, len(names)))
    if params.class_names is not None and list(params.class_names) != names:
        raise InputError("params.json: 'class_names' is {}, but the data set in {} names its classes {} ({}): "
                         "remove 'class_names', or give those".format(params.class_names, data_dir, names, json_path))
    if log:
        logging.info("- %d classes (%s): %s", len(names), json_path, ', '.join(names))
    params.class_names = names
    return names


def classes_identity(data_dir):
    """What dataset.json records of the classes: their names, and classes.json as a file the weights fit ({} for SIGNS)."""
    names = classes_of(data_dir)
    if names is None:
        return {}
    with open(os.path.join(data_dir, CLASSES_FILE), 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {'class_names': names, 'fits': {CLASSES_FILE: digest}}


def trained_class_names(model_dir, params):
    """The class names of the weights in model_dir: those dataset.json recorded at training, else params'.

    Sets them as params.class_names; params.json disagreeing with the recorded ones is an InputError.
    """
    recorded = (trained_on(model_dir) or {}).get('class_names')
    if recorded is None:
        return class_names(params)
    json_path = os.path.join(model_dir, DATASET_FILE)
    if params.num_labels != len(recorded):
        raise InputError("{}: 'num_labels' is {}, but the weights in {} were trained on {} classes ({}): set "
                         "\"num_labels\": {}".format(os.path.join(model_dir, PARAMS_FILE), params.num_labels,
                                                     model_dir, len(recorded), json_path, len(recorded)))
    if params.class_names is not None and list(params.class_names) != recorded:
        raise InputError("{}: 'class_names' is {}, but the weights in {} were trained on the classes {} ({}): "
                         "remove 'class_names', or give those".format(os.path.join(model_dir, PARAMS_FILE),
                                                                      params.class_names, model_dir, recorded,
                                                                      json_path))
    params.class_names = list(recorded)
    return list(recorded)
