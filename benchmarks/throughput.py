"""Batch throughput on real-ish 12 MP RAW files: rawpy decode floor vs our pipeline vs darktable-cli.

    python benchmarks/throughput.py --files 32 --jobs 2 [--rounds 3]

Input: DNGs of >= 12 MP built from real photos with exposure_batch.io.dng.write_dng (RGGB mosaic through a real
camera's colour matrix, shot + read noise, lossless-JPEG tiles like a camera's DNG). Photos come from the Debian
package lomiri-wallpapers-20.04 (CC-BY / CC-BY-SA; `apt-get download` into the cache folder, nothing installed),
or --photos DIR, or as a last resort the repository's samples/ upscaled. The DNGs are cached in --cache.

Prints, in one run:
  (a) decode floor: rawpy.imread + postprocess (our develop settings: linear 16-bit ProPhoto, camera WB) over the
      files in --jobs spawned processes, nothing else; (a') the same with the allocator setting our workers use
      (engine.keep_freed_memory: freed buffers reused, no page faults), so both ratios can be read;
  (b) our pipeline: engine.run_batch (decode -> agent (--agent, default learned) -> render -> JPEG q95 + darktable
      sidecar, atomic writes) with --jobs workers; (b)/(a) (target >= 0.8);
  (b') the default run: (b) with grouping on (survey, harmonise and edit tasks in the engine's one pool,
      shoot.stream.run_grouped); (b')/(a) (issue 25's target >= 0.85; --skip-grouped leaves it out);
  (c) darktable-cli rendering the same DNGs (the first --darktable-files of them: it is ~5x slower and starts
      afresh for every file, so its rate is steady from the first file) with the darktable sidecars (b) wrote
      (--jobs invocations at a time, fresh config dir, JPEG q95); (b)/(c) (target >= 3);
  peak RSS of each phase (the sum over the process tree, sampled every 50 ms; target < 2 GB for (b));
  agent inference time per image at batch 1 and 64 (classic agent; the learned one when a model is available).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exposure_batch import color  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PHOTO_PACKAGE = "lomiri-wallpapers-20.04"
MP12 = (4256, 2832)  # 12.05 MP, 3:2 like most cameras


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------
def find_photos(cache: Path, photos_dir: str | None) -> tuple[list[Path], str]:
    """Real photos to build DNGs from, and where they came from."""
    exts = ("*.jpg", "*.jpeg", "*.png")
    if photos_dir:
        return sorted(p for e in exts for p in Path(photos_dir).glob(e)), photos_dir
    unpacked = cache / "photos" / PHOTO_PACKAGE
    if not unpacked.exists():
        try:
            dl = cache / "deb"
            dl.mkdir(parents=True, exist_ok=True)
            subprocess.run(["apt-get", "download", PHOTO_PACKAGE], cwd=dl, check=True, capture_output=True, timeout=300)
            deb = next(dl.glob(f"{PHOTO_PACKAGE}_*.deb"))
            unpacked.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError, StopIteration) as err:
            print(f"note: could not fetch {PHOTO_PACKAGE} ({err}); using samples/ upscaled", file=sys.stderr)
            shutil.rmtree(unpacked, ignore_errors=True)
    found = sorted(p for e in exts for p in unpacked.rglob(e)) if unpacked.exists() else []
    if found:
        return found, f"Debian {PHOTO_PACKAGE}"
    return sorted(REPO.glob("samples/*.jpg")) + sorted(REPO.glob("samples/*.png")), "samples/ (upscaled)"


def _photo_srgb8(path: Path, index: int) -> np.ndarray:
    """(H, W, 3) uint8 sRGB at 12 MP: cover-crop + Lanczos resize; odd indices mirrored so every file differs."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        im = ImageOps.fit(im, MP12, Image.LANCZOS, centering=(0.5 + 0.1 * ((index % 3) - 1), 0.5))
        if index % 2:
            im = ImageOps.mirror(im)
        return np.asarray(im)


def _make_one(args) -> str:
    from exposure_batch.io.dng import write_dng

    photo, out, index = args
    rgb_lin = color.srgb_decode(_photo_srgb8(Path(photo), index).astype(np.float32) / 255.0)
    # Uncompressed: darktable's rawspeed rejects the writer's lossless-JPEG tiles (predictor 6); LibRaw reads both.
    write_dng(out, rgb_lin, space="srgb", noise=True, seed=index, compression="none",
              exif={"iso": 200, "exposure_time": 1 / 125, "f_number": 8.0, "focal_length": 35.0})
    return out


