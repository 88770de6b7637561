"""Tone curve -> darktable rgbcurve linked RGB (approximate: spline rounds the kinks) / crs:ToneCurvePV2012."""
from __future__ import annotations

import numpy as np

from ...filters import curve_math
from . import Mapping, knot_nodes


def to_darktable(params) -> Mapping:
    xs, ys = curve_math.knots(params["slopes"])
    return Mapping(ops=(("curve", [knot_nodes(xs, ys)], True, 0),), exact=False,
                   note="piecewise-linear curve as a monotone spline through 17 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    xs, ys = curve_math.knots(params["slopes"])
    return Mapping(settings={"_master": lambda v: np.interp(np.clip(v, 0, 1), xs, ys)}, exact=False,
                   note="curve as 17 integer points of the master point curve")
