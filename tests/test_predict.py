"""Using a trained model: the predict mode of input_fn/model_fn, predict.py, export.py and the SavedModel.

The in-graph resizing (vision/image_resize.py) is compared with build_dataset.py's PIL
code on the same files; the exported model is loaded in a plain TensorFlow 2 process
and must give what predict.py gives.
"""
import argparse
import csv
import io
import json
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

import evaluate
import export
import predict
from build_dataset import resize_and_save
from examples import example_of
from helpers import drain, run, write_params
from model.core.checkpoints import restore
from model.core.errors import InputError
from model.core.tf_compat import tf
from model.input_fn import _parse_function
from model.model_fn import model_fn
from model.utils import Params
from vision.example import class_names, list_inputs
from vision.image_files import list_images
from vision.image_resize import exif_orientation, pil_bilinear_resize, resize_like_build_dataset
from vision.predict_input import decode_new_image, predict_input_fn, serving_input_fn


def photo(width, height, seed=0):
    """A smooth picture with noise and a red corner mark, so that a wrong turn or flip shows."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = np.stack([128 + 100 * np.sin(xx / 37 + c) * np.cos(yy / 53 - c) for c in range(3)], axis=-1)
    pixels[:height // 3, :width // 4] = [250, 20, 20]
    pixels += rng.normal(0, 20, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def exif_bytes(orientation, big_endian=False):
    exif = Image.Exif()
    exif.endian = '>' if big_endian else '<'
    exif[0x010f] = 'Camera maker'  # another tag before Orientation in the directory
    exif[0x0112] = orientation
    return exif.tobytes()


# name -> (picture, format, save options). Sizes chosen for each branch of PIL's steps:
# draft scale 8, 4, 2, 1 and upscaling; vertical pass first (tall) or not; modes PIL converts.
PICTURES = {
    'photo 1100x900, draft 1/8': (lambda: photo(1100, 900), 'JPEG', {'quality': 90}),
    'jpeg 511x300, draft 1/4': (lambda: photo(511, 300), 'JPEG', {}),
    'jpeg 200x130, draft 1/2': (lambda: photo(200, 130), 'JPEG', {}),
    'tall jpeg 300x985': (lambda: photo(300, 985), 'JPEG', {}),
    'tall png 246x488': (lambda: photo(246, 488), 'PNG', {}),
    'wide png 700x90': (lambda: photo(700, 90), 'PNG', {}),
    'small jpeg 40x30, upscaled': (lambda: photo(40, 30), 'JPEG', {}),
    'png 64x64': (lambda: photo(64, 64), 'PNG', {}),
    'progressive jpeg': (lambda: photo(400, 300), 'JPEG', {'progressive': True}),
    'jpeg 4:4:4': (lambda: photo(300, 250), 'JPEG', {'subsampling': 0, 'quality': 95}),
    'grayscale jpeg': (lambda: photo(300, 300).convert('L'), 'JPEG', {}),
    'grayscale png': (lambda: photo(300, 200).convert('L'), 'PNG', {}),
    'rgba png': (lambda: photo(200, 300).convert('RGBA'), 'PNG', {}),
    'palette png': (lambda: photo(200, 150).convert('P'), 'PNG', {}),
}
for _orientation in range(1, 9):
    for _big_endian in (False, True):
        PICTURES['exif orientation {} {}'.format(_orientation, 'MM' if _big_endian else 'II')] = (
            lambda o=_orientation, b=_big_endian: photo(320, 240, seed=o), 'JPEG',
            {'exif': exif_bytes(_orientation, _big_endian)})


def save_picture(name, folder):
    make, fmt, options = PICTURES[name]
    path = os.path.join(str(folder), re.sub('[^A-Za-z0-9]+', '_', name) + ('.jpg' if fmt == 'JPEG' else '.png'))
    make().save(path, fmt, **options)
    return path


class Resizer:
    """One graph for the tests: resize_like_build_dataset on fed bytes, and a JPEG decoder to read results."""

    def __init__(self, size=64):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.image_string = tf.placeholder(tf.string, [])
            self.built = resize_like_build_dataset(self.image_string, size)
            self.orientation = exif_orientation(self.image_string)
            self.jpeg = tf.placeholder(tf.string, [])
            self.pixels = tf.image.decode_jpeg(self.jpeg)
        self.sess = tf.Session(graph=self.graph)

    def build(self, data):
        return self.sess.run(self.built, {self.image_string: data})

    def decode(self, jpeg):
        return self.sess.run(self.pixels, {self.jpeg: jpeg})


@pytest.fixture(scope='module')
def resizer():
    resizer = Resizer()
    yield resizer
    resizer.sess.close()


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


# -----------------------------------------------------------------------------
# The resizing in the graph against build_dataset.py's

@pytest.mark.parametrize('name', sorted(PICTURES))
def test_graph_resize_gives_the_pixels_of_build_dataset(name, resizer, tmp_path):
    path = save_picture(name, tmp_path)
    os.makedirs(tmp_path / 'built')
    assert resize_and_save(path, str(tmp_path / 'built')) is None
    built_file = tmp_path / 'built' / (os.path.splitext(os.path.basename(path))[0] + '.jpg')
    expected = resizer.decode(read_bytes(built_file))
    got = resizer.decode(resizer.build(read_bytes(path)))
    # Both JPEGs read by the same decoder: the training pipeline's view of each.
    assert got.shape == (64, 64, 3)
    np.testing.assert_array_equal(got, expected)


def test_exif_orientation_is_read_in_both_byte_orders_and_is_1_without_it(resizer, tmp_path):
    def orientation(data):
        return resizer.sess.run(resizer.orientation, {resizer.image_string: data})

    for value in range(1, 9):
        for big_endian in (False, True):
            buffer = io.BytesIO()
            photo(40, 30).save(buffer, 'JPEG', exif=exif_bytes(value, big_endian))
            assert orientation(buffer.getvalue()) == value
    buffer = io.BytesIO()
    photo(40, 30).save(buffer, 'JPEG')
    plain = buffer.getvalue()
    assert orientation(plain) == 1
    # An Exif block whose directory offset points past the end of the file, a value out of range,
    # and a few bytes only: no turn, and no failure.
    broken = plain[:2] + b'\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\x7f' + plain[2:]
    assert orientation(broken) == 1
    buffer = io.BytesIO()
    photo(40, 30).save(buffer, 'JPEG', exif=exif_bytes(9))
    assert orientation(buffer.getvalue()) == 1
    assert orientation(b'\xff\xd8') == 1


def built_pixels(path, resizer, tmp_path, size=64):
    """The pixels of the file build_dataset.py writes for `path`, read by the training pipeline's decoder."""
    out = tmp_path / 'built-{}'.format(size)
    os.makedirs(out, exist_ok=True)
    assert resize_and_save(path, str(out), size) is None
    return resizer.decode(read_bytes(out / (os.path.splitext(os.path.basename(path))[0] + '.jpg')))


