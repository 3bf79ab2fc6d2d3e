"""build_dataset.py's resizing of a photo, done with TensorFlow ops.

The model learned from images that build_dataset.py made with PIL: a JPEG decoded
at reduced scale (PIL's draft mode), turned upright as its EXIF note says, made RGB,
resized to size x size with PIL's bilinear filter and stored as a JPEG of quality 95.
A new photo has to go through the same steps to look like what the model saw.
One exception, the same in both: a colour JPEG that already is size x size and upright
is kept byte for byte (see `keeps_as_is`), so build_dataset.py gives back its own files
unchanged and predict.py sees in them what evaluate.py sees.

They are done here in the graph, not with PIL, so that the exported SavedModel,
which a server runs without Python, computes exactly what predict.py computes: both
call `resize_like_build_dataset`. Each step follows PIL's own arithmetic (libjpeg's
accurate integer DCT, Pillow's fixed-point filter weights, and the order of the two
resize passes of the Pillow installed beside this code, see `pil_runs_vertical_pass_first`),
so the pixels are build_dataset.py's; tests/test_image_resize.py compares them with
build_dataset.py's files on pictures of many shapes and modes.
"""
import PIL

from model.core.tf_compat import tf
from vision.image_files import EXIF_ORIENTATION, JPEG_QUALITY, PNG_SIGNATURE  # the facts build_dataset.py uses too

# Pillow computes its resize with integer weights of 22 fractional bits (32 - 8 - 2).
PRECISION_BITS = 22

# Where an EXIF block is looked for: the Exif APP1 segment comes right after the JPEG's first markers.
EXIF_SEARCH_BYTES = 1 << 17
# The APP1 marker, two bytes of segment length (any value), then the Exif header.
EXIF_SIGNATURE = {0: 0xFF, 1: 0xE1, 4: ord('E'), 5: ord('x'), 6: ord('i'), 7: ord('f'), 8: 0, 9: 0}
EXIF_SIGNATURE_LENGTH = 10  # the TIFF block follows
TIFF_SHORT = 3


