"""train.py's refusals and bad data: named in one line, before anything is overwritten."""
import os
import re
import shutil

import pytest

import train
from helpers import listing, run, script_args, with_extra_file, write_params
from model.core.checkpoints import has_weights
from model.core.errors import InputError


def test_training_over_existing_weights_is_refused_and_touches_nothing(trained, data_dir):
    before = {name: os.path.getmtime(os.path.join(trained, name)) for name in os.listdir(trained)}
    with pytest.raises(InputError, match='already holds weights.*--restore_from'):
        train.main(script_args(trained, data_dir))
    assert {name: os.path.getmtime(os.path.join(trained, name)) for name in os.listdir(trained)} == before


def a_jpeg_cut_short(data_dir):
    path = os.path.join(data_dir, 'train_signs', listing(os.path.join(data_dir, 'train_signs'))[0])
    data = open(path, 'rb').read()
    return data[:len(data) // 3]


@pytest.mark.parametrize('split, name, bad', [
    ('train_signs', '2_IMG_notes.jpg', lambda data_dir: b'this is not a picture'),
    ('dev_signs', '4_IMG_cut.jpg', a_jpeg_cut_short),
])
def test_undecodable_image_at_train_time_is_named(data_dir, tmp_path, split, name, bad):
    bad_data = with_extra_file(data_dir, tmp_path, split, name, bad(data_dir))
    model_dir = str(tmp_path / 'model')
    write_params(model_dir)
    with pytest.raises(InputError) as e:
        train.main(script_args(model_dir, bad_data))
    message = str(e.value)
    assert os.path.join(bad_data, split, name) in message and 'build_dataset.py' in message
    assert '\n' not in message
    assert not has_weights(model_dir)


@pytest.mark.parametrize('change, message', [
    ('no dev split', 'No folder .*dev_signs: build the dataset first'),
    ('empty train split', 'train_signs holds no images'),
    ('label out of range', '7_IMG_extra.jpg: the name must start with its label, a digit from 0 to 5'),
])
def test_missing_split_empty_split_and_bad_label_are_named(data_dir, tmp_path, change, message):
    bad_data = shutil.copytree(data_dir, str(tmp_path / 'data'))
    if change == 'no dev split':
        shutil.rmtree(os.path.join(bad_data, 'dev_signs'))
    elif change == 'empty train split':
        for name in listing(os.path.join(bad_data, 'train_signs')):
            os.remove(os.path.join(bad_data, 'train_signs', name))
    else:
        shutil.copy(os.path.join(bad_data, 'train_signs', listing(os.path.join(bad_data, 'train_signs'))[0]),
                    os.path.join(bad_data, 'train_signs', '7_IMG_extra.jpg'))
    model_dir = str(tmp_path / 'model')
    write_params(model_dir)
    with pytest.raises(InputError, match=message):
        train.main(script_args(model_dir, bad_data))
    assert listing(model_dir) == ['params.json', 'train.log']


@pytest.mark.slow
def test_diverging_loss_exits_2_with_one_line(data_dir, tmp_path):
    model_dir = str(tmp_path / 'nan')
    write_params(model_dir, learning_rate=1e30, use_batch_norm=True, learnig_rate=0.1)  # see test_training's NaN test
    result = run('train.py', '--model_dir', model_dir, '--data_dir', data_dir, check=False)
    assert result.returncode == 2
    # The typo is warned once, and no line is printed twice (a second logging handler would).
    assert result.stderr.count("unknown key 'learnig_rate'") == 1
    assert result.stderr.count('Epoch 1/2') == 1
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('Error:')]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0])
    assert re.match(r'Error: The loss became nan at epoch 1, step \d+: .*learning_rate', errors[0])
    assert not has_weights(model_dir)


