"""How a tf.Session runs the graph: the one place training and evaluation get their Session config."""
from model.core.tf_compat import tf


def session_config(params):
    """The tf.ConfigProto for a Session of this experiment.

    Args:
        params: (Params) reads intra_op_threads, inter_op_threads and xla_jit (see model/core/params.py)

    Returns:
        config: (tf.ConfigProto) to pass as tf.Session(config=...)
    """
    config = tf.ConfigProto()
    # 0 lets TensorFlow use one thread per core: right on a laptop, a server or a GPU machine.
    # TensorFlow makes its thread pools once per process: the first Session's settings are the ones used.
    config.intra_op_parallelism_threads = params.intra_op_threads
    config.inter_op_parallelism_threads = params.inter_op_threads
    if params.xla_jit:
        config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
    return config
