"""Synthetic bursts: one scene shot several times with drifting auto exposure / white balance (issue 17's setup).

From one well-edited photo (linear ProPhoto): one shared 'unedited capture' lighting error (agent.data's seeded
degradation: exposure, temperature/tint cast, flat tone, low saturation), then per frame an exposure drift of up to
+/-`ev_drift` EV and red / blue gains of up to +/-`wb_drift`, each frame a crop of `crop` of the photo at a
slightly shifted position. The common area of all crops is known, so frames can be compared pixel for pixel.

Space: linear ProPhoto float32 in and out.

Exports: Burst, make_burst, common_area.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Burst:
    """frames / originals: per frame the degraded input and the same crop of the original (linear ProPhoto);
    boxes: per frame (top, left) of its crop in the photo; size: (h, w) of every crop."""

    frames: list[np.ndarray]
    originals: list[np.ndarray]
    boxes: list[tuple[int, int]]
    size: tuple[int, int]
    shared: object  # agent.data.Degradation
    drift: list[tuple[float, float, float]]  # per frame (ev, red gain, blue gain)

    def common(self, k: int, image: np.ndarray) -> np.ndarray:
        """The part of frame k's image (same size as the frame) that every frame of the burst shows."""
        (t0, l0, t1, l1) = common_area(self.boxes, self.size)
        top, left = self.boxes[k]
        return image[t0 - top:t1 - top, l0 - left:l1 - left]


def common_area(boxes, size) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) in photo coordinates of the area inside every crop."""
    h, w = size
    return (max(t for t, _ in boxes), max(l for _, l in boxes), min(t for t, _ in boxes) + h,
            min(l for _, l in boxes) + w)


def make_burst(photo_lin: np.ndarray, rng: np.random.Generator, frames: int = 5, ev_drift: float = 0.7,
               wb_drift: float = 0.08, crop: float = 0.92, shared=None) -> Burst:
    """`frames` drifting captures of one scene (see the module docstring); seeded by rng."""
    from ..agent.data import degrade, sample_degradation  # noqa: PLC0415

    h, w = photo_lin.shape[:2]
    ch, cw = int(round(h * crop)), int(round(w * crop))
    shared = shared if shared is not None else sample_degradation(rng)
    scene = degrade(photo_lin, shared)
    out = Burst([], [], [], (ch, cw), shared, [])
    for _ in range(frames):
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        ev = float(rng.uniform(-ev_drift, ev_drift))
        red, blue = (float(1 + rng.uniform(-wb_drift, wb_drift)) for _ in range(2))
        gains = np.array([red, 1.0, blue], np.float32) * np.float32(2.0 ** ev)
        frame = scene[top:top + ch, left:left + cw] * gains
        out.frames.append(np.ascontiguousarray(frame, np.float32))
        out.originals.append(np.ascontiguousarray(photo_lin[top:top + ch, left:left + cw], np.float32))
        out.boxes.append((top, left))
        out.drift.append((ev, red, blue))
    return out
