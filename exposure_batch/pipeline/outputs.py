"""Output planning safety: outputs never collide with each other and never replace an input, decided before any work.

* Two inputs whose outputs would share a name (`a/IMG.jpg` and `b/IMG.jpg` named on the command line, or the same
  relative name under two input folders) are disambiguated predictably: each goes to a sub-folder named after the
  last folder(s) of its own path (`OUT/a/IMG.jpg`, `OUT/b/IMG.jpg`), so its recipe and sidecars, named after the
  source, stay apart too. Names are compared case-insensitively (case-insensitive shares).
* An output folder or report folder that *is* an input folder is refused (outputs would replace or mix with the
  originals); one inside a recursively scanned input folder is excluded from the scan.
* Any planned file (image, recipe, sidecar beside the output) that is an input file, or that two inputs would both
  write, is refused with both names before anything is decoded: `--overwrite` can never replace a source.
* Output names: `plan_outputs` maps inputs to OUTDIR names, `recipe_path_for` / `variation_path` name the files
  beside an output, `check_name_lengths` refuses names the filesystem cannot hold, `existing_outputs_block` skips
  an output already there.

Exports: PlanError, check_folders, check_watch_folders, exclude_own, disambiguate, check_targets, same_place,
plan_outputs, recipe_path_for, variation_path, check_name_lengths, existing_outputs_block, EXISTS_REASON.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputError
from ..names import shown
from .options import FORMAT_EXTENSIONS, OutputOptions
from .result import Result, Skip


class PlanError(ValueError):
    """The run cannot start: its outputs would replace an input or collide (one line naming both)."""


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _real_target(path: str, _dirs: dict) -> str:
    """Where a file about to be written lands: its folder resolved (cached per folder), its own name kept (a file
    written atomically replaces a symlink at that name, never the file the link points to)."""
    folder, name = os.path.split(os.path.abspath(path))
    if folder not in _dirs:
        _dirs[folder] = os.path.realpath(folder)
    return os.path.normcase(os.path.join(_dirs[folder], name))


def same_place(a: str, b: str) -> bool:
    """True when two paths name the same file or folder (symlinks resolved; inode compared when both exist)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return _real(a) == _real(b)


