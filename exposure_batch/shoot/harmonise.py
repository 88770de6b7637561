"""Harmonising a group: one look for one scene, each frame's own capture error still undone.

For the frames of one group (survey images, linear ProPhoto):

1. Capture deviation. Each frame is aligned to the first (phase correlation) and compared with it on the area
   both show: per-channel median of the pixels' log2 ratios (unclipped in both), centred so the median frame has
   none: d_i (log2, R G B). Auto-exposure drift and auto white balance drift are exactly such per-channel gains.
2. Frames that do not belong are split off (flagged, not forced): a frame whose deviation is beyond what capture
   drift does (|exposure| > MAX_EV_DEVIATION EV, or a chroma shift > MAX_CHROMA_DEVIATION log2 units), or whose
   picture differs from the group's (signature distance, shoot.grouping, to the group's medoid above the grouping
   threshold: a flash frame's light fall-off, another room).
3. Consensus edit. The recipe source decides on the normalised input (preview * 2^-d_i: the scene as the median
   frame captured it) of every frame, or of CONSENSUS_FRAMES evenly spaced ones in a bigger group; each of those
   recipes is applied to its input and the frame whose result is the medoid of the results (sRGB, 16x16) gives the
   shared steps. Its exposure and white balance are then moved to the per-channel median of those results (a gain
   before the shared steps, found in three fixed-point iterations), so the group's exposure / white balance is the
   median of what the source decided for its frames.
4. Per-frame recipes: gain G * 2^-d_i (frame compensation + consensus) folded into the shared recipe's leading
   exposure / white balance steps (white balance keeping grey's luminance, then exposure), then the shared steps.
   Every frame keeps its own recipe; `recipe.group` names the group.

The consistency figure (mean frame-to-frame CIEDE2000) needs colour-science, whose import costs about 1.2 s of CPU
and 150 MB per process: a streamed run's workers harmonise with measure=False and one worker measures every group's
figure from its small block images (shoot.stream), so it is imported once per run.

Exports: Harmonised, harmonise_group, harmonise_groups, consensus_frames, CONSENSUS_FRAMES, MAX_EV_DEVIATION,
MAX_CHROMA_DEVIATION, consistency,
consistency_pairs, consistency_of, working_image.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import filters
from ..color import LUMA_WEIGHTS
from ..recipe import Recipe, Step

#: Largest exposure deviation (EV) from the group's median frame that is still capture drift.
MAX_EV_DEVIATION = 1.5
#: Largest chroma deviation (log2 of R/G or B/G against the median frame) that is still white balance drift.
MAX_CHROMA_DEVIATION = 0.3
#: A frame is split off when its signature distance to the group's medoid exceeds this times the grouping
#: threshold (grouping already joined frames by average distance; the split looks for the clear misfits).
SPLIT_FACTOR = 1.5
_LUMA = LUMA_WEIGHTS.astype(np.float64)


@dataclass
class Harmonised:
    """members: indices (into the frames given) that keep the group; split: indices split off, with reasons;
    recipes: index -> the frame's harmonised Recipe (members only); deviation: index -> d_i (log2 R, G, B);
    reference: index of the frame whose decision gave the shared steps; consistency: mean frame-to-frame
    CIEDE2000 of the members' edited survey images (see `consistency`); pairs: what it is computed from, kept
    instead when harmonised with measure=False (consistency_pairs; consistency_of gives the figure)."""

    members: list[int]
    split: dict[int, str] = field(default_factory=dict)
    recipes: dict[int, Recipe] = field(default_factory=dict)
    deviation: dict[int, np.ndarray] = field(default_factory=dict)
    reference: int | None = None
    consistency: float | None = None
    pairs: list = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------------------------------------------
# 1. capture deviation
# ---------------------------------------------------------------------------------------------------------------
#: Long side (px) frames are aligned and compared at (128: 2.4x cheaper than 192, capture deviations within 0.02
#: log2 of those measured at 192 on 44 frames of the scale benchmark).
_ALIGN_SIDE = 128


def _working(image_lin: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Area-resized float64 copy, long side _ALIGN_SIDE (or exactly `shape`); an image of that size already (a
    survey's working_image) is only converted."""
    from ..render.preview import _resize_area  # noqa: PLC0415

    shape = shape or working_shape(image_lin.shape[:2])
    if tuple(image_lin.shape[:2]) == tuple(shape):
        return np.asarray(image_lin, np.float64)
    return _resize_area(np.ascontiguousarray(image_lin, np.float32), shape[1], shape[0]).astype(np.float64)


