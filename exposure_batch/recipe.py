"""The edit recipe: the contract between whoever decides an edit (agent, classic auto, a saved look) and everything
downstream (renderer, sidecar writers, reports). Renderers and writers only ever see a Recipe, never a model.

A recipe is an ordered list of steps (filter name + named parameter values in real units) applied to a
**scene-linear image in the working space (linear ProPhoto RGB)**. The output encoding (e.g. the sRGB transfer
curve) is a fixed last stage outside the recipe. JSON layout (schema 1):

    {"schema": "exposure-batch/recipe", "schema_version": 1, "working_space": "linear ProPhoto RGB",
     "model": {"id": "classic", "version": "1"}, "source": {...} | null,
     "steps": [{"filter": "exposure", "version": 1, "params": {"ev": 0.62}}, ...],
     "group": {"id": "g001", "frames": 5, ...}}   # optional: the scene group it was harmonised in

Exports: SCHEMA_VERSION, Step, Recipe, load_recipe, drop_noop_steps, NOOP_TOLERANCE_CODES.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from . import filters
from .errors import OutputExists, RecipeError

SCHEMA = "exposure-batch/recipe"
SCHEMA_VERSION = 1
WORKING_SPACE = "linear ProPhoto RGB"


@dataclass(frozen=True)
class Step:
    """One filter application. `params` are validated real-unit values (floats or lists of floats)."""

    filter: str
    params: Mapping[str, Any]
    version: int = 0  # the filter version `params` were written for (0 = current); older ones are migrated

    def __post_init__(self):
        spec = filters.get(self.filter)
        version = self.version or spec.version
        params = spec.migrate(version, self.params) if version != spec.version else self.params
        object.__setattr__(self, "version", spec.version)
        object.__setattr__(self, "params", spec.validate(params))

    @property
    def spec(self) -> filters.FilterSpec:
        return filters.get(self.filter)

    def describe(self) -> str:
        """One line: 'Exposure +0.62 EV'."""
        return self.spec.describe(self.params)

    def to_dict(self) -> dict:
        return {"filter": self.filter, "version": self.version, "params": dict(self.params)}

    @classmethod
    def from_vector(cls, name: str, vector) -> "Step":
        """Build from a (k,) parameter vector in the filter's `params` order."""
        spec = filters.get(name)
        return cls(name, spec.values(np.asarray(vector)))


