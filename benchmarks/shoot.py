"""What grouping + harmonising add to a batch's wall time (issue 17's target: under 5%).

Builds bursts of 12 MP DNGs from real photos (default: the held-out training photos when present, else samples/;
`--photos DIR` for others): per photo `--frames` frames with drifting exposure / white balance and EXIF capture
times 1.5 s apart (scenes 10 min apart), cached in --cache. Then, in each of --rounds rounds, in alternating order:

  (a) the batch as today: `process --group-by none` (engine: run_batch with the default learned agent, --jobs
      workers, JPEG q95);
  (b) the batch with grouping: the survey + grouping + harmonising plan (shoot.plan.make_plan, in --jobs spawned
      workers), then the same engine rendering the planned recipes;

and prints seconds per phase, the ratio (b)/(a) by wall clock (median round), the plan's share, and its CPU seconds
against the engine's CPU seconds (this process + its workers).

    python benchmarks/shoot.py --files 24 --frames 4 --jobs 2 --rounds 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
MP12 = (4256, 2832)


def _make_dng(args) -> str:
    """One frame: the photo at 12 MP (cover crop, shifted per frame), drift applied in linear light, as a DNG."""
    from PIL import Image, ImageOps

    from exposure_batch import color
    from exposure_batch.io.dng import write_dng

    photo, out, scene, frame, when = args
    rng = np.random.default_rng([scene, frame])
    with Image.open(photo) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im = ImageOps.fit(im, MP12, Image.LANCZOS, centering=(0.45 + 0.1 * rng.random(), 0.45 + 0.1 * rng.random()))
        rgb = color.srgb_decode(np.asarray(im).astype(np.float32) / 255.0)
    gains = np.array([1 + rng.uniform(-0.08, 0.08), 1.0, 1 + rng.uniform(-0.08, 0.08)], np.float32)
    rgb = rgb * gains * np.float32(2.0 ** rng.uniform(-0.7, 0.0)) * np.float32(0.5)
    write_dng(out, rgb, space="srgb", noise=True, seed=scene * 100 + frame, compression="none",
              exif={"iso": 200, "exposure_time": 1 / 125, "f_number": 8.0, "focal_length": 35.0,
                    "capture_time": when})
    return out


def build(n: int, frames: int, cache: Path, photos_dir: str | None, jobs: int) -> list[str]:
    folder = Path(photos_dir) if photos_dir else REPO / "data" / "cache" / "training" / "photos" / "heldout"
    if not folder.is_dir():
        folder = REPO / "samples"
    photos = sorted(p for e in ("*.jpg", "*.jpeg", "*.png") for p in folder.glob(e))
    out_dir = cache / f"shoot_{MP12[0]}x{MP12[1]}_f{frames}"
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = dt.datetime(2026, 5, 1, 10, 0, 0)
    todo, files = [], []
    for i in range(n):
        scene, frame = divmod(i, frames)
        out = out_dir / f"IMG_{i:04d}.dng"
        files.append(str(out))
        when = (t0 + dt.timedelta(minutes=10 * scene, seconds=1.5 * frame)).isoformat(timespec="milliseconds")
        if not out.exists():
            todo.append((str(photos[scene % len(photos)]), str(out), scene, frame, when))
    if todo:
        print(f"building {len(todo)} DNGs of {MP12[0]}x{MP12[1]} in {out_dir} ...", file=sys.stderr)
        import multiprocessing as mp

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            list(pool.map(_make_dng, todo))
    return files


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(files, outdir, jobs: int, grouped: bool, agent: str) -> dict:
    from exposure_batch.engine import run_batch
    from exposure_batch.pipeline.options import OutputOptions
    from exposure_batch.shoot.grouping import GroupingOptions
    from exposure_batch.shoot.plan import PlannedSpec
    from exposure_batch.shoot.stream import make_plan
    from exposure_batch.sources import SourceSpec

    opts = OutputOptions(outdir, fmt="jpeg", quality=95, overwrite=True)
    jobs_list = [(f, os.path.join(outdir, Path(f).stem + ".jpg")) for f in files]
    spec = SourceSpec(agent)
    t0, c0 = time.perf_counter(), _cpu()
    plan_s = plan_cpu = 0.0
    groups = 0
    if grouped:
        plan = make_plan(files, spec, GroupingOptions(), jobs)
        plan_s, plan_cpu = time.perf_counter() - t0, _cpu() - c0
        groups = sum(1 for g in plan.groups if len(g["files"]) > 1)
        spec = PlannedSpec.wrapping(spec, plan)
    results = run_batch(jobs_list, spec, opts, workers=jobs)
    failed = [r for r in results.values()] if isinstance(results, dict) else results
    bad = [r for r in failed if r.status != "done"]
    if bad:
        raise SystemExit(f"{len(bad)} files failed, e.g. {bad[0].path}: {bad[0].reason}")
    return {"seconds": time.perf_counter() - t0, "cpu": _cpu() - c0, "plan_seconds": plan_s, "plan_cpu": plan_cpu,
            "groups": groups}


def warm_marginal(files, jobs: int, agent: str) -> tuple[float, float]:
    """CPU seconds per file of a second plan over the same files (imports, model, compiled kernels warm), and of the
    agent's own decisions on the same previews (which grouping moves from the workers into the plan)."""
    from exposure_batch.shoot.grouping import GroupingOptions
    from exposure_batch.shoot.survey import survey_files
    from exposure_batch.shoot.stream import make_plan
    from exposure_batch.sources import SourceSpec

    source = SourceSpec(agent).build()
    make_plan(files, SourceSpec(agent), GroupingOptions(), jobs)
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)  # the plan's workers are reaped children
    me = lambda: sum(sum(resource.getrusage(w)[:2]) for w in who)  # noqa: E731
    c0 = me()
    make_plan(files, SourceSpec(agent), GroupingOptions(), jobs)
    plan = me() - c0
    surveys = survey_files(files)
    inputs = [s.agent_input(source.wants) for s in surveys]
    from threadpoolctl import threadpool_limits

    c0 = me()
    with threadpool_limits(limits=1, user_api="blas"):  # as the plan (and the engine's workers) run it
        source.decide(inputs, None)
    return plan / len(files), (me() - c0) / len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--frames", type=int, default=4, help="frames per scene")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--agent", default="learned")
    ap.add_argument("--photos", help="folder of photos to build the DNGs from")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "exposure-batch-bench"))
    args = ap.parse_args()
    files = build(args.files, args.frames, Path(args.cache), args.photos, args.jobs)
    rows = {"none": [], "grouped": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ("none", "grouped") if r % 2 == 0 else ("grouped", "none")
            for kind in order:
                got = run(files, os.path.join(tmp, kind), args.jobs, kind == "grouped", args.agent)
                rows[kind].append(got)
                print(f"round {r + 1} {kind:8s} {got['seconds']:7.2f} s wall, {got['cpu']:7.2f} CPU s"
                      + (f" (plan {got['plan_seconds']:.2f} s wall, {got['plan_cpu']:.2f} CPU s, "
                         f"{got['groups']} groups)" if kind == "grouped" else ""), flush=True)
    n = len(files)
    ratios = [g["seconds"] / a["seconds"] for a, g in zip(rows["none"], rows["grouped"])]
    cpu_ratios = [g["cpu"] / a["cpu"] for a, g in zip(rows["none"], rows["grouped"])]
    engine_cpu = statistics.median(a["cpu"] for a in rows["none"]) / n
    plan_file, agent_file = warm_marginal(files, args.jobs, args.agent)
    # round 1 runs (a) first, so its plan is the first in this process: imports and model load included
    fixed = rows["grouped"][0]["plan_cpu"] - n * plan_file
    print(f"\n{n} DNGs of 12 MP ({args.frames} frames per scene), --jobs {args.jobs}, agent {args.agent}")
    print(f"(b) grouped / (a) --group-by none, wall clock: median {statistics.median(ratios):.3f} "
          f"(rounds {', '.join(f'{x:.3f}' for x in ratios)}); target < 1.05")
    print(f"(b) / (a) by CPU seconds (this process + workers): median {statistics.median(cpu_ratios):.3f} "
          f"(rounds {', '.join(f'{x:.3f}' for x in cpu_ratios)})")
    print(f"per file, warm: plan {plan_file:.3f} CPU s = {100 * plan_file / engine_cpu:.1f}% of the engine's "
          f"{engine_cpu:.3f} CPU s per file; of it the agent's decision {agent_file:.3f} CPU s, which the workers "
          f"then skip: added {plan_file - agent_file:.3f} CPU s = {100 * (plan_file - agent_file) / engine_cpu:.1f}%")
    print(f"once per run (round 1's plan less its files' share): {fixed:.2f} CPU s (imports: colour-science, "
          f"model load; compiled kernels)")
    for size in (n, 100, 1000):
        added = fixed + size * (plan_file - agent_file)
        print(f"  projected added CPU for {size:5d} files: {100 * added / (size * engine_cpu):.1f}%")


if __name__ == "__main__":
    main()
