"""EXIF reading (exifread) and the EXIF block we carry into outputs.

Exports: read_exif(path) -> dict, parse_capture_time(text) -> float | None, exif_bytes_for_output(source_path) -> bytes | None, build_exif(exif) -> bytes,
exif_ifd_entries(exif), EXIF_KEYS.

Keys of the dict (missing -> absent): camera_make, camera_model, lens, iso (int), exposure_time (str, '1/250'),
f_number (float), focal_length (float, mm), capture_time (ISO 8601 str), orientation (int 1..8).
"""
from __future__ import annotations

import datetime as _dt
import fractions
import logging
import os
import re
import struct

log = logging.getLogger(__name__)

EXIF_KEYS = ("camera_make", "camera_model", "lens", "iso", "exposure_time", "f_number", "focal_length",
             "capture_time", "orientation")

# exifread reports IFD0 tags as 'Image X' and Exif sub-IFD tags as 'EXIF X'; TIFF/EP and DNG files may put the
# exposure tags in IFD0, so look in both.
_SOURCES = {
    "camera_make": ("Image Make",),
    "camera_model": ("Image Model",),
    "lens": ("EXIF LensModel", "Image LensModel"),
    "iso": ("EXIF ISOSpeedRatings", "EXIF PhotographicSensitivity", "Image ISOSpeedRatings",
            "EXIF RecommendedExposureIndex"),
    "exposure_time": ("EXIF ExposureTime", "Image ExposureTime"),
    "f_number": ("EXIF FNumber", "Image FNumber"),
    "focal_length": ("EXIF FocalLength", "Image FocalLength"),
    "capture_time": ("EXIF DateTimeOriginal", "Image DateTimeOriginal", "EXIF DateTimeDigitized", "Image DateTime"),
    "orientation": ("Image Orientation",),
}


def _first_value(tag):
    vals = getattr(tag, "values", tag)
    if isinstance(vals, (list, tuple)):
        return vals[0] if vals else None
    return vals


def _to_fraction(v) -> fractions.Fraction | None:
    if v is None:
        return None
    num = getattr(v, "numerator", None)
    den = getattr(v, "denominator", None)
    try:
        if num is not None and den is not None:
            if den == 0:
                return None
            return fractions.Fraction(int(num), int(den))
        return fractions.Fraction(str(v)).limit_denominator(100000)
    except (ValueError, TypeError, ZeroDivisionError):
        return None


def format_exposure_time(seconds: fractions.Fraction | float) -> str:
    """'1/250' for short exposures, '0.5', '2', '30' for long ones (as cameras and Lightroom show them)."""
    f = fractions.Fraction(seconds).limit_denominator(100000)
    if f <= 0:
        return "0"
    if f < fractions.Fraction(3, 10):
        inv = 1 / f
        if abs(inv - round(inv)) < 0.05 * inv or inv > 3:
            return f"1/{round(inv)}"
        return f"{f.numerator}/{f.denominator}"
    if f.denominator == 1:
        return str(f.numerator)
    return f"{float(f):.1f}".rstrip("0").rstrip(".")


def parse_exposure_time(text: str) -> fractions.Fraction:
    """Inverse of format_exposure_time: '1/250' -> Fraction(1, 250); '2.5' -> Fraction(5, 2)."""
    return fractions.Fraction(text.strip()).limit_denominator(1000000)


def _clean_str(v) -> str | None:
    """Printable text, at most limits.MAX_EXIF_TEXT characters (a 70 KB Make tag must not reach an output)."""
    from exposure_batch.limits import MAX_EXIF_TEXT  # noqa: PLC0415

    s = str(v).replace("\x00", "").strip()[:MAX_EXIF_TEXT]
    s = "".join(ch if ch.isprintable() else " " for ch in s).strip()
    return s or None


