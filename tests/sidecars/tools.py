"""Helpers for the sidecar tests: synthetic sRGB test images, our reference render, darktable-cli, exiftool, ΔE.

darktable-cli exits 0 even when it drops history entries or cannot read a LUT, so `darktable_render` fails on the
stderr lines that mean that and on any history entry missing from the output's embedded XMP.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings

import numpy as np

from exposure_batch import color

DARKTABLE = shutil.which("darktable-cli")
EXIFTOOL = shutil.which("exiftool")
#: stderr fragments that mean darktable ignored part of our sidecar.
DT_BAD = ("version mismatch", "invalid cube file", "[dev_read_history]", "cannot get iop-order", "not installed",
          "history module not used", "error", "failed")


def test_image_srgb(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """(H, W, 3) float32 sRGB-encoded test chart: grey ramp, hue/lightness sweeps, random patches."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.float32)
    q = height // 4
    img[:q] = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    hue = np.linspace(0, 1, width, endpoint=False)
    light = np.linspace(0.15, 1.0, q)[:, None]
    rgb = np.stack([np.abs(hue * 6 - 3) - 1, 2 - np.abs(hue * 6 - 2), 2 - np.abs(hue * 6 - 4)], -1).clip(0, 1)
    img[q:2 * q] = (rgb[None] * light[..., None] + (1 - light[..., None]) * 0.5).astype(np.float32)
    patches = rng.uniform(0, 1, ((height - 2 * q) // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    img[2 * q:] = np.repeat(np.repeat(patches, 8, 0), 8, 1)[: height - 2 * q, :width]
    return img


def write_test_tiff(path, img_srgb: np.ndarray) -> str:
    """Write sRGB-encoded values as a 16-bit sRGB TIFF with ICC profile (through the project's writer)."""
    from exposure_batch.io.write import write_image

    lin = color.convert_linear(color.srgb_decode(img_srgb), color.Space.SRGB, color.WORKING_SPACE)
    return write_image(lin, str(path), fmt="tiff", space="srgb", overwrite=True)


def our_render_srgb(recipe, path) -> np.ndarray:
    """Decode `path` with our pipeline, render the recipe, encode sRGB -> (H, W, 3) float32 in [0, 1]."""
    from exposure_batch.io import decode
    from exposure_batch.render import render

    dec = decode(str(path))
    out = render(recipe, dec.rgb_lin)
    return color.srgb_encode(color.convert_linear(out, color.WORKING_SPACE, color.Space.SRGB))


def darktable_render(src, xmp_path, out_dir, lut_dir=None) -> tuple[np.ndarray, str]:
    """Render `src` with `xmp_path` through darktable-cli (fresh config dir, no custom presets, 16-bit TIFF).

    Returns (sRGB-encoded (H, W, 3) float32, stderr). Raises AssertionError on any sign of a dropped entry.
    """
    import tifffile

    out_dir = str(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "dt_out.tif")
    if os.path.exists(out):
        os.unlink(out)
    cmd = [DARKTABLE, str(src), str(xmp_path), out, "--apply-custom-presets", "false", "--core",
           "--configdir", os.path.join(out_dir, "dtconf"), "--conf", "plugins/imageio/format/tiff/bpp=16",
           "--conf", "opencl=false"]
    if lut_dir is not None:
        cmd += ["--conf", f"plugins/darkroom/lut3d/def_path={lut_dir}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and os.path.exists(out), f"darktable-cli failed ({res.returncode}): {res.stderr[-2000:]}"
    bad = [line for line in res.stderr.splitlines() if any(b in line.lower() for b in DT_BAD)]
    assert not bad, "darktable dropped part of the sidecar:\n" + "\n".join(bad)
    img = tifffile.imread(out)
    return img[..., :3].astype(np.float32) / np.float32(65535.0), res.stderr, out


def exiftool_json(path, *args) -> dict:
    """exiftool -j (struct) of one file -> dict."""
    res = subprocess.run([EXIFTOOL, "-j", "-struct", *args, str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)[0]


def delta_e(a_srgb: np.ndarray, b_srgb: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 between two sRGB-encoded images (colour-science)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import colour

        lab_a = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.asarray(a_srgb, np.float64)))
        lab_b = colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.asarray(b_srgb, np.float64)))
        return np.asarray(colour.delta_E(lab_a, lab_b, method="CIE 2000"))
