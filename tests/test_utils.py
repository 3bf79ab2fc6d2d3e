"""Params, logging and JSON helpers (no TensorFlow needed)."""
import json
import logging
import os

import numpy as np
import pytest

from conftest import write_params
from model.errors import InputError
from model.utils import Params, save_dict_to_json, set_logger


def test_params_load_update_save(tmp_path):
    json_path = write_params(str(tmp_path), learning_rate=0.01)
    params = Params(json_path)
    assert params.learning_rate == 0.01 and params.batch_size == 16
    assert params.dict['model_version'] == 'baseline'

    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'learning_rate': 1}))
    params.update(str(other))
    assert params.learning_rate == 1.0 and isinstance(params.learning_rate, float)

    params.train_size = 864
    saved = tmp_path / 'saved.json'
    params.save(str(saved))
    assert json.loads(saved.read_text())['train_size'] == 864
    assert Params(str(saved)).dict == params.dict


def test_model_version_defaults_to_baseline(tmp_path):
    json_path = write_params(str(tmp_path))
    data = json.loads(open(json_path).read())
    del data['model_version']
    open(json_path, 'w').write(json.dumps(data))
    assert Params(json_path).model_version == 'baseline'

