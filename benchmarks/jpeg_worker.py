"""build_dataset.py on large photos against a plain one-process PIL loop; prints one JSON line.

    python benchmarks/jpeg_worker.py --work_dir DIR [--num_images 48] [--side 3000] [--grain 2]

The photos are generated once into work_dir (kept for the next run): smooth shapes and
colours with sensor-like noise, saved as JPEG at quality 90, about 0.9 MB each like the
course's 3024x3024 phone photos (SIGNS: 1.16 GB for 1200 photos). Decoding time grows
with the file size: --grain 6 gives 2.3 MB photos, harder for both contenders.
Both contenders read the same files and write 64x64 JPEGs. The loop is the course's
build_dataset.py (open, resize, save); the time of ours is that of its build() function
(listing, the process pool, writing and moving the splits into place).
"""
import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import build_dataset  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('--work_dir', required=True, help="Where the photos are generated (and reused) and resized")
parser.add_argument('--num_images', type=int, default=48, help="Photos to resize")
parser.add_argument('--side', type=int, default=3000, help="Side of the square photos, in pixels")
parser.add_argument('--grain', type=float, default=2.0,
                    help="Noise in the photos (standard deviation, 0-255 scale): 2 gives about 1 MB per photo")
parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1, help="build_dataset's --jobs")


def write_photo(task):
    """A side x side JPEG that compresses like a photo: low-frequency content plus grain."""
    path, side, grain, seed = task
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).resize((side, side), Image.BICUBIC)
    noise = rng.normal(0, grain, (side, side, 1)).astype(np.int16)
    pixels = np.clip(np.asarray(coarse, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def photos(raw_dir, num_images, side, grain):
    """raw_dir/{train_signs,test_signs}/{label}_IMG_{i}.jpg, generated if not already there."""
    tasks = []
    for i in range(num_images):
        split = 'test_signs' if i % 6 == 5 else 'train_signs'
        path = os.path.join(raw_dir, split, '{}_IMG_{:04d}.jpg'.format(i % 6, i))
        if not os.path.isfile(path):
            tasks.append((path, side, grain, i))
    for split in ('train_signs', 'test_signs'):
        os.makedirs(os.path.join(raw_dir, split), exist_ok=True)
    if tasks:
        with multiprocessing.get_context('spawn').Pool() as pool:
            pool.map(write_photo, tasks)
    return sorted(os.path.join(raw_dir, split, name) for split in ('train_signs', 'test_signs')
                  for name in os.listdir(os.path.join(raw_dir, split)))


def plain_loop(filenames, output_dir, size=64):
    """The course's build_dataset.py: open, resize, save, one file after the other."""
    os.makedirs(output_dir)
    for filename in filenames:
        image = Image.open(filename).resize((size, size), Image.BILINEAR)
        image.save(os.path.join(output_dir, os.path.basename(filename)), quality=95)


def main(args):
    raw_dir = os.path.join(args.work_dir, 'photos_{}px_{}_grain{:g}'.format(args.side, args.num_images, args.grain))
    filenames = photos(raw_dir, args.num_images, args.side, args.grain)
    loop_dir, build_dir = os.path.join(args.work_dir, 'loop_out'), os.path.join(args.work_dir, 'build_out')
    for folder in (loop_dir, build_dir):
        shutil.rmtree(folder, ignore_errors=True)

    start = time.perf_counter()
    plain_loop(filenames, loop_dir)
    loop_s = time.perf_counter() - start

    start = time.perf_counter()
    counts = build_dataset.build(raw_dir, build_dir, jobs=args.jobs)
    build_s = time.perf_counter() - start
    assert sum(counts.values()) == len(filenames), counts

    megabytes = sum(os.path.getsize(f) for f in filenames) / len(filenames) / 2 ** 20
    print(json.dumps({'num_images': len(filenames), 'side': args.side, 'mb_per_photo': megabytes,
                      'loop_s': loop_s, 'build_s': build_s, 'jobs': args.jobs}))


if __name__ == '__main__':
    main(parser.parse_args())
