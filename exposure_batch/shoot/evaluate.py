"""`evaluate --bursts`: how alike the edited frames of one scene look, and how well they are restored.

For each held-out photo (shrunk to `max_side`, linear ProPhoto) a burst is made (shoot.bursts: one shared lighting
error, per-frame drift of +/-0.7 EV and +/-8% red / blue, shifted 92% crops). Each burst is edited by every source:
no edit, classic, learned (each frame alone, as `--group-by none` does) and a source + harmonised (the frames as
one group, shoot.harmonise). Figures, after the fixed display stage (sRGB):

* frame-to-frame: mean CIEDE2000 between every pair of edited frames of a scene, on their common area;
* restoration: mean CIEDE2000 of each edited frame against the same crop of the original.

Exports: evaluate_bursts, format_burst_table.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..render.preview import make_preview, thumbnail
from ..render import render
from .bursts import make_burst
from .harmonise import harmonise_group
from .survey import SURVEY_SIDE, Survey


def _agent_input(source, rgb_lin):
    return make_preview(rgb_lin) if source.wants == "preview" else thumbnail(rgb_lin)


def _surveys(name: str, frames) -> list[Survey]:
    return [Survey(f"{name}#{k}", thumbnail(f, SURVEY_SIDE)) for k, f in enumerate(frames)]


def _edit(kind: str, source, burst, name: str) -> list[np.ndarray]:
    """The burst's frames edited by `source` alone ('single') or as one harmonised group ('group')."""
    if source is None:
        return list(burst.frames)
    if kind == "single":
        recipes = source.decide([_agent_input(source, f) for f in burst.frames], None)
    else:
        h = harmonise_group(source, _surveys(name, burst.frames))
        single = {}
        if h.split:
            left = sorted(h.split)
            single = dict(zip(left, source.decide([_agent_input(source, burst.frames[i]) for i in left], None)))
        recipes = [h.recipes.get(i) or single[i] for i in range(len(burst.frames))]
    return [render(r, f) for r, f in zip(recipes, burst.frames)]


def evaluate_bursts(paths: list[str], sources: dict, frames: int = 5, max_side: int = 384, seed: int = 0,
                    log=print) -> dict:
    """{'setup': ..., 'sources': {name: {'frame_to_frame', 'restoration', 'split', 'seconds'}}, 'per_scene': ...}.

    sources: {'no edit': None, 'classic': agent, 'learned': agent, 'learned + harmonised': ('group', agent), ...};
    a plain agent edits every frame alone.
    """
    from ..agent.data import display_np  # noqa: PLC0415
    from ..agent.evaluate import ciede2000  # noqa: PLC0415
    from ..io import decode  # noqa: PLC0415

    bursts = []
    for i, path in enumerate(paths):
        try:
            photo = thumbnail(decode(path).rgb_lin, max_side)
        except Exception as err:  # noqa: BLE001
            log(f"{path}: skipped ({err})")
            continue
        bursts.append((os.path.basename(path), make_burst(photo, np.random.default_rng([seed, i]), frames)))
    result = {"setup": {"photos": len(bursts), "frames": frames, "max_side": max_side, "seed": seed},
              "sources": {}, "per_scene": {}}
    for name, entry in sources.items():
        kind, source = entry if isinstance(entry, tuple) else ("single", entry)
        t0 = time.time()
        f2f, rest, per_scene = [], [], []
        for scene, burst in bursts:
            shown = [display_np(o) for o in _edit(kind, source, burst, scene)]
            originals = [display_np(o) for o in burst.originals]
            common = [burst.common(k, s) for k, s in enumerate(shown)]
            pairs = [ciede2000(common[a], common[b]) for a in range(len(common)) for b in range(a + 1, len(common))]
            f2f.append(float(np.mean(pairs)))
            rest.append(float(np.mean([ciede2000(s, o) for s, o in zip(shown, originals)])))
            per_scene.append({"scene": scene, "frame_to_frame": round(f2f[-1], 3), "restoration": round(rest[-1], 3)})
        result["sources"][name] = {"frame_to_frame": float(np.mean(f2f)), "restoration": float(np.mean(rest)),
                                   "seconds": round(time.time() - t0, 2)}
        result["per_scene"][name] = per_scene
    return result


def format_burst_table(result: dict) -> str:
    """Markdown table: source | frame-to-frame CIEDE2000 | restoration CIEDE2000."""
    s = result["setup"]
    lines = [f"{s['photos']} scenes x {s['frames']} frames at {s['max_side']} px (seed {s['seed']})", "",
             "| edit | frame-to-frame CIEDE2000 within a scene | restoration CIEDE2000 vs originals |",
             "|---|---|---|"]
    for name, v in result["sources"].items():
        lines.append(f"| {name} | {v['frame_to_frame']:.2f} | {v['restoration']:.2f} |")
    return "\n".join(lines)