def build_dngs(n: int, cache: Path, photos_dir: str | None, jobs: int) -> tuple[list[str], str]:
    photos, origin = find_photos(cache, photos_dir)
    if not photos:
        raise SystemExit("no photos found to build DNGs from")
    folder = cache / f"dng_{MP12[0]}x{MP12[1]}_raw_{'samples' if origin.startswith('samples') else 'photos'}"
    folder.mkdir(parents=True, exist_ok=True)
    todo, files = [], []
    for i in range(n):
        out = folder / f"IMG_{i:04d}.dng"
        files.append(str(out))
        if not out.exists():
            todo.append((str(photos[i % len(photos)]), str(out), i))
    if todo:
        print(f"building {len(todo)} DNGs of {MP12[0]}x{MP12[1]} from {origin} in {folder} ...", file=sys.stderr)
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            list(pool.map(_make_one, todo))
    return files, origin


# ---------------------------------------------------------------------------------------------------------------
# Measurement helpers
# ---------------------------------------------------------------------------------------------------------------
def _cpu_seconds() -> float:
    """User + system CPU of this process and its reaped children (spawned workers, darktable-cli)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class PeakRSS:
    """Samples the summed RSS of this process and all its descendants every 50 ms (psutil); also CPU seconds."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.proc, self.interval, self.peak = psutil.Process(), interval, 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001  (a child that just exited)
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._cpu0 = _cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu = _cpu_seconds() - self._cpu0


def _rawpy_decode(path: str) -> tuple:
    import rawpy

    with rawpy.imread(path) as raw:
        rgb16 = raw.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, use_camera_wb=True,
                                output_color=rawpy.ColorSpace.ProPhoto, user_flip=None)
    return rgb16.shape


def steady_rate(done_at: list[float], jobs: int) -> float:
    """Files/s after every worker delivered its first file (start-up and the first decode excluded)."""
    done_at = sorted(done_at)
    k = min(jobs, len(done_at) - 1)
    span = done_at[-1] - done_at[k - 1] if k >= 1 else 0.0
    return (len(done_at) - k) / span if span > 0 else float("nan")


def decode_floor(files: list[str], jobs: int, keep_memory: bool = False) -> tuple[float, PeakRSS, tuple, float]:
    """Seconds, memory/CPU and steady-state rate for rawpy decoding every file in `jobs` spawned processes
    (keep_memory: with the allocator setting our workers use, engine.keep_freed_memory)."""
    from concurrent.futures import as_completed

    from exposure_batch.engine import keep_freed_memory

    done_at = []
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        init = keep_freed_memory if keep_memory else None
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=init) as pool:
            futures = [pool.submit(_rawpy_decode, f) for f in files]
            for fut in as_completed(futures):
                fut.result()
                done_at.append(time.perf_counter())
            shape = futures[0].result()
        seconds = time.perf_counter() - t0
    return seconds, rss, shape, steady_rate(done_at, jobs)


def our_pipeline(files: list[str], jobs: int, outdir: str, sidecars: str, omp: int | None, prefetch: int | None,
                 agent: str = "learned") -> tuple[float, PeakRSS, list, float]:
    from exposure_batch.engine import run_batch
    from exposure_batch.pipeline.options import OutputOptions
    from exposure_batch.sources import SourceSpec

    opts = OutputOptions(outdir, fmt="jpeg", quality=95, overwrite=True, sidecars=sidecars)
    job_list = [(f, os.path.join(outdir, Path(f).stem + ".jpg")) for f in files]
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        done_at: list[float] = []
        extra = {} if prefetch is None else {"prefetch": prefetch}
        results = run_batch(job_list, SourceSpec(agent), opts, jobs, threads=omp, **extra,
                            on_result=lambda r: done_at.append(time.perf_counter()))
        seconds = time.perf_counter() - t0
    return seconds, rss, results, steady_rate(done_at, jobs)


def grouped_pipeline(files: list[str], jobs: int, outdir: str, sidecars: str, agent: str = "learned"
                     ) -> tuple[float, PeakRSS, list, float]:
    """(b') the default `process` run: (b) with grouping on (shoot.stream.run_grouped: survey, harmonise and edit
    tasks in the engine's one pool, planned window by window)."""
    from exposure_batch.pipeline.options import OutputOptions
    from exposure_batch.shoot.grouping import GroupingOptions
    from exposure_batch.shoot.stream import run_grouped
    from exposure_batch.sources import SourceSpec

    opts = OutputOptions(outdir, fmt="jpeg", quality=95, overwrite=True, sidecars=sidecars)
    job_list = [(f, os.path.join(outdir, Path(f).stem + ".jpg")) for f in files]
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        done_at: list[float] = []
        results, _ = run_grouped(job_list, SourceSpec(agent), opts, GroupingOptions(), jobs,
                                 on_result=lambda r: done_at.append(time.perf_counter()))
        seconds = time.perf_counter() - t0
    return seconds, rss, results, steady_rate(done_at, jobs)


