"""The NER session fixtures: one small data set and one trained model for every NER test file.

A test file that uses them declares `pytest_plugins = ['helpers.ner_fixtures']`: a fixture of a
plugin is one for the whole session, where one imported into each test file would be built once per file.
"""
import pytest

from helpers import script_args
from helpers.ner import write_ner_params, write_ner_set


@pytest.fixture(scope='session')
def ner_dir(tmp_path_factory):
    """A small synthetic NER set with its vocabularies: 300 train, 60 dev, 60 test sentences (write_ner_set)."""
    return write_ner_set(str(tmp_path_factory.mktemp('ner') / 'NER'))


@pytest.fixture(scope='session')
def ner_trained(ner_dir, tmp_path_factory):
    """The base NER model trained in-process for two epochs with tiny params (copy before changing)."""
    import train
    model_dir = str(tmp_path_factory.mktemp('ner_trained') / 'model')
    write_ner_params(model_dir)
    train.main(script_args(model_dir, ner_dir))
    return model_dir
