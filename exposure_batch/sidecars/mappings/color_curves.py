"""Colour curves -> darktable rgbcurve independent channels (approximate) / crs:ToneCurvePV2012Red/Green/Blue."""
from __future__ import annotations

from ...filters import color_curves as cc
from ...filters import curve_math
from . import Mapping, curve_points_255, knot_nodes


def to_darktable(params) -> Mapping:
    curves = [knot_nodes(*curve_math.knots(params[c])) for c in cc.CHANNELS]
    return Mapping(ops=(("curve", curves, False, 0),), exact=False,
                   note="piecewise-linear curves as monotone splines through 17 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    names = {"red": "ToneCurvePV2012Red", "green": "ToneCurvePV2012Green", "blue": "ToneCurvePV2012Blue"}
    settings = {names[c]: curve_points_255(*curve_math.knots(params[c])) for c in cc.CHANNELS}
    return Mapping(settings=settings, exact=False, note="per-channel curves on Adobe's encoded RGB")
