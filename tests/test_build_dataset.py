"""build_dataset.py: splits, sizes, odd names, bad files, and never mixing into an existing dataset.

The HDF5 download is tests/test_signs_h5.py's, the --synthetic set tests/test_synthetic_signs.py's.
"""
import glob
import os
import re

import pytest
from PIL import Image

from build_dataset import SPLITS, build, split_train_dev
from helpers.images import make_raw
from model.core.errors import InputError


def listing(folder):
    return sorted(os.listdir(folder))


def test_split_sizes_and_64x64_output(raw_dir, data_dir):
    counts = {split: len(os.listdir(os.path.join(data_dir, split))) for split in SPLITS}
    assert counts == {'train_signs': 96, 'dev_signs': 24, 'test_signs': 30}
    train, dev = set(listing(os.path.join(data_dir, 'train_signs'))), set(listing(os.path.join(data_dir, 'dev_signs')))
    assert not train & dev
    assert train | dev == set(listing(os.path.join(raw_dir, 'train_signs')))
    assert listing(os.path.join(data_dir, 'test_signs')) == listing(os.path.join(raw_dir, 'test_signs'))
    with Image.open(os.path.join(data_dir, 'dev_signs', sorted(dev)[0])) as image:
        assert image.size == (64, 64) and image.mode == 'RGB' and image.format == 'JPEG'


def test_split_is_reproducible_and_independent_of_listing_order():
    names = ['{}_IMG_{}.jpg'.format(i % 6, i) for i in range(50)]
    assert split_train_dev(names) == split_train_dev(list(reversed(names)))
    train, dev = split_train_dev(names)
    assert len(train) == 40 and len(dev) == 10


def test_names_with_spaces_and_other_formats(tmp_path):
    raw = make_raw(str(tmp_path / 'raw dir é'), name='{label}_IMG {i} (copy).jpg')
    Image.new('L', (90, 90), 128).save(tmp_path / 'raw dir é' / 'train_signs' / '1_IMG_gray.png')
    Image.new('RGBA', (70, 90), (1, 2, 3, 0)).save(tmp_path / 'raw dir é' / 'train_signs' / '2_IMG_rgba.png')
    out = str(tmp_path / 'out put')
    counts = build(raw, out, jobs=1)
    assert counts['train_signs'] + counts['dev_signs'] == 22
    written = listing(os.path.join(out, 'train_signs')) + listing(os.path.join(out, 'dev_signs'))
    assert '3_IMG 3 (copy).jpg' in written and '1_IMG_gray.jpg' in written and '2_IMG_rgba.jpg' in written


