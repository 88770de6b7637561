"""Per-photo decisions learned from the pairs: the studio's own capture correction, and how far a photo lies from
what the studio showed.

A profile's recipe for a photo is `capture correction (per photo) + look (shared)`. The capture correction is the
shipped agent's white-box correction (agent.capture.correction_steps: white balance, exposure, gamma about middle
grey) of an estimate d = (ev, log2 tone, temperature, tint); learning

1. alternates (learn.py) between the look, fitted on every pair's corrected pixels, and each pair's own best d
   (`fit_corrections`: robust CIELAB least squares through the exact NumPy ops, pulled gently towards the shipped
   estimate), so the d's become the studio's decisions under its look;
2. fine-tunes the shipped capture estimate on them (`fine_tune`): the last layer of every ensemble member moves by a
   ridge-penalised least-squares step towards the pairs' d's, starting from (and shrunk towards) the shipped
   weights; the penalty is chosen by cross-validation over picture groups on the CIELAB error the corrections give
   under the look, with "no change" among the candidates, so few pairs keep the shipped estimate;
3. records the training pairs' standardised capture statistics, so that each new photo's distance from them
   (`Familiarity`) says how much to trust the profile there.

The fine-tuned weights are an ordinary capture.npz: the agent runs them with its exact arithmetic (the same recipe
on every machine). NumPy and SciPy only.

Exports: ESTIMATE_FIELDS, correction_for, estimate_of, shipped_estimates, fit_corrections, FineTune, fine_tune,
Familiarity, CONFIDENCE_LEVELS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..agent.capture import FIELDS, CaptureModel, capture_features, correction_steps
from ..agent.data import Degradation
from ..agent.inference import LEAKY_SLOPE, quantise_activations

#: The estimate's fields a correction uses (agent.capture.FIELDS order: ev 0, tone 1, temperature 3, tint 4).
ESTIMATE_FIELDS = ("ev", "tone", "temperature", "tint")
_COLUMNS = tuple(FIELDS.index(f) for f in ESTIMATE_FIELDS)
#: Bounds of a pair's correction (ev in stops, log2 tone <= 0: only flattening is undone, log2 white-balance gains).
LOWER = np.array([-3.5, -1.5, -1.0, -1.0])
UPPER = np.array([3.5, 0.0, 1.0, 1.0])
#: Prior pulling a pair's correction towards the shipped estimate: (field scale) per unit of robust CIELAB cost.
PRIOR_SCALE = np.array([1.0, 0.5, 0.5, 0.5])
PRIOR_WEIGHT = 0.5
#: Penalties tried for the fine-tune's ridge on the last layers (relative to the number of pairs).
LAMBDAS = (10.0, 3.0, 1.0, 0.3, 0.1)
#: Trust levels by distance from the training pairs (in units of the training pairs' own nearest-neighbour
#: distance, median): up to 1.5 high, up to 3 medium, beyond low.
CONFIDENCE_LEVELS = ((1.5, "high"), (3.0, "medium"), (np.inf, "low"))


def correction_for(d: np.ndarray) -> list:
    """(4,) [ev, log2 tone, temperature, tint] -> the capture-correction Steps (agent.capture.correction_steps)."""
    ev, tone, temp, tint = (float(v) for v in d)
    return correction_steps(Degradation(tone=float(2.0 ** min(tone, 0.0)), temperature=temp, tint=tint, ev=ev))


def apply_correction(pix: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(N, 3) float32 linear ProPhoto -> the same after correction_for(d) (exact NumPy ops, a copy)."""
    out = np.array(pix, np.float32, copy=True)
    for step in correction_for(d):
        out = step.spec.apply_np(out, step.spec.prepare(step.params))
    return out


def estimate_of(estimates: np.ndarray) -> np.ndarray:
    """(B, 5) CaptureModel.estimate rows -> (B, 4) corrections as applied (log2 tone capped at 0)."""
    d = np.asarray(estimates, np.float64)[:, _COLUMNS].copy()
    d[:, 1] = np.minimum(d[:, 1], 0.0)
    return d


