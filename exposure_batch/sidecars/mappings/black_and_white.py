"""Black & white -> darktable color calibration matrix (exact) / crs:ConvertToGrayscale or Saturation (approx.)."""
from __future__ import annotations

from ...filters import black_and_white as bw
from . import Mapping


def to_darktable(params) -> Mapping:
    return Mapping(ops=(("matrix", bw.matrix(float(params["amount"])).astype("float64")),))


def to_adobe(params, raw: bool = False) -> Mapping:
    p = float(params["amount"])
    if p >= 0.999:
        return Mapping(settings={"ConvertToGrayscale": True}, exact=False, note="Adobe's grey mix differs")
    return Mapping(settings={"Saturation": -int(round(100 * p))}, exact=False, note="partial B&W as Saturation")
