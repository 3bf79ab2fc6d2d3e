"""How fast is the template? One run, one machine, one data set; ratios at the end.

    python benchmarks/bench.py            # about 2 to 3 minutes on 2 idle cores
    python benchmarks/bench.py --quick    # about a minute: smaller set, fewer epochs (a smoke test only)
    python benchmarks/bench.py --ner_only # part 6 alone; --scale_only: part 7 alone

What it measures (see benchmarks/README.md for the figures and what limits them):
1. keras_ratio: seconds per training epoch of our train_sess on the base model, over the
   same architecture trained by Keras 3 model.fit on the same tf.data pipeline (medians
   after a warm-up epoch; graph_worker.py and keras_worker.py, one process each).
2. pipeline_overhead: our epoch time over that of the same graph fed from batches already
   in memory; the larger of the training and the evaluation ratio.
3. peak_fraction: FLOPs of a training step (TensorFlow's graph profiler) per second of our
   training, over the best float32 matrix product TensorFlow runs on the same cores.
4. build_speedup: build_dataset.py on large photos against a one-process PIL loop
   (jpeg_worker.py).
5. first_step_s, train_wall_s, train_peak_mb: `python train.py` on the base model, as a
   user runs it in a terminal: from launch to the end of the first training step (seen as
   the progress bar's first loss), to exit, and the peak resident memory of the process.
6. The NER example's base model on the synthetic NER set (ner_worker.py, ner_keras_worker.py):
   ner_keras_ratio, seconds per training epoch of ours over Keras 3 model.fit of the same
   network on the same batches, both tracking the training loss and accuracy (medians of the
   epochs of two processes each, run by turns);
   ner_tokens_per_s, real tokens trained per second;
   ner_padding_fraction, the share of padded positions in the training batches (bucketing
   by length is what keeps it low); ner_memory_growth_mb, peak memory after the last
   timed epoch minus after the first (training must not grow it).
7. scale_time_per_image_10x, scale_time_per_image_50x, scale_peak_mb_50x: the training set
   (and dev set) with every image 10 and 50 times (hard links), one epoch each as train.py
   runs it (scale_worker.py): seconds per training image over those of the set itself, and
   the peak resident memory at 50x. The set itself also runs a few epochs with its images
   cached and a few read from the files: the memory after the first epoch and after the last.

Every worker runs in its own process, started from here; this script imports no TensorFlow.
"""
import argparse
import json
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASE_PARAMS = os.path.join(ROOT, 'experiments', 'base_model', 'params.json')
FIGURES = ('keras_ratio', 'pipeline_overhead', 'peak_fraction', 'build_speedup',
           'first_step_s', 'train_wall_s', 'train_peak_mb',
           'ner_keras_ratio', 'ner_tokens_per_s', 'ner_padding_fraction', 'ner_memory_growth_mb')
BASE_NER_PARAMS = os.path.join(ROOT, 'experiments', 'ner', 'base_model', 'params.json')
SCALE_FIGURES = ('scale_time_per_image_10x', 'scale_time_per_image_50x', 'scale_peak_mb_50x')

parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
parser.add_argument('--quick', action='store_true',
                    help="A smaller data set, fewer epochs and photos: checks that everything runs")
parser.add_argument('--work_dir', default=None,
                    help="Keep data, photos and the trained model here (default: a temporary folder, deleted)")
parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help="Change a param of the base model for the epoch timings, e.g. --set xla_jit=true")
parser.add_argument('--scale_only', action='store_true',
                    help="Only the scaling run (part 7): about 5 minutes on 2 cores, 20 s with --quick")
parser.add_argument('--ner_only', action='store_true',
                    help="Only the NER example (part 6): about two minutes on 2 cores")


