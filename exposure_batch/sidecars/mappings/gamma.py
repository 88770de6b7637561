"""Gamma -> darktable rgbcurve, 20 nodes packed near black (approximate) / Adobe point curve (approximate)."""
from __future__ import annotations

import numpy as np

from . import Mapping, curve_points_255, sample_curve


def _fn(g):
    return lambda x: np.maximum(x, 0.001) ** g


def to_darktable(params) -> Mapping:
    xs, ys = sample_curve(_fn(float(params["gamma"])), 20, power=2.0)
    return Mapping(ops=(("curve", [(xs, ys)], True, 0),), exact=False, note="power curve sampled at 20 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    xs = np.linspace(0, 1, 257)
    ys = _fn(float(params["gamma"]))(xs)
    return Mapping(settings={"ToneCurvePV2012": curve_points_255(xs, ys)}, exact=False,
                   note="linear-light power curve as a point curve on Adobe's encoded values")
