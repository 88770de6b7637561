"""Per-filter editor mappings: how one recipe step becomes darktable modules and Adobe (crs) settings.

Each `<filter>.py` here exports
    to_darktable(params) -> Mapping   (ops on linear ProPhoto RGB, see below)
    to_adobe(params, raw) -> Mapping  (crs settings)
and `register()` puts them into `FilterSpec.editors['darktable' | 'adobe']` for every filter of the registry.

darktable ops (all act on linear ProPhoto values; darktable.py wraps them between two colour-space matrices):
    ("exposure", ev) | ("matrix", 3x3 array, out = M @ in) | ("curve", [(xs, ys)] * 1 or 3, linked, preserve)

Exports: Mapping, register, darktable_mapping, adobe_mapping.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from ... import filters


@dataclass(frozen=True)
class Mapping:
    """What an editor gets for one step. `exact` False -> `note` says what differs."""

    ops: tuple = ()
    settings: dict = field(default_factory=dict)
    exact: bool = True
    note: str = ""


def _module(name: str):
    return importlib.import_module(f"{__name__}.{name}")


def register() -> None:
    """Attach every filter's mappings to its FilterSpec.editors (idempotent)."""
    for spec in filters.REGISTRY:
        mod = _module(spec.name)
        spec.editors.setdefault("darktable", mod.to_darktable)
        spec.editors.setdefault("adobe", mod.to_adobe)


def darktable_mapping(step) -> Mapping:
    """Step -> darktable Mapping (ops in linear ProPhoto)."""
    register()
    return step.spec.editors["darktable"](step.params)


def adobe_mapping(step, raw: bool = False) -> Mapping:
    """Step -> Adobe Mapping (crs settings dict; raw selects Temperature/Tint over Incremental*)."""
    register()
    return step.spec.editors["adobe"](step.params, raw)


def sample_curve(fn, n: int = 20, power: float = 1.0) -> tuple[list[float], list[float]]:
    """n nodes of y = fn(x) on [0, 1] at x = (i / (n - 1))^power (power > 1 packs nodes near black)."""
    import numpy as np  # noqa: PLC0415

    xs = np.linspace(0.0, 1.0, n) ** power
    return [float(x) for x in xs], [float(v) for v in np.clip(fn(xs), 0.0, 1.0)]


def knot_nodes(xs, ys) -> tuple[list[float], list[float]]:
    """Piecewise-linear knots -> knots plus segment midpoints (17 for 8 segments), so a monotone Hermite spline
    stays on the straight segments and only rounds the kinks."""
    out_x, out_y = [float(xs[0])], [float(ys[0])]
    for i in range(1, len(xs)):
        out_x += [float((xs[i - 1] + xs[i]) / 2), float(xs[i])]
        out_y += [float((ys[i - 1] + ys[i]) / 2), float(ys[i])]
    return out_x, out_y


def curve_points_255(fn_lin, n: int = 17) -> list[tuple[int, int]]:
    """A linear -> linear curve as Adobe point-curve integers 0..255 on sRGB-gamma-encoded axes (Adobe's curves
    act on gamma-encoded values; the exact encoding is undocumented, sRGB's is the documented readout curve)."""
    import numpy as np  # noqa: PLC0415

    from ... import color  # noqa: PLC0415

    grid = np.linspace(0.0, 1.0, n)
    vals = color.srgb_encode(np.asarray(fn_lin(color.srgb_decode(grid.astype(np.float32))), dtype=np.float32))
    pts, last_x = [], -1
    for x, y in zip(grid, vals):
        xi, yi = int(round(x * 255)), int(round(float(np.clip(y, 0, 1)) * 255))
        if xi > last_x:
            pts.append((xi, yi))
            last_x = xi
    return pts


__all__ = ["Mapping", "register", "darktable_mapping", "adobe_mapping", "sample_curve", "knot_nodes",
           "curve_points_255"]
