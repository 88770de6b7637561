#!/usr/bin/env python3
"""Before/after contact sheet of the unedited real-world snapshots (for review by eye; model card folder).

Each photo in --photos (default: data/cache/training/photos/snapshots, the 26 KPhotoAlbum / EFL snapshots that
tools/prepare_training_data.py fetches: flash, under-exposure, mixed light; never training targets) is decoded,
edited alone by the learned agent (--model, default the shipped models/auto) and drawn as a before | after pair,
captioned with its name and the capture estimate's confidence (a "*" marks an edit made gentler at low confidence).
JPEG, small: it ships in the repository.

Usage: python tools/make_contact_sheet.py [--photos DIR] [--model DIR] [-o models/auto/snapshots.jpg]
       [--thumb 120] [--pairs-per-row 4]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="data/cache/training/photos/snapshots")
    ap.add_argument("--model")
    ap.add_argument("-o", "--output", default="models/auto/snapshots.jpg")
    ap.add_argument("--thumb", type=int, default=120)
    ap.add_argument("--pairs-per-row", type=int, default=4)
    ap.add_argument("--quality", type=int, default=72)
    args = ap.parse_args(argv)

    from exposure_batch.agent.data import display_np, list_images
    from exposure_batch.agent.policy import load_policy
    from exposure_batch.io import decode
    from exposure_batch.render.preview import make_preview, thumbnail
    from exposure_batch.render import render

    policy = load_policy(args.model)
    paths = list_images(args.photos)
    if not paths:
        print(f"{args.photos}: no photos (run tools/prepare_training_data.py)", file=sys.stderr)
        return 1
    t, gap, cap = args.thumb, 6, 14
    cell_w, cell_h = 2 * t + gap + 2 * gap, t + cap + gap
    cols = args.pairs_per_row
    rows = -(-len(paths) // cols)
    sheet = Image.new("RGB", (cols * cell_w + gap, rows * cell_h + gap + 16), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    draw.text((gap, 3), f"{len(paths)} unedited snapshots: before | after ({policy.model_id} {policy.model_version}, "
                        f"each photo alone; * = gentler edit at low confidence)", fill=(230, 230, 230))
    for i, path in enumerate(paths):
        lin = thumbnail(decode(path).rgb_lin, 4 * t)
        recipe = policy.decide([make_preview(lin)])[0]
        after = render(recipe, lin)
        cap_info = recipe.extra.get("capture", {})
        y0, x0 = 16 + gap + (i // cols) * cell_h, gap + (i % cols) * cell_w
        for k, img in enumerate((lin, after)):
            im = Image.fromarray(np.round(np.clip(display_np(img), 0, 1) * 255).astype(np.uint8))
            im.thumbnail((t, t), Image.LANCZOS)
            sheet.paste(im, (x0 + k * (t + gap) + (t - im.width) // 2, y0 + (t - im.height) // 2))
        name = os.path.splitext(os.path.basename(path))[0].split("__")[-1][:18]
        conf = cap_info.get("confidence")
        label = f"{name} {conf:.2f}" if conf is not None else name
        draw.text((x0, y0 + t + 1), label + (" *" if cap_info.get("gentler") else ""), fill=(200, 200, 200))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    sheet.save(args.output, quality=args.quality, optimize=True)
    print(f"wrote {args.output} ({sheet.width}x{sheet.height}, {os.path.getsize(args.output) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
