"""Hostile-input corpus, generated at test time (nothing large is committed): one builder per case of issue 14.

Every builder writes real bytes with Pillow / struct into a folder the test owns and returns the path. Sizes are
tiny: the "bombs" only *declare* huge sizes in their headers, which is what the limits must catch before decoding.

    from tests.hostile import corpus
    corpus.tiff_ifd_loop(tmp_path / "loop.tif")
"""
from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image


def photo_array(w: int = 48, h: int = 32, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8: a gradient plus noise (a real-looking small photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, (x + y) / (w + h)], axis=-1) * 200 + 20
    return np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


def jpeg(path, w: int = 48, h: int = 32, seed: int = 0, **save) -> str:
    """A small valid JPEG (or PNG by extension) at `path` (str, bytes or Path; any bytes in the name)."""
    path = os.fsdecode(os.fspath(path))
    kw = {"quality": 90, **save} if path.lower().endswith((".jpg", ".jpeg")) else save
    Image.fromarray(photo_array(w, h, seed)).save(path, **kw)
    return path


# ------------------------------------------------------------------------------------------------------------
# Row 2: a TIFF whose IFD points to itself
# ------------------------------------------------------------------------------------------------------------
def _ifd(entries, next_offset: int) -> bytes:
    out = struct.pack("<H", len(entries))
    for tag, typ, count, value in sorted(entries):
        if typ == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    return out + struct.pack("<I", next_offset)


def tiff_ifd_loop(path) -> str:
    """138 bytes: a 4x4 8-bit gray TIFF, marked as a reduced-resolution page (NewSubfileType 1), whose next-IFD
    offset points back to its own IFD (tifffile's page iterator never ends on it)."""
    base = [(254, 4, 1, 1), (256, 3, 1, 4), (257, 3, 1, 4), (258, 3, 1, 8), (262, 3, 1, 1), (277, 3, 1, 1),
            (278, 3, 1, 4), (279, 4, 1, 16)]
    data_offset = 8 + 2 + 12 * (len(base) + 1) + 4
    body = b"II*\x00" + struct.pack("<I", 8) + _ifd(base + [(273, 4, 1, data_offset)], 8) + bytes(range(16))
    with open(path, "wb") as fh:
        fh.write(body)
    return os.fspath(path)


def tiff_exif_loop(path) -> str:
    """A valid 4x4 gray TIFF whose Exif IFD points to an IFD that points to itself (sub-IFD loop)."""
    base = [(256, 3, 1, 4), (257, 3, 1, 4), (258, 3, 1, 8), (262, 3, 1, 1), (277, 3, 1, 1), (278, 3, 1, 4),
            (279, 4, 1, 16)]
    n0 = len(base) + 2
    exif_at = 8 + 2 + 12 * n0 + 4
    data_at = exif_at + 2 + 12 + 4
    body = (b"II*\x00" + struct.pack("<I", 8) + _ifd(base + [(273, 4, 1, data_at), (34665, 4, 1, exif_at)], 0)
            + _ifd([(34665, 4, 1, exif_at)], exif_at) + bytes(range(16)))
    with open(path, "wb") as fh:
        fh.write(body)
    return os.fspath(path)


def tiff_tag_bomb(path) -> str:
    """A 4x4 TIFF with an extra ASCII tag declaring 4,000,000,000 bytes (far more than the file)."""
    base = [(256, 3, 1, 4), (257, 3, 1, 4), (258, 3, 1, 8), (262, 3, 1, 1), (277, 3, 1, 1), (278, 3, 1, 4),
            (279, 4, 1, 16), (270, 2, 4_000_000_000, 8)]
    data_at = 8 + 2 + 12 * (len(base) + 1) + 4
    body = b"II*\x00" + struct.pack("<I", 8) + _ifd(base + [(273, 4, 1, data_at)], 0) + bytes(range(16))
    with open(path, "wb") as fh:
        fh.write(body)
    return os.fspath(path)


