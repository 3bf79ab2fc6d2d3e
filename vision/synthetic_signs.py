"""Synthetic stand-in for the CS230 SIGNS hand-sign data set.

The real SIGNS set has photos of a hand showing 0 to 5 raised fingers
(0 = fist, 1 = index, 2 = index + middle, 3 = three fingers, 4 = four fingers,
5 = open hand with the thumb out), stored as ``train_signs/`` and
``test_signs/`` folders of JPEGs named ``{label}_IMG_{id}.jpg``.  This module
draws a look-alike data set with the same layout so the project can be run
end to end without downloading anything.

The drawings are meant to be a real, if easy, learning problem for a small CNN
at 64x64: the class is only visible in the shape of the hand (how many fingers
stick out), while everything that could leak the label cheaply is sampled from
the same distribution for every class -- position, rotation, scale, skin tone,
background colour, lighting, blur and JPEG quality.  Folded fingers are drawn
as knuckle bumps so the amount of skin in the picture is not a good proxy for
the label either.

Drawing is split in two steps so tests (and curious users) can control the
pose: ``sample_hand`` draws every random choice into a ``Hand`` record, and
``render_hand`` turns a ``Hand`` into a picture without using any randomness.
``draw_sign`` simply chains the two.
"""

import dataclasses
import hashlib
import json
import logging
import os
import shlex

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from tqdm import tqdm

from model.core.errors import InputError
from model.core.interrupts import sigint_deferred
from model.core.params import SEED
from vision.image_files import is_image_name, scan_folder
from vision.staging import temporary_folder_beside

NUM_CLASSES = 6

# Which of the four long fingers (index, middle, ring, pinky) are raised for
# each label; the thumb is only out for the open hand, as in the real set.
RAISED_FINGERS = {
    0: (),
    1: (0,),
    2: (0, 1),
    3: (0, 1, 2),
    4: (0, 1, 2, 3),
    5: (0, 1, 2, 3),
}
# Finger lengths relative to the middle finger: index, middle, ring, pinky.
FINGER_LENGTHS = (0.90, 1.00, 0.93, 0.72)

# Skin tones from dark to light; a tone is a random point on this polyline, so
# every class sees the same spread of tones.
SKIN_TONES = np.array(
    [(72, 46, 32), (120, 76, 50), (168, 112, 78), (208, 154, 118), (240, 204, 178)],
    dtype=float,
)

# Size of the palm at scale 1, as a fraction of the image side.
PALM_FRACTION = 0.32


@dataclasses.dataclass(frozen=True)
class Hand:
    """Every random choice behind one drawing, in hand units (palm width = 1)."""

    label: int
    center: tuple  # palm centre, as fractions of the image side (x, y)
    angle: float  # degrees, counter-clockwise; 0 = fingers pointing up
    scale: float  # palm width relative to PALM_FRACTION of the image side
    mirrored: bool  # left hand instead of right hand
    palm_height: float
    finger_length: float
    finger_width: float
    finger_spacing: float
    finger_spread: float  # degrees between neighbouring fingers
    finger_jitter: tuple  # per-finger extra length, 4 values
    thumb_angle: float  # degrees away from vertical for a raised thumb
    skin: tuple  # RGB
    background: tuple  # RGB
    gradient: tuple  # (dx, dy) background brightness change across the image, grey levels
    light: tuple  # (dx, dy) relative skin brightness change per palm width
    noise: float  # std of the grey sensor noise, in grey levels
    blur: float  # Gaussian blur radius in output pixels
    seed: int  # seeds the sensor noise pattern


