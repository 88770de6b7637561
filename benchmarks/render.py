"""Benchmark: full-resolution render of a 24-megapixel image with a 5-step recipe (issue #2, item 9).

Prints, in one run: the time of one plain NumPy pass over the same array (read + write, in place) as the
baseline, the render time (best of --repeats after a warm-up) and the ratio render / baseline, for 1 and 2
threads, plus peak memory relative to the image's own size: tracemalloc's peak (NumPy allocations) and the growth
of the process's peak RSS (ru_maxrss, everything: numba's block buffers too). Also times the fused render +
sRGB 8-bit encode (`render_encoded`) and the first call (JIT compile, or load from numba's on-disk cache).
Targets: ratio <= 3 and peak memory <= 3x the image size.

    python benchmarks/render.py [--megapixels 24] [--repeats 3] [--threads 1,2] [--numpy] [--cold]

--numpy also times the NumPy fallback path; --cold compiles from scratch (numba cache in a temporary folder).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np

RECIPE_STEPS = [
    ("white_balance", {"red": 1.08, "green": 0.98, "blue": 0.93}),
    ("exposure", {"ev": 0.62}),
    ("tone_curve", {"slopes": [1.6, 1.3, 1.1, 1.0, 0.9, 0.8, 0.8, 0.7]}),
    ("contrast", {"amount": 0.3}),
    ("saturation", {"amount": 0.4}),
]


def make_image(megapixels: float) -> np.ndarray:
    """(H, W, 3) float32 linear RGB in [0, 1.25), 3:2 aspect, filled in row bands (no full-size temporaries)."""
    w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    h = int(round(megapixels * 1e6 / w))
    img = np.empty((h, w, 3), dtype=np.float32)
    rng = np.random.default_rng(0)
    for r in range(0, h, 256):
        img[r:r + 256] = rng.random((min(256, h - r), w, 3), dtype=np.float32) * np.float32(1.25)
    return img


def best_of(fn, repeats: int) -> tuple[float, float]:
    """(best wall seconds, best process CPU seconds) over `repeats` calls after one warm-up call."""
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def traced_peak(fn) -> int:
    """Peak bytes NumPy allocated (tracemalloc) while fn ran."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=24.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy fallback path")
    ap.add_argument("--cold", action="store_true", help="compile the kernels from scratch (empty numba cache)")
    args = ap.parse_args(argv)
    if args.cold:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba-cold-")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from exposure_batch.recipe import Recipe  # noqa: PLC0415
    from exposure_batch.render import fused_available, render, render_encoded  # noqa: PLC0415

    recipe = Recipe.from_steps(RECIPE_STEPS)
    fused = fused_available()
    print(f"recipe: {' -> '.join(s.filter for s in recipe.steps)}; fused kernels: {'yes' if fused else 'no (NumPy)'}")

    # First calls on a tiny image: JIT compile or cache load (and numba's own start-up).
    tiny = make_image(0.01)
    for label, fn in (("render", lambda: render(recipe, tiny)), ("render_encoded", lambda: render_encoded(recipe, tiny))):
        t = time.perf_counter()
        fn()
        print(f"first call {label:15s} {time.perf_counter() - t:7.2f} s  ({'cold compile' if args.cold else 'compile or cache load'})")

    img = make_image(args.megapixels)
    nbytes = img.nbytes
    print(f"image: {img.shape[1]}x{img.shape[0]} = {img.shape[0] * img.shape[1] / 1e6:.1f} MP, "
          f"{nbytes / 2**20:.0f} MiB float32")
    one = np.float32(1.0)
    base, base_cpu = best_of(lambda: np.multiply(img, one, out=img), args.repeats)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times suffer when others run; "
          "CPU time is the process's, all threads)")
    print(f"{'':45s}    {'wall':>8s}            {'cpu':>8s}")
    print(f"{'baseline: numpy in-place pass (read + write)':45s}    {base * 1e3:8.1f} ms         "
          f"{base_cpu * 1e3:8.1f} ms")
    t_copy, c_copy = best_of(lambda: img.copy(), args.repeats)
    print(f"{'(for reference: img.copy() into a new array)':45s}    {t_copy * 1e3:8.1f} ms {t_copy / base:5.2f}x   "
          f"{c_copy * 1e3:8.1f} ms {c_copy / base_cpu:5.2f}x")

    codes = np.clip(np.rint(img * 65535), 0, 65535).astype(np.uint16)  # the same image as LibRaw's 16-bit codes
    rss0 = maxrss_bytes()
    rows = []
    for th in [int(t) for t in args.threads.split(",") if t.strip()]:
        t_r = best_of(lambda: render(recipe, img, out=img, threads=th), args.repeats)
        rows.append((f"render in place, {th} thread(s)", t_r))
        t_e = best_of(lambda: render_encoded(recipe, img, "srgb", bits=8, threads=th), args.repeats)
        rows.append((f"render_encoded sRGB 8-bit, {th} thread(s)", t_e))
        t_c = best_of(lambda: render_encoded(recipe, codes, "srgb", bits=8, threads=th), args.repeats)
        rows.append((f"  the same from uint16 codes (RAWs), {th} thr", t_c))
        if args.numpy and fused:
            t_n = best_of(lambda: render(recipe, img, out=img, threads=th, fused=False), 1)
            rows.append((f"numpy path in place, {th} thread(s)", t_n))
    try:
        from exposure_batch.color import Space  # noqa: PLC0415
        from exposure_batch.io.write import encode_to_int  # noqa: PLC0415
    except ImportError:
        encode_to_int = None
    if encode_to_int is not None:
        t_io = best_of(lambda: encode_to_int(img, Space.SRGB, linear=False, bits=8), 1)
        rows.append(("(io.write.encode_to_int sRGB 8-bit alone)", t_io))
    for label, (t, c) in rows:
        print(f"{label:45s}    {t * 1e3:8.1f} ms {t / base:5.2f}x   {c * 1e3:8.1f} ms {c / base_cpu:5.2f}x")
    rss_growth = maxrss_bytes() - rss0

    peak_inplace = traced_peak(lambda: render(recipe, img, out=img))
    peak_new = traced_peak(lambda: render(recipe, img))
    peak_enc = traced_peak(lambda: render_encoded(recipe, img, "srgb", bits=8))
    print(f"peak memory (x image size {nbytes / 2**20:.0f} MiB):")
    print(f"  tracemalloc  render in place {peak_inplace / nbytes:5.2f}x   render to new array {peak_new / nbytes:5.2f}x"
          f"   render_encoded uint8 {peak_enc / nbytes:5.2f}x")
    print(f"  ru_maxrss growth during the timed runs (in place + encoded): {rss_growth / nbytes:5.2f}x "
          f"(process peak {maxrss_bytes() / nbytes:4.2f}x, image included)")
    best_render = min(t for label, (t, c) in rows if label.startswith("render in place"))
    print(f"RESULT ratio {best_render / base:.2f} (target <= 3), peak extra memory "
          f"{max(peak_inplace, rss_growth) / nbytes:.2f}x in place / {peak_new / nbytes:.2f}x new array (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