# Every reduced-scale decoding of PIL's draft mode for 64x64 (1/8 from 512 px, 1/4 from 256, 1/2 from 128,
# 1/1 below), each side of each edge, squares (which draft-decode to exactly 64x64) and not.
DRAFT_SIZES = [(64, 64), (63, 63), (65, 65), (40, 30), (127, 127), (128, 128), (129, 129), (130, 130),
               (255, 255), (256, 256), (257, 257), (511, 511), (512, 512), (513, 513), (520, 520),
               (1024, 1024), (128, 64), (64, 128), (128, 300), (600, 256), (1030, 519), (200, 1100)]


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG'])
@pytest.mark.parametrize('width, height', DRAFT_SIZES)
def test_graph_resize_matches_build_dataset_at_every_draft_scale(width, height, fmt, resizer, tmp_path):
    path = str(tmp_path / ('0_IMG_{}x{}.{}'.format(width, height, 'jpg' if fmt == 'JPEG' else 'png')))
    photo(width, height, seed=width * height).save(path, fmt, quality=90)
    expected = built_pixels(path, resizer, tmp_path)
    got = resizer.decode(resizer.build(read_bytes(path)))
    assert got.shape == (64, 64, 3)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize('size', [32, 100])
def test_graph_resize_matches_build_dataset_at_other_sizes(size, tmp_path):
    resizer = Resizer(size)
    try:
        for width, height in [(size, size), (2 * size, 2 * size), (4 * size + 1, 4 * size), (8 * size, 3 * size)]:
            for fmt in ('JPEG', 'PNG'):
                path = str(tmp_path / ('0_IMG_{}x{}.{}'.format(width, height, fmt.lower())))
                photo(width, height).save(path, fmt)
                expected = built_pixels(path, resizer, tmp_path, size)
                np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(path))), expected)
    finally:
        resizer.sess.close()


