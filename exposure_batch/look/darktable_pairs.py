"""Before/after pairs from photos a studio finished in darktable (`learn --from-darktable DIR`).

A studio teaches by editing as usual: DIR holds its originals (RAW, JPEG, TIFF, ...) each next to the darktable
sidecar it finished (`IMG_0001.CR2.xmp`, darktable's naming, or `IMG_0001.xmp`). Every original is rendered with
its sidecar by darktable-cli into a 16-bit sRGB TIFF (the *after*); the original itself is the *before*. Geometry
(crop, straightening and perspective, lens distortion, framing, liquify) is switched off in a copy of the sidecar before
rendering: a global look needs the after on the before's grid, and the user's sidecar is never modified.

    find_edited(DIR) -> [(original, sidecar)], notes
    render_pairs(DIR, WORK) -> DarktablePairs(before_dir, after_dir, pairs_csv, notes): the folders `learn` reads

Renders run on `threads` darktable-cli processes, each with its own fresh configuration folder (darktable's
library is not shared between processes). darktable-cli exits 0 even when it drops history entries: its stderr is
checked, and a pair whose sidecar it could not apply in full is refused (InputError) like any other bad pair.

Exports: DARKTABLE_CLI, GEOMETRY_OPERATIONS, RENDER_SIDE, DarktablePairs, find_edited, neutral_geometry_xmp,
render_one, render_pairs, learn_from_darktable.
"""
from __future__ import annotations

import csv
import os
import queue
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import InputError, ProfileError

DARKTABLE_CLI = "darktable-cli"
#: darktable modules that move pixels (switched off in the rendering copy of a sidecar).
#: (Orientation, darktable's `flip`, stays: the decoder applies the file's orientation too.)
GEOMETRY_OPERATIONS = ("crop", "clipping", "ashift", "lens", "liquify", "borders")
#: Longest side of the rendered after, pixels (learn compares small thumbnails; a large render only costs time).
RENDER_SIDE = 1024
#: Longest a single darktable-cli render may take, seconds.
RENDER_TIMEOUT_S = 300
#: stderr fragments that mean darktable-cli did not apply the sidecar in full (it exits 0 anyway).
DROPPED = ("[dev_read_history]", "version mismatch", "history module not used", "cannot get iop-order",
           "not installed", "invalid cube file")
_DT = "http://darktable.sf.net/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@dataclass
class DarktablePairs:
    """Folders `learn` reads: before_dir (links to the originals), after_dir (the renders), pairs_csv
    (before,after names), and notes (photos left out and why)."""

    before_dir: str
    after_dir: str
    pairs_csv: str
    notes: list = field(default_factory=list)


def find_edited(folder: str) -> tuple[list[tuple[str, str]], list[str]]:
    """[(original, its darktable sidecar)] in `folder` (sub-folders included), sorted; notes name the originals
    without a sidecar. A sidecar is NAME.EXT.xmp (darktable's) or NAME.xmp; darktable duplicates
    (NAME_01.EXT.xmp) are versions of one photo, not separate pairs, and are left out."""
    from ..pipeline.inputs import find_inputs  # noqa: PLC0415

    if not os.path.isdir(folder):
        raise ProfileError(f"{folder}: not a folder")
    found, bare = [], 0
    for path, _rel in find_inputs([folder], recursive=True):
        stem, _ = os.path.splitext(path)
        side = next((s for s in (path + ".xmp", path + ".XMP", stem + ".xmp", stem + ".XMP") if os.path.isfile(s)),
                    None)
        if side is None:
            bare += 1
            continue
        found.append((path, side))
    notes = [f"{bare} photo(s) in {folder} have no darktable sidecar (NAME.EXT.xmp): left out"] if bare else []
    return sorted(found), notes


