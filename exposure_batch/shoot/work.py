"""Shoot tasks for the engine's spawned workers: untrusted files are decoded there, never in the caller.

Shoot tasks run in the same workers as the edit (`engine_task` dispatches; the engine's own stage otherwise):

* ("survey", (path, max_pixels, spool, keep_decoded)): the cheap survey (shoot.survey) of one file. The worker keeps
  what harmonising needs (the 128 px working image, float16 linear ProPhoto, the agent's 64 px preview, and for a
  source that looks at thumbnails a <= KEPT_SIDE px one) in a spool file (`spool_file`) and sends back only a
  `grouping.Signed` record: path, capture time, folder, camera and a 5 kB signature. So the caller holds a few kB
  per photo, whatever the photo's size.
* ("harmonise", (named groups of Signed records, spool)): loads the groups' spooled images, harmonises them
  (shoot.harmonise, one batched agent call) and returns [(name, the frames' paths, Harmonised)], unmeasured (each
  group's consistency figure still as block images, Harmonised.pairs); the spool files it read are removed.
* ("measure", [pairs, ...]): the consistency figure of each group from its pairs (harmonise.consistency_of: needs
  colour-science, which the caller sends to one worker only); then the caller makes the plan entries
  (shoot.plan.group_entries).
* ("survey-compact", (path, max_pixels)): the whole compact Survey (tests, evaluate).
* (EDIT_PLANNED, plan entry or None, spool or None, input_path, output_path, OutputOptions): the edit of a planned
  photo. Its plan entry (shoot.plan.PlanEntry: the harmonised recipe, or the group block of a photo the source
  decides alone) travels with the task and is held by the worker's plan (shoot.plan.TaskPlan); with a spool, the
  photo is small (<= FULL_DECODE_PIXELS) and its survey was its full decode: the decoded image is read back from the
  spool, not decoded again.

A survey that crashes its worker, runs past the timeout or fails leaves its file to be edited alone (the engine's
own edit of the file then reports what is wrong with it). The caller's side (windows, scheduling): shoot.stream.

Exports: engine_task, shoot_task, survey_record, load_frames, spool_file, decoded_file, prepare_spooled,
compact_survey, ShootReply, SHOOT_TASK, KEPT_SIDE, FULL_DECODE_PIXELS, EDIT_PLANNED (planning without editing:
shoot.stream.make_plan, plan_in_workers).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

#: The engine's task function with the shoot tasks (tests point the run at a hostile wrapper of it).
SHOOT_TASK = "exposure_batch.shoot.work:engine_task"
#: Long side (px) of the thumbnail a survey keeps for a source that looks at thumbnails (the classic agent).
KEPT_SIDE = 256
_SHOOT_OPS = ("survey", "harmonise", "measure", "survey-compact")
#: Photos of at most this many pixels (not RAWs) are decoded in full by their survey, which costs about what the
#: reduced survey would, and the decoded image waits in the spool for the photo's edit: one decode per file.
FULL_DECODE_PIXELS = 640 * 480
EDIT_PLANNED = "edit-planned"


@dataclass
class ShootReply:
    """What a shoot task sends back: value (a Signed record, a Survey, None, [(name, paths, Harmonised)] or a list
    of figures); failure is
    always None (the engine's Outcome reads it: a failed task comes back as a pipeline.Result instead)."""

    value: Any = None
    pid: int = 0
    failure: Any = None


def engine_task(source, *args):
    """The engine's worker task with the shoot tasks: ('survey' | 'harmonise' | 'survey-compact', payload) runs
    shoot_task, anything else is an edit (pipeline.prepare_stage: input_path, output_path, OutputOptions)."""
    if args and isinstance(args[0], str) and args[0] in _SHOOT_OPS:
        return shoot_task(source, args[0], args[1])
    from ..pipeline.stages import prepare_stage  # noqa: PLC0415

    if args and args[0] == EDIT_PLANNED:  # (EDIT_PLANNED, entry, spool, input_path, output_path, OutputOptions)
        _, entry, spool, *job = args
        plan = getattr(source, "plan", None)
        if entry is not None and hasattr(plan, "hold"):
            plan.hold(job[0], entry)
        if spool is not None:
            return prepare_spooled(source, spool, *job)
        args = tuple(job)
    return prepare_stage(_looking_at(source, args[0]), *args)


class _LooksAtNothing:
    """What prepare_stage asks for a planned photo: no agent input (its recipe is in the plan already)."""

    wants = None


def _looking_at(source, path: str):
    """`source`, or for a photo whose harmonised recipe the plan holds (shoot.plan.PlannedSource), a stand-in that
    wants no agent input: the preview of a planned photo is never looked at."""
    plan = getattr(source, "plan", None)
    entry = plan.lookup(path) if plan is not None and hasattr(plan, "lookup") else None
    return _LooksAtNothing() if entry is not None and entry.recipe is not None and entry.sha256 is None else source


def prepare_spooled(source, spool: str, path: str, out_path: str, opts):
    """pipeline.prepare_stage with the decode its survey spooled (the same io.Decoded: identical output), or a
    decode as usual when there is none (spool file gone or unreadable)."""
    import time  # noqa: PLC0415

    from ..pipeline.outputs import existing_outputs_block  # noqa: PLC0415
    from ..pipeline.stages import Prepared, agent_input, prepare_stage  # noqa: PLC0415

    start = time.perf_counter()
    spooled = decoded_file(spool, path)
    try:
        with open(spooled, "rb") as fh:
            decoded = pickle.load(fh)
        os.remove(spooled)
    except (OSError, EOFError, pickle.UnpicklingError):
        return prepare_stage(source, path, out_path, opts)
    blocked = existing_outputs_block(out_path, opts)
    if blocked is not None:
        blocked.path = path
        return blocked
    return Prepared(path, out_path, decoded, agent_input(_looking_at(source, path), decoded.pixels), start)


def shoot_task(source, op: str, payload):
    """One shoot task in a worker (see the module docstring)."""
    if op == "survey":
        path, max_pixels, spool, keep_decoded = payload
        return ShootReply(survey_record(path, max_pixels, spool, keep_decoded, getattr(source, "wants", None)),
                          os.getpid())
    if op == "harmonise":
        from . import harmonise  # noqa: PLC0415

        named, spool = payload
        frames = load_frames([r for _, records in named for r in records], spool)
        groups, k = [], 0
        for name, records in named:
            groups.append((name, frames[k:k + len(records)]))
            k += len(records)
        done = harmonise.harmonise_groups(source, [list(g) for _, g in groups], measure=False)
        for f in frames:
            with contextlib.suppress(OSError):
                os.remove(spool_file(spool, f.path))
        return ShootReply([(name, [f.path for f in g], h) for (name, g), h in zip(groups, done)], os.getpid())
    if op == "measure":
        from .harmonise import consistency_of  # noqa: PLC0415

        return ShootReply([consistency_of(pairs) for pairs in payload], os.getpid())
    if op == "survey-compact":
        from .survey import survey_file  # noqa: PLC0415

        path, max_pixels = payload
        return ShootReply(compact_survey(survey_file(path, max_pixels), getattr(source, "wants", None)), os.getpid())
    raise ValueError(f"unknown shoot task {op!r}")


def spool_file(spool: str, path: str) -> str:
    """Where the survey of `path` keeps its images in the spool folder."""
    return os.path.join(spool, hashlib.sha1(os.path.abspath(path).encode()).hexdigest() + ".survey")


def decoded_file(spool: str, path: str) -> str:
    """Where the survey of a small photo keeps its full decode (a pickled io.Decoded) for the photo's edit."""
    return os.path.join(spool, hashlib.sha1(os.path.abspath(path).encode()).hexdigest() + ".decoded")


def _survey_by_decode(path: str, max_pixels: int | None, spool: str) -> tuple[object, bool]:
    """(Survey or None, True) for a JPEG / PNG / TIFF of at most FULL_DECODE_PIXELS pixels: its survey made from its
    full decode (io.decode, as the edit decodes it), which is spooled for the edit (decoded_file); None when it
    cannot be decoded. (None, False) for a RAW or a bigger photo (known from the header, before any pixel is
    decoded): the cheap survey's to do. The survey image is the decoded image itself, or its SURVEY_SIDE thumbnail
    when it is bigger (as shoot.survey's own survey of the file makes it)."""
    from ..errors import LimitError  # noqa: PLC0415
    from ..io import decode  # noqa: PLC0415
    from ..io.decode import _route  # noqa: PLC0415
    from ..io.metadata import parse_capture_time  # noqa: PLC0415
    from ..render.preview import thumbnail  # noqa: PLC0415
    from .survey import SURVEY_SIDE, Survey  # noqa: PLC0415

    try:
        if _route(path)[0] == "raw":
            return None, False
        decoded = decode(path, max_pixels=min(max_pixels or FULL_DECODE_PIXELS, FULL_DECODE_PIXELS))
    except LimitError:  # bigger than FULL_DECODE_PIXELS (or the user's limit: the cheap survey then says no too)
        return None, False
    except Exception:  # noqa: BLE001  (bad files are the engine's to report)
        return None, True
    exif = decoded.info.exif
    if spool is not None:
        target = decoded_file(spool, path)
        with open(f"{target}.{os.getpid()}.tmp", "wb") as fh:
            pickle.dump(decoded, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f"{target}.{os.getpid()}.tmp", target)
    camera = " ".join(str(exif.get(k, "")) for k in ("camera_make", "camera_model")).strip()
    image = decoded.rgb_lin
    image = image if max(image.shape[:2]) <= SURVEY_SIDE else thumbnail(image, SURVEY_SIDE)
    return Survey(path, image, parse_capture_time(exif.get("capture_time")),
                  camera, os.path.dirname(os.path.abspath(path)), exif), True


def compact_survey(survey, wants: str | None = None):
    """The Survey cut to what harmonising reads: its preview and signature computed from the full survey image, the
    image itself replaced by its working image (shoot.harmonise.working_image: float32 linear ProPhoto, long side
    128); the thumbnail a source with wants='thumbnail' looks at (<= KEPT_SIDE px) only for such a source (the
    working image stands in for it otherwise)."""
    if survey is None:
        return None
    from ..render.preview import thumbnail  # noqa: PLC0415
    from .grouping import signature  # noqa: PLC0415
    from .harmonise import working_image  # noqa: PLC0415

    preview = survey.preview  # from the full survey image (what the agent would see)
    thumb = thumbnail(survey.image, KEPT_SIDE) if wants == "thumbnail" else None
    survey.signature = signature(survey.image)
    survey.image = working_image(survey.image)
    survey.__dict__["preview"] = preview
    survey.__dict__["thumbnail"] = survey.image if thumb is None else thumb
    return survey


def survey_record(path: str, max_pixels: int | None, spool: str, keep_decoded: bool = True, wants: str | None = None):
    """Survey `path`, keep its images in the spool, return its grouping.Signed record (None: unreadable). A small
    photo's survey is its full decode; with keep_decoded that is spooled for its edit (record.decoded). wants: what
    the run's recipe source looks at (a thumbnail is kept only for 'thumbnail')."""
    from .grouping import signed  # noqa: PLC0415
    from .survey import survey_file  # noqa: PLC0415

    survey, small = _survey_by_decode(path, max_pixels, spool) if keep_decoded else (None, False)
    if not small:  # a RAW or a bigger photo, or planning alone (nothing to keep): the cheap survey
        survey = survey_file(path, max_pixels)
    survey = compact_survey(survey, wants)
    if survey is None:
        return None
    target = spool_file(spool, path)
    tmp = f"{target}.{os.getpid()}.tmp"
    kept = {"image": survey.image.astype(np.float16), "preview": np.asarray(survey.preview, np.float32)}
    if wants == "thumbnail":
        kept["thumbnail"] = survey.thumbnail.astype(np.float16)
    with open(tmp, "wb") as fh:  # a pickle of small arrays: a fraction of np.savez's zip container cost
        pickle.dump(kept, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, target)
    record = signed(survey)
    record.decoded = small and keep_decoded
    return record


def load_frames(records: Sequence, spool: str) -> list:
    """shoot.survey.Survey objects for Signed records, with the images their survey spooled (image: the working
    image, float16 linear ProPhoto, long side 128, also the thumbnail unless one was kept; preview: 64 px float32)."""
    from .survey import Survey  # noqa: PLC0415

    frames = []
    for r in records:
        with open(spool_file(spool, r.path), "rb") as fh:
            data = pickle.load(fh)  # written by survey_record in a worker of this run, never from outside
        image = data["image"]  # float16 (half the memory of a big group; every use converts what it reads)
        s = Survey(r.path, image, r.time, r.camera, r.folder)
        s.__dict__["preview"] = data["preview"]
        s.__dict__["thumbnail"] = data.get("thumbnail", image)
        s.signature = r.signature
        frames.append(s)
    return frames
