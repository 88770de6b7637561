"""Limits that keep one hostile or broken file from costing more than one file's worth of time and memory.

Every limit is checked from headers, before any pixel buffer is allocated; going over one raises `LimitError`
(kind LIMIT, the one meaning of "limit": the file is over a limit the user can raise; it fails with one line naming
the limit, the batch goes on, it is not retried; the per-worker --memory-limit is the same kind).

| limit | default | where |
|---|---|---|
| pixels per image (width x height as declared) | 250 MP (`--max-pixels`) | JPEG/PNG/TIFF header, RAW header |
| ICC profile size | 8 MiB | embedded profile |
| ICC tags / curve entries | 200 / 65,536 | ICC tag table, `curv` tags |
| TIFF IFDs / entries per IFD | 256 / 4,096 | TIFF files and EXIF blocks (loops are refused too) |
| bytes one TIFF/EXIF tag may declare | 64 MiB (and never more than the file holds) | TIFF files and EXIF blocks |
| EXIF text kept per field | 256 characters | Make, Model, Lens (copied into outputs) |
| recipe steps / recipe JSON size | 64 / 1 MiB | every recipe (agent, --recipe file) |
| existing XMP read for a merge | 16 MiB | sidecars |

Float TIFF values are clamped to [0, MAX_FLOAT_VALUE] (non-finite values become 0), so no filter overflows.

Exports: the constants, check_pixels, format_pixels.
"""
from __future__ import annotations

from .errors import LimitError

DEFAULT_MAX_PIXELS = 250_000_000
MAX_ICC_BYTES = 8 << 20
MAX_ICC_TAGS = 200
MAX_ICC_CURVE_ENTRIES = 65536
MAX_TIFF_IFDS = 256
MAX_IFD_ENTRIES = 4096
MAX_TAG_BYTES = 64 << 20
MAX_EXIF_TEXT = 256
MAX_RECIPE_STEPS = 64
MAX_RECIPE_BYTES = 1 << 20
MAX_XMP_BYTES = 16 << 20
#: Largest linear value a float input keeps (the largest finite half float): HDR headroom without overflow.
MAX_FLOAT_VALUE = 65504.0


def format_pixels(n: int) -> str:
    """12_000_000 -> '12 MP', 400_000_000 -> '400 MP', 1_500_000 -> '1.5 MP'."""
    mp = n / 1e6
    return f"{mp:.0f} MP" if mp >= 10 else f"{mp:.1f} MP"


def check_pixels(path: str, width: int, height: int, max_pixels: int | None) -> None:
    """Refuse an image whose declared size is over `max_pixels` (None or 0: no limit). Raises LimitError."""
    if not max_pixels:
        return
    n = int(width) * int(height)
    if n > max_pixels:
        raise LimitError(path, f"image is {int(width)}x{int(height)} ({format_pixels(n)}), over the "
                               f"{format_pixels(max_pixels)} limit (raise it with --max-pixels)")