def _iso8601(dt_text: str, subsec: str | None = None, offset: str | None = None) -> str | None:
    m = re.match(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", dt_text or "")
    if not m:
        return None
    try:
        dt = _dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None
    out = dt.isoformat()
    if subsec and subsec.strip().isdigit():
        out += "." + subsec.strip()
    if offset and re.match(r"^[+\-]\d{2}:\d{2}$", offset.strip()):
        out += offset.strip()
    return out


def exif_from_tags(tags: dict) -> dict:
    """Map an exifread tag dict to our EXIF dict (see module docstring)."""
    out: dict = {}
    for key, names in _SOURCES.items():
        tag = next((tags[n] for n in names if n in tags), None)
        if tag is None:
            continue
        try:
            if key in ("camera_make", "camera_model"):
                s = _clean_str(tag.printable if hasattr(tag, "printable") else tag)
                if s:
                    out[key] = s
            elif key == "lens":
                s = _clean_str(tag.printable if hasattr(tag, "printable") else tag)
                if s:
                    out[key] = s
            elif key == "iso":
                v = _first_value(tag)
                if v is not None and int(v) > 0:
                    out[key] = int(v)
            elif key == "exposure_time":
                f = _to_fraction(_first_value(tag))
                if f is not None and f > 0:
                    out[key] = format_exposure_time(f)
            elif key in ("f_number", "focal_length"):
                f = _to_fraction(_first_value(tag))
                if f is not None and f > 0:
                    out[key] = round(float(f), 2)
            elif key == "capture_time":
                original = "DateTimeOriginal" in names[0] and tag is tags.get(names[0])
                sub = tags.get("EXIF SubSecTimeOriginal") if original else None
                off = tags.get("EXIF OffsetTimeOriginal") if original else None
                s = _iso8601(str(tag.printable if hasattr(tag, "printable") else tag),
                             str(sub) if sub is not None else None, str(off) if off is not None else None)
                if s:
                    out[key] = s
            elif key == "orientation":
                v = int(_first_value(tag))
                if 1 <= v <= 8:
                    out[key] = v
        except (ValueError, TypeError, AttributeError, ZeroDivisionError, OverflowError):
            continue
    return out


def read_exif(path: str | os.PathLike) -> dict:
    """Read camera EXIF from a JPEG / TIFF / DNG / camera RAW / PNG file with exifread.

    Never raises for an unreadable or EXIF-less file: returns {} (metadata is optional; the pixel decoder reports
    bad files). Keys as in the module docstring.
    """
    problem = _structure_problem(path)
    if problem:
        log.debug("EXIF of %s not read: %s", path, problem)
        return {}
    try:
        import exifread  # noqa: PLC0415

        logging.getLogger("exifread").setLevel(logging.ERROR)
        with open(path, "rb") as fh:
            tags = exifread.process_file(fh, details=False, extract_thumbnail=False)
    except Exception as exc:  # exifread raises many things on junk input  # noqa: BLE001
        log.debug("exifread failed on %s: %s", path, exc)
        return {}
    return exif_from_tags(tags or {})


def _structure_problem(path) -> str | None:
    """Why the file's TIFF / EXIF structure must not be handed to exifread (a loop, counts over the limits), or
    None. Bounded: reads IFD entries only (io.tiffcheck)."""
    from exposure_batch.io import tiffcheck  # noqa: PLC0415

    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            tiffcheck.check_tiff_file(os.fspath(path))
        elif head[:2] == b"\xff\xd8":
            block = tiffcheck.jpeg_exif_block(os.fspath(path))
            if block:
                tiffcheck.check_tiff_bytes(block)
    except tiffcheck.TiffStructureError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read ({exc})"
    return None


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

def exif_ifd_entries(exif: dict) -> tuple[dict, dict]:
    """Split our EXIF dict into (IFD0 tags, Exif sub-IFD tags) as {tag_id: value} for Pillow's Exif writer.

    Orientation is always 1: outputs carry pixels that are already rotated.
    """
    from PIL.TiffImagePlugin import IFDRational  # noqa: PLC0415

    ifd0: dict = {0x0112: 1}
    sub: dict = {}
    if exif.get("camera_make"):
        ifd0[0x010F] = str(exif["camera_make"])
    if exif.get("camera_model"):
        ifd0[0x0110] = str(exif["camera_model"])
    if exif.get("capture_time"):
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([+\-]\d{2}:\d{2}|Z)?",
                     str(exif["capture_time"]))
        if m:
            stamp = f"{m[1]}:{m[2]}:{m[3]} {m[4]}:{m[5]}:{m[6]}"
            sub[0x9003] = stamp  # DateTimeOriginal
            sub[0x9004] = stamp  # DateTimeDigitized
            if m[7]:
                sub[0x9291] = m[7]  # SubSecTimeOriginal
            if m[8] and m[8] != "Z":
                sub[0x9011] = m[8]  # OffsetTimeOriginal
    if exif.get("exposure_time"):
        f = parse_exposure_time(str(exif["exposure_time"]))
        sub[0x829A] = IFDRational(f.numerator, f.denominator)
    if exif.get("f_number"):
        f = fractions.Fraction(float(exif["f_number"])).limit_denominator(100)
        sub[0x829D] = IFDRational(f.numerator, f.denominator)
    if exif.get("iso"):
        sub[0x8827] = min(int(exif["iso"]), 65535)
    if exif.get("focal_length"):
        f = fractions.Fraction(float(exif["focal_length"])).limit_denominator(100)
        sub[0x920A] = IFDRational(f.numerator, f.denominator)
    if exif.get("lens"):
        sub[0xA434] = str(exif["lens"])
    if sub:
        sub[0x9000] = b"0232"  # ExifVersion
    return ifd0, sub


