"""The image cache: decoded once per Session, in its smallest exact form, within a memory budget;
the batches are exactly those of the pipeline that reads the files every epoch."""
import logging
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from helpers import drain
from model.core import memory
from model.core.memory import MB
from model.core.tf_compat import tf
from model.input_fn import input_fn
from vision import image_cache as input_module
from vision.image_cache import PEAK_FACTOR, choose_cache
from vision.image_files import list_images


def epochs_of_batches(filenames, labels, params, is_training, steps):
    """All the images the pipeline serves in one epoch, for an epoch started at each global step in `steps`."""
    epochs = []
    with tf.Graph().as_default():
        tf.set_random_seed(230)
        inputs = input_fn(is_training, filenames, labels, params)
        global_step = tf.train.get_or_create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in steps:
                sess.run(tf.assign(global_step, step))
                sess.run(inputs['iterator_init_op'])
                batches = drain(sess, [inputs['images'], inputs['labels']])
                epochs.append((np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])))
    return epochs


def assert_same_epochs(epochs, expected):
    assert len(epochs) == len(expected)
    for (images, labels), (expected_images, expected_labels) in zip(epochs, expected, strict=True):
        assert images.dtype == expected_images.dtype == np.float32
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def chosen(caplog):
    """What the last input_fn said it did with the images: 'uint8', 'float32' or 'streamed'."""
    line = [record.getMessage() for record in caplog.records if ' images: ' in record.getMessage()][-1]
    if 'read from the files' in line:
        return 'streamed'
    return 'uint8' if ' as uint8 ' in line else 'float32'


# image_size 32 on 64x64 images: uint8 at 64x64 takes as much as float32 at 32x32, and is chosen
# (each epoch then resizes it); at 16, float32 is smaller.
@pytest.mark.parametrize('image_size, form', [(32, 'uint8'), (16, 'float32')])
@pytest.mark.parametrize('is_training', [True, False])
def test_cached_pipeline_serves_the_same_batches(data_dir, params, is_training, image_size, form, caplog):
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    params.image_size = image_size
    caplog.set_level(logging.INFO)
    params.cache_images = True
    cached = epochs_of_batches(filenames, labels, params, is_training, steps=[0, 2, 4])
    assert chosen(caplog) == form
    params.cache_images = False
    streamed = epochs_of_batches(filenames, labels, params, is_training, steps=[0, 2, 4])
    assert chosen(caplog) == 'streamed'
    assert_same_epochs(cached, streamed)
    if is_training:  # still a new order (and new augmentations) every epoch
        assert not np.array_equal(cached[0][1], cached[1][1])


def test_above_the_budget_images_are_streamed_with_the_same_batches(data_dir, params, caplog):
    filenames, labels = list_images(os.path.join(data_dir, 'dev_signs'), 6)
    caplog.set_level(logging.INFO)
    cached = epochs_of_batches(filenames, labels, params, True, steps=[0, 3])
    assert chosen(caplog) == 'uint8'
    params.cache_budget_mb = 0.1  # 24 images of 64x64 take 0.28 MB as uint8
    over_budget = epochs_of_batches(filenames, labels, params, True, steps=[0, 3])
    assert chosen(caplog) == 'streamed'
    assert_same_epochs(over_budget, cached)


def test_images_of_other_sizes_are_cached_as_float32_with_the_same_batches(data_dir, params, tmp_path, caplog):
    """A user drops other images into a split: uint8 cannot hold them in one tensor; float32 at image_size can."""
    folder = shutil.copytree(os.path.join(data_dir, 'dev_signs'), str(tmp_path / 'dev_signs'))
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 256, (60, 80, 3), np.uint8)).save(os.path.join(folder, '3_IMG_big.jpg'))
    Image.fromarray(rng.randint(0, 256, (20, 30), np.uint8)).save(os.path.join(folder, '4_IMG_gray.png'))
    filenames, labels = list_images(folder, 6)
    params.image_size = 64  # uint8 at 64x64 would be smaller than float32, were all images 64x64
    caplog.set_level(logging.INFO)
    cached = epochs_of_batches(filenames, labels, params, True, steps=[0, 1])
    assert chosen(caplog) == 'float32'
    assert 'not all the same size: 64x64 and ' in caplog.text or 'not all the same size: 30x20 and 64x64' in caplog.text
    params.cache_images = False
    assert_same_epochs(cached, epochs_of_batches(filenames, labels, params, True, steps=[0, 1]))


