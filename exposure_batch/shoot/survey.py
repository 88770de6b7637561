"""The cheap first pass over a shoot: capture time, camera and a small linear image of every file.

Grouping and harmonising need every frame of a scene before any of them is rendered, so they run on this survey,
not on the engine's full decode. It is meant to cost a few percent of a batch:

* camera RAWs: the sensor data is unpacked (no demosaicing, no full-size develop) and point-sampled on a coarse
  grid of 2x2 Bayer quads; each sample is developed the way LibRaw develops `io.raw.decode_raw_codes` (black level,
  as-shot white balance scaled like LibRaw, clip, camera -> sRGB matrix, sRGB -> ProPhoto), giving a ~512 px linear
  ProPhoto image (orientation applied). Non-Bayer sensors (X-Trans, Foveon, linear DNG) fall back to LibRaw's
  half-size develop.
* JPEGs: libjpeg's DCT scaling decodes at 1/2 .. 1/8 size (Pillow draft mode), then the usual ICC/transfer handling.
* PNG / TIFF: decoded in full (no reduced decode exists), then shrunk.

Space: every image here is linear ProPhoto RGB float32 (like io.decode's), small. Times are seconds since the
epoch of the camera's clock (EXIF DateTimeOriginal + SubSecTimeOriginal, OffsetTimeOriginal when present, local
otherwise); None when the file has none.

Exports: Survey, survey_file, survey_files, SURVEY_SIDE, parse_capture_time.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from ..color import LIBRAW_PROPHOTO_FROM_SRGB
from ..io.metadata import parse_capture_time
from ..limits import DEFAULT_MAX_PIXELS, check_pixels

#: Long side (px) the survey aims for: enough for the agent's 64 px centre preview and a 256 px thumbnail.
SURVEY_SIDE = 512



@dataclass
class Survey:
    """One file as the survey saw it. image: (h, w, 3) float32 linear ProPhoto, long side <= ~SURVEY_SIDE."""

    path: str
    image: np.ndarray = field(repr=False)
    time: float | None = None  # capture time, seconds since the epoch (camera clock)
    camera: str = ""
    folder: str = ""
    exif: dict = field(default_factory=dict, repr=False)

    @cached_property
    def preview(self) -> np.ndarray:
        """(64, 64, 3) float32 linear ProPhoto: the agent's centre preview, from the survey image."""
        from ..render.preview import make_preview  # noqa: PLC0415

        return make_preview(self.image)

    @cached_property
    def thumbnail(self) -> np.ndarray:
        """Whole frame, long side <= 256, float32 linear ProPhoto (what the classic agent looks at)."""
        from ..render.preview import thumbnail  # noqa: PLC0415

        return thumbnail(self.image, 256)

    def agent_input(self, wants: str | None):
        """What a recipe source with `wants` ('preview' | 'thumbnail' | None) looks at."""
        if wants == "preview":
            return self.preview
        if wants == "thumbnail":
            return self.thumbnail
        return None


def survey_file(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Survey | None:
    """Survey one file; None when it cannot be read or declares more than `max_pixels` pixels (checked from the
    header first; the engine then reports the file's own error)."""
    from ..io import metadata  # noqa: PLC0415
    from ..io.decode import _route  # noqa: PLC0415

    try:
        kind, _ = _route(path)
        image = _raw_image(path, max_pixels) if kind == "raw" else _raster_image(path, kind, max_pixels)
    except Exception:  # noqa: BLE001  (bad files are the engine's to report)
        return None
    exif = metadata.read_exif(path)
    camera = " ".join(str(exif.get(k, "")) for k in ("camera_make", "camera_model")).strip()
    return Survey(path, image, parse_capture_time(exif.get("capture_time")), camera,
                  os.path.dirname(os.path.abspath(path)), exif)


def survey_files(paths: Sequence[str], jobs: int = 1, max_pixels: int | None = DEFAULT_MAX_PIXELS
                 ) -> list[Survey | None]:
    """survey_file for every path, `jobs` at a time (LibRaw, libjpeg and NumPy release the GIL)."""
    if jobs <= 1 or len(paths) <= 1:
        return [survey_file(p, max_pixels) for p in paths]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(lambda p: survey_file(p, max_pixels), paths))


