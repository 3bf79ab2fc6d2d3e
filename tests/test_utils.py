"""Params, logging and JSON helpers (no TensorFlow needed)."""
import json
import logging
import os

import numpy as np
import pytest

from helpers import write_params
from model.core.errors import InputError
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


@pytest.mark.parametrize('changes, message', [
    ({'batch_size': '32'}, "'batch_size' must be an integer, got '32' (remove the quotes)"),
    ({'batch_size': True}, "'batch_size' must be an integer, got True"),
    ({'batch_size': 1.5}, "'batch_size' must be an integer"),
    ({'learning_rate': 0}, "'learning_rate' must be positive"),
    ({'num_epochs': -1}, "'num_epochs' must be positive"),
    ({'use_batch_norm': 1}, "'use_batch_norm' must be true or false"),
    ({'bn_momentum': 1.0}, "'bn_momentum' must be below 1"),
    ({'model_version': 3}, "'model_version' must be a string"),
])
def test_params_rejects_bad_values(tmp_path, changes, message):
    json_path = write_params(str(tmp_path), **changes)
    with pytest.raises(InputError) as e:
        Params(json_path)
    assert message in str(e.value) and json_path in str(e.value)


def test_params_missing_key_is_named(tmp_path):
    json_path = write_params(str(tmp_path))
    data = json.loads(open(json_path).read())
    del data['num_epochs']
    open(json_path, 'w').write(json.dumps(data))
    with pytest.raises(InputError, match="missing required key.*'num_epochs'"):
        Params(json_path)


def test_params_invalid_json_gives_line_and_column(tmp_path):
    json_path = tmp_path / 'params.json'
    json_path.write_text('{\n    "learning_rate": 1e-3\n    "batch_size": 32\n}\n')
    with pytest.raises(InputError, match=r"params.json is not valid JSON: Expecting ',' delimiter at line 3, column 5"):
        Params(str(json_path))


def test_params_missing_file(tmp_path):
    with pytest.raises(InputError, match='No params file found at'):
        Params(str(tmp_path / 'nope.json'))


def test_params_unknown_key_is_a_warning(tmp_path, caplog):
    json_path = write_params(str(tmp_path), learnig_rate=0.1)
    with caplog.at_level(logging.WARNING):
        params = Params(json_path)
    assert "unknown key 'learnig_rate'" in caplog.text
    assert params.learning_rate == 5e-3


def test_save_dict_to_json_plain_numbers_and_atomic(tmp_path):
    path = tmp_path / 'metrics.json'
    save_dict_to_json({'accuracy': np.float32(0.5), 'epoch': 3}, str(path))
    assert json.loads(path.read_text()) == {'accuracy': 0.5, 'epoch': 3}
    with pytest.raises(TypeError):
        save_dict_to_json({'bad': object()}, str(path))
    # A failed write leaves the previous file whole and no temporary file behind.
    assert json.loads(path.read_text()) == {'accuracy': 0.5, 'epoch': 3}
    assert os.listdir(tmp_path) == ['metrics.json']


def test_set_logger_writes_file_and_can_be_called_again(tmp_path):
    set_logger(str(tmp_path / 'a.log'))
    logging.info('first')
    set_logger(str(tmp_path / 'b.log'))
    logging.info('second')
    assert 'first' in (tmp_path / 'a.log').read_text()
    assert 'second' not in (tmp_path / 'a.log').read_text()
    assert 'second' in (tmp_path / 'b.log').read_text()

