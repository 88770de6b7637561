"""The data path, top to bottom, for one file:

    decode (-> linear ProPhoto) -> agent input (preview) -> decide (Recipe) -> full-res render -> encode + atomic write

`process_one` is the only catch boundary: any InputError (and any unexpected exception) becomes a Failed result
with a one-line reason, so a bad file never stops a batch, the watch daemon or a cluster job. The stages are
separate functions so `process`, `watch` and the Ray path share them.

Exports: OutputOptions, Result, RecipeSource, FixedRecipe, make_source, plan_outputs, decode_stage, decide_stage,
render_stage, process_one, find_inputs; for pipelined engines (batch, scale): Prepared, prepare_stage (decode +
agent input), decide_inputs / decide_prepared (batched), finish_stage (render + write), failed_result.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Protocol, Sequence

import numpy as np

from .errors import ExposureBatchError, InputError, OutputExists, OutputUnwritable
from .failures import Failure, classify
from .limits import DEFAULT_MAX_PIXELS
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
    sidecars: object = "none"  # editor sidecars: 'none' | 'all' | 'darktable,adobe,cube' | sidecars.SidecarOptions
    jpeg_optimize: bool = False  # optimised Huffman tables: ~4% smaller JPEGs for ~3x the encoding time
    thumbnail: int = 0  # > 0: done Results carry a linear thumbnail of the input, this long side in px (reports)
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # refuse inputs declaring more pixels (header check); None: no limit


@dataclass
class Result:
    """Outcome for one input file."""

    path: str
    status: str  # done | skipped | failed
    reason: str = ""  # one line (for failures: failure.message)
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recipe: Recipe | None = None
    #: (h, w, 3) float32 linear ProPhoto thumbnail of the input (before the edit), when opts.thumbnail > 0.
    thumb_lin: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: what went wrong, typed (set with status 'failed'; see exposure_batch.failures).
    failure: Failure | None = None

    @classmethod
    def failed(cls, path: str, failure: Failure, seconds: float = 0.0) -> "Result":
        return cls(path, "failed", failure.message, seconds=seconds, failure=failure)

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


class RecipeSource(Protocol):
    """Whoever decides edits: a fixed recipe, the classic agent or the learned one."""

    #: agent input it needs: 'preview' (64x64 centre crop), 'thumbnail' (whole frame) or None; both linear ProPhoto.
    wants: str | None

    def decide(self, inputs: Sequence, infos: Sequence | None = None) -> list[Recipe]:
        """One Recipe per agent input (batched)."""


def make_source(agent: str = "classic", recipe_path: str | None = None, model_path: str | None = None,
                profile_path: str | None = None):
    """Build the recipe source named on the command line (a fixed recipe wins over a profile, a profile over an
    agent: a profile runs the agent it was learned on, `model_path` for a learned one, then its look)."""
    if recipe_path:
        return FixedRecipe(load_recipe(recipe_path))
    if profile_path:
        from .look.profile import make_profile_source  # noqa: PLC0415

        return make_profile_source(profile_path, model_path)
    from .agent import get_agent  # noqa: PLC0415

    return get_agent(agent, model_path)


def agent_input(source, rgb_lin: np.ndarray):
    """What the source looks at: the 64x64 centre preview, a whole-frame thumbnail, or nothing (float32 linear
    ProPhoto; rgb_lin may be float32 values or uint16 linear codes, see io.Decoded.pixels)."""
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
    stem (IMG.CR2 and IMG.jpg) both keep their extension in the name (IMG.CR2.jpg, IMG.jpg.jpg); inputs that would
    still share an output (the same name in two folders) go to sub-folders named after their folders
    (outplan.disambiguate)."""
    ext = FORMAT_EXTENSIONS[opts.fmt]
    stems: dict[str, set] = {}
    for _, rel in pairs:
        stems.setdefault(str(Path(rel).with_suffix("")), set()).add(rel)
    out = {}
    for path, rel in pairs:
        stem = str(Path(rel).with_suffix(""))
        name = rel if len(stems[stem]) > 1 else stem
        out[path] = os.path.join(opts.outdir, name + ext)
    from .outplan import disambiguate  # noqa: PLC0415

    return disambiguate(pairs, out, opts.outdir)  # a/IMG.jpg + b/IMG.jpg -> OUT/a/IMG.jpg, OUT/b/IMG.jpg


def recipe_path_for(image_path: str) -> str:
    """NAME.jpg -> NAME.recipe.json beside it."""
    return str(Path(image_path).with_suffix("")) + ".recipe.json"


