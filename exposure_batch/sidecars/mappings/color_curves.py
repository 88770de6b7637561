"""Colour curves -> darktable rgbcurve independent channels (approximate) / crs:ToneCurvePV2012Red/Green/Blue."""
from __future__ import annotations

import numpy as np

from ...filters import color_curves as cc
from ...filters import curve_math
from . import Mapping, knot_nodes


def to_darktable(params) -> Mapping:
    curves = [knot_nodes(*curve_math.knots(params[c])) for c in cc.CHANNELS]
    return Mapping(ops=(("curve", curves, False, 0),), exact=False,
                   note="piecewise-linear curves as monotone splines through 17 nodes")


def to_adobe(params, raw: bool = False) -> Mapping:
    knots = [curve_math.knots(params[c]) for c in cc.CHANNELS]
    fns = tuple((lambda v, k=k: np.interp(np.clip(v, 0, 1), *k)) for k in knots)
    return Mapping(settings={"_rgb": fns}, exact=False, note="per-channel curves as Red/Green/Blue point curves")
