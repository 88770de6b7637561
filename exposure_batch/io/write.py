"""Encoders for JPEG / 16-bit TIFF / 16-bit PNG with the right ICC profile and carried-over EXIF; atomic writes.

Every output is written to a hidden temp file in the destination folder ('.<name>.<random>.tmp'), fsynced and moved
into place with os.replace (or hard-linked, when overwriting is not allowed, so a file that appeared meanwhile is
never clobbered); on any error the temp file is removed, so a reader never sees a partial image.

Exports: atomic_write, write_image, FORMATS, format_from_path.
"""
from __future__ import annotations

import contextlib
import functools
import glob
import io
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass

import numpy as np

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.errors import OutputError, OutputExists, OutputUnwritable, OutputUsage, SourceMetadataTooLarge
from exposure_batch.io import formats
from exposure_batch.io import icc as _icc
from exposure_batch.io import metadata
from exposure_batch.io.unit import current_unit, fsync_dir as _fsync_dir

#: The formats we write, their extensions, bit depths and spaces: io.formats (the one table).
FORMATS = formats.OUTPUT_FORMATS
bits_for = formats.bits_for
_BAND_ROWS = 256
# Encoder speed settings, measured on a noisy 16-bit photo (1.5 MP): libpng at level 6 takes 1.3 s (about 20 s at
# 24 MP) for 2 % smaller files than level 1 + RLE + SUB filter (0.6 s, OpenCV's fast settings); TIFF deflate with
# the horizontal predictor barely shrinks past level 3.
_PNG_ENCODE = {"level": 1, "strategy": 3, "filter": 16}
_TIFF_LEVEL = 3