def shipped_estimates(capture: CaptureModel, previews: list[np.ndarray]) -> np.ndarray:
    """(B, 4) corrections the capture estimate gives for these (S, S, 3) linear previews."""
    return estimate_of(capture.estimate(np.stack([np.asarray(p, np.float64) for p in previews])))


# ---------------------------------------------------------------------------------------------------------------
# Each pair's own correction under the look
# ---------------------------------------------------------------------------------------------------------------
def fit_corrections(look_fn, pixels: list[np.ndarray], targets_lab: list[np.ndarray], start: np.ndarray,
                    prior: np.ndarray) -> np.ndarray:
    """Per pair i, the correction d_i (4,) minimising the soft-L1 CIELAB error of look_fn(correction(d_i)(pixels[i]))
    against targets_lab[i] (both (N_i, 3)), plus PRIOR_WEIGHT * ((d_i - prior_i) / PRIOR_SCALE)^2; started at
    start[i], bounded by LOWER/UPPER. look_fn: (N, 3) linear -> (N, 3) CIELAB of its display rendering."""
    from scipy.optimize import least_squares  # noqa: PLC0415

    out = np.array(start, np.float64, copy=True)
    for i, (pix, lab) in enumerate(zip(pixels, targets_lab)):
        scale = 1.0 / np.sqrt(len(pix))

        def residuals(d, pix=pix, lab=lab, p=prior[i]):
            r = (look_fn(apply_correction(pix, d)) - lab).ravel() * scale
            return np.concatenate([r, np.sqrt(PRIOR_WEIGHT) * (d - p) / PRIOR_SCALE])

        x0 = np.clip(out[i], LOWER + 1e-6, UPPER - 1e-6)
        res = least_squares(residuals, x0, bounds=(LOWER, UPPER), loss="soft_l1", f_scale=3.0 * scale,
                            diff_step=1e-3, max_nfev=40)
        out[i] = res.x
    return out


# ---------------------------------------------------------------------------------------------------------------
# Fine-tuning the capture estimate's last layers
# ---------------------------------------------------------------------------------------------------------------
def _hidden(capture: CaptureModel, feats: np.ndarray) -> np.ndarray:
    """(B, F) capture statistics -> (B, M * H + 1): every member's last hidden layer (divided by the member count,
    so that a change of the members' last layers adds `hidden @ delta` to the averaged standardised output) and a
    1 column (the shared change of their biases)."""
    h0 = quantise_activations((feats[:, : capture.n_features] - capture.feature_mean) / capture.feature_scale)
    parts = []
    for layers in capture.members:
        h = h0
        for kernel, bias in layers[:-1]:
            x = h @ kernel + bias
            h = quantise_activations(np.maximum(x, x * LEAKY_SLOPE))
        parts.append(h)
    return np.concatenate(parts + [np.full((len(feats), 1), float(len(parts)))], axis=1) / len(parts)


def _trust(feats: np.ndarray) -> np.ndarray:
    from ..agent.capture import SPREAD_FEATURE, TONAL_SPREAD_FULL  # noqa: PLC0415

    return np.clip((feats[:, SPREAD_FEATURE] - 1e-6) / TONAL_SPREAD_FULL, 0.0, 1.0)


def _undo_dead_zone(values: np.ndarray, zone: float) -> np.ndarray:
    """Inverse of capture's smooth dead zone v (1 - exp(-(v / zone)^2)) (monotone), by interpolation."""
    if zone <= 0:
        return values
    grid = np.linspace(-8.0, 8.0, 16001)
    return np.interp(values, grid * -np.expm1(-np.square(grid / zone)), grid)


