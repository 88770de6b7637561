"""Rendering: a Recipe applied to a full-resolution linear image, and the small agent inputs made from one.

    render.renderer   render / render_encoded (recipe on linear ProPhoto -> linear, or straight to output codes),
                      warm_up, fused_available, compile_job (first-run compile: engine.warmup runs it)
    render.kernels    the fused numba kernels (every step, and optionally the output encoding, in one pass)
    render.preview    linear image -> 64x64 agent preview / whole-frame thumbnail (area average, linear in and out)

Exports (from render.renderer): render, render_encoded, warm_up, prepare_steps, apply_prepared, fused_available.
"""
from .renderer import apply_prepared, fused_available, prepare_steps, render, render_encoded, warm_up

__all__ = ["render", "render_encoded", "warm_up", "prepare_steps", "apply_prepared", "fused_available"]
