"""Small plots drawn with Pillow: display conversion, luminance histograms and recipe tone curves.

Everything here is for looking at, not for measuring: images go to 8-bit sRGB for the screen, histograms are of
Exposure's luminance (0.27 R + 0.67 G + 0.06 B, working space) shown on the sRGB-encoded axis a photographer
expects, and curves show what a recipe does to a neutral grey ramp (input and output on the sRGB-encoded axis).

Exports: to_display_u8, luminance_hist, draw_histogram, recipe_curve, draw_curve, font.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .. import color
from ..render import render

BG = (24, 24, 27)
GRID = (63, 63, 70)
FG = (228, 228, 231)
BEFORE = (148, 163, 184)
AFTER = (251, 191, 36)
CHANNELS = ((239, 68, 68), (34, 197, 94), (59, 130, 246))


@functools.lru_cache(maxsize=16)
def font(size: int = 13) -> ImageFont.ImageFont:
    """DejaVu Sans when installed, else Pillow's bundled font at `size` px."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def to_display_u8(rgb_lin: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 linear ProPhoto -> (H, W, 3) uint8 sRGB-encoded (gamut and range clipped), for screens."""
    srgb_lin = color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB)
    return np.round(color.srgb_encode(srgb_lin) * 255.0).astype(np.uint8)


def luminance_hist(rgb_lin: np.ndarray, bins: int = 64) -> np.ndarray:
    """(H, W, 3) linear working RGB -> (bins,) float64 fractions of pixels per sRGB-encoded luminance bin."""
    lum_enc = color.srgb_encode(color.luminance(np.asarray(rgb_lin, dtype=np.float32)))
    counts, _ = np.histogram(lum_enc, bins=bins, range=(0.0, 1.0))
    return counts / max(1, counts.sum())


def draw_histogram(before: np.ndarray, after: np.ndarray | None = None, size: tuple[int, int] = (200, 90),
                   label: bool = True) -> Image.Image:
    """Overlay of two luminance histograms (fractions per bin, e.g. from `luminance_hist`) -> RGB image.

    Before is drawn as a filled slate area, after as an amber line; heights share one scale.
    """
    w, h = size
    im = Image.new("RGB", size, BG)
    d = ImageDraw.Draw(im)
    for q in (0.25, 0.5, 0.75):
        d.line([(q * (w - 1), 0), (q * (w - 1), h)], fill=GRID)
    peak = max(float(np.max(before)), float(np.max(after)) if after is not None else 0.0, 1e-9)
    top = 14 if label else 2
    d.polygon(_hist_points(before, w, h, top, peak), fill=BEFORE)
    if after is not None:
        d.line(_hist_points(after, w, h, top, peak)[1:-1], fill=AFTER, width=2)
    if label:
        f = font(10)
        d.text((3, 1), "before", fill=BEFORE, font=f)
        if after is not None:
            d.text((48, 1), "after", fill=AFTER, font=f)
        d.text((w - 3, 1), "luminance", fill=FG, font=f, anchor="ra")
    return im


def _hist_points(fractions: np.ndarray, w: int, h: int, top: int, peak: float) -> list[tuple[float, float]]:
    """Closed outline (for a polygon) of a step histogram scaled to the plot box."""
    n = len(fractions)
    pts = [(0.0, h - 1.0)]
    for i, v in enumerate(fractions):
        y = h - 1 - (h - 1 - top) * min(1.0, v / peak)
        pts += [(i * (w - 1) / n, y), ((i + 1) * (w - 1) / n, y)]
    return pts + [(w - 1.0, h - 1.0)]


def recipe_curve(steps: Sequence, samples: int = 129) -> tuple[np.ndarray, np.ndarray]:
    """What `steps` (Step objects) do to a neutral grey ramp.

    Returns (x_enc (samples,), y_enc (samples, 3)): input and per-channel output, both sRGB-encoded [0, 1].
    """

    x_enc = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    ramp_lin = np.repeat(color.srgb_decode(x_enc)[:, None], 3, axis=1).reshape(1, samples, 3)
    out_lin = render(tuple(steps), ramp_lin, threads=1).reshape(samples, 3)
    return x_enc, color.srgb_encode(out_lin)


def draw_curve(x_enc: np.ndarray, y_enc: np.ndarray, size: int = 90, label: str | None = None) -> Image.Image:
    """Square plot of a curve: x_enc (n,), y_enc (n, 3) in [0, 1] -> RGB image. Neutral curves draw one white
    line; curves that differ per channel draw red, green and blue lines. The diagonal is the identity."""
    im = Image.new("RGB", (size, size), BG)
    d = ImageDraw.Draw(im)
    s = size - 1
    for q in (0.25, 0.5, 0.75):
        d.line([(q * s, 0), (q * s, s)], fill=GRID)
        d.line([(0, q * s), (s, q * s)], fill=GRID)
    d.line([(0, s), (s, 0)], fill=(82, 82, 91))
    y_enc = np.asarray(y_enc, dtype=np.float64).reshape(len(x_enc), -1)
    neutral = np.allclose(y_enc, y_enc[:, :1], atol=2e-3)
    series = [(y_enc[:, 0], FG)] if neutral else [(y_enc[:, c], CHANNELS[c]) for c in range(min(3, y_enc.shape[1]))]
    for ys, fill in series:
        d.line([(float(x) * s, (1.0 - float(y)) * s) for x, y in zip(x_enc, ys)], fill=fill, width=2)
    if label:
        d.text((3, 1), label, fill=FG, font=font(10))
    return im