# ------------------------------------------------------------------------------------------------------------
# Row 4: decompression / allocation bombs (declared sizes only)
# ------------------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path, width: int = 20000, height: int = 20000) -> str:
    """A PNG whose IHDR declares width x height 8-bit RGB, with one small IDAT of zero rows (a few KB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * width) * 8, 9)  # 8 rows: the rest is "missing"
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    with open(path, "wb") as fh:
        fh.write(data)
    return os.fspath(path)


def jpeg_bomb(path, width: int = 60000, height: int = 60000) -> str:
    """A valid 16x16 JPEG whose SOF0 header is patched to declare width x height (under 1 KB)."""
    buf = io.BytesIO()
    Image.fromarray(photo_array(16, 16)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    with open(path, "wb") as fh:
        fh.write(bytes(data))
    return os.fspath(path)


def icc_curve_bomb() -> bytes:
    """An RGB matrix/TRC ICC profile (sRGB colorants) whose rTRC 'curv' declares 268,435,456 entries but holds 2."""
    from exposure_batch.io import icc  # noqa: PLC0415

    prof = bytearray(icc.profile_bytes("srgb"))
    (count,) = struct.unpack(">I", prof[128:132])
    tags = {}
    for i in range(count):
        sig, off, size = struct.unpack(">4sII", prof[132 + 12 * i:144 + 12 * i])
        tags[sig] = (i, off, size)
    curv = b"curv" + b"\0" * 4 + struct.pack(">I", 268_435_456) + b"\x00\x00\xff\xff"
    off = len(prof)
    prof += curv
    i = tags[b"rTRC"][0]
    struct.pack_into(">4sII", prof, 132 + 12 * i, b"rTRC", off, len(curv))
    struct.pack_into(">I", prof, 0, len(prof))
    return bytes(prof)


def jpeg_with_icc(path, icc_bytes: bytes) -> str:
    """A small JPEG carrying `icc_bytes` as its embedded profile."""
    return jpeg(path, icc_profile=icc_bytes)


# ------------------------------------------------------------------------------------------------------------
# Row 12: float overflow, oversized EXIF
# ------------------------------------------------------------------------------------------------------------
def float_tiff(path, value: float = 1e10) -> str:
    """A 32x24 float32 RGB TIFF: a gradient with a block of `value` (and one NaN, one inf)."""
    import tifffile  # noqa: PLC0415

    arr = (photo_array(32, 24).astype(np.float32) / 255.0)
    arr[4:12, 4:12] = value
    arr[0, 0, 0] = np.nan
    arr[0, 1, 1] = np.inf
    tifffile.imwrite(path, arr, photometric="rgb")
    return os.fspath(path)


def jpeg_huge_make(path, nbytes: int = 70_000) -> str:
    """A small RGB TIFF whose EXIF Make tag holds `nbytes` characters (more than a JPEG APP1 segment can carry,
    so copying it into a JPEG output as-is fails)."""
    import tifffile  # noqa: PLC0415

    tifffile.imwrite(path, photo_array(32, 24), photometric="rgb", extratags=[(271, "s", 0, "M" * nbytes, True)])
    return os.fspath(path)


# ------------------------------------------------------------------------------------------------------------
# Recipes (rows 17, 18)
# ------------------------------------------------------------------------------------------------------------
def recipe_json(steps=None, **top) -> dict:
    """A recipe dict (schema 1) with `steps` (default one exposure step) and any top-level overrides."""
    d = {"schema": "exposure-batch/recipe", "schema_version": 1, "working_space": "linear ProPhoto RGB",
         "model": {"id": "manual", "version": "1"}, "source": None,
         "steps": steps if steps is not None else [{"filter": "exposure", "version": 1, "params": {"ev": 0.3}}]}
    d.update(top)
    return d


def long_recipe(n: int) -> dict:
    return recipe_json([{"filter": "exposure", "version": 1, "params": {"ev": 0.001}}] * n)


# ------------------------------------------------------------------------------------------------------------
# XMP (rows 9, 15)
# ------------------------------------------------------------------------------------------------------------
XMP_DOCTYPE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x:xmpmeta [<!ENTITY xxe "studio-entity">]>\n'
               b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
               b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
               b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4" '
               b'xmp:Label="&xxe;"/></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')
XMP_EXTERNAL = (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                b'<rdf:Description rdf:about="">&xxe;</rdf:Description></rdf:RDF></x:xmpmeta>')
XMP_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), b"&%s;" % bytes([97 + i]) * 10) for i in range(9))
              + b']><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              b'<rdf:Description rdf:about="">&j;</rdf:Description></rdf:RDF></x:xmpmeta>')
UNREADABLE_XMPS = {"empty": b"", "binary": bytes(range(256)) * 4, "malformed": b"<x:xmpmeta><unclosed>",
                   "external-entity": XMP_EXTERNAL, "billion-laughs": XMP_LAUGHS}

#: Hostile file names (str; surrogate escapes are the non-UTF-8 bytes a POSIX filesystem allows).
HOSTILE_NAMES = {
    "non-utf8": os.fsdecode(b"m_bad\xff.jpg"),
    "escape": "esc\x1b[31mred.jpg",
    "crlf": "two\r\nevent=done file=forged.jpg",
    "bell": "bell\x07.jpg",
    "dash-option": "-x.jpg",
    "exiftool-tag": "-ImageDescription=pwned.jpg",
    "bidi": "photo\u202egpj.exe.jpg",
    "markup": "[bold red]rich.jpg",
}
