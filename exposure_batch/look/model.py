"""A studio look: a short fixed sequence of white-box filter steps applied after the agent's per-photo recipe.

The look is a parameter vector theta (real units, or logs of gains/slopes; see LAYOUT) that maps to ordinary recipe
Steps, so every edit made with a profile stays a plain recipe. All steps act on linear ProPhoto RGB, like the agent.

Sequence (fixed; each is an existing filter, applied with its exact NumPy op):
  white_balance (in) -> exposure -> gamma -> black_and_white -> saturation -> tone_curve -> contrast ->
  color_curves -> white_balance (out) -> matte (lifted blacks / softened whites, on sRGB axes)
Two white balances around black & white give "diagonal + rank-1" colour mixing, close to a general 3x3 matrix;
the curves give the tone and split-toning shape a matrix cannot.

Adaptive exposure (optional): ev = ev0 + slope * (key - key_ref), key = log2 of the geometric-mean luminance of
the agent's corrected input (see photo_key), so the look can brighten dark corrections more than bright ones.

Exports: LAYOUT, LookModel, photo_key, agent_key, KEY_PIXELS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import color, filters
from ..recipe import Step

#: Most pixels of the agent input used for the key statistic (a fixed stride subsample: cheap at apply time).
KEY_PIXELS = 4096
#: Range of the adaptive exposure slope (EV of look exposure per EV of photo key).
SLOPE_RANGE = (-1.0, 1.0)

#: (filter, block name) in application order.
LAYOUT: tuple[tuple[str, str], ...] = (
    ("white_balance", "wb_in"),
    ("exposure", "exposure"),
    ("gamma", "gamma"),
    ("black_and_white", "mix"),
    ("saturation", "saturation"),
    ("tone_curve", "tone"),
    ("contrast", "contrast"),
    ("color_curves", "split"),
    ("white_balance", "wb_out"),
    ("matte", "matte"),
)
#: The layout of format-1 profiles (before the matte step): they load with an identity matte appended.
LAYOUT_V1 = LAYOUT[:-1]
#: Filters whose parameters are fitted as logs (gains, powers and curve slopes are multiplicative).
_LOG_FILTERS = {"white_balance", "gamma", "tone_curve", "color_curves"}


def photo_key(agent_view_lin: np.ndarray) -> float:
    """log2 geometric-mean luminance (Exposure luma weights) of a linear image (any shape (..., 3)), on at most
    KEY_PIXELS pixels taken with a fixed stride; values floored at 1e-4."""
    pix = np.asarray(agent_view_lin, np.float32).reshape(-1, 3)
    step = max(1, int(np.ceil(len(pix) / KEY_PIXELS)))
    lum = np.maximum(pix[::step] @ color.LUMA_WEIGHTS, 1e-4)
    return float(np.mean(np.log2(lum)))


def agent_key(agent_in: np.ndarray, steps) -> float:
    """photo_key of the agent input after the agent's recipe steps (exact NumPy ops on the same stride subsample
    photo_key uses): what the adaptive exposure depends on, at learn and at apply time alike."""
    pix = np.asarray(agent_in, np.float32).reshape(-1, 3)
    view = pix[:: max(1, int(np.ceil(len(pix) / KEY_PIXELS)))].copy()
    for s in steps:
        view = s.spec.apply_np(view, s.spec.prepare(s.params))
    return photo_key(view)


@dataclass(frozen=True)
class Block:
    """One step's slice of theta."""

    filter: str
    name: str
    start: int
    size: int
    log: bool

    @property
    def spec(self):
        return filters.get(self.filter)


def _blocks() -> tuple[Block, ...]:
    out, i = [], 0
    for name, block in LAYOUT:
        size = filters.get(name).size
        out.append(Block(name, block, i, size, name in _LOG_FILTERS))
        i += size
    return tuple(out)


