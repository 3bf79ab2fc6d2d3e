"""vision/image_resize.py: the in-graph resizing of predict.py and export.py against build_dataset.py's PIL code.

Both read the same files; the JPEG each writes is decoded by the same decoder (the
training pipeline's view of it) and must give the same pixels, for every reduced-scale
decoding of PIL's draft mode, every order of its resize passes, every image mode that
JPEG and PNG files have, and EXIF turns.
"""
import io
import os

import numpy as np
import pytest
from PIL import Image

from helpers.images import PICTURES, exif_bytes, photo, read_bytes, save_picture, sixteen_bit_png
from model.core.tf_compat import tf
from vision.image_files import list_images
from vision.image_resize import exif_orientation, pil_bilinear_resize, resize_like_build_dataset
from vision.photos import resize_and_save


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

    def graph_pixels(self, path):
        """The pixels of the JPEG the graph makes of the file at `path` (as the training pipeline decodes it)."""
        return self.decode(self.build(read_bytes(path)))


@pytest.fixture(scope='module')
def resizer():
    resizer = Resizer()
    yield resizer
    resizer.sess.close()


def built_pixels(path, resizer, tmp_path, size=64):
    """The pixels of the file build_dataset.py writes for `path`, read by the training pipeline's decoder."""
    out = tmp_path / 'built-{}'.format(size)
    os.makedirs(out, exist_ok=True)
    assert resize_and_save(path, str(out), size) is None
    return resizer.decode(read_bytes(out / (os.path.splitext(os.path.basename(path))[0] + '.jpg')))


@pytest.mark.parametrize('name', sorted(PICTURES))
def test_graph_resize_gives_the_pixels_of_build_dataset(name, resizer, tmp_path):
    path = save_picture(name, tmp_path)
    expected = built_pixels(path, resizer, tmp_path)
    got = resizer.graph_pixels(path)
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
    got = resizer.graph_pixels(path)
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
                np.testing.assert_array_equal(resizer.graph_pixels(path), expected)
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
    np.testing.assert_array_equal(resizer.graph_pixels(raw_file), resizer.decode(data))
    # The same picture with an EXIF turn is not "as built": it is turned and compressed, as build_dataset.py does.
    turned = tmp_path / 'turned.jpg'
    Image.open(built_file).save(turned, quality=95, exif=exif_bytes(6))
    expected = built_pixels(str(turned), resizer, tmp_path)
    np.testing.assert_array_equal(resizer.graph_pixels(turned), expected)
    assert np.abs(expected.astype(int) - resizer.decode(data)).mean() > 10
    # A grayscale JPEG of 64x64 is made RGB and compressed by both.
    gray = tmp_path / 'gray.jpg'
    Image.open(built_file).convert('L').save(gray)
    assert resizer.build(read_bytes(gray)) != read_bytes(gray)
    np.testing.assert_array_equal(resizer.graph_pixels(gray),
                                  built_pixels(str(gray), resizer, tmp_path))


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
    np.testing.assert_array_equal(resizer.graph_pixels(path), expected)


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
    np.testing.assert_array_equal(resizer.graph_pixels(sixteen), expected)


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
