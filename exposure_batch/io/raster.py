"""JPEG / PNG / TIFF (and WebP, GIF, HEIC/HEIF, AVIF through Pillow and pillow-heif) -> linear ProPhoto RGB
float32, colour-managed by the embedded ICC profile.

How the pixels' colour space is decided (`Transfer`):
  * no ICC profile -> sRGB (float TIFF: linear sRGB), or Adobe RGB for camera JPEGs that say so the DCF way
    (EXIF ColorSpace 'uncalibrated' + InteroperabilityIndex 'R03');
  * an RGB matrix/TRC profile whose colorants match sRGB, Adobe RGB (1998), ProPhoto, Display P3 or Rec. 2020 and
    whose curves match that space's transfer curve (or the identity) -> `color.decode` + `color.convert_linear`,
    in float32, so 16-bit precision is kept;
  * any other RGB matrix/TRC profile -> its own curves and colorants, evaluated in NumPy (also full precision);
  * gray profiles with a kTRC -> that curve, replicated to R = G = B;
  * anything else (LUT-based, CMYK, Lab) -> littleCMS via Pillow ImageCms to sRGB (8-bit), then as sRGB.
Float TIFFs are taken as linear (only the profile's primaries are used). EXIF orientation is applied and alpha
channels are dropped. Conversion runs in row bands so peak memory is about the output plus the integer source.

Exports: sniff(head) -> 'jpeg' | 'png' | 'tiff' | 'webp' | 'gif' | 'heif' | 'avif' | ... | None, PIL_KINDS,
pil_kind_available(kind), probe_raster(path, kind) -> RasterProbe,
decode_raster(path, kind, half_size) -> (rgb_lin, RasterProbe), apply_orientation(arr, orientation).
"""
from __future__ import annotations

import dataclasses
import io
import struct
import warnings

import numpy as np

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.errors import DecodeError, LimitError, UnsupportedFile
from exposure_batch.io import formats
from exposure_batch.io import icc as _icc
from exposure_batch.limits import MAX_FLOAT_VALUE, check_pixels

_BAND_ROWS = 256


#: Kinds decoded by Pillow (HEIC/HEIF through the pillow-heif plug-in) -> Pillow's format name.
PIL_KINDS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "heif": "HEIF", "avif": "AVIF"}


def sniff(head: bytes) -> str | None:
    """Container kind from a file's first bytes (io.formats.sniff): 'jpeg', 'png', 'tiff' (TIFF or BigTIFF,
    including TIFF-based RAWs such as DNG/NEF/CR2/ARW), 'webp', 'gif', 'heif', 'avif', 'jxl' ... or None."""
    fmt = formats.sniff(head)
    return fmt.name if fmt is not None else None


def pil_kind_available(kind: str) -> bool:
    """Whether this install decodes `kind` ('heif' needs pillow-heif; 'avif' and 'webp' a Pillow built with
    libavif / libwebp, as the PyPI wheels are)."""
    from PIL import features  # noqa: PLC0415

    if kind == "heif":
        return _heif_opener()
    if kind in ("avif", "webp"):
        return bool(features.check(kind))
    return kind in PIL_KINDS


def _heif_opener() -> bool:
    try:
        import pillow_heif  # noqa: PLC0415
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def apply_orientation(arr: np.ndarray, orientation: int | None) -> np.ndarray:
    """Return a view of (H, W, ...) `arr` rotated/flipped for display per EXIF orientation 1..8 (any dtype/space)."""
    o = int(orientation or 1)
    if o == 2:
        return arr[:, ::-1]
    if o == 3:
        return arr[::-1, ::-1]
    if o == 4:
        return arr[::-1]
    if o == 5:
        return arr.swapaxes(0, 1)
    if o == 6:
        return arr[::-1].swapaxes(0, 1)
    if o == 7:
        return arr[::-1, ::-1].swapaxes(0, 1)
    if o == 8:
        return arr[:, ::-1].swapaxes(0, 1)
    return arr


@dataclasses.dataclass
class Transfer:
    """How encoded pixels become linear ProPhoto: see module docstring."""

    kind: str  # 'space' | 'matrix_shaper' | 'gray_curve' | 'lcms'
    space: Space | None = None
    linear: bool = False
    profile: _icc.ParsedProfile | None = None
    name: str = "sRGB"


