"""Evaluating recipe sources (no edit / classic / learned) on held-out photos.

(a) Restoration: each held-out photo (shrunk to `max_side`, linear ProPhoto) is degraded with seeded random
    'unedited capture' degradations (agent.data.degrade), edited by each source, and compared with the original
    after the fixed display stage (sRGB): mean / median over images of the per-image mean CIEDE2000, and PSNR (dB,
    sRGB-encoded [0, 1]).
(b) Style: the paper's histogram-intersection metric (reference 7.1) -- 16 patches per image (4 random short-edge
    squares -> 80x80 -> 4 random 64x64 crops), per patch mean luminance, contrast (2 x std of luminance) and mean
    HLS saturation on display sRGB, 32-bin histograms on [0, 1], intersection in % -- between the outputs and a target
    set, and between the (degraded) inputs and the same target set.

(c) Do no harm: each source edits the held-out originals themselves; CIEDE2000 of the edit against the original.
(d) Exposure error: |log2| of the ratio of log-average luminances (display-clipped), edit vs original, in EV.
(e) Colour damage: a generated chart of pure primaries/secondaries, skin tones and greys, each patch edited as a flat
    frame and the chart as a whole; largest CIELAB hue shift and greys' CIEDE2000 from neutral.

Exports: EvalCase, make_cases, ciede2000, psnr, patch_stats, histogram_intersection, evaluate_sources, format_table,
write_plot, evaluate_do_no_harm, evaluate_hue, hue_chart, HUE_PATCHES, exposure_error_ev, luminance_key.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import color
from ..render import render
from ..render.preview import _resize_area, make_preview, thumbnail
from .data import Degradation, as_captured, degrade, display_np, sample_degradation

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
        evs = [exposure_error_ev(o, c.original_lin) for o, c in zip(outs, cases)]
        result["per_image"][name] = [round(v, 3) for v in des]
        result["sources"][name] = {
            "ciede2000_mean": float(np.mean(des)), "ciede2000_median": float(np.median(des)),
            "psnr_mean": float(np.mean(ps)), "psnr_median": float(np.median(ps)),
            "ev_error_mean": float(np.mean(evs)), "ev_error_median": float(np.median(evs)),
            "histogram_intersection": _hi_scores(disp, target_stats, seed),
            "seconds": round(time.time() - t0, 2),
        }
    return result


def luminance_key(rgb_lin: np.ndarray) -> float:
    """Log-average luminance (linear sRGB, as displayed: clipped to [0, 1]) of a linear ProPhoto image: its
    exposure, for comparing two renderings in stops."""
    from .. import color  # noqa: PLC0415

    lin_srgb = np.clip(color.convert_linear(rgb_lin, color.WORKING_SPACE, color.Space.SRGB), 0.0, 1.0)
    lum = lin_srgb @ color.REC709_LUMINANCE
    return float(np.exp(np.mean(np.log(np.maximum(lum, 1e-4)))))


def exposure_error_ev(edited_lin: np.ndarray, original_lin: np.ndarray) -> float:
    """|log2(key(edited) / key(original))|: how many stops the edit's exposure is off the original's."""
    return abs(float(np.log2(luminance_key(edited_lin) / luminance_key(original_lin))))


def _decide_and_render(source, images_lin: list[np.ndarray]) -> list[np.ndarray]:
    if source is None:
        return [np.asarray(x, np.float32) for x in images_lin]
    recipes = source.decide([_agent_input(source, x) for x in images_lin], None)
    return [render(r, x) for r, x in zip(recipes, images_lin)]


def evaluate_do_no_harm(originals: list[tuple[str, np.ndarray]], sources: dict) -> dict:
    """Do no harm: each source edits the well-edited originals themselves; CIEDE2000 (display sRGB) of the edit
    against the original, and the exposure change in EV. {name: {"ciede2000_mean", "ciede2000_max",
    "ev_change_mean", "per_image": {photo: dE}}}."""
    out = {}
    refs = [display_np(o) for _, o in originals]
    for name, source in sources.items():
        edits = _decide_and_render(source, [o for _, o in originals])
        des = [ciede2000(display_np(e), r) for e, r in zip(edits, refs)]
        evs = [exposure_error_ev(e, o) for e, (_, o) in zip(edits, originals)]
        out[name] = {"ciede2000_mean": float(np.mean(des)), "ciede2000_max": float(np.max(des)),
                     "ev_change_mean": float(np.mean(evs)),
                     "per_image": {n: round(d, 3) for (n, _), d in zip(originals, des)}}
    return out


#: The hue chart: display sRGB 8-bit codes of pure primaries and secondaries, skin tones (ColorChecker light and
#: dark skin, and two more) and neutral greys.
HUE_PATCHES = {
    "red": (254, 0, 0), "green": (0, 254, 0), "blue": (0, 0, 254),
    "cyan": (0, 254, 254), "magenta": (254, 0, 254), "yellow": (254, 254, 0),
    "skin light": (194, 150, 130), "skin dark": (115, 82, 68), "skin pale": (236, 200, 180), "skin deep": (90, 56, 37),
    "grey 20%": (51, 51, 51), "grey 50%": (128, 128, 128), "grey 80%": (204, 204, 204),
}


def _patch_lin(code) -> np.ndarray:
    """An 8-bit display sRGB code -> (3,) linear ProPhoto (as the decoder gives it)."""
    from .. import color  # noqa: PLC0415

    enc = np.asarray(code, np.float32) / 255.0
    return color.convert_linear(color.decode(enc, color.Space.SRGB), color.Space.SRGB, color.WORKING_SPACE)


def _lab_of(rgb_lin: np.ndarray) -> np.ndarray:
    return _lab(display_np(np.asarray(rgb_lin, np.float32)))


def _hue_deg(lab: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0)


def hue_chart(size: int = 96) -> tuple[np.ndarray, dict]:
    """The patches as one chart (linear ProPhoto, (rows*size, 4*size, 3)) and each patch's centre (y, x)."""
    names = list(HUE_PATCHES)
    rows = -(-len(names) // 4)
    chart = np.empty((rows * size, 4 * size, 3), np.float32)
    chart[:] = _patch_lin((128, 128, 128))
    centres = {}
    for i, name in enumerate(names):
        y, x = divmod(i, 4)
        chart[y * size : (y + 1) * size, x * size : (x + 1) * size] = _patch_lin(HUE_PATCHES[name])
        centres[name] = (y * size + size // 2, x * size + size // 2)
    return chart, centres


def evaluate_hue(sources: dict, size: int = 96) -> dict:
    """Colour damage on the hue chart, each patch edited alone (a flat frame: the agent sees nothing else) and
    within the whole chart. Per source: the largest CIELAB hue change of a saturated or skin patch (degrees), the
    largest CIEDE2000 of a grey patch from neutral (same L*, a* = b* = 0), and both again with the recipe's white
    balance step left out (the hue change the other steps cause). {name: {...,"patches": {...}}}."""
    from ..color import _colour  # noqa: PLC0415
    from ..recipe import Recipe  # noqa: PLC0415

    chart, centres = hue_chart(size)
    flats = [np.broadcast_to(_patch_lin(c), (size, size, 3)).copy() for c in HUE_PATCHES.values()]
    out = {}
    for name, source in sources.items():
        if source is None:
            continue
        images = flats + [chart]
        recipes = source.decide([_agent_input(source, x) for x in images], None)
        patches = {}
        for label, keep_wb in (("", True), ("_without_wb", False)):
            results = {}
            for i, (pname, code) in enumerate(HUE_PATCHES.items()):
                src = _patch_lin(code)
                for mode, recipe, pixel in (("flat", recipes[i], None), ("chart", recipes[-1], centres[pname])):
                    if not keep_wb:
                        recipe = Recipe(tuple(s for s in recipe.steps if s.filter != "white_balance"))
                    edited = render(recipe, src[None, None, :].copy())[0, 0]
                    lab_in, lab_out = _lab_of(src), _lab_of(edited)
                    if pname.startswith("grey"):
                        neutral = np.array([lab_out[0], 0.0, 0.0])
                        value = float(_colour().delta_E(lab_out, neutral, method="CIE 2000"))
                    else:
                        value = abs((_hue_deg(lab_out) - _hue_deg(lab_in) + 180.0) % 360.0 - 180.0)
                    results[f"{pname} ({mode})"] = round(value, 2)
            hue = [v for k, v in results.items() if not k.startswith("grey")]
            grey = [v for k, v in results.items() if k.startswith("grey")]
            out.setdefault(name, {})[f"max_hue_shift_deg{label}"] = max(hue)
            out[name][f"max_grey_dE_from_neutral{label}"] = max(grey)
            patches[label or "full"] = results
        out[name]["patches"] = patches
    return out


def ci_evaluation(policy, samples_dir: str, per_photo: int = 3, seed: int = 0, max_side: int = 256) -> dict:
    """Mean CIEDE2000 of no edit / classic / `policy` on CI_SAMPLES (the numbers CI re-checks, stored in the card)."""
    import os  # noqa: PLC0415

    from .classic import ClassicAgent  # noqa: PLC0415

    cases = make_cases([os.path.join(samples_dir, n) for n in CI_SAMPLES], per_photo, seed, max_side)
    res = evaluate_sources(cases, {"no edit": None, "classic": ClassicAgent(), "learned": policy})
    return {"samples": list(CI_SAMPLES), "per_photo": per_photo, "seed": seed, "max_side": max_side,
            "ciede2000_mean": {k: round(v["ciede2000_mean"], 4) for k, v in res["sources"].items()}}


def format_table(result: dict) -> str:
    """Plain-text tables of evaluate_sources' result (+ do_no_harm and hue when present)."""
    head = (f"{'source':<12} {'dE00 mean':>9} {'dE00 med':>9} {'PSNR mean':>9} {'EV err':>7} {'HI lum':>7} "
            f"{'HI con':>7} {'HI sat':>7}")
    lines = [f"restoration + style on {result['n_images']} held-out degraded images", head, "-" * len(head)]
    for name, s in result["sources"].items():
        hi = s["histogram_intersection"]
        lines.append(f"{name:<12} {s['ciede2000_mean']:9.2f} {s['ciede2000_median']:9.2f} {s['psnr_mean']:9.2f} "
                     f"{s.get('ev_error_mean', float('nan')):7.2f} {hi['luminance']:7.1f} {hi['contrast']:7.1f} "
                     f"{hi['saturation']:7.1f}")
    if result.get("do_no_harm"):
        head = f"{'source':<12} {'dE00 mean':>9} {'dE00 max':>9} {'EV change':>9}"
        lines += ["", "do no harm: the held-out originals edited, against themselves", head, "-" * len(head)]
        for name, s in result["do_no_harm"].items():
            lines.append(f"{name:<12} {s['ciede2000_mean']:9.2f} {s['ciede2000_max']:9.2f} {s['ev_change_mean']:9.2f}")
    if result.get("hue"):
        head = f"{'source':<12} {'hue max':>8} {'no WB':>8} {'grey dE':>8} {'no WB':>8}"
        lines += ["", "colour: largest hue shift (deg) of saturated/skin patches, grey dE from neutral", head,
                  "-" * len(head)]
        for name, s in result["hue"].items():
            lines.append(f"{name:<12} {s['max_hue_shift_deg']:8.2f} {s['max_hue_shift_deg_without_wb']:8.2f} "
                         f"{s['max_grey_dE_from_neutral']:8.2f} {s['max_grey_dE_from_neutral_without_wb']:8.2f}")
    return "\n".join(lines)


def write_plot(result: dict, path: str) -> str | None:
    """Bar charts (CIEDE2000 mean, PSNR mean, histogram intersections) as PNG; None when matplotlib is missing."""
    try:
        import matplotlib  # noqa: PLC0415

        if not getattr(matplotlib, "__file__", None):  # colour-science puts a mock in its place when it is missing
            return None
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


# ---- known capture errors (issue 21): how much of a known error each source takes back ----------------------------

#: Known capture errors applied in linear light (working space): (EV, per-channel gains R, G, B).
KNOWN_ERRORS = {
    "+1 EV": (1.0, (1.0, 1.0, 1.0)),
    "-1.5 EV": (-1.5, (1.0, 1.0, 1.0)),
    "warm cast": (0.0, (1.25, 1.0, 0.75)),
    "cool cast": (0.0, (0.8, 1.0, 1.25)),
}
#: Near-white pixels of an original: display L* at least this and chroma C*ab at most NEAR_WHITE_CHROMA.
NEAR_WHITE_L = 85.0
NEAR_WHITE_CHROMA = 10.0


def apply_known_error(original_lin: np.ndarray, error: str) -> np.ndarray:
    """A well-edited photo (linear ProPhoto) with KNOWN_ERRORS[error] applied in linear light, then clipped as a
    capture (as_captured)."""
    ev, gains = KNOWN_ERRORS[error]
    return as_captured(np.asarray(original_lin, np.float32) * np.asarray(gains, np.float32) * np.float32(2.0**ev))


def near_white_shift(edit_disp: np.ndarray, original_disp: np.ndarray) -> tuple[float, float, int] | None:
    """Mean CIELAB a* and b* shift (edit - original) over the original's near-white pixels (L* >= NEAR_WHITE_L,
    C*ab <= NEAR_WHITE_CHROMA), and their count; None when fewer than 16 pixels are near white."""
    lab_o, lab_e = _lab(original_disp), _lab(edit_disp)
    mask = (lab_o[..., 0] >= NEAR_WHITE_L) & (np.hypot(lab_o[..., 1], lab_o[..., 2]) <= NEAR_WHITE_CHROMA)
    if mask.sum() < 16:
        return None
    d = lab_e[mask] - lab_o[mask]
    return float(d[:, 1].mean()), float(d[:, 2].mean()), int(mask.sum())


def evaluate_known_errors(originals: list[tuple[str, np.ndarray]], sources: dict, errors=tuple(KNOWN_ERRORS)) -> dict:
    """Each known capture error on each original (linear ProPhoto), edited by each source alone: the share of the
    error taken back, 1 - CIEDE2000(edit, original) / CIEDE2000(input, original), per photo and its median; for the
    casts also the near-white pixels' mean a*/b* shift against the original (near_white_shift), and the same for the
    exact inverse of the cast (the bound the issue compares with).
    {error: {source: {"share_median", "share_mean", "per_photo": {name: share}, "near_white": {name: [da, db]},
    "worst_a_shift", "worst_b_shift"}}}."""
    refs = [display_np(o) for _, o in originals]
    out: dict = {}
    for error in errors:
        inputs = [apply_known_error(o, error) for _, o in originals]
        base = [ciede2000(display_np(x), r) for x, r in zip(inputs, refs)]
        row = {}
        cast = KNOWN_ERRORS[error][1] != (1.0, 1.0, 1.0)
        named = dict(sources)
        if cast:
            named["exact inverse"] = "inverse"
        for name, source in named.items():
            if source == "inverse":
                ev, gains = KNOWN_ERRORS[error]
                edits = [x / np.asarray(gains, np.float32) / np.float32(2.0**ev) for x in inputs]
            else:
                edits = _decide_and_render(source, inputs)
            disp = [display_np(e) for e in edits]
            shares = [1.0 - ciede2000(d, r) / max(b, 1e-6) for d, r, b in zip(disp, refs, base)]
            entry = {"share_median": float(np.median(shares)), "share_mean": float(np.mean(shares)),
                     "per_photo": {n: round(s, 3) for (n, _), s in zip(originals, shares)}}
            if cast:
                shifts = {n: near_white_shift(d, r) for (n, _), d, r in zip(originals, disp, refs)}
                shifts = {n: [round(v[0], 2), round(v[1], 2)] for n, v in shifts.items() if v is not None}
                entry["near_white"] = shifts
                if shifts:
                    entry["worst_a_shift"] = min(v[0] for v in shifts.values())
                    entry["worst_b_shift"] = max(abs(v[1]) for v in shifts.values())
            row[name] = entry
        out[error] = row
    return out


def format_known_errors(result: dict) -> str:
    """Plain-text table of evaluate_known_errors' result."""
    head = f"{'error':<10} {'source':<14} {'share med':>9} {'share mean':>10} {'worst a*':>9} {'worst |b*|':>10}"
    lines = ["known capture errors: share of the error taken back (1 - dE00 after / before), each photo alone", head,
             "-" * len(head)]
    for error, row in result.items():
        for name, e in row.items():
            lines.append(f"{error:<10} {name:<14} {e['share_median']:9.2f} {e['share_mean']:10.2f} "
                         f"{e.get('worst_a_shift', float('nan')):9.2f} {e.get('worst_b_shift', float('nan')):10.2f}")
    return "\n".join(lines)