# ---------------------------------------------------------------------------------------------------------------
# RAW: sensor samples developed like LibRaw
# ---------------------------------------------------------------------------------------------------------------
def _raw_image(path: str, max_pixels: int | None) -> np.ndarray:
    import rawpy  # noqa: PLC0415

    from ..io.raw import libraw_errors  # noqa: PLC0415

    with libraw_errors(path):
        with rawpy.imread(path) as raw:
            s = raw.sizes
            check_pixels(path, max(s.raw_width, s.width), max(s.raw_height, s.height), max_pixels)
            image = _bayer_develop(raw)
            if image is None:  # not a plain 2x2 Bayer sensor: let LibRaw develop it at half size
                from ..io.raw import codes_to_linear  # noqa: PLC0415

                codes = raw.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, use_camera_wb=True,
                                        output_color=rawpy.ColorSpace.ProPhoto, user_flip=None, half_size=True)
                return _shrink(codes_to_linear(codes))
            flip = int(raw.sizes.flip)
    return _orient_libraw(image, flip)


def _bayer_develop(raw) -> np.ndarray | None:
    """Coarse linear ProPhoto image from the raw mosaic (None when the sensor is not a 2x2 RGB Bayer)."""
    import rawpy  # noqa: PLC0415

    pattern = np.asarray(raw.raw_pattern)
    if raw.raw_type != rawpy.RawType.Flat or pattern.shape != (2, 2) or raw.num_colors != 3:
        return None
    rgb_cam = np.asarray(raw.color_matrix, np.float64)
    if rgb_cam.shape != (3, 4) or np.any(rgb_cam[:, 3] != 0) or not np.any(rgb_cam[:, :3]):
        return None
    mosaic = raw.raw_image_visible
    h, w = mosaic.shape
    stride = 2 * max(1, int(max(h, w) // 2 // SURVEY_SIDE))  # even: every sample keeps its CFA colour
    black = np.asarray(raw.black_level_per_channel, np.float64)
    wb = np.asarray(raw.camera_whitebalance, np.float64)
    if wb[3] == 0:
        wb[3] = wb[1]
    if np.any(wb[:3] <= 0):
        return None
    white = float(raw.white_level)
    span = white - black
    # LibRaw's adjust_maximum_thr (0.75): when the data's own maximum is above 75% of the white level, it is the
    # white level used for scaling. The samples' maximum stands in for the data's (a full pass would cost more
    # than the rest of the survey; a photo's brightest samples are within a percent or two of its brightest pixel).
    real_max = float(mosaic[::stride // 2, ::stride // 2].max()) - black
    span = np.where((real_max > 0.75 * span) & (real_max < span), real_max, span)
    scale = wb / wb.min() * 65535.0 / np.maximum(span, 1.0)  # LibRaw scale_colors (highlight mode 0)
    planes = np.zeros((3,) + mosaic[0::stride, 0::stride].shape, np.float64)
    counts = np.zeros(3)
    for dy in range(2):
        for dx in range(2):
            c = int(pattern[dy, dx])
            plane = mosaic[dy::stride, dx::stride].astype(np.float64)
            ph, pw = planes.shape[1:]
            plane = plane[:ph, :pw]
            if plane.shape != (ph, pw):
                plane = np.pad(plane, ((0, ph - plane.shape[0]), (0, pw - plane.shape[1])), mode="edge")
            value = np.clip((plane - black[c]) * scale[c], 0.0, 65535.0)
            channel = 1 if c == 3 else c  # the second green joins green
            planes[channel] += value
            counts[channel] += 1
    if np.any(counts == 0):
        return None
    cam = np.moveaxis(planes / counts[:, None, None], 0, -1) / 65535.0
    out_cam = LIBRAW_PROPHOTO_FROM_SRGB @ rgb_cam[:, :3]
    return np.clip(cam @ out_cam.T, 0.0, 1.0).astype(np.float32)


def _orient_libraw(image: np.ndarray, flip: int) -> np.ndarray:
    """Apply LibRaw's `flip` (0, 3: 180, 5: 90 CCW, 6: 90 CW) as its user_flip=None develop does."""
    if flip == 3:
        return np.ascontiguousarray(image[::-1, ::-1])
    if flip == 5:
        return np.ascontiguousarray(np.rot90(image, 1))
    if flip == 6:
        return np.ascontiguousarray(np.rot90(image, -1))
    return image


# ---------------------------------------------------------------------------------------------------------------
# JPEG / PNG / TIFF
# ---------------------------------------------------------------------------------------------------------------
def _raster_image(path: str, kind: str, max_pixels: int | None) -> np.ndarray:
    from ..io import raster  # noqa: PLC0415

    rgb_lin, _ = raster.decode_raster(path, kind, max_pixels=max_pixels,
                                      reduce_to=SURVEY_SIDE if kind == "jpeg" else None)
    return _shrink(rgb_lin)


def _shrink(rgb_lin: np.ndarray) -> np.ndarray:
    from ..render.preview import thumbnail  # noqa: PLC0415

    return thumbnail(rgb_lin, SURVEY_SIDE)
