"""vision/image_check.py: which image tf.data failed on, found as TensorFlow decodes it."""
import os

from PIL import Image

from vision.image_check import find_bad_image
from vision.image_files import list_images


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


