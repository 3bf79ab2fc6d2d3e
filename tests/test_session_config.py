"""session_config: the Session settings training and evaluation share, from params."""
import pytest

from helpers import write_params
from model.core.errors import InputError
from model.core.session_config import session_config
from model.core.tf_compat import tf
from model.utils import Params


def test_defaults_let_tensorflow_choose(params):
    config = session_config(params)
    assert config.intra_op_parallelism_threads == 0 and config.inter_op_parallelism_threads == 0
    assert config.graph_options.optimizer_options.global_jit_level == tf.OptimizerOptions.DEFAULT


def test_params_set_threads_and_xla(tmp_path):
    params = Params(write_params(str(tmp_path), intra_op_threads=2, inter_op_threads=1, xla_jit=True))
    config = session_config(params)
    assert config.intra_op_parallelism_threads == 2 and config.inter_op_parallelism_threads == 1
    assert config.graph_options.optimizer_options.global_jit_level == tf.OptimizerOptions.ON_1


def test_negative_threads_are_refused(tmp_path):
    with pytest.raises(InputError, match="'intra_op_threads' must be at least 0, got -1"):
        Params(write_params(str(tmp_path), intra_op_threads=-1))
