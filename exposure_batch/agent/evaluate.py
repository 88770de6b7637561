"""Evaluating recipe sources (no edit / classic / learned) on held-out photos.

(a) Restoration: each held-out photo (shrunk to `max_side`, linear ProPhoto) is degraded with seeded random
    'unedited capture' degradations (agent.data.degrade), edited by each source, and compared with the original
    after the fixed display stage (sRGB): mean / median over images of the per-image mean CIEDE2000, and PSNR (dB,
    sRGB-encoded [0, 1]).
(b) Style: the paper's histogram-intersection metric (reference 7.1) -- 16 patches per image (4 random short-edge
    squares -> 80x80 -> 4 random 64x64 crops), per patch mean luminance, contrast (2 x std of luminance) and mean
    HLS saturation on display sRGB, 32-bin histograms on [0, 1], intersection in % -- between the outputs and a target
    set, and between the (degraded) inputs and the same target set.

Exports: EvalCase, make_cases, ciede2000, psnr, patch_stats, histogram_intersection, evaluate_sources, format_table,
write_plot.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import color
from ..preview import _resize_area, make_preview, thumbnail
from ..render import render
from .data import Degradation, degrade, display_np, sample_degradation

#: The small held-out set CI evaluates the shipped model on: shipped samples/ that no training crop came from.
CI_SAMPLES = ("coffee_p3_16bit.png", "flower.dng", "casio_qv_r51.jpg")


@dataclass
class EvalCase:
    """One held-out photo and one degradation: original_lin and input_lin are (H, W, 3) linear ProPhoto."""

    name: str
    original_lin: np.ndarray
    input_lin: np.ndarray
    degradation: Degradation


def make_cases(paths: list[str], per_photo: int = 2, seed: int = 0, max_side: int = 384, log=print) -> list[EvalCase]:
    """Decode held-out photos, shrink to `max_side`, and degrade each `per_photo` times (seeded per photo/index)."""
    from ..io import decode  # noqa: PLC0415
    import os  # noqa: PLC0415

    cases = []
    for i, path in enumerate(paths):
        try:
            orig = thumbnail(decode(path).rgb_lin, max_side)
        except Exception as err:  # noqa: BLE001 - a bad file is reported and skipped
            log(f"{path}: skipped ({err})")
            continue
        for j in range(per_photo):
            d = sample_degradation(np.random.default_rng([seed, i, j]))
            cases.append(EvalCase(f"{os.path.basename(path)}#{j}", orig, degrade(orig, d), d))
    return cases


def _lab(disp: np.ndarray) -> np.ndarray:
    from ..color import _colour  # noqa: PLC0415

    colour = _colour()
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(disp))


def ciede2000(a_disp: np.ndarray, b_disp: np.ndarray) -> float:
    """Mean CIEDE2000 between two (H, W, 3) display sRGB images in [0, 1]."""
    from ..color import _colour  # noqa: PLC0415

    return float(np.mean(_colour().delta_E(_lab(a_disp), _lab(b_disp), method="CIE 2000")))


def psnr(a_disp: np.ndarray, b_disp: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a_disp, np.float64) - np.asarray(b_disp, np.float64)) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def patch_stats(disp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) display sRGB -> (16, 3) per-patch [mean luminance, contrast, HLS saturation] (reference 7.1)."""
    out = []
    h, w = disp.shape[:2]
    side = min(h, w)
    for _ in range(4):
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        sq = _resize_area(np.ascontiguousarray(disp[top : top + side, left : left + side], np.float32), 80, 80)
        for _ in range(4):
            y, x = rng.integers(0, 17, 2)
            p = np.clip(sq[y : y + 64, x : x + 64], 0, 1)
            lum = p @ color.LUMA_WEIGHTS
            mx, mn = p.max(-1), p.min(-1)
            light = (mx + mn) / 2
            den = np.where(light < 0.5, mx + mn, 2.0 - mx - mn)
            sat = np.where(mx > mn, (mx - mn) / np.maximum(den, 1e-6), 0.0)
            out.append([lum.mean(), 2 * lum.std(), sat.mean()])
    return np.array(out, np.float32)


