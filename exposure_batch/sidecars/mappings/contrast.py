"""Contrast -> darktable rgbcurve with luminance-preserving mode (approximate: darktable's luminance weights)
/ crs:Contrast2012 (approximate)."""
from __future__ import annotations

import numpy as np

from . import Mapping, sample_curve


def _fn(p):
    return lambda lum: (1 - p) * lum + p * (0.5 - 0.5 * np.cos(np.pi * lum))


def to_darktable(params) -> Mapping:
    xs, ys = sample_curve(_fn(float(params["amount"])), 20)
    return Mapping(ops=(("curve", [(xs, ys)], True, 1),), exact=False,
                   note="luminance S-curve as an rgbcurve preserving darktable's luminance")


def to_adobe(params, raw: bool = False) -> Mapping:
    return Mapping(settings={"Contrast2012": int(round(50 * float(params["amount"])))}, exact=False,
                   note="luminance S-curve as crs:Contrast2012 (heuristic scale)")
