"""Recipe sources ("agents"): the classic automatic edit and the learned Exposure agent (both NumPy at inference;
TensorFlow only trains). Every agent maps linear previews to Recipes; nothing downstream sees a model.

Exports: get_agent.
"""
from __future__ import annotations

from ..errors import ModelError


def get_agent(name: str, model_path: str | None = None):
    """Return an object with `decide(previews_lin, infos) -> list[Recipe]` for 'classic' or 'learned'."""
    if name == "classic":
        from .classic import ClassicAgent  # noqa: PLC0415

        return ClassicAgent()
    if name == "learned":
        from .policy import load_policy  # noqa: PLC0415

        return load_policy(model_path)
    raise ModelError(f"unknown agent {name!r}; choose 'classic' or 'learned'")