@dataclasses.dataclass
class RasterProbe:
    """Header facts about a raster file (no pixel decode)."""

    format: str  # 'jpeg' | 'png' | 'tiff'
    width: int  # as stored (before orientation)
    height: int
    bit_depth: int  # 8, 16 or 32 (float)
    is_float: bool
    orientation: int
    icc: bytes | None
    icc_description: str | None
    transfer: Transfer

    @property
    def oriented_size(self) -> tuple[int, int]:
        """(width, height) after EXIF orientation is applied."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def choose_transfer(icc_bytes: bytes | None, *, gray: bool, is_float: bool) -> tuple[Transfer, str | None]:
    """Decide how to linearise pixels carrying `icc_bytes`. Returns (Transfer, ICC description or None)."""
    if not icc_bytes:
        return Transfer("space", Space.SRGB, linear=is_float,
                        name=Space.SRGB.value + (" (linear)" if is_float else "")), None
    try:
        prof = _icc.parse_profile(icc_bytes)
    except ValueError:
        return Transfer("space", Space.SRGB, linear=is_float, name="sRGB (unreadable ICC profile ignored)"), None
    desc = prof.description
    if gray:
        if prof.color_space == "GRAY" and prof.gray_curve is not None and not is_float:
            return Transfer("gray_curve", profile=prof, name=desc or "Gray"), desc
        return Transfer("space", Space.SRGB, linear=is_float, name="sRGB"), desc
    if prof.color_space == "RGB":
        space, linear = _icc.identify(prof)
        if is_float:
            if space is not None:
                return Transfer("space", space, linear=True, name=space.value + " (linear)"), desc
            if prof.is_matrix_shaper:
                return Transfer("matrix_shaper", linear=True, profile=prof, name=desc or "ICC matrix/TRC"), desc
            guessed = _icc.guess_space_from_description(desc) or Space.SRGB
            return Transfer("space", guessed, linear=True, name=guessed.value + " (linear)"), desc
        if space is not None and linear is not None:
            return Transfer("space", space, linear=linear, name=space.value + (" (linear)" if linear else "")), desc
        if prof.is_matrix_shaper:
            return Transfer("matrix_shaper", profile=prof, name=desc or "ICC matrix/TRC"), desc
    if prof.color_space == "GRAY":  # gray profile on a colour image: meaningless, ignore it
        return Transfer("space", Space.SRGB, name="sRGB"), desc
    return Transfer("lcms", profile=prof, name=desc or f"ICC ({prof.color_space})"), desc


def _icc_description(icc_bytes: bytes | None) -> str | None:
    if not icc_bytes:
        return None
    try:
        return _icc.parse_profile(icc_bytes).description
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------------------
# Probing (headers only)
# --------------------------------------------------------------------------------------------------------------

def _pil_exif(im):
    """Pillow Exif of an open JPEG / PNG (PNG: only an eXIf chunk before the pixels, so no pixel decode)."""
    from PIL import Image  # noqa: PLC0415

    raw = im.info.get("exif")
    if raw:
        e = Image.Exif()
        e.load(raw)
        return e
    return im.getexif() if im.format == "JPEG" else Image.Exif()


def _exif_facts(im) -> tuple[int, bool]:
    """(orientation 1..8, DCF 'Adobe RGB' flag) from a Pillow image's EXIF; (1, False) when absent or broken.

    Cameras set to Adobe RGB often embed no ICC profile; DCF marks such files with ColorSpace = 0xFFFF
    (uncalibrated) and InteroperabilityIndex 'R03'.
    """
    with warnings.catch_warnings():  # Pillow warns about broken EXIF tags: metadata here is optional
        warnings.simplefilter("ignore")
        return _exif_facts_of(im)


def _exif_facts_of(im) -> tuple[int, bool]:
    try:
        e = _pil_exif(im)
        o = int(e.get(0x0112, 1))
        o = o if 1 <= o <= 8 else 1
    except Exception:  # noqa: BLE001  (a broken EXIF block must not stop the decode)
        return 1, False
    try:
        adobe = (int(e.get_ifd(0x8769).get(0xA001, 1)) == 0xFFFF
                 and str(e.get_ifd(0xA005).get(0x0001, "")).strip("\0 ") == "R03")
    except Exception:  # noqa: BLE001
        adobe = False
    return o, adobe


def _open_pil(path: str, kind: str = "image"):
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    Image.MAX_IMAGE_PIXELS = None  # we decode our users' own photos; size limits live in the pipeline
    fmt = PIL_KINDS.get(kind)
    name = _label(kind)
    if kind == "heif":
        _heif_opener()
    try:
        with warnings.catch_warnings():  # Pillow warns about broken EXIF while opening: metadata here is optional
            warnings.simplefilter("ignore")
            return Image.open(path, formats=[fmt] if fmt else None)
    except UnidentifiedImageError as exc:
        raise DecodeError(path, f"truncated or corrupt {name} header (cannot identify the image)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(path, f"truncated or corrupt {name} header ({_one_line(exc)})") from exc


def _label(kind: str) -> str:
    try:
        return formats.by_name(kind).label
    except ValueError:
        return kind


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _check_icc(path: str, icc_bytes: bytes | None) -> None:
    """LimitError when an embedded profile is over the ICC limits (before Pillow, littleCMS or we parse it)."""
    if icc_bytes and (problem := _icc.limit_problem(icc_bytes)):
        raise LimitError(path, problem)


def _probe_pil(path: str, kind: str) -> RasterProbe:
    with _open_pil(path, kind) as im:
        w, h = im.size
        mode = im.mode
        icc_bytes = im.info.get("icc_profile")
        _check_icc(path, icc_bytes)
        orientation, dcf_adobe = _exif_facts(im)
        depth = 8
        if kind == "png":
            depth = 16 if (mode.startswith("I;16") or mode == "I" or _png_bit_depth(path) == 16) else 8
    gray = mode in ("L", "LA", "I", "I;16", "I;16B", "1", "La")
    transfer, desc = choose_transfer(icc_bytes, gray=gray, is_float=False)
    if dcf_adobe and not icc_bytes and not gray:
        transfer = Transfer("space", Space.ADOBE_RGB, name=Space.ADOBE_RGB.value)
    if mode == "CMYK" and transfer.kind != "lcms":
        transfer = Transfer("lcms", name="CMYK (uncalibrated)")
    return RasterProbe(kind, w, h, depth, False, orientation, icc_bytes, desc, transfer)


def _png_bit_depth(path: str) -> int:
    with open(path, "rb") as fh:
        head = fh.read(33)
    return head[24] if len(head) >= 25 and head[12:16] == b"IHDR" else 8


def _tiff_page(tif):
    """First full-resolution page (skips reduced-resolution thumbnails); looks at the first 16 pages at most (an
    iterator over a looping IFD chain never ends)."""
    for i in range(min(len(tif.pages), 16)):
        page = tif.pages[i]
        subtype = page.tags.get(254)
        if subtype is None or not (int(subtype.value) & 1):
            return page
    return tif.pages[0]


def _probe_tiff(path: str, tif) -> RasterProbe:
    try:
        return _probe_tiff_page(path, tif)
    except (IndexError, KeyError, TypeError, ValueError, AttributeError, struct.error) as exc:
        raise DecodeError(path, f"corrupt TIFF structure ({_one_line(exc)})") from exc


def _probe_tiff_page(path: str, tif) -> RasterProbe:
    if not len(tif.pages):
        raise DecodeError(path, "corrupt TIFF structure (no readable image directory)")
    page = _tiff_page(tif)
    photometric = int(page.photometric)
    icc_tag = page.tags.get(34675)
    icc_bytes = bytes(icc_tag.value) if icc_tag is not None else None
    _check_icc(path, icc_bytes)
    orient_tag = page.tags.get(274)
    orientation = int(orient_tag.value) if orient_tag is not None else 1
    orientation = orientation if 1 <= orientation <= 8 else 1
    dtype = np.dtype(page.dtype) if page.dtype is not None else np.dtype(np.uint8)
    is_float = dtype.kind == "f"
    depth = 32 if is_float else int(page.bitspersample)
    gray = photometric in (0, 1)
    if photometric not in (0, 1, 2, 3, 5, 6):
        raise UnsupportedFile(path, f"TIFF photometric interpretation {photometric} is not supported "
                                    "(need RGB, grayscale, palette, YCbCr or CMYK)")
    transfer, desc = choose_transfer(icc_bytes, gray=gray, is_float=is_float)
    if photometric == 5 and transfer.kind != "lcms":
        transfer = Transfer("lcms", name="CMYK (uncalibrated)")
    return RasterProbe("tiff", int(page.imagewidth), int(page.imagelength), depth, is_float, orientation,
                       icc_bytes, desc, transfer)


def _open_tiff(path: str):
    import logging  # noqa: PLC0415

    import tifffile  # noqa: PLC0415

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # corrupt files are reported once, as our DecodeError
    try:
        return tifffile.TiffFile(path)
    except Exception as exc:  # noqa: BLE001  (tifffile raises TiffFileError, ValueError, struct.error, ...)
        raise DecodeError(path, f"corrupt TIFF structure ({_one_line(exc)})") from exc


def tiff_is_dng(path: str) -> bool:
    """True when a TIFF-structured file carries the DNGVersion tag (then LibRaw, not tifffile, must read it)."""
    try:
        tif = _open_tiff(path)
    except DecodeError:
        return False
    with tif:
        try:
            return any(50706 in p.tags for p in tif.pages[:1])
        except Exception:  # noqa: BLE001
            return False


def probe_raster(path: str, kind: str) -> RasterProbe:
    """Header-only look at a JPEG / PNG / TIFF file. Raises DecodeError / UnsupportedFile with one-line reasons."""
    if kind == "tiff":
        tif = _open_tiff(path)
        with tif:
            return _probe_tiff(path, tif)
    return _probe_pil(path, kind)


# --------------------------------------------------------------------------------------------------------------
# Pixel decode
# --------------------------------------------------------------------------------------------------------------

def _read_pixels_jpeg(path: str, half_size: bool, reduce_to: int | None = None) -> tuple[np.ndarray, str]:
    with _open_pil(path, "jpeg") as im:
        if reduce_to:  # libjpeg's DCT scaling (1/2 .. 1/8), to no less than reduce_to px on the long side
            factor = max(1.0, max(im.size) / reduce_to)
            im.draft(im.mode if im.mode in ("RGB", "L") else None,
                     (max(1, int(im.size[0] / factor)), max(1, int(im.size[1] / factor))))
        elif half_size:
            im.draft(im.mode if im.mode in ("RGB", "L") else None, (max(1, im.size[0] // 2), max(1, im.size[1] // 2)))
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise DecodeError(path, f"truncated or corrupt JPEG data ({_one_line(exc)})") from exc
        mode = im.mode
        if mode not in ("RGB", "L", "CMYK"):
            return np.asarray(im.convert("RGB")), "RGB"
        return np.asarray(im), mode


def _read_pixels_pil(path: str, kind: str) -> np.ndarray:
    """First frame of a WebP / GIF / HEIC / AVIF as (H, W) or (H, W, C) uint8 / uint16 (palette and other modes
    converted to RGB; alpha is dropped later)."""
    with _open_pil(path, kind) as im:
        try:
            im.seek(0)
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DecodeError(path, f"truncated or corrupt {_label(kind)} data ({_one_line(exc)})") from exc
        if im.mode in ("RGB", "L", "I;16", "RGBA", "LA"):
            return np.asarray(im)
        return np.asarray(im.convert("RGB"))


def _read_pixels_png(path: str) -> np.ndarray:
    import imagecodecs  # noqa: PLC0415

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return imagecodecs.png_decode(data)
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(path, f"truncated or corrupt PNG data ({_one_line(exc)})") from exc


def _read_pixels_tiff(path: str) -> tuple[np.ndarray, int]:
    tif = _open_tiff(path)
    with tif:
        try:
            page = _tiff_page(tif)
            photometric = int(page.photometric)
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DecodeError(path, f"corrupt TIFF structure ({_one_line(exc)})") from exc
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = page.asarray()
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(path, f"truncated or corrupt TIFF data ({_one_line(exc)})") from exc
        axes = page.axes
        if "S" in axes and axes.index("S") < axes.index("Y"):
            arr = np.moveaxis(arr, axes.index("S"), -1)
        arr = np.squeeze(arr) if arr.ndim > 3 else arr
        if photometric == 3:  # palette -> RGB
            cmap = np.asarray(page.colormap)  # (3, 2**bits) uint16
            arr = np.moveaxis(cmap[:, arr], 0, -1)
        elif photometric == 0:  # MinIsWhite: 0 is white, the largest code of the real bit depth black
            arr = _invert(arr, int(page.bitspersample))
    return arr, photometric


def _invert(arr: np.ndarray, bits: int) -> np.ndarray:
    """MinIsWhite codes -> MinIsBlack: 1-bit (bool, fax and document scans) flipped, integers of `bits` bits (2, 4,
    8, 12, 16 ... stored in a wider dtype) subtracted from 2**bits - 1; float data is left as is."""
    if arr.dtype == bool:
        return ~arr
    if arr.dtype.kind in "ui":
        top = (1 << bits) - 1 if 0 < bits < arr.dtype.itemsize * 8 else np.iinfo(arr.dtype).max
        return (top - np.minimum(arr, top)).astype(arr.dtype)
    return arr


def _drop_alpha(arr: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> (H, W, 1) gray or (H, W, 3) colour (alpha and extra samples dropped)."""
    if arr.ndim == 2:
        return arr[..., None]
    if arr.shape[-1] in (1, 2):
        return arr[..., :1]
    return arr[..., :3]


