"""Fault injection: signals, kills, corrupt checkpoints and metrics, bad and hostile input.

Every test here breaks something for real (a signal sent to a real train.py process,
a truncated file, a garbled state file) and checks what is left on disk and what the
user is told. The subprocess tests are marked slow.
"""
import json
import logging
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import evaluate
import train
from helpers import ROOT, copy_of, read_json, run, script_args, write_params
from model.core.checkpoints import checkpoint_problem, find_checkpoint, has_weights
from model.core.errors import HANDLER_TAG, InputError, run_script
from model.core.interrupts import Interrupted, SignalGuard
from model.core.tf_compat import tf
from model.input_fn import input_fn
from model.training import TrainingDiverged
from vision.image_check import find_bad_image
from vision.image_files import list_images

# 96 training images in batches of 16 (conftest's data_dir and TINY params).
STEPS_PER_EPOCH = 6


def listing(folder):
    return sorted(os.listdir(folder))


def contents(folder):
    """{relative path: bytes} of every file under folder."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


def weights_and_metrics(model_dir):
    """{relative path: bytes} of the checkpoints and metrics files: what no failure may change."""
    return {name: data for name, data in contents(model_dir).items()
            if name.startswith(('last_weights', 'best_weights', 'metrics_'))}


def truncate(path, fraction=0.5):
    with open(path, 'r+b') as f:
        f.truncate(int(os.path.getsize(path) * fraction))


# ---------------------------------------------------------------------------------------------
# Signals: the guard itself, with real signals sent to this process (no TensorFlow involved)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_signal_raises_interrupted_outside_saving_and_waits_inside(signum):
    previous = signal.getsignal(signum)
    with SignalGuard():
        with pytest.raises(Interrupted) as raised:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler interrupts this at once
        assert raised.value.signum == signum and isinstance(raised.value, KeyboardInterrupt)

    with SignalGuard() as guard:
        steps = []
        with pytest.raises(Interrupted):
            with guard.deferred():
                os.kill(os.getpid(), signum)
                time.sleep(0.2)  # a signal arriving in the middle of saving...
                steps.append('saving finished')  # ...lets the saving finish
            steps.append('not reached')
        assert steps == ['saving finished']
    assert signal.getsignal(signum) == previous


# The guard in a process of its own (a second signal ends that process), stopping slowly after the first
# signal, as train.py would if closing its Session hung (a data pipeline stuck reading a network disk).
SLOW_TO_STOP = """
import sys, time
from model.core.interrupts import Interrupted, SignalGuard
with SignalGuard():
    try:
        print('training', flush=True)
        time.sleep(60)
    except Interrupted:
        print('stopping', flush=True)
        time.sleep(60)
        print('stopped slowly', flush=True)
