"""Sidecars for `process` / `watch`: after each output image, write the editor files describing the recipe.

The sidecars describe the edit of the **source** file (an editor applies them to the original), so they are named
after the source: darktable `IMG_0001.CR2.xmp`, Adobe `IMG_0001.xmp` (raw only; JPEG/TIFF/PNG/DNG get the settings
embedded into the source file with `beside_source`, otherwise they are skipped with a note), and the baked look
`IMG_0001.CR2.cube` (sRGB-encoded in/out). They go beside the output image, or beside the source with
`beside_source` (for a catalogue that already holds the originals). Existing files are never clobbered: an Adobe
XMP is merged (other namespaces kept; develop settings replaced only with `replace_develop`), a darktable sidecar
not written by exposure-batch is left alone.

Exports: SidecarOptions, SidecarKind, SIDECARS (the one registry), KINDS, write_sidecars, planned_paths,
sidecar_notes.
"""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Callable

from ..errors import OutputUnwritable
from ..names import shown
from ..recipe import Recipe
from . import adobe, cube, darktable
from .adobe import crs_settings, needs_embedding

log = logging.getLogger(__name__)

#: The one line said when Adobe settings are skipped for rendered sources (once per run, not once per photo).
SKIPPED_ADOBE_NOTE = ("adobe: Lightroom reads no sidecar for JPEG/TIFF/PNG/DNG; settings skipped for those files "
                      "(--sidecar-beside-source embeds them into the sources; export-look writes a preset)")


@dataclass(frozen=True)
class SidecarOptions:
    """What to write. `kinds`: subset of KINDS (or parse 'all' / 'none' / 'darktable,cube' with `parse`)."""

    kinds: tuple[str, ...] = ()
    darktable_mode: str = "parametric"  # parametric | lut
    beside_source: bool = False
    replace_develop: bool = False
    lut_size: int = 65

    @classmethod
    def parse(cls, spec: str | None, **kwargs) -> "SidecarOptions":
        """'all' | 'none' | 'darktable' | 'adobe,cube' ... -> options."""
        spec = (spec or "none").strip().lower()
        if spec == "none":
            kinds: tuple[str, ...] = ()
        elif spec == "all":
            kinds = KINDS
        else:
            kinds = tuple(k.strip() for k in spec.split(",") if k.strip())
            bad = [k for k in kinds if k not in KINDS]
            if bad:
                raise ValueError(f"unknown sidecar kind(s) {', '.join(bad)}; use {', '.join(KINDS)}, all or none")
        return cls(kinds=kinds, **kwargs)


def _target_dir(image_path: str, source_path: str, opts: SidecarOptions) -> str:
    return os.path.dirname(os.path.abspath(source_path if opts.beside_source else image_path))


def _ours(path: str) -> bool:
    """True when an existing XMP was written by exposure-batch (xmp:CreatorTool)."""
    try:
        with open(path, "rb") as fh:
            return b'CreatorTool="exposure-batch"' in fh.read(4096)
    except OSError:
        return False


def _steps_key(recipe) -> str:
    import json  # noqa: PLC0415

    return json.dumps([s.to_dict() for s in recipe.steps], sort_keys=True)


@functools.lru_cache(maxsize=8)
def _baked(steps_json: str, size: int):
    """Bake once per distinct recipe (a fixed --recipe look is baked once per process, not once per photo)."""
    import json  # noqa: PLC0415

    steps = json.loads(steps_json)
    table = cube.bake(Recipe.from_steps((s["filter"], s["params"]) for s in steps), size)
    table.setflags(write=False)
    return table


def duplicate_name(source_path: str, version: int) -> str:
    """darktable's name for duplicate `version` of a source (0 = the image itself): IMG_0001.CR2 ->
    IMG_0001_01.CR2 for version 1. Variations of one photo (`process --variations`) become such duplicates."""
    base = os.path.basename(source_path)
    if not version:
        return base
    stem, ext = os.path.splitext(base)
    return f"{stem}_{version:02d}{ext}"


def planned_paths(image_path: str, source_path: str, options) -> list[str]:
    """The sidecar files write_sidecars would write for this image (a source's own embedded XMP is not listed),
    so a run can refuse collisions before any work."""
    if isinstance(options, str):
        options = SidecarOptions.parse(options)
    folder = _target_dir(image_path, source_path, options)
    base = os.path.basename(source_path)
    paths = [kind.path(folder, base, source_path) for kind in SIDECARS if kind.wanted(options)]
    return [p for p in paths if p is not None]


