"""The capture estimate: the learned agent's first decision, from global statistics of the 64x64 preview.

A small network ensemble (members of 2 x 32 LeakyReLU units, `CaptureModel`) reads 37 statistics of the linear preview
(`capture_features`: log-luminance percentiles, log chromaticity and grey-world casts, HSV saturation) and estimates
how the capture went wrong, in the units of the training degradations (agent.data.Degradation): exposure error in
EV, tone flattening (power on luminance about middle grey), saturation scale, white-balance temperature and tint
(log2 gains). `correction_steps` turns the estimate into the white-box steps that undo it exactly -- white balance
(the inverse gains), exposure, gamma about middle grey -- so a perfect estimate restores a degraded photo to within
about 2.5 CIEDE2000 (measured on the val photos). An estimate near "no error" is pulled to exactly none (a smooth
dead zone on the exposure and one on the tone, `CaptureModel.dead_zone_ev` / `dead_zone_tone`): a good photo gets
no exposure or gamma step at all; and a frame
with (almost) no tonal variety (one colour, a flat grey) gets (almost) no correction: it holds no evidence of one.

Why statistics and not the convolutional actor alone: trained on about 50 photos, the actor learned one brightening
curve for every photo and did not generalise (0.63x no edit on held-out photos, do no harm 5.9 CIEDE2000); global
statistics with a small network generalise from few photos. The actor still runs after the correction
(model card `capture.actor_steps`).

Exact arithmetic, as agent.inference: statistics in float64 with elementwise IEEE operations (no BLAS), the network
on the activation and power-of-two weight grids, so every thread count, batch composition and x86-64 CPU gives the
same estimate.

Exports: CAPTURE_FILE, N_FEATURES, FIELDS, capture_features, CaptureModel, confidence, gentler, correction_steps,
sample_capture_degradation, capture_dataset.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .. import color, filters
from ..recipe import Step
from .data import Degradation, as_captured, degrade, random_patches, sample_degradation, sample_training_degradation
from .inference import LEAKY_SLOPE, quantise_activations, quantise_weights

CAPTURE_FILE = "capture.npz"
#: Estimated fields, in the network's output order (Degradation field names; tone and saturation as log2).
FIELDS = ("ev", "tone", "saturation", "temperature", "tint")
#: Percentiles of log2 luminance read by the network (relative to the median).
LUMINANCE_PERCENTILES = (0.5, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99.5)
N_BASE_FEATURES = len(LUMINANCE_PERCENTILES) + 3 + 3 + 3 + 4 + 3 + 5 + 1
CAST_FEATURES = 12
CLIP_FEATURES = 6
N_FEATURES = N_BASE_FEATURES + CAST_FEATURES + CLIP_FEATURES
#: Linear values are floored here before logs (about 16 stops below white).
FLOOR = 2.0**-16
MINKOWSKI_P = 6
#: Tonal spread (standard deviation of log2 luminance, stops) from which the estimate is trusted fully; below it the
#: correction is blended towards none in proportion, to none at all for a flat frame (one colour: no evidence of a
#: capture error). 1% of the training patches are flatter than this (measured: 0.107 stops).
TONAL_SPREAD_FULL = 0.1
#: Index of the log2-luminance standard deviation in capture_features' vector.
SPREAD_FEATURE = len(LUMINANCE_PERCENTILES) + 2


def _luminance64(x: np.ndarray) -> np.ndarray:
    """(N, 3) float64 linear working RGB -> (N,) luminance, elementwise (the same bits on every CPU: no BLAS)."""
    w = np.asarray(color.LUMA_WEIGHTS, np.float64)
    return x[:, 0] * w[0] + x[:, 1] * w[1] + x[:, 2] * w[2]


def _percentiles(sorted_values: np.ndarray, qs) -> np.ndarray:
    """Percentiles `qs` (0-100) of an ascending array, linear interpolation (numpy's default method), elementwise."""
    pos = np.asarray(qs, np.float64) / 100.0 * (len(sorted_values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def _max3(x: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) largest channel (elementwise: much faster than a reduction over 3 values)."""
    return np.maximum(np.maximum(x[:, 0], x[:, 1]), x[:, 2])


def _min3(x: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) smallest channel."""
    return np.minimum(np.minimum(x[:, 0], x[:, 1]), x[:, 2])


def _relative_cast(rgb: np.ndarray) -> np.ndarray:
    """(3,) positive linear RGB -> log2 RGB - log2 luminance: a colour's cast in stops, 0 for grey."""
    rgb = np.maximum(rgb, FLOOR)
    return np.log2(rgb) - np.log2(_luminance64(rgb[None, :])[0])


def capture_features(preview_lin: np.ndarray, extended: bool = True) -> np.ndarray:
    """(H, W, 3) linear ProPhoto preview -> (N_FEATURES,) float64 statistics, each invariant to what it should not see:
    - log2 luminance: the percentiles minus the median, the median, mean - median, standard deviation;
    - log2 chromaticity (log2 RGB - log2 luminance) of the mid-tones (5th-95th luminance percentile, no channel near
      black): mean and standard deviation per channel, and percentiles 25/50/75/90 of its distance from the mean;
    - shades-of-grey cast (Minkowski p = 6 mean per channel of those pixels, log2, relative to its luminance);
    - HSV saturation of the linear pixels: percentiles 10/25/50/75/90 and the mean;
    - casts that one dominant colour does not explain away (CAST_FEATURES, each log2 relative to luminance): the
      mid-tones' median chromaticity; grey edge (RMS of the channels' differences between neighbouring pixels:
      edges average out an object's colour, the illuminant stays); the bright pixels' chromaticity (between the 90th
      and 99th luminance percentile, no channel clipped: white patch); the chromaticity of the fifth of the mid-tones
      that is least saturated (what should be grey);
    - clipping and highlight shape (CLIP_FEATURES, absolute: a capture clips at white, 1.0): the shares of pixels
      with a channel at >= 0.99 and >= 0.9 of white, with all channels >= 0.9, log2 of the 99.5th and 90th percentile
      of the largest channel, and the share of pixels within a quarter stop of the brightest (pile-up at the top).
    extended=False: the first N_BASE_FEATURES only."""
    x = np.maximum(np.asarray(preview_lin, np.float64).reshape(-1, 3), FLOOR)
    log_lum = np.log2(_luminance64(x))
    pct = np.percentile(log_lum, LUMINANCE_PERCENTILES)
    median = float(np.median(log_lum))
    chroma = np.log2(x) - log_lum[:, None]
    lo, hi = pct[LUMINANCE_PERCENTILES.index(5)], pct[LUMINANCE_PERCENTILES.index(95)]
    mid = (log_lum >= lo) & (log_lum <= hi) & (_min3(x) > 2.0**-12)
    if mid.sum() <= 32:
        mid = np.ones(len(x), bool)
    mids = chroma[mid]
    dev = mids - mids.mean(axis=0)
    spread = np.sqrt(dev[:, 0] ** 2 + dev[:, 1] ** 2 + dev[:, 2] ** 2)
    norm = np.mean(x[mid] ** MINKOWSKI_P, axis=0) ** (1.0 / MINKOWSKI_P)
    cast = np.log2(norm) - np.log2(_luminance64(norm[None, :])[0])
    v = _max3(x)
    sat = (v - _min3(x)) / v
    base = np.concatenate([pct - median, [median, log_lum.mean() - median, log_lum.std()],
                           mids.mean(axis=0), mids.std(axis=0), np.percentile(spread, [25, 50, 75, 90]), cast,
                           np.percentile(sat, [10, 25, 50, 75, 90]), [sat.mean()]])
    if not extended:  # a model that reads only the first N_BASE_FEATURES (inference cost as before)
        return base
    return np.concatenate([base, _cast_features(x, log_lum, np.sort(log_lum), chroma, mid, sat),
                           _clip_features(np.asarray(preview_lin, np.float64).reshape(-1, 3), np.asarray(preview_lin).shape)])


def _cast_features(x, log_lum, sorted_lum, chroma, mid, sat) -> np.ndarray:
    """CAST_FEATURES (12): median mid-tone chromaticity, grey edge, bright-pixel and least-saturated casts."""
    mids = chroma[mid]
    median_chroma = np.array([_percentiles(np.sort(mids[:, c]), [50])[0] for c in range(3)])
    side = int(round(np.sqrt(len(x))))
    img = x.reshape(side, -1, 3) if side * side == len(x) else x.reshape(1, -1, 3)
    dx = np.abs(img[:, 1:] - img[:, :-1]).reshape(-1, 3)
    dy = np.abs(img[1:] - img[:-1]).reshape(-1, 3)
    edges = np.sqrt((np.sum(dx**2, axis=0) + np.sum(dy**2, axis=0)) / max(len(dx) + len(dy), 1))
    grey_edge = _relative_cast(edges) if np.all(edges > 1e-9) else np.zeros(3)
    b_lo, b_hi = _percentiles(sorted_lum, [90, 99])
    bright = (log_lum >= b_lo) & (log_lum <= b_hi) & (_max3(x) < 0.99)
    bright_cast = chroma[bright].mean(axis=0) if bright.sum() >= 8 else mids.mean(axis=0)
    mid_sat = sat[mid]
    cut = _percentiles(np.sort(mid_sat), [20])[0]
    least = mids[mid_sat <= cut]
    least_cast = least.mean(axis=0) if len(least) else mids.mean(axis=0)
    return np.concatenate([median_chroma, grey_edge, bright_cast, least_cast])


def _clip_features(x: np.ndarray, shape) -> np.ndarray:
    """CLIP_FEATURES (6) of the linear pixels (not floored; values above white count as white)."""
    top = np.minimum(np.maximum(_max3(x), FLOOR), 1.0)
    low = np.minimum(_min3(x), 1.0)
    log_top = np.log2(top)
    sorted_top = np.sort(log_top)
    p995, p90 = _percentiles(sorted_top, [99.5, 90])
    return np.array([np.mean(top >= 0.99), np.mean(top >= 0.9), np.mean(low >= 0.9), p995, p90,
                     np.mean(log_top >= sorted_top[-1] - 0.25)])


def _dead_zone(values: np.ndarray, zone: float) -> np.ndarray:
    """Smooth dead zone: v (1 - exp(-(v / zone)^2)): about v^3 / zone^2 near 0, v beyond 2 zone (within 2%)."""
    return values * -np.expm1(-np.square(values / zone))


def _leaky(x: np.ndarray) -> np.ndarray:
    return quantise_activations(np.maximum(x, x * LEAKY_SLOPE))


class CaptureModel:
    """estimate(previews) -> (B, 5) float64 [ev, log2 tone, log2 saturation, temperature, tint] of each capture's
    error; degradations(previews) -> the same as Degradations. Weights: a capture.npz's arrays (feature_mean,
    feature_scale, output_mean, output_scale, dead_zone_ev, dead_zone_tone and dead_zone_cast (0 when
    missing), and per ensemble member k `member{k}/dense{i}_kernel` and `_bias` for i = 0, 1, 2). The members'
    standardised outputs are averaged (in member order: exact).
    A studio profile's change (look.decisions; optional arrays `adjust/scale`, `adjust/shift` (5,), `adjust/kernel`
    (H, 5), `adjust/bias` (5,)) moves the averaged output: mean * scale + shift + last_hidden @ kernel + bias, the
    members' last hidden layer averaged; the spread (the confidence) stays the members' own."""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        self.feature_mean = np.asarray(arrays["feature_mean"], np.float64)
        self.feature_scale = np.asarray(arrays["feature_scale"], np.float64)
        #: How many of capture_features' statistics the networks read: N_FEATURES, or N_BASE_FEATURES for a model
        #: fitted before the cast and clipping statistics (20261130.x: the same first 37, bit for bit).
        self.n_features = int(self.feature_mean.shape[0])
        if self.n_features not in (N_BASE_FEATURES, N_FEATURES):
            raise ValueError(f"capture model reads {self.n_features} statistics, this version {N_FEATURES} "
                             f"(or {N_BASE_FEATURES})")
        self.output_mean = np.asarray(arrays["output_mean"], np.float64)
        self.output_scale = np.asarray(arrays["output_scale"], np.float64)
        self.members = []
        while f"member{len(self.members)}/dense0_kernel" in arrays:
            prefix = f"member{len(self.members)}/"
            self.members.append([quantise_weights(arrays[f"{prefix}dense{i}_kernel"], arrays[f"{prefix}dense{i}_bias"],
                                                  arrays[f"{prefix}dense{i}_kernel"].shape[0]) for i in range(3)])
        if not self.members:
            raise ValueError("no ensemble members (member0/dense0_kernel)")
        self.dead_zone_ev = float(arrays["dead_zone_ev"])
        self.dead_zone_tone = float(arrays.get("dead_zone_tone", 0.0))
        #: Dead zone of the white-balance estimate (log2 gains; radial over temperature and tint together, so the
        #: cast's direction is kept); 0 (none) for models fitted before it.
        self.dead_zone_cast = float(arrays.get("dead_zone_cast", 0.0))
        self.adjust = None
        if "adjust/kernel" in arrays:
            self.adjust = tuple(np.asarray(arrays[f"adjust/{k}"], np.float64) for k in ("scale", "shift", "kernel", "bias"))

    def last_hidden(self, h: np.ndarray) -> np.ndarray:
        """(B, F) standardised, quantised statistics -> (B, H) the members' last hidden layer, averaged (in member
        order: exact)."""
        total = None
        for layers in self.members:
            x = h
            for kernel, bias in layers[:-1]:
                x = _leaky(x @ kernel + bias)
            total = x if total is None else total + x
        return total / len(self.members)


    @staticmethod
    def _member(h: np.ndarray, layers) -> np.ndarray:
        for kernel, bias in layers[:-1]:
            h = _leaky(h @ kernel + bias)
        kernel, bias = layers[-1]
        return h @ kernel + bias

    def estimate(self, previews_lin) -> np.ndarray:
        """(B, S, S, 3) linear ProPhoto previews -> (B, 5) estimated capture errors (FIELDS order, tone and
        saturation as log2), scaled towards none for nearly flat frames (TONAL_SPREAD_FULL), the exposure error,
        the tone flattening and the cast (temperature and tint together) pulled to 0 near 0 (dead zones, in EV, log2
        tone and log2 gains)."""
        return self.estimate_with_spread(previews_lin)[0]

    def statistics(self, previews_lin) -> np.ndarray:
        """(B, S, S, 3) linear ProPhoto previews -> (B, n_features) float64 capture statistics, the ones the
        networks read (capture_features, extended only for a model that reads the extended ones)."""
        extended = self.n_features > N_BASE_FEATURES
        return np.stack([capture_features(p, extended) for p in previews_lin])

    def estimate_with_spread(self, previews_lin, statistics: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """estimate()'s (B, 5) and the ensemble's spread (B, 5): the standard deviation of the members' estimates
        (FIELDS units, before the dead zones and the flat-frame trust), exact as the mean (members in order).
        statistics: the previews' statistics() when already computed (the same figures, not recomputed)."""
        feats = self.statistics(previews_lin) if statistics is None else statistics
        # (a flat frame's spread is float rounding, about 1e-15: the 1e-6 floor makes its trust exactly 0)
        trust = np.clip((feats[:, SPREAD_FEATURE] - 1e-6) / TONAL_SPREAD_FULL, 0.0, 1.0)
        h = quantise_activations((feats - self.feature_mean) / self.feature_scale)
        outs = [self._member(h, layers) for layers in self.members]
        total = outs[0]
        for o in outs[1:]:
            total = total + o
        mean = total / len(self.members)
        var = np.square(outs[0] - mean)
        for o in outs[1:]:
            var = var + np.square(o - mean)
        spread = np.sqrt(var / len(self.members)) * self.output_scale
        if self.adjust is not None:
            scale, shift, kernel, bias = self.adjust
            mean = mean * scale + shift + self.last_hidden(h) @ kernel + bias
        out = (mean * self.output_scale + self.output_mean) * trust[:, None]
        return self.pull_to_none(out), spread

    def pull_to_none(self, out: np.ndarray) -> np.ndarray:
        """(B, 5) estimates (FIELDS units) -> the same with the dead zones applied (in place): exposure (EV) and tone
        (log2) each alone, the cast radially (temperature and tint together: its direction is kept)."""
        for column, zone in ((0, self.dead_zone_ev), (1, self.dead_zone_tone)):
            if zone > 0:
                out[:, column] = _dead_zone(out[:, column], zone)
        if self.dead_zone_cast > 0:
            size = np.sqrt(out[:, 3] ** 2 + out[:, 4] ** 2)
            out[:, 3:5] *= (_dead_zone(size, self.dead_zone_cast) / np.maximum(size, 1e-300))[:, None]
        return out

    def degradations(self, previews_lin) -> list[Degradation]:
        """The estimates as Degradations (tone and saturation capped at 1: only flattening is undone)."""
        return [d for d, _ in self.assess(previews_lin)]

    def assess(self, previews_lin, statistics: np.ndarray | None = None) -> list[tuple[Degradation, float]]:
        """Per preview (its estimated capture error as a Degradation, the estimate's confidence in [0, 1]);
        statistics: see estimate_with_spread."""
        est, spread = self.estimate_with_spread(previews_lin, statistics)
        return [(Degradation(tone=min(2.0 ** t, 1.0), saturation=min(2.0 ** s, 1.0), temperature=float(temp),
                             tint=float(tint), ev=float(ev)), confidence(row))
                for (ev, t, s, temp, tint), row in zip(est, spread)]


#: Ensemble spreads at which the confidence halves: in EV (exposure) and in log2 gains (temperature and tint
#: together). An estimate is as sure as its members agree.
SPREAD_EV_HALF = 0.25
SPREAD_CAST_HALF = 0.08


def confidence(spread: np.ndarray) -> float:
    """(5,) ensemble spread (FIELDS units) -> confidence in [0, 1]: 1 / (1 + (s_ev / SPREAD_EV_HALF)^2 +
    (s_cast / SPREAD_CAST_HALF)^2), s_cast the spread of temperature and tint together (1 when the members agree,
    1/2 when the exposure estimates spread SPREAD_EV_HALF)."""
    s_ev = float(spread[0])
    s_cast = float(np.sqrt(spread[3] ** 2 + spread[4] ** 2))
    return 1.0 / (1.0 + (s_ev / SPREAD_EV_HALF) ** 2 + (s_cast / SPREAD_CAST_HALF) ** 2)


def gentler(d: Degradation, strength: float) -> Degradation:
    """The capture error `d` scaled to `strength` in [0, 1] (exposure and casts linearly, tone and saturation in
    log): its correction undoes that share of it."""
    return Degradation(tone=d.tone**strength, saturation=d.saturation**strength, temperature=d.temperature * strength,
                       tint=d.tint * strength, ev=d.ev * strength)


def correction_steps(d: Degradation) -> list[Step]:
    """White-box steps that undo capture error `d` (agent.data.degrade), in linear ProPhoto: white balance with
    the inverse of its gains (scaled to keep grey's luminance, as every white-balance step), then exposure by -ev
    plus what that scaling took away, and gamma 1/tone about middle grey (the exposure also carries the pivot
    log2(0.18) (1 - g) / g, so that (k x)^g keeps middle grey). Values clipped to the filters' ranges; identity
    steps are included (the caller drops no-ops)."""
    luma = np.asarray(color.LUMA_WEIGHTS, np.float64)
    gains = np.exp2(np.array([d.temperature, d.tint, -d.temperature]))
    gains /= gains @ luma
    inverse = 1.0 / gains
    scale = float(inverse @ luma)
    g = 1.0 / d.tone
    ev = -d.ev + np.log2(scale) + np.log2(color.MIDDLE_GREY) * (1.0 - g) / g
    return [_clipped("white_balance", dict(zip(("red", "green", "blue"), map(float, inverse / scale)))),
            _clipped("exposure", {"ev": float(ev)}), _clipped("gamma", {"gamma": float(g)})]


def _clipped(name: str, values: dict) -> Step:
    spec = filters.get(name)
    return Step(name, {p.name: float(np.clip(values[p.name], p.low, p.high)) for p in spec.params})


# ---- training data (NumPy; the network is fitted by agent.capture_train, TensorFlow) -------------------------

def sample_capture_degradation(rng: np.random.Generator, identity: float = 0.4) -> Degradation:
    """A training capture: none with probability `identity` (a good photo: the estimate must be "no error"), a
    mild one with 0.15, the evaluation's real-capture sampler with 0.3, else the wider training sampler (noise on
    some). agent.data's samplers throughout."""
    u = rng.random()
    if u < identity:
        return Degradation()
    if u < identity + 0.15:
        return sample_training_degradation(rng, 0.0, 1.0)
    if u < identity + 0.45:
        return sample_degradation(rng)
    return sample_training_degradation(rng, 0.0, 0.0)


#: Crops per chunk of capture_dataset (each chunk its own random stream: the same data for any number of workers).
DATASET_CHUNK = 256


def _dataset_chunk(args):
    crops, rounds, seed, chunk, identity = args
    rng = np.random.default_rng([seed, chunk])
    xs, ys = [], []
    idx = np.arange(len(crops))
    for _ in range(rounds):
        (patches,) = random_patches(crops, idx, rng)
        for patch in patches:
            d = sample_capture_degradation(rng, identity)
            xs.append(capture_features(as_captured(degrade(patch, d, rng))))
            ys.append([d.ev, np.log2(d.tone), np.log2(d.saturation), d.temperature, d.tint])
    return np.array(xs).reshape(-1, N_FEATURES), np.array(ys).reshape(-1, len(FIELDS))


def capture_dataset(crops: np.ndarray, rounds: int, rng: np.random.Generator | int, identity: float = 0.4,
                    workers: int = 1):
    """(N, 80, 80, 3) linear crops -> (X (rounds*N, N_FEATURES), Y (rounds*N, 5) FIELDS with log2 tone/saturation,
    source (rounds*N,) crop index): each round takes a random 64x64 patch of every crop (flipped at random) and a
    fresh training degradation, clipped at white as a capture is (agent.data.as_captured: overexposure leaves its
    evidence). Crops are taken in chunks of DATASET_CHUNK, chunk k drawing from the stream (seed, k), so `workers`
    processes give the same arrays as one. `rng`: a seed (or a Generator, from which one seed is drawn)."""
    seed = int(rng.integers(2**31)) if isinstance(rng, np.random.Generator) else int(rng)
    jobs = [(crops[i : i + DATASET_CHUNK], rounds, seed, k, identity)
            for k, i in enumerate(range(0, len(crops), DATASET_CHUNK))]
    if workers > 1:
        import multiprocessing  # noqa: PLC0415

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_dataset_chunk, jobs)
    else:
        parts = [_dataset_chunk(job) for job in jobs]
    sources = [np.tile(np.arange(i, i + len(job[0])), rounds) for job, i in zip(jobs, range(0, len(crops), DATASET_CHUNK))]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), np.concatenate(sources))