@dataclass(frozen=True)
class Recipe:
    """Ordered steps plus provenance. Immutable; JSON round trip with `to_json` / `from_json`."""

    steps: tuple[Step, ...]
    model_id: str = "manual"
    model_version: str = "1"
    source: Mapping[str, Any] | None = None
    working_space: str = WORKING_SPACE
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The scene group this frame was harmonised in (shoot.plan): {"id", "frames", ...}; None when not grouped.
    group: Mapping[str, Any] | None = None

    def __post_init__(self):
        steps = tuple(self.steps)
        _check_step_count(len(steps))
        for s in steps:
            if not isinstance(s, Step):
                raise RecipeError(f"recipe steps must be Step objects, got {type(s).__name__}")
        object.__setattr__(self, "steps", steps)
        if self.working_space != WORKING_SPACE:
            raise RecipeError(f"recipe working space {self.working_space!r} is not supported (only {WORKING_SPACE!r})")

    # --- construction helpers -------------------------------------------------------------------------------
    @classmethod
    def from_steps(cls, steps: Iterable[tuple[str, Mapping[str, Any]]], **kwargs) -> "Recipe":
        """Recipe.from_steps([("exposure", {"ev": 0.5}), ...], model_id="classic")."""
        return cls(tuple(Step(name, params) for name, params in steps), **kwargs)

    def with_source(self, source: Mapping[str, Any] | None) -> "Recipe":
        return dataclasses.replace(self, source=source)

    def with_group(self, group: Mapping[str, Any] | None) -> "Recipe":
        return dataclasses.replace(self, group=group)

    # --- serialisation ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "schema_version": self.schema_version,
            "working_space": self.working_space,
            "model": {"id": self.model_id, "version": self.model_version},
            "source": dict(self.source) if self.source is not None else None,
            "steps": [s.to_dict() for s in self.steps],
            **({"extra": dict(self.extra)} if self.extra else {}),
            **({"group": dict(self.group)} if self.group is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text; ASCII-escaped when a source name holds bytes that are not UTF-8 (they round-trip exactly)."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=_json_default)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=True, default=_json_default)
        return text

    @classmethod
    def from_dict(cls, data: Any) -> "Recipe":
        """Validate and build. Raises RecipeError with a one-line message on any problem."""
        if not isinstance(data, Mapping):
            raise RecipeError("recipe must be a JSON object")
        if data.get("schema", SCHEMA) != SCHEMA:
            raise RecipeError(f"not an exposure-batch recipe (schema {data.get('schema')!r})")
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise RecipeError("recipe has no integer 'schema_version'")
        if version < 1:
            raise RecipeError(f"recipe schema_version {version} is not valid (versions start at 1; this "
                              f"exposure-batch reads 1..{SCHEMA_VERSION})")
        if version > SCHEMA_VERSION:
            raise RecipeError(f"recipe schema_version {version} is newer than supported ({SCHEMA_VERSION}); upgrade exposure-batch")
        data = _upgrade(dict(data), version)
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list):
            raise RecipeError("recipe 'steps' must be a list")
        _check_step_count(len(raw_steps))
        steps = []
        for i, raw in enumerate(raw_steps):
            if not isinstance(raw, Mapping) or "filter" not in raw or "params" not in raw:
                raise RecipeError(f"step {i}: needs 'filter' and 'params'")
            try:
                steps.append(Step(raw["filter"], raw["params"], _step_version(raw.get("version", 0))))
            except RecipeError as err:
                raise RecipeError(f"step {i}: {err}") from None
        extra = data.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise RecipeError(f"recipe 'extra' must be an object, got {type(extra).__name__}")
        model = data.get("model") or {}
        if not isinstance(model, Mapping):
            raise RecipeError("recipe 'model' must be an object")
        return cls(
            tuple(steps),
            model_id=str(model.get("id", "manual")),
            model_version=str(model.get("version", "1")),
            source=data.get("source"),
            working_space=data.get("working_space", WORKING_SPACE),
            extra=extra,
            group=_group_block(data.get("group")),
        )

    @classmethod
    def from_json(cls, text: str) -> "Recipe":
        from .limits import MAX_RECIPE_BYTES  # noqa: PLC0415

        if len(text) > MAX_RECIPE_BYTES:  # (a 64-step recipe with its source's EXIF is a few KB)
            raise RecipeError(f"recipe is {len(text)} characters; at most {MAX_RECIPE_BYTES} are allowed")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecipeError(f"recipe is not valid JSON: {err.msg} at line {err.lineno}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike, overwrite: bool = True) -> str:
        """Write JSON atomically (temp file + rename)."""
        from .io.write import atomic_write  # noqa: PLC0415

        path = os.fspath(path)
        if not overwrite and os.path.exists(path):
            raise OutputExists(f"{path}: exists (use overwrite)")
        with atomic_write(path, "w") as fh:
            fh.write(self.to_json() + "\n")
        return path

    def describe(self) -> list[str]:
        return [s.describe() for s in self.steps]

    def __len__(self) -> int:
        return len(self.steps)


#: A step is a no-op when, on its probe colours, it moves no display sRGB code by more than this (8-bit codes).
NOOP_TOLERANCE_CODES = 0.25


@functools.lru_cache(maxsize=1)
def _to_display_matrix() -> np.ndarray:
    from . import color  # noqa: PLC0415

    return np.ascontiguousarray(color.convert_matrix(color.WORKING_SPACE, color.Space.SRGB).T)


@functools.lru_cache(maxsize=1)
def _encode_table() -> np.ndarray:
    """sRGB transfer as 8-bit code values (float) for linear 0, 1/65535, ..., 1 (a 1/65535 step moves a code by at
    most 0.05, far below NOOP_TOLERANCE_CODES)."""
    from . import color  # noqa: PLC0415

    return color.srgb_encode(np.linspace(0.0, 1.0, 65536, dtype=np.float32)) * np.float32(255.0)


def _display_codes(rgb_lin: np.ndarray) -> np.ndarray:
    """(N, 3) linear working-space RGB -> display sRGB 8-bit code values (float, to within 0.05 codes)."""
    srgb = np.clip(np.asarray(rgb_lin, np.float32) @ _to_display_matrix(), 0.0, 1.0)
    return _encode_table()[np.rint(srgb * np.float32(65535.0)).astype(np.int32)]


@functools.lru_cache(maxsize=1)
def _probe_colours() -> np.ndarray:
    """(729, 3) linear working-space colours: a 9 x 9 x 9 grid evenly spaced in display-encoded sRGB."""
    from . import color  # noqa: PLC0415

    levels = np.linspace(0.0, 1.0, 9, dtype=np.float32)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    return color.convert_linear(color.decode(grid, color.Space.SRGB), color.Space.SRGB, color.WORKING_SPACE)


def drop_noop_steps(steps: Iterable[Step], image_lin: np.ndarray | None = None,
                    tolerance: float = NOOP_TOLERANCE_CODES) -> tuple[Step, ...]:
    """The steps without those that do (next to) nothing: a step is dropped when its parameters are the filter's
    identity, or when neither on a grid of display colours nor on `image_lin` ((..., 3) linear working space, e.g. the preview the recipe was decided on; what the
    step sees there, after the steps kept before it) it moves a display sRGB code by more than `tolerance`."""
    probe = _probe_colours()
    n = len(probe)
    x = probe if image_lin is None else np.concatenate([probe, np.asarray(image_lin, np.float32).reshape(-1, 3)])
    codes = _display_codes(x)
    kept = []
    for step in steps:
        spec = step.spec
        if dict(step.params) == spec.identity():  # e.g. gamma 1 (which still lifts x < 0.001 to 0.001)
            continue
        after = spec.apply_np(x.copy(), spec.prepare(step.params))  # params validated by Step
        after_codes = _display_codes(after)
        if float(np.max(np.abs(after_codes - codes))) > tolerance:
            kept.append(step)
            x[n:], codes[n:] = after[n:], after_codes[n:]  # the image moves on; the grid stays the grid
    return tuple(kept)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read a recipe JSON file. Errors name the file: 'look.json: step 2: exposure.ev = 9 is outside ...'."""
    from .limits import MAX_RECIPE_BYTES  # noqa: PLC0415

    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_RECIPE_BYTES + 1)  # never more than the limit into memory
    except OSError as err:
        raise RecipeError(f"{path}: cannot read recipe ({err.strerror})") from None
    try:
        return Recipe.from_json(text)
    except RecipeError as err:
        raise RecipeError(f"{path}: {err}") from None


def _group_block(value) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise RecipeError("recipe 'group' must be an object with a string 'id'")
    return dict(value)


def _check_step_count(n: int) -> None:
    """RecipeError when a recipe has more steps than limits.MAX_RECIPE_STEPS (checked before any step is built)."""
    from .limits import MAX_RECIPE_STEPS  # noqa: PLC0415

    if n > MAX_RECIPE_STEPS:
        raise RecipeError(f"recipe has {n} steps; at most {MAX_RECIPE_STEPS} are allowed")


def _step_version(value) -> int:
    """A step's 'version': a positive integer (0 or absent: the filter's current version)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecipeError(f"'version' must be a positive integer, got {json.dumps(value)[:40]}")
    return value


def _upgrade(data: dict, version: int) -> dict:
    """Upgrade chain: one function per old schema version (none yet: schema 1 is the first)."""
    upgrades: dict[int, Any] = {}
    while version < SCHEMA_VERSION:
        data = upgrades[version](data)
        version += 1
    data["schema_version"] = version
    return data


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
