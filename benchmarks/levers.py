"""Measure one speed setting against the shipped defaults: epoch times of train_sess and evaluate_sess.

    python benchmarks/levers.py                          # every lever listed in LEVERS
    python benchmarks/levers.py onednn_off xla           # some of them
    python benchmarks/levers.py --set inter_op_threads=1 # any params change

Each setting runs graph_worker.py in a fresh process (thread pools and oneDNN are chosen
once per process), alternating with the defaults, `--repeats` times; the figures are the
medians of all the timed epochs. The machine must be otherwise idle for the numbers to
mean anything: the load average is printed with each run.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench import build_data, load, parse_changes, write_params  # noqa: E402

# name -> (params changes, environment changes)
LEVERS = {
    'defaults': ({}, {}),
    'no_cache': ({'cache_images': False}, {}),
    'onednn_off': ({}, {'TF_ENABLE_ONEDNN_OPTS': '0'}),
    'inter_op_1': ({'inter_op_threads': 1}, {}),
    'intra_op_1': ({'intra_op_threads': 1}, {}),
    'xla': ({'xla_jit': True}, {'TF_XLA_FLAGS': '--tf_xla_cpu_global_jit'}),
    'parallel_calls_2': ({'num_parallel_calls': 2}, {}),
    'summaries_every_10': ({'save_summary_steps': 10}, {}),
}

parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
parser.add_argument('levers', nargs='*', help="Names from LEVERS (default: all of them, unless --set)")
parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help="A params change to measure")
parser.add_argument('--rounds', type=int, default=3, help="Timed epochs per process, after a warm-up epoch")
parser.add_argument('--repeats', type=int, default=2, help="Processes per setting (and for the defaults)")
parser.add_argument('--work_dir', default=None, help="Where the data set is built (default: a temporary folder)")


def measure(name, changes, env_changes, data_dir, work_dir, rounds):
    params_path = write_params(os.path.join(work_dir, 'params_{}.json'.format(name)), changes)
    env = dict(os.environ, **env_changes)
    command = [sys.executable, os.path.join(HERE, 'graph_worker.py'), '--ours_only', '--data_dir', data_dir,
               '--params', params_path, '--rounds', str(rounds)]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit("{} failed:\n{}".format(name, result.stderr[-3000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(args):
    unknown = [name for name in args.levers if name not in LEVERS]
    if unknown:
        sys.exit("Unknown lever(s) {}: choose from {}".format(', '.join(unknown), ', '.join(LEVERS)))
    names = args.levers or ([] if args.set else list(LEVERS))
    levers = {name: LEVERS[name] for name in names}
    if args.set:
        levers[' '.join(args.set)] = (parse_changes(args.set), {})
    levers.setdefault('defaults', LEVERS['defaults'])
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='levers-')
    try:
        times = measure_all(levers, build_data(work_dir, 1080, 120), work_dir, args)
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    report(times)


def measure_all(levers, data_dir, work_dir, args):
    """{name: {'train': [epoch seconds], 'eval': [...]}}, the settings taking turns."""
    times = {name: {'train': [], 'eval': []} for name in levers}
    for _ in range(args.repeats):
        for name, (changes, env_changes) in levers.items():
            before = load()
            result = measure(name, changes, env_changes, data_dir, work_dir, args.rounds)
            times[name]['train'] += result['ours_train']
            times[name]['eval'] += result['ours_eval']
            print("{:<18} load {:.2f}  train epochs {}  eval {}".format(
                name, before, ' '.join('{:.2f}'.format(t) for t in result['ours_train']),
                ' '.join('{:.3f}'.format(t) for t in result['ours_eval'])), flush=True)
    return times


def report(times):
    print()
    base = statistics.median(times['defaults']['train'])
    base_eval = statistics.median(times['defaults']['eval'])
    print("{:<18} {:>8} {:>8} {:>8} {:>8}".format('setting', 'train s', 'vs dflt', 'eval s', 'vs dflt'))
    for name, measured in times.items():
        train, evaluation = statistics.median(measured['train']), statistics.median(measured['eval'])
        print("{:<18} {:>8.2f} {:>8.3f} {:>8.3f} {:>8.3f}".format(
            name, train, train / base, evaluation, evaluation / base_eval))


if __name__ == '__main__':
    main(parser.parse_args())