def _standardised_targets(capture: CaptureModel, feats: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corrections d (B, 4) -> the averaged standardised network outputs (B, 5) that give them, and (B,) weights
    (0 where the frame is too flat for the network's output to matter)."""
    trust = _trust(feats)
    raw = np.zeros((len(d), len(FIELDS)))
    zones = {0: capture.dead_zone_ev, 1: capture.dead_zone_tone}
    for k, col in enumerate(_COLUMNS):
        raw[:, col] = _undo_dead_zone(d[:, k], zones.get(col, 0.0))
    safe = np.maximum(trust, 1e-3)[:, None]
    target = (raw / safe - capture.output_mean) / capture.output_scale
    return target, (trust >= 0.5).astype(np.float64)


@dataclass
class FineTune:
    """The chosen change of the members' last layers, on the averaged standardised outputs o (B, 5):
    o' = o * scale + shift + hidden @ delta (scale, shift: (5,) per-field calibration; delta (M * H + 1, 5))."""

    scale: np.ndarray
    shift: np.ndarray
    delta: np.ndarray
    lam: float
    cv: dict

    @property
    def changed(self) -> bool:
        return bool(np.any(self.delta) or np.any(self.scale != 1.0) or np.any(self.shift))

    def arrays(self, base: dict, n_members: int, hidden: int) -> dict:
        """The shipped capture.npz arrays with every member's last layer changed (averaging is linear, so every
        member's kernel and bias take the calibration, and delta's share)."""
        out = {k: np.array(v) for k, v in base.items()}
        if not self.changed:
            return out
        for k in range(n_members):
            key = f"member{k}/dense2_"
            kernel = np.asarray(base[key + "kernel"], np.float64) * self.scale
            bias = np.asarray(base[key + "bias"], np.float64) * self.scale + self.shift
            out[key + "kernel"] = kernel + self.delta[k * hidden : (k + 1) * hidden]
            out[key + "bias"] = bias + self.delta[-1]
        return out


def _ridge(z: np.ndarray, r: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    """argmin_D sum_i w_i |z_i D - r_i|^2 + lam * n * |D|^2 / columns."""
    if not np.isfinite(lam):
        return np.zeros((z.shape[1], r.shape[1]))
    zw = z * w[:, None]
    a = z.T @ zw + lam * max(1.0, w.sum()) * np.eye(z.shape[1]) / z.shape[1]
    return np.linalg.solve(a, zw.T @ r)


#: Ridge of the per-field calibration (scale, shift) towards (1, 0), per pair.
CALIBRATION_RIDGE = 0.05


def _calibrate(current: np.ndarray, target: np.ndarray, w: np.ndarray, columns) -> tuple[np.ndarray, np.ndarray]:
    """Per field, target ~ scale * current + shift (weighted least squares, ridge towards 1 and 0)."""
    scale, shift = np.ones(current.shape[1]), np.zeros(current.shape[1])
    n = max(1.0, w.sum())
    for c in columns:
        a = np.stack([current[:, c], np.ones(len(current))], axis=1)
        aw = a * w[:, None]
        m = a.T @ aw + CALIBRATION_RIDGE * n * np.eye(2)
        sol = np.linalg.solve(m, aw.T @ (target[:, c] - current[:, c]) + CALIBRATION_RIDGE * n * np.zeros(2))
        scale[c], shift[c] = 1.0 + sol[0], sol[1]
    return scale, shift


def _fit_change(z, current, target, w, lam, calibrate: bool):
    if not calibrate:
        return np.ones(current.shape[1]), np.zeros(current.shape[1]), _ridge(z, target - current, w, lam)
    scale, shift = _calibrate(current, target, w, _COLUMNS)
    calibrated = current * scale + shift
    return scale, shift, _ridge(z, target - calibrated, w, lam)


def fine_tune(capture: CaptureModel, feats: np.ndarray, d_target: np.ndarray, groups: list, score_fn,
              folds: int = 5, seed: int = 0) -> tuple[FineTune, np.ndarray]:
    """Choose the change (none = the shipped estimate; a per-field calibration; calibration plus a ridge step on
    the last layers, penalties LAMBDAS) by grouped cross-validation, then fit it on all pairs.

    feats (B, F) capture statistics of the pairs' previews; d_target (B, 4) their corrections; groups: picture
    group per pair (no group on both sides of a fold); score_fn(pred (B, 4)) -> mean error (lower is better) of
    corrections `pred`. Returns (FineTune, out-of-fold predictions (B, 4) of the chosen change)."""
    z = _hidden(capture, feats)
    current = _outputs(capture, feats)
    target, w = _standardised_targets(capture, feats, d_target)
    other = [c for c in range(len(FIELDS)) if c not in _COLUMNS]
    target[:, other] = current[:, other]
    keys = sorted(set(groups))
    rng = np.random.default_rng(seed)
    fold_of_key = {k: i % folds for i, k in enumerate(rng.permutation(keys).tolist())}
    fold = np.array([fold_of_key[g] for g in groups])
    n_folds = min(folds, len(keys))
    candidates = [("shipped", np.inf, False), ("calibration", np.inf, True)] + \
        [(f"calibration + last layers {lam:g}", lam, True) for lam in LAMBDAS if np.isfinite(lam)]
    scores, oof_by = {}, {}
    for name, lam, cal in candidates:
        oof = np.array(current, copy=True)
        if name != "shipped":
            for f in range(n_folds):
                test = fold == f
                scale, shift, delta = _fit_change(z[~test], current[~test], target[~test], w[~test], lam, cal)
                oof[test] = current[test] * scale + shift + z[test] @ delta
        pred = _predict(capture, feats, oof)
        oof_by[name] = pred
        scores[name] = float(score_fn(pred))
    best = min(candidates, key=lambda c: scores[c[0]])  # ties keep the earlier (simpler) candidate
    scale, shift, delta = _fit_change(z, current, target, w, best[1], best[2]) if best[0] != "shipped" else \
        (np.ones(len(FIELDS)), np.zeros(len(FIELDS)), np.zeros((z.shape[1], len(FIELDS))))
    return FineTune(scale, shift, delta, best[0], {k: round(v, 4) for k, v in scores.items()}), oof_by[best[0]]


def _outputs(capture: CaptureModel, feats: np.ndarray) -> np.ndarray:
    """Averaged standardised outputs of the ensemble (before scaling, trust and dead zones)."""
    h = quantise_activations((feats[:, : capture.n_features] - capture.feature_mean) / capture.feature_scale)
    total = sum(capture._member(h, layers) for layers in capture.members)
    return total / len(capture.members)


def _predict(capture: CaptureModel, feats: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Averaged standardised outputs -> corrections (B, 4), as CaptureModel.estimate turns them into estimates."""
    from ..agent.capture import _dead_zone  # noqa: PLC0415

    out = (outputs * capture.output_scale + capture.output_mean) * _trust(feats)[:, None]
    for column, zone in ((0, capture.dead_zone_ev), (1, capture.dead_zone_tone)):
        if zone > 0:
            out[:, column] = _dead_zone(out[:, column], zone)
    return estimate_of(out)


def features_of(previews: list[np.ndarray]) -> np.ndarray:
    """(B, N_FEATURES) capture statistics of (S, S, 3) linear previews."""
    return np.stack([capture_features(p) for p in previews])


# ---------------------------------------------------------------------------------------------------------------
# How familiar a new photo is
# ---------------------------------------------------------------------------------------------------------------
class Familiarity:
    """Distance of a photo's standardised capture statistics from the training pairs': the mean distance to its
    K nearest training pairs, in units of the training pairs' own (leave-one-out) median nearest distance.
    Elementwise float64 arithmetic (no BLAS): the same figure on every machine."""

    K = 3

    def __init__(self, train_std: np.ndarray):
        self.train = np.asarray(train_std, np.float64)
        self.unit = 1.0
        if len(self.train) > 1:
            own = np.array([self._raw(self.train[i], exclude=i) for i in range(len(self.train))])
            self.unit = max(float(np.median(own)), 1e-6)

    def _raw(self, x: np.ndarray, exclude: int | None = None) -> float:
        d = np.sqrt(np.sum(np.square(self.train - x[None, :]), axis=1))
        if exclude is not None:
            d = np.delete(d, exclude)
        k = min(self.K, len(d))
        return float(np.mean(np.sort(d)[:k])) if k else 0.0

    def distance(self, x_std: np.ndarray) -> float:
        return self._raw(np.asarray(x_std, np.float64)) / self.unit

    @staticmethod
    def level(distance: float) -> str:
        return next(name for bound, name in CONFIDENCE_LEVELS if distance <= bound)
