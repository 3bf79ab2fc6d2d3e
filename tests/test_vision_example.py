"""vision/example.py: what the scripts ask of the vision example, and the mistakes it names."""
import os

import pytest

import train
from helpers import script_args, write_params
from model.core.errors import InputError
from model.utils import Params
from vision import example


def test_more_than_ten_digit_labels_are_refused_before_any_work(data_dir, tmp_path):
    """A SIGNS-style set: refused where the data set is known (a set of class folders may have more), before
    any image is read; check_params lets it pass, since it cannot tell (tests/test_class_folders.py)."""
    params = Params(write_params(str(tmp_path / 'model'), num_labels=11))
    example.check_params(params)
    with pytest.raises(InputError, match="'num_labels' is 11.*one digit.*class folders has no such limit"):
        example.load_split(data_dir, 'train', params)
    with pytest.raises(InputError, match="'num_labels' is 11.*one digit"):
        train.main(script_args(str(tmp_path / 'model'), data_dir))
    assert not os.path.exists(tmp_path / 'model' / 'last_weights')
    example.check_params(Params(write_params(str(tmp_path / 'ten'), num_labels=10)))
    example.load_split(data_dir, 'train', Params(write_params(str(tmp_path / 'ten'), num_labels=10)))


def test_a_vision_experiment_given_the_ner_data_set_is_told_so(tmp_path):
    ner_data = tmp_path / 'NER'
    for split in ('train', 'dev', 'test'):
        os.makedirs(ner_data / split)
        (ner_data / split / 'sentences.txt').write_text('John lives in York\n')
        (ner_data / split / 'labels.txt').write_text('B-PER O O B-LOC\n')
    model_dir = str(tmp_path / 'model')
    write_params(model_dir)
    with pytest.raises(InputError) as raised:
        train.main(script_args(model_dir, str(ner_data)))
    message = str(raised.value)
    assert 'NER example' in message and str(ner_data) in message and 'build_dataset.py' in message
    # An empty folder is not mistaken for one: the usual message says what to build.
    with pytest.raises(InputError, match='No folder .*train_signs'):
        example.load_split(str(tmp_path / 'empty'), 'train', Params(write_params(str(tmp_path / 'p'))))
