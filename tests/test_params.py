"""params.json checks (model/core/params.py), as train.py meets them: one line naming the file, nothing written."""
import json

import pytest

import train
from helpers import listing, read_json, script_args, write_params
from model.core.errors import InputError


@pytest.mark.parametrize('text, message', [
    ('{"learning_rate": 1e-3,\n  "batch_size": 32,,\n}', 'is not valid JSON: .* at line 2, column 20'),
    (None, "missing required key.*'num_epochs'"),
    ({'batch_size': '32'}, "'batch_size' must be an integer, got '32' \\(remove the quotes\\)"),
    ({'learning_rate': -0.1}, "'learning_rate' must be positive"),
    ({'image_size': 0}, "'image_size' must be positive"),
])
def test_bad_params_stop_train_before_writing_anything(data_dir, tmp_path, text, message):
    model_dir = str(tmp_path / 'model')
    json_path = write_params(model_dir)
    if isinstance(text, str):
        with open(json_path, 'w') as f:
            f.write(text)
    elif text is None:
        params = read_json(json_path)
        del params['num_epochs']
        with open(json_path, 'w') as f:
            json.dump(params, f)
    else:
        write_params(model_dir, **text)
    with pytest.raises(InputError, match=message) as e:
        train.main(script_args(model_dir, data_dir))
    assert json_path in str(e.value) and '\n' not in str(e.value)
    assert listing(model_dir) == ['params.json']


