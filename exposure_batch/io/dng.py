"""Build realistic camera RAWs (DNG) from photos, for tests, samples, benchmarks and training-data preparation.

A DNG written here is decoded by LibRaw exactly like a camera file: a 16-bit RGGB Bayer mosaic above a black level,
a real camera's published XYZ->camera colour matrix (ColorMatrix1, D65), the as-shot neutral of a D65 scene,
Poisson shot noise and Gaussian read noise. Recipe (docs/data.md): linear scene RGB -> XYZ (D65) -> camera RGB via
the matrix -> scale into the sensor range above black -> mosaic -> noise -> uint16 -> DNG 1.4 via tifffile.

Exports: CAMERAS, DngResult, write_dng(path, rgb_lin, ...), mosaic_rggb().
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from exposure_batch import color
from exposure_batch.color import Space
from exposure_batch.io import metadata
from exposure_batch.io.write import atomic_write


@dataclasses.dataclass(frozen=True)
class Camera:
    """A camera's published D65 XYZ->camera matrix (Adobe DNG Converter values, as tabled in dcraw/LibRaw's
    adobe_coeff, x 1/10000) and its sensor's levels."""

    make: str
    model: str
    xyz_to_cam: tuple  # 9 values, row-major
    black: int
    white: int
    bits: int


CAMERAS = {
    "Canon EOS 5D Mark II": Camera("Canon", "Canon EOS 5D Mark II",
                                   (4716, 603, -830, -7798, 15474, 2480, -1496, 1937, 6651), 1024, 15600, 14),
    "Canon EOS 5D Mark III": Camera("Canon", "Canon EOS 5D Mark III",
                                    (6722, -635, -963, -4287, 12460, 2028, -908, 2162, 5668), 2048, 15488, 14),
    "Canon EOS 6D": Camera("Canon", "Canon EOS 6D",
                           (7034, -804, -1014, -4420, 12564, 2058, -851, 1994, 5758), 2048, 15490, 14),
}
DEFAULT_CAMERA = "Canon EOS 5D Mark II"


@dataclasses.dataclass
class DngResult:
    """What write_dng did (tests use these to predict LibRaw's output)."""

    path: str
    width: int
    height: int
    xyz_to_cam: np.ndarray  # (3, 3) float64, the ColorMatrix1 written
    as_shot_neutral: np.ndarray  # (3,) float64, max component 1
    gain: float  # DN above black per unit of camera RGB (scene value 1.0 of the input's white -> `gain` * neutral)
    black: int
    white: int


def mosaic_rggb(cam: np.ndarray) -> np.ndarray:
    """(H, W, 3) camera RGB -> (H, W) RGGB Bayer mosaic (same dtype). H and W must be even."""
    h, w = cam.shape[:2]
    out = np.empty((h, w), dtype=cam.dtype)
    out[0::2, 0::2] = cam[0::2, 0::2, 0]
    out[0::2, 1::2] = cam[0::2, 1::2, 1]
    out[1::2, 0::2] = cam[1::2, 0::2, 1]
    out[1::2, 1::2] = cam[1::2, 1::2, 2]
    return out


def _rgb_to_xyz_d65(space: Space) -> np.ndarray:
    """3x3 float64: linear RGB in `space` -> CIE XYZ under D65 (Bradford-adapted when the space's white is not D65)."""
    colour = color._colour()  # noqa: SLF001
    cs = colour.RGB_COLOURSPACES[space.value]
    m = np.asarray(cs.matrix_RGB_to_XYZ, dtype=np.float64)
    d65 = np.array(color.D65_XY)
    if not np.allclose(cs.whitepoint, d65, atol=1e-4):
        cat = colour.adaptation.matrix_chromatic_adaptation_VonKries(
            colour.xy_to_XYZ(cs.whitepoint), colour.xy_to_XYZ(d65), transform="Bradford")
        m = np.asarray(cat, dtype=np.float64) @ m
    return m


_TILE = 256


def _ljpeg_tiles(raw16: np.ndarray, bits: int):
    """Yield lossless-JPEG (ITU T.81 process 14, one component) encoded 256x256 tiles, row-major, edge-padded."""
    import imagecodecs  # noqa: PLC0415

    h, w = raw16.shape
    for y in range(0, h, _TILE):
        for x in range(0, w, _TILE):
            tile = raw16[y:y + _TILE, x:x + _TILE]
            if tile.shape != (_TILE, _TILE):
                tile = np.pad(tile, ((0, _TILE - tile.shape[0]), (0, _TILE - tile.shape[1])), mode="edge")
            yield imagecodecs.ljpeg_encode(np.ascontiguousarray(tile), bitspersample=bits)


def _srational(values, den: int = 10000) -> tuple:
    out = []
    for v in values:
        out += [int(round(float(v) * den)), den]
    return tuple(out)


