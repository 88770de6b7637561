"""Classic automatic edit built from the same eight filters: the honest baseline the learned agent must beat.

On a whole-frame linear thumbnail (linear ProPhoto, long side 256) it decides, in order:
1. white balance  - "shades of grey" (Minkowski p = 6) on well-exposed, unclipped pixels, removing 80% of the
                    measured cast (in log space), luminance-normalised;
2. exposure       - puts the log-average luminance at middle grey (0.18), limited so that the 99.5th luminance
                    percentile does not clip by more than half a stop;
3. tone curve     - sets the black point from the 0.5th luminance percentile (a levels stretch as curve slopes);
4. contrast       - adds the paper's luminance S-curve when the tonal spread (std of log2 luminance) is low;
5. saturation     - boosts saturation when the display-encoded mean saturation is low.
Each decision is measured on the thumbnail after the previous steps, exactly as they will be rendered. Steps that
do (next to) nothing (e.g. no contrast needed) are left out of the recipe (recipe.drop_noop_steps).

Exports: ClassicAgent, classic_recipe.
"""
from __future__ import annotations

import numpy as np

from .. import color, filters
from ..recipe import Recipe, Step, drop_noop_steps

MODEL_ID = "classic"
MODEL_VERSION = "1"

MIDDLE_GREY = color.MIDDLE_GREY
MINKOWSKI_P = 6.0
#: Fraction of the measured cast removed (in log space): grey-world over-corrects scenes that really are warm/cool.
WB_STRENGTH = 0.8
#: Largest per-channel correction (stops): a frame filled by one colour (a blue wall) is not a cast to remove.
WB_MAX_STOPS = 1.0


def _clamp_to(spec_name: str, param: str, value: float) -> float:
    p = next(p for p in filters.get(spec_name).params if p.name == param)
    return float(np.clip(value, p.low, p.high))


def white_balance_gains(rgb_lin: np.ndarray) -> dict:
    """Shades-of-grey gains for (N, 3) linear pixels, normalised so grey keeps its luminance."""
    lum = color.luminance(rgb_lin)
    lo, hi = np.percentile(lum, [2, 98])
    keep = (lum > lo) & (lum <= hi) & (rgb_lin.max(axis=-1) < 0.98 * max(float(rgb_lin.max()), 1e-6))
    pix = rgb_lin[keep] if keep.sum() > 64 else rgb_lin
    norm = np.power(np.mean(np.power(np.maximum(pix, 0), MINKOWSKI_P), axis=0), 1.0 / MINKOWSKI_P) + 1e-6
    log_gains = WB_STRENGTH * np.log2(norm.mean() / norm)
    log_gains -= log_gains.mean()
    biggest = float(np.abs(log_gains).max())
    if biggest > WB_MAX_STOPS:
        log_gains *= WB_MAX_STOPS / biggest
    gains = np.exp2(log_gains)
    gains = gains / float(gains @ color.LUMA_WEIGHTS)
    return {c: _clamp_to("white_balance", c, g) for c, g in zip(("red", "green", "blue"), gains)}


def exposure_ev(rgb_lin: np.ndarray) -> float:
    """EV that brings the log-average luminance to middle grey without clipping the top 0.5% badly."""
    lum = np.maximum(color.luminance(rgb_lin), 1e-5)
    key = float(np.exp(np.mean(np.log(lum))))
    ev_key = np.log2(MIDDLE_GREY / key)
    ev_highlight = np.log2(1.0 / max(float(np.percentile(lum, 99.5)), 1e-5)) + 0.5
    return _clamp_to("exposure", "ev", min(ev_key, ev_highlight))


def black_point_slopes(rgb_lin: np.ndarray) -> list[float]:
    """Tone-curve slopes that map the 0.5th luminance percentile (capped at 0.06) to black."""
    black = min(float(np.percentile(color.luminance(rgb_lin), 0.5)) * 0.8, 0.06)
    edges = np.linspace(0.0, 1.0, 9)
    target = np.clip((edges - black) / (1.0 - black), 0.0, 1.0)
    slopes = np.diff(target) * 8.0
    slopes = np.clip(slopes / max(slopes.max(), 1e-6) * 1.0, 0.5, 2.0)
    return [float(s) for s in slopes]


def contrast_amount(rgb_lin: np.ndarray) -> float:
    """Positive when the tonal spread is below ~1.6 stops (flat images), else 0."""
    lum = np.maximum(color.luminance(rgb_lin), 1e-4)
    spread = float(np.std(np.log2(lum)))
    return _clamp_to("contrast", "amount", float(np.clip((1.6 - spread) * 0.6, 0.0, 0.5)))


def saturation_amount(rgb_lin: np.ndarray) -> float:
    """Boost when the mean HSV saturation of the display-encoded image is below 0.3."""
    enc = color.encode(color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB), color.Space.SRGB)
    v = enc.max(axis=-1)
    sat = np.where(v > 0, (v - enc.min(axis=-1)) / np.maximum(v, 1e-6), 0.0)
    return _clamp_to("saturation", "amount", float(np.clip((0.3 - sat.mean()) * 2.0, 0.0, 0.6)))


def classic_recipe(thumb_lin: np.ndarray) -> Recipe:
    """(h, w, 3) float32 linear ProPhoto thumbnail -> a 5-step Recipe."""
    pix = np.asarray(thumb_lin, dtype=np.float32).reshape(-1, 3)
    steps: list[Step] = []

    def add(name: str, values: dict) -> None:
        nonlocal pix
        step = Step(name, values)
        steps.append(step)
        pix = step.spec.apply(pix, step.params)

    add("white_balance", white_balance_gains(pix))
    add("exposure", {"ev": exposure_ev(pix)})
    add("tone_curve", {"slopes": black_point_slopes(pix)})
    add("contrast", {"amount": contrast_amount(pix)})
    add("saturation", {"amount": saturation_amount(pix)})
    image = np.asarray(thumb_lin, dtype=np.float32)
    sample = image[::8, ::8] if image.ndim == 3 else image[::64]
    return Recipe(drop_noop_steps(steps, sample), model_id=MODEL_ID, model_version=MODEL_VERSION)


class ClassicAgent:
    """Recipe source: previews are whole-frame thumbnails (see preview.thumbnail)."""

    model_id = MODEL_ID
    wants = "thumbnail"  # the pipeline gives this agent a whole-frame thumbnail, not the 64x64 centre crop

    def decide(self, previews_lin, infos=None) -> list[Recipe]:
        return [classic_recipe(p) for p in previews_lin]
