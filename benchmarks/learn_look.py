"""Benchmark: learning a studio look from before/after pairs, on scenes not used for training.

    python benchmarks/learn_look.py [--photos data/cache/training/photos] [--work /tmp/learn_look] [--sizes 200,50]

Pairs are generated from the repository's own training photos (photos/train for training, photos/val for the
test scenes; never photos/heldout): each pair is a random crop of a photo; its *before* is the crop with a random
per-photo degradation (the agent's sampler: exposure error, colour cast, flat tone, low saturation), written as a
16-bit ProPhoto TIFF; its *after* is the crop with a hidden synthetic look, written as an sRGB JPEG (q 92). The
look is built in display-referred sRGB with maths the profile does not have (a warm white-balance shift, a
luminance-preserving desaturation, a film-like S-curve with lifted blacks and a soft shoulder, split toning teal
shadows / orange highlights), so the profile can only approximate it.

For each training size it runs `learn` (its own held-out split: picture groups inside the training photos), then
scores on the test pairs exactly as `process --profile` decides them: no edit, default agent, profile (with a
bootstrap interval over test scenes), and the agent + least-squares 3x3 matrix + offset reference fitted on the
same training pairs; times applying the profile against the agent alone; and checks that a lifted-black (matte)
look is reproduced when there is no agent error (the look fitted on the originals of training photos, scored on
other photos).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CROP_SIDE = 480
GENERATOR_VERSION = 2


def hidden_look(lin: np.ndarray) -> np.ndarray:
    """(..., 3) linear ProPhoto -> the synthetic studio look, linear ProPhoto (built in encoded sRGB)."""
    from exposure_batch import color  # noqa: PLC0415

    rgb = np.clip(color.convert_linear(lin, color.WORKING_SPACE, color.Space.SRGB), 0.0, None)
    rgb = rgb * np.array([1.12, 1.0, 0.80], np.float32)  # warm white-balance shift
    y = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    rgb = np.clip(y[..., None] + 0.7 * (rgb - y[..., None]), 0.0, None)  # 30% less saturation
    e = color.srgb_encode(rgb)
    s = e * e * (3.0 - 2.0 * e)  # film S-curve: smoothstep blend, soft shoulder ...
    e = 0.05 + 0.90 * (e + 0.6 * (s - e))  # ... with lifted blacks (matte) and a lowered white
    lum = e @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    shadows, highlights = ((1.0 - lum) ** 2)[..., None], (lum**2)[..., None]
    e = e + shadows * np.array([-0.04, 0.015, 0.05], np.float32) + highlights * np.array([0.05, 0.015, -0.04])
    out = color.srgb_decode(np.clip(e, 0.0, 1.0))
    return color.convert_linear(out, color.Space.SRGB, color.WORKING_SPACE).astype(np.float32)


def studio_degradation(rng: np.random.Generator, mode: str):
    """The agent's degradation sampler ('full': EV -3..+1.5, temperature +-0.5, tint +-0.25 log2, tone 0.6-1,
    saturation 0.55-1), or 'studio': the same draw with every error halved (EV -1.5..+0.75 and so on), the spread
    of a studio's captures under controlled light."""
    from exposure_batch.agent.data import Degradation, sample_degradation  # noqa: PLC0415

    d = sample_degradation(rng)
    if mode == "full":
        return d
    return Degradation(tone=1 - (1 - d.tone) / 2, saturation=1 - (1 - d.saturation) / 2,
                       temperature=d.temperature / 2, tint=d.tint / 2, ev=d.ev / 2)


def _crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from exposure_batch.render.preview import _resize_area  # noqa: PLC0415

    h, w = img.shape[:2]
    frac = float(rng.uniform(0.55, 1.0))
    ch, cw = max(16, int(h * frac)), max(16, int(w * frac * rng.uniform(0.8, 1.0)))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = np.ascontiguousarray(img[top : top + ch, left : left + cw])
    scale = CROP_SIDE / max(ch, cw)
    return _resize_area(crop, max(8, round(cw * scale)), max(8, round(ch * scale)))