def build_exif(exif: dict) -> bytes | None:
    """Serialise our EXIF dict to an APP1-style EXIF block (b'Exif\\0\\0' + little-endian TIFF) via Pillow."""
    from PIL import Image  # noqa: PLC0415

    ifd0, sub = exif_ifd_entries(exif)
    if len(ifd0) == 1 and not sub:
        return None
    e = Image.Exif()
    for k, v in ifd0.items():
        e[k] = v
    if sub:
        sub_ifd = e.get_ifd(0x8769)
        for k, v in sub.items():
            sub_ifd[k] = v
    return e.tobytes()


def exif_bytes_for_output(source_path: str | os.PathLike | None) -> bytes | None:
    """EXIF block (b'Exif\\0\\0' + TIFF) carrying the source's camera make/model, lens, ISO, exposure time,
    f-number, focal length and capture time, with Orientation = 1 (the pixels are already rotated).

    Returns None when there is no source or it has none of these tags.
    """
    if source_path is None:
        return None
    exif = read_exif(source_path)
    exif.pop("orientation", None)
    return build_exif(exif)


#: tifffile extratag to reserve IFD0's ExifIFD pointer (see patch_tiff_exif_ifd).
EXIF_PLACEHOLDER_TAG = (34666, "I", 1, 0, True)


def patch_tiff_exif_ifd(fh, exif: dict, *, start: int = 0) -> None:
    """Append an Exif sub-IFD to a little-endian TIFF just written to `fh` and point IFD0's ExifIFD tag at it.

    The TIFF must have been written (by tifffile, which refuses to write tag 34665 itself) with the placeholder
    ``EXIF_PLACEHOLDER_TAG`` = ``(34666, 'I', 1, 0, True)`` in IFD0 `extratags`; it is renamed to 34665 (ExifIFD:
    the sort order of IFD0 is kept since no tag lies between the two) and pointed at the appended IFD.
    `fh` must be open for reading and writing. Camera make/model stay in IFD0 (tifffile writes those when asked);
    the Exif IFD gets exposure time, f-number, ISO, focal length, lens and capture time from our EXIF dict.
    """
    from PIL.TiffImagePlugin import ImageFileDirectory_v2  # noqa: PLC0415

    _, sub = exif_ifd_entries(exif)
    fh.seek(start)
    header = fh.read(8)
    if header[:4] != b"II*\x00":
        raise ValueError("patch_tiff_exif_ifd needs a little-endian classic TIFF")
    (ifd0,) = struct.unpack("<I", header[4:8])
    fh.seek(start + ifd0)
    (count,) = struct.unpack("<H", fh.read(2))
    entries = fh.read(12 * count)
    value_pos = None
    for i in range(count):
        tag, _typ, _n = struct.unpack("<HHI", entries[12 * i:12 * i + 8])
        if tag == EXIF_PLACEHOLDER_TAG[0]:
            value_pos = start + ifd0 + 2 + 12 * i + 8
            fh.seek(value_pos - 8)
            fh.write(struct.pack("<HHI", 34665, 4, 1))
            break
    if value_pos is None:
        raise ValueError("no ExifIFD placeholder tag in IFD0")
    fh.seek(0, os.SEEK_END)
    pos = fh.tell()
    if (pos - start) % 2:
        fh.write(b"\0")
        pos += 1
    ifd = ImageFileDirectory_v2(prefix=b"II")
    for k, v in sub.items():
        ifd[k] = v
    fh.write(ifd.tobytes(offset=pos - start))
    fh.seek(value_pos)
    fh.write(struct.pack("<I", pos - start))
    fh.seek(0, os.SEEK_END)


def parse_capture_time(text: str | None) -> float | None:
    """ISO 8601 capture time as io.metadata writes it ('2026-05-01T14:03:07.25+02:00') -> epoch seconds, or None.
    Without an offset the time is read as UTC: only differences between frames matter."""
    if not text:
        return None
    try:
        dt = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt.timestamp()