def decode_like_draft(image_string, size):
    """Decode to uint8 RGB; a JPEG at 1/2, 1/4 or 1/8 scale if still at least `size`, as PIL's draft mode."""
    def decode_jpeg():
        height_width = tf.image.extract_jpeg_shape(image_string)[:2]
        scale = tf.reduce_min(height_width // size)
        # The largest of 1, 2, 4, 8 not above `scale`. The ratio is an attribute of the op,
        # not an input: one decoding op per ratio, and the graph picks one.
        index = tf.reduce_sum(tf.cast(scale >= tf.constant([2, 4, 8]), tf.int32))
        return tf.switch_case(index, [
            # PIL decodes with libjpeg's default DCT, the accurate integer one.
            lambda ratio=ratio: tf.image.decode_jpeg(image_string, channels=3, ratio=ratio,
                                                     dct_method='INTEGER_ACCURATE')
            for ratio in (1, 2, 4, 8)])

    # Grayscale, palette and RGBA images become RGB as with PIL's convert('RGB'): gray is
    # repeated in the three channels, the alpha channel is dropped. A 16-bit PNG keeps the
    # high byte of each value, as build_dataset.py does (see to_rgb in vision/photos.py). CMYK JPEGs are
    # turned into RGB the way PIL does.
    image = tf.cond(tf.image.is_jpeg(image_string), decode_jpeg,
                    lambda: tf.image.decode_image(image_string, channels=3, expand_animations=False))
    image.set_shape([None, None, 3])
    return image


def exif_orientation(image_string):
    """The EXIF Orientation of a JPEG (1 to 8), or 1 if it has none: what PIL's getexif() reads.

    The TIFF block after the Exif header starts with its byte order ('II' or 'MM'),
    then the offset of its first directory; each entry of the directory is 12 bytes:
    tag, type, count, value.
    """
    data = tf.cast(tf.io.decode_raw(tf.strings.substr(image_string, 0, EXIF_SEARCH_BYTES), tf.uint8), tf.int64)
    num_bytes = tf.size(data, out_type=tf.int64)
    num_starts = tf.maximum(num_bytes - EXIF_SIGNATURE_LENGTH + 1, 0)
    found = tf.ones([num_starts], tf.bool)
    for position, value in EXIF_SIGNATURE.items():
        found = found & tf.equal(data[position:position + num_starts], value)
    # The first match; past the end if none (a True appended: argmax of nothing fails).
    first_match = tf.argmax(tf.cast(tf.concat([found, [True]], 0), tf.int32), output_type=tf.int64)
    tiff_start = first_match + EXIF_SIGNATURE_LENGTH
    # A zero past the end: an offset pointing outside the file reads zeros instead of failing.
    padded = tf.concat([data, [0]], axis=0)
    little_endian = tf.equal(padded[tf.minimum(tiff_start, num_bytes)], ord('I'))

    def read(offsets, width):
        """The unsigned integers of `width` bytes at `offsets` of the TIFF block, in its byte order."""
        positions = tiff_start + offsets[..., None] + tf.range(width, dtype=tf.int64)
        values = tf.gather(padded, tf.clip_by_value(positions, 0, num_bytes))
        powers = 256 ** tf.range(width, dtype=tf.int64)
        return tf.reduce_sum(values * tf.where(little_endian, powers, tf.reverse(powers, [0])), axis=-1)

    directory = read(tf.constant(4, tf.int64), 4)
    num_entries = tf.minimum(read(directory, 2), 1000)
    entries = directory + 2 + 12 * tf.range(num_entries, dtype=tf.int64)
    is_orientation = tf.equal(read(entries, 2), EXIF_ORIENTATION) & tf.equal(read(entries + 2, 2), TIFF_SHORT)
    values = tf.boolean_mask(read(entries + 8, 2), is_orientation)
    orientation = tf.cond(tf.reduce_any(found) & (tf.size(values) > 0), lambda: values[0],
                          lambda: tf.constant(1, tf.int64))
    # Like PIL, a value outside 1..8 means no turn.
    return tf.where((orientation >= 1) & (orientation <= 8), orientation, tf.constant(1, tf.int64))


def exif_transpose(image, orientation):
    """Turn the image upright as PIL's ImageOps.exif_transpose does for each EXIF orientation."""
    return tf.switch_case(tf.cast(orientation - 1, tf.int32), [
        lambda: image,                                          # 1: upright
        lambda: tf.image.flip_left_right(image),                # 2: mirrored
        lambda: tf.image.rot90(image, 2),                       # 3: upside down
        lambda: tf.image.flip_up_down(image),                   # 4: mirrored upside down
        lambda: tf.image.transpose(image),                      # 5: mirrored, on its side
        lambda: tf.image.rot90(image, 3),                       # 6: on its side (the usual phone photo)
        lambda: tf.image.rot90(tf.image.transpose(image), 2),   # 7: mirrored, on its other side
        lambda: tf.image.rot90(image, 1),                       # 8: on its other side
    ])


def pil_bilinear_weights(in_size, out_size):
    """The [out_size, in_size] int32 weights of PIL's bilinear resize along one axis, in its fixed point.

    As in Pillow's precompute_coeffs: when shrinking, the triangle filter is widened by
    the scale (so every input pixel counts); the weights of each output pixel are
    normalised to sum to one, then rounded to PRECISION_BITS fractional bits.
    """
    in_size = tf.cast(in_size, tf.float64)
    scale = in_size / out_size
    filter_scale = tf.maximum(scale, 1.)
    support = filter_scale  # the bilinear filter reaches 1 pixel, times the scale
    center = (tf.range(out_size, dtype=tf.float64)[:, None] + 0.5) * scale
    first = tf.maximum(tf.floor(center - support + 0.5), 0.)
    end = tf.minimum(tf.floor(center + support + 0.5), in_size)
    x = tf.range(in_size, dtype=tf.float64)[None, :]
    weights = tf.maximum(1. - tf.abs((x - center + 0.5) * (1. / filter_scale)), 0.)
    weights = tf.where((x >= first) & (x < end), weights, tf.zeros_like(weights))
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)
    return tf.cast(tf.floor(0.5 + weights * 2. ** PRECISION_BITS), tf.int32)


