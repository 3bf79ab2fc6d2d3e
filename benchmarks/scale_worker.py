"""Epochs of train.py's graph on one data set, with the time and the memory after each.

Run by bench.py's scaling run, one process per data set size, so that each peak is its own;
prints one JSON line with the measurements.
    python benchmarks/scale_worker.py --data_dir DIR --params PARAMS_JSON [--epochs 1]

Each epoch is what train.py does in one: train_sess over the training split, then
evaluate_sess over the dev split, both through input_fn (so the image cache is kept or
not as the budget decides, and the log line saying which is returned). The time of the
training epoch counts from iterator_init_op to its last step: in the first epoch it
includes decoding the images. Before it, a few steps of the same models on random images
fed in place of the pipeline's take the first-run costs of the graph (kernels, oneDNN
primitives) out of the first epoch's time. The memory is read after every epoch: the
peak resident set of the process so far (getrusage) and the resident set at that moment.
The CPU time of each training epoch is kept too.
"""
import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from graph_worker import train_and_dev  # noqa: E402  (benchmarks/, beside this script)

from model.core.memory import MB, cache_budget  # noqa: E402
from model.core.params import SEED  # noqa: E402
from model.core.session_config import session_config  # noqa: E402
from model.core.tf_compat import tf  # noqa: E402
from model.evaluation import evaluate_sess  # noqa: E402
from model.input_fn import input_fn  # noqa: E402
from model.model_fn import model_fn  # noqa: E402
from model.training import train_sess  # noqa: E402
from model.utils import Params  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', required=True, help="A built dataset (train_signs/ and dev_signs/)")
parser.add_argument('--params', required=True, help="The params.json of the model")
parser.add_argument('--epochs', type=int, default=1, help="Epochs to run, each followed by a dev evaluation")
parser.add_argument('--warmup_steps', type=int, default=20,
                    help="Steps on random images before the first epoch (3 left the first epoch twice as slow)")


def peak_mb():
    """The peak resident set of this process so far, in MB (Linux gives kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    """CPU time of this process so far (all its threads, user and system): steadier than the wall clock
    when other jobs share the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def current_mb():
    """The resident set of this process now, in MB (None where /proc is missing)."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / MB
    except (OSError, ValueError):
        return None


def warm_up(sess, specs, inputs, params, steps):
    """A few steps of each model on random images fed in place of the pipeline's, then the weights reset.

    The first runs of a new graph in a new Session cost seconds (kernels made, oneDNN
    primitives): paid here, they are not counted in the first epoch. The pipelines are not
    touched (nothing is decoded, the global step is 0 again after the reset).
    """
    size = params.image_size
    random_batch = {'images': np.random.RandomState(0).rand(params.batch_size, size, size, 3).astype(np.float32),
                    'labels': np.zeros(params.batch_size, np.int32)}
    for spec, spec_inputs in zip(specs, inputs, strict=True):
        feed = {spec_inputs[key]: random_batch[key] for key in random_batch}
        fetches = [spec[key] for key in ('train_op', 'update_metrics', 'loss', 'summary_op') if key in spec]
        sess.run(spec['metrics_init_op'])
        for _ in range(steps):
            sess.run(fetches, feed_dict=feed)
    sess.run(specs[0]['variable_init_op'])


class ChoiceLog(logging.Handler):
    """Keeps what input_fn says about the images (kept in memory or read from the files)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        if ' images: ' in message:
            self.lines.append(message)


def main(args):
    choices = ChoiceLog()
    logging.getLogger().handlers[:] = [choices]  # train_sess's metrics lines stay out of the output
    logging.getLogger().setLevel(logging.INFO)
    params = Params(args.params)
    (train_files, train_labels), (eval_files, eval_labels) = train_and_dev(args.data_dir, params)

    epochs = []
    with tempfile.TemporaryDirectory() as tmp, tf.Graph().as_default():
        tf.set_random_seed(SEED)
        start = time.perf_counter()
        inputs = [input_fn(True, train_files, train_labels, params), input_fn(False, eval_files, eval_labels, params)]
        train_spec = model_fn('train', inputs[0], params)
        eval_spec = model_fn('eval', inputs[1], params, reuse=True)
        graph_s = time.perf_counter() - start  # reading the images' headers included
        writer = tf.summary.FileWriter(tmp)
        with tf.Session(config=session_config(params)) as sess:
            sess.run(train_spec['variable_init_op'])
            warm_up(sess, [train_spec, eval_spec], inputs, params, args.warmup_steps)
            for _ in range(args.epochs):
                start, cpu_start = time.perf_counter(), cpu_seconds()
                train_sess(sess, train_spec, params.train_steps, writer, params)
                train_s, train_cpu_s = time.perf_counter() - start, cpu_seconds() - cpu_start
                evaluate_sess(sess, eval_spec, params.eval_steps)
                epochs.append({'train_s': train_s, 'train_cpu_s': train_cpu_s,
                               'eval_s': time.perf_counter() - start - train_s,
                               'peak_mb': peak_mb(), 'current_mb': current_mb()})
        writer.close()
    print(json.dumps({'train_size': params.train_size, 'eval_size': params.eval_size, 'graph_s': graph_s,
                      'budget_mb': cache_budget(params)[0] / MB, 'choices': choices.lines, 'epochs': epochs}))


if __name__ == '__main__':
    main(parser.parse_args())