def neutral_geometry_xmp(sidecar: str, out_path: str) -> list[str]:
    """Write a copy of the darktable sidecar with every GEOMETRY_OPERATIONS history entry disabled (the original is
    not touched); returns the operations switched off. InputError when the sidecar is not a darktable XMP."""
    from lxml import etree  # noqa: PLC0415

    try:
        tree = etree.parse(sidecar, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except (OSError, etree.XMLSyntaxError) as err:
        raise InputError(sidecar, f"not a readable XMP sidecar ({err})") from None
    history = tree.find(f".//{{{_DT}}}history")
    if history is None:
        raise InputError(sidecar, "not a darktable sidecar (no darktable:history)")
    off = []
    for li in history.iter(f"{{{_RDF}}}li"):
        op = li.get(f"{{{_DT}}}operation")
        if op is None:  # the element form of the same fields
            child = li.find(f"{{{_DT}}}operation")
            op = child.text if child is not None else None
        if op in GEOMETRY_OPERATIONS and li.get(f"{{{_DT}}}enabled", "1") != "0":
            li.set(f"{{{_DT}}}enabled", "0")
            off.append(op)
    tree.write(out_path, xml_declaration=True, encoding="UTF-8")
    return off


def render_one(original: str, sidecar: str, out_tif: str, config_dir: str, darktable: str) -> str:
    """Render `original` with (a geometry-free copy of) `sidecar` through darktable-cli into a 16-bit sRGB TIFF
    whose longest side is at most RENDER_SIDE; returns out_tif. InputError (naming the original) when darktable-cli
    fails, times out, or drops part of the sidecar."""
    work = os.path.dirname(out_tif)
    copy = out_tif + ".xmp"
    neutral_geometry_xmp(sidecar, copy)
    for stale in (out_tif,):
        if os.path.exists(stale):  # darktable renames instead of overwriting
            os.unlink(stale)
    cmd = [darktable, original, copy, out_tif, "--width", str(RENDER_SIDE), "--height", str(RENDER_SIDE),
           "--apply-custom-presets", "false", "--core", "--configdir", config_dir,
           "--conf", "plugins/imageio/format/tiff/bpp=16", "--conf", "opencl=false"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, cwd=work)
    except subprocess.TimeoutExpired:
        raise InputError(original, f"darktable-cli did not finish rendering it within {RENDER_TIMEOUT_S} s") from None
    finally:
        if os.path.exists(copy):
            os.unlink(copy)
    last = next((line for line in reversed(res.stderr.splitlines()) if line.strip()), "")
    if res.returncode != 0 or not os.path.isfile(out_tif):
        raise InputError(original, f"darktable-cli could not render it with {os.path.basename(sidecar)} "
                                   f"(exit {res.returncode}: {last[:200]})")
    dropped = [line.strip() for line in res.stderr.splitlines() if any(d in line for d in DROPPED)]
    if dropped:
        os.unlink(out_tif)
        raise InputError(original, f"darktable-cli did not apply all of {os.path.basename(sidecar)} "
                                   f"({dropped[0][:200]})")
    return out_tif


def render_pairs(folder: str, work_dir: str, threads: int = 2, skip_bad: bool = False,
                 darktable: str | None = None, progress=None) -> DarktablePairs:
    """Render every edited original in `folder` (find_edited) into work_dir/after and link the originals into
    work_dir/before; write work_dir/pairs.csv. A pair that cannot be rendered raises its InputError, or is left out
    with a note when skip_bad. ProfileError when darktable-cli is missing."""
    darktable = darktable or shutil.which(DARKTABLE_CLI)
    if not darktable:
        raise ProfileError(f"--from-darktable needs {DARKTABLE_CLI} on PATH (install darktable)")
    edited, notes = find_edited(folder)
    before_dir, after_dir = os.path.join(work_dir, "before"), os.path.join(work_dir, "after")
    os.makedirs(before_dir, exist_ok=True)
    os.makedirs(after_dir, exist_ok=True)
    names = _unique_names([original for original, _ in edited])
    results: list = [None] * len(edited)
    configs: queue.Queue = queue.Queue()
    for k in range(max(1, threads)):  # one configuration folder per concurrent darktable-cli
        configs.put(os.path.join(work_dir, f"darktable-config-{k}"))

    failed = threading.Event()  # without skip_bad, the first bad pair stops the renders not yet started

    def one(i: int) -> None:
        if failed.is_set() and not skip_bad:
            return
        original, sidecar = edited[i]
        config = configs.get()
        try:
            stem = os.path.splitext(names[i])[0]
            results[i] = render_one(original, sidecar, os.path.join(after_dir, stem + ".tif"), config, darktable)
        except InputError as err:
            results[i] = err
            failed.set()
        finally:
            configs.put(config)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        for k, _ in enumerate(pool.map(one, range(len(edited))), 1):
            if progress:
                progress("rendering with darktable-cli", k, len(edited), "")
    first_bad = next((r for r in results if isinstance(r, InputError)), None)
    if first_bad is not None and not skip_bad:
        raise ProfileError(f"{first_bad} (pass --skip-bad-pairs to leave such photos out)")
    rows = []
    for (original, _), name, result in zip(edited, names, results):
        if isinstance(result, InputError):
            notes.append(f"left out: {result}")
            continue
        link = os.path.join(before_dir, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(original), link)
        rel = os.path.relpath(os.path.dirname(original), folder)
        rows.append((os.path.basename(link), os.path.basename(result), "" if rel == "." else rel))
    pairs_csv = os.path.join(work_dir, "pairs.csv")
    with open(pairs_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["before", "after", "scene"])
        writer.writerows(rows)
    return DarktablePairs(before_dir, after_dir, pairs_csv, notes)


def _unique_names(paths: list[str]) -> list[str]:
    """A unique file name per original: its own (NAME.EXT), or NAME.K.EXT on a clash across sub-folders or with
    another original of the same stem (IMG_1.CR2 and IMG_1.JPG: their renders would both be IMG_1.tif)."""
    seen: set[str] = set()
    out = []
    for p in paths:
        stem, ext = os.path.splitext(os.path.basename(p))
        name, k = stem + ext, 1
        while os.path.splitext(name)[0].lower() in seen:
            k += 1
            name = f"{stem}.{k}{ext}"
        seen.add(os.path.splitext(name)[0].lower())
        out.append(name)
    return out


def learn_from_darktable(folder: str, out_dir: str, opts=None, progress=None, log=lambda s: None):
    """`learn --from-darktable FOLDER`: render the edited originals (render_pairs, in a temporary folder removed
    afterwards) and learn the profile from them (look.learn.learn with the rendered pairs' CSV). The card records
    where the pairs came from; notes name the photos left out. Returns learn's LearnReport."""
    import tempfile  # noqa: PLC0415
    from dataclasses import replace  # noqa: PLC0415

    from .learn import LearnOptions, learn  # noqa: PLC0415
    from .profile import CARD_FILE  # noqa: PLC0415

    opts = opts or LearnOptions()
    if os.path.exists(os.path.join(out_dir, CARD_FILE)) and not opts.overwrite:
        raise ProfileError(f"{out_dir}: already holds a profile (use --overwrite)")
    with tempfile.TemporaryDirectory(prefix="exposure-batch-darktable-") as work:
        pairs = render_pairs(folder, work, threads=opts.threads, skip_bad=opts.skip_bad_pairs, progress=progress)
        report = learn(pairs.before_dir, pairs.after_dir, out_dir, replace(opts, csv_path=pairs.pairs_csv),
                       progress or (lambda *a: None), log)
    card = report.profile.card
    card["training"]["source"] = {"darktable_folder": os.path.abspath(folder), "rendered_with": DARKTABLE_CLI,
                                  "geometry_off": list(GEOMETRY_OPERATIONS), "render_side": RENDER_SIDE}
    card["notes"] = list(pairs.notes) + list(card.get("notes", []))
    report.notes[:0] = pairs.notes
    report.profile.save(out_dir)
    for n in pairs.notes:
        log(f"note: {n}")
    return report
