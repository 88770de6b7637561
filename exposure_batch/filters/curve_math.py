"""Piecewise-linear monotone curve shared by the tone and colour curve filters (paper section 2.3).

f(x) = (L / sum t) * sum_i t_i * clip(x - i/L, 0, 1/L), L segments of equal width on [0, 1]; f(0) = 0, f(1) = 1;
inputs <= 0 map to 0 and inputs >= 1 map to 1 (the curves also clip). Equal slopes give the identity on [0, 1].
"""
from __future__ import annotations

import numpy as np


def knots(slopes) -> tuple[np.ndarray, np.ndarray]:
    """(L,) slopes -> (x, y) knot arrays of length L + 1 (float64) describing the same curve."""
    t = np.asarray(slopes, dtype=np.float64)
    xs = np.linspace(0.0, 1.0, t.size + 1)
    ys = np.concatenate([[0.0], np.cumsum(t)]) / t.sum()
    return xs, ys


def apply_curve_np(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Evaluate the curve on any-shaped float32 array (linear values); returns float32 in [0, 1]."""
    return np.interp(values, xs, ys).astype(np.float32)


def apply_curve_tf(rgb, slopes):
    """rgb (B, H, W, C) float32; slopes (B, C, L) (C = 1 broadcasts) -> (B, H, W, C) per the paper's formula."""
    import tensorflow as tf  # noqa: PLC0415

    n_seg = slopes.shape[-1]
    starts = tf.range(n_seg, dtype=tf.float32) / n_seg
    pieces = tf.clip_by_value(rgb[..., None] - starts, 0.0, 1.0 / n_seg)  # (B, H, W, C, L)
    weighted = tf.reduce_sum(pieces * slopes[:, None, None, :, :], axis=-1)
    total = tf.reduce_sum(slopes, axis=-1)[:, None, None, :]
    return weighted * n_seg / total


def describe_curve(slopes) -> str:
    """Short text: where the curve sits relative to the identity at quarter, mid and three-quarter input."""
    xs, ys = knots(slopes)
    probe = np.interp([0.25, 0.5, 0.75], xs, ys)
    return " ".join(f"{x:.2f}->{y:.2f}" for x, y in zip((0.25, 0.5, 0.75), probe))


def sample_curve(fn, n: int = 20, power: float = 1.0) -> tuple[list[float], list[float]]:
    """n nodes of y = fn(x) on [0, 1] at x = (i / (n - 1))^power (power > 1 packs nodes near black); for editor
    curves (darktable rgbcurve nodes)."""
    xs = np.linspace(0.0, 1.0, n) ** power
    return [float(x) for x in xs], [float(v) for v in np.clip(fn(xs), 0.0, 1.0)]


def knot_nodes(xs, ys) -> tuple[list[float], list[float]]:
    """Piecewise-linear knots -> knots plus segment midpoints (17 for 8 segments), so a monotone Hermite spline
    stays on the straight segments and only rounds the kinks."""
    out_x, out_y = [float(xs[0])], [float(ys[0])]
    for i in range(1, len(xs)):
        out_x += [float((xs[i - 1] + xs[i]) / 2), float(xs[i])]
        out_y += [float((ys[i - 1] + ys[i]) / 2), float(ys[i])]
    return out_x, out_y
