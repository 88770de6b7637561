"""Bursts of a scene written as real JPEG files (with EXIF capture times) from the shipped sample photos."""
from __future__ import annotations

import datetime as dt
import functools
import os

import numpy as np

from exposure_batch.agent.data import Degradation
from exposure_batch.io import decode
from exposure_batch.io.write import bits_for, encode_to_int, write_encoded
from exposure_batch.color import Space
from exposure_batch.render.preview import thumbnail
from exposure_batch.shoot.bursts import make_burst
from tests.helpers import sample_path

#: Distinct sample photos used as scenes.
SCENES = ("coffee_p3_16bit.png", "chelsea_adobergb_16bit.tif", "astronaut_orientation6.jpg", "flower.dng")
T0 = dt.datetime(2026, 5, 1, 14, 0, 0)


@functools.lru_cache(maxsize=None)
def scene_photo(name: str, side: int = 192) -> np.ndarray:
    """A sample photo shrunk to `side` px, linear ProPhoto float32."""
    return thumbnail(decode(str(sample_path(name))).rgb_lin, side)


#: A shared lighting error that leaves headroom for +0.7 EV of drift: an 8-bit file clips what is above white,
#: and a clipped highlight cannot be brought back to match the other frames.
UNDER = Degradation(tone=0.8, saturation=0.8, temperature=0.25, tint=-0.1, ev=-1.2)


def burst(scene: int, frames: int = 4, seed: int = 0, shared: Degradation | None = None):
    """`frames` drifting captures of sample scene `scene` (seeded shared error unless `shared` is given)."""
    return make_burst(scene_photo(SCENES[scene]), np.random.default_rng([seed, scene]), frames, shared=shared)


def write_frame(path, rgb_lin: np.ndarray, when: dt.datetime | None = None) -> str:
    """One frame as a file named by `path`: .jpg = sRGB JPEG q95, .png = 16-bit sRGB PNG (lossless: a JPEG's own
    compression noise, about 1 CIEDE2000 on these small detailed frames, differs from frame to frame); with EXIF
    DateTimeOriginal + SubSecTimeOriginal when `when` is given."""
    exif = {"camera_make": "Test", "camera_model": "Burst"}
    if when is not None:
        exif["capture_time"] = when.isoformat(timespec="milliseconds")
    fmt = "png" if str(path).lower().endswith(".png") else "jpeg"
    encoded = encode_to_int(np.asarray(rgb_lin, np.float32), Space.SRGB, linear=False, bits=bits_for(fmt))
    return write_encoded(encoded, str(path), fmt=fmt, quality=95, space=Space.SRGB, linear=False,
                         source_path=None, overwrite=True, source_exif=exif)


def write_shoot(folder, scenes=(0, 1, 2), frames: int = 4, timed: bool = True, interleave: bool = False,
                gap_s: float = 600.0, seed: int = 0) -> dict[str, int]:
    """Frames of each scene as JPEGs in `folder`; returns {path: scene}. Frames of one scene are 1.5 s apart,
    scenes `gap_s` apart; with interleave the file names alternate between scenes (scene order lost)."""
    os.makedirs(folder, exist_ok=True)
    truth = {}
    for s in scenes:
        b = burst(s, frames, seed)
        for k, frame in enumerate(b.frames):
            when = T0 + dt.timedelta(seconds=gap_s * s + 1.5 * k + 0.25) if timed else None
            name = f"IMG_{k:02d}{s:02d}.jpg" if interleave else f"IMG_{s:02d}{k:02d}.jpg"
            truth[write_frame(os.path.join(folder, name), frame, when)] = s
    return truth
