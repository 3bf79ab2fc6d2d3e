"""One photo as build_dataset.py stores it: upright, RGB, size x size, a JPEG named {stem}.jpg.

Photos come from phones and cameras: large, stored sideways with an EXIF note, in
grayscale, palette or 16-bit modes. `resize_and_save` reads any JPEG or PNG of them
the way TensorFlow's decoders would (so vision/image_resize.py can repeat every step
in the graph for predict.py and export.py), and says in one line why a file it
cannot read is skipped. No TensorFlow here: build_dataset.py's worker processes import it.
"""
import os
import shutil

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vision.image_files import EXIF_ORIENTATION, JPEG_QUALITY, SIZE

# Largest image decoded in full (a 6000x4000 photo). A JPEG decodes at reduced scale and stays far below;
# a huge PNG cannot, and would take that much memory in each worker process.
MAX_DECODED_PIXELS = 24_000_000
# The EXIF orientations for which PIL's exif_transpose turns an image (the others mean upright).
EXIF_TURNS = range(2, 9)
# What PIL calls the formats read (MPO: a phone's JPEG holding more than one picture), and the modes
# of their images that convert('RGB') makes RGB as TensorFlow does. to_rgb handles SIXTEEN_BIT_GRAY.
READ_FORMATS = ('JPEG', 'MPO', 'PNG')
CONVERTED_MODES = ('1', 'L', 'LA', 'P', 'PA', 'RGB', 'RGBA', 'CMYK')
SIXTEEN_BIT_GRAY = ('I;16', 'I;16B', 'I;16L', 'I;16N')


def resize_and_save(filename, output_dir, size=SIZE, name=None):
    """Resize the image contained in `filename` and save it to the `output_dir` as {stem}.jpg (or as `name`).

    A JPEG that keeps_as_is is copied, once it is known to decode. Returns None on
    success, or why the file could not be read (it is then skipped). predict.py and
    export.py do the same steps inside the TensorFlow graph (vision/image_resize.py);
    tests/test_image_resize.py checks both give the same pixels.
    """
    target = os.path.join(output_dir, name or output_name(filename))
    try:
        with Image.open(filename) as image:
            check_format(image)
            if keeps_as_is(image, size):
                image.load()  # a truncated or broken file is skipped like any other
                shutil.copyfile(filename, target)
                return None
            image = _resized(image, size)
    except UnidentifiedImageError:
        return 'not an image PIL can read: replace or remove it'
    except ValueError as e:  # ours, which say what to do
        return str(e)
    except (OSError, Image.DecompressionBombError) as e:
        return 'unreadable image ({})'.format(e)
    image.save(target, quality=JPEG_QUALITY)
    return None


def output_name(filename):
    """The name of the file written for `filename`: its name with the extension .jpg."""
    return os.path.splitext(os.path.basename(filename))[0] + '.jpg'


def check_format(image):
    """Raise ValueError unless PIL opened a JPEG or a PNG, the formats predict.py reads (whatever the name)."""
    if image.format not in READ_FORMATS:
        raise ValueError('a {} image, not JPEG or PNG: save it as JPEG or PNG (predict.py refuses it too)'.format(
            image.format))


def keeps_as_is(image, size):
    """Whether the (just opened) image is written unchanged: a colour JPEG of size x size, upright.

    That is what build_dataset.py writes, so running it on its own output gives the same
    files, and predict.py on a built file sees what evaluate.py sees. Any other image,
    a 64x64 PNG or a 128x128 JPEG that decodes at 1/2 scale to 64x64 included, is
    resized (a no-op at the same size) and compressed. vision/image_resize.py decides the same way.
    """
    return (image.format in ('JPEG', 'MPO') and image.mode == 'RGB' and image.size == (size, size)
            and image.getexif().get(EXIF_ORIENTATION, 1) not in EXIF_TURNS)


def _resized(image, size):
    # JPEG can decode straight at 1/2, 1/4 or 1/8 scale (still at least `size`):
    # for large photos that is most of the work saved.
    image.draft('RGB', (size, size))
    if image.width * image.height > MAX_DECODED_PIXELS:
        raise ValueError('too large to decode: {}x{} pixels (the limit is {} million); make it smaller first'.format(
            image.width, image.height, MAX_DECODED_PIXELS // 1_000_000))
    # Photos from phones are often stored sideways with an EXIF note to rotate them.
    image = to_rgb(ImageOps.exif_transpose(image))
    # Use bilinear interpolation instead of the default "nearest neighbor" method
    # (to the same size, PIL's resize is a copy: the pixels as decoded)
    return image.resize((size, size), Image.BILINEAR)


def to_rgb(image):
    """The image in RGB, 8 bits a channel, as TensorFlow's decoders give it (vision/image_resize.py).

    PIL's convert('RGB') does just that for the modes of JPEG and PNG files, except
    16-bit grayscale (I;16): it clips each value to 255, and the picture turns white.
    There the high byte is kept, as for 16-bit colour PNGs, which PIL opens as RGB(A).
    """
    if image.mode in SIXTEEN_BIT_GRAY:
        high_bytes = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
        return Image.fromarray(high_bytes, 'L').convert('RGB')
    if image.mode not in CONVERTED_MODES:
        raise ValueError('an image in mode {}, which predict.py cannot read the same way: '
                         'save it as an 8-bit RGB JPEG or PNG'.format(image.mode))
    return image.convert('RGB')
