"""What the service runs inside the isolated worker processes (the pool `process` and `watch` use).

`run(source, kind, payload)` is the worker's task function (task_ref "exposure_batch.service.tasks:run"):
* "analyse": decode the photo (-> linear ProPhoto) and make the agent input the recipe source wants; only the small
  agent input and the file's facts go back to the service (never the full image).
* "warmup": decode a small generated photo (first-use costs paid at start, not by the first request);
* "render": the shared per-file pipeline (`pipeline.process_one`) with the recipe the service decided.
Failures come back as failed pipeline Results carrying a typed `failures.Failure`, set where they happened.

Exports: Analysis, run, TASK_REF.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

TASK_REF = "exposure_batch.service.tasks:run"


@dataclass
class Analysis:
    """A decoded photo's agent input (float32 linear ProPhoto, or None) and its facts (io.ImageInfo). `failure` is
    always None (the engine reads it from every task's value: failed analyses come back as failed Results)."""

    agent_in: np.ndarray | None
    info: object
    decode_s: float
    failure: None = None


def run(_source, kind: str, payload: dict):
    if kind == "analyse":
        return analyse(payload["path"], payload.get("wants"))
    if kind == "render":
        return render(payload)
    if kind == "warmup":
        return warmup()
    raise ValueError(f"unknown task kind {kind!r}")


def analyse(path: str, wants: str | None):
    """Full decode (as `process` does) -> the 64x64 preview / thumbnail the agent looks at. Returns an Analysis,
    or a failed pipeline Result with the typed failure."""
    from ..failures import classify  # noqa: PLC0415
    from ..io import decode  # noqa: PLC0415
    from ..pipeline.result import Result  # noqa: PLC0415
    from ..render import preview  # noqa: PLC0415

    start = time.perf_counter()
    try:
        decoded = decode(path)
        if wants == "preview":
            agent_in = preview.make_preview(decoded.pixels)
        elif wants == "thumbnail":
            agent_in = preview.thumbnail(decoded.pixels)
        else:
            agent_in = None
        return Analysis(agent_in, decoded.info, time.perf_counter() - start)
    except Exception as err:  # noqa: BLE001  (catch boundary: the failure is typed here)
        return Result.failed(path, classify(err, "decode"), time.perf_counter() - start)


def warmup():
    """Decode a small generated JPEG once, so the libraries' first-use costs (codecs, colour management, the
    preview) are paid at start, not by the first photographer's request."""
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="exposure-batch-warmup-") as tmp:
        path = os.path.join(tmp, "warmup.jpg")
        ramp = np.linspace(0, 255, 96 * 64 * 3).reshape(64, 96, 3).astype(np.uint8)
        Image.fromarray(ramp).save(path, quality=90)
        return analyse(path, "preview")


def render(payload: dict):
    """Render `payload['recipe']` (a recipe dict) at full resolution to payload['out_path'] with OutputOptions."""
    from ..pipeline.stages import process_one  # noqa: PLC0415
    from ..recipe import Recipe  # noqa: PLC0415
    from ..sources import FixedRecipe  # noqa: PLC0415

    recipe = Recipe.from_dict(payload["recipe"])
    return process_one(payload["path"], payload["out_path"], FixedRecipe(recipe), payload["opts"])