def _variation(recipe) -> int:
    """extra["variation"] as a non-negative int (0 when absent or not a number: an odd `extra` is no error)."""
    value = recipe.extra.get("variation", 0) if hasattr(recipe.extra, "get") else 0
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def write_sidecars(recipe, image_path: str, source_path: str, options: SidecarOptions, overwrite: bool = False
                   ) -> list[str]:
    """Write the requested sidecars for one processed file. Returns the paths written (notes go to the log).

    A recipe with extra["variation"] = k > 0 (k-th alternative edit of the source) gets darktable's duplicate
    names (IMG_0001_0k.CR2.xmp, IMG_0001_0k.CR2.cube); Lightroom keeps virtual copies in its catalogue, so no Adobe
    sidecar is written for it (noted in the log). With `overwrite` (process --overwrite) develop settings that
    exposure-batch wrote earlier into an Adobe sidecar are replaced (other tools' settings only with
    options.replace_develop). Raises OutputError when a sidecar cannot be written (inside io.unit.write_unit the
    photo's other files are then not written either)."""

    if isinstance(options, str):
        options = SidecarOptions.parse(options)
    if not options.kinds:
        return []
    version = _variation(recipe)
    job = _Job(recipe, _target_dir(image_path, source_path, options), duplicate_name(source_path, version),
               source_path, options, overwrite, version)
    written: list[str] = []
    for kind in SIDECARS:  # in registry order: the .cube before the darktable XMP that reads it
        if kind.wanted(options):
            written += kind.write(job)
    return written


@dataclass(frozen=True)
class _Job:
    """One photo's sidecars: where they go (`folder`), the name they are made from (`base`: darktable's duplicate
    name for a variation), and what was asked."""

    recipe: Recipe
    folder: str
    base: str
    source_path: str
    options: SidecarOptions
    overwrite: bool
    version: int


def _cube_wanted(options: SidecarOptions) -> bool:
    return "cube" in options.kinds or ("darktable" in options.kinds and options.darktable_mode == "lut")


def _cube_path(folder: str, base: str, _source_path: str) -> str:
    return os.path.join(folder, base + ".cube")


def _write_cube(job: _Job) -> list[str]:
    table = _baked(_steps_key(job.recipe), job.options.lut_size)
    return [cube.write_cube(table, _cube_path(job.folder, job.base, job.source_path),
                            title=f"exposure-batch {shown(job.base)}")]


def _darktable_path(folder: str, base: str, _source_path: str) -> str:
    return os.path.join(folder, darktable.sidecar_name(base))


def _write_darktable(job: _Job) -> list[str]:
    path = _darktable_path(job.folder, job.base, job.source_path)
    if os.path.exists(path) and not _ours(path):
        log.warning("%s: darktable sidecar exists and was not written by exposure-batch; left alone", shown(path))
        return []
    darktable.write_darktable_xmp(job.recipe, path, job.options.darktable_mode,
                                  lut_relpath=os.path.basename(_cube_path(job.folder, job.base, job.source_path)),
                                  derived_from=shown(os.path.basename(job.source_path)),
                                  raw=darktable.is_raw(job.source_path))
    return [path]


def _adobe_path(folder: str, _base: str, source_path: str) -> str | None:
    """Lightroom's sidecar beside a raw source; none for a JPEG/TIFF/PNG/DNG (settings go inside the file)."""
    return None if adobe.needs_embedding(source_path) else os.path.join(folder, adobe.sidecar_name(source_path))


def _write_adobe_kind(job: _Job) -> list[str]:
    if job.version:
        log.warning("%s: no Adobe sidecar for variation %d (Lightroom keeps virtual copies in its catalogue)",
                    shown(job.source_path), job.version + 1)
        return []
    return _write_adobe(job.recipe, job.folder, job.source_path, job.options, job.overwrite)