def write_dng(path: str | os.PathLike, rgb_lin: np.ndarray, *, space: Space | str = Space.SRGB,
              camera: str = DEFAULT_CAMERA, peak: float = 0.85, noise: bool = True, full_well: float = 30000.0,
              read_noise_dn: float = 3.0, seed: int = 0, orientation: int = 1, exif: dict | None = None,
              compression: str = "none", overwrite: bool = True) -> DngResult:
    """Write a linear RGB image as a realistic 16-bit RGGB DNG 1.4 (like a camera's or Adobe DNG Converter's).

    Args:
        path: destination (written atomically).
        rgb_lin: (H, W, 3) float, LINEAR RGB in `space` (e.g. color.srgb_decode of a photo), scene-referred; H and W
            are cropped to even numbers. Stored as-is: pass the *unrotated* sensor image when orientation != 1.
        space: the input's colour space ('srgb', 'prophoto', ... or a color.Space); D65 is the scene illuminant.
        camera: key of CAMERAS (a real camera's published ColorMatrix and levels).
        peak: fraction of the range above black that the brightest input value reaches.
        noise: add Poisson shot noise (full_well electrons at white) and Gaussian read noise (read_noise_dn).
        seed: RNG seed for the noise (same seed, same file).
        orientation: EXIF/TIFF orientation 1..8 written to IFD0 (LibRaw applies it on decode).
        exif: optional EXIF dict (our keys: iso, exposure_time, f_number, focal_length, capture_time, lens);
            make/model come from `camera`.
        compression: 'none' (one uncompressed strip) or 'ljpeg' (256x256 tiles of lossless JPEG, as most DNGs
            are stored; about 20 % smaller with noise, decoded bit-identically by LibRaw).

    Returns: DngResult with the matrix, neutral and gain used.
    """
    import tifffile  # noqa: PLC0415

    sp = space if isinstance(space, Space) else color.space_from_name(str(space))
    cam_def = CAMERAS[camera]
    arr = np.asarray(rgb_lin, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"rgb_lin must be (H, W, 3), got {arr.shape}")
    h, w = (arr.shape[0] // 2) * 2, (arr.shape[1] // 2) * 2
    if h < 2 or w < 2:
        raise ValueError("image too small for a Bayer mosaic")
    arr = arr[:h, :w]

    xyz_to_cam = np.array(cam_def.xyz_to_cam, dtype=np.float64).reshape(3, 3) / 10000.0
    rgb_to_cam = (xyz_to_cam @ _rgb_to_xyz_d65(sp)).astype(np.float32)
    neutral = rgb_to_cam @ np.ones(3, dtype=np.float32)  # camera response to the scene white (D65)
    neutral = neutral / neutral.max()

    cam = np.clip(arr @ rgb_to_cam.T, 0.0, None)
    mos = mosaic_rggb(cam)
    del cam
    white_cam = float((rgb_to_cam @ np.ones(3, dtype=np.float32)).max())
    ref = max(float(mos.max()), white_cam, 1e-6)
    span = cam_def.white - cam_def.black
    gain = peak * span / ref
    signal = mos.astype(np.float64) * gain  # DN above black
    if noise:
        rng = np.random.default_rng(seed)
        dn_per_e = span / full_well
        signal = rng.poisson(signal / dn_per_e).astype(np.float64) * dn_per_e
        signal += rng.normal(0.0, read_noise_dn, size=signal.shape)
    raw16 = np.clip(np.round(signal + cam_def.black), 0, cam_def.white).astype(np.uint16)
    del signal

    exif = dict(exif or {})
    exif["camera_make"], exif["camera_model"] = cam_def.make, cam_def.model
    extratags = [
        (271, "s", 0, cam_def.make, True),
        (272, "s", 0, cam_def.model, True),
        (274, "H", 1, int(orientation), True),
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: R G / G B
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion (without it LibRaw reads a plain TIFF)
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, cam_def.model, True),  # UniqueCameraModel
        (50713, "H", 2, (1, 1), True),  # BlackLevelRepeatDim
        (50714, "I", 1, int(cam_def.black), True),  # BlackLevel
        (50717, "I", 1, int(cam_def.white), True),  # WhiteLevel
        (50721, "2i", 9, _srational(xyz_to_cam.ravel()), True),  # ColorMatrix1 (XYZ -> camera)
        (50728, "2I", 3, _srational(neutral, 1000000), True),  # AsShotNeutral
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1 = D65
        metadata.EXIF_PLACEHOLDER_TAG,
    ]
    with atomic_write(path, "w+b", overwrite=overwrite) as fh:
        common = dict(photometric=32803, metadata=None, software="exposure-batch", byteorder="<",
                      extratags=extratags, subfiletype=0)
        if compression == "ljpeg":
            tifffile.imwrite(fh, _ljpeg_tiles(raw16, cam_def.bits), shape=raw16.shape, dtype=np.uint16,
                             compression=7, tile=(_TILE, _TILE), **common)
        elif compression == "none":
            tifffile.imwrite(fh, raw16, compression=None, rowsperstrip=h, **common)
        else:
            raise ValueError(f"compression must be 'none' or 'ljpeg', not {compression!r}")
        metadata.patch_tiff_exif_ifd(fh, exif)
    return DngResult(os.fspath(path), w, h, xyz_to_cam, neutral.astype(np.float64), float(gain), cam_def.black,
                     cam_def.white)