def _darktable_one(args) -> tuple[int, str]:
    src, xmp, out, cfg = args
    cmd = ["darktable-cli", src, *([xmp] if xmp else []), out, "--apply-custom-presets", "false", "--core",
           "--configdir", cfg, "--conf", "opencl=false", "--conf", "plugins/imageio/format/jpeg/quality=95"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return res.returncode, res.stderr[-300:]


def darktable(files: list[str], sidecar_dir: str | None, jobs: int, outdir: str) -> tuple[float, PeakRSS, int]:
    """Seconds, peak RSS and failures for darktable-cli over the files, `jobs` invocations at a time."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = []
    for i, f in enumerate(files):
        xmp = os.path.join(sidecar_dir, Path(f).name + ".xmp") if sidecar_dir else None
        cfg = os.path.join(outdir, f"cfg{i % jobs}")
        tasks.append((f, xmp if xmp and os.path.exists(xmp) else None, os.path.join(outdir, Path(f).stem + ".jpg"),
                      cfg))
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            codes = list(pool.map(_darktable_one, tasks))
        seconds = time.perf_counter() - t0
    failures = [c for c in codes if c[0] != 0]
    if failures:
        print(f"note: darktable-cli failed on {len(failures)} files: {failures[0][1]}", file=sys.stderr)
    return seconds, rss, len(failures)


def agent_timing(files: list[str], model: str | None) -> list[str]:
    """Per-image decide time at batch 1 and 64 for the classic (and learned) agent, on previews of the files."""
    from exposure_batch.io import decode
    from exposure_batch.pipeline.stages import agent_input
    from exposure_batch.sources import make_source

    lines = []
    base = [decode(f, half_size=True).rgb_lin for f in files[: min(len(files), 8)]]
    agents = [("classic", lambda: make_source("classic"))]
    agents.append(("learned", lambda: make_source("learned", model_path=model)))
    for name, build in agents:
        try:
            agent = build()
        except Exception as err:  # noqa: BLE001
            lines.append(f"agent {name:8s}: not measured ({' '.join(str(err).split())[:120]})")
            continue
        inputs = []
        for i in range(64):  # 64 distinct inputs: flips and exposure scalings of the files' previews
            img = base[i % len(base)]
            img = img[:, ::-1] if (i // len(base)) % 2 else img
            inputs.append(agent_input(agent, np.ascontiguousarray(img * np.float32(1.0 + 0.05 * (i // 2)))))
        agent.decide(inputs[:2])  # warm-up (lazy imports, graph tracing)
        t0 = time.perf_counter()
        for x in inputs[:16]:
            agent.decide([x])
        one = (time.perf_counter() - t0) / 16
        t0 = time.perf_counter()
        agent.decide(inputs)
        many = (time.perf_counter() - t0) / 64
        lines.append(f"agent {name:8s}: {one * 1000:8.2f} ms/image at batch 1, {many * 1000:8.2f} ms/image at "
                     f"batch 64 (input {agent.wants or 'none'} {inputs[0].shape})")
    return lines


def _line(name: str, n: int, seconds: float, rss: PeakRSS) -> str:
    return (f"{name:24s}: {n / seconds:6.3f} files/s ({seconds:6.1f} s, {rss.cpu / max(n, 1):5.2f} CPU-s/file)  "
            f"peak RSS {rss.peak / 2**30:5.2f} GiB")


def stage_breakdown(path: str, sidecars: str, agent: str, threads: int) -> list[str]:
    """CPU seconds of each stage for one file in this process (where the time goes), after one warm-up pass;
    the renderer gets `threads` threads, as in a worker (run it in a process spawned with the workers' thread
    limits)."""
    from exposure_batch.color import Space
    from exposure_batch.engine import keep_freed_memory
    from exposure_batch.io import decode
    from exposure_batch.io.write import write_encoded
    from exposure_batch.pipeline.stages import agent_input
    from exposure_batch.render import render_encoded
    from exposure_batch.sources import make_source

    keep_freed_memory()  # as in a worker
    source = make_source(agent)
    out = tempfile.mkdtemp(prefix="stages-")
    times: dict[str, float] = {}
    try:
        for _ in range(2):  # the first pass loads kernels and libraries; the second is measured
            def timed(name, fn):
                c0 = time.process_time()
                value = fn()
                times[name] = time.process_time() - c0
                return value

            timed("rawpy", lambda: _rawpy_decode(path))
            decoded = timed("decode (io)", lambda: decode(path))
            x = timed("agent input", lambda: agent_input(source, decoded.pixels))
            recipe = timed("decide", lambda: source.decide([x])[0])
            enc = timed("render+encode", lambda: render_encoded(recipe, decoded.pixels, Space.SRGB, bits=8,
                                                                threads=threads))
            jpg = os.path.join(out, "x.jpg")
            timed("JPEG write", lambda: write_encoded(enc, jpg, fmt="jpeg", quality=95, space="srgb",
                                                      source_path=path, overwrite=True,
                                                      source_exif=decoded.info.exif))
            if sidecars != "none":
                from exposure_batch.sidecars.writer import write_sidecars

                timed("sidecar", lambda: write_sidecars(recipe, jpg, path, sidecars))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return [f"CPU seconds per stage, one file, one process, agent {agent}: " +
            ", ".join(f"{k} {v:.3f}" for k, v in times.items())]


# ---------------------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=32,
                    help="number of 12 MP DNGs (default 32: enough that worker start-up, ~1 s of numba and LibRaw "
                         "initialisation per process, weighs little, as in an archive run)")
    ap.add_argument("--darktable-files", type=int, default=16, help="how many of them darktable-cli renders (c)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="worker processes for (a), (b), (c)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "exposure-batch-bench"),
                    help="where the photos and DNGs are kept between runs")
    ap.add_argument("--photos", help="folder of JPEG/PNG photos to build the DNGs from (default: Debian package)")
    ap.add_argument("--model", help="model folder for the learned agent's timing (default: the shipped one)")
    ap.add_argument("--skip-darktable", action="store_true", help="skip (c)")
    ap.add_argument("--agent", choices=("classic", "learned"), default="learned",
                    help="agent of (b) (default: learned, the default of `process`)")
    ap.add_argument("--prefetch", type=int, help="decoded files waiting per worker; default: the engine's")
    ap.add_argument("--skip-grouped", action="store_true", help="skip (b'), the default run with grouping on")
    ap.add_argument("--omp", type=int, help="OpenMP threads per process in every phase (default: cores // jobs)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run (a), (a') and (b) back to back this many times and report the median round (a shared, "
                         "noisy machine: consecutive phases vary by up to 10%%)")
    args = ap.parse_args()

    # The same OpenMP team size for every phase: the engine's default, cores // jobs (LibRaw and darktable use
    # OpenMP; `jobs` processes with a full team each would oversubscribe the cores). --omp overrides it.
    # Phases (a), (a'), (c) and the stage breakdown run in child processes given that many threads; (b) runs as a
    # user's `process --jobs N` does (the engine sets its workers' thread counts itself).
    from exposure_batch.engine import child_thread_limits

    omp = args.omp or int(os.environ.get("OMP_NUM_THREADS") or max(1, (os.cpu_count() or 1) // args.jobs))
    cache = Path(args.cache)
    files, origin = build_dngs(args.files, cache, args.photos, args.jobs)
    work = tempfile.mkdtemp(prefix="throughput-")
    try:
        try:
            import exposure_batch.sidecars.writer  # noqa: F401

            sidecars = "darktable"
        except ImportError:
            sidecars = "none"
        n = len(files)
        rounds = []
        for k in range(max(1, args.rounds)):  # (a), (a'), (b) back to back, `rounds` times
            with child_thread_limits(omp):
                a = decode_floor(files, args.jobs)
                t = decode_floor(files, args.jobs, keep_memory=True)
            b = our_pipeline(files, args.jobs, os.path.join(work, "ours"), sidecars, omp, args.prefetch, args.agent)
            g = (grouped_pipeline(files, args.jobs, os.path.join(work, "grouped"), sidecars, args.agent)
                 if not args.skip_grouped else None)
            rounds.append((a, t, b, g))
            if args.rounds > 1:
                print(f"round {k + 1}: (a) {n / a[0]:.3f}, (a') {n / t[0]:.3f}, (b) {n / b[0]:.3f} files/s; (b)/(a) "
                      f"{a[0] / b[0]:.2f} wall-clock, {b[3] / a[3]:.2f} steady-state; (b)/(a') {t[0] / b[0]:.2f}, "
                      f"{b[3] / t[3]:.2f}" + (f"; (b') {n / g[0]:.3f} files/s, (b')/(a) {a[0] / g[0]:.2f}"
                                              if g else ""))
        median = sorted(rounds, key=lambda r: r[0][0] / r[2][0])[len(rounds) // 2]  # by (b)/(a) wall-clock
        (a_s, a_rss, shape, a_steady), (t_s, t_rss, _, t_steady), (b_s, b_rss, results, b_steady), grouped = median
        failed = [r for r in results if r.status != "done"]
        a_tp, b_tp = n / a_s, n / b_s
        print(f"files: {n} DNGs, {shape[1]}x{shape[0]} ({shape[0] * shape[1] / 1e6:.1f} MP) from {origin}; "
              f"jobs {args.jobs}; OpenMP threads {omp} per process; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f} at the end"
              + (f"; figures of the median round of {len(rounds)} by (b)/(a)" if len(rounds) > 1 else ""))
        print(_line("(a) rawpy decode only", n, a_s, a_rss))
        print(_line("(a') same, memory kept", n, t_s, t_rss) + "  [the allocator setting of our workers: "
              "engine.keep_freed_memory]")
        print(_line("(b) exposure-batch", n, b_s, b_rss) +
              f"  [{n - len(failed)} done, {len(failed)} failed; agent {args.agent}; JPEG q95 + sidecar {sidecars}]")
        if failed:
            print(f"    first failure: {failed[0].path}: {failed[0].reason}")
        steady = (f"{b_steady / a_steady:.2f} steady-state ({b_steady:.3f} vs {a_steady:.3f} files/s)"
                  if n >= 8 * args.jobs else "steady-state n/a (needs --files >= 8 x jobs)")
        print(f"(b)/(a) = {b_tp / a_tp:.2f} wall-clock, {steady}, {a_rss.cpu / b_rss.cpu:.2f} by CPU seconds   "
              "(target >= 0.8)")
        print(f"(b)/(a') = {b_tp / (n / t_s):.2f} wall-clock, {b_steady / t_steady:.2f} steady-state, "
              f"{t_rss.cpu / b_rss.cpu:.2f} by CPU seconds   (against the floor with the same allocator setting)")
        if grouped is not None:
            g_s, g_rss, g_results, g_steady = grouped
            g_failed = sum(r.status != "done" for r in g_results)
            print(_line("(b') default run, grouped", n, g_s, g_rss) + f"  [{n - g_failed} done, {g_failed} failed; "
                  "grouping on: survey, harmonise and edit in the engine's workers]")
            print(f"(b')/(a) = {(n / g_s) / a_tp:.2f} wall-clock, {a_rss.cpu / g_rss.cpu:.2f} by CPU seconds   "
                  f"(issue 25 target >= 0.85); (b')/(b) = {b_s / g_s:.2f} wall-clock")
        if not args.skip_darktable and shutil.which("darktable-cli"):
            sidecar_dir = os.path.join(work, "ours") if sidecars != "none" else None
            dt_files = files[: max(1, min(args.darktable_files, n))]
            with child_thread_limits(omp):
                c_s, c_rss, c_fail = darktable(dt_files, sidecar_dir, args.jobs, os.path.join(work, "darktable"))
            n_c = len(dt_files)
            c_tp = max(n_c - c_fail, 1e-9) / c_s
            how = "with our darktable sidecars" if sidecar_dir else "default develop, NO sidecar (writer missing)"
            print(_line("(c) darktable-cli", n_c - c_fail, c_s, c_rss) + f"  [{how}; first {n_c} files; "
                  f"{args.jobs} at a time; {c_fail} failed]")
            print(f"(b)/(c) = {b_tp / c_tp:.2f} wall-clock, {(c_rss.cpu / max(n_c - c_fail, 1)) / (b_rss.cpu / n):.2f} "
                  f"by CPU seconds   (target >= 3)")
        else:
            print("(c) darktable-cli         : skipped")
        print(f"peak RSS of (b) = {b_rss.peak / 2**30:.2f} GiB   (target < 2 GiB)")
        with child_thread_limits(omp), ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            for line in pool.submit(stage_breakdown, files[0], sidecars, args.agent, omp).result():
                print(line)
        for line in agent_timing(files, args.model):
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
