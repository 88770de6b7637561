"""The "learned" source: the learned Exposure agent (agent.policy; NumPy inference, TensorFlow only trains)."""
from __future__ import annotations


def build(spec):
    """SOURCES["learned"]: the policy at spec.model_path (None: the shipped default model)."""
    from ..agent.policy import load_policy  # noqa: PLC0415

    return load_policy(spec.model_path)
