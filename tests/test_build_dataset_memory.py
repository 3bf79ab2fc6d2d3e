"""build_dataset.py on huge images: memory stays bounded (each test in a process of its own, to read its peak).

(Re-filed from test_reliability.py; their place is with the other build tests, tests/test_build_dataset.py.)"""
import os
import struct
import subprocess
import sys
import zlib

import pytest
from PIL import Image

from helpers import ROOT, listing


def write_png_bomb(path, side):
    """A black-and-white PNG of side x side pixels, a few hundred kB on disk (rows of zeros compress well)."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    compressor = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)  # filter byte + one bit per pixel
    body = b''.join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack('>IIBBBBB', side, side, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', body) + chunk(b'IEND', b''))


# Peak memory from VmHWM: ru_maxrss would also count the parent's memory at fork (Linux keeps it across exec).
RESIZE_AND_REPORT_MEMORY = """
import re, sys, warnings
from build_dataset import resize_and_save
warnings.simplefilter('ignore')  # PIL's DecompressionBombWarning
error = resize_and_save(sys.argv[1], sys.argv[2], 64)
print(error or 'resized')
print(int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) // 1024)
"""


@pytest.mark.parametrize('kind, side, outcome', [
    ('jpeg', 8000, 'resized'),  # 64 M pixels: decoded at 1/8 scale (draft mode)
    ('png', 12000, 'skipped'),  # 144 M pixels, PNG cannot be decoded at a smaller scale
    ('png', 20000, 'skipped'),  # 400 M pixels: PIL's decompression bomb limit
])
@pytest.mark.skipif(not os.path.exists('/proc/self/status'), reason='reads peak memory from /proc (Linux)')
def test_huge_image_at_build_time_uses_bounded_memory(tmp_path, kind, side, outcome):
    path = str(tmp_path / ('0_IMG_huge.' + ('jpg' if kind == 'jpeg' else 'png')))
    if kind == 'jpeg':
        Image.new('L', (side, side), 90).save(path, quality=90)
    else:
        write_png_bomb(path, side)
    out = tmp_path / 'out'
    out.mkdir()
    result = subprocess.run([sys.executable, '-c', RESIZE_AND_REPORT_MEMORY, path, str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    message, peak_mb = result.stdout.splitlines()
    # Python with PIL alone is about 25 MB; a full decode of these images would be 190 MB or more.
    assert int(peak_mb) < 120, result.stdout
    if outcome == 'resized':
        assert message == 'resized' and Image.open(out / '0_IMG_huge.jpg').size == (64, 64)
    else:
        assert 'pixels' in message and listing(out) == []


