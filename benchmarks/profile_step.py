"""Where a training step's time goes: milliseconds and GFLOP/s per kind of op and per layer.

    python benchmarks/profile_step.py --data_dir DIR [--steps 20] [--params PARAMS_JSON]

The training graph of train.py (input_fn + model_fn, the Session config of training) runs
`--steps` traced steps after a warm-up; the time of each op comes from the trace (the
time the op ran, whichever thread), its FLOPs from TensorFlow's graph profiler on the
same model built with a fixed batch size. Ops that TensorFlow fused (a convolution with
its bias, for example) are counted with the kind of their main op. This explains the
peak_fraction of bench.py: which ops run near the machine's peak, and which are slow.
"""
import argparse
import collections
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from graph_worker import step_graph  # noqa: E402  (first: model/core/tf_compat.py sets TensorFlow up)
from tensorflow.python.framework import ops as tf_ops  # noqa: E402  (get_stats_for_node_def)

from model.core.session_config import session_config  # noqa: E402
from model.core.tf_compat import tf  # noqa: E402
from model.input_fn import input_fn  # noqa: E402
from model.model_fn import model_fn  # noqa: E402
from model.utils import Params  # noqa: E402
from vision.image_files import list_images  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
parser.add_argument('--data_dir', required=True, help="A built dataset (train_signs/)")
parser.add_argument('--params', default=os.path.join(os.path.dirname(HERE), 'experiments', 'base_model', 'params.json'))
parser.add_argument('--steps', type=int, default=20, help="Traced training steps")

# Kind of op, from its type (with or without the _Mkl / _MklNative / _Fused prefixes of oneDNN and Grappler).
KINDS = [('conv backprop filter', r'Conv2DBackpropFilter'), ('conv backprop input', r'Conv2DBackpropInput'),
         ('conv forward', r'Conv2D'), ('matmul (dense)', r'MatMul'), ('batch norm', r'BatchNorm'),
         ('max pool', r'MaxPool'), ('relu and bias gradients', r'ReluGrad|BiasAddGrad'),
         ('Adam updates', r'ApplyAdam'), ('input (IteratorGetNext)', r'IteratorGetNext')]


def kind_of(op_type):
    return next((kind for kind, pattern in KINDS if re.search(pattern, op_type)), 'other')


def layer_of(node_name):
    match = re.search(r'(block_\d+|fc_\d+)', node_name)
    return match.group(1) if match else '-'


def flops_by_kind_and_layer(params):
    """{(kind, layer): FLOPs of one step}, as the graph profiler counts them (see graph_worker.step_graph)."""
    graph = step_graph(params)
    flops = collections.Counter()
    for op in graph.get_operations():
        try:
            value = tf_ops.get_stats_for_node_def(graph, op.node_def, 'flops').value
        except ValueError:  # no FLOPs statistics registered for this kind of op
            value = None
        if value:
            flops[kind_of(op.type), layer_of(op.name)] += value
    return flops


def traced_times(params, data_dir, steps):
    """{(kind, layer): seconds per step} over `steps` traced training steps, and the wall time per step.

    Tracing itself costs time: the wall time of a traced step is longer than an untraced one.
    """
    filenames, labels = list_images(os.path.join(data_dir, 'train_signs'), params.num_labels)
    params.train_size = len(filenames)
    params.train_steps = -(-params.train_size // params.batch_size)
    times = collections.Counter()
    with tf.Graph().as_default():
        spec = model_fn('train', input_fn(True, filenames, labels, params), params)
        fetches = [spec['train_op'], spec['update_metrics'], spec['loss']]
        steps_per_epoch = params.train_size // params.batch_size  # full batches only
        with tf.Session(config=session_config(params)) as sess:
            for init_op in ('variable_init_op', 'metrics_init_op'):
                sess.run(spec[init_op])
            wall = 0.0
            for step in range(5 + steps):  # 5 warm-up steps
                if step % steps_per_epoch == 0:
                    sess.run(spec['iterator_init_op'])
                metadata = tf.RunMetadata()
                start = time.perf_counter()
                sess.run(fetches, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=metadata)
                if step < 5:
                    continue
                wall += (time.perf_counter() - start) / steps
                for device in metadata.step_stats.dev_stats:
                    for node in device.node_stats:
                        op_type = node.timeline_label.split(' = ')[1].split('(')[0] if ' = ' in node.timeline_label \
                            else node.node_name
                        times[kind_of(op_type), layer_of(node.node_name)] += \
                            (node.op_end_rel_micros - node.op_start_rel_micros) / 1e6 / steps
    return times, wall


def main(args):
    params = Params(args.params)
    times, wall = traced_times(params, args.data_dir, args.steps)
    flops = flops_by_kind_and_layer(params)
    total_time = sum(times.values())
    print("Training step, batch {}: {:.1f} ms wall; the ops ran {:.1f} ms in total (2 threads can overlap); "
          "{:.2f} GFLOP".format(params.batch_size, wall * 1e3, total_time * 1e3, sum(flops.values()) / 1e9))
    print()
    print("{:<26} {:>8} {:>7} {:>8} {:>9}".format('kind of op', 'ms/step', 'share', 'GFLOP', 'GFLOP/s'))
    kinds = [kind for kind, _ in KINDS] + ['other']
    for kind in sorted(kinds, key=lambda k: -sum(v for (k2, _), v in times.items() if k2 == k)):
        seconds = sum(v for (k, _), v in times.items() if k == kind)
        work = sum(v for (k, _), v in flops.items() if k == kind)
        print("{:<26} {:>8.2f} {:>6.1f}% {:>8.3f} {:>9}".format(
            kind, seconds * 1e3, 100 * seconds / total_time, work / 1e9,
            '{:.0f}'.format(work / seconds / 1e9) if work and seconds else '-'))
    print()
    print("Convolutions and dense layers, GFLOP/s (ms/step):")
    layers = sorted({layer for _, layer in flops if layer != '-'})
    columns = ['conv forward', 'conv backprop filter', 'conv backprop input', 'matmul (dense)']
    print("{:<8}".format('layer') + ''.join('{:>24}'.format(c) for c in columns))
    for layer in layers:
        cells = []
        for column in columns:
            seconds, work = times.get((column, layer), 0), flops.get((column, layer), 0)
            cells.append('{:.0f} ({:.2f})'.format(work / seconds / 1e9, seconds * 1e3) if seconds and work else '-')
        print("{:<8}".format(layer) + ''.join('{:>24}'.format(c) for c in cells))


if __name__ == '__main__':
    main(parser.parse_args())
