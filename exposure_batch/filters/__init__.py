"""Filter registry: the eight Exposure filters in the paper's action order (the agent's action index).

Adding a filter = one new module declaring `SPEC = FilterSpec(...)` (parameters, TF and NumPy ops, fused kernel,
editor mappings, migrations; see base.py) + one line in REGISTRY below.
Exports: REGISTRY, NAMES, get, FilterSpec, FusedKernel, EditorMapping, Param.
"""
from __future__ import annotations

from ..errors import RecipeError
from . import black_and_white, color_curves, contrast, exposure, gamma, saturation, tone_curve, white_balance
from .base import EditorMapping, FilterSpec, FusedKernel, Param

#: Paper order: 0 E, 1 G, 2 W, 3 S+, 4 T, 5 Ct, 6 BW, 7 C.
REGISTRY: tuple[FilterSpec, ...] = (
    exposure.SPEC,
    gamma.SPEC,
    white_balance.SPEC,
    saturation.SPEC,
    tone_curve.SPEC,
    contrast.SPEC,
    black_and_white.SPEC,
    color_curves.SPEC,
)
NAMES: tuple[str, ...] = tuple(f.name for f in REGISTRY)
_BY_NAME = {f.name: f for f in REGISTRY}


def get(name: str) -> FilterSpec:
    """Look a filter up by name; unknown names raise RecipeError listing the valid ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise RecipeError(f"unknown filter {name!r}; known filters: {', '.join(NAMES)}") from None


__all__ = ["REGISTRY", "NAMES", "get", "FilterSpec", "FusedKernel", "EditorMapping", "Param"]
