"""The filter contract: everything one filter declares, in one `FilterSpec` built with named fields.

A filter is a pointwise colour function of a linear-RGB pixel and a few global parameters, so the parameters chosen
on a 64x64 preview apply unchanged at any resolution. Each `filters/<name>.py` builds one `SPEC = FilterSpec(...)`
holding its parameters and ranges, the TF op, the exact NumPy op, the fused-kernel pieces (`FusedKernel`), the
editor mappings (`EditorMapping` for darktable and Adobe) and the migrations from older versions of its parameters;
`filters/__init__.py` lists the modules once (the registry). Nothing is looked up by module or patched in later.

Exports: Param, FusedKernel, EditorMapping, FilterSpec, tanh_range_np, tanh_range_tf, broadcast_params_tf, signed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import FilterParamError, RecipeError

#: Slack allowed when validating a value against its range (JSON round trips of float32 values).
RANGE_SLACK = 1e-6
#: Parameter values are stored with this many decimals.
DECIMALS = 6


@dataclass(frozen=True)
class Param:
    """One named parameter in real units. `size` > 1 means a list of `size` values, each within [low, high]."""

    name: str
    low: float
    high: float
    default: float  # the identity ("do nothing") value
    unit: str
    doc: str
    size: int = 1


def tanh_range_np(raw: np.ndarray, low: float, high: float) -> np.ndarray:
    """Paper's range mapping: low + (high - low) * (tanh(raw) + 1) / 2 (raw = 0 -> centre of the range)."""
    return (low + (high - low) * (np.tanh(raw) + 1.0) / 2.0).astype(np.float32)


def tanh_range_tf(raw, low: float, high: float):
    """TensorFlow twin of `tanh_range_np`."""
    import tensorflow as tf  # noqa: PLC0415

    return low + (high - low) * (tf.tanh(raw) + 1.0) / 2.0


@dataclass(frozen=True, kw_only=True)
class FusedKernel:
    """A filter's pieces for the fused numba renderer (compiled by exposure_batch.render.kernels).

    Attributes:
        params: prepared parameters -> (k,) float32 vector handed to the block as `p`.
        block: plain Python `block(r, g, b, n, p)` applying the filter in place to the first n entries of the float32
            channel arrays r, g, b (linear working RGB), giving apply_np's pixels to 1e-5. When `needs` names compiled
            helpers, `block` is a factory instead: `block(*helpers) -> block(r, g, b, n, p)`.
        needs: names of the compiled helpers render.kernels hands a factory block, in order (only "pow01" so far:
            x^e for float32 x > 0, computed with polynomials that LLVM vectorises).
        separable: True (or a function of the prepared parameters) when each output channel depends only on the same
            input channel: the step can then be tabulated per 16-bit code (render.kernels.run_encode16).
        tabulate: True when evaluating the step per pixel costs more than a table lookup (gamma's power).
        fma: True when fused multiply-add cannot move the result beyond the 1e-5 contract (no cancelling terms).
    """

    params: Callable[[Any], np.ndarray]
    block: Callable
    needs: tuple[str, ...] = ()
    separable: bool | Callable[[Any], bool] = False
    tabulate: bool = False
    fma: bool = False

    def is_separable(self, prepared) -> bool:
        """`separable` evaluated for these prepared parameters."""
        return bool(self.separable(prepared) if callable(self.separable) else self.separable)


def scalar_fused_params(value) -> np.ndarray:
    """One prepared scalar (an amount, gain or exponent) -> the (1,) float32 vector a fused block reads as `p`."""
    return np.array([value], dtype=np.float32)


def separable_at_zero(amount) -> bool:
    """For amount-controlled steps that mix channels: per-channel (tabulated per 16-bit code by
    render.kernels.run_encode16) only when amount 0, where the step is the identity (or a per-channel clip)."""
    return amount == 0


@dataclass(frozen=True)
class EditorMapping:
    """What an editor gets for one step. `exact` False -> `note` says what differs.

    ops (darktable, all on linear ProPhoto values; sidecars/darktable.py wraps them between colour-space matrices):
        ("exposure", ev) | ("matrix", 3x3 array, out = M @ in) | ("curve", [(xs, ys)] * 1 or 3, linked, preserve)
    settings (Adobe): crs names -> values, plus "_master" (a linear -> linear function) or "_rgb" (three of them)
        that sidecars/adobe.py composes into point curves.
    """

    ops: tuple = ()
    settings: dict = field(default_factory=dict)
    exact: bool = True
    note: str = ""


#: One migration step: parameters of version v -> parameters of version v + 1 (a new dict; never edit old steps).
Migration = Callable[[Mapping[str, Any]], dict]


