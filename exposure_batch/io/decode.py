"""Decode any supported photo to the working space: linear ProPhoto RGB, float32, orientation applied.

Routing is by content first, extension second: JPEG / PNG bytes are decoded as such whatever the file is called
(a JPEG named .NEF decodes as a JPEG, and `info.format` says 'jpeg'); TIFF-structured files with a RAW extension,
or carrying the DNGVersion tag, go to LibRaw; other files with a RAW extension go to LibRaw; anything else is an
UnsupportedFile. Every failure is an `InputError` subclass whose message is one line naming the file.

Exports: ImageInfo, Decoded, decode, read_info, is_supported, is_photo, SUPPORTED_EXTENSIONS, RAW_EXTENSIONS,
RASTER_EXTENSIONS, file_sha256.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import stat

import numpy as np

from exposure_batch.errors import InputError, UnsupportedFile, UnsupportedFormat
from exposure_batch.io import formats, metadata, raster
from exposure_batch.io import raw as _raw
from exposure_batch.io.formats import RASTER_EXTENSIONS, RAW_EXTENSIONS  # noqa: F401  (RAW_EXTENSIONS re-exported)
from exposure_batch.limits import DEFAULT_MAX_PIXELS

#: Every extension we read (io.formats: raw formats and the sniffed raster formats).
SUPPORTED_EXTENSIONS: frozenset[str] = formats.READ_EXTENSIONS


@dataclasses.dataclass
class ImageInfo:
    """Facts about a source photo (cheap to get: see `read_info`)."""

    path: str
    format: str  # 'raw:DNG', 'raw:NEF', ..., 'jpeg', 'png', 'tiff'
    width: int  # after orientation is applied, full resolution
    height: int
    bit_depth: int  # 8, 16, 32 (float), or the RAW's sensor bits
    source_space: str  # 'sRGB', 'Adobe RGB (1998)', 'ProPhoto RGB', 'Display P3', 'ITU-R BT.2020', 'camera', ...
    icc_description: str | None
    exif: dict  # see exposure_batch.io.metadata; missing keys are absent
    file_size: int
    sha256: str  # hex digest of the file's bytes

    def to_dict(self) -> dict:
        """JSON-serialisable dict of all fields."""
        d = dataclasses.asdict(self)
        d["exif"] = dict(self.exif)
        return d


@dataclasses.dataclass
class Decoded:
    """A decoded photo, linear ProPhoto RGB, orientation applied.

    pixels: what the decoder made, (H, W, 3): float32 values in [0, inf), or for camera RAWs LibRaw's uint16 codes,
    value = float32(code) * io.raw.CODE_SCALE (half the memory; `render.render_encoded` and `preview` read them
    directly and give the same results as for the values). rgb_lin: always the float32 values (made from the codes
    on first use, then kept).
    """

    pixels: np.ndarray
    info: ImageInfo

    @functools.cached_property
    def rgb_lin(self) -> np.ndarray:
        """(H, W, 3) float32 linear ProPhoto RGB."""
        return _raw.linear_values(self.pixels)


def is_photo(path: str | os.PathLike) -> bool:
    """True for every photo a folder scan lists: the ones we read and the ones skipped as "unsupported format"
    (io.formats: .jxl, .psd, ...)."""
    return formats.is_photo(path)


def is_supported(path: str | os.PathLike) -> bool:
    """True when the file's extension is one we read (io.formats: raw extensions + .jpg .jpeg .jpe .png .tif
    .tiff .heic .heif .hif .avif .webp .gif)."""
    return os.path.splitext(os.fspath(path))[1].lower() in SUPPORTED_EXTENSIONS


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def _route(path: str) -> tuple[str, int]:
    """Check the file is readable and decide who decodes it: ('raw' | 'jpeg' | 'png' | 'tiff', size in bytes)."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc
    except PermissionError as exc:
        raise InputError(path, "permission denied") from exc
    except OSError as exc:
        raise InputError(path, f"cannot access the file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, "is a directory, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise UnsupportedFile(path, "not a regular file")
    if st.st_size == 0:
        raise UnsupportedFile(path, "empty file (0 bytes)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except PermissionError as exc:
        raise InputError(path, "permission denied") from exc
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    ext = os.path.splitext(path)[1].lower()
    kind = raster.sniff(head)
    if kind in ("jpeg", "png"):
        return kind, st.st_size
    if kind is not None and kind != "tiff":  # HEIF, AVIF, WebP, GIF through Pillow; JPEG XL & co. not read
        if kind not in raster.PIL_KINDS or not raster.pil_kind_available(kind):
            raise UnsupportedFormat(path, f"unsupported format ({formats.by_name(kind).label})")
        return kind, st.st_size
    if kind == "tiff":
        if formats.is_raw(path):
            return "raw", st.st_size
        _check_tiff_structure(path)  # before tifffile follows its offsets (loops, bombs)
        if raster.tiff_is_dng(path):
            return "raw", st.st_size
        return "tiff", st.st_size
    if formats.is_raw(path):
        return "raw", st.st_size
    if _looks_like_text(head):
        raise UnsupportedFile(path, "a text file, not an image")
    if ext in RASTER_EXTENSIONS:
        raise UnsupportedFile(path, f"not an image: the content is not {formats.by_path(path).label} despite the "
                                    f"{ext} name")
    if (fmt := formats.by_path(path)) is not None:  # a photo format we do not read (.psd, .jxl ...): skipped
        raise UnsupportedFormat(path, f"unsupported format ({fmt.label})")
    raise UnsupportedFile(path, f"unsupported file type {ext or '(no extension)'} (not a JPEG, PNG, TIFF or "
                                "camera RAW file)")


def _check_tiff_structure(path: str) -> None:
    """Bounded walk of a TIFF's IFDs (io.tiffcheck): loops are corrupt files, IFD / tag counts over the limits
    are LimitErrors."""
    from exposure_batch.errors import DecodeError, LimitError  # noqa: PLC0415
    from exposure_batch.io import tiffcheck  # noqa: PLC0415

    try:
        tiffcheck.check_tiff_file(path)
    except tiffcheck.TiffLimitError as exc:
        raise LimitError(path, str(exc)) from exc
    except tiffcheck.TiffStructureError as exc:
        raise DecodeError(path, str(exc)) from exc
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror or exc})") from exc


