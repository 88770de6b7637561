"""Archive scale (issue 25): the default run (grouping on) against `--group-by none` at 100, 1,000 and 10,000 files.

Generates shoots of small JPEGs (320x240, q90) from the repository's sample photos, cached in --cache: scenes of 5-50
frames (a random crop of a sample photo, one shared lighting error, per-frame exposure / white-balance drift and
framing shifts: shoot.bursts), frames 1-3 s apart with EXIF capture times, scenes 5-20 minutes apart, in folders
of at most 500 files; plus one folder without EXIF (10% of the files: scans, exports) grouped by similarity alone.

For each size, both arms run in this one invocation as `python -m exposure_batch process FOLDER -r -o OUT -j JOBS
--no-progress` (a fresh process each, alternating which goes first), and the benchmark prints per arm: wall time
per file, the parent's peak RSS (its own ru_maxrss, read at its exit: workers not included) and the grouping time
(the run's "groups:" line: survey + grouping + harmonising, worker seconds). Then a re-run of the finished default
batch (every output exists: nothing may be surveyed). Targets (issue 25) are printed with met / MISSED.

    nice -n 5 python benchmarks/scale.py --sizes 100,1000          # while developing
    nice -n 5 python benchmarks/scale.py --sizes 100,1000,10000    # the figures in docs/benchmarks.md

With --rounds N both arms run N times per size and the table shows the round with the median default / none CPU
ratio (every round is printed as it ends).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIDE = (320, 240)
PHOTOS = ("astronaut_orientation6.jpg", "canon_powershot_g1x2.jpg", "casio_qv_r51.jpg", "chelsea_adobergb_16bit.tif",
          "coffee_p3_16bit.png", "flower.dng", "nikon_d300_rec2020_linear_16bit.png")
FOLDER_FILES = 500
#: The wrapper that runs the CLI and prints its own peak RSS at exit (workers are separate processes).
_WRAPPER = ("import atexit, resource, runpy, sys\n"
            "atexit.register(lambda: print('PEAK_RSS_KB=%d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " file=sys.stderr, flush=True))\n"
            "sys.argv = ['exposure-batch'] + sys.argv[1:]\n"
            "runpy.run_module('exposure_batch', run_name='__main__')\n")


def _bases(rng) -> list[np.ndarray]:
    """The sample photos as linear ProPhoto, long side 720 px."""
    from exposure_batch.io import decode
    from exposure_batch.render.preview import thumbnail

    return [thumbnail(decode(str(REPO / "samples" / name)).rgb_lin, 720) for name in PHOTOS]


def _scene_photo(bases, rng) -> np.ndarray:
    """A random crop (30-70% of the photo) of a random sample photo, resized so a 92% burst crop is SIDE."""
    from exposure_batch.render.preview import _resize_area

    photo = bases[int(rng.integers(len(bases)))]
    h, w = photo.shape[:2]
    frac = float(rng.uniform(0.3, 0.7))
    ch = int(min(h, w * 3 / 4) * frac)
    cw = int(ch * 4 / 3)
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    crop = np.ascontiguousarray(photo[top:top + ch, left:left + cw])
    return _resize_area(crop, round(SIDE[0] / 0.92), round(SIDE[1] / 0.92))


def build(n: int, cache: Path, seed: int = 0) -> Path:
    """The n-file shoot in cache/scale_N (made once): returns its folder."""
    from exposure_batch.color import Space
    from exposure_batch.io.write import bits_for, encode_to_int, write_encoded
    from exposure_batch.shoot.bursts import make_burst

    root = cache / f"scale_{n}"
    done = root / "done.json"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    bases = _bases(rng)
    untimed = max(5, n // 10)
    timed = n - untimed
    t = dt.datetime(2026, 5, 1, 9, 0, 0)
    written, scenes = 0, 0
    print(f"building {n} JPEGs in {root} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    while written < n:
        with_exif = written < timed
        left = (timed - written) if with_exif else (n - written)
        frames = int(min(left, rng.integers(5, 51)))
        burst = make_burst(_scene_photo(bases, rng), rng, frames)
        scenes += 1
        t += dt.timedelta(minutes=float(rng.uniform(5, 20)))
        for k, frame in enumerate(burst.frames):
            folder = root / (f"day{written // FOLDER_FILES + 1:02d}" if with_exif else "scans")
            folder.mkdir(parents=True, exist_ok=True)
            exif = {"camera_make": "Bench", "camera_model": "Scale"}
            if with_exif:
                t += dt.timedelta(seconds=float(rng.uniform(1, 3)))
                exif["capture_time"] = t.isoformat(timespec="milliseconds")
            encoded = encode_to_int(np.ascontiguousarray(frame[:SIDE[1], :SIDE[0]]), Space.SRGB, linear=False,
                                    bits=bits_for("jpeg"))
            write_encoded(encoded, str(folder / f"IMG_{written:05d}.jpg"), fmt="jpeg", quality=90, space=Space.SRGB,
                          linear=False, source_path=None, overwrite=True, source_exif=exif)
            written += 1
    done.write_text(json.dumps({"files": n, "scenes": scenes, "untimed": untimed, "seed": seed}))
    print(f"  {n} files, {scenes} scenes, in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return root


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (the CLI and the workers it reaped)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def warm_kernels() -> None:
    """Compile the render kernels once before any arm runs (a run that finds them uncompiled compiles them in its
    parent, which would show in that arm's time and peak RSS)."""
    from exposure_batch.engine.warmup import prepare_kernels

    prepare_kernels(raw_sources=False, bits=(8,), workers=1)


def run_cli(folder: Path, out: Path, jobs: int, group_by: str, extra=()) -> dict:
    """One `process` run in a fresh process: wall seconds, parent peak RSS (MB), the groups line's seconds."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-c", _WRAPPER, "process", str(folder), "-r", "-o", str(out), "-j", str(jobs),
           "--no-progress", "--group-by", group_by, *extra]
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"process failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    rss = re.search(r"PEAK_RSS_KB=(\d+)", proc.stderr)
    groups = re.search(r"groups: .* in ([0-9.]+) s \(survey ([0-9.]+) s, grouping ([0-9.]+) s, harmonising "
                       r"([0-9.]+) s", proc.stderr)
    counts = re.search(r"done (\d+), skipped (\d+), failed (\d+)", proc.stdout)
    scenes = re.search(r"in (\d+) scenes \((\d+) harmonised, (\d+) frames split off\)", proc.stderr)
    return {"wall": wall, "cpu": cpu, "rss_mb": int(rss.group(1)) / 1024 if rss else float("nan"),
            "group_s": float(groups.group(1)) if groups else 0.0,
            "survey_s": float(groups.group(2)) if groups else 0.0,
            "grouping_s": float(groups.group(3)) if groups else 0.0,
            "harmonise_s": float(groups.group(4)) if groups else 0.0,
            "done": int(counts.group(1)) if counts else -1, "skipped": int(counts.group(2)) if counts else -1,
            "scenes": int(scenes.group(1)) if scenes else 0, "harmonised": int(scenes.group(2)) if scenes else 0,
            "surveyed": "groups:" in proc.stderr}


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000", help="file counts, comma separated")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "exposure-batch-bench"))
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run both arms this many times per size (alternating which goes first) and report the round "
                         "with the median default / none CPU ratio (a shared, noisy machine)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    cache = Path(args.cache)
    rows = {}
    warm_kernels()
    print(f"2 arms per size, --jobs {args.jobs}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at "
          "the start", flush=True)
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        for k, n in enumerate(sizes):
            folder = build(n, cache)
            rounds = []
            for j in range(max(1, args.rounds)):
                row = {}
                for arm in (("auto", "none") if (k + j) % 2 == 0 else ("none", "auto")):
                    out = Path(tmp) / f"{n}_{arm}"
                    shutil.rmtree(out, ignore_errors=True)
                    row[arm] = run_cli(folder, out, args.jobs, arm)
                    r = row[arm]
                    print(f"{n:6d} files  {'default' if arm == 'auto' else '--group-by none':16s} "
                          f"{1000 * r['wall'] / n:7.1f} ms/file  wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s  "
                          f"parent peak RSS "
                          f"{r['rss_mb']:6.0f} MB" + (f"  grouping {r['group_s']:.1f} s (survey {r['survey_s']:.1f}, "
                                                       f"grouping {r['grouping_s']:.2f}, harmonise "
                                                       f"{r['harmonise_s']:.1f}; {r['scenes']} scenes, "
                                                       f"{r['harmonised']} harmonised)"
                                                       if arm == "auto" else ""), flush=True)
                if args.rounds > 1:
                    print(f"{n:6d} files  round {j + 1}: default / none {row['auto']['wall'] / row['none']['wall']:.3f}"
                          f" wall, {row['auto']['cpu'] / row['none']['cpu']:.3f} CPU", flush=True)
                rounds.append(row)
            row = sorted(rounds, key=lambda r: r["auto"]["cpu"] / r["none"]["cpu"])[len(rounds) // 2]
            row["rounds"] = len(rounds)
            rerun = run_cli(folder, Path(tmp) / f"{n}_auto", args.jobs, "auto")
            row["rerun"] = rerun
            print(f"{n:6d} files  re-run of the finished default batch: {rerun['wall']:.1f} s "
                  f"(skipped {rerun['skipped']}, surveyed: {'yes' if rerun['surveyed'] else 'no'})", flush=True)
            rows[n] = row
            for arm in ("auto", "none"):
                shutil.rmtree(Path(tmp) / f"{n}_{arm}", ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print("files | default ms/file | --group-by none ms/file | default / none (wall) | default / none (CPU) | "
          "default peak RSS | none peak RSS | grouping (worker s) | re-run s")
    print("---|---|---|---|---|---|---|---|---")
    for n, row in rows.items():
        a, b = row["auto"], row["none"]
        print(f"{n} | {1000 * a['wall'] / n:.1f} | {1000 * b['wall'] / n:.1f} | {a['wall'] / b['wall']:.3f} | "
              f"{a['cpu'] / b['cpu']:.3f} | {a['rss_mb']:.0f} MB | {b['rss_mb']:.0f} MB | {a['group_s']:.1f} | "
              f"{row['rerun']['wall']:.1f}")
    print("\ntargets (issue 25):")
    if 100 in rows and max(rows) >= 1000:
        big = max(rows)
        ratio = (rows[big]["auto"]["wall"] / big) / (rows[100]["auto"]["wall"] / 100)
        print(f"  default cost per file at {big} within 1.2x of 100 files: {ratio:.2f}x  {_verdict(ratio <= 1.2)}")
    for n in (1000, 10000):
        if n in rows:
            ratio = rows[n]["auto"]["wall"] / rows[n]["none"]["wall"]
            print(f"  default within 1.10x of --group-by none at {n}: {ratio:.3f}x  {_verdict(ratio <= 1.10)}")
    if 10000 in rows:
        rss = rows[10000]["auto"]["rss_mb"]
        print(f"  parent peak RSS under 500 MB at 10000: {rss:.0f} MB  {_verdict(rss < 500)}")
    if 1000 in rows:
        rerun = rows[1000]["rerun"]["wall"]
        print(f"  re-run of a finished 1000-file batch under 5 s: {rerun:.1f} s  {_verdict(rerun < 5)}")
    if args.json:
        Path(args.json).write_text(json.dumps({str(n): r for n, r in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