"""


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_stopping_ends_the_process_at_once(signum):
    process = subprocess.Popen([sys.executable, '-c', SLOW_TO_STOP], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == 'training\n'
        process.send_signal(signum)
        assert process.stdout.readline() == 'stopping\n'
        sent = time.monotonic()
        process.send_signal(signum)
        status = process.wait(timeout=30)
        seconds = time.monotonic() - sent
    finally:
        process.kill()
    # Ended by the signal itself, the usual way (no handler, no traceback), without waiting for the stop.
    assert status == -signum and process.stdout.read() == ''
    assert seconds < 5


def test_guard_outside_the_main_thread_does_nothing():
    """Only the main thread may set signal handlers (signal.signal raises ValueError elsewhere)."""
    errors = []

    def use_guard():
        try:
            with SignalGuard() as guard, guard.deferred():
                pass
        except ValueError as e:
            errors.append(e)
    thread = threading.Thread(target=use_guard)
    thread.start()
    thread.join()
    assert errors == []


@pytest.mark.parametrize('raised, status, message', [
    (KeyboardInterrupt(), 130, 'Interrupted.'),
    (Interrupted(signal.SIGTERM, 3, 'Stopped by SIGTERM: ...'), 143, 'Stopped by SIGTERM: ...'),
    (InputError('params.json: bad'), 2, 'Error: params.json: bad'),
])
def test_scripts_end_with_one_message_and_the_conventional_status(raised, status, message, capsys):
    def main(args):
        raise raised
    # No run log set (as before set_logger): the message goes to stderr only.
    for handler in [h for h in logging.getLogger().handlers if getattr(h, HANDLER_TAG, False)]:
        logging.getLogger().removeHandler(handler)
        handler.close()
    with pytest.raises(SystemExit) as e:
        run_script(main, None)
    assert e.value.code == status
    assert capsys.readouterr().err == message + '\n'


@pytest.mark.parametrize('restore_from, data_dir, last_epoch, expected', [
    (None, None, 4,
     "Stopped by SIGINT: the last finished epoch is 4 (saved in {last_path}/after-epoch-4).\n"
     "Resume with: python train.py --model_dir {model} --restore_from {last}"),
    (None, 'my data', None,
     "Stopped by SIGINT before this run finished an epoch: nothing new was saved.\n"
     "Start again with: python train.py --model_dir {model} --data_dir 'my data'"),
    ('best_weights', None, None,
     "Stopped by SIGINT before this run finished an epoch: nothing new was saved.\n"
     "Start again with: python train.py --model_dir {model} --restore_from best_weights"),
])
def test_how_to_resume_gives_the_command_for_what_was_saved(restore_from, data_dir, last_epoch, expected):
    model_dir = os.path.join('experiments', "it's mine")
    args = script_args(model_dir, data_dir, restore_from)
    message = train.how_to_resume(args, Interrupted(signal.SIGINT, last_epoch))
    last_path = os.path.join(model_dir, 'last_weights')
    assert message == expected.format(model=shlex.quote(model_dir), last=shlex.quote(last_path), last_path=last_path)


# ---------------------------------------------------------------------------------------------
# Corrupt checkpoints: find_checkpoint falls back to the newest complete one, or says there is none
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def weights_dir(tmp_path):
    """tmp_path/model/last_weights with after-epoch-1, -2 and -3, saved as training saves them."""
    folder = str(tmp_path / 'model' / 'last_weights')
    os.makedirs(folder)
    with tf.Graph().as_default():
        weights = tf.get_variable('w', initializer=tf.zeros([64, 64]))
        saver = tf.train.Saver(max_to_keep=5, save_relative_paths=True)
        with tf.Session() as sess:
            for epoch in (1, 2, 3):
                sess.run(tf.assign(weights, tf.fill([64, 64], float(epoch))))
                saver.save(sess, os.path.join(folder, 'after-epoch'), global_step=epoch)
    return folder


def damage(folder, how):
    prefix = os.path.join(folder, 'after-epoch-3')
    if how == 'truncated .data':
        truncate(prefix + '.data-00000-of-00001')
    elif how == 'flipped byte in .data':
        with open(prefix + '.data-00000-of-00001', 'r+b') as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xff]))
    elif how == 'deleted .data':
        os.remove(prefix + '.data-00000-of-00001')
    elif how == 'deleted .index':
        os.remove(prefix + '.index')
    elif how == 'truncated .index':
        truncate(prefix + '.index')
    elif how == 'empty .index':
        truncate(prefix + '.index', 0)


@pytest.mark.parametrize('how', ['truncated .data', 'flipped byte in .data', 'deleted .data',
                                 'deleted .index', 'truncated .index', 'empty .index'])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(weights_dir, how, caplog):
    damage(weights_dir, how)
    model_dir = os.path.dirname(weights_dir)
    with caplog.at_level(logging.WARNING):
        checkpoint = find_checkpoint(weights_dir, model_dir)
    assert checkpoint == os.path.join(weights_dir, 'after-epoch-2')
    assert tf.train.load_variable(checkpoint, 'w')[0, 0] == 2.0
    assert 'after-epoch-3' in caplog.text and 'after-epoch-2' in caplog.text
    assert has_weights(model_dir)


@pytest.mark.parametrize('state', ['model_checkpoint_path: "after-ep', '', 'garbage \x00\xff', None])
def test_unreadable_checkpoint_state_file_uses_the_files_themselves(weights_dir, state, caplog):
    state_path = os.path.join(weights_dir, 'checkpoint')
    if state is None:
        os.remove(state_path)
    else:
        with open(state_path, 'w', encoding='utf-8', errors='surrogateescape') as f:
            f.write(state)
    model_dir = os.path.dirname(weights_dir)
    with caplog.at_level(logging.WARNING):
        assert find_checkpoint(weights_dir, model_dir) == os.path.join(weights_dir, 'after-epoch-3')
        assert has_weights(model_dir)  # so train.py still refuses to start over on top of them
    if state is not None:
        assert state_path in caplog.text
    damage(weights_dir, 'truncated .data')
    assert find_checkpoint(weights_dir, model_dir) == os.path.join(weights_dir, 'after-epoch-2')


def test_a_state_file_without_checkpoints_is_not_weights(weights_dir):
    for name in listing(weights_dir):
        if name != 'checkpoint':
            os.remove(os.path.join(weights_dir, name))
    model_dir = os.path.dirname(weights_dir)
    assert not has_weights(model_dir)  # train.py may start afresh: there is nothing to lose
    with pytest.raises(InputError, match='holds no checkpoint .*Train first, without --restore_from'):
        find_checkpoint(weights_dir, model_dir)


def test_no_usable_checkpoint_is_a_clear_error(weights_dir):
    for epoch in (1, 2, 3):
        truncate(os.path.join(weights_dir, 'after-epoch-{}.data-00000-of-00001'.format(epoch)))
    with pytest.raises(InputError) as e:
        find_checkpoint(weights_dir, os.path.dirname(weights_dir))
    message = str(e.value)
    assert '\n' not in message and 'no usable checkpoint' in message
    assert all('after-epoch-{}'.format(epoch) in message for epoch in (1, 2, 3))


def test_a_corrupt_checkpoint_named_explicitly_is_not_replaced_by_another(weights_dir):
    damage(weights_dir, 'truncated .data')
    prefix = os.path.join(weights_dir, 'after-epoch-3')
    assert checkpoint_problem(prefix) is not None
    assert checkpoint_problem(os.path.join(weights_dir, 'after-epoch-2')) is None
    with pytest.raises(InputError, match='after-epoch-3 .*(corrupt|incomplete)'):
        find_checkpoint(prefix, os.path.dirname(weights_dir))


# ---------------------------------------------------------------------------------------------
# Resuming after damage, through train.main in-process
# ---------------------------------------------------------------------------------------------

def test_resume_from_a_truncated_checkpoint_uses_the_last_complete_one(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    truncate(os.path.join(model_dir, 'last_weights', 'after-epoch-2.data-00000-of-00001'))
    # A save killed mid-way leaves TensorFlow's temporary files; resuming clears them.
    leftover = os.path.join(model_dir, 'last_weights', 'after-epoch-3.index.tempstate123456')
    open(leftover, 'wb').close()
    write_params(model_dir, num_epochs=3)
    train.main(script_args(model_dir, data_dir, 'last_weights'))

    log = open(os.path.join(model_dir, 'train.log')).read().split('Starting training')[-1]
    last = os.path.join(model_dir, 'last_weights')
    # The damaged checkpoint is named with what is wrong with it, and the one used instead.
    assert re.search(r'Skipped {}: incomplete or corrupt \(.+\); using {} instead\n'.format(
        re.escape(os.path.join(last, 'after-epoch-2')), re.escape(os.path.join(last, 'after-epoch-1'))), log), log
    assert 'Restoring parameters from {}'.format(os.path.join(last, 'after-epoch-1')) in log
    assert 'Epoch 2/3' in log and 'Epoch 3/3' in log and 'Epoch 1/3' not in log
    for epoch in (2, 3):
        checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-{}'.format(epoch))
        assert checkpoint_problem(checkpoint) is None
        assert tf.train.load_variable(checkpoint, 'global_step') == epoch * STEPS_PER_EPOCH
    assert not os.path.exists(leftover)


@pytest.mark.parametrize('damage_to_json', ['truncated', 'stale epoch'])
def test_unreadable_best_metrics_are_recomputed_from_the_best_weights(trained, data_dir, tmp_path, caplog,
                                                                     damage_to_json):
    model_dir = copy_of(trained, tmp_path)
    best_json = os.path.join(model_dir, 'metrics_eval_best_weights.json')
    original = read_json(best_json)
    epoch_2 = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    # The arrangement: the best is epoch 1, and epoch 2 was worse. Epoch 3 trains with a learning rate
    # too small to move a weight, so it keeps epoch 2's weights (batch norm's averages aside) and
    # cannot beat the best either: only the re-evaluated bar keeps the best weights of before.
    assert original['epoch'] == 1 and epoch_2['accuracy'] < original['accuracy'], (original, epoch_2)
    best_before = contents(os.path.join(model_dir, 'best_weights'))
    if damage_to_json == 'truncated':
        truncate(best_json)
    else:  # killed after saving the best weights, before writing their metrics
        with open(best_json, 'w') as f:
            json.dump({'accuracy': 0.0, 'loss': 9.9, 'epoch': original['epoch'] - 1}, f)
    write_params(model_dir, num_epochs=3, learning_rate=1e-30)
    with caplog.at_level(logging.INFO):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    warning = [r.getMessage() for r in caplog.records if 'metrics_eval_best_weights.json' in r.getMessage()]
    assert warning and best_json in warning[0]
    # The best weights were evaluated again, giving the accuracy they had when saved.
    recomputed = [r.getMessage() for r in caplog.records if 'Best weights re-evaluated' in r.getMessage()]
    assert 'after-epoch-{}'.format(original['epoch']) in recomputed[0]
    assert 'accuracy: {:05.3f}'.format(original['accuracy']) in recomputed[0]
    last = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    assert last['epoch'] == 3 and last['accuracy'] < original['accuracy'], last
    # So the better weights of before stay, with their metrics written anew.
    assert contents(os.path.join(model_dir, 'best_weights')) == best_before
    best = read_json(best_json)
    assert best == dict(original, accuracy=pytest.approx(original['accuracy']), loss=pytest.approx(original['loss']))


def test_missing_best_weights_mean_no_best_so_far(trained, data_dir, tmp_path, caplog):
    model_dir = copy_of(trained, tmp_path)
    shutil.rmtree(os.path.join(model_dir, 'best_weights'))
    write_params(model_dir, num_epochs=3)
    with caplog.at_level(logging.WARNING):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert 'best_weights' in caplog.text
    assert read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))['epoch'] == 3
    assert os.path.basename(find_checkpoint('best_weights', model_dir)) == 'after-epoch-3'


def test_params_changed_since_the_weights_were_saved_is_explained(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    before = weights_and_metrics(model_dir)
    write_params(model_dir, num_epochs=3, num_channels=8)
    checkpoint = os.path.join(model_dir, 'last_weights', 'after-epoch-2')
    pattern = ('{} does not fit the model that params.json describes \\(model/block_1/.* has shape \\[4\\] in the '
               'checkpoint but \\[8\\] here \\(and \\d+ more\\)\\): use the params.json'.format(re.escape(checkpoint)))
    with pytest.raises(InputError, match=pattern) as e:
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert '\n' not in str(e.value)
    with pytest.raises(InputError, match='does not fit the model that params.json describes'):
        evaluate.main(script_args(model_dir, data_dir, checkpoint))
    assert weights_and_metrics(model_dir) == before


def test_diverging_resumed_run_overwrites_nothing(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    before = weights_and_metrics(model_dir)
    write_params(model_dir, num_epochs=3, learning_rate=1e30, use_batch_norm=True)
    with pytest.raises(TrainingDiverged, match='at epoch 3, step'):
        train.main(script_args(model_dir, data_dir, 'last_weights'))
    assert weights_and_metrics(model_dir) == before


# ---------------------------------------------------------------------------------------------
# Bad input: params.json and data, in-process (cheap), nothing written
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, message', [
    ('{"learning_rate": 1e-3,\n  "batch_size": 32,,\n}', 'is not valid JSON: .* at line 2, column 20'),
    (None, "missing required key.*'num_epochs'"),
    ({'batch_size': '32'}, "'batch_size' must be an integer, got '32' \\(remove the quotes\\)"),
    ({'learning_rate': -0.1}, "'learning_rate' must be positive"),
    ({'image_size': 0}, "'image_size' must be positive"),
])
def test_bad_params_stop_train_before_writing_anything(data_dir, tmp_path, text, message):
    model_dir = str(tmp_path / 'model')
    json_path = write_params(model_dir)
    if isinstance(text, str):
        with open(json_path, 'w') as f:
            f.write(text)
    elif text is None:
        params = read_json(json_path)
        del params['num_epochs']
        with open(json_path, 'w') as f:
            json.dump(params, f)
    else:
        write_params(model_dir, **text)
    with pytest.raises(InputError, match=message) as e:
        train.main(script_args(model_dir, data_dir))
    assert json_path in str(e.value) and '\n' not in str(e.value)
    assert listing(model_dir) == ['params.json']


def with_extra_file(data_dir, tmp_path, split, name, data):
    """A copy of data_dir with one more file, `name` holding `data` (bytes), in `split`."""
    copy = shutil.copytree(data_dir, str(tmp_path / 'data'))
    with open(os.path.join(copy, split, name), 'wb') as f:
        f.write(data)
    return copy


def a_jpeg_cut_short(data_dir):
    path = os.path.join(data_dir, 'train_signs', listing(os.path.join(data_dir, 'train_signs'))[0])
    data = open(path, 'rb').read()
    return data[:len(data) // 3]


@pytest.mark.parametrize('split, name, bad', [
    ('train_signs', '2_IMG_notes.jpg', lambda data_dir: b'this is not a picture'),
    ('dev_signs', '4_IMG_cut.jpg', a_jpeg_cut_short),
])
def test_undecodable_image_at_train_time_is_named(data_dir, tmp_path, split, name, bad):
    bad_data = with_extra_file(data_dir, tmp_path, split, name, bad(data_dir))
    model_dir = str(tmp_path / 'model')
    write_params(model_dir)
    with pytest.raises(InputError) as e:
        train.main(script_args(model_dir, bad_data))
    message = str(e.value)
    assert os.path.join(bad_data, split, name) in message and 'build_dataset.py' in message
    assert '\n' not in message
    assert not has_weights(model_dir)


def test_bad_image_is_found_as_tensorflow_decodes_it(data_dir, tmp_path):
    """PIL reads TIFF and TensorFlow does not: the culprit is the file TensorFlow fails on."""
    filenames, _ = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    assert find_bad_image(filenames) is None
    tiff = str(tmp_path / '3_IMG_scan.jpg')
    Image.new('RGB', (64, 64), (10, 200, 30)).save(tiff, format='TIFF')
    Image.open(tiff).load()  # fine for PIL
    empty = str(tmp_path / '3_IMG_empty.jpg')
    open(empty, 'wb').close()
    assert find_bad_image(filenames[:5] + [tiff] + filenames[5:]) == (
        tiff, 'cannot be decoded as an image (Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, BMP, '
              'WebP required.)')
    assert find_bad_image([empty, tiff]) == (empty, 'is empty')
    assert find_bad_image([str(tmp_path / 'gone.jpg')])[1].startswith('cannot be read (No such file')


def test_undecodable_image_at_evaluation_is_named(trained, data_dir, tmp_path):
    bad_data = with_extra_file(data_dir, tmp_path, 'test_signs', '1_IMG_empty.jpg', b'')
    model_dir = copy_of(trained, tmp_path)
    with pytest.raises(InputError, match=re.escape(os.path.join(bad_data, 'test_signs', '1_IMG_empty.jpg'))):
        evaluate.main(script_args(model_dir, bad_data, 'best_weights'))
    assert not os.path.exists(os.path.join(model_dir, 'metrics_test_best_weights.json'))


@pytest.mark.parametrize('change, message', [
    ('no dev split', 'No folder .*dev_signs: build the dataset first'),
    ('empty train split', 'train_signs holds no images'),
    ('label out of range', '7_IMG_extra.jpg: the name must start with its label, a digit from 0 to 5'),
])
def test_missing_split_empty_split_and_bad_label_are_named(data_dir, tmp_path, change, message):
    bad_data = shutil.copytree(data_dir, str(tmp_path / 'data'))
    if change == 'no dev split':
        shutil.rmtree(os.path.join(bad_data, 'dev_signs'))
    elif change == 'empty train split':
        for name in listing(os.path.join(bad_data, 'train_signs')):
            os.remove(os.path.join(bad_data, 'train_signs', name))
    else:
        shutil.copy(os.path.join(bad_data, 'train_signs', listing(os.path.join(bad_data, 'train_signs'))[0]),
                    os.path.join(bad_data, 'train_signs', '7_IMG_extra.jpg'))
    model_dir = str(tmp_path / 'model')
    write_params(model_dir)
    with pytest.raises(InputError, match=message):
        train.main(script_args(model_dir, bad_data))
    assert listing(model_dir) == ['params.json', 'train.log']


def test_images_of_any_mode_in_the_built_dataset_decode_as_rgb(tmp_path, params):
    """Files copied straight into a split folder, without build_dataset.py: all become RGB in [0, 1]."""
    rng = np.random.default_rng(0)
    pixels = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
    rgb = Image.fromarray(pixels)
    folder = tmp_path / 'train_signs'
    folder.mkdir()
    rgb.convert('L').save(folder / '0_IMG_gray.jpg')
    rgb.convert('L').save(folder / '1_IMG_gray.png')
    rgb.convert('LA').save(folder / '2_IMG_gray_alpha.png')
    rgb.convert('RGBA').save(folder / '3_IMG_rgba.png')
    rgb.convert('P').save(folder / '4_IMG_palette.png')
    rgb.convert('CMYK').save(folder / '5_IMG_cmyk.jpg')
    rgb.convert('1').save(folder / '0_IMG_black_and_white.png')
    Image.fromarray((rng.random((40, 50)) * 65535).astype(np.uint16)).save(folder / '1_IMG_16bit.png')
    rgb.save(folder / '2_IMG_progressive.jpg', progressive=True)
    filenames, labels = list_images(str(folder), 6)
    params.batch_size = len(filenames)
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            images = sess.run(inputs['images'])
    assert images.shape == (9, params.image_size, params.image_size, 3)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert all(image.std() > 0.01 for image in images)  # real pictures, not blank fills


# ---------------------------------------------------------------------------------------------
# Huge images at build time: memory stays bounded
# ---------------------------------------------------------------------------------------------

def write_png_bomb(path, side):
    """A black-and-white PNG of side x side pixels, a few hundred kB on disk (rows of zeros compress well)."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    compressor = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte + one bit per pixel
    body = b''.join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack('>IIBBBBB', side, side, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', body) + chunk(b'IEND', b''))


# Peak memory from VmHWM: ru_maxrss would also count the parent's memory at fork (Linux keeps it across exec).
RESIZE_AND_REPORT_MEMORY = """
import re, sys, warnings
from build_dataset import resize_and_save
warnings.simplefilter('ignore')  # PIL's DecompressionBombWarning
error = resize_and_save(sys.argv[1], sys.argv[2], 64)
print(error or 'resized')
print(int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) // 1024)
"""


@pytest.mark.parametrize('kind, side, outcome', [
    ('jpeg', 8000, 'resized'),  # 64 M pixels: decoded at 1/8 scale (draft mode)
    ('png', 12000, 'skipped'),  # 144 M pixels, PNG cannot be decoded at a smaller scale
    ('png', 20000, 'skipped'),  # 400 M pixels: PIL's decompression bomb limit
])
@pytest.mark.skipif(not os.path.exists('/proc/self/status'), reason='reads peak memory from /proc (Linux)')
def test_huge_image_at_build_time_uses_bounded_memory(tmp_path, kind, side, outcome):
    path = str(tmp_path / ('0_IMG_huge.' + ('jpg' if kind == 'jpeg' else 'png')))
    if kind == 'jpeg':
        Image.new('L', (side, side), 90).save(path, quality=90)
    else:
        write_png_bomb(path, side)
    out = tmp_path / 'out'
    out.mkdir()
    result = subprocess.run([sys.executable, '-c', RESIZE_AND_REPORT_MEMORY, path, str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    message, peak_mb = result.stdout.splitlines()
    # Python with PIL alone is about 25 MB; a full decode of these images would be 190 MB or more.
    assert int(peak_mb) < 120, result.stdout
    if outcome == 'resized':
        assert message == 'resized' and Image.open(out / '0_IMG_huge.jpg').size == (64, 64)
    else:
        assert 'pixels' in message and listing(out) == []


# ---------------------------------------------------------------------------------------------
# Real train.py processes: SIGINT, SIGTERM, SIGKILL, NaN, and hostile paths
# ---------------------------------------------------------------------------------------------

def start(*args, output):
    """Start `python args...` from the repository root, its output going to the file `output`."""
    with open(output, 'w') as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def saved_epoch(model_dir):
    """The epoch named by last_weights/checkpoint (0 if none yet); the file is replaced atomically."""
    try:
        with open(os.path.join(model_dir, 'last_weights', 'checkpoint')) as f:
            return int(re.search(r'model_checkpoint_path: "after-epoch-(\d+)"', f.read()).group(1))
    except (FileNotFoundError, AttributeError):
        return 0


def wait_for_epoch(process, model_dir, epoch, timeout=120, poll=0.02):
    deadline = time.time() + timeout
    while saved_epoch(model_dir) < epoch:
        assert process.poll() is None, 'train.py ended before epoch {}'.format(epoch)
        assert time.time() < deadline, 'no epoch {} within {} s'.format(epoch, timeout)
        time.sleep(poll)


def stop(process, signum, timeout=60):
    """Send signum, wait for the process to end; returns (exit status, seconds it took)."""
    assert process.poll() is None, 'train.py had already ended'
    sent = time.time()
    process.send_signal(signum)
    status = process.wait(timeout=timeout)
    return status, time.time() - sent


def check_resumable(model_dir):
    """There is a whole checkpoint to resume from, with the global step of its epoch; returns that epoch."""
    last = find_checkpoint('last_weights', model_dir)
    epoch = int(last.rsplit('-', 1)[1])
    assert checkpoint_problem(last) is None
    assert tf.train.load_variable(last, 'global_step') == epoch * STEPS_PER_EPOCH
    return epoch


def check_consistent(model_dir, num_epochs=None):
    """Everything on disk is whole and agrees: checkpoints load, metrics files name their epoch."""
    epoch = check_resumable(model_dir)
    for folder in ('last_weights', 'best_weights'):
        for name in listing(os.path.join(model_dir, folder)):
            assert 'tempstate' not in name and '.tmp' not in name, name
            if name.endswith('.index'):
                assert checkpoint_problem(os.path.join(model_dir, folder, name[:-len('.index')])) is None
    best = find_checkpoint('best_weights', model_dir)
    best_metrics = read_json(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    last_metrics = read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))
    assert last_metrics['epoch'] == epoch
    assert best_metrics['epoch'] == int(best.rsplit('-', 1)[1])
    assert best_metrics['accuracy'] >= last_metrics['accuracy']
    if num_epochs is not None:
        assert epoch == num_epochs
    return epoch


def resume_command(output):
    """The command train.py printed after 'Resume with:', as the argv a shell would make of it."""
    line = [line for line in output.splitlines() if 'Resume with: ' in line][-1]
    command = line.split('Resume with: ', 1)[1]
    # Let a real shell parse it: wrong quoting would run the $(...) in the folder name.
    parsed = subprocess.run(['bash', '-c', 'printf "%s\\0" ' + command.split(' ', 1)[1]],
                            cwd=ROOT, capture_output=True, check=True).stdout
    assert command.startswith('python ')
    return parsed.decode().split('\0')[:-1]


HOSTILE_NAME = "run é; touch PWNED $(touch PWNED) `touch PWNED` 'q' \"dq\" & | > x"


@pytest.mark.slow
def test_sigint_then_sigterm_stop_cleanly_and_say_how_to_resume(data_dir, tmp_path):
    """Ctrl-C after an epoch, resume with the printed command, SIGTERM: nothing lost, exit 130 then 143."""
    data = shutil.copytree(data_dir, str(tmp_path / 'dätä dir'))
    model_dir = str(tmp_path / HOSTILE_NAME)
    write_params(model_dir, num_epochs=50)
    output = str(tmp_path / 'first.txt')
    process = start('train.py', '--model_dir', model_dir, '--data_dir', data, output=output)
    wait_for_epoch(process, model_dir, 1)  # signalled right as the epoch is being saved
    status, seconds = stop(process, signal.SIGINT)
    printed = open(output, encoding='utf-8').read()
    assert status == 130, printed
    assert 'Traceback' not in printed
    epoch = check_consistent(model_dir)
    assert epoch == 1  # the save under way finished; the next epoch, if begun, was dropped
    assert 'Stopped by SIGINT: the last finished epoch is {} '.format(epoch) in printed
    argv = resume_command(printed)
    assert argv == ['train.py', '--model_dir', model_dir, '--data_dir', data,
                    '--restore_from', os.path.join(model_dir, 'last_weights')]

    output = str(tmp_path / 'second.txt')
    process = start(*argv, output=output)
    wait_for_epoch(process, model_dir, epoch + 1)
    status, seconds_term = stop(process, signal.SIGTERM)
    printed = open(output, encoding='utf-8').read()
    assert status == 143, printed
    assert 'Traceback' not in printed
    resumed_epoch = check_consistent(model_dir)
    assert resumed_epoch == epoch + 1
    assert 'Stopped by SIGTERM: the last finished epoch is {} '.format(resumed_epoch) in printed
    log = open(os.path.join(model_dir, 'train.log'), encoding='utf-8').read().split('Restoring parameters from')[-1]
    assert 'Epoch {}/50'.format(epoch + 1) in log and 'Epoch {}/50'.format(epoch) not in log
    assert resume_command(printed) == argv
    print('stopped {:.1f} s after SIGINT, {:.1f} s after SIGTERM'.format(seconds, seconds_term))
    for folder in (ROOT, str(tmp_path), model_dir):
        assert 'PWNED' not in os.listdir(folder)


# train.py with a SIGKILL at one chosen point of saving an epoch (KILL_AT=point:epoch): the real
# functions run, and the process kills itself for real right there, as a power cut would.
KILLED_IN_THE_SAVE = """
import io, os, signal, sys
import model.utils
import model.training
from tensorflow.python.checkpoint import checkpoint_management
from model.core.errors import run_script

point, epoch = os.environ['KILL_AT'].split(':')

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

def text_of(write):
    buffer = io.StringIO()
    write(buffer)
    return buffer.getvalue()

if point == 'before the best metrics':  # the best weights saved, their metrics file not written yet
    save_dict_to_json = model.training.save_dict_to_json
    def saving(metrics, path):
        if path.endswith('metrics_eval_best_weights.json') and metrics['epoch'] == int(epoch):
            kill()
        save_dict_to_json(metrics, path)
    model.training.save_dict_to_json = saving
elif point == 'half-way through the last metrics':  # the new file half written, under its temporary name
    write_atomically = model.utils.write_atomically
    def writing(path, write, newline=None):
        text = text_of(write)
        if path.endswith('metrics_eval_last_weights.json') and '"epoch": ' + epoch in text:
            write = lambda f: (f.write(text[:len(text) // 2]), f.flush(), kill())
        write_atomically(path, write, newline)
    model.utils.write_atomically = writing
elif point == 'before the state file':  # the checkpoint's files written, the Saver's state file not updated
    update = checkpoint_management.update_checkpoint_state_internal
    def updating(save_dir, model_checkpoint_path, *args, **kwargs):
        if save_dir.endswith('last_weights') and model_checkpoint_path.endswith('after-epoch-' + epoch):
            kill()
        update(save_dir, model_checkpoint_path, *args, **kwargs)
    checkpoint_management.update_checkpoint_state_internal = updating
else:
    raise SystemExit('unknown KILL_AT ' + point)

import train
run_script(train.main, train.parser.parse_args())
"""


def killed_in_the_save(model_dir, data_dir, point, epoch, restore=True):
    """Run train.py until it kills itself at `point` of saving `epoch`; returns what it printed."""
    args = ['--model_dir', model_dir, '--data_dir', data_dir]
    if restore:
        args += ['--restore_from', os.path.join(model_dir, 'last_weights')]
    result = subprocess.run([sys.executable, '-c', KILLED_IN_THE_SAVE, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, KILL_AT='{}:{}'.format(point, epoch)))
    assert result.returncode == -signal.SIGKILL, result.stderr
    # Never half a file under its real name: every metrics file on disk is whole.
    for name in listing(model_dir):
        if name.startswith('metrics_'):
            read_json(os.path.join(model_dir, name))
    return result.stderr


def temporary_files(model_dir):
    """What a save cut short leaves: TensorFlow's and our metrics files' temporary names."""
    return sorted(os.path.relpath(os.path.join(root, name), model_dir) for root, _, names in os.walk(model_dir)
                  for name in names if name.startswith('.tmp') or 'tempstate' in name or '.tmp' in name)


@pytest.mark.slow
def test_a_signal_in_the_middle_of_an_epoch_stops_at_once_and_drops_that_epoch(data_dir, tmp_path):
    """SIGTERM a third into an epoch: stopped within a fraction of the epoch, that epoch not saved."""
    # Five copies of each training image, one per batch: 480 steps, an epoch several times longer than
    # it takes the process to stop.
    data = shutil.copytree(data_dir, str(tmp_path / 'data'))
    train_dir = os.path.join(data, 'train_signs')
    for name in listing(train_dir):
        for copy in range(1, 5):
            shutil.copyfile(os.path.join(train_dir, name),
                            os.path.join(train_dir, '{}_copy{}.jpg'.format(os.path.splitext(name)[0], copy)))
    steps_per_epoch = 5 * 96
    model_dir = str(tmp_path / 'long epochs')
    write_params(model_dir, num_epochs=50, batch_size=1)
    output = str(tmp_path / 'output.txt')
    process = start('train.py', '--model_dir', model_dir, '--data_dir', data, output=output)
    wait_for_epoch(process, model_dir, 1, timeout=300)
    saved_1 = time.monotonic()
    wait_for_epoch(process, model_dir, 2, timeout=300)
    epoch_seconds = time.monotonic() - saved_1
    time.sleep(epoch_seconds / 3)
    status, seconds = stop(process, signal.SIGTERM)
    printed = open(output, encoding='utf-8').read()
    assert status == 143 and 'Stopped by SIGTERM: the last finished epoch is 2 ' in printed, printed
    # Epoch 3 was being trained: dropped, not finished. Nothing of it is on disk.
    assert saved_epoch(model_dir) == 2
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 2
    last = find_checkpoint('last_weights', model_dir)
    assert last.endswith('after-epoch-2') and tf.train.load_variable(last, 'global_step') == 2 * steps_per_epoch
    # Finishing the epoch would take two thirds of one; stopping takes a step and the process's exit.
    assert seconds < epoch_seconds / 2, 'stopped {:.1f} s after SIGTERM; an epoch takes {:.1f} s'.format(
        seconds, epoch_seconds)
    print('stopped {:.1f} s after SIGTERM, a third into an epoch of {:.1f} s'.format(seconds, epoch_seconds))


@pytest.mark.slow
def test_sigkill_in_the_middle_of_saving_leaves_a_resumable_run(data_dir, tmp_path):
    """Killed at three points of saving an epoch, resumed each time: the run ends as if never killed."""
    model_dir = str(tmp_path / 'killed')
    write_params(model_dir, num_epochs=4)

    killed_in_the_save(model_dir, data_dir, 'before the best metrics', 1, restore=False)
    assert checkpoint_problem(os.path.join(model_dir, 'best_weights', 'after-epoch-1')) is None
    assert not os.path.exists(os.path.join(model_dir, 'metrics_eval_best_weights.json'))
    assert check_resumable(model_dir) == 1

    # Resuming evaluates the best weights again (their metrics are missing); then killed while writing
    # the metrics of epoch 2: half of them in the temporary file, the real one still about epoch 1.
    printed = killed_in_the_save(model_dir, data_dir, 'half-way through the last metrics', 2)
    assert 'Best weights re-evaluated (after-epoch-1)' in printed
    [leftover] = temporary_files(model_dir)
    with open(os.path.join(model_dir, leftover)) as f:
        assert f.read().startswith('{\n    "accuracy": ')
    assert read_json(os.path.join(model_dir, 'metrics_eval_last_weights.json'))['epoch'] == 1
    assert check_resumable(model_dir) == 2

    # Killed once the files of epoch 3's checkpoint are written, before the state file names it.
    killed_in_the_save(model_dir, data_dir, 'before the state file', 3)
    assert os.path.isfile(os.path.join(model_dir, 'last_weights', 'after-epoch-3.index'))
    assert saved_epoch(model_dir) == 2

    finished = run('train.py', '--model_dir', model_dir, '--data_dir', data_dir,
                   '--restore_from', os.path.join(model_dir, 'last_weights'))
    assert 'Restoring parameters from {}'.format(
        os.path.join(model_dir, 'last_weights', 'after-epoch-2')) in finished.stderr
    check_consistent(model_dir, 4)
    assert temporary_files(model_dir) == []  # the leftovers are removed on resume

    # The same weights and metrics as a run never killed.
    reference = str(tmp_path / 'never killed')
    write_params(reference, num_epochs=4)
    train.main(script_args(reference, data_dir))
    for name in ('metrics_eval_last_weights.json', 'metrics_eval_best_weights.json'):
        assert read_json(os.path.join(model_dir, name)) == read_json(os.path.join(reference, name)), name
    for folder in ('last_weights', 'best_weights'):
        assert listing(os.path.join(model_dir, folder)) == listing(os.path.join(reference, folder))
        for name in listing(os.path.join(model_dir, folder)):
            if name.endswith('.index'):
                ours, theirs = (tf.train.load_checkpoint(os.path.join(d, folder, name[:-len('.index')]))
                                for d in (model_dir, reference))
                for variable in theirs.get_variable_to_shape_map():
                    np.testing.assert_array_equal(ours.get_tensor(variable), theirs.get_tensor(variable),
                                                  err_msg=variable)


@pytest.mark.slow
def test_diverging_loss_exits_2_with_one_line(data_dir, tmp_path):
    model_dir = str(tmp_path / 'nan')
    write_params(model_dir, learning_rate=1e30, use_batch_norm=True, learnig_rate=0.1)  # see test_training's NaN test
    result = run('train.py', '--model_dir', model_dir, '--data_dir', data_dir, check=False)
    assert result.returncode == 2
    # The typo is warned once, and no line is printed twice (a second logging handler would).
    assert result.stderr.count("unknown key 'learnig_rate'") == 1
    assert result.stderr.count('Epoch 1/2') == 1
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('Error:')]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0])
    assert re.match(r'Error: The loss became nan at epoch 1, step \d+: .*learning_rate', errors[0])
    assert not has_weights(model_dir)


