"""MODEL_VERSIONS: the networks an example's model_fn can build, by the name params.json gives."""
from collections import namedtuple

from model.core.errors import InputError


class ModelVersion(namedtuple('ModelVersion', 'build_model check_params')):
    """A network of an example's MODEL_VERSIONS: build_model(is_training, inputs, params) -> logits, and
    check_params(params), which raises InputError for settings that network cannot take."""


def no_check(params):
    """For a model version that takes any params the spec allows."""


def model_version(versions, params):
    """The ModelVersion of `versions` that params.model_version names; an unknown name is an InputError."""
    if params.model_version not in versions:
        raise InputError("Unknown model_version '{}' in params.json: known versions are {}".format(
            params.model_version, ', '.join(sorted(versions))))
    return versions[params.model_version]
