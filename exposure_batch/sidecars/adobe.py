"""Adobe Camera Raw / Lightroom develop settings (crs namespace): sidecars, merges into existing XMP, embedding.

A recipe maps onto Adobe sliders only approximately (docs/sidecar_formats.md A.6): exposure -> Exposure2012,
white balance -> Temperature/Tint (raw) or IncrementalTemperature/IncrementalTint (JPEG/TIFF), saturation and
partial black & white -> Saturation, contrast -> Contrast2012, gamma and tone curve -> the master ToneCurvePV2012
(composed, on sRGB-gamma axes), colour curves -> ToneCurvePV2012Red/Green/Blue, full B&W -> ConvertToGrayscale.

Lightroom reads `IMG.xmp` sidecars (extension replaced) only beside proprietary raw files; JPEG, TIFF, PNG and DNG
carry their develop settings inside the file (`embed_into`, via exiftool).

Exports: crs_settings, lightroom_settings, adobe_xmp, merge_into, write_adobe_xmp, embed_into, sidecar_name,
needs_embedding, PROCESS_VERSION.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np
from lxml import etree

from .. import color
from ..io import formats
from . import xmp
from .editors import ADOBE
from .xmp import NS, q

PROCESS_VERSION = "11.0"
CRS_VERSION = "15.4"
CURVE_TAGS = ("ToneCurvePV2012", "ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue")
#: Files whose develop settings Lightroom keeps inside the file, not in a sidecar.


@dataclass(frozen=True)
class CrsSettings:
    """crs values in write order (name -> str | bool | list of (x, y) ints) plus notes on approximations."""

    values: dict
    notes: tuple[str, ...]


def _fmt(name: str, value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if name == "Exposure2012":
        return f"{value:+.2f}"
    if isinstance(value, (int, np.integer)) and name not in ("Temperature",):
        return f"{int(value):+d}" if value else "0"
    return str(value)


def curve_points_255(fn_lin, n: int = 17) -> list[tuple[int, int]]:
    """A linear -> linear curve as Adobe point-curve integers 0..255 on sRGB-gamma-encoded axes (Adobe's curves
    act on gamma-encoded values; the exact encoding is undocumented, sRGB's is the documented readout curve)."""
    grid = np.linspace(0.0, 1.0, n)
    vals = color.srgb_encode(np.asarray(fn_lin(color.srgb_decode(grid.astype(np.float32))), dtype=np.float32))
    pts, last_x = [], -1
    for x, y in zip(grid, vals):
        xi, yi = int(round(x * 255)), int(round(float(np.clip(y, 0, 1)) * 255))
        if xi > last_x:
            pts.append((xi, yi))
            last_x = xi
    return pts


def _white_balance_folded(steps) -> list[tuple]:
    """(spec, params) of each step, every white-balance step folded into the first (gains multiply): Adobe holds one
    temperature/tint pair, and a raw file's Temperature is absolute, so a second white balance (the learned agent's
    capture correction, then its actor's) must not replace the first."""
    balances = [s for s in steps if s.filter == "white_balance"]
    pairs = [(s.spec, dict(s.params)) for s in steps if s.filter != "white_balance" or s is balances[0]]
    if len(balances) > 1:
        gains = np.prod([[s.params[c] for c in ("red", "green", "blue")] for s in balances], axis=0)
        k = next(i for i, (spec, _) in enumerate(pairs) if spec.name == "white_balance")
        pairs[k] = (pairs[k][0], dict(zip(("red", "green", "blue"), map(float, gains))))
    return pairs


def crs_settings(recipe, raw: bool = False) -> CrsSettings:
    """Recipe -> crs values. Steps of one kind are combined (EVs add, gains multiply, curves compose in order)."""
    vals: dict = {}
    notes: list[str] = []
    master = []
    rgb = []
    for i, (spec, params) in enumerate(_white_balance_folded(list(recipe.steps))):
        m = ADOBE.mapping(spec.name, params, raw=raw)
        notes.append(f"step {i + 1} {spec.name}: approximate ({m.note})" if not m.exact else "")
        for key, value in m.settings.items():
            if key == "_master":
                master.append(value)
            elif key == "_rgb":
                rgb.append(value)
            elif key in ("Exposure2012",):
                vals[key] = max(-5.0, min(5.0, vals.get(key, 0.0) + value))
            elif key in ("Saturation", "Contrast2012", "IncrementalTemperature", "IncrementalTint", "Tint"):
                vals[key] = max(-100 if key != "Tint" else -150, min(100 if key != "Tint" else 150, vals.get(key, 0) + value))
            else:
                vals[key] = value
    if master:
        vals["ToneCurveName2012"] = "Custom"
        vals["ToneCurvePV2012"] = curve_points_255(_compose(master))
    if rgb:
        vals.setdefault("ToneCurveName2012", "Custom")
        vals.setdefault("ToneCurvePV2012", [(0, 0), (255, 255)])
        for c, tag in enumerate(CURVE_TAGS[1:]):
            vals[tag] = curve_points_255(_compose([fns[c] for fns in rgb]))
    return CrsSettings(vals, tuple(n for n in notes if n))


def lightroom_settings(settings: CrsSettings) -> dict:
    """crs values -> the flat table Lightroom Classic's `LrPhoto:applyDevelopSettings` takes: the same keys and
    absolute values as the sidecar (Kelvin `Temperature`/`Tint` for raw files, `IncrementalTemperature`/
    `IncrementalTint` otherwise), point curves as flat lists `[x1, y1, x2, y2, ...]` of integers 0..255 (the form
    `LrPhoto:getDevelopSettings` returns), booleans as booleans, plus `ProcessVersion`. JSON-serialisable."""
    table: dict = {"ProcessVersion": PROCESS_VERSION}
    for name, value in settings.values.items():
        if name in CURVE_TAGS:
            table[name] = [int(v) for point in value for v in point]
        elif isinstance(value, (bool, np.bool_)):
            table[name] = bool(value)
        elif isinstance(value, (int, np.integer)):
            table[name] = int(value)
        elif isinstance(value, (float, np.floating)):
            table[name] = round(float(value), 2)
        else:
            table[name] = value
    return table


def _compose(fns):
    def run(v):
        for fn in fns:
            v = fn(v)
        return v
    return run


def _set_settings(desc: etree._Element, values: dict, header: bool = True) -> None:
    """Write crs values into an rdf:Description: simple values as attributes, curves as rdf:Seq elements."""
    if header:
        desc.set(q("crs:Version"), CRS_VERSION)
        desc.set(q("crs:ProcessVersion"), PROCESS_VERSION)
    for name, value in values.items():
        if name in CURVE_TAGS:
            el = etree.SubElement(desc, q(f"crs:{name}"))
            seq = etree.SubElement(el, q("rdf:Seq"))
            for x, y in value:
                etree.SubElement(seq, q("rdf:li")).text = f"{x}, {y}"
        else:
            desc.set(q(f"crs:{name}"), _fmt(name, value))
    desc.set(q("crs:HasSettings"), "True")


def adobe_xmp(settings: CrsSettings, raw_file_name: str | None = None):
    """Fresh XMP tree (xmp_templates/adobe.xmp) with the develop settings."""
    tree = xmp.load_template("adobe.xmp")
    desc = xmp.description(tree)
    if raw_file_name:
        desc.set(q("crs:RawFileName"), raw_file_name)
    _set_settings(desc, settings.values)
    return tree


def has_develop_settings(tree) -> bool:
    """True when any rdf:Description carries crs attributes or elements."""
    crs = "{" + NS["crs"] + "}"
    for desc in tree.iter(q("rdf:Description")):
        if any(k.startswith(crs) for k in desc.attrib) or any(
                isinstance(c.tag, str) and c.tag.startswith(crs) for c in desc):
            return True
    return False


def _strip_crs(tree) -> None:
    crs = "{" + NS["crs"] + "}"
    for desc in tree.iter(q("rdf:Description")):
        for k in [k for k in desc.attrib if k.startswith(crs)]:
            del desc.attrib[k]
        for c in [c for c in desc if isinstance(c.tag, str) and c.tag.startswith(crs)]:
            desc.remove(c)


def merge_into(existing: bytes, settings: CrsSettings, replace: bool = False):
    """Merge our crs values into an existing XMP (every other namespace kept). Returns (tree, merged: bool);
    merged is False when the file already has develop settings and `replace` is off (tree unchanged)."""
    tree = xmp.parse_xmp(existing)  # UnreadableXmp for empty, binary, malformed or entity-laden files
    if has_develop_settings(tree) and not replace:
        return tree, False
    _strip_crs(tree)
    desc = xmp.description(tree)
    if desc.nsmap.get("crs") != NS["crs"]:
        # lxml cannot add a prefix to an existing element: rebuild the Description with crs declared.
        new = etree.Element(desc.tag, attrib=dict(desc.attrib), nsmap={**desc.nsmap, "crs": NS["crs"]})
        new.text = desc.text
        for child in list(desc):
            new.append(child)
        desc.getparent().replace(desc, new)
        desc = new
    _set_settings(desc, settings.values)
    return tree, True


def sidecar_name(source_path: str | os.PathLike) -> str:
    """Lightroom's naming: extension replaced (IMG_0001.CR2 -> IMG_0001.xmp)."""
    return os.path.splitext(os.path.basename(os.fspath(source_path)))[0] + ".xmp"


def needs_embedding(source_path: str | os.PathLike) -> bool:
    """JPEG/TIFF/PNG/DNG/...: Lightroom ignores sidecars, settings must be inside the file (io.formats.embeds_xmp)."""
    return formats.embeds_xmp(source_path)


def beside_name(path: str | os.PathLike) -> str:
    """Where our sidecar goes when `path` exists but cannot be read: IMG.xmp -> IMG.exposure-batch.xmp."""
    stem, ext = os.path.splitext(os.fspath(path))
    return f"{stem}.exposure-batch{ext}"


def write_adobe_xmp(recipe, path: str | os.PathLike, raw: bool = True, raw_file_name: str | None = None,
                    replace: bool = False) -> tuple[CrsSettings, str]:
    """Write or merge a sidecar at `path` atomically. Returns (settings, status): 'written' | 'merged' |
    'kept' (an existing file already had develop settings and `replace` is off) | 'beside: <reason>' (the existing
    file cannot be read: it is left untouched and ours is written to beside_name(path))."""
    settings = crs_settings(recipe, raw=raw)
    path = os.fspath(path)
    if os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                tree, merged = merge_into(fh.read(), settings, replace)
        except (xmp.UnreadableXmp, OSError) as err:
            reason = str(err) if isinstance(err, xmp.UnreadableXmp) else (err.strerror or str(err))
            xmp.write_xmp(adobe_xmp(settings, raw_file_name), beside_name(path))
            return settings, f"beside: {reason}"
        if not merged:
            return settings, "kept"
        xmp.write_xmp(tree, path)
        return settings, "merged"
    xmp.write_xmp(adobe_xmp(settings, raw_file_name), path)
    return settings, "written"


class EmbedError(RuntimeError):
    """exiftool could not embed the settings (one line); nothing was changed."""


def embed_into(recipe, image_path: str | os.PathLike, replace: bool = False) -> tuple[CrsSettings, str]:
    """Write our crs values into the XMP inside a JPEG/TIFF/PNG/DNG with exiftool (other metadata kept).

    exiftool writes a new copy beside the file (its real path: a symlinked source stays a link and the file it
    points to is updated) that replaces it atomically, inside the current io.unit (with the photo's other files).
    File names always follow `--`, so a name starting with '-' is never an option.

    Returns (settings, status): 'embedded' | 'kept' (already has develop settings, `replace` off) |
    'skipped: <reason>' (exiftool missing). Raises EmbedError when exiftool fails.
    """
    from ..io.unit import stage_file  # noqa: PLC0415

    image_path = os.fspath(image_path)
    settings = crs_settings(recipe, raw=image_path.lower().endswith(".dng"))
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        return settings, "skipped: exiftool is not installed"
    real = os.path.realpath(image_path)
    current = subprocess.run([exiftool, "-b", "-XMP", "--", real], capture_output=True, timeout=120)
    if current.stdout.strip():
        try:
            if has_develop_settings(xmp.parse_xmp(current.stdout)) and not replace:
                return settings, "kept"
        except xmp.UnreadableXmp:
            pass
    folder, name = os.path.split(real)
    stem, ext = os.path.splitext(name)
    fd, staged = tempfile.mkstemp(dir=folder, prefix="." + name + ".", suffix=".tmp")
    os.close(fd)
    written = staged[:-4] + ext  # exiftool picks the file type from the source; keep the extension
    try:
        with tempfile.TemporaryDirectory(prefix="eb-xmp-") as tmp:
            side = os.path.join(tmp, "settings.xmp")
            with open(side, "wb") as fh:
                fh.write(xmp.serialize(adobe_xmp(settings)))
            cmd = [exiftool, "-q", "-m"]
            if replace:
                cmd.append("-XMP-crs:all=")
            cmd += ["-tagsFromFile", side, "-XMP-crs:all", "-o", written, "--", real]
            res = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
        if res.returncode != 0 or not os.path.isfile(written):
            raise EmbedError(f"exiftool could not embed the settings ({' '.join(res.stderr.split())[:200]})")
        shutil.copymode(real, written)
        with open(written, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(written, staged)
        stage_file(staged, real)
    except BaseException:
        for leftover in (written, staged):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise
    return settings, "embedded"