def histogram_intersection(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """Intersection (%) of the count-normalised histograms of two 1-D samples on [0, 1]."""
    ha, _ = np.histogram(np.clip(a, 0, 1), bins=bins, range=(0, 1))
    hb, _ = np.histogram(np.clip(b, 0, 1), bins=bins, range=(0, 1))
    return float(100 * np.minimum(ha / max(ha.sum(), 1), hb / max(hb.sum(), 1)).sum())


def _hi_scores(images_disp, target_stats, seed) -> dict:
    rng = np.random.default_rng(seed)
    stats = np.concatenate([patch_stats(im, rng) for im in images_disp])
    return {k: histogram_intersection(stats[:, i], target_stats[:, i]) for i, k in enumerate(("luminance", "contrast", "saturation"))}


def _agent_input(source, rgb_lin):
    return make_preview(rgb_lin) if source.wants == "preview" else thumbnail(rgb_lin)


def evaluate_sources(cases: list[EvalCase], sources: dict, targets_disp: list[np.ndarray] | None = None,
                     seed: int = 0) -> dict:
    """Evaluate {'no edit': None, 'classic': agent, 'learned': agent, ...} on cases.

    Returns {"n_images": N, "sources": {name: {"ciede2000_mean", "ciede2000_median", "psnr_mean", "psnr_median",
    "histogram_intersection": {...}, "seconds"}}, "per_image": {name: [dE, ...]}}.
    """
    originals = [display_np(c.original_lin) for c in cases]
    targets_disp = targets_disp if targets_disp is not None else originals
    target_stats = np.concatenate([patch_stats(t, np.random.default_rng([seed, 99, i])) for i, t in enumerate(targets_disp)])
    result = {"n_images": len(cases), "sources": {}, "per_image": {}}
    for name, source in sources.items():
        t0 = time.time()
        if source is None:
            outs = [c.input_lin for c in cases]
        else:
            recipes = source.decide([_agent_input(source, c.input_lin) for c in cases], None)
            outs = [render(r, c.input_lin) for r, c in zip(recipes, cases)]
        disp = [display_np(o) for o in outs]
        des = [ciede2000(d, o) for d, o in zip(disp, originals)]
        ps = [psnr(d, o) for d, o in zip(disp, originals)]
        result["per_image"][name] = [round(v, 3) for v in des]
        result["sources"][name] = {
            "ciede2000_mean": float(np.mean(des)), "ciede2000_median": float(np.median(des)),
            "psnr_mean": float(np.mean(ps)), "psnr_median": float(np.median(ps)),
            "histogram_intersection": _hi_scores(disp, target_stats, seed),
            "seconds": round(time.time() - t0, 2),
        }
    return result


def ci_evaluation(policy, samples_dir: str, per_photo: int = 3, seed: int = 0, max_side: int = 256) -> dict:
    """Mean CIEDE2000 of no edit / classic / `policy` on CI_SAMPLES (the numbers CI re-checks, stored in the card)."""
    import os  # noqa: PLC0415

    from . import get_agent  # noqa: PLC0415

    cases = make_cases([os.path.join(samples_dir, n) for n in CI_SAMPLES], per_photo, seed, max_side)
    res = evaluate_sources(cases, {"no edit": None, "classic": get_agent("classic"), "learned": policy})
    return {"samples": list(CI_SAMPLES), "per_photo": per_photo, "seed": seed, "max_side": max_side,
            "ciede2000_mean": {k: round(v["ciede2000_mean"], 4) for k, v in res["sources"].items()}}


def format_table(result: dict) -> str:
    """Plain-text table of evaluate_sources' result."""
    head = f"{'source':<12} {'dE00 mean':>9} {'dE00 med':>9} {'PSNR mean':>9} {'PSNR med':>9} {'HI lum':>7} {'HI con':>7} {'HI sat':>7}"
    lines = [f"restoration + style on {result['n_images']} held-out degraded images", head, "-" * len(head)]
    for name, s in result["sources"].items():
        hi = s["histogram_intersection"]
        lines.append(f"{name:<12} {s['ciede2000_mean']:9.2f} {s['ciede2000_median']:9.2f} {s['psnr_mean']:9.2f} "
                     f"{s['psnr_median']:9.2f} {hi['luminance']:7.1f} {hi['contrast']:7.1f} {hi['saturation']:7.1f}")
    return "\n".join(lines)


def write_plot(result: dict, path: str) -> str | None:
    """Bar charts (CIEDE2000 mean, PSNR mean, histogram intersections) as PNG; None when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return None
    names = list(result["sources"])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].bar(names, [result["sources"][n]["ciede2000_mean"] for n in names], color="tab:red")
    axes[0].set_title("mean CIEDE2000 (lower is better)")
    axes[1].bar(names, [result["sources"][n]["psnr_mean"] for n in names], color="tab:blue")
    axes[1].set_title("mean PSNR dB (higher is better)")
    keys = ("luminance", "contrast", "saturation")
    width = 0.8 / max(len(names), 1)
    for i, n in enumerate(names):
        hi = result["sources"][n]["histogram_intersection"]
        axes[2].bar(np.arange(3) + i * width, [hi[k] for k in keys], width, label=n)
    axes[2].set_xticks(np.arange(3) + 0.4 - width / 2, keys)
    axes[2].set_title("histogram intersection % (higher is better)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    from ..io.write import atomic_write  # noqa: PLC0415

    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=90)
    plt.close(fig)
    return path
