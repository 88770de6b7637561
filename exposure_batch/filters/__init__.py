"""Filter registry: the eight Exposure filters in the paper's action order (the agent's action index), then the
look-only filters (studio profiles use them; the agent never picks them).

Adding a filter = one new module declaring `SPEC = FilterSpec(...)` (parameters, TF and NumPy ops, fused kernel,
editor mappings, migrations; see base.py) + one line in LOOK_ONLY below (AGENT_ACTIONS is what trained models are
pinned to: a model card lists exactly these names and versions, so a new action needs a retrained model).
Exports: AGENT_ACTIONS, LOOK_ONLY, REGISTRY, NAMES, AGENT_NAMES, get, FilterSpec, FusedKernel, EditorMapping, Param.
"""
from __future__ import annotations

from ..errors import RecipeError
from . import black_and_white, color_curves, contrast, exposure, gamma, matte, saturation, tone_curve, white_balance
from .base import EditorMapping, FilterSpec, FusedKernel, Param

#: The agent's actions, paper order: 0 E, 1 G, 2 W, 3 S+, 4 T, 5 Ct, 6 BW, 7 C.
AGENT_ACTIONS: tuple[FilterSpec, ...] = (
    exposure.SPEC,
    gamma.SPEC,
    white_balance.SPEC,
    saturation.SPEC,
    tone_curve.SPEC,
    contrast.SPEC,
    black_and_white.SPEC,
    color_curves.SPEC,
)
#: Filters recipes may hold but the agent never picks (studio looks).
LOOK_ONLY: tuple[FilterSpec, ...] = (matte.SPEC,)
#: Every filter a recipe may name (renderers and sidecar writers know all of them).
REGISTRY: tuple[FilterSpec, ...] = AGENT_ACTIONS + LOOK_ONLY
NAMES: tuple[str, ...] = tuple(f.name for f in REGISTRY)
AGENT_NAMES: tuple[str, ...] = tuple(f.name for f in AGENT_ACTIONS)
_BY_NAME = {f.name: f for f in REGISTRY}


def get(name: str) -> FilterSpec:
    """Look a filter up by name; unknown names raise RecipeError listing the valid ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise RecipeError(f"unknown filter {name!r}; known filters: {', '.join(NAMES)}") from None


__all__ = ["AGENT_ACTIONS", "LOOK_ONLY", "REGISTRY", "NAMES", "AGENT_NAMES", "get", "FilterSpec", "FusedKernel", "EditorMapping", "Param"]