def _lcms_to_srgb(path: str, arr: np.ndarray, mode: str, transfer: Transfer, icc_bytes: bytes | None) -> np.ndarray:
    """Convert 8/16-bit pixels with a non-matrix profile (or CMYK) to 8-bit sRGB with littleCMS."""
    from PIL import Image, ImageCms  # noqa: PLC0415

    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f":
            arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
        else:
            arr = (arr >> (8 * (arr.dtype.itemsize - 1))).astype(np.uint8)
    if mode == "CMYK":
        img = Image.fromarray(np.ascontiguousarray(arr[..., :4]), "CMYK")
    elif arr.ndim == 3 and arr.shape[-1] >= 3:
        img = Image.fromarray(np.ascontiguousarray(arr[..., :3]), "RGB")
    else:
        img = Image.fromarray(np.ascontiguousarray(arr.reshape(arr.shape[0], arr.shape[1])), "L")
    if not icc_bytes:  # uncalibrated CMYK
        return np.asarray(img.convert("RGB"))
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc_bytes))
        dst = ImageCms.createProfile("sRGB")
        out = ImageCms.profileToProfile(img, src, dst, renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise DecodeError(path, f"cannot apply the embedded ICC profile ({_one_line(exc)})") from exc
    return np.asarray(out)


def _integer_luts(dtype: np.dtype, channels: int, transfer: Transfer, scale: float) -> list[np.ndarray] | None:
    """Per-channel float32 tables code -> linear value for uint8 / uint16 input (None for other dtypes)."""
    if dtype not in (np.uint8, np.uint16):
        return None
    codes = np.arange(256 if dtype == np.uint8 else 65536, dtype=np.float32) * np.float32(scale)
    if transfer.kind == "space":
        lut = codes if transfer.linear else color.decode(codes, transfer.space)
        return [np.ascontiguousarray(lut, dtype=np.float32)] * channels
    if transfer.kind == "matrix_shaper":
        if transfer.linear:
            return [codes] * channels
        return [np.asarray(transfer.profile.curves[c](codes), dtype=np.float32) for c in range(channels)]
    return [np.asarray(transfer.profile.gray_curve(codes), dtype=np.float32)] * channels


def to_working(src: np.ndarray, transfer: Transfer, *, scale: float, half_size: bool = False) -> np.ndarray:
    """Linearise and convert pixels to the working space, band by band.

    Args:
        src: (H, W, 1|3) uint8/uint16/float array (any strides, e.g. an orientation view), encoded per `transfer`
            (or linear for transfer.linear / float data).
        transfer: how to linearise (see `Transfer`).
        scale: multiply to bring `src` to [0, 1] (1/255, 1/65535, 1.0 for float).
        half_size: average 2x2 blocks (in linear light) -> (H//2, W//2, 3).

    Returns: (H, W, 3) float32, linear ProPhoto RGB, [0, inf).
    """
    h, w = src.shape[:2]
    oh, ow = (h // 2, w // 2) if half_size else (h, w)
    if half_size and (oh == 0 or ow == 0):
        half_size, oh, ow = False, h, w
    out = np.empty((oh, ow, 3), dtype=np.float32)
    step = _BAND_ROWS
    if transfer.kind == "matrix_shaper":
        mat = (_icc.xyz_d50_to_working().astype(np.float64) @ transfer.profile.matrix).astype(np.float32)
    elif transfer.kind == "space":
        mat = color.convert_matrix(transfer.space, color.WORKING_SPACE)
    else:  # gray_curve: neutral gray, R = G = B
        mat = None
    luts = _integer_luts(src.dtype, src.shape[-1], transfer, scale)
    for r0 in range(0, oh if half_size else h, step):
        r1 = min(r0 + step, oh if half_size else h)
        band = src[2 * r0:2 * r1, :2 * ow] if half_size else src[r0:r1]
        if luts is not None:  # 8/16-bit codes: exact table lookup of the same curve, 3-6x faster than pow()
            if all(lut is luts[0] for lut in luts):
                lin = luts[0][band]
            else:
                lin = np.empty(band.shape, dtype=np.float32)
                for c, lut in enumerate(luts):
                    lin[..., c] = lut[band[..., c]]
            x = None
        else:
            x = band.astype(np.float32)
            if scale != 1.0:
                x *= np.float32(scale)
            else:  # float data: non-finite -> 0, huge values clamped, so no filter overflows float32
                np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
                np.clip(x, -MAX_FLOAT_VALUE, MAX_FLOAT_VALUE, out=x)
        if x is None:
            pass
        elif transfer.kind == "space":
            lin = x if transfer.linear else color.decode(x, transfer.space)
        elif transfer.kind == "matrix_shaper":
            if transfer.linear:
                lin = x
            else:
                lin = np.empty_like(x)
                for c in range(min(3, x.shape[-1])):
                    lin[..., c] = transfer.profile.curves[c](x[..., c])
        else:
            lin = transfer.profile.gray_curve(x).astype(np.float32)
        if lin.shape[-1] == 1:
            # Gray: R = G = B is neutral in every space, and our matrices map white to white (Bradford).
            rgb = np.repeat(lin, 3, axis=-1)
        else:
            rgb = lin @ mat.T if mat is not None else lin
        if half_size:
            rgb = rgb.reshape(r1 - r0, 2, ow, 2, 3).mean(axis=(1, 3), dtype=np.float32)
        np.maximum(rgb, 0, out=out[r0:r1])
    return out


def decode_raster(path: str, kind: str, half_size: bool = False, max_pixels: int | None = None,
                  reduce_to: int | None = None) -> tuple[np.ndarray, RasterProbe]:
    """Decode a JPEG / PNG / TIFF file.

    Returns: (rgb_lin, probe) with rgb_lin (H, W, 3) float32, linear ProPhoto RGB, orientation applied, [0, inf)
    (half the size in each axis with half_size=True; a JPEG with reduce_to is decoded by libjpeg at 1/2 .. 1/8 of
    its size, no smaller than reduce_to px on the long side: the shoot survey's cheap decode).
    Raises: DecodeError / UnsupportedFile with one-line reasons; LimitError when the header declares more than
    `max_pixels` pixels (checked before any pixel is decoded).
    """
    probe = probe_raster(path, kind)
    check_pixels(path, probe.width, probe.height, max_pixels)
    mode = None
    if kind == "jpeg":
        arr, mode = _read_pixels_jpeg(path, half_size, reduce_to)
        if reduce_to:
            half_size = False
        if half_size and arr.shape[0] <= (probe.height + 1) // 2 and arr.shape[1] <= (probe.width + 1) // 2:
            half_size = False  # libjpeg already scaled it by 1/2
    elif kind == "png":
        arr = _read_pixels_png(path)
    elif kind in PIL_KINDS:
        arr = _read_pixels_pil(path, kind)
    else:
        arr, photometric = _read_pixels_tiff(path)
        mode = {5: "CMYK", 3: "palette"}.get(photometric)
    if arr.ndim not in (2, 3) or 0 in arr.shape or (arr.ndim == 3 and arr.shape[-1] > 16):
        raise DecodeError(path, f"unsupported image layout (decoded array of shape {arr.shape})")
    if arr.dtype.kind == "f":
        scale = 1.0
    elif arr.dtype == np.uint8:
        scale = 1 / 255
    elif arr.dtype == np.uint16:
        scale = 1 / 65535
    elif arr.dtype == bool:
        arr, scale = arr.astype(np.uint8), 1.0
    elif arr.dtype.kind in "ui":
        scale = 1 / float(np.iinfo(arr.dtype).max)
    else:
        raise UnsupportedFile(path, f"unsupported sample type {arr.dtype}")
    if kind == "tiff" and mode != "palette" and arr.dtype.kind == "u" and 1 < probe.bit_depth < arr.dtype.itemsize * 8:
        scale = 1 / (2 ** probe.bit_depth - 1)  # 2/4/12-bit codes stored in a wider type: scaled by the real depth
    transfer = probe.transfer
    if transfer.kind == "lcms" or mode == "CMYK":
        mode = None if mode == "palette" else mode
        arr = _lcms_to_srgb(path, arr if mode == "CMYK" else _drop_alpha(arr), mode or "RGB", transfer, probe.icc)
        scale = 1 / 255
        transfer = Transfer("space", Space.SRGB, name=transfer.name)
    arr = _drop_alpha(arr)
    if arr.shape[-1] == 3 and transfer.kind == "gray_curve":
        transfer = Transfer("space", Space.SRGB)
    oriented = apply_orientation(arr, probe.orientation)
    rgb_lin = to_working(oriented, transfer, scale=scale, half_size=half_size)
    return rgb_lin, probe