def sizes(quick):
    """What each part runs on: the SIGNS size, or a smaller one with --quick."""
    if quick:
        return dict(num_train=300, num_test=40, rounds=2, photos=8, photo_side=1500, epochs=1,
                    ner_sizes=(600, 100, 100), ner_rounds=1, ner_passes=1)
    # 300 photos: enough that the process pool's start-up is small next to the work, as with
    # the course's 1200 (generating that many 3000x3000 photos would take longer than the rest).
    return dict(num_train=1080, num_test=120, rounds=5, photos=300, photo_side=3000, epochs=None,
                ner_sizes=None, ner_rounds=3, ner_passes=2)


def run_worker(script, *args, env=None):
    """Run benchmarks/<script> in a fresh Python and return the JSON of its last output line."""
    command = [sys.executable, os.path.join(HERE, script), *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit("{} failed (exit {}):\n{}".format(script, result.returncode, result.stderr[-3000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def build_data(work_dir, num_train, num_test):
    """A synthetic SIGNS-like raw set, built into 64x64 splits by build_dataset.py (as --synthetic does)."""
    sys.path.insert(0, ROOT)
    from vision.synthetic_signs import write_synthetic_signs
    raw = os.path.join(work_dir, 'raw_{}'.format(num_train))
    data = os.path.join(work_dir, 'data_{}'.format(num_train))
    if not os.path.isdir(os.path.join(data, 'train_signs')):
        shutil.rmtree(raw, ignore_errors=True)
        write_synthetic_signs(raw, num_train=num_train, num_test=num_test)
        subprocess.run([sys.executable, 'build_dataset.py', '--data_dir', raw, '--output_dir', data],
                       cwd=ROOT, check=True, capture_output=True)
    return data


def build_ner_data(work_dir, sizes):
    """The synthetic NER set (smaller with --quick) and its vocabulary, as run.sh ner builds them."""
    sys.path.insert(0, ROOT)
    import build_ner_dataset
    import build_vocab
    data = os.path.join(work_dir, 'ner_{}'.format(sizes[0] if sizes else 'default'))
    if not os.path.isfile(os.path.join(data, 'dataset_params.json')):
        shutil.rmtree(data, ignore_errors=True)
        build_ner_dataset.build(data, synthetic=True, synthetic_sizes=sizes)
        build_vocab.build_vocab(data)
    return data


def keras_env(onednn):
    """Our environment without TF_USE_LEGACY_KERAS (it would make tf.keras Keras 2), oneDNN as given.

    onednn: the TF_ENABLE_ONEDNN_OPTS our own process ran with (model/core/tf_compat.py sets it),
    so that both sides use the same kernels; None leaves TensorFlow's default, as a Keras
    user gets it out of the box.
    """
    env = dict(os.environ)
    env.pop('TF_USE_LEGACY_KERAS', None)
    if onednn is not None:
        env['TF_ENABLE_ONEDNN_OPTS'] = onednn
    return env


def write_params(path, changes, num_epochs=None):
    """The base model's params.json with `changes` (--set) and, if given, num_epochs; returns the path."""
    with open(BASE_PARAMS) as f:
        params = json.load(f)
    params.update(changes)
    if num_epochs:
        params['num_epochs'] = num_epochs
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(params, f, indent=4)
    return path


def parse_changes(settings):
    """--set key=value (value in JSON: true, 0, 0.5) -> {key: value}."""
    changes = {}
    for setting in settings:
        key, _, value = setting.partition('=')
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            sys.exit("--set {}: the value must be JSON (true, 2, 0.5, \"text\")".format(setting))
    return changes


def train_script(data_dir, model_dir):
    """`python train.py` on the base model in a pseudo-terminal: (first_step_s, wall_s, peak_mb).

    In a terminal the progress bar is on; its first `loss=` is printed when the first
    training step has run, so nothing is added to train.py to see it. The peak memory is
    the child's maximum resident set size, from wait4 (this process's other children do
    not count).
    """
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    # A terminal of 24 x 100 characters: with no size at all, tqdm draws nothing.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, 'train.py', '--model_dir', model_dir, '--data_dir', data_dir],
                               cwd=ROOT, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    output, first_step = b'', None
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal: it has exited
            break
        if not chunk:
            break
        output += chunk
        if first_step is None and b'loss=' in output:
            first_step = time.perf_counter() - start
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    os.close(master)
    if process.returncode != 0 or first_step is None:
        sys.exit("train.py failed (exit {}):\n{}".format(
            process.returncode, output.decode(errors='replace')[-3000:]))
    return first_step, wall, usage.ru_maxrss / 1024  # Linux gives kilobytes


def machine():
    """nproc, CPU model and the load, for the record."""
    model = platform.processor() or '?'
    try:
        with open('/proc/cpuinfo') as f:
            model = re.search(r'model name\s*:\s*(.*)', f.read()).group(1)
    except (OSError, AttributeError):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return {'nproc': nproc, 'cpu': model, 'python': platform.python_version()}


def load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float('nan')


def main(args):
    size = sizes(args.quick)
    own_dir = args.work_dir is None
    work_dir = tempfile.mkdtemp(prefix='bench-') if own_dir else os.path.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    print("Machine: {nproc} cores, {cpu}, Python {python}".format(**machine()))
    print("Load average (1 min) at start: {:.2f}".format(load()))
    try:
        if args.ner_only:
            results = measure_ner(work_dir, size, args.quick)
        elif not args.scale_only:
            results = measure(work_dir, size, parse_changes(args.set), args.quick)
        scale_results = None if args.ner_only else measure_scaling(work_dir, size, parse_changes(args.set), args.quick)
    finally:
        if own_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    if args.ner_only:
        figures = report_ner(results)
    else:
        figures = {} if args.scale_only else report(results, args.set)
        figures.update(report_scaling(scale_results))
    print("Load average (1 min) at end: {:.2f}".format(load()))
    print()
    for name in FIGURES + SCALE_FIGURES:
        if name in figures:
            print("{}: {:.3f}".format(name, figures[name]))


def measure(work_dir, size, changes, quick):
    """Run every part, one process each, in this order; returns what each measured."""
    data_dir = build_data(work_dir, size['num_train'], size['num_test'])
    params_path = write_params(os.path.join(work_dir, 'params.json'), changes)
    results = {}
    results['graph'] = run_worker('graph_worker.py', '--data_dir', data_dir, '--params', params_path,
                                  '--rounds', str(size['rounds']))
    print("TensorFlow {}".format(results['graph']['tf_version']))
    keras_args = ('--data_dir', data_dir, '--params', params_path, '--epochs', str(size['rounds'] + 1))
    results['keras'], results['keras_default'] = run_keras('keras_worker.py', keras_args, results['graph'], quick)
    results['jpeg'] = run_worker('jpeg_worker.py', '--work_dir', work_dir, '--num_images', str(size['photos']),
                                 '--side', str(size['photo_side']))
    model_dir = os.path.join(work_dir, 'train_{}'.format(int(time.time())))
    with open(write_params(os.path.join(model_dir, 'params.json'), changes, size['epochs'])) as f:
        results['num_epochs'] = json.load(f)['num_epochs']
    results['first_step_s'], results['train_wall_s'], results['train_peak_mb'] = train_script(data_dir, model_dir)
    results.update(measure_ner(work_dir, size, quick))
    return results


def measure_ner(work_dir, size, quick):
    """Part 6: our NER training epochs, then Keras's on the batches ours made (also out of the box), then
    ours and Keras again as often as size['ner_passes'] says: on a shared machine, a change of load
    between two processes then falls on both sides. Every side's epoch times are pooled."""
    ner_data = build_ner_data(work_dir, size['ner_sizes'])
    batches = os.path.join(work_dir, 'ner_batches.npz')
    ours_args = ('--data_dir', ner_data, '--params', BASE_NER_PARAMS, '--rounds', str(size['ner_rounds']),
                 '--batches', batches)
    keras_args = ('--batches', batches, '--params', BASE_NER_PARAMS, '--vocab', ner_data,
                  '--epochs', str(size['ner_rounds'] + 1))
    ours = [run_worker('ner_worker.py', *ours_args)]
    first_keras, keras_default = run_keras('ner_keras_worker.py', keras_args, ours[0], quick)
    keras = [first_keras]
    for _ in range(size['ner_passes'] - 1):
        ours.append(run_worker('ner_worker.py', *ours_args))
        keras.append(run_worker('ner_keras_worker.py', *keras_args, env=keras_env(ours[-1]['onednn'])))
    return {'ner': pooled(ours, 'ours_train'), 'ner_keras': pooled(keras, 'keras_train'),
            'ner_keras_default': keras_default}


def pooled(runs, times):
    """The first of a worker's results `runs`, with the epoch times (key `times`) of all of them."""
    return dict(runs[0], **{times: [time for run in runs for time in run[times]]})


def run_keras(worker, args, ours, quick):
    """The Keras worker with the oneDNN setting of our worker's results `ours`, then (None with --quick, or
    when the shell sets TF_ENABLE_ONEDNN_OPTS) with TensorFlow's default setting, as a Keras user gets it."""
    same = run_worker(worker, *args, env=keras_env(ours['onednn']))
    if quick or 'TF_ENABLE_ONEDNN_OPTS' in os.environ:
        return same, None
    return same, run_worker(worker, *args, env=keras_env(None))


def report(results, settings):
    """Print what was measured, part by part; returns {figure name: value}."""
    graph, keras, jpeg = results['graph'], results['keras'], results['jpeg']
    median = {key: statistics.median(graph[key]) for key in
              ('ours_train', 'memory_train', 'ours_eval', 'memory_eval')}
    keras_epoch = statistics.median(keras['keras_train'])
    achieved = graph['flops_per_step'] / graph['batch_size'] * graph['train_size'] / median['ours_train'] / 1e9
    train_overhead = median['ours_train'] / median['memory_train']
    eval_overhead = median['ours_eval'] / median['memory_eval']

    print()
    print("Training set: {} images of 64x64, batch {}; eval set: {} images; base model{}".format(
        graph['train_size'], graph['batch_size'], graph['eval_size'], ' with ' + ', '.join(settings) if settings else ''))
    print("1. Epoch time (median of {}, after a warm-up epoch): ours {:.2f} s, Keras {} model.fit {:.2f} s "
          "(jit_compile {}; both with TF_ENABLE_ONEDNN_OPTS={})".format(
              len(graph['ours_train']), median['ours_train'], keras['keras_version'], keras_epoch,
              keras['jit_compile'], graph['onednn']))
    print("   (every epoch, s) ours: {}; Keras: {}".format(fmt(graph['ours_train']), fmt(keras['keras_train'])))
    print_out_of_the_box(results['keras_default'], median['ours_train'])
    print("2. Input pipeline: train epoch {:.2f} s vs {:.2f} s from memory ({:.3f}); "
          "eval {:.3f} s vs {:.3f} s ({:.3f})".format(median['ours_train'], median['memory_train'], train_overhead,
                                                     median['ours_eval'], median['memory_eval'], eval_overhead))
    print("3. {:.2f} GFLOP per training step (batch {}): achieved {:.1f} GFLOP/s, peak (float32 matmul {}) "
          "{:.1f} GFLOP/s".format(graph['flops_per_step'] / 1e9, graph['batch_size'], achieved,
                                  graph['matmul_size'], graph['peak_gflops']))
    print("4. {} photos of {}x{} ({:.1f} MB each) to 64x64: one-process PIL loop {:.2f} s, "
          "build_dataset ({} jobs) {:.2f} s".format(jpeg['num_images'], jpeg['side'], jpeg['side'],
                                                    jpeg['mb_per_photo'], jpeg['loop_s'], jpeg['jobs'],
                                                    jpeg['build_s']))
    print("5. python train.py ({} epochs): first training step after {:.1f} s, exit after {:.1f} s, "
          "peak RSS {:.0f} MB".format(results['num_epochs'], results['first_step_s'], results['train_wall_s'],
                                      results['train_peak_mb']))
    figures = report_ner(results)
    figures.update({
        'keras_ratio': median['ours_train'] / keras_epoch,
        'pipeline_overhead': max(train_overhead, eval_overhead),
        'peak_fraction': achieved / graph['peak_gflops'],
        'build_speedup': jpeg['loop_s'] / jpeg['build_s'],
        'first_step_s': results['first_step_s'],
        'train_wall_s': results['train_wall_s'],
        'train_peak_mb': results['train_peak_mb'],
    })
    return figures


def report_ner(results):
    """Print part 6; returns its figures."""
    ner, ner_keras = results['ner'], results['ner_keras']
    ner_epoch, ner_keras_epoch = statistics.median(ner['ours_train']), statistics.median(ner_keras['keras_train'])
    print("6. NER ({}, {} sentences, {} batches): epoch {:.2f} s, Keras {} model.fit of the same network on the "
          "same batches {:.2f} s; {:.0f} real tokens of {} padded positions; peak memory {:.0f} MB after the "
          "first epoch, {:.0f} MB after the last".format(
              ner['model_version'], ner['train_size'], ner['num_batches'], ner_epoch, ner_keras['keras_version'],
              ner_keras_epoch, ner['real_tokens'], ner['padded_positions'], ner['peak_mb_first_epoch'],
              ner['peak_mb_last_epoch']))
    print("   (every epoch, s) ours: {}; Keras: {}".format(fmt(ner['ours_train']), fmt(ner_keras['keras_train'])))
    print_out_of_the_box(results['ner_keras_default'], ner_epoch)
    return {
        'ner_keras_ratio': ner_epoch / ner_keras_epoch,
        'ner_tokens_per_s': ner['real_tokens'] / ner_epoch,
        'ner_padding_fraction': 1 - ner['real_tokens'] / ner['padded_positions'],
        'ner_memory_growth_mb': ner['peak_mb_last_epoch'] - ner['peak_mb_first_epoch'],
    }


# --- 7. Scaling: the same set 1, 10 and 50 times over -----------------------------------------------

SCALE_FACTORS = (1, 10, 50)


def scale_sizes(quick):
    """How many of the built set's train and dev images make the set of 1x (None: all); epochs of the memory runs."""
    if quick:
        return dict(train=32, dev=8, memory_epochs=2)
    return dict(train=None, dev=None, memory_epochs=5)


def link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:  # no hard links on this file system (or across devices)
        shutil.copyfile(source, target)


def multiplied_set(data_dir, work_dir, factor, scale):
    """data_dir's train and dev splits with each of their images `factor` times, under new names."""
    target_dir = os.path.join(work_dir, 'scale_{}x'.format(factor))
    shutil.rmtree(target_dir, ignore_errors=True)
    for split, count in (('train_signs', scale['train']), ('dev_signs', scale['dev'])):
        source = os.path.join(data_dir, split)
        names = sorted(name for name in os.listdir(source) if not name.startswith('.'))[:count]
        os.makedirs(os.path.join(target_dir, split))
        for copy in range(factor):
            for name in names:
                stem, extension = os.path.splitext(name)  # the label stays the name's first character
                link_or_copy(os.path.join(source, name),
                             os.path.join(target_dir, split, '{}_x{}{}'.format(stem, copy, extension)))
    return target_dir


def measure_scaling(work_dir, size, changes, quick):
    """The scaling runs, one process each: {'1x', '10x', '50x', 'streamed_1x'}: what scale_worker.py measured.

    The set of 1x runs several epochs twice, with the images cached (or not, as the budget
    decides) and read from the files (cache_images false); its first epoch is the time of 1x.
    """
    scale = scale_sizes(quick)
    data_dir = build_data(work_dir, size['num_train'], size['num_test'])
    params_path = write_params(os.path.join(work_dir, 'scale', 'params.json'), changes)
    streamed_path = write_params(os.path.join(work_dir, 'scale_streamed', 'params.json'),
                                 dict(changes, cache_images=False))
    results = {}
    for factor in SCALE_FACTORS:
        scaled_dir = multiplied_set(data_dir, work_dir, factor, scale)
        epochs = scale['memory_epochs'] if factor == 1 else 1
        results['{}x'.format(factor)] = run_worker('scale_worker.py', '--data_dir', scaled_dir,
                                                   '--params', params_path, '--epochs', str(epochs))
        if factor == 1:
            results['streamed_1x'] = run_worker('scale_worker.py', '--data_dir', scaled_dir,
                                                '--params', streamed_path, '--epochs', str(epochs))
        shutil.rmtree(scaled_dir)
    return results


def report_scaling(results):
    """Print the scaling runs; returns {figure name: value} of SCALE_FIGURES."""
    def cpu_per_image(run):
        return statistics.median(epoch['train_cpu_s'] for epoch in run['epochs']) / run['train_size']

    def per_image(run):
        """Seconds per training image: of the one epoch of 10x and 50x; of the median epoch of 1x.

        One epoch of 1x takes seconds, and a busy moment of a shared machine doubles it: the
        median of its epochs is steadier. Those epochs but the first read the images from
        memory, which makes 1x a little faster and the ratios a little higher: not in our favour.
        """
        return statistics.median(epoch['train_s'] for epoch in run['epochs']) / run['train_size']

    print()
    print("7. Scaling: one epoch of training (then one of dev evaluation) as train.py runs it, on the set "
          "itself, 10 and 50 times over")
    for name in ('{}x'.format(factor) for factor in SCALE_FACTORS):
        run = results[name]
        first = run['epochs'][0]
        print("   {}: {} training images, {:.2f} ms per image ({:.3f} of 1x; CPU time {:.2f} ms, {:.3f} of 1x); "
              "first epoch {:.1f} s, dev {:.1f} s; graph built in {:.1f} s; peak RSS {:.0f} MB (cache budget {:.0f} MB)"
              .format(name, run['train_size'], 1000 * per_image(run), per_image(run) / per_image(results['1x']),
                      1000 * cpu_per_image(run), cpu_per_image(run) / cpu_per_image(results['1x']),
                      first['train_s'], first['eval_s'], run['graph_s'], first['peak_mb'], run['budget_mb']))
        for line in run['choices']:
            print("      " + line)
    for name, label in (('1x', 'cached as the budget decides'), ('streamed_1x', 'read from the files')):
        epochs = results[name]['epochs']
        print("   Memory over {} epochs of 1x, {}: peak RSS after epoch 1 {:.0f} MB, after epoch {} {:.0f} MB "
              "({:+.0f}); resident {} MB (each epoch's end); training epochs {} s".format(
                  len(epochs), label, epochs[0]['peak_mb'], len(epochs), epochs[-1]['peak_mb'],
                  epochs[-1]['peak_mb'] - epochs[0]['peak_mb'],
                  ' '.join('{:.0f}'.format(epoch['current_mb']) for epoch in epochs if epoch['current_mb']),
                  fmt([epoch['train_s'] for epoch in epochs])))
    return {
        'scale_time_per_image_10x': per_image(results['10x']) / per_image(results['1x']),
        'scale_time_per_image_50x': per_image(results['50x']) / per_image(results['1x']),
        'scale_peak_mb_50x': results['50x']['epochs'][0]['peak_mb'],
    }


def print_out_of_the_box(keras_default, our_epoch):
    """The line of Keras with TensorFlow's default oneDNN setting (run_keras), if it ran."""
    if keras_default is None:
        return
    default_epoch = statistics.median(keras_default['keras_train'])
    print("   Keras out of the box (TensorFlow's default oneDNN setting): {:.2f} s ({}), ours/that {:.3f}".format(
        default_epoch, fmt(keras_default['keras_train']), our_epoch / default_epoch))


def fmt(values):
    return ' '.join('{:.2f}'.format(v) for v in values)


if __name__ == '__main__':
    main(parser.parse_args())