def sample_hand(label, rng):
    """Draw all random parameters for one picture of `label` raised fingers."""
    if label not in RAISED_FINGERS:
        raise ValueError(f"label must be an integer 0..5, got {label!r}")
    return Hand(
        label=int(label),
        center=(rng.uniform(0.40, 0.60), rng.uniform(0.58, 0.68)),
        angle=rng.uniform(-25.0, 25.0),
        scale=rng.uniform(0.7, 1.1),
        mirrored=bool(rng.integers(2)),
        palm_height=rng.uniform(0.95, 1.10),
        finger_length=rng.uniform(0.85, 1.05),
        finger_width=rng.uniform(0.19, 0.23),
        finger_spacing=rng.uniform(0.25, 0.28),
        finger_spread=rng.uniform(3.0, 11.0),
        finger_jitter=tuple(rng.uniform(-0.06, 0.06, size=4)),
        thumb_angle=rng.uniform(35.0, 60.0),
        skin=_sample_skin(rng),
        background=tuple(255.0 - rng.uniform(8.0, 85.0, size=3)),
        gradient=tuple(rng.uniform(-25.0, 25.0, size=2)),
        light=tuple(rng.uniform(-0.12, 0.12, size=2)),
        noise=rng.uniform(1.0, 4.0),
        blur=rng.uniform(0.0, 0.9),
        seed=int(rng.integers(2**31)),
    )