def _resample(image, weights, equation):
    """One pass of PIL's resize: integer sums, plus one half, back to 8 bits, clipped to [0, 255]."""
    total = tf.einsum(equation, weights, image)  # at most 255 * 2**22 * (1 + rounding): fits in int32
    return tf.clip_by_value(tf.bitwise.right_shift(total + (1 << (PRECISION_BITS - 1)), PRECISION_BITS), 0, 255)


def pil_runs_vertical_pass_first(pil_version=None):
    """Whether this Pillow version may begin a resize with its vertical pass (Pillow 13 on).

    Pillow 13 runs the vertical pass first when the height shrinks more than twice as much
    as the width; earlier versions always begin with the horizontal one (Pillow 12 is the
    last for Python 3.10). Each pass rounds to 8 bits, so the order shows in the pixels,
    by one grey level here and there. `pil_version` is a version string such as '12.3.0';
    None means the installed Pillow, the one build_dataset.py resizes with: the graph is
    built to match it, and an exported SavedModel keeps the order of the environment that
    exported it.
    """
    version = PIL.__version__ if pil_version is None else pil_version
    return int(version.split('.')[0]) >= 13


def pil_bilinear_resize(image, size, pil_version=None):
    """Resize a uint8 RGB image to size x size exactly as PIL's image.resize((size, size), BILINEAR).

    `pil_version`: the Pillow whose order of passes to follow; None for the installed one.
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    pixels = tf.cast(image, tf.int32)

    def horizontal(pixels):
        return _resample(pixels, pil_bilinear_weights(width, size), 'ox,yxc->yoc')

    def vertical(pixels):
        return _resample(pixels, pil_bilinear_weights(height, size), 'oy,yxc->oxc')

    if pil_runs_vertical_pass_first(pil_version):
        vertical_first = (height > size) & (height - size > 2 * (width - size))
        resized = tf.cond(vertical_first, lambda: horizontal(vertical(pixels)),
                          lambda: vertical(horizontal(pixels)))
    else:
        resized = vertical(horizontal(pixels))
    resized.set_shape([size, size, 3])
    return tf.cast(resized, tf.uint8)


def keeps_as_is(image_string, orientation, size):
    """Whether build_dataset.py copies this encoded image unchanged (see keeps_as_is in vision/photos.py).

    Only a JPEG whose stored frame is size x size, with three colour components and no
    EXIF turn: the size before any reduced-scale decoding counts, since a 128x128 JPEG
    that decodes at 1/2 scale to 64x64 is still compressed again by build_dataset.py.
    """
    def jpeg_frame_fits():
        height, width, channels = tf.unstack(tf.image.extract_jpeg_shape(image_string))
        return tf.equal(height, size) & tf.equal(width, size) & tf.equal(channels, 3)

    return tf.cond(tf.image.is_jpeg(image_string) & tf.equal(orientation, 1), jpeg_frame_fits,
                   lambda: tf.constant(False))


def resize_like_build_dataset(image_string, size, pil_version=None):
    """The JPEG that build_dataset.py would write for an encoded image (a scalar string tensor).

    Decoded, the result has the pixels of build_dataset.py's file for the same image,
    for any size (tests/test_image_resize.py checks every reduced-scale decoding and its edges),
    when build_dataset.py runs with the Pillow installed here (or version `pil_version`).
    A JPEG that build_dataset.py keeps as it is (see keeps_as_is) is returned as it is.
    """
    is_jpeg = tf.image.is_jpeg(image_string)
    is_png = tf.equal(tf.strings.substr(image_string, 0, len(PNG_SIGNATURE)), PNG_SIGNATURE)
    # build_dataset.py reads JPEG and PNG only; TensorFlow would decode GIF, BMP or WebP too, differently from PIL.
    readable = tf.debugging.Assert(is_jpeg | is_png, ['Not a JPEG or PNG image'])
    with tf.control_dependencies([readable]):
        image_string = tf.identity(image_string)
    orientation = tf.cond(is_jpeg, lambda: exif_orientation(image_string), lambda: tf.constant(1, tf.int64))

    def build():
        image = decode_like_draft(image_string, size)
        resized = pil_bilinear_resize(exif_transpose(image, orientation), size, pil_version)
        return tf.image.encode_jpeg(resized, quality=JPEG_QUALITY)

    return tf.cond(keeps_as_is(image_string, orientation, size), lambda: image_string, build)
