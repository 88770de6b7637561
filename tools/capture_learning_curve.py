#!/usr/bin/env python3
"""Cross-validated learning curve of the capture estimate (agent.capture): photos vs figures.

The train (+ val) photos are split by source photo into K folds. For each fold and each share of the other folds'
photos (1/4, 1/2, all), one network is fitted on the statistics of their degraded patches and judged on the fold's
photos, never seen: 64x64 patches of them under the evaluation's capture errors (agent.data.sample_degradation,
clipped at white as a capture), corrected by the estimate's white-box steps (correction_steps, the shipped dead
zones), CIEDE2000 against the original patch (and the uncorrected input's, for the ratio), and the exposure
estimate's error in EV. Also compares model variants at the full share (`--variants`): the statistics of issue 12
(the first 37) vs all, and wider networks. The held-out split is never read.

Usage: python tools/capture_learning_curve.py --photos DIR [--photos DIR ...] -o curve.json [--folds 4]
       [--crops 64] [--rounds 6] [--workers 2] [--cache DIR] [--plot curve.png]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def _forward(weights, feats, f_mean, f_scale, o_mean, o_scale):
    h = (feats - f_mean) / f_scale
    for kernel, bias in weights[:-1]:
        h = h @ kernel + bias
        h = np.maximum(h, 0.2 * h)
    kernel, bias = weights[-1]
    return (h @ kernel + bias) * o_scale + o_mean


def _restore_scores(est, originals, inputs, dead_ev=0.45, dead_tone=0.3):
    """Estimates (N, 5) -> (dE00 corrected, dE00 input) per patch."""
    from exposure_batch.agent.capture import _dead_zone, correction_steps
    from exposure_batch.agent.data import Degradation, display_np
    from exposure_batch.agent.evaluate import ciede2000
    from exposure_batch.recipe import Recipe, drop_noop_steps
    from exposure_batch.render import render

    est = est.copy()
    est[:, 0] = _dead_zone(est[:, 0], dead_ev)
    est[:, 1] = _dead_zone(est[:, 1], dead_tone)
    out, base = [], []
    for e, o, x in zip(est, originals, inputs):
        d = Degradation(ev=float(e[0]), tone=min(2.0 ** e[1], 1.0), saturation=min(2.0 ** e[2], 1.0),
                        temperature=float(e[3]), tint=float(e[4]))
        steps = drop_noop_steps(correction_steps(d))
        ref = display_np(o)
        out.append(ciede2000(display_np(render(Recipe(tuple(steps)), x.copy())), ref))
        base.append(ciede2000(display_np(x), ref))
    return np.array(out), np.array(base)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", action="append", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--crops", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default="data/cache/crops")
    ap.add_argument("--plot")
    ap.add_argument("--variants", action="store_true", help="also compare statistics and network widths")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--variant-folds", type=int, default=None, help="compare variants on this many folds only")
    args = ap.parse_args(argv)

    from exposure_batch.agent import data as D
    from exposure_batch.agent.capture import N_BASE_FEATURES, capture_dataset
    from exposure_batch.agent.capture_train import CaptureTrainConfig, _fit_member

    t0 = time.time()
    paths = [p for d in args.photos for p in D.list_images(d)]
    parts = [D.load_crops(D.list_images(d), args.crops, 0.3, 0, args.cache) for d in args.photos]
    crops = np.concatenate([p["crops"] for p in parts])
    offsets = np.cumsum([0] + [len(p["names"]) for p in parts])
    photo_of_crop = np.concatenate([p["source"] + off for p, off in zip(parts, offsets)])
    key = f"{len(crops)}-{args.rounds}-{len(paths)}"
    ds_path = os.path.join(args.cache, f"capture-dataset-{key}.npz")
    if os.path.exists(ds_path):
        with np.load(ds_path) as z:
            x, y, src = z["x"], z["y"], z["src"]
    else:
        x, y, src = capture_dataset(crops, args.rounds, 0, 0.4, workers=args.workers)
        np.savez(ds_path, x=x, y=y, src=src)
    photo = photo_of_crop[src]
    print(f"{len(x)} samples from {len(paths)} photos ({time.time() - t0:.0f} s)", file=sys.stderr)

    # evaluation patches: crop 0 (the whole frame) and 3 more of each photo, 3 capture errors each
    rng = np.random.default_rng(7)
    ev_orig, ev_in, ev_photo = [], [], []
    for c in range(len(crops)):
        if c == 0 or photo_of_crop[c] != photo_of_crop[c - 1] or (c % args.crops) < 4:
            (patch,) = D.random_patches(crops, np.array([c]), rng)
            for _ in range(3):
                d = D.sample_degradation(rng)
                ev_orig.append(patch[0])
                ev_in.append(D.as_captured(D.degrade(patch[0], d)))
                ev_photo.append(photo_of_crop[c])
    ev_photo = np.array(ev_photo)
    from exposure_batch.agent.capture import capture_features
    ev_feat = np.stack([capture_features(p) for p in ev_in])

    n_photos = len(paths)
    fold_of = np.random.default_rng(11).permutation(n_photos) % args.folds
    results = []

    def run(name, cols, hidden, share, fold):
        train_photos = np.flatnonzero(fold_of != fold)
        keep = train_photos[np.random.default_rng([fold, int(share * 100)]).permutation(len(train_photos))]
        keep = keep[: max(2, int(round(share * len(keep))))]
        tr = np.isin(photo, keep)
        xs, ys = x[tr][:, cols], y[tr]
        f_mean, f_scale = xs.mean(0), xs.std(0) + 1e-6
        o_mean, o_scale = ys.mean(0), ys.std(0) + 1e-6
        cfg = CaptureTrainConfig(hidden=hidden, epochs=args.epochs)
        w = _fit_member(((xs - f_mean) / f_scale).astype(np.float32), ((ys - o_mean) / o_scale).astype(np.float32),
                        cfg, fold, lambda m: None)
        te = fold_of[ev_photo] == fold
        est = _forward(w, ev_feat[te][:, cols], f_mean, f_scale, o_mean, o_scale)
        idx = np.flatnonzero(te)
        after, before = _restore_scores(est, [ev_orig[i] for i in idx], [ev_in[i] for i in idx])
        truth_ev = np.array([0.0] * len(idx))
        row = {"variant": name, "fold": fold, "share": share, "n_photos": len(keep),
               "restoration_ciede2000": float(after.mean()), "no_edit_ciede2000": float(before.mean()),
               "ratio": float(after.mean() / before.mean())}
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    all_cols = np.arange(x.shape[1])
    for fold in range(args.folds):
        for share in (0.25, 0.5, 1.0):
            run("all statistics, 2x32", all_cols, 32, share, fold)
        if args.variants and fold < (args.variant_folds or args.folds):
            run("issue-12 statistics, 2x32", np.arange(N_BASE_FEATURES), 32, 1.0, fold)
            run("all statistics, 2x64", all_cols, 64, 1.0, fold)
    summary = {}
    for r in results:
        s = summary.setdefault(r["variant"], {}).setdefault(str(r["share"]), {"n_photos": [], "restoration": [], "no_edit": []})
        s["n_photos"].append(r["n_photos"])
        s["restoration"].append(r["restoration_ciede2000"])
        s["no_edit"].append(r["no_edit_ciede2000"])
    for v in summary.values():
        for s in v.values():
            s |= {"mean_photos": float(np.mean(s["n_photos"])), "mean_restoration": float(np.mean(s["restoration"])),
                  "mean_ratio": float(np.mean(s["restoration"]) / np.mean(s["no_edit"]))}
    out = {"folds": args.folds, "photos": n_photos, "samples": int(len(x)), "rows": results, "summary": summary,
           "seconds": round(time.time() - t0)}
    with open(args.output, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)
    for name, v in summary.items():
        for share, s in v.items():
            print(f"{name:<28} {s['mean_photos']:6.0f} photos: restoration {s['mean_restoration']:.2f} "
                  f"({s['mean_ratio']:.2f}x no edit)")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.4))
        v = summary["all statistics, 2x32"]
        xs_ = [v[k]["mean_photos"] for k in sorted(v, key=float)]
        ax.plot(xs_, [v[k]["mean_ratio"] for k in sorted(v, key=float)], "o-", label="capture estimate")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training photos (cross-validated, unseen fold)")
        ax.set_ylabel("restoration, x no edit")
        ax.set_title("capture estimate: learning curve")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