def _sample_skin(rng):
    # Piecewise-linear interpolation along SKIN_TONES plus a little tint so no
    # two hands share exactly the same colour.
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    tone = SKIN_TONES[i] + (t - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    tone = tone + rng.normal(0.0, 6.0, size=3)
    return tuple(np.clip(tone, 0, 255))


# ---------------------------------------------------------------- geometry --
# Shapes are built as polygons in hand units: x to the right, y downwards,
# origin at the palm centre, palm width 1, fingers pointing to negative y.
# Working with polygons (instead of drawing upright and rotating the bitmap)
# lets the forearm run off the canvas at any angle without being clipped.


def _superellipse(cx, cy, rx, ry, power=3.0, points=48):
    # A rounded rectangle-ish outline: rounder than a rectangle, squarer than
    # an ellipse, which is roughly what a palm looks like.
    t = np.linspace(0, 2 * np.pi, points, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = cx + rx * np.sign(c) * np.abs(c) ** (2 / power)
    y = cy + ry * np.sign(s) * np.abs(s) ** (2 / power)
    return np.stack([x, y], axis=1)


# Angles of the two half-disc ends of a capsule pointing along +x: the far
# end first, then the near end, which traces the outline in one go.
_CAPSULE_ANGLES = np.concatenate(
    [np.linspace(-np.pi / 2, np.pi / 2, 10), np.linspace(np.pi / 2, 3 * np.pi / 2, 10)]
)
_CAPSULE_FAR_END = np.arange(len(_CAPSULE_ANGLES)) < 10


def _capsule(p0, p1, width):
    # A stadium (rectangle with half-disc ends) from p0 to p1: one finger.
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    angles = np.arctan2(p1[1] - p0[1], p1[0] - p0[0]) + _CAPSULE_ANGLES
    centres = np.where(_CAPSULE_FAR_END[:, None], p1, p0)
    return centres + width / 2 * np.column_stack([np.cos(angles), np.sin(angles)])


def _from_angle(base, length, degrees):
    # End point of a segment of `length` leaving `base`, tilted `degrees`
    # clockwise from straight up.
    rad = np.radians(degrees)
    return np.asarray(base) + length * np.array([np.sin(rad), -np.cos(rad)])


def hand_shapes(hand):
    """List of polygons (hand units), back to front, making up the hand."""
    half_h = hand.palm_height / 2
    shapes = [_forearm(hand), _superellipse(0.0, 0.0, 0.5, half_h), _thumb(hand, half_h)]
    raised = RAISED_FINGERS[hand.label]
    for i in range(4):
        offset = i - 1.5  # index finger sits at -1.5, pinky at +1.5
        x = offset * hand.finger_spacing
        if i in raised:
            shapes.append(_raised_finger(hand, i, x, offset, half_h))
        else:
            shapes.append(_knuckle(hand, x, half_h))
    return shapes


def _forearm(hand):
    # Slightly narrower than the palm and long enough to leave the picture.
    top = hand.palm_height * 0.2
    return np.array([(-0.36, top), (0.36, top), (0.33, 6.0), (-0.33, 6.0)])


def _raised_finger(hand, i, x, offset, half_h):
    base = (x, -half_h * 0.55)  # starts inside the palm so there is no seam
    length = hand.finger_length * (FINGER_LENGTHS[i] + hand.finger_jitter[i])
    tip = _from_angle(base, length, offset * hand.finger_spread)
    # The pinky is a little thinner than the others.
    width = hand.finger_width * (0.88 if i == 3 else 1.0)
    return _capsule(base, tip, width)


def _knuckle(hand, x, half_h):
    # A folded finger: a short stub just peeking over the top of the palm.
    base = (x, -half_h * 0.70)
    tip = (x, -half_h * 0.98)
    return _capsule(base, tip, hand.finger_width * 0.95)


def _thumb(hand, half_h):
    # Thumb on the index-finger side (x < 0 before mirroring): out and tilted
    # for the open hand, otherwise tucked across the palm holding the fingers.
    base = (-0.36, half_h * 0.35)
    if hand.label == 5:
        tip = _from_angle(base, 0.62 * hand.finger_length, -hand.thumb_angle)
    else:
        tip = (0.05, -half_h * 0.05)
    return _capsule(base, tip, hand.finger_width * 1.15)


def _to_pixels(points, hand, side):
    """Map hand-unit points to pixel coordinates on a `side` x `side` canvas."""
    points = np.asarray(points, float)
    if hand.mirrored:
        points = points * np.array([-1.0, 1.0])
    # Counter-clockwise on screen, where y points down.
    rad = np.radians(hand.angle)
    rotation = np.array([[np.cos(rad), np.sin(rad)], [-np.sin(rad), np.cos(rad)]])
    unit = PALM_FRACTION * side * hand.scale
    return points @ rotation.T * unit + np.array(hand.center) * side


# --------------------------------------------------------------- rendering --


def draw_sign(label, rng, size=128):
    """Return a PIL.Image (RGB, size x size) of a hand-like figure showing `label` raised fingers (0..5)."""
    return render_hand(sample_hand(label, rng), size)


def hand_mask(hand, side):
    """Binary silhouette of the hand (PIL 'L' image, 255 = hand), no antialiasing."""
    return _mask(_pixel_shapes(hand, side), side)


def _pixel_shapes(hand, side):
    # Every part of the hand as a flat [x0, y0, x1, y1, ...] pixel list.
    return [_flat(_to_pixels(shape, hand, side)) for shape in hand_shapes(hand)]


def _mask(polygons, side):
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    for xy in polygons:
        draw.polygon(xy, fill=255)
    return mask


def render_hand(hand, size=128):
    """Render a sampled `Hand` as an RGB PIL image of `size` x `size`.

    The outlines are drawn at twice the size and box-downsampled, which
    antialiases the polygon edges much like a camera would; the smooth
    colour fields only need the final size.  All per-pixel work is done by
    PIL (or numpy), which keeps a data set of a thousand images quick to draw.
    """
    polygons = _pixel_shapes(hand, 2 * size)
    alpha = _mask(polygons, 2 * size).reduce(2)
    tone = _tone(polygons, hand.scale, 2 * size).reduce(2).convert("RGB")
    background = _ramp(hand.background, hand.gradient, size)
    skin = ImageChops.multiply(_ramp(hand.skin, _light_in_pixels(hand), size), tone)
    picture = Image.composite(skin, background, alpha)
    picture = _add_noise(picture, hand)
    if hand.blur > 0.05:
        picture = picture.filter(ImageFilter.GaussianBlur(hand.blur))
    return picture


def _ramp(colour, slope, side):
    # A flat colour with a linear brightness ramp: build the four corners and
    # let bilinear upsampling fill in the plane in between.
    (sx, sy), colour = slope, np.asarray(colour, float)
    corners = np.array([[-sx - sy, sx - sy], [-sx + sy, sx + sy]]) / 2
    pixels = np.clip(colour + corners[..., None], 0, 255).astype(np.uint8)
    # The 2x2 image's pixel centres sit at 0.5 and 1.5, so resizing just the
    # box between them spreads a true linear ramp from edge to edge.
    small = Image.fromarray(pixels, "RGB")
    return small.resize((side, side), Image.Resampling.BILINEAR, box=(0.5, 0.5, 1.5, 1.5))


def _light_in_pixels(hand):
    # The shading ramp is given as a brightness change per palm width; turn
    # it into a change across the whole picture in skin-colour units.
    per_side = 1.0 / (PALM_FRACTION * hand.scale)
    brightness = float(np.mean(hand.skin))
    return (hand.light[0] * per_side * brightness, hand.light[1] * per_side * brightness)


def _tone(polygons, scale, side):
    # White inside every part with a darker outline, so neighbouring raised
    # fingers read as separate fingers; multiplied onto the skin colour.
    tone = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(tone)
    width = max(1, round(side * scale / 110))
    for xy in polygons:
        draw.polygon(xy, fill=255, outline=184, width=width)
    return tone


def _add_noise(picture, hand):
    # Grey sensor noise, seeded from the hand so rendering stays deterministic.
    # It is stored around 128 in an 8-bit image so PIL can do the adding.
    noise = np.random.default_rng(hand.seed).standard_normal(picture.size[::-1], dtype=np.float32)
    noise = Image.fromarray(np.clip(128 + hand.noise * noise, 0, 255).astype(np.uint8), "L")
    return ImageChops.add(picture, noise.convert("RGB"), offset=-128)


def _flat(points):
    return np.asarray(points, float).ravel().tolist()


# ----------------------------------------------------------------- writing --


def write_synthetic_signs(data_dir, num_train=1080, num_test=120, seed=SEED, size=128, progress=None):
    """Write data_dir/train_signs/ and data_dir/test_signs/ of JPEGs named '{label}_IMG_{id}.jpg'.

    Labels cycle 0..5 within each split so the classes are balanced; ids are
    unique across both splits.  The same seed gives byte-identical files: one
    generator drives every random choice, in a fixed order, and the JPEG
    quality of each file is drawn from it too.  Returns the number of files
    written.  `progress` may wrap the loop's iterable (e.g. tqdm).

    Raises FileExistsError if either split folder already holds images, so an
    existing (maybe real) data set is never mixed with or overwritten by
    synthetic pictures.

    Last, data_dir/MANIFEST (synthetic_signs.json) records the arguments and
    the SHA-256 of every file written: `is_synthetic_set` checks a folder
    against it, so that the set can be reused instead of drawn again.
    """
    splits = {"train_signs": num_train, "test_signs": num_test}
    folders = {name: os.path.join(data_dir, name) for name in splits}
    for folder in folders.values():
        if _holds_images(folder):
            raise FileExistsError(
                f"{data_dir} already contains images in {os.path.basename(folder)}/; "
                "choose an empty --data_dir for the synthetic SIGNS data"
            )
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    jobs = _plan(splits, folders)
    rng = np.random.default_rng(seed)
    for label, path in progress(jobs) if progress else jobs:
        picture = draw_sign(label, rng, size)
        quality = int(rng.integers(60, 96))
        picture.save(path, format="JPEG", quality=quality)
    manifest = _settings(num_train, num_test, seed, size)
    manifest["files"] = {_relative(data_dir, path): _sha256(path) for _, path in jobs}
    with open(os.path.join(data_dir, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return len(jobs)


# Written beside train_signs/ and test_signs/ by write_synthetic_signs (no image lister looks there).
MANIFEST = "synthetic_signs.json"


def is_synthetic_set(data_dir, num_train=1080, num_test=120, seed=SEED, size=128):
    """(True, '') if data_dir holds exactly what write_synthetic_signs writes with these arguments,
    else (False, what differs). Checked against the MANIFEST written with the set: the
    arguments, the image files of both splits (no more, no fewer) and their SHA-256."""
    try:
        with open(os.path.join(data_dir, MANIFEST)) as f:
            manifest = json.load(f)
        files = manifest.pop("files")
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return False, f"no valid {MANIFEST} written with the synthetic set"
    if manifest != _settings(num_train, num_test, seed, size):
        return False, f"{MANIFEST} records other settings"
    present = {
        _relative(data_dir, os.path.join(data_dir, split, name))
        for split in ("train_signs", "test_signs")
        if os.path.isdir(os.path.join(data_dir, split))
        for name in os.listdir(os.path.join(data_dir, split))
        if is_image_name(name)
    }
    if not isinstance(files, dict) or present != set(files):
        extra = sorted(present - set(files if isinstance(files, dict) else ()))
        return False, f"other images ({extra[0]})" if extra else "images are missing"
    for name, digest in sorted(files.items()):
        if _sha256(os.path.join(data_dir, *name.split("/"))) != digest:
            return False, f"{name} was changed"
    return True, ""


def write_or_reuse_synthetic_signs(data_dir):
    """Write the synthetic raw set into data_dir (build_dataset.py --synthetic), or reuse it if already there.

    The set is the same on every run: a data_dir holding exactly it (checked against
    the manifest written with it) is used as it is. A data_dir with other images is
    never written into: the error says what to type. The set is written in a temporary
    folder beside data_dir and moved in when complete, so an interrupted run leaves
    nothing that a second run would refuse to write over.
    """
    if os.path.exists(data_dir):
        same, difference = is_synthetic_set(data_dir)
        if same:
            logging.info("Using the synthetic SIGNS dataset already in {}".format(data_dir))
            return
        if any(scan_folder(os.path.join(data_dir, split))[0] for split in ("train_signs", "test_signs")
               if os.path.isdir(os.path.join(data_dir, split))):
            raise InputError("{} holds images that are not the synthetic set ({}): to write it again, delete "
                             "the folder first (rm -r {}), or pass another --data_dir".format(
                                 data_dir, difference, shlex.quote(data_dir)))
    logging.info("Writing a synthetic SIGNS dataset into {}".format(data_dir))
    with temporary_folder_beside(data_dir, ".synthetic-",
                                 "Interrupted: nothing was written to {}".format(data_dir)) as tmp_dir:
        raw = os.path.join(tmp_dir, "raw")
        write_synthetic_signs(raw, progress=lambda jobs: tqdm(jobs, desc="synthetic", disable=None))
        with sigint_deferred() as interrupted:
            if not os.path.exists(data_dir):
                os.rename(raw, data_dir)
            else:  # a folder without images (checked above): the files go in, the manifest last
                for split in ("train_signs", "test_signs"):
                    os.makedirs(os.path.join(data_dir, split), exist_ok=True)
                    for name in os.listdir(os.path.join(raw, split)):
                        os.replace(os.path.join(raw, split, name), os.path.join(data_dir, split, name))
                os.replace(os.path.join(raw, MANIFEST), os.path.join(data_dir, MANIFEST))
    if interrupted:
        raise KeyboardInterrupt("Interrupted once the synthetic set was written to {}".format(data_dir))


def _settings(num_train, num_test, seed, size):
    return {"num_train": num_train, "num_test": num_test, "seed": seed, "size": size}


def _relative(data_dir, path):
    # 'train_signs/0_IMG_0000.jpg', with '/' on every system.
    return "/".join(os.path.relpath(path, data_dir).split(os.sep))


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _plan(splits, folders):
    # (label, path) for every file, train first; image ids count up across
    # both splits so no name appears twice.
    jobs, image_id = [], 0
    for name, count in splits.items():
        for i in range(count):
            label = i % NUM_CLASSES
            jobs.append((label, os.path.join(folders[name], f"{label}_IMG_{image_id:04d}.jpg")))
            image_id += 1
    return jobs


def _holds_images(folder):
    if not os.path.isdir(folder):
        return False
    return any(is_image_name(name) for name in os.listdir(folder))
