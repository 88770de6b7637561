"""Tone curve -> darktable rgbcurve linked RGB (approximate: spline rounds the kinks) / crs:ToneCurvePV2012."""
from __future__ import annotations

from ...filters import curve_math
from . import Mapping, curve_points_255, knot_nodes


def to_darktable(params) -> Mapping:
    xs, ys = curve_math.knots(params["slopes"])
    return Mapping(ops=(("curve", [knot_nodes(xs, ys)], True, 0),), exact=False,
                   note="piecewise-linear curve as a monotone spline through 17 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    xs, ys = curve_math.knots(params["slopes"])
    return Mapping(settings={"ToneCurvePV2012": curve_points_255(xs, ys)}, exact=False,
                   note="linear-light curve applied by Adobe to its encoded values")