def generate(photo_dir: str, out: str, per_photo: int, seed: int, mode: str = "studio", log=print) -> list[tuple[str, str, str]]:
    """Write before/<scene>/<n>.tif and after/<scene>/<n>.jpg for every photo in photo_dir; returns
    (before, after, scene) rows, round-robin over scenes (so any prefix spreads over all of them)."""
    from exposure_batch.agent.data import degrade, list_images  # noqa: PLC0415
    from exposure_batch.io import decode  # noqa: PLC0415
    from exposure_batch.io.write import write_image  # noqa: PLC0415
    from exposure_batch.render.preview import thumbnail  # noqa: PLC0415

    stamp = os.path.join(out, "generated.json")
    meta = {"version": GENERATOR_VERSION, "per_photo": per_photo, "seed": seed, "degradation": mode, "photos": sorted(os.listdir(photo_dir))}
    if os.path.exists(stamp):
        with open(stamp) as fh:
            old = json.load(fh)
        if old.get("meta") == meta:
            return [tuple(r) for r in old["rows"]]
    shutil.rmtree(out, ignore_errors=True)
    per_scene = []
    for i, path in enumerate(list_images(photo_dir)):
        scene = os.path.splitext(os.path.basename(path))[0][:40]
        img = thumbnail(decode(path, half_size=True).rgb_lin, 900)
        rows = []
        for j in range(per_photo):
            rng = np.random.default_rng([seed, i, j])
            crop = _crop(img, rng)
            before = degrade(crop, studio_degradation(rng, mode))
            b = os.path.join(out, "before", scene, f"{scene}_{j}.tif")
            a = os.path.join(out, "after", scene, f"{scene}_{j}.jpg")
            os.makedirs(os.path.dirname(b), exist_ok=True)
            os.makedirs(os.path.dirname(a), exist_ok=True)
            write_image(before, b, space="prophoto", overwrite=True)
            write_image(hidden_look(crop), a, quality=92, overwrite=True)
            rows.append((b, a, scene))
        per_scene.append(rows)
        log(f"  generated {scene}: {per_photo} pairs")
    ordered = [r for k in range(per_photo) for rows in per_scene for r in rows[k : k + 1]]
    with open(stamp, "w") as fh:
        json.dump({"meta": meta, "rows": ordered}, fh)
    return ordered


def subset(rows, n: int, folder: str) -> str:
    """Symlink the first n pairs (round-robin over scenes) into folder/before/<scene>, folder/after/<scene>."""
    shutil.rmtree(folder, ignore_errors=True)
    for b, a, scene in rows[:n]:
        for src, side in ((b, "before"), (a, "after")):
            dst = os.path.join(folder, side, scene, os.path.basename(src))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink(os.path.abspath(src), dst)
    return folder


def score_test(profile_dir: str, test_rows, model_path) -> dict:
    """Test-pair figures for a learned profile (decided exactly as `process --profile` decides), the default agent,
    no edit and the profile's own 3x3 reference; the profile's with a bootstrap interval over test scenes."""
    from exposure_batch.sources import make_source  # noqa: PLC0415
    from exposure_batch.look.groups import bootstrap_interval  # noqa: PLC0415
    from exposure_batch.look.learn import agent_corrections, apply_steps, evaluate_pairs, evaluate_sources  # noqa: PLC0415
    from exposure_batch.look.pairs import PairSpec, load_pair  # noqa: PLC0415
    from exposure_batch.look.profile import make_profile_source  # noqa: PLC0415

    source = make_profile_source(profile_dir, model_path)
    agent = make_source("learned", model_path=model_path)
    pairs = [load_pair(PairSpec(b, a, s), agent, 96) for b, a, s in test_rows]
    fig, per_pair = evaluate_sources(pairs, {"default_agent": agent, "profile": source})
    lo, hi = bootstrap_interval(per_pair["profile"], [p.scene for p in pairs])
    fig["profile"]["interval_95"] = [round(lo, 3), round(hi, 3)]
    recipes, keys = agent_corrections(pairs, agent)
    corrected = [apply_steps(p.before_lin, r.steps) for p, r in zip(pairs, recipes)]
    w = np.asarray(source.profile.card["training"]["reference_3x3"])
    fig["reference_3x3"] = evaluate_pairs(pairs, corrected, keys, None, w)["reference_3x3"]
    return fig


def lifted_black_look(lin: np.ndarray) -> np.ndarray:
    """(..., 3) linear ProPhoto -> a matte look built in encoded sRGB: blacks lifted to 4.5%, whites softened to 93%,
    a slightly warm balance (what a studio's faded look does)."""
    from exposure_batch import color  # noqa: PLC0415

    rgb = np.clip(color.convert_linear(lin, color.WORKING_SPACE, color.Space.SRGB), 0.0, None)
    e = color.srgb_encode(rgb * np.array([1.06, 1.0, 0.92], np.float32))
    e = 0.045 + (0.93 - 0.045) * e
    return color.convert_linear(color.srgb_decode(e), color.Space.SRGB, color.WORKING_SPACE).astype(np.float32)


