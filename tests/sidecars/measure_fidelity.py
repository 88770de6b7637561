"""Print the measured CIEDE2000 (mean / max) per filter and mode: our render vs the .cube applied in Python and vs
darktable-cli with our sidecar (synthetic chart + every sample photo). Run: python -m tests.sidecars.measure_fidelity
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from exposure_batch.sidecars import cube
from tests.sidecars import cases, tools
from tests.sidecars.test_darktable import _render_case, samples_mosaic


def main() -> None:
    print("| recipe | .cube 65^3 tetrahedral (Python) | darktable lut | darktable parametric |")
    print("|---|---|---|---|")
    chart = tools.test_image_srgb()
    for name in [*cases.PER_FILTER, "look"]:
        r = cases.recipe(name)
        de_py = tools.delta_e(cube.apply_lut(cube.bake(r), chart.reshape(-1, 3)), cube.transform_srgb(r, chart.reshape(-1, 3)))
        cells = [f"{de_py.mean():.3f} / {de_py.max():.2f}"]
        for mode in ("lut", "parametric"):
            with tempfile.TemporaryDirectory() as tmp:
                de = _render_case(name, mode, Path(tmp))
            cells.append(f"{de.mean():.3f} / {de.max():.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    mosaic, rows = samples_mosaic()
    for mode in ("lut", "parametric"):
        with tempfile.TemporaryDirectory() as tmp:
            src = tools.write_test_tiff(os.path.join(tmp, "samples.tif"), mosaic)
            de = _render_case("look", mode, Path(tmp), src=src)
        for sample, (y0, y1) in zip(cases.SAMPLES, rows):
            print(f"| look on {sample} | darktable {mode} | {de[y0:y1].mean():.3f} / {de[y0:y1].max():.2f} |")


if __name__ == "__main__":
    main()