# (width, height) -> whether Pillow 13 begins with the vertical pass: when the height shrinks
# more than twice as much as the width. Upscaling, wide, shrinking both about as much, and tall.
PASS_ORDERS = {(40, 30): False, (700, 90): False, (300, 400): False, (128, 300): True, (300, 985): True}


@pytest.mark.parametrize('width, height', sorted(PASS_ORDERS))
def test_graph_resize_follows_the_order_of_passes_of_pillow_12_and_13(width, height):
    """Pillow 12 (the last for Python 3.10) always resizes horizontally first; 13 not always.

    A resize along one axis is one pass, so two in a row give the full resize in either
    order: the graph built for each version gives that version's, whatever Pillow is
    installed, and the graph built for the installed one gives what its resize gives.
    """
    picture, size = photo(width, height), 64
    horizontal_first = np.asarray(picture.resize((size, height), Image.BILINEAR).resize((size, size), Image.BILINEAR))
    vertical_first = np.asarray(picture.resize((width, size), Image.BILINEAR).resize((size, size), Image.BILINEAR))
    graph = tf.Graph()
    with graph.as_default():
        pixels = tf.placeholder(tf.uint8, [None, None, 3])
        resized = {version: pil_bilinear_resize(pixels, size, version) for version in ('12.3.0', '13.0.0', None)}
    with tf.Session(graph=graph) as sess:
        got = sess.run(resized, {pixels: np.asarray(picture)})
    np.testing.assert_array_equal(got['12.3.0'], horizontal_first)
    np.testing.assert_array_equal(got['13.0.0'], vertical_first if PASS_ORDERS[width, height] else horizontal_first)
    if PASS_ORDERS[width, height]:
        assert (horizontal_first != vertical_first).any()  # else this picture could not tell the orders apart
    np.testing.assert_array_equal(got[None], np.asarray(picture.resize((size, size), Image.BILINEAR)))


def test_a_built_image_is_kept_by_both_and_a_photo_gives_its_pixels(resizer, raw_dir, data_dir, tmp_path):
    """build_dataset.py gives back its own files unchanged, and the graph does the same.

    So predict.py sees the same picture in a raw 128x128 photo (which draft-decodes at
    1/2 scale to 64x64, then is compressed) as in the file built from it, which is what
    evaluate.py sees.
    """
    built_file = list_images(os.path.join(data_dir, 'test_signs'), 6)[0][0]
    data = read_bytes(built_file)
    assert resizer.build(data) == data
    again = tmp_path / 'again'
    again.mkdir()
    assert resize_and_save(built_file, str(again)) is None
    assert read_bytes(again / os.path.basename(built_file)) == data
    # The raw picture it was built from: the graph gives the built pixels, not the raw ones shrunk later.
    raw_file = os.path.join(raw_dir, 'test_signs', os.path.basename(built_file))
    with Image.open(raw_file) as image:
        assert image.size == (96, 96)  # conftest's raw set: decodes at full scale; 128 is tested above
    np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(raw_file))), resizer.decode(data))
    # The same picture with an EXIF turn is not "as built": it is turned and compressed, as build_dataset.py does.
    turned = tmp_path / 'turned.jpg'
    Image.open(built_file).save(turned, quality=95, exif=exif_bytes(6))
    expected = built_pixels(str(turned), resizer, tmp_path)
    np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(turned))), expected)
    assert np.abs(expected.astype(int) - resizer.decode(data)).mean() > 10
    # A grayscale JPEG of 64x64 is made RGB and compressed by both.
    gray = tmp_path / 'gray.jpg'
    Image.open(built_file).convert('L').save(gray)
    assert resizer.build(read_bytes(gray)) != read_bytes(gray)
    np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(gray))),
                                  built_pixels(str(gray), resizer, tmp_path))


