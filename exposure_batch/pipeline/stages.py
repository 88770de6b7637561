"""The data path, top to bottom, for one file:

    decode (-> linear ProPhoto) -> agent input (preview) -> decide (Recipe) -> full-res render -> encode + atomic write

`process_one` is the only catch boundary: any InputError (and any unexpected exception) becomes a Failed result
with a one-line reason, so a bad file never stops a batch, the watch daemon or a cluster job. The stages are
separate functions so `process`, `watch` and the Ray path share them. The recipe source (`sources.RecipeSource`)
is passed in: who decides the edit is not this module's business.

Exports: agent_input, decode_stage, decide_stage, render_stage, process_one, process_variations, source_identity;
for pipelined engines (engine.stream, engine.ray): Prepared, prepare_stage (decode + agent input), decide_inputs /
decide_prepared (batched), finish_stage (render + write).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..errors import ExposureBatchError, OutputExists, OutputUnwritable, UnsupportedFormat
from ..limits import DEFAULT_MAX_PIXELS
from ..recipe import Recipe
from .options import OutputOptions
from .outputs import check_name_lengths, existing_outputs_block, recipe_path_for, same_place, variation_path
from .result import Result, Skip, failed_result


def agent_input(source, rgb_lin: np.ndarray):
    """What the source looks at: the 64x64 centre preview, a whole-frame thumbnail, or nothing (float32 linear
    ProPhoto; rgb_lin may be float32 values or uint16 linear codes, see io.Decoded.pixels)."""
    from ..render import preview  # noqa: PLC0415

    if source.wants == "preview":
        return preview.make_preview(rgb_lin)
    if source.wants == "thumbnail":
        return preview.thumbnail(rgb_lin)
    return None


def decode_stage(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """Decode a file to linear ProPhoto (io.decode.Decoded). Raises InputError (LimitError over max_pixels)."""
    from ..io import decode  # noqa: PLC0415

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
    from ..io.unit import write_unit  # noqa: PLC0415
    from ..io.write import bits_for, check_output, write_encoded  # noqa: PLC0415
    from ..render import render_encoded  # noqa: PLC0415

    if os.path.lexists(out_path) and same_place(out_path, decoded.info.path):
        raise OutputExists(f"{out_path}: is the input file itself; outputs never replace an input")
    check_name_lengths(decoded.info.path, out_path, opts)
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
            from ..sidecars.writer import write_sidecars  # noqa: PLC0415

            written += write_sidecars(recipe, out_path, decoded.info.path, opts.sidecars, overwrite=opts.overwrite)
    return written


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
    except UnsupportedFormat as err:  # a photo we do not decode (JPEG XL): skipped and counted, not a failure
        return Result(path, "skipped", err.reason, seconds=time.perf_counter() - start, skip=Skip.UNSUPPORTED)
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
    from ..render.preview import thumbnail  # noqa: PLC0415

    return thumbnail(rgb_lin, max_side)


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
