"""Before/after pair sets for the look tests, generated from the shipped samples with the project's own writers.

Befores are crops of the sample photos with a per-pair exposure and colour error (16-bit ProPhoto PNG); afters are
the classic agent's recipe followed by a known look, rendered from the decoded before file exactly as
`process --profile` would, and written as 16-bit ProPhoto TIFFs (nothing clipped by the sRGB gamut).
"""
from __future__ import annotations

import os

import numpy as np

from exposure_batch.io import decode
from exposure_batch.io.write import write_image
from exposure_batch.recipe import Step
from exposure_batch.render.preview import _resize_area, thumbnail
from tests.helpers import SAMPLES_DIR

SCENES = ("astronaut_orientation6.jpg", "canon_powershot_g1x2.jpg", "casio_qv_r51.jpg", "chelsea_adobergb_16bit.tif",
          "coffee_p3_16bit.png", "nikon_d300_rec2020_linear_16bit.png")

#: The known look (non-adaptive; the other steps of the layout stay at identity).
KNOWN = {
    "white_balance": {"red": 1.10, "green": 1.0, "blue": 0.85},
    "black_and_white": {"amount": 0.25},
    "tone_curve": {"slopes": [0.7, 0.85, 1.15, 1.3, 1.25, 1.05, 0.9, 0.8]},
    "contrast": {"amount": 0.15},
}


def known_steps() -> tuple[Step, ...]:
    from exposure_batch.look.model import LAYOUT, LookModel

    model = LookModel(adaptive=False)
    steps = list(model.steps(model.identity))
    for i, (name, block) in enumerate(LAYOUT):
        if name in KNOWN and block != "wb_out":
            steps[i] = Step(name, KNOWN[name])
    return tuple(steps)


def apply_steps(lin: np.ndarray, steps) -> np.ndarray:
    out = np.array(lin, np.float32, copy=True)
    for s in steps:
        out = s.spec.apply_np(out, s.spec.prepare(s.params))
    return out


def make_pairs(folder, per_scene: int = 2, side: int = 120, seed: int = 0) -> tuple[str, str]:
    """folder/before/<scene>/<n>.png and folder/after/<scene>/<n>.tif; returns the two folders."""
    from exposure_batch.agent.classic import ClassicAgent
    from exposure_batch.pipeline.stages import agent_input

    agent, look = ClassicAgent(), known_steps()
    before_dir, after_dir = os.path.join(folder, "before"), os.path.join(folder, "after")
    for i, name in enumerate(SCENES):
        img = thumbnail(decode(SAMPLES_DIR / name).rgb_lin, 2 * side)
        scene = os.path.splitext(name)[0]
        for k in range(per_scene):
            rng = np.random.default_rng([seed, i, k])
            h, w = img.shape[:2]
            ch, cw = int(h * rng.uniform(0.6, 0.9)), int(w * rng.uniform(0.6, 0.9))
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            crop = _resize_area(np.ascontiguousarray(img[top : top + ch, left : left + cw]), side, round(side * ch / cw))
            cast = np.exp2(rng.uniform(-0.3, 0.3, 3) + rng.uniform(-1.0, 0.5)).astype(np.float32)
            b = os.path.join(before_dir, scene, f"{scene}_{k}.png")
            a = os.path.join(after_dir, scene, f"{scene}_{k}.tif")
            os.makedirs(os.path.dirname(b), exist_ok=True)
            os.makedirs(os.path.dirname(a), exist_ok=True)
            write_image(crop * cast, b, space="prophoto", overwrite=True)
            dec = decode(b)
            recipe = agent.decide([agent_input(agent, dec.pixels)])[0]
            write_image(apply_steps(dec.rgb_lin, tuple(recipe.steps) + look), a, space="prophoto", overwrite=True)
    return before_dir, after_dir
