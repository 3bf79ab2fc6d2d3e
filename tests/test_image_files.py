"""vision/image_files.py: one definition of "the images of a folder" for build_dataset.py, train/evaluate and predict.py."""
import os
import subprocess
import sys

import pytest
from PIL import Image

import build_dataset
from helpers import ROOT
from model.core.errors import InputError
from vision import image_files
from vision.example import list_inputs
from vision.image_files import list_images
from vision.raw_signs import list_split


@pytest.fixture
def mixed_folder(tmp_path):
    """A folder with images, hidden files, a subfolder named like an image and other files."""
    folder = tmp_path / 'train_signs'
    folder.mkdir()
    for name in ('1_IMG_b.png', '0_IMG_a.jpg', '2_IMG_c.JPG', '3_IMG_d.Jpeg', '._0_IMG_a.jpg', '.0_IMG_e.jpg'):
        Image.new('RGB', (8, 8)).save(folder / name, 'PNG' if name.endswith('png') else 'JPEG')
    (folder / '.DS_Store').write_bytes(b'\0\0\0\1Bud1')
    (folder / 'notes.txt').write_text('notes')
    (folder / '4_IMG_folder.jpg').mkdir()
    return folder


def test_the_three_listers_agree_and_skip_hidden_files(mixed_folder):
    expected = [str(mixed_folder / name) for name in ('0_IMG_a.jpg', '1_IMG_b.png', '2_IMG_c.JPG', '3_IMG_d.Jpeg')]
    assert image_files.list_image_files(str(mixed_folder)) == expected
    assert list_images(str(mixed_folder), 6) == (expected, [0, 1, 2, 3])
    assert list_inputs([str(mixed_folder)]) == expected
    skipped = []
    assert list_split(str(mixed_folder), 6, skipped) == expected
    # Only the visible file that is not an image is reported; hidden files are nobody's business.
    assert skipped == ['{}: not an image file (.jpg, .jpeg, .png)'.format(mixed_folder / 'notes.txt')]


def test_scan_folder_sorts_by_name_and_separates_other_files(mixed_folder):
    images, others = image_files.scan_folder(str(mixed_folder))
    assert [os.path.basename(p) for p in images] == ['0_IMG_a.jpg', '1_IMG_b.png', '2_IMG_c.JPG', '3_IMG_d.Jpeg']
    assert others == [str(mixed_folder / 'notes.txt')]


@pytest.mark.parametrize('name, label', [('3_IMG_1.jpg', 3), ('0.png', 0), ('x_IMG.jpg', None),
                                         ('_3.jpg', None), ('\u0663_IMG.jpg', None), ('', None)])
def test_label_from_name(name, label):
    assert image_files.label_from_name(os.path.join('some dir', name)) == label


@pytest.mark.parametrize('name, label', [('12_whiskers.jpg', 12), ('3_IMG_1.jpg', 3), ('0_a_b.png', 0),
                                         ('12whiskers.jpg', None), ('_3.jpg', None), ('x_1.jpg', None),
                                         ('\u0663_IMG.jpg', None), ('', None)])
def test_label_index_from_name(name, label):
    """The names build_dataset.py gives the images of class folders: any number of classes."""
    assert image_files.label_index_from_name(os.path.join('some dir', name)) == label


def test_images_of_class_folders_are_listed_with_labels_past_nine(tmp_path):
    for name in ('0_cat 1.jpg', '11_yak.jpg', '3_IMG_2.jpg'):
        Image.new('RGB', (8, 8)).save(tmp_path / name)
    assert list_images(str(tmp_path), 12, class_folders=True)[1] == [0, 11, 3]  # sorted by name
    assert list_images(str(tmp_path), 6)[1] == [0, 1, 3]  # SIGNS reads the first digit, as it always has
    with pytest.raises(InputError, match=r"11_yak.jpg: the name must start with its label and '_', a number from 0 "
                                         r"to 9, as build_dataset.py names the images of class folders"):
        list_images(str(tmp_path), 10, class_folders=True)


def test_labels_out_of_range_are_named(tmp_path):
    Image.new('RGB', (8, 8)).save(tmp_path / '0_IMG_1.jpg')
    Image.new('RGB', (8, 8)).save(tmp_path / '6_IMG_2.jpg')
    with pytest.raises(InputError, match=r'6_IMG_2.jpg: the name must start with its label, a digit from 0 to 5 '
                                         r'\(num_labels in params.json is 6\)'):
        list_images(str(tmp_path), 6)
    assert list_images(str(tmp_path), 7)[1] == [0, 6]


def test_shared_constants_and_modules_have_one_home():
    # Importing the lister costs no TensorFlow: build_dataset.py's worker processes import it.
    code = 'import sys, vision.image_files, vision.synthetic_signs, vision.photos; sys.exit("tensorflow" in sys.modules)'
    assert subprocess.run([sys.executable, '-c', code], cwd=ROOT).returncode == 0
    # The synthetic set is a library module under vision/, not a script beside build_dataset.py.
    assert not os.path.exists(os.path.join(ROOT, 'synthetic_signs.py'))
    # The facts the PIL side (build_dataset.py) and the graph side (predict.py, export.py) share are written once.
    readers = ['build_dataset.py'] + [os.path.join('vision', name) for name in (
        'photos.py', 'raw_signs.py', 'signs_h5.py', 'image_resize.py', 'image_cache.py', 'image_check.py')]
    for module in readers:
        with open(os.path.join(ROOT, module)) as f:
            source = f.read()
        assert 'JPEG_QUALITY = ' not in source and '\nSIZE = ' not in source, module
        assert '0x0112' not in source and 'EXIF_ORIENTATION = ' not in source, module
        assert 'PNG\\r' not in source and 'PNG_SIGNATURE = ' not in source, module
    assert build_dataset.SIZE == image_files.SIZE == 64 and image_files.JPEG_QUALITY == 95
    assert image_files.EXIF_ORIENTATION == 0x0112 and image_files.PNG_SIGNATURE == b'\x89PNG\r\n\x1a\n'
    assert build_dataset.SPLIT_SEED == 230
