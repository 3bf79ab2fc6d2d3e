"""model/core/prediction.py: predict.py's output path checked before predicting, odd file names printed."""
import os

import pytest

import predict
from helpers import script_args
from model.core.errors import InputError


@pytest.mark.parametrize('where, message', [
    ('missing/predictions.csv', r'--output .*missing/predictions.csv: the folder .*missing does not exist'),
    ('.', r'--output \. is a folder: give a file name'),
])
def test_predict_checks_the_output_path_before_predicting(trained, data_dir, tmp_path, monkeypatch, caplog,
                                                           where, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=message):
        predict.main(script_args(trained, restore_from='best_weights', inputs=[os.path.join(data_dir, 'test_signs')],
                                 output=where))
    assert 'Restoring' not in caplog.text


def test_predict_prints_a_file_name_that_is_not_utf8(trained, data_dir, tmp_path, capsys):
    source = os.path.join(data_dir, 'test_signs', sorted(os.listdir(os.path.join(data_dir, 'test_signs')))[0])
    odd = os.path.join(str(tmp_path), os.fsdecode(b'caf\xe9.jpg'))  # a Latin-1 name on a UTF-8 system
    with open(source, 'rb') as f, open(odd, 'wb') as g:
        g.write(f.read())
    output = str(tmp_path / 'predictions.csv')
    results = predict.main(script_args(trained, restore_from='best_weights', inputs=[odd], output=output))
    assert list(results) == [odd]
    assert 'caf\\xe9.jpg: ' in capsys.readouterr().out
    assert 'caf\\xe9.jpg' in open(output, encoding='utf-8').read()