@functools.lru_cache(maxsize=1)
def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, overwrite: bool = True, encoding: str = "utf-8"):
    """Open a temp file next to `path` for writing; on success fsync it and move it to `path` atomically.

    Args:
        path: final destination.
        mode: 'wb' (default), 'w+b' (read back allowed), or 'w' / 'w+' (text, `encoding`, no newline translation).
        overwrite: False -> OutputError if `path` exists (checked at the start and again, race-free, at the end).

    On any exception inside the block the temp file is removed and the exception propagates (OSErrors become
    OutputError); `path` is left untouched. The final file gets the usual permissions (0666 & ~umask). Inside
    `io.unit.write_unit()` the rename waits for the unit's commit (all of a photo's files together).
    """
    path = os.fspath(path)
    if mode not in ("wb", "w+b", "w", "w+"):
        raise ValueError(f"atomic_write mode must be 'wb', 'w+b', 'w' or 'w+', not {mode!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not overwrite and os.path.lexists(path):
        raise OutputExists(f"{path}: already exists (pass overwrite to replace it)")
    if not os.path.isdir(folder):
        raise OutputUnwritable(f"{path}: output folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as exc:
        raise OutputUnwritable(f"{path}: cannot create a file in {folder} ({exc.strerror or exc})") from exc
    try:
        os.close(fd)
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kwargs) as fh:  # (by name, so fh.name is a path for tifffile & co.)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        if (unit := current_unit()) is not None:  # renamed with the rest of the photo's files (io.unit)
            unit.stage(tmp, path, overwrite)
            return
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path appeared meanwhile: never clobber
            except FileExistsError as exc:
                raise OutputExists(f"{path}: already exists (pass overwrite to replace it)") from exc
            except OSError:  # no hard links on this filesystem
                if os.path.lexists(path):
                    raise OutputExists(f"{path}: already exists (pass overwrite to replace it)") from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        _fsync_dir(folder)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputUnwritable(f"{path}: cannot write ({exc.strerror or exc})") from exc
        raise


def stale_temp_files(path: str | os.PathLike) -> list[str]:
    """Temp files `atomic_write` left for `path` ('.<name>.<random>.tmp'): only a process killed mid-write leaves
    them. Call before redoing an output that a crashed run was writing."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return glob.glob(os.path.join(glob.escape(folder), "." + glob.escape(name) + ".*.tmp"))


def format_from_path(path: str | os.PathLike) -> str:
    """'jpeg' | 'tiff' | 'png' from the file extension; OutputUsage for anything else."""
    fmt = formats.by_path(path)
    if fmt is None or not fmt.writable:
        ext = os.path.splitext(os.fspath(path))[1].lower()
        raise OutputUsage(f"{os.fspath(path)}: cannot tell the output format from extension {ext or '(none)'!r} "
                          "(use .jpg, .tif or .png, or pass fmt)")
    return fmt.name


def _parse_space(space) -> Space:
    if isinstance(space, Space):
        return space
    try:
        return color.space_from_name(str(space))
    except ValueError as exc:
        raise OutputUsage(str(exc)) from exc


def encode_to_int(rgb_lin: np.ndarray, space: Space, *, linear: bool, bits: int) -> np.ndarray:
    """Working space -> `space`, clip to [0, 1], transfer curve (unless linear), quantise; band by band.

    Args: rgb_lin: (H, W, 3) float, linear ProPhoto RGB. Returns (H, W, 3) uint8 (bits=8) or uint16 (bits=16),
    encoded with `space`'s transfer curve (or linear).
    """
    h, w = rgb_lin.shape[:2]
    dtype = np.uint8 if bits == 8 else np.uint16
    maxv = np.float32(255 if bits == 8 else 65535)
    out = np.empty((h, w, 3), dtype=dtype)
    mat = color.convert_matrix(color.WORKING_SPACE, space)
    identity = space == color.WORKING_SPACE
    for r0 in range(0, h, _BAND_ROWS):
        band = np.asarray(rgb_lin[r0:r0 + _BAND_ROWS], dtype=np.float32)
        x = band.copy() if identity else band @ mat.T
        np.nan_to_num(x, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(x, 0.0, 1.0, out=x)
        if not linear:
            x = color.encode(x, space)
        x *= maxv
        x += np.float32(0.5)
        out[r0:r0 + _BAND_ROWS] = x.astype(dtype)
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bytes(img16: np.ndarray, icc_profile: bytes, icc_name: str, exif: bytes | None) -> bytes:
    import imagecodecs  # noqa: PLC0415

    png = imagecodecs.png_encode(img16, **_PNG_ENCODE)
    assert png[12:16] == b"IHDR"
    ihdr_end = 8 + 4 + 4 + 13 + 4
    extra = _png_chunk(b"iCCP", icc_name.encode("latin-1", "replace")[:79] + b"\0\0" + zlib.compress(icc_profile))
    if exif:
        extra += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif)
    return png[:ihdr_end] + extra + png[ihdr_end:]


def _write_tiff(fh, img16: np.ndarray, icc_profile: bytes, exif: dict | None) -> None:
    import tifffile  # noqa: PLC0415

    extratags = [(274, "H", 1, 1, True)]  # Orientation: pixels are already upright
    if exif:
        for tag, key in ((271, "camera_make"), (272, "camera_model")):
            if exif.get(key):
                extratags.append((tag, "s", 0, str(exif[key]), True))
        extratags.append(metadata.EXIF_PLACEHOLDER_TAG)
    start = fh.tell()
    tifffile.imwrite(
        fh, img16, photometric="rgb", planarconfig="contig", compression="zlib", compressionargs={"level": _TIFF_LEVEL},
        predictor=True, iccprofile=icc_profile, metadata=None, software="exposure-batch", byteorder="<",
        rowsperstrip=64, extratags=extratags,
    )
    if exif:
        metadata.patch_tiff_exif_ifd(fh, exif, start=start)


def write_image(rgb_lin: np.ndarray, path: str | os.PathLike, *, fmt: str | None = None, quality: int = 95,
                space: str | Space = "srgb", linear: bool = False, source_path: str | os.PathLike | None = None,
                overwrite: bool = False) -> str:
    """Write a working-space image as JPEG / 16-bit TIFF / 16-bit PNG with ICC profile and EXIF, atomically.

    Args:
        rgb_lin: (H, W, 3) float32 (any float), linear ProPhoto RGB, [0, inf); converted to `space` and clipped.
        path: destination.
        fmt: 'jpeg' | 'tiff' | 'png'; None -> from the extension.
        quality: JPEG quality 1..100 (4:4:4 chroma at >= 90, 4:2:0 below).
        space: output space, 'srgb' | 'prophoto' | 'adobergb' | 'p3' | 'rec2020' (or a color.Space). JPEG takes
            only 8-bit-safe spaces: srgb, p3, adobergb.
        linear: write linear values (gamma 1.0 ICC) instead of applying the space's transfer curve (TIFF/PNG only).
        source_path: copy camera EXIF (make/model, lens, exposure, capture time) from this file; orientation = 1.
        overwrite: replace an existing file; otherwise an existing `path` is an OutputError.

    Returns: the path written (str). Raises OutputExists (exists), OutputUsage (bad format/space), OutputUnwritable (write failure).
    """
    arr = np.asarray(rgb_lin)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype.kind != "f" or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"rgb_lin must be a non-empty (H, W, 3) float array, got {arr.shape} {arr.dtype}")
    fmt, sp = check_output(path, fmt=fmt, quality=quality, space=space, linear=linear, overwrite=overwrite)
    encoded = encode_to_int(arr, sp, linear=linear, bits=bits_for(fmt))
    return write_encoded(encoded, path, fmt=fmt, quality=quality, space=sp, linear=linear, source_path=source_path,
                         overwrite=overwrite)


def check_output(path, *, fmt: str | None = None, quality: int = 95, space: str | Space = "srgb",
                 linear: bool = False, overwrite: bool = False) -> tuple[str, Space]:
    """Validate output settings before any pixel work; returns (format, Space). Raises OutputError (one line)."""
    path = os.fspath(path)
    try:
        fmt = formats.output_format(fmt or format_from_path(path))
    except ValueError as exc:
        raise OutputUsage(f"{path}: {exc}") from None
    sp = _parse_space(space)
    refused = formats.check_encoding(fmt, sp, linear)
    if refused:
        raise OutputUsage(f"{path}: {refused}")
    if fmt == "jpeg" and not 1 <= int(quality) <= 100:
        raise OutputUsage(f"{path}: JPEG quality must be 1..100, got {quality}")
    if not overwrite and os.path.lexists(path):
        raise OutputExists(f"{path}: already exists (pass overwrite to replace it)")
    return fmt, sp


def write_encoded(encoded: np.ndarray, path: str | os.PathLike, *, fmt: str | None = None, quality: int = 95,
                  space: str | Space = "srgb", linear: bool = False, source_path: str | os.PathLike | None = None,
                  overwrite: bool = False, optimize: bool = False, source_exif: dict | None = None) -> str:
    """Write already-encoded pixels (what `encode_to_int` or `render.render_encoded` return) with ICC and EXIF.

    Args:
        encoded: (H, W, 3) uint8 for JPEG, uint16 for TIFF/PNG, in `space`, transfer-encoded unless `linear`.
        optimize: JPEG only: optimised Huffman tables (about 4% smaller files, about 3x the encoding time).
        source_exif: the source's EXIF as io.metadata.read_exif gives it (e.g. io.ImageInfo.exif), so the file is
            not parsed again; otherwise it is read from source_path.
        Other arguments as for `write_image`. Returns the path written; atomic.
    """
    path = os.fspath(path)
    fmt, sp = check_output(path, fmt=fmt, quality=quality, space=space, linear=linear, overwrite=overwrite)
    want = np.uint8 if bits_for(fmt) == 8 else np.uint16
    if encoded.ndim != 3 or encoded.shape[2] != 3 or encoded.dtype != want:
        raise ValueError(f"{fmt} needs (H, W, 3) {np.dtype(want).name} pixels, got {encoded.shape} {encoded.dtype}")

    icc_profile = _icc.profile_bytes(sp, linear)
    exif_dict = None
    if source_exif is not None or source_path is not None:
        exif_dict = dict(source_exif) if source_exif is not None else metadata.read_exif(source_path)
        exif_dict.pop("orientation", None)
    exif_block = metadata.build_exif(exif_dict) if exif_dict else None

    encoding = _Encoding(int(quality), bool(optimize), icc_profile, _icc.profile_description(sp, linear), exif_block,
                         exif_dict if exif_block else None)
    with atomic_write(path, "w+b", overwrite=overwrite) as fh:
        ENCODERS[fmt](encoded, fh, encoding)
    return path


@dataclass(frozen=True)
class _Encoding:
    """What an encoder embeds besides the pixels: JPEG quality and Huffman optimisation, the ICC profile (and its
    description, for PNG's iCCP name), the EXIF block (JPEG APP1, PNG eXIf) or its fields (TIFF tags)."""

    quality: int
    optimize: bool
    icc: bytes
    icc_description: str
    exif_block: bytes | None
    exif_fields: dict | None


def _encode_jpeg(encoded: np.ndarray, fh, e: _Encoding) -> None:
    fh.write(_jpeg_bytes(encoded, e.quality, e.optimize, e.icc, e.exif_block))


def _encode_png(encoded: np.ndarray, fh, e: _Encoding) -> None:
    fh.write(_png_bytes(encoded, e.icc, e.icc_description, e.exif_block))


def _encode_tiff(encoded: np.ndarray, fh, e: _Encoding) -> None:
    _write_tiff(fh, encoded, e.icc, e.exif_fields)


#: The encoder of each output format in io.formats (tests/io/test_formats.py: every writable format has one).
ENCODERS = {"jpeg": _encode_jpeg, "png": _encode_png, "tiff": _encode_tiff}


#: ICC profile bytes per APP2 segment: 65535 - 2 (length) - 14 ("ICC_PROFILE\0" + sequence number + count).
_ICC_CHUNK = 65519


def _jpeg_bytes(encoded: np.ndarray, quality: int, optimize: bool, icc_profile: bytes, exif_block: bytes | None
                ) -> bytes:
    """(H, W, 3) uint8 RGB, already encoded in the output space (e.g. sRGB-encoded, the profile given) -> JPEG bytes
    (libjpeg-turbo through imagecodecs, straight from the array: no copy into an image object), 4:4:4 chroma at
    quality >= 90 and 4:2:0 below, with the EXIF block (APP1) and the ICC profile (APP2 segments, the ICC.1
    embedding) placed after the JFIF header."""
    import imagecodecs  # noqa: PLC0415

    data = imagecodecs.jpeg8_encode(np.ascontiguousarray(encoded), level=quality,
                                    subsampling="444" if quality >= 90 else "420", optimize=optimize)
    segments = []
    if exif_block:
        segments.append(_app_segment(0xE1, exif_block))
    chunks = [icc_profile[i:i + _ICC_CHUNK] for i in range(0, len(icc_profile), _ICC_CHUNK)]
    for seq, chunk in enumerate(chunks, 1):
        segments.append(_app_segment(0xE2, b"ICC_PROFILE\0" + bytes((seq, len(chunks))) + chunk))
    at = _after_app0(data)
    return b"".join((data[:at], *segments, data[at:]))


def _app_segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise SourceMetadataTooLarge(f"a JPEG APP segment holds at most 65533 bytes, this one has {len(payload)}")
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _after_app0(jpeg: bytes) -> int:
    """Offset just after SOI and the JFIF APP0 segment (if any) of an encoder's JPEG stream."""
    if jpeg[:2] != b"\xff\xd8":
        raise OutputError("the JPEG encoder returned data without a start-of-image marker")
    at = 2
    if jpeg[at:at + 2] == b"\xff\xe0":
        at += 2 + int.from_bytes(jpeg[at + 2:at + 4], "big")
    return at


def encode_for_preview(rgb_lin: np.ndarray, *, quality: int = 85) -> bytes:
    """Small helper for reports: (H, W, 3) float32 linear ProPhoto -> sRGB JPEG bytes (with sRGB ICC)."""
    from PIL import Image  # noqa: PLC0415

    img8 = encode_to_int(np.asarray(rgb_lin), Space.SRGB, linear=False, bits=8)
    buf = io.BytesIO()
    Image.fromarray(img8, "RGB").save(buf, "JPEG", quality=quality, icc_profile=_icc.profile_bytes(Space.SRGB))
    return buf.getvalue()