def sixteen_bit_png(path, pixels):
    """Write uint16 pixels (height, width, channels 1 to 4) as a 16-bit PNG, which PIL cannot write in colour."""
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # gray, gray + alpha, RGB, RGBA

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    rows = b''.join(b'\0' + row.astype('>u2').tobytes() for row in pixels)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 16, color_type, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def sixteen_bits(image, channels):
    """The 8-bit picture as 16-bit values whose high bytes are its pixels (the low bytes vary)."""
    pixels = np.asarray(image, np.uint16).reshape(image.height, image.width, -1)[..., :channels]
    return pixels * 256 + np.arange(image.width, dtype=np.uint16)[None, :, None] % 251


def in_mode(image, mode):
    if mode in ('I;16', 'I;16B'):
        return Image.frombytes(mode, image.size, sixteen_bits(image.convert('L'), 1).astype(
            '<u2' if mode == 'I;16' else '>u2').tobytes())
    return image.convert(mode)


# Each mode PIL gives to a JPEG or PNG file: (mode, format, extra save options).
MODES = [('1', 'PNG', {}), ('L', 'PNG', {}), ('L', 'PNG', {'bits': 2}), ('L', 'JPEG', {}), ('LA', 'PNG', {}),
         ('P', 'PNG', {}), ('P', 'PNG', {'bits': 4}), ('P', 'PNG', {'transparency': 7}), ('RGB', 'PNG', {}),
         ('RGB', 'JPEG', {}), ('RGBA', 'PNG', {}), ('RGBX', 'JPEG', {}), ('CMYK', 'JPEG', {}),
         ('YCbCr', 'JPEG', {}), ('I;16', 'PNG', {}), ('I;16B', 'PNG', {})]


@pytest.mark.parametrize('mode, fmt, options', MODES, ids=['{} {} {}'.format(*m) for m in MODES])
@pytest.mark.parametrize('width, height', [(300, 200), (64, 64)])
def test_every_image_mode_gives_the_same_pixels_in_both_paths(mode, fmt, options, width, height, resizer, tmp_path):
    path = str(tmp_path / '0_IMG_{}.{}'.format(mode.replace(';', ''), fmt.lower()))
    in_mode(photo(width, height), mode).save(path, fmt, **options)
    expected = built_pixels(path, resizer, tmp_path)
    np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(path))), expected)


