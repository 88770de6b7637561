#!/usr/bin/env python3
"""Regenerate the sample photos in samples/ (reproducible: fixed crops, seeded noise, deterministic encoders).

Sources (downloaded into data/cache/samples/ with the ordinary package clients, no install):
  * PyPI wheel `scikit-image` (skimage/data/: astronaut - public domain NASA; chelsea, coffee - CC0)
  * Debian package `libjxl-testdata` (flower.png - BSD-3-Clause, the JPEG XL Project Authors;
    external/raw.pixls/ crops developed from real camera RAWs - CC0)
  * PyPI sdist `piexif` 1.1.3 (tests/images: real camera JPEGs with maker EXIF - MIT)

Usage: python tools/make_samples.py [--cache DIR] [--out samples]
See samples/LICENSES.md for what each output is and its licence.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exposure_batch import color  # noqa: E402
from exposure_batch.color import Space  # noqa: E402
from exposure_batch.io import icc, write_image  # noqa: E402
from exposure_batch.io.dng import write_dng  # noqa: E402

SKIMAGE_VERSION = "0.26.0"
PIEXIF_VERSION = "1.1.3"


def _run(cmd: list[str], cwd: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch_sources(cache: Path) -> dict[str, Path]:
    """Download and unpack the three source packages once; return paths of the files we use."""
    cache.mkdir(parents=True, exist_ok=True)
    sk = cache / "skimage"
    if not (sk / "skimage/data/coffee.png").exists():
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache),
              f"scikit-image=={SKIMAGE_VERSION}", "--only-binary", ":all:"], cache)
        wheel = sorted(cache.glob("scikit_image-*.whl"))[-1]
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith("skimage/data/") and name.endswith((".png", ".jpg")):
                    zf.extract(name, sk)
    jxl = cache / "libjxl"
    if not (jxl / "usr/share/libjxl-testdata/jxl/flower/flower.png").exists():
        _run(["apt-get", "download", "libjxl-testdata"], cache)
        deb = sorted(cache.glob("libjxl-testdata_*.deb"))[-1]
        _run(["dpkg-deb", "-x", str(deb), str(jxl)], cache)
    px = cache / "piexif"
    if not (px / f"piexif-{PIEXIF_VERSION}/tests/images/r_canon.jpg").exists():
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(cache),
              f"piexif=={PIEXIF_VERSION}"], cache)
        archive = sorted(cache.glob(f"piexif-{PIEXIF_VERSION}.*"))[-1]
        shutil.unpack_archive(str(archive), str(px))
    td = jxl / "usr/share/libjxl-testdata"
    return {
        "flower": td / "jxl/flower/flower.png",
        "nikon": td / "external/raw.pixls/Nikon-D300-12bit_2020_g1_dt.png",
        "astronaut": sk / "skimage/data/astronaut.png",
        "chelsea": sk / "skimage/data/chelsea.png",
        "coffee": sk / "skimage/data/coffee.png",
        "canon": px / f"piexif-{PIEXIF_VERSION}/tests/images/r_canon.jpg",
        "casio": px / f"piexif-{PIEXIF_VERSION}/tests/images/large.jpg",
    }


def _srgb8(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _to_working(img8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> float32 linear ProPhoto."""
    return color.convert_linear(color.srgb_decode(img8 / np.float32(255)), Space.SRGB, color.WORKING_SPACE)


def make(out: Path, src: dict[str, Path]) -> list[Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    made = []

    # 1. A realistic camera RAW: 1536x1024 crop of libjxl's flower.png (BSD), linearised, Canon EOS 5D Mark II
    #    colour matrix and levels, RGGB mosaic, shot + read noise (seed 0), lossless-JPEG tiles like real DNGs.
    flower = _srgb8(src["flower"])
    y0, x0 = (flower.shape[0] - 1024) // 2, (flower.shape[1] - 1536) // 2
    crop = flower[y0:y0 + 1024, x0:x0 + 1536]
    res = write_dng(out / "flower.dng", color.srgb_decode(crop / np.float32(255)), space=Space.SRGB,
                    camera="Canon EOS 5D Mark II", noise=True, seed=0, compression="ljpeg",
                    exif={"iso": 200, "exposure_time": "1/250", "f_number": 5.6, "focal_length": 100.0,
                          "capture_time": "2023-01-10T12:00:00"})
    made.append(Path(res.path))

    # 2. 16-bit TIFF in Adobe RGB (1998) with its ICC profile: skimage chelsea (CC0).
    made.append(Path(write_image(_to_working(_srgb8(src["chelsea"])), out / "chelsea_adobergb_16bit.tif",
                                 space="adobergb", overwrite=True)))

    # 3. 16-bit PNG in Display P3 with its ICC profile: skimage coffee (CC0).
    made.append(Path(write_image(_to_working(_srgb8(src["coffee"])), out / "coffee_p3_16bit.png",
                                 space="p3", overwrite=True)))

    # 4. JPEG stored sideways with EXIF Orientation 6 (displays upright): skimage astronaut (public domain).
    astro = np.rot90(_srgb8(src["astronaut"]), 1)  # stored rotated 90 deg CCW; orientation 6 = rotate CW to view
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(astro)).save(
        out / "astronaut_orientation6.jpg", "JPEG", quality=90, subsampling=0, exif=exif.tobytes(),
        icc_profile=icc.profile_bytes(Space.SRGB))
    made.append(out / "astronaut_orientation6.jpg")

    # 5-6. Real camera JPEGs with maker EXIF, copied unchanged from the piexif sdist (MIT).
    for key, name in (("canon", "canon_powershot_g1x2.jpg"), ("casio", "casio_qv_r51.jpg")):
        shutil.copyfile(src[key], out / name)
        made.append(out / name)

    # 7. A real-camera 16-bit crop in linear Rec. 2020 with darktable's ICC profile (raw.pixls.us, CC0), unchanged.
    shutil.copyfile(src["nikon"], out / "nikon_d300_rec2020_linear_16bit.png")
    made.append(out / "nikon_d300_rec2020_linear_16bit.png")
    return made


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=REPO / "data/cache/samples")
    ap.add_argument("--out", type=Path, default=REPO / "samples")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    made = make(args.out, fetch_sources(args.cache))
    total = 0
    for p in made:
        size = p.stat().st_size
        total += size
        print(f"{p.relative_to(REPO) if p.is_relative_to(REPO) else p}  {size / 1024:8.1f} KiB  "
              f"sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:16]}")
    print(f"total {total / 1024 / 1024:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