def _raw_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lstrip(".").upper()
    if not ext or ext in ("TIF", "TIFF"):
        ext = "DNG"
    return f"raw:{ext}"


def _info(path: str, size: int, fmt: str, width: int, height: int, bit_depth: int, space: str,
          icc_description: str | None) -> ImageInfo:
    return ImageInfo(path=path, format=fmt, width=int(width), height=int(height), bit_depth=int(bit_depth),
                     source_space=space, icc_description=icc_description, exif=metadata.read_exif(path),
                     file_size=int(size), sha256=file_sha256(path))


def read_info(path: str | os.PathLike) -> ImageInfo:
    """Header facts about a photo without decoding its pixels (RAWs are opened but not unpacked).

    The file is still read once in full for its SHA-256. Raises InputError subclasses with one-line reasons.
    """
    path = os.fspath(path)
    kind, size = _route(path)
    if kind == "raw":
        p = _raw.probe_raw(path)
        return _info(path, size, _raw_format(path), p.width, p.height, p.bit_depth, "camera", None)
    p = raster.probe_raster(path, kind)
    w, h = p.oriented_size
    return _info(path, size, kind, w, h, p.bit_depth, p.transfer.name, p.icc_description)


def decode(path: str | os.PathLike, *, half_size: bool = False, max_pixels: int | None = DEFAULT_MAX_PIXELS
           ) -> Decoded:
    """Decode a photo to linear ProPhoto RGB.

    Args:
        path: a camera RAW (any LibRaw format, DNG included), JPEG, PNG (8/16-bit) or TIFF (8/16-bit, float32).
        half_size: fast preview path: LibRaw half_size for RAWs, libjpeg 1/2 scaling for JPEGs, 2x2 averaging in
            linear light for PNG/TIFF. `info.width/height` still give the full size.
        max_pixels: refuse images declaring more pixels than this (LimitError, checked from the header before any
            pixel is decoded); None or 0: no limit.

    Returns: Decoded (pixels: uint16 linear codes for RAWs, float32 otherwise; rgb_lin: (H, W, 3) float32 linear
    ProPhoto RGB, orientation applied, [0, inf)).
    Raises: InputError / DecodeError / UnsupportedFile, one line naming the file.
    """
    path = os.fspath(path)
    kind, size = _route(path)
    if kind == "raw":
        codes, p = _raw.decode_raw_codes(path, half_size=half_size, max_pixels=max_pixels)
        info = _info(path, size, _raw_format(path), p.width, p.height, p.bit_depth, "camera", None)
        return Decoded(codes, info)
    rgb_lin, p = raster.decode_raster(path, kind, half_size=half_size, max_pixels=max_pixels)
    w, h = p.oriented_size
    info = _info(path, size, kind, w, h, p.bit_depth, p.transfer.name, p.icc_description)
    return Decoded(rgb_lin, info)
