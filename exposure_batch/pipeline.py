"""The data path, top to bottom, for one file:

    decode (-> linear ProPhoto) -> agent input (preview) -> decide (Recipe) -> full-res render -> encode + atomic write

`process_one` is the only catch boundary: any InputError (and any unexpected exception) becomes a Failed result
with a one-line reason, so a bad file never stops a batch, the watch daemon or a cluster job. The stages are
separate functions so `process`, `watch` and the Ray path share them.

Exports: OutputOptions, Result, RecipeSource, FixedRecipe, make_source, plan_outputs, decode_stage, decide_stage,
render_stage, process_one, find_inputs.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import ExposureBatchError, InputError, OutputError
from .recipe import Recipe, load_recipe

log = logging.getLogger(__name__)

FORMAT_EXTENSIONS = {"jpeg": ".jpg", "tiff": ".tif", "png": ".png"}


@dataclass(frozen=True)
class OutputOptions:
    """Where and how outputs are written. Picklable (sent to worker processes)."""

    outdir: str
    fmt: str = "jpeg"  # jpeg | tiff | png
    quality: int = 95
    space: str = "srgb"  # output colour space: srgb | prophoto | adobergb | p3 | rec2020
    linear: bool = False  # write linear values (TIFF/PNG only); default is the space's transfer curve
    save_recipe: bool = False
    overwrite: bool = False
    skip_existing: bool = False


@dataclass
class Result:
    """Outcome for one input file."""

    path: str
    status: str  # done | skipped | failed
    reason: str = ""
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recipe: Recipe | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


# ---------------------------------------------------------------------------------------------------------------
# Recipe sources
# ---------------------------------------------------------------------------------------------------------------
class FixedRecipe:
    """Apply one saved recipe (a studio's look) to every photo."""

    wants = None

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.model_id = recipe.model_id

    def decide(self, inputs, infos=None) -> list[Recipe]:
        return [self.recipe for _ in inputs]


RecipeSource = object  # protocol: .wants ('preview' | 'thumbnail' | None) and .decide(inputs, infos) -> list[Recipe]


def make_source(agent: str = "classic", recipe_path: str | None = None, model_path: str | None = None):
    """Build the recipe source named on the command line (a fixed recipe wins over an agent)."""
    if recipe_path:
        return FixedRecipe(load_recipe(recipe_path))
    from .agent import get_agent  # noqa: PLC0415

    return get_agent(agent, model_path)


def agent_input(source, rgb_lin: np.ndarray):
    """What the source looks at: the 64x64 centre preview, a whole-frame thumbnail, or nothing."""
    from . import preview  # noqa: PLC0415

    if source.wants == "preview":
        return preview.make_preview(rgb_lin)
    if source.wants == "thumbnail":
        return preview.thumbnail(rgb_lin)
    return None


# ---------------------------------------------------------------------------------------------------------------
# Inputs and output names
# ---------------------------------------------------------------------------------------------------------------
def find_inputs(inputs: Iterable[str], recursive: bool = False) -> list[tuple[str, str]]:
    """Expand files and folders into (path, relative_name) pairs, sorted, supported extensions only for folders.

    Files named explicitly are always kept (a bad one then fails with a clear reason); hidden files and
    temp names (._*, *.part, *.tmp) inside folders are skipped.
    """
    from .io import is_supported  # noqa: PLC0415

    found: list[tuple[str, str]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            pattern = p.rglob("*") if recursive else p.glob("*")
            for f in sorted(pattern):
                if f.is_file() and not _is_temp_name(f) and is_supported(f):
                    found.append((str(f), str(f.relative_to(p))))
        else:
            found.append((str(p), p.name))
    seen, unique = set(), []
    for path, rel in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append((path, rel))
    return unique


def _is_temp_name(p: Path) -> bool:
    name = p.name
    return name.startswith(".") or name.endswith((".part", ".tmp", ".crdownload")) or "@eaDir" in p.parts


def plan_outputs(pairs: Sequence[tuple[str, str]], opts: OutputOptions) -> dict[str, str]:
    """Map each input path to its output image path. 'a/IMG.CR2' -> OUTDIR/a/IMG.jpg; when two inputs share a
    stem (IMG.CR2 and IMG.jpg) both keep their extension in the name (IMG.CR2.jpg, IMG.jpg.jpg)."""
    ext = FORMAT_EXTENSIONS[opts.fmt]
    stems: dict[str, int] = {}
    for _, rel in pairs:
        stem = str(Path(rel).with_suffix(""))
        stems[stem] = stems.get(stem, 0) + 1
    out = {}
    for path, rel in pairs:
        stem = str(Path(rel).with_suffix(""))
        name = rel if stems[stem] > 1 else stem
        out[path] = os.path.join(opts.outdir, name + ext)
    return out


def recipe_path_for(image_path: str) -> str:
    """NAME.jpg -> NAME.recipe.json beside it."""
    return str(Path(image_path).with_suffix("")) + ".recipe.json"


# ---------------------------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------------------------
def decode_stage(path: str):
    """Decode a file to linear ProPhoto (io.decode.Decoded). Raises InputError."""
    from .io import decode  # noqa: PLC0415

    return decode(path)


def decide_stage(source, decoded_items: Sequence) -> list[Recipe]:
    """Batched decision: one Recipe per decoded image, with the source file's identity attached."""
    inputs = [agent_input(source, d.rgb_lin) for d in decoded_items]
    recipes = source.decide(inputs, [d.info for d in decoded_items])
    return [r.with_source(source_identity(d.info)) for r, d in zip(recipes, decoded_items)]


def source_identity(info) -> dict:
    """The recipe's `source` block: file name, size, hash, dimensions, format and EXIF."""
    d = info.to_dict()
    keys = ("format", "width", "height", "bit_depth", "source_space", "file_size", "sha256", "exif")
    return {"name": os.path.basename(info.path), **{k: d[k] for k in keys if k in d}}


def render_stage(decoded, recipe: Recipe, out_path: str, opts: OutputOptions) -> list[str]:
    """Render full resolution in place and write the image (and recipe) atomically. Returns paths written."""
    from .io import write_image  # noqa: PLC0415
    from .render import render  # noqa: PLC0415

    rgb_lin = render(recipe, decoded.rgb_lin, out=decoded.rgb_lin)  # in place: no second full-size copy
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    written = [
        write_image(
            rgb_lin, out_path, fmt=opts.fmt, quality=opts.quality, space=opts.space, linear=opts.linear,
            source_path=decoded.info.path, overwrite=opts.overwrite,
        )
    ]
    if opts.save_recipe:
        written.append(recipe.save(recipe_path_for(out_path), overwrite=True))
    return written


def existing_outputs_block(out_path: str, opts: OutputOptions) -> Result | None:
    """Decide what to do when the output is already there: skip, overwrite, or fail (never silently clobber)."""
    if not os.path.exists(out_path):
        return None
    if opts.skip_existing:
        return Result(out_path, "skipped", "output exists", [out_path])
    if opts.overwrite:
        return None
    return Result(out_path, "failed", f"output {out_path} exists (use --overwrite or --skip-existing)")


def process_one(path: str, out_path: str, source, opts: OutputOptions) -> Result:
    """Whole data path for one file. Never raises: failures come back as Result(status='failed', reason=...)."""
    start = time.perf_counter()
    blocked = existing_outputs_block(out_path, opts)
    if blocked is not None:
        blocked.path = path
        return blocked
    try:
        decoded = decode_stage(path)
        recipe = decide_stage(source, [decoded])[0]
        outputs = render_stage(decoded, recipe, out_path, opts)
        return Result(path, "done", outputs=outputs, seconds=time.perf_counter() - start, recipe=recipe)
    except InputError as err:
        return Result(path, "failed", err.reason, seconds=time.perf_counter() - start)
    except ExposureBatchError as err:
        return Result(path, "failed", str(err), seconds=time.perf_counter() - start)
    except MemoryError:
        return Result(path, "failed", "out of memory while processing", seconds=time.perf_counter() - start)
    except Exception as err:  # noqa: BLE001  (the catch boundary: log the traceback, keep the batch going)
        log.debug("unexpected error on %s\n%s", path, traceback.format_exc())
        return Result(path, "failed", f"internal error: {type(err).__name__}: {err}", seconds=time.perf_counter() - start)