def lifted_black_check(photo_dir: str, test_dir: str, seed: int = 0) -> dict:
    """A lifted-black look learned with no agent error (the befores are the originals, the look's input): the look
    fitted on crops of the training photos, scored (mean per-image CIEDE2000) on crops of the test photos."""
    from exposure_batch.agent.data import display_np, list_images  # noqa: PLC0415
    from exposure_batch.agent.evaluate import ciede2000  # noqa: PLC0415
    from exposure_batch.io import decode  # noqa: PLC0415
    from exposure_batch.look import fit as fitting  # noqa: PLC0415
    from exposure_batch.look.learn import apply_steps  # noqa: PLC0415
    from exposure_batch.look.model import LookModel  # noqa: PLC0415
    from exposure_batch.render.preview import thumbnail  # noqa: PLC0415

    def crops(folder, n, s):
        out = []
        for i, path in enumerate(list_images(folder)[:n]):
            out.append(thumbnail(decode(path, half_size=True).rgb_lin, 96))
        return out

    rng = np.random.default_rng(seed)
    train = crops(photo_dir, 40, seed)
    test = crops(test_dir, 20, seed + 1)
    x = np.concatenate([t.reshape(-1, 3)[rng.choice(t.shape[0] * t.shape[1], 300, replace=False)] for t in train])
    model = LookModel(adaptive=False)
    data = fitting.FitData(x, fitting.lab_display(lifted_black_look(x)), np.zeros(len(x), np.float32))
    theta = fitting.fit_look(model, data, model.identity, iterations=30).theta
    steps = model.steps(theta)
    scores = [ciede2000(display_np(apply_steps(t, steps)), display_np(lifted_black_look(t))) for t in test]
    none = [ciede2000(display_np(t), display_np(lifted_black_look(t))) for t in test]
    matte = next(s for s in steps if s.filter == "matte").params
    return {"test_photos": len(test), "ciede2000": round(float(np.mean(scores)), 3),
            "no_look_ciede2000": round(float(np.mean(none)), 3), "matte": matte}


def apply_cost(profile_dir: str, model_path, repeats: int = 5) -> dict:
    """ms per photo for the agent's decision and for what the profile adds to it (ProfileSource.add_look: the
    familiarity from the capture statistics the agent computed, the key statistic when adaptive, the look's steps),
    batch 1 and 64, best of repeats; timed apart so the agent's variance on a busy machine does not swamp the
    difference."""
    from exposure_batch.look.profile import make_profile_source  # noqa: PLC0415

    source = make_profile_source(profile_dir, model_path)
    decide = getattr(source.agent, "decide_with_statistics", lambda p: (source.agent.decide(p), None))
    rng = np.random.default_rng(0)
    out = {}
    for batch in (1, 64):
        previews = list(rng.uniform(0, 0.8, (batch, 64, 64, 3)).astype(np.float32))
        source.decide(previews)
        agent = min(_timed(lambda: decide(previews)) for _ in range(repeats))
        recipes, statistics = decide(previews)
        look = min(_timed(lambda: source.add_look(previews, recipes, statistics)) for _ in range(repeats))
        out[f"agent_batch{batch}_ms"] = round(1000 * agent / batch, 3)
        out[f"extra_batch{batch}_ms"] = round(1000 * look / batch, 3)
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", default=os.path.join(os.path.dirname(__file__), "..", "data", "cache", "training",
                                                     "photos"))
    ap.add_argument("--work", default="/tmp/exposure-batch-learn-look")  # a sub-folder per --degradation
    ap.add_argument("--sizes", default="200,50")
    ap.add_argument("--per-photo", type=int, default=6)
    ap.add_argument("--test-per-photo", type=int, default=4)
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--degradation", choices=["studio", "full"], default="studio",
                    help="per-photo errors of the befores: studio (half the agent sampler's ranges) or full")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    from exposure_batch.look.learn import LearnOptions, learn  # noqa: PLC0415

    photos = os.path.abspath(args.photos)
    if not os.path.isdir(os.path.join(photos, "train")):
        sys.exit(f"{photos}: no train/ folder (run tools/prepare_training_data.py, or pass --photos)")
    args.work = os.path.join(args.work, args.degradation)
    t0 = time.perf_counter()
    train_rows = generate(os.path.join(photos, "train"), os.path.join(args.work, "train"), args.per_photo, args.seed,
                          args.degradation)
    test_rows = generate(os.path.join(photos, "val"), os.path.join(args.work, "test"), args.test_per_photo,
                         args.seed + 1, args.degradation)
    print(f"pairs: {len(train_rows)} training ({len({r[2] for r in train_rows})} scenes), {len(test_rows)} test "
          f"({len({r[2] for r in test_rows})} other scenes); generated in {time.perf_counter() - t0:.0f} s")
    results = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        folder = subset(train_rows, n, os.path.join(args.work, f"set{n}"))
        out = os.path.join(args.work, f"profile{n}")
        t = time.perf_counter()
        report = learn(os.path.join(folder, "before"), os.path.join(folder, "after"), out,
                       LearnOptions(name=f"bench{n}", model_path=args.model, overwrite=True, seed=args.seed))
        wall = time.perf_counter() - t
        fig = score_test(out, test_rows, args.model)
        results[n] = {"wall_s": round(wall, 1), "test": fig, "validation": report.validation,
                      "iterations": report.profile.card["training"]["iterations"],
                      "best_iteration": report.profile.card["training"]["best_iteration"]}
        print(f"learn {n} pairs: {wall:.1f} s wall ({report.seconds})")
    cost = apply_cost(os.path.join(args.work, f"profile{max(results)}"), args.model)
    matte = lifted_black_check(os.path.join(photos, "train"), os.path.join(photos, "val"), args.seed)
    print_table(results, cost, len(test_rows), matte)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "apply_cost": cost, "lifted_black": matte}, fh, indent=2)


