"""Benchmark: what the editor sidecars cost per photo (`--sidecar cube`, `--darktable-mode lut`, parametric XMP).

Every photo of a shoot gets its own recipe, so each one bakes and writes its own 65^3 .cube (no cache hit). Prints,
in one run and on the same recipes:
  (a) baseline: the edit itself without decode: full-resolution render + JPEG q95 encode of a --megapixels image
      (render.render_encoded + io.write.write_encoded), per photo;
  (b) the cube sidecar: `sidecars.writer.write_sidecars(..., "cube")` per photo (bake + write, atomic), and (b)/(a);
  (c) `--sidecar darktable --darktable-mode lut` (the .cube plus the darktable XMP reading it), and (c)/(a);
  (d) the parametric darktable + Adobe XMPs, and (d)/(a);
  (e) the .cube written the way it was before (colour-science's `write_LUT`), and (e)/(b).
Target: (b) < 0.2 s per photo (it was about 2 s: 5x the whole edit).

    python benchmarks/sidecars.py [--photos 12] [--megapixels 12]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exposure_batch.color import Space  # noqa: E402
from exposure_batch.io.write import write_encoded  # noqa: E402
from exposure_batch.recipe import Recipe  # noqa: E402
from exposure_batch.render import render_encoded  # noqa: E402
from exposure_batch.sidecars import cube  # noqa: E402
from exposure_batch.sidecars.writer import SidecarOptions, write_sidecars  # noqa: E402

TARGET_S = 0.2


def shoot_recipes(n: int) -> list[Recipe]:
    """n distinct five-step recipes (as the agent makes: every photo its own parameters)."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        out.append(Recipe.from_steps([
            ("white_balance", {"red": float(rng.uniform(0.9, 1.1)), "green": 1.0, "blue": float(rng.uniform(0.9, 1.1))}),
            ("exposure", {"ev": float(rng.uniform(-1, 1))}),
            ("tone_curve", {"slopes": [float(v) for v in rng.uniform(0.6, 1.6, 8)]}),
            ("contrast", {"amount": float(rng.uniform(-0.3, 0.5))}),
            ("saturation", {"amount": float(rng.uniform(0.0, 0.5))}),
        ]))
    return out


def photo(megapixels: float) -> np.ndarray:
    """(H, W, 3) float32 linear values in [0, 1.25), 3:2."""
    w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    h = int(round(megapixels * 1e6 / w))
    return np.random.default_rng(0).random((h, w, 3), dtype=np.float32) * np.float32(1.25)


def per_photo(fn, recipes, folder: str) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of this process, all its threads) of fn(recipe, i, folder) for each recipe."""
    times = []
    for i, recipe in enumerate(recipes):
        t, c = time.perf_counter(), time.process_time()
        fn(recipe, i, folder)
        times.append((time.perf_counter() - t, time.process_time() - c))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--megapixels", type=float, default=12.0)
    args = ap.parse_args()
    recipes = shoot_recipes(args.photos + 1)
    warm, recipes = recipes[0], recipes[1:]
    image = photo(args.megapixels)
    with tempfile.TemporaryDirectory(prefix="eb-bench-sidecars-") as tmp:
        source = os.path.join(tmp, "IMG_0001.CR2")
        open(source, "wb").close()  # the sidecars are named after it; never read

        def edit(recipe, i, folder):
            encoded = render_encoded(recipe, image, Space.SRGB, bits=8)
            write_encoded(encoded, os.path.join(folder, f"e{i}.jpg"), fmt="jpeg", quality=95, overwrite=True)

        def sidecar(spec, **kw):
            opts = SidecarOptions.parse(spec, **kw)

            def run(recipe, i, folder):
                sub = os.path.join(folder, f"{spec}{kw.get('darktable_mode', '')}{i}")
                os.makedirs(sub)
                write_sidecars(recipe, os.path.join(sub, "IMG_0001.jpg"), source, opts)
            return run

        def colour_writer(recipe, i, folder):
            import colour  # noqa: PLC0415

            table = cube.bake(recipe)
            lut = colour.LUT3D(table=np.asarray(table, dtype=np.float64), name="exposure-batch look")
            colour.write_LUT(lut, os.path.join(folder, f"old{i}.cube"), decimals=6)

        for fn in (edit, sidecar("cube"), sidecar("darktable", darktable_mode="lut"),
                   sidecar("darktable,adobe")):
            fn(warm, 999, tmp)  # warm-up: kernels compiled or loaded from numba's cache, modules imported
        rows = [
            ("(a) edit: render + JPEG encode (baseline)", per_photo(edit, recipes, tmp)),
            ("(b) --sidecar cube", per_photo(sidecar("cube"), recipes, tmp)),
            ("(c) --sidecar darktable --darktable-mode lut", per_photo(sidecar("darktable", darktable_mode="lut"),
                                                                       recipes, tmp)),
            ("(d) --sidecar darktable,adobe (parametric)", per_photo(sidecar("darktable,adobe"), recipes, tmp)),
            ("(e) .cube via colour-science write_LUT (before)", per_photo(colour_writer, recipes[:3], tmp)),
        ]
    med = {name[:3]: statistics.median(w for w, _ in t) for name, t in rows}
    cpu = {name[:3]: statistics.median(c for _, c in t) for name, t in rows}
    print(f"{args.photos} photos, {args.megapixels:g} MP, 65^3 LUT, median per photo (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times grow with it, ratios hold)")
    for name, _ in rows:
        key = name[:3]
        ratio = f"  {med[key] / med['(a)']:.2f}x the edit" if key != "(a)" else ""
        print(f"  {name:50s} {med[key]:7.3f} s wall {cpu[key]:7.3f} s CPU{ratio}")
    print(f"  (e)/(b): the old writer took {med['(e)'] / med['(b)']:.1f}x the cube sidecar's whole cost")
    verdict = "met" if med["(b)"] < TARGET_S and med["(c)"] < TARGET_S else "MISSED"
    print(f"target (b), (c) < {TARGET_S} s per photo: {verdict} ({med['(b)']:.3f} s, {med['(c)']:.3f} s wall; "
          f"{cpu['(b)']:.3f} s, {cpu['(c)']:.3f} s CPU)")


if __name__ == "__main__":
    main()