@pytest.mark.parametrize('channels', [1, 2, 3, 4])
def test_16_bit_pngs_are_their_8_bit_pictures_in_both_paths(channels, resizer, tmp_path):
    """The high byte of each value counts: a 16-bit grayscale PNG is not a white picture."""
    picture = photo(200, 150).convert({1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA'}[channels])
    eight = str(tmp_path / '0_IMG_8.png')
    picture.save(eight)
    sixteen = str(tmp_path / '0_IMG_16.png')
    sixteen_bit_png(sixteen, sixteen_bits(picture, channels))
    expected = built_pixels(eight, resizer, tmp_path)
    assert 60 < expected.mean() < 200
    np.testing.assert_array_equal(built_pixels(sixteen, resizer, tmp_path), expected)
    np.testing.assert_array_equal(resizer.decode(resizer.build(read_bytes(sixteen))), expected)


# Modes that no JPEG or PNG has, and formats other than JPEG and PNG, in a file named .png.
REFUSED = [('F', 'TIFF'), ('I', 'TIFF'), ('LAB', 'TIFF'), ('YCbCr', 'TIFF'), ('CMYK', 'TIFF'), ('I;16', 'TIFF'),
           ('PA', 'TIFF'), ('HSV', 'WEBP'), ('RGBa', 'WEBP'), ('RGB', 'GIF'), ('P', 'BMP'), ('RGB', 'BMP'),
           ('RGB', 'WEBP'), ('L', 'PPM')]


@pytest.mark.parametrize('mode, fmt', REFUSED)
def test_other_formats_and_modes_are_refused_by_name_in_both_paths(mode, fmt, resizer, tmp_path):
    path = tmp_path / '0_IMG_{}.png'.format(mode.replace(';', ''))
    in_mode(photo(100, 80), mode).save(path, fmt)
    out = tmp_path / 'out'
    out.mkdir()
    error = resize_and_save(str(path), str(out))
    assert error == 'a {} image, not JPEG or PNG: save it as JPEG or PNG (predict.py refuses it too)'.format(
        Image.open(path).format)
    assert os.listdir(out) == []
    # predict.py's pipeline drops what fails here, then names the file (test_predict_script).
    with pytest.raises(tf.errors.InvalidArgumentError, match='Not a JPEG or PNG image'):
        resizer.build(read_bytes(path))


# -----------------------------------------------------------------------------
# input_fn and model_fn in predict mode

def run_predict_inputs(filenames, params):
    with tf.Graph().as_default():
        inputs = predict_input_fn(filenames, params)
        assert set(inputs) == {'images', 'filenames', 'iterator_init_op'}
        assert inputs['images'].get_shape().as_list() == [None, params.image_size, params.image_size, 3]
        with tf.Session() as sess:
            sess.run(inputs['iterator_init_op'])
            batches = drain(sess, [inputs['filenames'], inputs['images']])
    return [os.fsdecode(f) for b in batches for f in b[0]], np.concatenate([b[1] for b in batches])


def eval_pipeline_image(filename, size):
    with tf.Graph().as_default(), tf.Session() as sess:
        return sess.run(_parse_function(tf.constant(filename), 0, size)[0])


def test_predict_input_fn_reads_in_order_and_skips_unreadable_files(data_dir, params, tmp_path):
    dataset_files = list_images(os.path.join(data_dir, 'dev_signs'), 6)[0][:3]
    text = tmp_path / 'notes.jpg'
    text.write_text('not a picture')
    truncated = tmp_path / 'truncated.jpg'
    truncated.write_bytes(read_bytes(save_picture('jpeg 511x300, draft 1/4', tmp_path))[:2000])
    png = save_picture('rgba png', tmp_path)
    params.batch_size = 2
    filenames = [dataset_files[0], str(text), png, dataset_files[1], str(truncated), dataset_files[2]]
    read, images = run_predict_inputs(filenames, params)

    assert read == [dataset_files[0], png, dataset_files[1], dataset_files[2]]
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    # A file of the data set gets exactly what evaluation gives it: no augmentation, same decoding.
    np.testing.assert_array_equal(images[2], eval_pipeline_image(dataset_files[1], 32))


def fake_images(params, batch=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, params.image_size, params.image_size, 3), dtype=np.float32)


def test_predict_model_fn_gives_probabilities_and_the_eval_predictions(params):
    images = fake_images(params)
    shape = [None, params.image_size, params.image_size, 3]
    with tf.Graph().as_default():
        inputs = {'images': tf.placeholder_with_default(images, shape), 'labels': tf.zeros([len(images)], tf.int32)}
        train_spec = model_fn('train', inputs, params)
        eval_spec = model_fn('eval', inputs, params, reuse=True)
        variables = tf.global_variables()
        placeholder = tf.placeholder(tf.float32, shape)
        predict_spec = model_fn('predict', {'images': placeholder}, params, reuse=True)
        # No new weights, no loss, no metrics, no summaries: the network and its outputs.
        assert tf.global_variables() == variables
        assert set(predict_spec) == {'images', 'predictions', 'probabilities', 'variable_init_op'}
        assert predict_spec['predictions'].dtype == tf.int64
        assert predict_spec['probabilities'].get_shape().as_list() == [None, params.num_labels]
        with tf.Session() as sess:
            sess.run(train_spec['variable_init_op'])
            for _ in range(3):
                sess.run(train_spec['train_op'])  # batch norm statistics move away from their start
            predictions, probabilities = sess.run([predict_spec['predictions'], predict_spec['probabilities']],
                                                  {placeholder: images})
            eval_predictions = sess.run(eval_spec['predictions'])
    assert probabilities.shape == (5, params.num_labels)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(predictions, probabilities.argmax(axis=1))
    np.testing.assert_array_equal(predictions, eval_predictions)


def test_serving_input_gives_the_predict_pipeline_images(params, data_dir, tmp_path):
    """The exported model's input path and predict.py's are one: same images from the same bytes."""
    filenames = [save_picture(name, tmp_path) for name in ('photo 1100x900, draft 1/8', 'grayscale png',
                                                           'exif orientation 6 MM')]
    filenames.append(list_images(os.path.join(data_dir, 'test_signs'), 6)[0][0])
    _, expected = run_predict_inputs(filenames, params)
    with tf.Graph().as_default():
        inputs = serving_input_fn(params)
        assert inputs['images'].get_shape().as_list() == [None, 32, 32, 3]
        with tf.Session() as sess:
            images = sess.run(inputs['images'], {inputs['image_bytes']: [read_bytes(f) for f in filenames]})
    np.testing.assert_array_equal(images, expected)


def test_decode_new_image_honours_dataset_image_size(params, tmp_path):
    """Built at 128 (build_dataset.py --size 128): a new photo gives what training read from its 128x128 file."""
    path = save_picture('photo 1100x900, draft 1/8', tmp_path)
    for dataset_size in (64, 128):
        params.dataset_image_size = dataset_size
        with tf.Graph().as_default(), tf.Session() as sess:
            got = sess.run(decode_new_image(tf.constant(read_bytes(path)), params))
        out = tmp_path / 'built-{}'.format(dataset_size)
        os.makedirs(out)
        assert resize_and_save(path, str(out), dataset_size) is None
        [built] = os.listdir(out)
        assert Image.open(out / built).size == (dataset_size, dataset_size)
        # The training pipeline's view of the file build_dataset.py wrote, to the pixel.
        np.testing.assert_array_equal(got, eval_pipeline_image(str(out / built), params.image_size))
        assert got.shape == (32, 32, 3)


def test_class_names(params, tmp_path):
    assert class_names(params) == ['0', '1', '2', '3', '4', '5']
    json_path = write_params(str(tmp_path / 'named'), class_names=['fist', 'one', 'two', 'three', 'four', 'five'])
    assert class_names(Params(json_path))[5] == 'five'
    json_path = write_params(str(tmp_path / 'short'), class_names=['a', 'b'])
    with pytest.raises(InputError, match="'class_names' lists 2 names but 'num_labels' is 6"):
        class_names(Params(json_path))
    json_path = write_params(str(tmp_path / 'numbers'), class_names=[0, 1, 2, 3, 4, 5])
    with pytest.raises(InputError, match="'class_names' must be a list of non-empty strings"):
        Params(json_path)
    json_path = write_params(str(tmp_path / 'text'), class_names='0,1,2,3,4,5')
    with pytest.raises(InputError, match="'class_names' must be a list, got '0,1,2,3,4,5'$"):
        Params(json_path)


def test_list_inputs(tmp_path):
    folder = tmp_path / 'photos'
    folder.mkdir()
    for name in ('b.PNG', 'a.jpg', '.hidden.jpg', 'notes.txt'):
        (folder / name).write_bytes(b'x')
    single = tmp_path / 'single.jpeg'
    single.write_bytes(b'x')
    assert list_inputs([str(single), str(folder)]) == [
        str(single), str(folder / 'a.jpg'), str(folder / 'b.PNG')]
    with pytest.raises(InputError, match='No file or folder .*missing.jpg'):
        list_inputs([str(single), str(tmp_path / 'missing.jpg')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='No images to predict'):
        list_inputs([str(tmp_path / 'empty')])


def test_next_version_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert export.next_version_dir('experiments/base_model/') == os.path.join('exported', 'base_model', '1')
    for name in ('1', '7', 'notes', '.export-tmp'):
        os.makedirs(os.path.join('exported', 'base_model', name))
    assert export.next_version_dir('experiments/base_model') == os.path.join('exported', 'base_model', '8')
    # The NER example's experiments live one level deeper: their exports must not mix with vision's.
    assert export.next_version_dir('experiments/ner/base_model') == os.path.join('exported', 'ner', 'base_model', '1')
    assert export.next_version_dir(str(tmp_path / 'elsewhere' / 'mine')) == os.path.join('exported', 'mine', '1')


# -----------------------------------------------------------------------------
# The scripts, as a user runs them

@pytest.fixture(scope='module')
def trained(data_dir, tmp_path_factory):
    """A tiny model trained by train.py (two epochs)."""
    model_dir = str(tmp_path_factory.mktemp('predict') / 'my model')
    write_params(model_dir)
    run('train.py', '--model_dir', model_dir, '--data_dir', data_dir)
    return model_dir


@pytest.fixture(scope='module')
def new_images(raw_dir, tmp_path_factory):
    """Photos as a user would bring them, and one file that is not a picture."""
    folder = tmp_path_factory.mktemp('new images')
    source = Image.open(os.path.join(raw_dir, 'test_signs', sorted(os.listdir(os.path.join(raw_dir, 'test_signs')))[0]))
    # A large phone photo stored sideways, with the EXIF note to turn it upright.
    source.rotate(90, expand=True).resize((900, 1200), Image.BILINEAR).save(
        folder / 'phone photo.jpg', quality=92, exif=exif_bytes(6))
    source.save(folder / 'sign.png')
    source.convert('L').save(folder / 'gray.png')
    source.convert('RGBA').save(folder / 'rgba.png')
    (folder / 'broken.jpg').write_text('this is not an image')
    return [str(folder / name) for name in ('phone photo.jpg', 'sign.png', 'gray.png', 'rgba.png', 'broken.jpg')]


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def predicted(trained, new_images, data_dir, tmp_path_factory):
    """predict.py run once on the new images and the test folder, with --output: (result, readable files, CSV rows)."""
    test_dir = os.path.join(data_dir, 'test_signs')
    output = str(tmp_path_factory.mktemp('predicted') / 'predictions.csv')
    result = run('predict.py', '--model_dir', trained, *new_images, test_dir, '--output', output)
    return result, new_images[:4] + list_images(test_dir, 6)[0], read_csv(output)


@pytest.mark.slow
def test_predict_script(predicted, new_images):
    result, readable, rows = predicted
    lines = result.stdout.splitlines()
    assert [line.rsplit(': ', 1)[0] for line in lines] == readable
    assert "Skipped {}: it could not be read as an image".format(new_images[4]) in result.stderr
    assert 'Traceback' not in result.stderr

    assert rows[0] == ['file', 'label'] + ['probability_{}'.format(i) for i in range(6)]
    assert [row[0] for row in rows[1:]] == readable
    for line, row in zip(lines, rows[1:], strict=False):
        probabilities = np.array(row[2:], dtype=np.float32)
        assert probabilities.sum() == pytest.approx(1, abs=1e-5)
        assert row[1] == str(probabilities.argmax())
        assert line == '{}: {} ({:.3f})'.format(row[0], row[1], probabilities.max())


@pytest.mark.slow
def test_predict_agrees_with_evaluate_on_the_test_set(trained, data_dir):
    """predict.py on the built test images sees what evaluate.py sees: per file, the same probabilities."""
    params = Params(os.path.join(trained, 'params.json'))
    example = example_of(params)
    (filenames, labels), size = example.load_split(data_dir, 'test', params)
    # evaluate.py's graph, with the softmax of the logits its predictions are the argmax of.
    with tf.Graph().as_default():
        spec = example.model_fn('eval', example.input_fn(False, (filenames, labels), params), params)
        probabilities = tf.nn.softmax(spec['predictions'].op.inputs[0])
        with tf.Session() as sess:
            sess.run(spec['variable_init_op'])
            restore(sess, 'best_weights', trained)
            sess.run(spec['iterator_init_op'])
            batches = drain(sess, [probabilities, spec['labels']])
    evaluated = np.concatenate([batch[0] for batch in batches])
    assert evaluated.shape == (size, 6) and np.concatenate([batch[1] for batch in batches]).tolist() == labels

    results = predict.main(predict.parser.parse_args(
        ['--model_dir', trained, os.path.join(data_dir, 'test_signs')]))
    assert list(results) == filenames
    for filename, expected in zip(filenames, evaluated, strict=True):
        label, got = results[filename]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=filename)
        assert label == expected.argmax()
    metrics = evaluate.main(argparse.Namespace(model_dir=trained, data_dir=data_dir, restore_from='best_weights'))
    assert np.mean(evaluated.argmax(axis=1) == labels) == pytest.approx(metrics['accuracy'], abs=1e-6)


@pytest.mark.slow
def test_predict_and_export_errors(trained, new_images, tmp_path):
    def predict_main(*args):
        return predict.main(predict.parser.parse_args(['--model_dir', trained, *args]))

    with pytest.raises(InputError, match=r'^None of the 1 file\(s\) could be read as an image$'):
        predict_main(new_images[4])
    with pytest.raises(InputError, match='No weights found'):
        predict_main('--restore_from', 'nothing', new_images[0])
    with pytest.raises(InputError, match='No params.json found'):
        predict.main(predict.parser.parse_args(['--model_dir', str(tmp_path), new_images[0]]))

    (tmp_path / '3').mkdir()
    with pytest.raises(InputError, match='already exists: export to a new version folder'):
        export.main(export.parser.parse_args(['--model_dir', trained, '--export_dir', str(tmp_path / '3')]))
    assert os.listdir(tmp_path / '3') == []


# A plain TensorFlow 2 program, as a client of the export would be: eager, Keras 3 (no
# TF_USE_LEGACY_KERAS), nothing from this repository imported.
TF2_CLIENT = '''
import json, os, sys
assert 'TF_USE_LEGACY_KERAS' not in os.environ
import tensorflow as tf
assert tf.executing_eagerly()

export_dir, files = sys.argv[1], sys.argv[2:]
model = tf.saved_model.load(export_dir)
serve = model.signatures['serving_default']
images = []
for name in files:
    with open(name, 'rb') as f:
        images.append(f.read())
outputs = serve(image_bytes=tf.constant(images))
try:
    serve(image_bytes=tf.constant([b'this is not an image']))
    rejected = False
except tf.errors.InvalidArgumentError:
    rejected = True
print(json.dumps({'labels': [label.decode() for label in outputs['labels'].numpy()],
                  'classes': outputs['classes'].numpy().tolist(),
                  'probabilities': outputs['probabilities'].numpy().tolist(),
                  'rejected': rejected}))
'''


@pytest.mark.slow
def test_export_serves_the_predictions_of_predict_in_plain_tf2(trained, predicted, tmp_path):
    _, files, rows = predicted
    predicted_rows = {row[0]: row for row in rows[1:]}

    export_dir = str(tmp_path / 'exported' / 'my model' / '1')
    exported = run('export.py', '--model_dir', trained, '--restore_from', 'best_weights', '--export_dir', export_dir)
    assert 'SavedModel written to {}'.format(export_dir) in exported.stderr
    assert os.listdir(os.path.dirname(export_dir)) == ['1']  # no temporary folder left beside it
    assert sorted(os.listdir(export_dir)) == ['saved_model.pb', 'variables']

    cli = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')
    shown = subprocess.run([cli, 'show', '--dir', export_dir, '--all'], capture_output=True, text=True, check=True)
    for expected in ("signature_def['serving_default']", "inputs['image_bytes']", 'dtype: DT_STRING',
                     "outputs['probabilities']", 'shape: (-1, 6)', "outputs['classes']", 'dtype: DT_INT64',
                     "outputs['labels']", 'Method name is: tensorflow/serving/predict'):
        assert expected in shown.stdout, expected

    env = {key: value for key, value in os.environ.items() if key != 'TF_USE_LEGACY_KERAS'}
    client = subprocess.run([sys.executable, '-c', TF2_CLIENT, export_dir, *files], capture_output=True,
                            text=True, env=env, cwd=str(tmp_path), timeout=600)
    assert client.returncode == 0, client.stderr
    served = json.loads(client.stdout.strip().splitlines()[-1])
    assert served['rejected']
    assert served['labels'] == [predicted_rows[f][1] for f in files]
    assert served['labels'] == [str(c) for c in served['classes']]
    expected = [np.array(predicted_rows[f][2:], dtype=np.float32) for f in files]
    np.testing.assert_allclose(served['probabilities'], expected, rtol=0, atol=1e-5)
