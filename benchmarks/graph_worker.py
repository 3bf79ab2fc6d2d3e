"""Our TF1 graph code, timed: epochs of train_sess and evaluate_sess, the same graphs fed from memory, FLOPs, peak.

Run by bench.py in its own process; prints one JSON line with the measurements.
    python benchmarks/graph_worker.py --data_dir DIR --params PARAMS_JSON [--rounds 5]

- Our epochs: train.py's graph (input_fn + model_fn, train and eval) and the Session
  config training uses, timed around train_sess (summaries written to a temporary
  folder as in training) and around evaluate_sess.
- The reference: the same model graphs fed by a dataset whose batches are already
  decoded and cached in memory, so the difference is what our input pipeline costs.
  Our epochs and the reference epochs alternate, so a change of load hits both.
- FLOPs of one training step, counted by TensorFlow's graph profiler on the ops the
  step runs, and the machine's peak: the best of a few large float32 matrix products.
"""
import argparse
import json
import logging
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from model.core.params import SEED  # noqa: E402
from model.core.session_config import session_config  # noqa: E402
from model.core.tf_compat import tf  # noqa: E402
from model.evaluation import evaluate_sess, num_steps_for  # noqa: E402
from model.input_fn import input_fn  # noqa: E402
from model.model_fn import model_fn  # noqa: E402
from model.training import train_sess  # noqa: E402
from model.utils import Params  # noqa: E402
from vision.image_files import list_images  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', required=True, help="A built dataset (train_signs/ and dev_signs/)")
parser.add_argument('--rounds', type=int, default=5, help="Timed epochs of each kind, after one warm-up epoch")
parser.add_argument('--ours_only', action='store_true',
                    help="Only our epochs: no in-memory reference, FLOPs or peak (benchmarks/levers.py)")
parser.add_argument('--matmul_size', type=int, default=2048, help="Side of the matrices of the peak measurement")
parser.add_argument('--params', required=True, help="The params.json of the model (bench.py passes the base model's)")


def decoded(filenames, labels, params):
    """Every image of a split decoded and resized as the eval pipeline does it, as numpy arrays."""
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            batches = [sess.run([inputs['images'], inputs['labels']])
                       for _ in range(num_steps_for(len(filenames), params.batch_size))]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def in_memory_inputs(images, labels, batch_size):
    """An initializable iterator over batches already in memory: the pipeline that costs nothing."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size).prefetch(1)
    options = tf.data.Options()
    options.autotune.enabled = False  # as in input_fn: its thread can stall iterator_init_op
    dataset = dataset.with_options(options)
    iterator = tf.data.make_initializable_iterator(dataset)
    images, labels = iterator.get_next()
    return {'images': images, 'labels': labels, 'iterator_init_op': iterator.initializer}


class Runner():
    """One graph with a training and an evaluation model, and its Session, epoch by epoch."""

    def __init__(self, train_inputs_fn, eval_inputs_fn, params, summary_dir):
        self.params = params
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(SEED)
            self.train_spec = model_fn('train', train_inputs_fn(), params)
            self.eval_spec = model_fn('eval', eval_inputs_fn(), params, reuse=True)
            self.sess = tf.Session(config=session_config(params))
            self.sess.run(self.train_spec['variable_init_op'])
            self.writer = tf.summary.FileWriter(summary_dir)

    def train_epoch(self):
        start = time.perf_counter()
        with self.graph.as_default():
            train_sess(self.sess, self.train_spec, num_steps_for(self.params.train_size, self.params.batch_size),
                       self.writer, self.params)
        return time.perf_counter() - start

    def eval_epoch(self):
        start = time.perf_counter()
        with self.graph.as_default():
            evaluate_sess(self.sess, self.eval_spec, num_steps_for(self.params.eval_size, self.params.batch_size))
        return time.perf_counter() - start


def step_graph(params):
    """A graph of the ops one training step runs, with every shape known (for the graph profiler).

    The model is built on placeholders (batch size None, as from tf.data) and the batch size
    is written into them before the graph is imported again. Only the ops a training step
    runs are kept: the gradient with respect to the input images, which TensorFlow builds
    but never runs, is left out.
    """
    size = params.image_size
    with tf.Graph().as_default() as graph:
        inputs = {'images': tf.placeholder(tf.float32, [None, size, size, 3], name='images'),
                  'labels': tf.placeholder(tf.int64, [None], name='labels')}
        spec = model_fn('train', inputs, params)
        step_ops = [spec['train_op'].name, spec['update_metrics'].name, spec['loss'].op.name]
        graph_def = tf.graph_util.extract_sub_graph(graph.as_graph_def(), step_ops)
    for node in graph_def.node:
        if node.op == 'Placeholder':
            node.attr['shape'].shape.dim[0].size = params.batch_size
    with tf.Graph().as_default() as fixed_graph:
        tf.import_graph_def(graph_def, name='')
    return fixed_graph


def flops_per_step(params):
    """Floating-point operations of one training step on a full batch, by TensorFlow's graph profiler."""
    options = tf.profiler.ProfileOptionBuilder.float_operation()
    options['output'] = 'none'
    return tf.profiler.profile(step_graph(params), options=options).total_float_ops


