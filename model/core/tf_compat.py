"""The one place where TensorFlow is set up for TF1-style graph code.

Every module imports `tf` from here, so the set-up is written (and read) once:
- `TF_USE_LEGACY_KERAS=1` before the first import of TensorFlow: since TF 2.16,
  `tf.compat.v1.layers` only works on top of Keras 2 (the `tf-keras` package).
- `tensorflow.compat.v1` with `disable_v2_behavior()`: graphs, Sessions,
  reference variables and `tf.data` initializable iterators, as in TF 1.x.
- TensorFlow's start-up noise (CUDA probing, deprecation notices) is hidden so
  that the terminal shows our log lines only. Set `TF_CPP_MIN_LOG_LEVEL=0`
  in your shell to see everything TensorFlow says, for debugging.
- `TF_ENABLE_ONEDNN_OPTS=1`: TensorFlow's oneDNN (Intel MKL-DNN) kernels for convolutions,
  pooling and batch norm on the CPU. TensorFlow only turns them on by itself on CPUs with
  AVX-512 VNNI and newer; on an AVX2 CPU they made training twice as fast (see
  benchmarks/README.md). It changes nothing on a GPU. It is read when TensorFlow is
  imported, before any params.json: set `TF_ENABLE_ONEDNN_OPTS=0` in your shell to turn it off.
"""
import os
import sys
import tempfile
import warnings

os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')
VERBOSE = os.environ.get('TF_CPP_MIN_LOG_LEVEL', '3') in ('0', '1')
if not VERBOSE:
    # Level 2 (a common setting) still shows errors such as 'failed call to cuInit' on a machine
    # without a GPU, which are no error for this code: only 0 and 1 mean "show me everything".
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'


def _import_tensorflow_quietly():
    """Import tensorflow.compat.v1 with file descriptor 2 sent to a temporary file.

    The C++ runtime prints its start-up lines straight to the stderr file
    descriptor before any log level applies, so silencing Python's stderr is not
    enough. What it printed is shown again if the import fails.
    """
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow.compat.v1 as tf_v1
        except BaseException:
            os.dup2(saved_stderr, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors='replace'))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
    return tf_v1


if VERBOSE:
    import tensorflow.compat.v1 as tf
else:
    tf = _import_tensorflow_quietly()
    # Before disable_v2_behavior(), which itself logs a deprecation notice.
    tf.get_logger().setLevel('ERROR')
    # tf.layers warns on every call that it is deprecated in favour of Keras.
    warnings.filterwarnings('ignore', message='.*is deprecated', category=UserWarning)

tf.disable_v2_behavior()

# The errors a tf.data pipeline raises for a file it cannot read or decode: the scripts
# catch them to name the file (see the examples' explain_data_error).
DATA_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.DataLossError)


def fixed_settings(dataset):
    """The dataset with tf.data's autotuning off: our parallelism and prefetch depth are set by hand.

    With autotuning on (TensorFlow's default), its background thread made iterator_init_op
    wait for the previous iterator to shut down, in about half of the epochs: longer than
    the epoch's whole input pipeline takes (figures in benchmarks/README.md).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
