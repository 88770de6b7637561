"""Regenerate exposure_batch/data/colour_constants.json: the colour matrices derived with colour-science.

    python tools/make_colour_constants.py

Worker processes read the stored matrices instead of importing colour-science (about 1.2 s per process).
tests/test_color.py recomputes every entry and fails when the file is stale, e.g. after a colour-science upgrade
that changes a derivation: run this script then.
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from exposure_batch import color  # noqa: E402
from exposure_batch.io.write import atomic_write  # noqa: E402


def main() -> None:
    table = {name: derive().tolist() for name, derive in sorted(color.constant_derivations().items())}
    path = str(color.constants_resource())  # the source tree this script runs from
    with atomic_write(path, "w") as fh:
        json.dump({"generated_by": "tools/make_colour_constants.py",
                   "colour_science": color._colour().__version__, **table}, fh, indent=1)  # noqa: SLF001
        fh.write("\n")
    print(f"wrote {len(table)} matrices to {path}")


if __name__ == "__main__":
    main()