@pytest.mark.slow
def test_evaluate_without_weights_names_what_it_looked_for(data_dir, tmp_path):
    model_dir = str(tmp_path / 'untrained')
    write_params(model_dir)
    result = run('evaluate.py', '--model_dir', model_dir, '--data_dir', data_dir, check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith('Error:')]
    assert errors == ['Error: {} holds no checkpoint (no after-epoch-N.index): nothing was saved there yet (a run '
                      'stopped before the end of its first epoch saves nothing). Train first, without '
                      '--restore_from: python train.py --model_dir {}'.format(os.path.join(model_dir, 'best_weights'),
                                                                              model_dir)]
    assert result.stderr.rstrip().endswith(errors[0])


def test_evaluate_with_a_restore_from_that_does_not_exist(trained, data_dir, tmp_path):
    model_dir = copy_of(trained, tmp_path)
    missing = os.path.join(model_dir, 'last_weights', 'after-epoch-9')
    with pytest.raises(InputError, match='No weights found at {}'.format(re.escape(missing))):
        evaluate.main(script_args(model_dir, data_dir, missing))
    with pytest.raises(InputError, match='No weights found at {}:'.format(
            re.escape(os.path.join(model_dir, 'best_weight')))):
        evaluate.main(script_args(model_dir, data_dir, 'best_weight'))
    assert not [name for name in listing(model_dir) if name.startswith('metrics_test')]
