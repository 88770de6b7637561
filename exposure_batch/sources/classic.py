"""The "classic" source: the classic automatic edit (agent.classic: statistics of the preview, no model)."""
from __future__ import annotations


def build(spec):
    """SOURCES["classic"]: a ClassicAgent (spec carries nothing it needs)."""
    from ..agent.classic import ClassicAgent  # noqa: PLC0415

    return ClassicAgent()