def working_shape(size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) frames of size (h, w) are aligned and compared at: long side _ALIGN_SIDE."""
    h, w = size
    scale = _ALIGN_SIDE / max(h, w)
    return max(8, round(h * scale)), max(8, round(w * scale))


def working_image(image_lin: np.ndarray) -> np.ndarray:
    """The image harmonising aligns and compares (float32 linear ProPhoto, area-resized to long side _ALIGN_SIDE):
    a survey keeps this instead of a bigger image, and harmonising then resizes nothing."""
    from ..render.preview import _resize_area  # noqa: PLC0415

    h, w = working_shape(image_lin.shape[:2])
    if tuple(image_lin.shape[:2]) == (h, w):
        return np.asarray(image_lin, np.float32)
    return _resize_area(np.ascontiguousarray(image_lin, np.float32), w, h)  # (what _working makes, in float32)


def _shift(ref_log: np.ndarray, img_log: np.ndarray) -> tuple[int, int]:
    """Integer translation (dy, dx) with img[y, x] ~ ref[y + dy, x + dx], by phase correlation of log luminance."""
    a = ref_log - ref_log.mean()
    b = img_log - img_log.mean()
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    cross = np.fft.fft2(a * window) * np.conj(np.fft.fft2(b * window))
    corr = np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-9)).real
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape
    return (int(dy - h) if dy > h // 2 else int(dy)), (int(dx - w) if dx > w // 2 else int(dx))


def _overlap(ref: np.ndarray, img: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels both show: (ref part, img part), img[y, x] ~ ref[y + dy, x + dx]."""
    h, w = ref.shape[:2]
    ys, xs = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
    yr, xr = slice(max(0, dy), min(h, h + dy)), slice(max(0, dx), min(w, w + dx))
    return ref[yr, xr], img[ys, xs]


def capture_deviations(images: Sequence[np.ndarray]) -> np.ndarray:
    """(n, 3) log2 per-channel gains of each frame (images: (h, w, 3) float32 linear ProPhoto survey images)
    against the group's median frame.

    Every frame is aligned to the first (phase correlation, whole pixels at _ALIGN_SIDE px), and compared with it on the
    area both show, over pixels unclipped and above noise in both: the per-channel median of the pixels' log2
    ratios (robust to what a gain does not explain: clipped colours, moving subjects). The result is centred on
    the median frame."""
    first = _working(images[0])
    h, w = first.shape[:2]
    window = np.outer(np.hanning(h), np.hanning(w))
    ref = _frame_facts(first, window)
    dev = np.zeros((len(images), 3))
    for i in range(1, len(images)):  # one frame's working arrays at a time: memory stays flat with the group size
        facts = _frame_facts(_working(images[i], (h, w)), window)
        shift = _peak(ref[0], facts[0], (h, w))
        ref_log, img_log = _overlap(ref[1], facts[1], *shift)
        ref_ok, img_ok = _overlap(ref[2], facts[2], *shift)
        ok = ref_ok & img_ok
        if ok.sum() < 16:
            ok = np.ones(ok.shape, bool)
        dev[i] = np.median(img_log[ok] - ref_log[ok], axis=0)
    return dev - np.median(dev, axis=0)


