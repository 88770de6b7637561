"""One photo's edit, end to end, and the editor outputs built from its recipe.

analyse (worker) -> decide (warm source, batched) -> {recipe, lightroom, darktable_xmp, notes} -> optional render
(worker). The Lightroom table and the darktable sidecar come from the same mapping code as the sidecars `process`
writes (sidecars.adobe.crs_settings, sidecars.darktable.recipe_xmp): one mapping per editor.

Exports: EditRequest, RenderRequest, EditError, edit_photo, editor_outputs, is_raw_name.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..errors import ExposureBatchError
from .engine import EngineFailure
from .tasks import Analysis

#: Extensions Lightroom treats as rendered files (Incremental temperature/tint); everything else (raw, DNG) is raw.
RENDERED_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".png", ".psd", ".heic", ".heif", ".avif", ".webp")


class EditError(Exception):
    """A photo that could not be edited. kind: failures.Kind's value ('input', 'limit': the photo's fault, 422;
    'environment', 'crash', 'timeout': 503)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


@dataclass(frozen=True)
class RenderRequest:
    """Full-resolution output: format jpeg | tiff | png, quality, folder (already checked against the roots)."""

    fmt: str = "jpeg"
    quality: int = 95
    output_dir: str = ""


@dataclass(frozen=True)
class EditRequest:
    """path: resolved file to decode; name: the original's file name (for an upload, the original's, not the
    temp file's); raw: whether the original is a raw file (None: from name's extension)."""

    path: str
    name: str
    choice: object  # decider.SourceChoice
    raw: bool | None = None
    render: RenderRequest | None = None


def is_raw_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() not in RENDERED_EXTENSIONS


def editor_outputs(recipe, name: str, raw: bool) -> dict:
    """Recipe -> the response body's editor parts (JSON-serialisable)."""
    from ..sidecars import adobe, darktable, xmp  # noqa: PLC0415

    crs = adobe.crs_settings(recipe, raw=raw)
    tree, hist = darktable.recipe_xmp(recipe, derived_from=name, raw=darktable.is_raw(name))
    return {
        "recipe": recipe.to_dict(),
        "lightroom": adobe.lightroom_settings(crs),
        "darktable_xmp": xmp.serialize(tree).decode("utf-8"),
        "history_name": history_name(recipe),
        "notes": [f"lightroom: {n}" for n in crs.notes] + [f"darktable: {n}" for n in hist.notes],
    }


def history_name(recipe) -> str:
    """Short label for an editor's history step: 'exposure-batch: Exposure, Tone curve, Saturation'."""
    labels = [s.spec.label for s in recipe.steps]
    return "exposure-batch: " + (", ".join(labels) if labels else "no change")


async def edit_photo(req: EditRequest, engine, decider, priority: str = "interactive") -> dict:
    """Analyse, decide, describe, and render when asked. Raises EditError."""
    t0 = time.perf_counter()
    try:
        source = decider.source(req.choice)
    except ExposureBatchError as err:  # a profile that cannot be loaded: the service's setup, not the photo
        raise EditError("environment", f"{req.choice.label} cannot be loaded: {' '.join(str(err).split())}") from err
    analysis = await _call(engine, "analyse", {"path": req.path, "wants": source.wants}, priority, req.name)
    if not isinstance(analysis, Analysis):
        raise EditError("crash", f"{req.name}: unexpected worker answer {type(analysis).__name__}")
    t1 = time.perf_counter()
    try:
        recipe = await decider.decide(req.choice, analysis.agent_in, analysis.info)
    except Exception as err:  # noqa: BLE001  (a model failure is this photo's failure)
        raise EditError("crash", f"{req.name}: the recipe source failed: {err}") from err
    t2 = time.perf_counter()
    raw = req.raw if req.raw is not None else is_raw_name(req.name)
    body = editor_outputs(recipe, req.name, raw)
    body["source"] = {"name": req.name, "raw": raw, "width": analysis.info.width, "height": analysis.info.height,
                      "format": analysis.info.format}
    body["timing"] = {"queue_and_decode_s": round(t1 - t0, 4), "decode_s": round(analysis.decode_s, 4),
                      "decide_s": round(t2 - t1, 4)}
    if req.render is not None:
        body["outputs"] = await _render(req, recipe, engine, priority)
    return body


async def _render(req: EditRequest, recipe, engine, priority: str) -> list[str]:
    from ..pipeline.options import FORMAT_EXTENSIONS, OutputOptions  # noqa: PLC0415

    r = req.render
    stem = os.path.splitext(req.name)[0]
    out_path = os.path.join(r.output_dir, stem + FORMAT_EXTENSIONS[r.fmt])
    if os.path.realpath(out_path) == os.path.realpath(req.path):
        raise EditError("input", f"{req.name}: the render would replace the source file; choose another output_dir")
    opts = OutputOptions(outdir=r.output_dir, fmt=r.fmt, quality=r.quality, overwrite=True)
    result = await _call(engine, "render", {"path": req.path, "out_path": out_path, "recipe": recipe.to_dict(),
                                            "opts": opts}, priority, req.name)
    if result.status == "failed":  # (typed failures were raised by _call already)
        raise EditError("crash", f"{req.name}: render failed: {result.reason}")
    return list(result.outputs)


async def _call(engine, kind: str, payload: dict, priority: str, name: str):
    """engine.call, its typed failure raised as EditError naming the photo."""
    try:
        return await engine.call(kind, payload, priority)
    except EngineFailure as err:
        raise EditError(err.kind, f"{name}: {err.reason}") from err
