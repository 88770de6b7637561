"""Network sizes and the agent's state layout, shared by training (TensorFlow) and inference (NumPy).

State vector (B, STATE_DIM): [submitted, stopped, step (raw integer 0..5), used_0 .. used_{N_FILTERS-1}].

Exports: NetConfig, PRESETS, N_FILTERS, STATE_DIM, MASK_PARAMS.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import filters

N_FILTERS = len(filters.AGENT_ACTIONS)
STATE_DIM = 3 + N_FILTERS
MASK_PARAMS = 6  # the paper's (unused) mask outputs, kept for parameter-count parity


@dataclass(frozen=True)
class NetConfig:
    """Network sizes. `channels`: the 4 conv widths; `fc`: hidden width of every FC head; `dropout`: rate on the
    actor's flattened trunk features (the paper keeps 0.5, always on while training)."""

    channels: tuple = (32, 64, 128, 256)
    fc: int = 128
    dropout: float = 0.5
    preview: int = 64
    input_encoding: str = "linear"  # actor input: "linear" (paper) or "log" (log2 of linear light)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        d = dict(d)
        d["channels"] = tuple(d.get("channels", cls.channels))
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


PRESETS = {
    "paper": NetConfig((32, 64, 128, 256), 128, 0.5),
    "cpu": NetConfig((16, 32, 64, 128), 64, 0.2, input_encoding="log"),
}