def _frame_facts(wk: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(half spectrum of the windowed, mean-free log luminance; log2 values, float32; usable pixels: unclipped and
    above noise) of one working image."""
    lum = np.log2(np.maximum(wk @ _LUMA, 1e-4))
    r, g, b = wk[..., 0], wk[..., 1], wk[..., 2]  # (channel-wise: far faster than max(axis=-1))
    usable = (np.maximum(np.maximum(r, g), b) < 0.95) & (np.minimum(np.minimum(r, g), b) > 1e-3)
    return np.fft.rfft2((lum - lum.mean()) * window), np.log2(np.maximum(wk, 1e-9), dtype=np.float32), usable


def _peak(ref_spectrum: np.ndarray, img_spectrum: np.ndarray, shape: tuple[int, int]) -> tuple[int, int]:
    """_shift from the frames' precomputed (windowed, mean-free) log-luminance half spectra (np.fft.rfft2)."""
    cross = ref_spectrum * np.conj(img_spectrum)
    corr = np.fft.irfft2(cross / np.maximum(np.abs(cross), 1e-9), s=shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape
    return (int(dy - h) if dy > h // 2 else int(dy)), (int(dx - w) if dx > w // 2 else int(dx))


def _split_ev_chroma(d: np.ndarray) -> tuple[float, float]:
    """(exposure EV, largest chroma shift) of a log2 gain triple."""
    ev = float(np.log2(np.exp2(d) @ _LUMA))
    return ev, float(max(abs(d[0] - d[1]), abs(d[2] - d[1])))


# ---------------------------------------------------------------------------------------------------------------
# 4. recipes
# ---------------------------------------------------------------------------------------------------------------
def _clamp(name: str, param: str, value: float) -> float:
    p = next(p for p in filters.get(name).params if p.name == param)
    return float(np.clip(value, p.low, p.high))


def fold_gains(recipe: Recipe, gains: np.ndarray) -> Recipe:
    """`gains` (linear, R G B) applied before `recipe`, merged with its leading exposure / white balance steps:
    white balance (grey keeps its luminance, unless the exposure step's range is exceeded: the gains then carry
    the rest) then exposure, then the rest of the recipe."""
    total = np.asarray(gains, np.float64).copy()
    steps = list(recipe.steps)
    while steps and steps[0].filter in ("exposure", "white_balance"):
        s = steps.pop(0)
        if s.filter == "exposure":
            total *= 2.0 ** float(s.params["ev"])
        else:
            total *= np.array([s.params["red"], s.params["green"], s.params["blue"]], np.float64)
    grey = float(total @ _LUMA)
    ev = float(np.log2(max(grey, 1e-6)))
    wb = total / max(grey, 1e-6)
    overflow = ev - _clamp("exposure", "ev", ev)  # beyond the exposure step's range: carried by the gains
    ev -= overflow
    wb = wb * 2.0 ** overflow
    head = []
    if np.max(np.abs(np.log2(wb))) > 1e-4:
        head.append(Step("white_balance", {c: _clamp("white_balance", c, float(g))
                                           for c, g in zip(("red", "green", "blue"), wb)}))
    if abs(ev) > 1e-4:
        head.append(Step("exposure", {"ev": _clamp("exposure", "ev", ev)}))
    return dataclasses.replace(recipe, steps=tuple(head + steps))


def _small_display(rgb_lin: np.ndarray, side: int = 16) -> np.ndarray:
    """sRGB display values of a side x side area average of a linear image (for comparing results)."""
    from ..agent.data import display_np  # noqa: PLC0415
    from ..render.preview import _resize_area  # noqa: PLC0415

    return display_np(_resize_area(np.ascontiguousarray(rgb_lin, np.float32), side, side))


def _blocks(image: np.ndarray, k: int = 8) -> np.ndarray:
    """k x k block means (whole-pixel alignment of resampled frames leaves sub-pixel offsets: compare coarser)."""
    h, w = image.shape[0] // k * k, image.shape[1] // k * k
    return image[:h, :w].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


#: Frames of a group the consistency figure looks at (evenly spaced): its cost stays fixed per group.
CONSISTENCY_FRAMES = 6


def consistency(recipes: Sequence[Recipe], images: Sequence[np.ndarray]) -> float:
    """Mean CIEDE2000 between the frames' edited images (sRGB, _ALIGN_SIDE px survey images, aligned, on the area both
    show, in 8x8 blocks): consecutive pairs of up to CONSISTENCY_FRAMES frames (evenly spaced through a bigger
    group), so its cost is fixed per group."""
    return consistency_of(consistency_pairs(recipes, images))


def consistency_pairs(recipes: Sequence[Recipe], images: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """What `consistency` compares: per consecutive pair of (up to CONSISTENCY_FRAMES) frames, the two edited images
    on the area both show, as 8x8 block means of display sRGB values in [0, 1] (a few kB per pair)."""
    from ..agent.data import display_np  # noqa: PLC0415
    from ..render import render  # noqa: PLC0415

    if len(images) > CONSISTENCY_FRAMES:
        pick = np.unique(np.linspace(0, len(images) - 1, CONSISTENCY_FRAMES).round().astype(int))
        recipes, images = [recipes[k] for k in pick], [images[k] for k in pick]
    first = _working(images[0])
    works = [first] + [_working(im, first.shape[:2]) for im in images[1:]]
    lum = [np.log2(np.maximum(w @ _LUMA, 1e-4)) for w in works]
    shown = [display_np(render(r, w.astype(np.float32), threads=1)) for r, w in zip(recipes, works)]
    pairs = []
    for a in range(len(works) - 1):
        ref, img = _overlap(shown[a], shown[a + 1], *_shift(lum[a], lum[a + 1]))
        pairs.append((_blocks(ref), _blocks(img)))
    return pairs


def consistency_of(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean over the pairs of the mean CIEDE2000 (colour-science's) between their block images; 0.0 for none."""
    from ..agent.evaluate import ciede2000  # noqa: PLC0415

    scores = [ciede2000(a, b) for a, b in pairs]
    return float(np.mean(scores)) if scores else 0.0


# ---------------------------------------------------------------------------------------------------------------
# The group
# ---------------------------------------------------------------------------------------------------------------
def harmonise_group(source, surveys: Sequence, threshold: float | None = None, median_gain: bool = True
                    ) -> Harmonised:
    """Harmonise the frames `surveys` (shoot.survey.Survey, one group) with recipe source `source`."""
    return harmonise_groups(source, [surveys], threshold, median_gain)[0]


def harmonise_groups(source, groups: Sequence[Sequence], threshold: float | None = None, median_gain: bool = True,
                     measure: bool = True) -> list[Harmonised]:
    """Harmonise several groups of surveyed frames; the recipe source decides for all of them in one batched
    call. measure=False: each group keeps the block images of its consistency figure (Harmonised.pairs) for the
    caller to measure (consistency_of), and colour-science is not imported here."""
    prepared = [_prepare(list(g), threshold) for g in groups]
    inputs, owners = [], []
    for k, (group, out) in enumerate(zip(groups, prepared)):
        if len(out.members) < 2:
            continue
        for i in consensus_frames(out.members):
            x = group[i].agent_input(source.wants)
            inputs.append(None if x is None else (x * np.exp2(-out.deviation[i])).astype(np.float32))
            owners.append((k, i))
    decided = _decide_single_threaded(source, inputs) if inputs else []
    per_group: dict[int, dict[int, Recipe]] = {}
    for (k, i), recipe in zip(owners, decided):
        per_group.setdefault(k, {})[i] = recipe
    for k, recipes in per_group.items():
        _consensus(list(groups[k]), prepared[k], recipes, median_gain, measure)
    return prepared


#: Frames of a group the recipe source decides on (evenly spaced through a bigger group): the shared steps are the
#: medoid of their results, the exposure / white balance the median of their results. A burst's frames, normalised,
#: show the same scene, so a bigger group gains nothing from more decisions; every frame still gets its own
#: compensation (its capture deviation), and the decisions' cost stays fixed per group.
CONSENSUS_FRAMES = 8


def consensus_frames(members: Sequence[int]) -> list[int]:
    """The members (indices, in group order) the source decides on: all of them, or CONSENSUS_FRAMES evenly spaced
    from the first to the last."""
    if len(members) <= CONSENSUS_FRAMES:
        return list(members)
    pick = np.unique(np.linspace(0, len(members) - 1, CONSENSUS_FRAMES).round().astype(int))
    return [members[k] for k in pick]


#: Agent inputs per decide call: a group of hundreds of frames is decided in batches of this many, so the agent's
#: activations stay small (the agents' decisions do not depend on the batch size).
DECIDE_BATCH = 16


def _decide_single_threaded(source, inputs: list) -> list[Recipe]:
    """source.decide with BLAS on one thread (as in the engine's workers: small matrices gain nothing from more,
    and idle BLAS threads spin on a busy machine), DECIDE_BATCH inputs per call."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    out: list[Recipe] = []
    with threadpool_limits(limits=1, user_api="blas"):
        for k in range(0, len(inputs), DECIDE_BATCH):
            out += source.decide(inputs[k:k + DECIDE_BATCH], None)
    return out


def _prepare(surveys: list, threshold: float | None) -> Harmonised:
    """Steps 1-2: split off the frames that do not belong, measure the rest's capture deviations."""
    from .grouping import DEFAULT_THRESHOLD, signed, signature_distances  # noqa: PLC0415

    threshold = SPLIT_FACTOR * DEFAULT_THRESHOLD if threshold is None else threshold
    n = len(surveys)
    out = Harmonised(list(range(n)))
    if n < 2:
        return out
    sigs = np.stack([signed(s).signature for s in surveys])  # the survey's own signature when it carries one
    dist = signature_distances(sigs, sigs)
    medoid = int(np.argmin(dist.sum(axis=1)))
    for i in range(n):
        if dist[i, medoid] > threshold:
            out.split[i] = f"looks different from the rest of the group (signature distance {dist[i, medoid]:.2f})"
    members = [i for i in range(n) if i not in out.split]
    dev = capture_deviations([surveys[i].image for i in members]) if len(members) >= 2 else None
    for k, i in enumerate(members if dev is not None else []):
        ev, chroma = _split_ev_chroma(dev[k])
        if abs(ev) > MAX_EV_DEVIATION:
            out.split[i] = f"exposure {ev:+.1f} EV away from the group (more than capture drift)"
        elif chroma > MAX_CHROMA_DEVIATION:
            out.split[i] = f"colour {100 * (2 ** chroma - 1):.0f}% away from the group (different light)"
    out.members = [i for i in range(n) if i not in out.split]
    if len(out.members) < 2:
        return out
    if out.members != members:  # measured again without the frames split off
        dev = capture_deviations([surveys[i].image for i in out.members])
    out.deviation = {i: dev[k] for k, i in enumerate(out.members)}
    return out


def _consensus(surveys: list, out: Harmonised, decided: dict[int, Recipe], median_gain: bool,
               measure: bool = True) -> None:
    """Steps 3-4: the shared steps (medoid of the results), the median exposure / white balance, the recipes."""
    from ..render import render  # noqa: PLC0415

    deciders = [i for i in out.members if i in decided]  # consensus_frames(out.members)
    views = {i: (surveys[i].preview * np.exp2(-out.deviation[i])).astype(np.float32) for i in deciders}
    results = {i: render(decided[i], views[i], threads=1) for i in deciders}
    shown = {i: _small_display(results[i]) for i in deciders}
    cost = {i: sum(float(np.mean(np.abs(shown[i] - shown[j]))) for j in deciders) for i in deciders}
    ref = min(deciders, key=lambda i: cost[i])
    out.reference = ref
    shared = decided[ref]
    gain = np.ones(3)
    if median_gain:
        target = np.median([_log_means(results[i]) for i in deciders], axis=0)
        for _ in range(3):
            now = _log_means(render(fold_gains(shared, gain), views[ref], threads=1))
            gain = np.clip(gain * np.exp2(target - now), 0.5, 2.0)
    for i in out.members:
        out.recipes[i] = fold_gains(shared, gain * np.exp2(-out.deviation[i]))
    out.pairs = consistency_pairs([out.recipes[i] for i in out.members], [surveys[i].image for i in out.members])
    if measure:
        out.consistency, out.pairs = consistency_of(out.pairs), []


def _log_means(rgb_lin: np.ndarray) -> np.ndarray:
    """log2 of the per-channel mean of a linear image (clipped at 1: what is shown)."""
    return np.log2(np.maximum(np.clip(rgb_lin, 0, 1).reshape(-1, 3).mean(axis=0), 1e-6))
