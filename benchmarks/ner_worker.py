"""Our side of the NER benchmark: the base NER model's training epochs, run by train_sess as train.py runs them.

Run by bench.py in its own process; prints one JSON line.
    python benchmarks/ner_worker.py --data_dir DIR --params PARAMS_JSON --rounds 3 --batches OUT.npz

It times `rounds` epochs after a warm-up epoch, counts the real and the padded token
positions of the training batches (their ratio is what bucketing by length saves), reads
the peak resident memory after the first and after the last epoch (training must not
grow it), and writes the batches of one epoch to OUT.npz: ner_keras_worker.py trains
Keras on exactly those batches.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from examples import check_params, example_of  # noqa: E402
from model.core.params import SEED  # noqa: E402
from model.core.session_config import session_config  # noqa: E402
from model.core.tf_compat import tf  # noqa: E402
from model.training import train_sess  # noqa: E402
from model.utils import Params  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--data_dir', required=True, help="A built NER data set with its vocabulary")
parser.add_argument('--params', required=True, help="The params.json of the model")
parser.add_argument('--rounds', type=int, default=3, help="Timed epochs, after a warm-up epoch")
parser.add_argument('--batches', required=True, help="Where to write one epoch's batches (.npz)")

FEATURES = ('sentence', 'chars', 'casing', 'sentence_lengths', 'labels')


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux gives kilobytes


def one_epoch_of_batches(sess, spec):
    """The training batches of one epoch, and their real and padded token positions."""
    sess.run(spec['iterator_init_op'])
    batches, real, padded = [], 0, 0
    while True:
        try:
            batch = sess.run({name: spec[name] for name in FEATURES})
        except tf.errors.OutOfRangeError:
            return batches, real, padded
        batches.append(batch)
        real += int(batch['sentence_lengths'].sum())
        padded += batch['sentence'].size


def main(args):
    params = Params(args.params)
    check_params(params)
    example = example_of(params)
    train_data, params.train_size = example.load_split(args.data_dir, 'train', params)
    params.train_steps = example.num_batches(train_data, params.train_size, params)
    with tf.Graph().as_default():
        tf.set_random_seed(SEED)
        spec = example.model_fn('train', example.input_fn(True, train_data, params), params)
        writer = tf.summary.FileWriter(os.path.join(os.path.dirname(args.batches), 'ner_summaries'))
        with tf.Session(config=session_config(params)) as sess:
            sess.run(spec['variable_init_op'])
            batches, real, padded = one_epoch_of_batches(sess, spec)
            times, peaks = [], []
            for epoch in range(args.rounds + 1):
                start = time.perf_counter()
                train_sess(sess, spec, params.train_steps, writer, params, epoch + 1)
                times.append(time.perf_counter() - start)
                peaks.append(peak_mb())
    np.savez(args.batches, **{'{}_{}'.format(name, i): batch[name]
                              for i, batch in enumerate(batches) for name in FEATURES})
    print(json.dumps({'ours_train': times[1:], 'warmup': times[0], 'num_batches': len(batches),
                      'real_tokens': real, 'padded_positions': padded, 'train_size': params.train_size,
                      'peak_mb_first_epoch': peaks[0], 'peak_mb_last_epoch': peaks[-1],
                      'model_version': params.model_version, 'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS')}))


if __name__ == '__main__':
    main(parser.parse_args())
