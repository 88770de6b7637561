"""Saturation+ -> darktable color calibration 3x3 matrix fitted by least squares (approximate) / crs:Saturation."""
from __future__ import annotations

import functools

import numpy as np

from . import Mapping


@functools.lru_cache(maxsize=64)
def fitted_matrix(amount: float) -> np.ndarray:
    """Least-squares 3x3 M (linear ProPhoto, out = M @ in) closest to the filter on sRGB-gamut colours."""
    from ... import color  # noqa: PLC0415
    from ...filters import saturation  # noqa: PLC0415

    rng = np.random.default_rng(12345)
    srgb = rng.uniform(0.0, 1.0, (4096, 3)).astype(np.float32)
    x = color.convert_linear(color.srgb_decode(srgb), color.Space.SRGB, color.WORKING_SPACE)
    y = saturation.SPEC.apply(x.copy(), {"amount": amount})
    m, *_ = np.linalg.lstsq(x.astype(np.float64), y.astype(np.float64), rcond=None)
    return m.T


def to_darktable(params) -> Mapping:
    m = fitted_matrix(round(float(params["amount"]), 4))
    return Mapping(ops=(("matrix", m),), exact=False, note="HSV midtone saturation boost as a fitted 3x3 matrix")


def to_adobe(params, raw: bool = False) -> Mapping:
    return Mapping(settings={"Saturation": int(round(40 * float(params["amount"])))}, exact=False,
                   note="HSV saturation boost as crs:Saturation (heuristic scale)")
