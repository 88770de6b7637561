"""One photo's edit, end to end, and the editor outputs built from its recipe.

analyse (worker) -> decide (warm source, batched) -> {recipe, lightroom, darktable_xmp, notes} -> optional render
(worker). The Lightroom table and the darktable sidecar come from the same mapping code as the sidecars `process`
writes (sidecars.adobe.crs_settings, sidecars.darktable.recipe_xmp): one mapping per editor.

Exports: EditRequest, RenderRequest, EditError, edit_photo, editor_outputs, is_raw_name.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from ..errors import ExposureBatchError, Kind
from ..failures import Failed, Failure
from ..io import formats
from .outputs import Claims, OutputConflict, PlanError, plan
from .tasks import Analysis

#: A photo that could not be edited: the one exception carrying a failures.Failure (the HTTP layer answers with
#: the status for its kind and serialises the Failure).
EditError = Failed


def _failed(kind: Kind, stage: str, message: str) -> Failed:
    return Failed(Failure(kind, stage, message))


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
    out_path: str | None = None  # the planned output (outputs.plan); None: planned for this photo alone


def is_raw_name(name: str) -> bool:
    """Whether an original of this name is a camera raw (io.formats.is_raw)."""
    return formats.is_raw(name)


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
    """Short label for an editor's history step: 'exposure-batch: Exposure, Tone curve, Saturation' (each filter
    named once, in the order it first acts: a recipe with two white balances says "White balance" once)."""
    labels = list(dict.fromkeys(s.spec.label for s in recipe.steps))
    return "exposure-batch: " + (", ".join(labels) if labels else "no change")


async def edit_photo(req: EditRequest, engine, decider, priority: str = "interactive", claims=None) -> dict:
    """Analyse, decide, describe, and render when asked (`claims`: the service's outputs.Claims, which pick the
    file a render writes). Raises EditError."""
    t0 = time.perf_counter()
    try:
        source = decider.source(req.choice)
    except ExposureBatchError as err:  # a profile that cannot be loaded: the service's setup, not the photo
        raise _failed(Kind.SETUP, "decide", f"{req.choice.label} cannot be loaded: {' '.join(str(err).split())}") from err
    analysis = await _call(engine, "analyse", {"path": req.path, "wants": source.wants}, priority, req.name)
    if not isinstance(analysis, Analysis):
        raise _failed(Kind.CRASH, "analyse", f"{req.name}: unexpected worker answer {type(analysis).__name__}")
    t1 = time.perf_counter()
    try:
        recipe = await decider.decide(req.choice, analysis.agent_in, analysis.info)
    except Exception as err:  # noqa: BLE001  (a model failure is this photo's failure)
        raise _failed(err.kind if isinstance(err, ExposureBatchError) else Kind.CRASH, "decide",
                      f"{req.name}: the recipe source failed: {err}") from err
    t2 = time.perf_counter()
    # the recipe names the original (for an upload, its name, not the service's temp file)
    recipe = recipe.with_source({**(recipe.source or {}), "name": req.name})
    raw = req.raw if req.raw is not None else is_raw_name(req.name)
    body = editor_outputs(recipe, req.name, raw)
    body["source"] = {"name": req.name, "raw": raw, "width": analysis.info.width, "height": analysis.info.height,
                      "format": analysis.info.format}
    body["timing"] = {"queue_and_decode_s": round(t1 - t0, 4), "decode_s": round(analysis.decode_s, 4),
                      "decide_s": round(t2 - t1, 4)}
    if req.render is not None:
        outputs, note = await _render(req, recipe, engine, priority, claims or Claims())
        body["outputs"] = outputs
        if note:
            body["notes"].append(f"render: {note}")
    return body


async def _render(req: EditRequest, recipe, engine, priority: str, claims: Claims) -> tuple[list[str], str]:
    """Render to the file `claims` picks (never one the service did not write). Returns (paths written, note)."""
    from ..pipeline.options import OutputOptions  # noqa: PLC0415

    r = req.render
    planned = req.out_path or plan_one(req.path, req.name, r)
    try:
        claim = await claims.claim(req.path, planned, r.output_dir)
    except OutputConflict as err:
        raise _failed(Kind.CONFLICT, "render", str(err)) from err
    opts = OutputOptions(outdir=r.output_dir, fmt=r.fmt, quality=r.quality, overwrite=claim.overwrite)
    written: list[str] = []
    try:
        result = await _call(engine, "render", {"path": req.path, "out_path": claim.path,
                                                "recipe": recipe.to_dict(), "opts": opts}, priority, req.name)
        if result.status == "skipped":  # another program created the file meanwhile: it stays untouched
            raise _failed(Kind.CONFLICT, "render", f"{req.name}: {claim.path} appeared while rendering and was "
                                                   "left alone; try again")
        if result.status == "failed":  # (typed failures were raised by _call already)
            raise _failed(Kind.CRASH, "render", f"{req.name}: render failed: {result.reason}")
        written = list(result.outputs)
    finally:
        claims.release(claim, req.path, r.output_dir, written)
    return written, claim.note


def plan_one(path: str, name: str, render: RenderRequest) -> str:
    """The planned output of one photo rendered alone (process's planning). Raises Failed (CONFLICT) naming both
    files when the output would be the source itself."""
    try:
        return plan([(path, name)], render.fmt, render.output_dir)[path]
    except PlanError as err:
        raise _failed(Kind.CONFLICT, "render", str(err)) from err


async def _call(engine, kind: str, payload: dict, priority: str, name: str):
    """engine.call, its typed failure raised again naming the photo."""
    try:
        return await engine.call(kind, payload, priority)
    except Failed as err:
        raise Failed(dataclasses.replace(err.failure, message=f"{name}: {err.reason}")) from err
