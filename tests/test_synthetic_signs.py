"""Tests for synthetic_signs: file layout, determinism, refusal to overwrite,
and that the pictures are a real (but not colour-trivial) learning problem."""

import dataclasses
import os
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from helpers.images import make_raw
from model.core.errors import InputError
from vision import synthetic_signs
from vision.synthetic_signs import draw_sign, write_synthetic_signs

SIZE = 96


def _listing(folder):
    return sorted(os.listdir(folder))


def _all_bytes(data_dir):
    files = {}
    for split in ("train_signs", "test_signs"):
        for name in _listing(os.path.join(data_dir, split)):
            with open(os.path.join(data_dir, split, name), "rb") as f:
                files[(split, name)] = f.read()
    return files


def _nearest_centroid_accuracy(features, labels):
    """Fit class means on the first half, score on the second half."""
    half = len(labels) // 2
    train_x, train_y = features[:half], labels[:half]
    test_x, test_y = features[half:], labels[half:]
    centroids = np.stack([train_x[train_y == k].mean(axis=0) for k in range(6)])
    distances = ((test_x[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    return float((distances.argmin(axis=1) == test_y).mean())


def _canonical(hand):
    """Same hand, but upright, right-handed, centred and at a fixed scale."""
    return dataclasses.replace(hand, center=(0.5, 0.6), angle=0.0, scale=0.9, mirrored=False)


# ------------------------------------------------------------------- files --


def test_writes_balanced_splits_of_named_rgb_jpegs(tmp_path):
    written = write_synthetic_signs(tmp_path, num_train=72, num_test=24, seed=1, size=SIZE)
    assert written == 96

    train = _listing(tmp_path / "train_signs")
    test = _listing(tmp_path / "test_signs")
    assert (len(train), len(test)) == (72, 24)

    for names in (train, test):
        labels = Counter(int(name[0]) for name in names)
        assert labels == {k: len(names) // 6 for k in range(6)}
        for name in names:
            label, tag, image_id = name[:-4].split("_")
            assert name.endswith(".jpg") and tag == "IMG" and image_id.isdigit()
            assert label in "012345"

    ids = [name.split("_")[2] for name in train + test]
    assert len(set(ids)) == len(ids), "ids must be unique across both splits"

    for split, names in (("train_signs", train), ("test_signs", test)):
        for name in names[:12]:
            with Image.open(tmp_path / split / name) as image:
                assert image.format == "JPEG"
                assert image.mode == "RGB"
                assert image.size == (SIZE, SIZE)
                assert min(image.size) > 64


def test_draw_sign_returns_rgb_image_and_rejects_bad_labels():
    rng = np.random.default_rng(0)
    image = draw_sign(3, rng, size=80)
    assert image.mode == "RGB" and image.size == (80, 80)
    for bad in (-1, 6):
        with pytest.raises(ValueError):
            draw_sign(bad, rng)


def test_progress_wraps_the_loop(tmp_path):
    seen = []

    def progress(items):
        for item in items:
            seen.append(item)
            yield item

    write_synthetic_signs(tmp_path, num_train=6, num_test=6, size=SIZE, progress=progress)
    assert len(seen) == 12


# ------------------------------------------------------------- determinism --


def test_same_seed_gives_identical_bytes_and_new_seed_differs(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_synthetic_signs(tmp_path / name, num_train=30, num_test=12, seed=seed, size=SIZE)
    first, again, other = (_all_bytes(tmp_path / name) for name in "abc")
    assert first == again
    assert first.keys() == other.keys()
    assert all(first[key] != other[key] for key in first)


# ---------------------------------------------------------------- refusal --


@pytest.mark.parametrize("split", ["train_signs", "test_signs"])
@pytest.mark.parametrize("existing", ["0_IMG_5864.jpg", "photo.JPEG", "x.png"])
def test_refuses_folders_that_already_hold_images(tmp_path, split, existing):
    folder = tmp_path / split
    folder.mkdir()
    (folder / existing).write_bytes(b"real data")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    with pytest.raises(FileExistsError) as error:
        write_synthetic_signs(tmp_path, num_train=6, num_test=6, size=SIZE)

    message = str(error.value)
    assert str(tmp_path) in message and "--data_dir" in message and "\n" not in message
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (folder / existing).read_bytes() == b"real data"


def test_other_files_do_not_block_writing(tmp_path):
    (tmp_path / "train_signs").mkdir()
    (tmp_path / "train_signs" / "README.txt").write_text("notes")
    assert write_synthetic_signs(tmp_path, num_train=6, num_test=6, size=SIZE) == 12


# ------------------------------------------------------- learning problem --


@pytest.fixture(scope="module")
def random_pictures():
    """600 pictures as drawn for the data set, as (N, pixels, 3) floats, and their labels."""
    rng = np.random.default_rng(0)
    labels = np.arange(600) % 6
    pixels = np.stack([np.asarray(draw_sign(k, rng, size=64), float).reshape(-1, 3) for k in labels])
    return pixels, labels


def test_mean_colour_does_not_reveal_the_class(random_pictures):
    # Skin tone, background and hand size are drawn from one distribution
    # for all classes, so the average colour should be close to useless.
    pixels, labels = random_pictures
    assert _nearest_centroid_accuracy(pixels.mean(axis=1), labels) < 0.35


def test_colour_spread_does_not_reveal_the_class(random_pictures):
    # Mean and spread of each channel is more sensitive than the mean alone:
    # it would catch a skin tone or hand size that depends on the label.
    pixels, labels = random_pictures
    features = np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)
    assert _nearest_centroid_accuracy(features, labels) < 0.35


def test_hand_area_does_not_reveal_the_class():
    # Raised fingers add skin, but folded ones still show as knuckles and
    # pose, scale and forearm vary, so area alone should be a poor guide.
    rng = np.random.default_rng(2)
    labels = np.arange(1200) % 6
    areas = [
        (np.asarray(synthetic_signs.hand_mask(synthetic_signs.sample_hand(k, rng), 64)) > 0).mean()
        for k in labels
    ]
    assert _nearest_centroid_accuracy(np.array(areas)[:, None], labels) < 0.35


def test_hand_shape_reveals_the_class_in_a_fixed_pose():
    # With pose pinned down (colours, lighting, finger jitter, blur still
    # random) even a template matcher on 16x16 grey pixels should clearly
    # beat chance (1/6): the class lives in the shape of the hand.
    rng = np.random.default_rng(1)
    labels = np.arange(600) % 6
    pixels = []
    for k in labels:
        hand = _canonical(synthetic_signs.sample_hand(k, rng))
        grey = synthetic_signs.render_hand(hand, size=64).convert("L").resize((16, 16))
        pixels.append(np.asarray(grey, float).ravel())
    pixels = np.stack(pixels)
    # Normalise contrast: dark and light skin on light walls should look alike.
    pixels = (pixels - pixels.mean(axis=1, keepdims=True)) / pixels.std(axis=1, keepdims=True)
    assert _nearest_centroid_accuracy(pixels, labels) > 0.6


def _runs(row):
    """Number of separate stretches of hand along one row of a mask."""
    on = np.concatenate([[0], (row > 0).astype(int), [0]])
    return int((np.diff(on) == 1).sum())


@pytest.mark.parametrize("label", range(6))
def test_silhouette_shows_the_right_fingers(label):
    # Look at the bare silhouette of upright hands, in palm-width units:
    # - a row well above the palm crosses exactly the raised long fingers;
    # - a row just above the palm crosses all four fingers, raised or folded
    #   (folded ones as knuckles; neighbours may touch now and then);
    # - only the open hand reaches out sideways with its thumb.
    rng = np.random.default_rng(100 + label)
    side, samples = 256, 20
    unit = synthetic_signs.PALM_FRACTION * 0.9 * side  # palm width in pixels
    cx, cy = 0.5 * side, 0.6 * side
    four_at_knuckles = 0
    for _ in range(samples):
        hand = _canonical(synthetic_signs.sample_hand(label, rng))
        mask = np.asarray(synthetic_signs.hand_mask(hand, side))
        assert _runs(mask[int(cy - 0.76 * unit)]) == min(label, 4)
        knuckle_row = mask[int(cy - (hand.palm_height / 2 + 0.04) * unit)]
        four_at_knuckles += _runs(knuckle_row) == 4
        beside_palm = mask[int(cy - 0.6 * unit) : int(cy + 0.15 * unit), : int(cx - 0.62 * unit)]
        assert beside_palm.any() == (label == 5)
    assert four_at_knuckles >= 0.9 * samples


def test_both_left_and_right_hands_appear():
    # The thumb of an open hand sticks out on the left for one hand and on
    # the right for the other; a data set of only one side would be poorer.
    rng = np.random.default_rng(3)
    side = 256
    unit = synthetic_signs.PALM_FRACTION * 0.9 * side
    cx, cy = 0.5 * side, 0.6 * side
    rows = slice(int(cy - 0.6 * unit), int(cy + 0.15 * unit))
    sides = Counter()
    for _ in range(30):
        sampled = synthetic_signs.sample_hand(5, rng)
        hand = dataclasses.replace(_canonical(sampled), mirrored=sampled.mirrored)
        mask = np.asarray(synthetic_signs.hand_mask(hand, side))
        left = mask[rows, : int(cx - 0.62 * unit)].any()
        right = mask[rows, int(cx + 0.62 * unit) :].any()
        assert left != right, "exactly one thumb, on one side"
        sides["left" if left else "right"] += 1
    assert sides["left"] >= 5 and sides["right"] >= 5


# ---------------------------------------------------------------- manifest --


def test_manifest_recognises_exactly_the_written_set(tmp_path):
    settings = dict(num_train=12, num_test=6, seed=3, size=SIZE)
    write_synthetic_signs(tmp_path, **settings)
    assert synthetic_signs.is_synthetic_set(tmp_path, **settings) == (True, "")
    # Other settings, a changed file, an extra image, a missing one: not the set.
    assert not synthetic_signs.is_synthetic_set(tmp_path, **dict(settings, seed=4))[0]
    first = tmp_path / "train_signs" / _listing(tmp_path / "train_signs")[0]
    data = first.read_bytes()
    first.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert synthetic_signs.is_synthetic_set(tmp_path, **settings) == (False, f"train_signs/{first.name} was changed")
    first.write_bytes(data)
    (tmp_path / "test_signs" / "5_IMG_mine.png").write_bytes(b"x")
    assert synthetic_signs.is_synthetic_set(tmp_path, **settings) == (False, "other images (test_signs/5_IMG_mine.png)")
    (tmp_path / "test_signs" / "5_IMG_mine.png").unlink()
    (tmp_path / "test_signs" / "notes.txt").write_text("not an image: does not count")
    assert synthetic_signs.is_synthetic_set(tmp_path, **settings)[0]
    first.unlink()
    assert synthetic_signs.is_synthetic_set(tmp_path, **settings) == (False, "images are missing")


def test_no_manifest_is_not_the_set(tmp_path):
    assert not synthetic_signs.is_synthetic_set(tmp_path)[0]
    (tmp_path / synthetic_signs.MANIFEST).write_text("[not, json")
    assert not synthetic_signs.is_synthetic_set(tmp_path)[0]


def test_synthetic_into_a_folder_of_other_images_says_what_to_type(tmp_path):
    raw = make_raw(str(tmp_path / 'my signs'))
    before = {split: _listing(os.path.join(raw, split)) for split in ('train_signs', 'test_signs')}
    with pytest.raises(InputError) as error:
        synthetic_signs.write_or_reuse_synthetic_signs(raw)
    assert str(error.value) == (
        "{} holds images that are not the synthetic set (no valid synthetic_signs.json written with the synthetic "
        "set): to write it again, delete the folder first (rm -r '{}'), or pass another --data_dir".format(raw, raw))
    assert {split: _listing(os.path.join(raw, split)) for split in ('train_signs', 'test_signs')} == before
