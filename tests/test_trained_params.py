"""Params that change what the weights compute without changing their variables are checked as the weights are.

NER's max_word_length (the characters the CNN reads of each word) is such a key: weights trained
with 20 characters restore into a graph that reads 6, and silently give other tags.
"""
import json
import os

import pytest

import build_ner_dataset
import build_vocab
import evaluate
import export
import predict
import train
from helpers import script_args
from helpers.ner import write_ner_params
from model.core.errors import InputError


@pytest.fixture(scope='module')
def ner_trained(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp('ner') / 'NER')
    build_ner_dataset.build(data_dir, synthetic=True, synthetic_sizes=(120, 30, 30))
    build_vocab.build_vocab(data_dir)
    model_dir = str(tmp_path_factory.mktemp('trained') / 'model')
    write_ner_params(model_dir, num_epochs=1)
    train.main(script_args(model_dir, data_dir))
    return model_dir, data_dir


def set_param(model_dir, **changes):
    path = os.path.join(model_dir, 'params.json')
    with open(path) as f:
        values = json.load(f)
    values.update(changes)
    with open(path, 'w') as f:
        json.dump(values, f)


def test_a_changed_max_word_length_is_refused_by_every_script_that_uses_the_weights(ner_trained, tmp_path):
    model_dir, data_dir = ner_trained
    with open(os.path.join(model_dir, 'dataset.json')) as f:
        trained_with = json.load(f)['trained_params']['max_word_length']
    assert trained_with == 20  # the default: the tiny params do not set it
    set_param(model_dir, max_word_length=6, num_epochs=2)
    sentences = tmp_path / 'sentences.txt'
    sentences.write_text('John lives in Springfield .\n')
    calls = [lambda: evaluate.main(script_args(model_dir, data_dir, 'best_weights')),
             lambda: predict.main(script_args(model_dir, restore_from='best_weights', inputs=[str(sentences)],
                                              output=None)),
             lambda: export.main(script_args(model_dir, restore_from='best_weights',
                                             export_dir=str(tmp_path / 'exported' / '1'))),
             lambda: train.main(script_args(model_dir, data_dir, os.path.join(model_dir, 'last_weights')))]
    try:
        for call in calls:
            with pytest.raises(InputError) as raised:
                call()
            message = str(raised.value)
            assert "'max_word_length' is 6" in message and 'trained with {}'.format(trained_with) in message
    finally:
        set_param(model_dir, max_word_length=trained_with, num_epochs=1)  # as it was (the default)
    assert not os.path.exists(tmp_path / 'exported')
    # Set back, the same weights are used again.
    metrics = evaluate.main(script_args(model_dir, data_dir, 'best_weights'))
    assert 'f1' in metrics
