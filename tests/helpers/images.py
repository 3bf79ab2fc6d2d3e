"""Pictures for the vision tests: photo-like images, EXIF notes, named sample files, hand-made PNGs."""
import os
import re
import struct
import zlib

import numpy as np
from PIL import Image

from vision.image_files import EXIF_ORIENTATION, PNG_SIGNATURE


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
    exif[EXIF_ORIENTATION] = orientation
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
    """Write PICTURES[name] into `folder`, under a file name made from `name`; returns its path."""
    make, fmt, options = PICTURES[name]
    path = os.path.join(str(folder), re.sub('[^A-Za-z0-9]+', '_', name) + ('.jpg' if fmt == 'JPEG' else '.png'))
    make().save(path, fmt, **options)
    return path


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def write_png(path, header, body):
    """A PNG file from its IHDR fields (packed) and its compressed IDAT data: for what PIL cannot write."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    with open(path, 'wb') as f:
        f.write(PNG_SIGNATURE + chunk(b'IHDR', header) + chunk(b'IDAT', body) + chunk(b'IEND', b''))


def sixteen_bit_png(path, pixels):
    """Write uint16 pixels (height, width, channels 1 to 4) as a 16-bit PNG, which PIL cannot write in colour."""
    height, width, channels = pixels.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # gray, gray + alpha, RGB, RGBA
    rows = b''.join(b'\0' + row.astype('>u2').tobytes() for row in pixels)
    write_png(path, struct.pack('>IIBBBBB', width, height, 16, color_type, 0, 0, 0), zlib.compress(rows))


def make_raw(root, train=20, test=6, size=80, name='{label}_IMG_{i}.jpg'):
    """A raw set of random pictures in the course's layout (size x size+10 JPEGs, labels cycling 0..5)."""
    rng = np.random.default_rng(0)
    for split, count in (('train_signs', train), ('test_signs', test)):
        os.makedirs(os.path.join(root, split), exist_ok=True)
        for i in range(count):
            pixels = (rng.random((size, size + 10, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, split, name.format(label=i % 6, i=i)))
    return root


# Twelve classes named by words, sorted as the folders are: the label of a class is its rank here.
WORD_CLASSES = ('ant', 'bee', 'cat', 'cow', 'dog', 'eel', 'fox', 'hen', 'owl', 'pig', 'ram', 'yak')


def make_class_folders(root, counts, nested=False, test_counts=None, size=40):
    """A set published as class folders: root/<class>/<count> images (or root/train/<class>/ and root/test/<class>/
    with `nested`, test_counts images each), named like photos, not digits ('a photo of a cat 3.jpg', 'Scan_3.png')."""
    rng = np.random.default_rng(0)
    splits = [('train', counts), ('test', test_counts or {name: 1 for name in counts})] if nested else [('', counts)]
    written = {}
    for split, split_counts in splits:
        for class_name, count in split_counts.items():
            folder = os.path.join(root, split, class_name)
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                name = 'a photo of a {} {}.jpg'.format(class_name, i) if i % 2 == 0 else 'Scan_{}.png'.format(i)
                pixels = (rng.random((size, size + 6, 3)) * 255).astype(np.uint8)
                pixels[:, :, sorted(split_counts).index(class_name) % 3] //= 4  # a hint of the class in the colours
                Image.fromarray(pixels).save(os.path.join(folder, name))
                written[os.path.join(folder, name)] = class_name
    return written
