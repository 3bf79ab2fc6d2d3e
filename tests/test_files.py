"""model/core/files.py: JSON read strictly, files written whole and readable as open() would make them."""
import json
import os
import stat

import pytest

from helpers import write_params
from model.core.errors import InputError
from model.core.files import read_json, save_dict_to_json, write_all_atomically, write_atomically
from model.utils import Params


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o077, 0o002])
def test_atomic_writes_have_the_permissions_of_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with open(tmp_path / 'plain.txt', 'w') as f:
            f.write('x')
        save_dict_to_json({'accuracy': 0.5}, str(tmp_path / 'metrics.json'))
        write_atomically(str(tmp_path / 'one.csv'), lambda f: f.write('a,b\n'))
        write_all_atomically({str(tmp_path / 'words.txt'): lambda f: f.write('w\n'),
                              str(tmp_path / 'tags.txt'): lambda f: f.write('O\n')})
    finally:
        os.umask(previous)
    expected = mode_of(tmp_path / 'plain.txt')
    assert expected == 0o666 & ~umask
    for name in ('metrics.json', 'one.csv', 'words.txt', 'tags.txt'):
        assert mode_of(tmp_path / name) == expected, name
    assert sorted(os.listdir(tmp_path)) == ['metrics.json', 'one.csv', 'plain.txt', 'tags.txt', 'words.txt']


def test_a_failed_write_of_several_files_replaces_none_and_leaves_no_temporary_file(tmp_path):
    (tmp_path / 'words.txt').write_text('old\n')

    def fail(f):
        raise RuntimeError('disk full')
    with pytest.raises(RuntimeError):
        write_all_atomically({str(tmp_path / 'words.txt'): lambda f: f.write('new\n'),
                              str(tmp_path / 'tags.txt'): fail})
    assert (tmp_path / 'words.txt').read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['words.txt']


@pytest.mark.parametrize('text, culprit', [
    ('{"learning_rate": NaN}', 'NaN'),
    ('{"learning_rate": Infinity}', 'Infinity'),
    ('{"learning_rate": -Infinity}', '-Infinity'),
    ('{"batch_size": 32, "learning_rate": 1e-3, "batch_size": 64}', "'batch_size' is given twice"),
    ('{"slurm": {"time": "1:00:00", "time": "2:00:00"}}', "'time' is given twice"),
])
def test_json_that_python_reads_but_means_trouble_is_one_line_naming_the_file(tmp_path, text, culprit):
    path = tmp_path / 'params.json'
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        read_json(str(path))
    message = str(raised.value)
    assert str(path) in message and culprit in message and '\n' not in message


@pytest.mark.parametrize('changes', [{'learning_rate': float('nan')}, {'learning_rate': float('inf')}])
def test_params_json_with_a_nan_learning_rate_is_refused(tmp_path, changes):
    json_path = write_params(str(tmp_path / 'model'), **changes)  # json.dump writes NaN and Infinity
    with pytest.raises(InputError, match='learning_rate|not a JSON number'):
        Params(json_path)


def test_params_json_with_a_key_given_twice_is_refused(tmp_path):
    json_path = write_params(str(tmp_path / 'model'))
    with open(json_path) as f:
        text = f.read()
    with open(json_path, 'w') as f:
        f.write(text.replace('{', '{\n    "learning_rate": 40000.0,', 1))
    assert json.loads(text)  # the file was valid before
    with pytest.raises(InputError, match="'learning_rate' is given twice"):
        Params(json_path)
