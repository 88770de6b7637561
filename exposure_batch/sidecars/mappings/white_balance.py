"""White balance -> darktable color calibration diagonal matrix (exact) / Adobe temperature-tint (approximate)."""
from __future__ import annotations

import math

import numpy as np

from . import Mapping


def gains(params) -> np.ndarray:
    return np.array([params["red"], params["green"], params["blue"]], dtype=np.float64)


def to_darktable(params) -> Mapping:
    return Mapping(ops=(("matrix", np.diag(gains(params))),))


def to_adobe(params, raw: bool = False) -> Mapping:
    """Blue/red balance -> temperature, green/magenta -> tint. Heuristic scale (no published formula for
    IncrementalTemperature/Tint; Temperature/Tint go through the camera profile)."""
    r, g, b = gains(params)
    warm = math.log2(r / b)  # > 0: warmer
    green = math.log2(g / math.sqrt(r * b))  # > 0: greener
    if raw:
        temp = int(round(min(50000, max(2000, 5500 * 2 ** (warm * 0.9)))))
        tint = int(round(max(-150, min(150, -green * 60))))
        settings = {"WhiteBalance": "Custom", "Temperature": temp, "Tint": tint}
    else:
        settings = {"WhiteBalance": "Custom",
                    "IncrementalTemperature": int(round(max(-100, min(100, warm * 40)))),
                    "IncrementalTint": int(round(max(-100, min(100, -green * 40))))}
    return Mapping(settings=settings, exact=False, note="white balance gains -> temperature/tint (heuristic scale)")
