"""vision/signs_h5.py: the HDF5 version of SIGNS (train_signs.h5, test_signs.h5) built like the folders of photos."""
import os

import numpy as np
import pytest

from build_dataset import build
from model.core.errors import InputError


def listing(folder):
    return sorted(os.listdir(folder))


def test_hdf5_version_of_signs(tmp_path):
    import h5py
    rng = np.random.default_rng(1)
    raw = tmp_path / 'h5'
    raw.mkdir()
    for split, prefix, count in (('train_signs', 'train_set', 30), ('test_signs', 'test_set', 12)):
        with h5py.File(raw / (split + '.h5'), 'w') as f:
            f[prefix + '_x'] = (rng.random((count, 64, 64, 3)) * 255).astype(np.uint8)
            f[prefix + '_y'] = np.arange(count) % 6
            f['list_classes'] = np.arange(6)
    counts = build(str(raw), str(tmp_path / 'out'), jobs=1)
    assert counts == {'train_signs': 24, 'dev_signs': 6, 'test_signs': 12}
    assert '5_IMG_0005.jpg' in listing(tmp_path / 'out' / 'test_signs')


@pytest.mark.parametrize('train, test', [(1, 5), (6, 0)])
def test_hdf5_with_too_few_images(tmp_path, train, test):
    import h5py
    raw = tmp_path / 'h5'
    raw.mkdir()
    for split, prefix, count in (('train_signs', 'train_set', train), ('test_signs', 'test_set', test)):
        with h5py.File(raw / (split + '.h5'), 'w') as f:
            f[prefix + '_x'] = np.zeros((count, 64, 64, 3), np.uint8)
            f[prefix + '_y'] = np.arange(count) % 6
    name = 'train_signs.h5' if train < 2 else 'test_signs.h5'
    with pytest.raises(InputError, match=r'{} holds {} image\(s\): at least {} are needed'.format(
            name, min(train, test), 2 if train < 2 else 1)):
        build(str(raw), str(tmp_path / 'out'), jobs=1)
    assert listing(tmp_path) == ['h5']