def test_sizes_read_from_the_headers_are_pillows(tmp_path):
    """PNG and JPEG (baseline, progressive, grayscale, CMYK, a big EXIF block), a GIF, a broken file."""
    rng = np.random.RandomState(0)
    pixels = lambda height, width: rng.randint(0, 256, (height, width, 3), np.uint8)
    exif = Image.Exif()
    exif[0x010e] = 'x' * 5000  # an image description: the frame header comes after 5 KB
    files = {
        'rgb.jpg': (Image.fromarray(pixels(60, 80)), {}),
        'progressive.jpg': (Image.fromarray(pixels(100, 50)).convert('L'), {'progressive': True}),
        'cmyk.jpg': (Image.fromarray(pixels(5, 7)).convert('CMYK'), {}),
        'exif.jpg': (Image.fromarray(pixels(40, 90)), {'exif': exif}),
        'gray.png': (Image.fromarray(pixels(20, 30)).convert('L'), {}),
        'palette.png': (Image.fromarray(pixels(333, 17)).convert('P'), {}),
        'rgba.png': (Image.fromarray(pixels(9, 11)).convert('RGBA'), {}),
        'gif.png': (Image.fromarray(pixels(12, 13)), {'format': 'GIF'}),  # a GIF named .png: Pillow's turn
    }
    for name, (image, options) in files.items():
        image.save(str(tmp_path / name), **options)
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0\x00')
    jpeg = (tmp_path / 'rgb.jpg').read_bytes()
    (tmp_path / 'fill.jpg').write_bytes(jpeg[:2] + b'\xff\xff' + jpeg[2:])  # fill bytes before a marker
    files['fill.jpg'] = None
    for name in files:
        with Image.open(str(tmp_path / name)) as image:
            assert input_module.header_size(str(tmp_path / name)) == image.size, name
    assert input_module.header_size(str(tmp_path / 'broken.jpg')) is None
    assert input_module.image_sizes([str(tmp_path / name) for name in ('rgb.jpg', 'broken.jpg', 'gray.png')]) == {
        (80, 60), None}


def test_the_budget_counts_the_peak_of_the_smallest_form(params, data_dir, caplog):
    filenames, _ = list_images(os.path.join(data_dir, 'train_signs'), 6)
    params.image_size = 64
    peak = PEAK_FACTOR * len(filenames) * 64 * 64 * 3
    caplog.set_level(logging.INFO)
    params.cache_budget_mb = peak / MB
    cache = choose_cache(filenames, params, 'Training images')
    assert (cache.dtype, cache.side, cache.num_bytes) == ('uint8', '64x64', len(filenames) * 64 * 64 * 3)
    assert 'within the cache budget of' in caplog.text and 'cache_budget_mb in params.json' in caplog.text
    params.cache_budget_mb = peak / MB * 0.999
    assert choose_cache(filenames, params, 'Training images') is None
    assert caplog.records[-1].getMessage() == (
        'Training images: read from the files every epoch, as in memory they would pass the cache budget of {} MB '
        '(cache_budget_mb in params.json): {} images as uint8 64x64 (as decoded): {} MB, up to {} MB while the '
        'first epoch decodes them'.format(memory.mb(peak * 0.999), len(filenames),
                                           memory.mb(peak / PEAK_FACTOR), memory.mb(peak)))
    params.cache_budget_mb = 0
    assert choose_cache(filenames, params, 'Training images') is None


def test_default_budget_is_a_share_of_the_memory(params, monkeypatch):
    params.cache_budget_mb = None
    monkeypatch.setattr(memory, 'available_memory', lambda: (8000 * MB, 'available'))
    assert memory.cache_budget(params)[0] == 4000 * MB
    monkeypatch.setattr(memory, 'available_memory', lambda: (8000 * MB, 'of memory in all'))
    assert memory.cache_budget(params) == (2000 * MB, '25% of the 8,000 MB of memory in all; set '
                                                              'cache_budget_mb in params.json to change it')
    monkeypatch.setattr(memory, 'available_memory', lambda: (None, None))
    assert memory.cache_budget(params)[0] == memory.FALLBACK_BUDGET_MB * MB