def test_bad_files_are_skipped_and_named(tmp_path, caplog):
    raw = make_raw(str(tmp_path / 'raw'))
    train = tmp_path / 'raw' / 'train_signs'
    (train / '4_IMG_text.jpg').write_text('not a picture')
    good = (train / '0_IMG_0.jpg').read_bytes()
    (train / '5_IMG_truncated.jpg').write_bytes(good[:len(good) // 3])
    (train / 'notes.txt').write_text('hello')
    Image.new('RGB', (80, 80)).save(train / '8_IMG_label.jpg')
    Image.new('RGB', (80, 80)).save(train / 'x_IMG_label.jpg')
    with caplog.at_level('INFO'):
        counts = build(raw, str(tmp_path / 'out'), jobs=2)
    assert counts['train_signs'] + counts['dev_signs'] == 20
    for name in ('4_IMG_text.jpg', '5_IMG_truncated.jpg', 'notes.txt', '8_IMG_label.jpg', 'x_IMG_label.jpg'):
        assert name in caplog.text
    assert 'skipped 5 file(s)' in caplog.text


def test_missing_or_empty_input(tmp_path):
    with pytest.raises(InputError, match='No folder .*nowhere'):
        build(str(tmp_path / 'nowhere'), str(tmp_path / 'out'))
    (tmp_path / 'raw' / 'train_signs').mkdir(parents=True)
    (tmp_path / 'raw' / 'test_signs').mkdir()
    with pytest.raises(InputError, match='train_signs holds no usable images'):
        build(str(tmp_path / 'raw'), str(tmp_path / 'out'))
    Image.new('RGB', (80, 80)).save(tmp_path / 'raw' / 'train_signs' / '0_IMG_1.jpg')
    (tmp_path / 'raw' / 'test_signs').rmdir()
    with pytest.raises(InputError, match='No folder .*test_signs'):
        build(str(tmp_path / 'raw'), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


def test_existing_dataset_is_not_mixed_into(tmp_path):
    raw = make_raw(str(tmp_path / 'raw'))
    out = str(tmp_path / 'out')
    build(raw, out, jobs=1)
    before = {split: listing(os.path.join(out, split)) for split in SPLITS}
    make_raw(str(tmp_path / 'raw2'), train=10, test=3, name='{label}_IMG_new{i}.jpg')
    with pytest.raises(InputError, match='already holds a dataset.*--overwrite'):
        build(str(tmp_path / 'raw2'), out, jobs=1)
    assert {split: listing(os.path.join(out, split)) for split in SPLITS} == before
    # --overwrite replaces the whole dataset, leaving nothing of the old one and no temporary folder.
    build(str(tmp_path / 'raw2'), out, jobs=1, overwrite=True)
    assert all(name.startswith(tuple('012345')) and '_IMG_new' in name
               for split in SPLITS for name in listing(os.path.join(out, split)))
    assert listing(tmp_path) == ['out', 'raw', 'raw2']


@pytest.mark.parametrize('first, second', [
    ('0_IMG_x.jpg', '0_IMG_x.png'),  # same name but for the extension
    ('0_IMG_x.jpg', '0_IMG_x.jpeg'),
    ('0_IMG_x.jpg', '0_IMG_x.JPG'),  # one file on macOS and Windows
    ('0_IMG_x.png', '0_IMG_X.png'),
    ('0_IMG_caf\u00e9.jpg', '0_IMG_cafe\u0301.png'),  # é composed and decomposed
])
@pytest.mark.parametrize('split', ['train_signs', 'test_signs'])
def test_two_files_that_would_get_one_name_are_refused(tmp_path, first, second, split):
    raw = make_raw(str(tmp_path / 'raw'))
    for name in (first, second):
        Image.new('RGB', (80, 80), (10, 20, 30)).save(os.path.join(raw, split, name),
                                                     'PNG' if name.lower().endswith('png') else 'JPEG')
    with pytest.raises(InputError) as error:
        build(raw, str(tmp_path / 'out'), jobs=1)
    message = str(error.value)
    assert os.path.join(raw, split, first) in message and os.path.join(raw, split, second) in message
    assert 'rename or remove one of them' in message and '\n' not in message
    assert listing(tmp_path) == ['raw']  # nothing written, no temporary folder left


def test_the_same_name_in_train_and_test_is_not_a_collision(tmp_path):
    raw = make_raw(str(tmp_path / 'raw'), train=10, test=5)
    counts = build(raw, str(tmp_path / 'out'), jobs=1)
    written = [name for split in SPLITS for name in listing(tmp_path / 'out' / split)]
    assert sum(counts.values()) == len(written) == 15


def test_output_dir_that_is_the_data_dir_is_refused(tmp_path):
    raw = make_raw(str(tmp_path / 'raw'))
    before = {split: listing(os.path.join(raw, split)) for split in ('train_signs', 'test_signs')}
    for overwrite in (False, True):
        with pytest.raises(InputError, match='is the --data_dir: .*choose another --output_dir'):
            build(raw, os.path.join(raw, '.', ''), jobs=1, overwrite=overwrite)
    assert {split: listing(os.path.join(raw, split)) for split in ('train_signs', 'test_signs')} == before


@pytest.mark.parametrize('train, test', [(0, 3), (1, 3), (2, 3), (4, 3), (5, 1), (3, 0), (1, 0)])
def test_any_split_size_gives_a_dataset_or_one_clear_line(tmp_path, train, test):
    raw = make_raw(str(tmp_path / 'raw'), train=train, test=test)
    out = str(tmp_path / 'out')
    if train >= 2 and test >= 1:
        counts = build(raw, out, jobs=1)
        assert counts['train_signs'] >= 1 and counts['dev_signs'] >= 1 and counts['test_signs'] == test
        assert counts['train_signs'] + counts['dev_signs'] == train
        assert {split: len(listing(os.path.join(out, split))) for split in SPLITS} == counts
        return
    with pytest.raises(InputError) as error:
        build(raw, out, jobs=1)
    message = str(error.value)
    assert '\n' not in message and ('test_signs' if test == 0 else 'train_signs') in message
    assert 'add images' in message or 'holds no usable images' in message
    assert listing(tmp_path) == ['raw']


def test_a_split_whose_images_are_all_unreadable_is_named(tmp_path):
    raw = make_raw(str(tmp_path / 'raw'), train=4, test=1)
    (tmp_path / 'raw' / 'test_signs' / '0_IMG_0.jpg').write_text('not a picture')
    with pytest.raises(InputError, match=r'^None of the 1 image\(s\) for test_signs could be read \(first: .*0_IMG_0.jpg: '
                                         r'not an image PIL can read.*\): replace them, or add readable images to'):
        build(raw, str(tmp_path / 'out'), jobs=1)
    assert listing(tmp_path) == ['raw']


def test_a_dev_split_whose_images_are_all_unreadable_is_named_though_train_signs_has_readable_ones(tmp_path):
    """dev_signs comes out of the same raw folder as train_signs: its images are counted on their own."""
    raw = make_raw(str(tmp_path / 'raw'), train=10, test=2)
    train_dir = os.path.join(raw, 'train_signs')
    _, dev = split_train_dev([os.path.join(train_dir, name) for name in listing(train_dir)])
    for filename in dev:
        with open(filename, 'w') as f:
            f.write('not a picture')
    with pytest.raises(InputError, match=r'^None of the 2 image\(s\) for dev_signs could be read \(first: {}: not an '
                                         r'image PIL can read.*\): replace them, or add readable images to {}$'.format(
                                             re.escape(sorted(dev)[0]), re.escape(train_dir))):
        build(raw, str(tmp_path / 'out'), jobs=2)
    assert listing(tmp_path) == ['raw']


def test_one_image_in_train_signs_is_one_line_from_the_script(tmp_path):
    from helpers import run
    raw = make_raw(str(tmp_path / 'raw'), train=1, test=2)
    result = run('build_dataset.py', '--data_dir', raw, '--output_dir', str(tmp_path / 'out'), '--jobs', '1',
                 check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr == 'Error: {} holds only 1 usable image: at least 2 are needed, 80% for train_signs ' \
                            'and 20% for dev_signs; add images to it\n'.format(os.path.join(raw, 'train_signs'))


def test_synthetic_set_already_written_is_reused(tmp_path, monkeypatch, caplog):
    """--synthetic a second time, with --overwrite or another --size and --output_dir: the same raw set is used."""
    import build_dataset
    monkeypatch.chdir(tmp_path)
    with caplog.at_level('INFO'):
        build_dataset.main(build_dataset.parser.parse_args(['--synthetic', '--jobs', '2']))
    raw = os.path.join('data', 'SYNTHETIC_SIGNS')
    sums = {name: os.path.getmtime(os.path.join(raw, 'train_signs', name))
            for name in listing(os.path.join(raw, 'train_signs'))}
    first_build = {split: listing(os.path.join('data', '64x64_SIGNS', split)) for split in SPLITS}
    caplog.clear()
    with caplog.at_level('INFO'):
        build_dataset.main(build_dataset.parser.parse_args(['--synthetic', '--overwrite', '--jobs', '4']))
        build_dataset.main(build_dataset.parser.parse_args(
            ['--synthetic', '--size', '32', '--output_dir', os.path.join('data', '32'), '--jobs', '2']))
    assert caplog.text.count('Using the synthetic SIGNS dataset already in {}'.format(raw)) == 2
    assert 'Writing a synthetic' not in caplog.text
    assert {name: os.path.getmtime(os.path.join(raw, 'train_signs', name)) for name in sums} == sums
    assert {split: listing(os.path.join('data', '64x64_SIGNS', split)) for split in SPLITS} == first_build
    with Image.open(os.path.join('data', '32', 'test_signs', first_build['test_signs'][0])) as image:
        assert image.size == (32, 32)


def test_ctrl_c_while_resizing_ends_with_one_line_and_leaves_the_old_dataset(tmp_path):
    """Ctrl-C reaches every process of the terminal's group: the pool's workers stay silent, the script
    says one line, exits 130, and an --overwrite in progress leaves the dataset that was there."""
    import signal
    import subprocess
    import sys
    import time

    from helpers import ROOT
    out = str(tmp_path / 'out')
    build(make_raw(str(tmp_path / 'old raw'), train=5, test=2, name='{label}_IMG_old{i}.jpg'), out, jobs=1)
    before = {split: listing(os.path.join(out, split)) for split in SPLITS}
    # Many small files: resizing lasts long enough to be interrupted, and the workers spend much of it in Python code,
    # where a SIGINT they do not ignore shows (in C code, such as decoding a large image, it waits).
    picture = Image.linear_gradient('L').resize((100, 100)).convert('RGB')
    raw = tmp_path / 'raw'
    for split, count in (('train_signs', 3000), ('test_signs', 20)):
        (raw / split).mkdir(parents=True)
        picture.save(raw / split / '0_IMG_0.png')
        data = (raw / split / '0_IMG_0.png').read_bytes()
        for i in range(1, count):
            (raw / split / '{}_IMG_{}.png'.format(i % 6, i)).write_bytes(data)

    process = subprocess.Popen([sys.executable, 'build_dataset.py', '--data_dir', str(raw), '--output_dir', out,
                                '--overwrite', '--jobs', '4'], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not glob.glob(str(tmp_path / '.building-*' / 'out' / '*' / '*.jpg')):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    stdout, stderr = process.communicate(timeout=120)

    assert (process.returncode, stdout, stderr) == (130, '', 'Interrupted: {} was left as it was\n'.format(out))
    assert {split: listing(os.path.join(out, split)) for split in SPLITS} == before
    assert listing(tmp_path) == ['old raw', 'out', 'raw']  # no temporary folder
    if os.path.exists('/proc/self/stat'):  # no worker left running (a zombie waiting for init to reap it has ended)
        time.sleep(1)
        assert running_in_group(process.pid) == []


def running_in_group(pgid):
    """Processes of group `pgid` that have not ended, from /proc (Linux)."""
    running = []
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] not in 'ZX':
            running.append(stat)
    return running