def print_table(results: dict, cost: dict, n_test: int, matte: dict) -> None:
    big, small = max(results), min(results)
    base = results[big]["test"]
    print(f"\nTest pairs: {n_test} from scenes not used for training (mean per-image CIEDE2000 / PSNR, display sRGB)")
    print("| method | CIEDE2000 | PSNR dB | training wall s |")
    print("|---|---|---|---|")
    print(f"| no edit | {base['no_edit']['ciede2000']:.2f} | {base['no_edit']['psnr']:.2f} | |")
    print(f"| default agent | {base['default_agent']['ciede2000']:.2f} | {base['default_agent']['psnr']:.2f} | |")
    for n in sorted(results, reverse=True):
        f = results[n]["test"]
        print(f"| agent + 3x3 least squares ({n} pairs) | {f['reference_3x3']['ciede2000']:.2f} | "
              f"{f['reference_3x3']['psnr']:.2f} | |")
        ci = f["profile"].get("interval_95", [float("nan")] * 2)
        print(f"| profile ({n} pairs) | {f['profile']['ciede2000']:.2f} ({ci[0]:.2f}-{ci[1]:.2f}) | "
              f"{f['profile']['psnr']:.2f} | {results[n]['wall_s']:.1f} |")
    p, ne, da = base["profile"]["ciede2000"], base["no_edit"]["ciede2000"], base["default_agent"]["ciede2000"]
    print("\nTargets")
    print(f"- profile <= 0.45x no edit: {p / ne:.3f}x -> {'met' if p <= 0.45 * ne else 'MISSED'}")
    print(f"- profile >= 35% below default agent: {100 * (1 - p / da):.1f}% -> {'met' if p <= 0.65 * da else 'MISSED'}")
    for n in sorted(results, reverse=True):
        held, unseen = results[n]["validation"]["profile"]["ciede2000"], results[n]["test"]["profile"]["ciede2000"]
        print(f"- learn's held-out figure within 20% of the unseen-scene figure ({n} pairs): {held:.2f} vs "
              f"{unseen:.2f} ({100 * (held / unseen - 1):+.1f}%) -> {'met' if abs(held / unseen - 1) <= 0.2 else 'MISSED'}")
    print(f"- lifted-black look reproduced within 1.0 with no agent error: {matte['ciede2000']:.2f} on "
          f"{matte['test_photos']} unseen photos (no look: {matte['no_look_ciede2000']:.2f}; matte {matte['matte']}) -> "
          f"{'met' if matte['ciede2000'] <= 1.0 else 'MISSED'}")
    for n in sorted(results, reverse=True):
        f = results[n]["test"]
        ok = f["profile"]["ciede2000"] <= f["reference_3x3"]["ciede2000"]
        print(f"- never worse than the 3x3 reference ({n} pairs): {f['profile']['ciede2000']:.2f} vs "
              f"{f['reference_3x3']['ciede2000']:.2f} -> {'met' if ok else 'MISSED'}")
    if small != big:
        ps = results[small]["test"]["profile"]["ciede2000"]
        print(f"- {small} pairs within 15% of {big}: {100 * (ps / p - 1):+.1f}% -> {'met' if ps <= 1.15 * p else 'MISSED'}")
    limits = {200: 600}
    for n in sorted(results, reverse=True):
        if n in limits:
            w = results[n]["wall_s"]
            print(f"- training {n} pairs under {limits[n]} s: {w:.0f} s -> {'met' if w <= limits[n] else 'MISSED'}")
    print(f"- applying costs < 2 ms/photo beyond the agent: batch 1 {cost['extra_batch1_ms']:+.3f} ms, batch 64 "
          f"{cost['extra_batch64_ms']:+.3f} ms -> {'met' if max(cost['extra_batch1_ms'], cost['extra_batch64_ms']) < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