def test_available_memory_reads_meminfo_or_falls_back(monkeypatch):
    monkeypatch.setattr(memory, 'cgroup_memory_room', lambda: None)
    available, what = memory.available_memory()
    if os.path.isfile('/proc/meminfo'):
        assert what == 'available' and 0 < available
    real_open = open

    def no_meminfo(path, *args, **kwargs):
        if path == '/proc/meminfo':
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr('builtins.open', no_meminfo)
    available, what = memory.available_memory()
    if hasattr(os, 'sysconf'):
        assert what == 'of memory in all' and available == os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    monkeypatch.setattr(memory, 'cgroup_memory_room', lambda: 3000 * MB)
    assert memory.available_memory() == (3000 * MB, 'left under the memory limit of this job or container')


def write_files(folder, files):
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), 'w') as f:
            f.write(text)


def test_the_memory_limit_of_a_job_or_container_counts(tmp_path):
    """The tightest limit from the process's group up; reclaimable page cache does not count as used."""
    write_files(str(tmp_path), {
        # cgroup v2 (a Slurm job): the limit is on the job, the process is in a step below it.
        'proc_v2': '0::/slurm/job_7/step_0\n',
        'v2/slurm/memory.max': 'max\n', 'v2/slurm/memory.current': '9000000000\n',
        'v2/slurm/job_7/memory.max': '4000000000\n', 'v2/slurm/job_7/memory.current': '1500000000\n',
        'v2/slurm/job_7/memory.stat': 'anon 1000000000\ninactive_file 500000000\n',
        'v2/slurm/job_7/step_0/memory.max': 'max\n', 'v2/slurm/job_7/step_0/memory.current': '1000\n',
        # cgroup v1 (a container): no limit is a huge number.
        'proc_v1': '5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n',
        'v1/memory/memory.limit_in_bytes': '9223372036854771712\n', 'v1/memory/memory.usage_in_bytes': '5\n',
        'v1/memory/docker/abc/memory.limit_in_bytes': '2000000000\n',
        'v1/memory/docker/abc/memory.usage_in_bytes': '500000000\n',
        # no limit anywhere
        'proc_none': '4:memory:/\n',
    })
    room = memory.cgroup_memory_room
    assert room(str(tmp_path / 'proc_v2'), str(tmp_path / 'v2')) == 4000000000 - (1500000000 - 500000000)
    assert room(str(tmp_path / 'proc_v1'), str(tmp_path / 'v1')) == 1500000000
    assert room(str(tmp_path / 'proc_none'), str(tmp_path / 'v1')) is None
    assert room(str(tmp_path / 'missing'), str(tmp_path / 'v1')) is None


def test_cache_outlives_iterator_init_op_but_not_the_session(data_dir, params, tmp_path):
    """After one epoch the images come from memory: the files can go. A new Session decodes again."""
    folder = shutil.copytree(os.path.join(data_dir, 'dev_signs'), str(tmp_path / 'dev_signs'))
    filenames, labels = list_images(folder, 6)
    params.cache_images = True
    with tf.Graph().as_default():
        inputs = input_fn(False, filenames, labels, params)
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            first = [sess.run(inputs['images']) for _ in range(2)]
            drain(sess, inputs['images'])  # finish the epoch, as training does
            shutil.rmtree(folder)
            sess.run(inputs['iterator_init_op'])
            np.testing.assert_array_equal(sess.run(inputs['images']), first[0])
        with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError):
            sess.run(inputs['iterator_init_op'])
            sess.run(inputs['images'])


def test_a_slurm_job_s_memory_bounds_the_budget_without_a_cgroup(monkeypatch, tmp_path):
    """--mem 700M and no control group: the budget counts on what the job has left, not on the machine's memory."""
    status = tmp_path / 'status'
    status.write_text('Name:\tpython\nVmRSS:\t  102400 kB\n')
    assert memory.slurm_memory_room({'SLURM_MEM_PER_NODE': '700'}, str(status)) == 600 * MB
    assert memory.slurm_memory_room({'SLURM_MEM_PER_CPU': '200', 'SLURM_CPUS_ON_NODE': '3'}, str(status)) == 500 * MB
    assert memory.slurm_memory_room({}, str(status)) is None
    assert memory.slurm_memory_room({'SLURM_MEM_PER_NODE': '50'}, str(status)) == 0
    monkeypatch.setattr(memory, 'cgroup_memory_room', lambda: None)
    monkeypatch.setenv('SLURM_MEM_PER_NODE', '700')
    monkeypatch.delenv('SLURM_MEM_PER_CPU', raising=False)
    room, what = memory.available_memory()
    assert room <= 700 * MB and what == 'left under the memory limit of this job or container'