@dataclass(frozen=True)
class SidecarKind:
    """One kind of sidecar in the registry.

    Attributes:
        name: what --sidecar names ('darktable', 'adobe', 'cube').
        describes: one line for help texts.
        wanted: options -> whether this run writes it (the .cube is also written for --darktable-mode lut).
        path: (folder, base name, source path) -> the file it writes for a photo (None: none, e.g. Adobe settings
            that go inside a JPEG).
        write: one photo's job -> the paths written (raises OutputError subclasses).
    """

    name: str
    describes: str
    wanted: Callable[[SidecarOptions], bool]
    path: Callable[[str, str, str], str | None]
    write: Callable[[_Job], list[str]]


#: The one sidecar registry, in writing order (the .cube before the darktable XMP that may read it).
SIDECARS: tuple[SidecarKind, ...] = (
    SidecarKind("cube", "the look baked into a 65^3 .cube LUT (sRGB-encoded in and out): IMG.EXT.cube",
                _cube_wanted, _cube_path, _write_cube),
    SidecarKind("darktable", "darktable XMP sidecar (editable modules, or one lut3d entry): IMG.EXT.xmp",
                lambda o: "darktable" in o.kinds, _darktable_path, _write_darktable),
    SidecarKind("adobe", "Adobe crs XMP (Lightroom, Camera Raw) beside raw files: IMG.xmp",
                lambda o: "adobe" in o.kinds, _adobe_path, _write_adobe_kind),
)
#: Sidecar names --sidecar takes ('all' = every one), from the registry.
KINDS: tuple[str, ...] = tuple(kind.name for kind in SIDECARS)


def _write_adobe(recipe, folder: str, source_path: str, options: SidecarOptions, overwrite: bool = False
                 ) -> list[str]:
    if adobe.needs_embedding(source_path):
        if not options.beside_source:  # said once per run (SKIPPED_ADOBE_NOTE), not once per photo
            log.debug("%s: Lightroom reads no sidecar for this format; Adobe settings skipped", shown(source_path))
            return []
        try:
            _, status = adobe.embed_into(recipe, source_path, replace=options.replace_develop)
        except adobe.EmbedError as err:
            raise OutputUnwritable(f"{source_path}: {err}") from None
        if status != "embedded":
            log.warning("%s: Adobe settings not embedded (%s)", shown(source_path), status)
            return []
        return [source_path]
    path = os.path.join(folder, adobe.sidecar_name(source_path))
    replace = options.replace_develop or (overwrite and _ours(path))  # our own earlier settings: replaced
    _, status = adobe.write_adobe_xmp(recipe, path, raw=True, raw_file_name=shown(os.path.basename(source_path)),
                                      replace=replace)
    if status == "kept":
        log.warning("%s: already has develop settings; kept (pass replace to overwrite them)", shown(path))
        return []
    if status.startswith("beside: "):
        beside = adobe.beside_name(path)
        log.warning("%s: existing XMP cannot be read (%s); left untouched, settings written to %s", shown(path),
                    status[len("beside: "):], shown(os.path.basename(beside)))
        return [beside]
    return [path]


def sidecar_notes(recipe, options: SidecarOptions, source_path: str | None = None) -> list[str]:
    """Lines for the CLI: which steps each editor mapping only approximates, where darktable's LUTs go, and why
    Adobe settings were skipped for a JPEG/TIFF/PNG/DNG source."""

    if isinstance(options, str):
        options = SidecarOptions.parse(options)
    notes: list[str] = []
    skipped = "adobe" in options.kinds and adobe_skipped(source_path, options)
    if skipped:
        notes.append(SKIPPED_ADOBE_NOTE)
    if "darktable" in options.kinds:
        if options.darktable_mode == "lut":
            notes.append("darktable lut mode: set darktable's 3D LUT root folder (preferences > processing) to the "
                         "folder holding the .cube files")
        else:
            notes += [f"darktable: {n}" for n in darktable.parametric_history(recipe).notes]
    if "adobe" in options.kinds and not skipped and not _variation(recipe):  # only for sidecars written
        notes += [f"adobe: {n}" for n in crs_settings(recipe).notes]
    return notes


def adobe_skipped(source_path: str | None, options: SidecarOptions) -> bool:
    """True when no Adobe settings are written for this source: Lightroom reads none beside a JPEG/TIFF/PNG/DNG
    and they are not embedded (no --sidecar-beside-source)."""
    return bool(source_path) and needs_embedding(source_path) and not options.beside_source
