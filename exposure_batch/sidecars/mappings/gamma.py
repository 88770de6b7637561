"""Gamma -> darktable rgbcurve, 20 nodes packed near black (approximate) / Adobe point curve (approximate)."""
from __future__ import annotations

import numpy as np

from . import Mapping, sample_curve


def _fn(g):
    return lambda x: np.maximum(x, 0.001) ** g


def to_darktable(params) -> Mapping:
    xs, ys = sample_curve(_fn(float(params["gamma"])), 20, power=2.0)
    return Mapping(ops=(("curve", [(xs, ys)], True, 0),), exact=False, note="power curve sampled at 20 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    """'_master': a linear -> linear function; adobe.py composes curve steps into one ToneCurvePV2012."""
    return Mapping(settings={"_master": _fn(float(params["gamma"]))}, exact=False,
                   note="power curve as 17 integer points of the master point curve")