class LookModel:
    """The look's parameter layout: theta <-> Steps, bounds, identity, and the forward pass on pixel arrays.

    theta holds, per block, the filter's parameter vector (real units) or its natural log for multiplicative
    filters, followed by one adaptive slope (0 when the look is not adaptive).
    """

    def __init__(self, adaptive: bool = True):
        self.adaptive = adaptive
        self.blocks = _blocks()
        self.n_steps = sum(b.size for b in self.blocks)
        self.size = self.n_steps + 1
        lo, hi, ident = [], [], []
        for b in self.blocks:
            for p in b.spec.params:
                for _ in range(p.size):
                    if b.log:
                        lo.append(np.log(p.low)), hi.append(np.log(p.high)), ident.append(np.log(p.default))
                    else:
                        lo.append(p.low), hi.append(p.high), ident.append(p.default)
        lo.append(SLOPE_RANGE[0] if adaptive else 0.0)
        hi.append(SLOPE_RANGE[1] if adaptive else 0.0)
        ident.append(0.0)
        self.low, self.high = np.array(lo), np.array(hi)
        self.identity = np.array(ident)
        self.slope_index = self.n_steps
        self.ev_index = next(b.start for b in self.blocks if b.filter == "exposure")

    # --- theta <-> recipe steps ---------------------------------------------------------------------------------
    def clip(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(theta, self.low, self.high)

    def block_vector(self, theta: np.ndarray, block: Block, key_offset: float = 0.0) -> np.ndarray:
        """The filter's parameter vector (real units) for one block; exposure includes the adaptive term."""
        v = np.asarray(theta[block.start : block.start + block.size], np.float64)
        if block.log:
            v = np.exp(v)
        if block.filter == "exposure":
            v = v + theta[self.slope_index] * key_offset
        p = block.spec.params
        lows = np.concatenate([[q.low] * q.size for q in p])
        highs = np.concatenate([[q.high] * q.size for q in p])
        return np.clip(v, lows, highs)

    def steps(self, theta: np.ndarray, key_offset: float = 0.0) -> tuple[Step, ...]:
        """Recipe steps for one photo (key_offset = key - key_ref; 0 for the look at its reference)."""
        return tuple(Step.from_vector(b.filter, self.block_vector(theta, b, key_offset)) for b in self.blocks)

    def theta_from_steps(self, steps, slope: float = 0.0) -> np.ndarray:
        """Inverse of `steps` (at key offset 0)."""
        theta = np.array(self.identity)
        for b, s in zip(self.blocks, steps):
            if s.filter != b.filter:
                raise ValueError(f"look step {s.filter!r} where {b.filter!r} was expected")
            v = s.spec.vector(s.params).astype(np.float64)
            theta[b.start : b.start + b.size] = np.log(v) if b.log else v
        theta[self.slope_index] = slope
        return theta

    # --- forward pass on pixels (fitting) ---------------------------------------------------------------------
    def prepared(self, theta: np.ndarray, block: Block, key_offsets: np.ndarray | None):
        """Prepared op argument for block; exposure with per-pixel gains when key_offsets (per pixel) is given."""
        vec = self.block_vector(theta, block)
        if block.filter == "exposure" and key_offsets is not None and self.adaptive:
            lo, hi = block.spec.params[0].low, block.spec.params[0].high
            ev = np.clip(vec[0] + theta[self.slope_index] * key_offsets, lo, hi)
            return np.exp2(ev).astype(np.float32)[:, None]
        return block.spec.prepare(_values(block.spec, vec))

    def apply_block(self, pix: np.ndarray, theta: np.ndarray, block: Block, key_offsets=None) -> np.ndarray:
        """Apply one block to (N, 3) float32 linear pixels (a copy is returned)."""
        return block.spec.apply_np(np.array(pix, np.float32, copy=True), self.prepared(theta, block, key_offsets))

    def forward(self, pix: np.ndarray, theta: np.ndarray, key_offsets=None, start: int = 0) -> np.ndarray:
        """Blocks[start:] applied to (N, 3) float32 linear pixels -> new array."""
        out = np.array(pix, np.float32, copy=True)
        for b in self.blocks[start:]:
            out = b.spec.apply_np(out, self.prepared(theta, b, key_offsets))
        return out

    def block_of(self, index: int) -> int:
        """Index of the block holding theta[index] (the slope belongs to the exposure block)."""
        if index == self.slope_index:
            return next(i for i, b in enumerate(self.blocks) if b.filter == "exposure")
        return next(i for i, b in enumerate(self.blocks) if b.start <= index < b.start + b.size)


def _values(spec, vec: np.ndarray) -> dict:
    """Parameter dict from a vector already inside the ranges (no rounding: fitting needs smooth parameters)."""
    out, i = {}, 0
    for p in spec.params:
        chunk = vec[i : i + p.size]
        out[p.name] = float(chunk[0]) if p.size == 1 else [float(v) for v in chunk]
        i += p.size
    return out
