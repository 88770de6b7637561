"""Camera RAW (anything LibRaw reads, DNG included) -> linear ProPhoto RGB float32 via rawpy.

Develop settings: gamma=(1, 1), no_auto_bright, 16-bit output, camera (as-shot) white balance, output colour space
ProPhoto (LibRaw applies the camera matrix), orientation applied by LibRaw (user_flip=None), half_size for the fast
preview path. Values are in [0, 1] (scene-referred; exposure is whatever LibRaw's scaling gives, which is about
1.25x the nominal scene value, see docs/data.md).

The developed image is kept as LibRaw's uint16 codes (half the memory of float32; the renderer and the preview read
them directly); their meaning is value = float32(code) * CODE_SCALE, in float32 arithmetic (`codes_to_linear`).

Exports: RAW_EXTENSIONS, CODE_SCALE, decode_raw_codes(path, half_size) -> (codes, RawProbe), codes_to_linear(codes),
linear_values(pixels), code_values(), probe_raw(path) -> RawProbe.
LibRaw errors become DecodeError / UnsupportedFile with a one-line reason.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math

import numpy as np

from exposure_batch.errors import DecodeError, InputError, UnsupportedFile
from exposure_batch.io.formats import RAW_EXTENSIONS  # noqa: F401  (re-exported; the table is io.formats)

_BAND_ROWS = 512
#: Linear value of a 16-bit code: float32(code) * CODE_SCALE (float32 multiply), so code 65535 -> 1.0.
CODE_SCALE = np.float32(1 / 65535)


@dataclasses.dataclass
class RawProbe:
    width: int  # after orientation (LibRaw's flip)
    height: int
    bit_depth: int  # sensor bits, from the white level
    flip: int


def _rawpy():
    import rawpy  # noqa: PLC0415

    return rawpy


@contextlib.contextmanager
def libraw_errors(path: str):
    """Translate rawpy/LibRaw exceptions into our typed errors with one-line reasons."""
    rawpy = _rawpy()
    try:
        yield
    except rawpy.LibRawFileUnsupportedError as exc:
        raise UnsupportedFile(path, "not a camera RAW format LibRaw can read (unsupported or unrecognised file)"
                              ) from exc
    except rawpy.LibRawIOError as exc:
        raise DecodeError(path, "RAW data is truncated or unreadable (LibRaw I/O error while reading)") from exc
    except rawpy.LibRawDataError as exc:
        raise DecodeError(path, "RAW data is corrupt (LibRaw data error)") from exc
    except rawpy.LibRawTooBigError as exc:
        raise DecodeError(path, "RAW image dimensions are too big for LibRaw (corrupt header or huge image)") from exc
    except (rawpy.LibRawUnsufficientMemoryError, MemoryError) as exc:
        raise DecodeError(path, "out of memory while decoding the RAW file") from exc
    except rawpy.LibRawError as exc:
        raise DecodeError(path, f"LibRaw could not decode the file ({type(exc).__name__}: {exc})") from exc
    except FileNotFoundError as exc:
        raise InputError(path, "file not found") from exc
    except PermissionError as exc:
        raise InputError(path, "permission denied") from exc
    except OSError as exc:
        raise DecodeError(path, f"cannot read the RAW file ({exc.strerror or exc})") from exc


def _check_levels(path: str, white: int, blacks) -> None:
    """InputError when the white level is not above the black level (a corrupt or badly written DNG/RAW header):
    the sensor data then has no range, and LibRaw would develop an all-black picture."""
    black = max((int(b) for b in blacks), default=0)
    if white <= black:
        raise InputError(path, f"the RAW's white level ({white}) is not above its black level ({black}): the "
                               "sensor data has no range (corrupt or badly written WhiteLevel/BlackLevel)")


def _bits(white_level: int) -> int:
    return max(1, int(math.ceil(math.log2(max(int(white_level), 1) + 1))))


def probe_raw(path: str) -> RawProbe:
    """Open a RAW without unpacking the sensor data: size after orientation and sensor bit depth."""
    rawpy = _rawpy()
    with libraw_errors(path):
        raw = rawpy.RawPy()
        try:
            raw.open_file(path)
            s = raw.sizes
            try:
                white = int(raw.white_level)
            except Exception:  # noqa: BLE001  (some builds need unpack first)
                white = 0
        finally:
            raw.close()
    w, h = int(s.width), int(s.height)
    if s.flip in (5, 6):
        w, h = h, w
    return RawProbe(w, h, _bits(white) if white else 0, int(s.flip))


def decode_raw_codes(path: str, half_size: bool = False, max_pixels: int | None = None
                     ) -> tuple[np.ndarray, RawProbe]:
    """Develop a camera RAW to linear ProPhoto, as LibRaw's 16-bit codes.

    Returns: (codes, probe) with codes (H, W, 3) uint16, linear ProPhoto RGB, value = code * CODE_SCALE (see
    codes_to_linear), orientation applied (about half size with half_size=True).
    max_pixels: LimitError when the sensor (raw_width x raw_height, from the header) has more pixels, before
    anything is unpacked.
    """
    from exposure_batch.limits import check_pixels  # noqa: PLC0415

    rawpy = _rawpy()
    with libraw_errors(path):
        with rawpy.imread(path) as raw:
            s = raw.sizes
            check_pixels(path, max(s.raw_width, s.width), max(s.raw_height, s.height), max_pixels)
            white = int(raw.white_level)
            _check_levels(path, white, raw.black_level_per_channel)
            codes = raw.postprocess(
                gamma=(1, 1), no_auto_bright=True, output_bps=16, use_camera_wb=True,
                output_color=rawpy.ColorSpace.ProPhoto, user_flip=None, half_size=half_size,
            )
    w, h = int(s.width), int(s.height)
    if s.flip in (5, 6):
        w, h = h, w
    if codes.ndim == 3 and codes.shape[2] == 1:  # a monochrome sensor (or a header claiming one): gray, R = G = B
        codes = np.repeat(codes, 3, axis=2)
    if codes.ndim != 3 or codes.shape[2] != 3 or 0 in codes.shape:
        raise DecodeError(path, f"LibRaw produced an unusable image (array of shape {codes.shape})")
    return codes, RawProbe(w, h, _bits(white), int(s.flip))


def codes_to_linear(codes: np.ndarray) -> np.ndarray:
    """uint16 linear codes -> float32 values float32(code) * CODE_SCALE, in bands of rows (no float64 temporary)."""
    out = np.empty(codes.shape, dtype=np.float32)
    for r0 in range(0, codes.shape[0], _BAND_ROWS):
        np.multiply(codes[r0:r0 + _BAND_ROWS], CODE_SCALE, out=out[r0:r0 + _BAND_ROWS], dtype=np.float32)
    return out



def linear_values(pixels: np.ndarray) -> np.ndarray:
    """float32 linear values of an image given as float values or as uint16 linear codes (codes_to_linear)."""
    pixels = np.asarray(pixels)
    return codes_to_linear(pixels) if pixels.dtype == np.uint16 else np.asarray(pixels, dtype=np.float32)


@functools.lru_cache(maxsize=1)
def code_values() -> np.ndarray:
    """(65536,) float32, read-only: the linear value of every 16-bit code (codes_to_linear), for lookup tables."""
    values = codes_to_linear(np.arange(65536, dtype=np.uint16))
    values.setflags(write=False)
    return values