@dataclass(frozen=True, kw_only=True)
class FilterSpec:
    """Everything about one filter (built with named fields only).

    Attributes:
        name: recipe / registry name (snake_case).
        version: bumped when the maths or the parameter layout changes (stored in recipes and models).
        label: human name ("Exposure").
        params: parameters in vector order; `vector()` flattens them, `values()` rebuilds the dict.
        n_raw: number of unbounded network outputs the parameter head produces for this filter.
        map_raw_np / map_raw_tf: (B, n_raw) unbounded -> (B, k) parameters in real units (k = vector size).
        apply_tf: (rgb_lin (B, H, W, 3) float32 tensor, params (B, k)) -> (B, H, W, 3); differentiable in params.
        prepare: dict of validated values -> whatever makes `apply_np` fast (computed once per image).
        apply_np: (rgb_lin (H, W, 3) or (N, 3) float32, prepared) -> same shape float32; may work in place.
        describe: dict of values -> one-line human description ("Exposure +0.62 EV").
        to_darktable: values -> EditorMapping of darktable ops (linear ProPhoto).
        to_adobe: (values, raw) -> EditorMapping of crs settings (raw selects Temperature/Tint over Incremental*).
        fused: the fused-kernel pieces, or None (a recipe using this filter then renders through NumPy).
        migrations: {v: function turning version-v parameters into version v+1}, one per older version.
        space: colour space in and out ("linear working RGB"; all eight are scene-linear -> scene-linear).
        pointwise: True when the output pixel depends only on the input pixel (true for all eight).
    """

    name: str
    version: int
    label: str
    params: tuple[Param, ...]
    n_raw: int
    map_raw_np: Callable[[np.ndarray], np.ndarray]
    map_raw_tf: Callable[[Any], Any]
    apply_tf: Callable[[Any, Any], Any]
    prepare: Callable[[Mapping[str, Any]], Any]
    apply_np: Callable[[np.ndarray, Any], np.ndarray]
    describe: Callable[[Mapping[str, Any]], str]
    to_darktable: Callable[[Mapping[str, Any]], EditorMapping]
    to_adobe: Callable[..., EditorMapping]
    fused: FusedKernel | None = None
    migrations: Mapping[int, Migration] = field(default_factory=dict)
    space: str = "linear working RGB -> linear working RGB"
    pointwise: bool = True

    def migrate(self, old_version: int, values: Mapping[str, Any]) -> dict:
        """Parameters stored by version `old_version` of this filter -> parameters of the current version, through
        one migration per version step (v1 -> v2 -> ...). Raises RecipeError naming the missing step."""
        if old_version > self.version:
            raise RecipeError(f"step '{self.name}' has version {old_version}, newer than this exposure-batch's "
                              f"({self.version}); upgrade")
        out = dict(values) if isinstance(values, Mapping) else values
        for v in range(max(int(old_version), 1), self.version):
            if v not in self.migrations:
                raise RecipeError(f"step '{self.name}' version {v} cannot be migrated to {v + 1} (no migration)")
            out = self.migrations[v](out)
        return out

    @property
    def size(self) -> int:
        """Length of the parameter vector (k)."""
        return sum(p.size for p in self.params)

    def identity(self) -> dict:
        """Parameter values that make this step do nothing (or as little as the paper's maths allows)."""
        return {p.name: (p.default if p.size == 1 else [p.default] * p.size) for p in self.params}

    def validate(self, values: Mapping[str, Any]) -> dict:
        """Check names, shapes and ranges; return a clean dict of floats / float lists.

        Raises FilterParamError with a one-line message naming the filter, parameter and range.
        """
        if not isinstance(values, Mapping):
            raise FilterParamError(f"{self.name}: parameters must be an object, got {type(values).__name__}")
        known = {p.name for p in self.params}
        extra = sorted(set(values) - known)
        if extra:
            raise FilterParamError(f"{self.name}: unknown parameter(s) {', '.join(extra)}; expected {', '.join(sorted(known))}")
        clean: dict = {}
        for p in self.params:
            if p.name not in values:
                raise FilterParamError(f"{self.name}: missing parameter '{p.name}'")
            clean[p.name] = _check_value(self.name, p, values[p.name])
        return clean

    def vector(self, values: Mapping[str, Any]) -> np.ndarray:
        """Validated values -> (k,) float32 vector in `params` order."""
        clean = self.validate(values)
        parts = [np.atleast_1d(np.asarray(clean[p.name], dtype=np.float32)) for p in self.params]
        return np.concatenate(parts).astype(np.float32)

    def values(self, vector) -> dict:
        """(k,) vector -> values dict (floats / lists of floats), validated."""
        vec = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vec.size != self.size:
            raise FilterParamError(f"{self.name}: expected {self.size} parameter values, got {vec.size}")
        out, i = {}, 0
        for p in self.params:
            chunk = vec[i : i + p.size]
            out[p.name] = float(chunk[0]) if p.size == 1 else [float(v) for v in chunk]
            i += p.size
        return self.validate(out)

    def apply(self, rgb_lin: np.ndarray, values: Mapping[str, Any]) -> np.ndarray:
        """Convenience: validate, prepare and apply the exact NumPy op to a copy of rgb_lin (float32)."""
        prepared = self.prepare(self.validate(values))
        return self.apply_np(np.array(rgb_lin, dtype=np.float32, copy=True), prepared)


def _check_value(filter_name: str, p: Param, value: Any):
    where = f"{filter_name}.{p.name}"
    if p.size == 1:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise FilterParamError(f"{where}: expected a number, got {value!r}")
        return _in_range(where, p, float(value))
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != p.size:
        raise FilterParamError(f"{where}: expected a list of {p.size} numbers")
    return [_in_range(f"{where}[{i}]", p, float(v)) for i, v in enumerate(value)]


def _in_range(where: str, p: Param, v: float) -> float:
    if not math.isfinite(v):
        raise FilterParamError(f"{where}: value {v} is not finite")
    if v < p.low - RANGE_SLACK or v > p.high + RANGE_SLACK:
        raise FilterParamError(f"{where} = {v:.6g} is outside its range [{p.low:.6g}, {p.high:.6g}] {p.unit}".rstrip())
    # Round to 6 decimals: readable JSON, and the in-memory recipe is exactly what a JSON round trip gives back.
    return round(min(max(v, p.low), p.high), DECIMALS)


def broadcast_params_tf(params):
    """(B, k) -> (B, 1, 1, k) so per-sample parameters broadcast over H, W."""
    return params[:, None, None, :]


def signed(value: float, digits: int = 2) -> str:
    """'+0.62' / '-1.00' formatting for descriptions."""
    return f"{value:+.{digits}f}"