# ---------------------------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------------------------
def decode_stage(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """Decode a file to linear ProPhoto (io.decode.Decoded). Raises InputError (LimitError over max_pixels)."""
    from .io import decode  # noqa: PLC0415

    return decode(path, max_pixels=max_pixels)


def decide_stage(source, decoded_items: Sequence) -> list[Recipe]:
    """Batched decision: one Recipe per decoded image, with the source file's identity attached."""
    inputs = [agent_input(source, d.pixels) for d in decoded_items]
    return decide_inputs(source, inputs, [d.info for d in decoded_items])


def decide_inputs(source, inputs: Sequence, infos: Sequence) -> list[Recipe]:
    """Batched decision on agent inputs already made (previews, thumbnails or None): one Recipe per input, with
    the source file's identity attached. One call = one model invocation for batched agents."""
    recipes = source.decide(list(inputs), list(infos))
    if len(recipes) != len(inputs):
        raise ExposureBatchError(f"recipe source returned {len(recipes)} recipes for {len(inputs)} images")
    return [r.with_source(source_identity(i)) for r, i in zip(recipes, infos)]


def source_identity(info) -> dict:
    """The recipe's `source` block: file name, size, hash, dimensions, format and EXIF."""
    d = info.to_dict()
    keys = ("format", "width", "height", "bit_depth", "source_space", "file_size", "sha256", "exif")
    return {"name": os.path.basename(info.path), **{k: d[k] for k in keys if k in d}}


def render_stage(decoded, recipe: Recipe, out_path: str, opts: OutputOptions) -> list[str]:
    """Render full resolution straight to the output encoding (one fused pass: recipe on linear ProPhoto, then
    output space, clip, transfer curve, quantise; only the integer image is allocated) and write the image (and
    recipe, sidecars) atomically. Returns the paths written."""
    from .io.unit import write_unit  # noqa: PLC0415
    from .io.write import bits_for, check_output, write_encoded  # noqa: PLC0415
    from .outplan import same_place  # noqa: PLC0415
    from .render import render_encoded  # noqa: PLC0415

    if os.path.lexists(out_path) and same_place(out_path, decoded.info.path):
        raise OutputExists(f"{out_path}: is the input file itself; outputs never replace an input")
    _check_name_lengths(decoded.info.path, out_path, opts)
    fmt, space = check_output(out_path, fmt=opts.fmt, quality=opts.quality, space=opts.space, linear=opts.linear,
                              overwrite=opts.overwrite)
    encoded = render_encoded(recipe, decoded.pixels, space, linear=opts.linear, bits=bits_for(fmt))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    except OSError as err:
        raise OutputUnwritable(f"{out_path}: cannot create its folder ({err.strerror or err})") from err
    with write_unit():  # image, recipe, sidecars, .cube: all renamed into place together, or none of them
        written = [
            write_encoded(
                encoded, out_path, fmt=fmt, quality=opts.quality, space=space, linear=opts.linear,
                source_path=decoded.info.path, overwrite=opts.overwrite, optimize=opts.jpeg_optimize,
                source_exif=decoded.info.exif,
            )
        ]
        del encoded
        if opts.save_recipe:
            written.append(recipe.save(recipe_path_for(out_path), overwrite=True))
        if opts.sidecars and opts.sidecars != "none":
            from .sidecars.writer import write_sidecars  # noqa: PLC0415

            written += write_sidecars(recipe, out_path, decoded.info.path, opts.sidecars, overwrite=opts.overwrite)
    return written


#: Bytes atomic_write adds to a name for its temp file ('.' + name + '.' + 8 random + '.tmp').
_TEMP_NAME_EXTRA = 14


def _check_name_lengths(source_path: str, out_path: str, opts: OutputOptions) -> None:
    """InputError when a file this photo writes (image, recipe, sidecars, or their temp files) would have a name
    longer than the filesystem allows: the source's name is the cause, and retrying cannot help."""
    targets = [out_path] + ([recipe_path_for(out_path)] if opts.save_recipe else [])
    if opts.sidecars and opts.sidecars != "none":
        from .sidecars.writer import planned_paths  # noqa: PLC0415

        targets += planned_paths(out_path, source_path, opts.sidecars)
    for target in targets:
        folder, name = os.path.split(os.path.abspath(target))
        try:
            limit = os.pathconf(folder if os.path.isdir(folder) else os.path.dirname(folder) or "/", "PC_NAME_MAX")
        except (OSError, ValueError):
            limit = 255
        if len(os.fsencode(name)) + _TEMP_NAME_EXTRA > limit:
            raise InputError(source_path, f"file name too long for its outputs ({os.path.basename(target)[:40]}... "
                                          f"would pass the {limit}-byte name limit)")


#: The reason of a file skipped because its output is already there (the run then says how to redo it).
EXISTS_REASON = "output exists (--overwrite to redo)"


def existing_outputs_block(out_path: str, opts: OutputOptions) -> Result | None:
    """An existing output is skipped unless opts.overwrite (never silently clobbered, never an error)."""
    if opts.overwrite or not os.path.exists(out_path):
        return None
    return Result(out_path, "skipped", EXISTS_REASON, [out_path])


@dataclass
class Prepared:
    """A decoded file waiting for its recipe: the full image plus the small agent input made from it.

    decoded: io.Decoded (pixels (H, W, 3) linear ProPhoto, float32 or uint16 codes); agent_in: what `source.wants`
    (a 64x64 preview,
    a <=256 px thumbnail, both linear ProPhoto float32) or None; start: perf_counter() when the file was picked up.
    """

    path: str
    out_path: str
    decoded: object
    agent_in: np.ndarray | None
    start: float


def failed_result(path: str, err: BaseException, start: float, stage: str = "decode") -> Result:
    """The catch boundary: any exception -> a failed Result with a typed Failure (failures.classify)."""
    failure = classify(err, stage)
    if failure.message.startswith("internal error"):
        log.debug("unexpected error on %s\n%s", path, "".join(traceback.format_exception(err)))
    return Result.failed(path, failure, time.perf_counter() - start)


def prepare_stage(source, path: str, out_path: str, opts: OutputOptions) -> Prepared | Result:
    """Stage 1 (CPU, I/O): existing-output check, full decode, agent input. Never raises: a Result means the file
    is finished already (skipped or failed)."""
    start = time.perf_counter()
    blocked = existing_outputs_block(out_path, opts)
    if blocked is not None:
        blocked.path = path
        return blocked
    try:
        decoded = decode_stage(path, opts.max_pixels)
        return Prepared(path, out_path, decoded, agent_input(source, decoded.pixels), start)
    except Exception as err:  # noqa: BLE001  (catch boundary)
        return failed_result(path, err, start)


def decide_prepared(source, items: Sequence[Prepared]) -> list[Recipe | Result]:
    """Stage 2 (batched agent): one Recipe per item; if the batch call fails, each item is retried alone so one
    bad input fails only itself (as a Result)."""
    if not items:
        return []
    try:
        return list(decide_inputs(source, [p.agent_in for p in items], [p.decoded.info for p in items]))
    except Exception:  # noqa: BLE001
        if len(items) == 1:
            try:
                return list(decide_inputs(source, [items[0].agent_in], [items[0].decoded.info]))
            except Exception as err:  # noqa: BLE001
                return [failed_result(items[0].path, err, items[0].start, "agent")]
        return [decide_prepared(source, [p])[0] for p in items]


def finish_stage(item: Prepared, recipe: Recipe, opts: OutputOptions) -> Result:
    """Stage 3 (CPU): full-resolution render, encode and atomic writes (render_stage). Never raises."""
    try:
        thumb = _thumbnail(item.decoded.pixels, opts.thumbnail)
        outputs = render_stage(item.decoded, recipe, item.out_path, opts)
        return Result(item.path, "done", outputs=outputs, seconds=time.perf_counter() - item.start, recipe=recipe,
                      thumb_lin=thumb)
    except Exception as err:  # noqa: BLE001  (catch boundary)
        return failed_result(item.path, err, item.start, "render")


def _thumbnail(rgb_lin: np.ndarray, max_side: int) -> np.ndarray | None:
    """Area-averaged linear thumbnail (long side max_side) for reports, or None when max_side is 0."""
    if not max_side:
        return None
    from .preview import thumbnail  # noqa: PLC0415

    return thumbnail(rgb_lin, max_side)


def variation_path(out_path: str, k: int) -> str:
    """Output path of variation k (from 1): NAME.jpg -> NAME_v1.jpg (sidecars and recipes follow that name)."""
    stem, ext = os.path.splitext(out_path)
    return f"{stem}_v{k}{ext}"


def process_variations(path: str, out_path: str, source, n: int, opts: OutputOptions) -> list[Result]:
    """`n` alternative edits of one photo: decoded once, `source.variations(agent_input, n)` (the learned agent's
    seeded dropout sampling: same photo, same alternatives), each rendered to variation_path(out_path, k).
    Never raises: failures come back as failed Results (one per variation that could not be written)."""
    item = prepare_stage(source, path, variation_path(out_path, 1), opts)
    if isinstance(item, Result):
        return [item]
    try:
        identity = source_identity(item.decoded.info)
        recipes = [r.with_source(identity) for r in source.variations(item.agent_in, n)]
    except Exception as err:  # noqa: BLE001  (catch boundary)
        return [failed_result(path, err, item.start, "agent")]
    results = []
    for k, recipe in enumerate(recipes, 1):
        target = variation_path(out_path, k)
        blocked = existing_outputs_block(target, opts) if k > 1 else None
        if blocked is not None:
            blocked.path = path
            results.append(blocked)
            continue
        results.append(finish_stage(replace(item, out_path=target), recipe, opts))
    return results


def process_one(path: str, out_path: str, source, opts: OutputOptions) -> Result:
    """Whole data path for one file. Never raises: failures come back as Result(status='failed', reason=...)."""
    item = prepare_stage(source, path, out_path, opts)
    if isinstance(item, Result):
        return item
    decided = decide_prepared(source, [item])[0]
    if isinstance(decided, Result):
        return decided
    return finish_stage(item, decided, opts)