def peak_gflops(params, n, repeats=10):
    """Best GFLOP/s of an n x n float32 matrix product, with the Session config training uses."""
    with tf.Graph().as_default():
        a = tf.Variable(tf.random.uniform([n, n], seed=1))
        b = tf.Variable(tf.random.uniform([n, n], seed=2))
        # Reduce to a scalar so that fetching the result costs nothing.
        product = tf.reduce_sum(tf.matmul(a, b))
        with tf.Session(config=session_config(params)) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(product)  # warm-up
            best = float('inf')
            for _ in range(repeats):
                start = time.perf_counter()
                sess.run(product)
                best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def train_and_dev(data_dir, params):
    """The (filenames, labels) of the train and dev splits, with their sizes and steps set in params as train.py sets them."""
    train_files, train_labels = list_images(os.path.join(data_dir, 'train_signs'), params.num_labels)
    eval_files, eval_labels = list_images(os.path.join(data_dir, 'dev_signs'), params.num_labels)
    params.train_size, params.eval_size = len(train_files), len(eval_files)
    params.train_steps = num_steps_for(params.train_size, params.batch_size)
    params.eval_steps = num_steps_for(params.eval_size, params.batch_size)
    return (train_files, train_labels), (eval_files, eval_labels)


def main(args):
    logging.disable(logging.INFO)  # train_sess logs the metrics of every epoch
    params = Params(args.params)
    (train_files, train_labels), (eval_files, eval_labels) = train_and_dev(args.data_dir, params)
    # The peak is measured before and after the epochs, and the better one kept: a busy moment
    # on a shared machine must not lower it (that would flatter the fraction of it we reach).
    peak_before = None if args.ours_only else peak_gflops(params, args.matmul_size)
    with tempfile.TemporaryDirectory() as tmp:
        runners = {'ours': Runner(lambda: input_fn(True, train_files, train_labels, params),
                                  lambda: input_fn(False, eval_files, eval_labels, params),
                                  params, os.path.join(tmp, 'ours'))}
        if not args.ours_only:
            train_images, train_image_labels = decoded(train_files, train_labels, params)
            eval_images, eval_image_labels = decoded(eval_files, eval_labels, params)
            runners['memory'] = Runner(lambda: in_memory_inputs(train_images, train_image_labels, params.batch_size),
                                       lambda: in_memory_inputs(eval_images, eval_image_labels, params.batch_size),
                                       params, os.path.join(tmp, 'memory'))
        times = {'{}_{}'.format(name, kind): [] for name in runners for kind in ('train', 'eval')}
        for round_index in range(args.rounds + 1):  # round 0 is the warm-up: fills caches, first-run costs
            for name, runner in runners.items():
                # An eval epoch is short (a tenth of a training epoch): three of them per round.
                for kind, run_epoch in [('train', runner.train_epoch)] + [('eval', runner.eval_epoch)] * 3:
                    seconds = run_epoch()
                    if round_index > 0:
                        times['{}_{}'.format(name, kind)].append(seconds)
        for runner in runners.values():
            runner.sess.close()

    result = dict(times, train_size=params.train_size, eval_size=params.eval_size, batch_size=params.batch_size,
                  tf_version=tf.__version__, onednn=os.environ.get('TF_ENABLE_ONEDNN_OPTS'))
    if not args.ours_only:
        result.update(flops_per_step=flops_per_step(params), matmul_size=args.matmul_size,
                      peak_gflops=max(peak_before, peak_gflops(params, args.matmul_size)))
    print(json.dumps(result))


if __name__ == '__main__':
    main(parser.parse_args())