def _inside(path: str, folder: str) -> bool:
    p, f = _real(path), _real(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def check_folders(inputs: Iterable[str], outdir: str, report_dir: str | None = None) -> None:
    """PlanError when the output or report folder is one of the input folders."""
    for item in inputs:
        if not os.path.isdir(item):
            continue
        for label, folder in (("output", outdir), ("report", report_dir)):
            if folder and same_place(folder, item):
                raise PlanError(f"the {label} folder {shown(folder)} is the input folder {shown(item)}: outputs "
                                f"would replace or mix with the originals; choose another folder (e.g. "
                                f"{shown(os.path.join(item, 'edited'))})")


def check_watch_folders(inbox: str, folders: dict[str, str | None]) -> None:
    """PlanError when a folder the daemon writes (output, report, processed, quarantine: `folders` by label) is
    the inbox itself: the daemon would take its own outputs as new photos and edit them again without end. A
    folder *inside* the inbox is fine (the daemon never scans its own folders)."""
    for label, folder in folders.items():
        if folder and same_place(folder, inbox):
            raise PlanError(f"the {label} folder {shown(folder)} is the inbox {shown(inbox)}: the daemon would edit "
                            f"its own outputs again and again; use another folder (e.g. "
                            f"{shown(os.path.join(inbox, 'edited'))}, which the daemon never scans)")


def exclude_own(pairs: Sequence[tuple[str, str]], folders: Iterable[str | None], named: Iterable[str] = ()
                ) -> list[tuple[str, str]]:
    """Drop inputs a folder scan found inside our own output / report folders (when those lie inside a scanned
    input folder), so a rerun never edits its own outputs. Files in `named` (given explicitly) are kept."""
    own = [f for f in folders if f and os.path.isdir(f)]
    keep = {_real(p) for p in named if not os.path.isdir(p)}
    return [(p, rel) for p, rel in pairs if _real(p) in keep or not any(_inside(p, f) for f in own)]


def disambiguate(pairs: Sequence[tuple[str, str]], out_map: dict[str, str], outdir: str) -> dict[str, str]:
    """Give inputs whose planned outputs collide (case-insensitively) separate sub-folders named after the end of
    their own folder path: the fewest trailing folder names that tell them apart. Others keep their outputs."""
    groups: dict[str, list[str]] = {}
    for path, _ in pairs:
        groups.setdefault(out_map[path].lower(), []).append(path)
    out = dict(out_map)
    for members in groups.values():
        if len(members) < 2:
            continue
        parts = {p: _real(os.path.dirname(os.path.abspath(p))).strip(os.sep).split(os.sep) for p in members}
        depth = max(len(v) for v in parts.values())
        for k in range(1, depth + 1):
            tails = {p: os.path.join(*(parts[p][-k:] or ["root"])) for p in members}
            if len({t.lower() for t in tails.values()}) == len(members):
                break
        for p in members:
            rel = os.path.relpath(out_map[p], outdir)
            out[p] = os.path.join(outdir, tails[p], rel)
    return out


def check_targets(jobs: Sequence[tuple[str, str]], artefacts) -> None:
    """PlanError when a planned file is an input file, or two inputs would write the same file.

    Args:
        jobs: (input, output image) pairs.
        artefacts: function (input, output image) -> every path that job writes (image, recipe, sidecars).
    """
    dirs: dict[str, str] = {}
    inputs = {(_real(p) if os.path.islink(p) else _real_target(p, dirs)): p for p, _ in jobs}
    owner: dict[str, str] = {}
    for path, out in jobs:
        for target in artefacts(path, out):
            key = _real_target(target, dirs)
            if key in inputs:
                raise PlanError(f"{shown(inputs[key])} would be replaced by the output of {shown(path)}; "
                                "outputs never replace an input: choose another output folder")
            other = owner.setdefault(key.lower(), path)
            if other != path:
                raise PlanError(f"{shown(other)} and {shown(path)} would both write {shown(target)}; rename one "
                                "or process them into different output folders")


# ---------------------------------------------------------------------------------------------------------------
# Output names
# ---------------------------------------------------------------------------------------------------------------
def plan_outputs(pairs: Sequence[tuple[str, str]], opts: OutputOptions) -> dict[str, str]:
    """Map each input path to its output image path. 'a/IMG.CR2' -> OUTDIR/a/IMG.jpg; when two inputs share a
    stem (IMG.CR2 and IMG.jpg) both keep their extension in the name (IMG.CR2.jpg, IMG.jpg.jpg); inputs that would
    still share an output (the same name in two folders) go to sub-folders named after their folders
    (disambiguate)."""
    ext = FORMAT_EXTENSIONS[opts.fmt]
    stems: dict[str, set] = {}
    for _, rel in pairs:
        stems.setdefault(str(Path(rel).with_suffix("")), set()).add(rel)
    out = {}
    for path, rel in pairs:
        stem = str(Path(rel).with_suffix(""))
        name = rel if len(stems[stem]) > 1 else stem
        out[path] = os.path.join(opts.outdir, name + ext)
    return disambiguate(pairs, out, opts.outdir)  # a/IMG.jpg + b/IMG.jpg -> OUT/a/IMG.jpg, OUT/b/IMG.jpg


def recipe_path_for(image_path: str) -> str:
    """NAME.jpg -> NAME.recipe.json beside it."""
    return str(Path(image_path).with_suffix("")) + ".recipe.json"


def variation_path(out_path: str, k: int) -> str:
    """Output path of variation k (from 1): NAME.jpg -> NAME_v1.jpg (sidecars and recipes follow that name)."""
    stem, ext = os.path.splitext(out_path)
    return f"{stem}_v{k}{ext}"


#: Bytes atomic_write adds to a name for its temp file ('.' + name + '.' + 8 random + '.tmp').
_TEMP_NAME_EXTRA = 14


def check_name_lengths(source_path: str, out_path: str, opts: OutputOptions) -> None:
    """InputError when a file this photo writes (image, recipe, sidecars, or their temp files) would have a name
    longer than the filesystem allows: the source's name is the cause, and retrying cannot help."""
    targets = [out_path] + ([recipe_path_for(out_path)] if opts.save_recipe else [])
    if opts.sidecars and opts.sidecars != "none":
        from ..sidecars.writer import planned_paths  # noqa: PLC0415

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


def unsupported_format(result: Result) -> bool:
    """A file skipped because this install does not decode its format (io UnsupportedFormat: JPEG XL, ...)."""
    return result.status == "skipped" and result.skip is Skip.UNSUPPORTED


#: The reason of a file skipped because its output is already there (the run then says how to redo it).
EXISTS_REASON = "output exists (--overwrite to redo)"


def existing_outputs_block(out_path: str, opts: OutputOptions) -> Result | None:
    """An existing output is skipped unless opts.overwrite (never silently clobbered, never an error)."""
    if opts.overwrite or not os.path.exists(out_path):
        return None
    return Result(out_path, "skipped", EXISTS_REASON, [out_path], skip=Skip.EXISTS)
