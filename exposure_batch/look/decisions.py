"""Per-photo decisions learned from the pairs: the studio's own capture correction, and how far a photo lies from
what the studio showed.

A profile's recipe for a photo is `capture correction (per photo) + look (shared)`. The capture correction is the
shipped agent's white-box correction (agent.capture.correction_steps: white balance, exposure, gamma about middle
grey) of an estimate d = (ev, log2 tone, temperature, tint); learning

1. alternates (learn.py) between the look, fitted on every pair's corrected pixels, and each pair's own best d
   (`fit_corrections`: robust CIELAB least squares through the exact NumPy ops, pulled gently towards the shipped
   estimate), so the d's become the studio's decisions under its look;
2. fine-tunes the shipped capture estimate on them (`fine_tune`): a per-field calibration of the ensemble's
   averaged output and a ridge-penalised step on the members' averaged last hidden layer towards the pairs' d's
   (stored apart from the members, so their agreement, hence the agent's confidence, stays the shipped one), through
   the shipped dead zones or narrower ones (a studio whose befores all need a correction, however small); the
   candidate is chosen by cross-validation over picture groups on the CIELAB error under the look of the
   corrections as the agent applies them (gentler below its confidence threshold), with "no change" among the
   candidates, so few pairs keep the shipped estimate;
3. records the training pairs' standardised capture statistics, so that each new photo's distance from them
   (`Familiarity`) says how much to trust the profile there.

The fine-tuned estimate is an ordinary capture.npz (plus `adjust/*` arrays): the agent runs it with its exact
arithmetic (the same recipe on every machine). NumPy and SciPy only.

Exports: ESTIMATE_FIELDS, correction_for, estimate_of, shipped_estimates, applied_corrections, fit_corrections,
FineTune, fine_tune, zone_candidates, Familiarity, CONFIDENCE_LEVELS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..agent.capture import FIELDS, CaptureModel, capture_features, correction_steps
from ..agent.data import Degradation
from ..agent.inference import quantise_activations

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
    """(B, F) capture statistics -> (B, H + 1): the members' last hidden layer averaged (CaptureModel.last_hidden)
    and a 1 column: a change D (H + 1, 5) moves the averaged standardised output by `hidden @ D`. The change is
    stored apart from the members (CaptureModel's `adjust/*` arrays), so they keep the agreement that sets the
    estimate's confidence: changing each member's last layer pulls them apart, and the agent would apply every
    correction gently."""
    h0 = quantise_activations((feats[:, : capture.n_features] - capture.feature_mean) / capture.feature_scale)
    return np.concatenate([capture.last_hidden(h0), np.ones((len(feats), 1))], axis=1)


def _trust(feats: np.ndarray) -> np.ndarray:
    from ..agent.capture import SPREAD_FEATURE, TONAL_SPREAD_FULL  # noqa: PLC0415

    return np.clip((feats[:, SPREAD_FEATURE] - 1e-6) / TONAL_SPREAD_FULL, 0.0, 1.0)


def _undo_dead_zone(values: np.ndarray, zone: float) -> np.ndarray:
    """Inverse of capture's smooth dead zone v (1 - exp(-(v / zone)^2)) (monotone), by interpolation."""
    if zone <= 0:
        return values
    grid = np.linspace(-8.0, 8.0, 16001)
    return np.interp(values, grid * -np.expm1(-np.square(grid / zone)), grid)


def _standardised_targets(capture: CaptureModel, feats: np.ndarray, d: np.ndarray,
                          zones: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Corrections d (B, 4) -> the averaged standardised network outputs (B, 5) that give them through the dead
    zones `zones` (ev, log2 tone), and (B,) weights (0 where the frame is too flat for the network's output to
    matter)."""
    trust = _trust(feats)
    raw = np.zeros((len(d), len(FIELDS)))
    zone_of = {0: zones[0], 1: zones[1]}
    for k, col in enumerate(_COLUMNS):
        raw[:, col] = _undo_dead_zone(d[:, k], zone_of.get(col, 0.0))
    if capture.dead_zone_cast > 0:  # radial, as CaptureModel.pull_to_none: the cast's size alone is undone
        cast = [FIELDS.index("temperature"), FIELDS.index("tint")]
        size = np.sqrt(np.sum(raw[:, cast] ** 2, axis=1))
        raw[:, cast] *= (_undo_dead_zone(size, capture.dead_zone_cast) / np.maximum(size, 1e-300))[:, None]
    safe = np.maximum(trust, 1e-3)[:, None]
    target = (raw / safe - capture.output_mean) / capture.output_scale
    return target, (trust >= 0.5).astype(np.float64)


@dataclass
class FineTune:
    """The chosen change of the members' last layers, on the averaged standardised outputs o (B, 5):
    o' = o * scale + shift + hidden @ delta (scale, shift: (5,) per-field calibration; delta (M * H + 1, 5)), and
    the dead zones (ev, log2 tone) the estimate goes through (None: the shipped ones)."""

    scale: np.ndarray
    shift: np.ndarray
    delta: np.ndarray
    lam: str
    cv: dict
    zones: tuple[float, float] | None = None

    @property
    def changed(self) -> bool:
        return bool(np.any(self.delta) or np.any(self.scale != 1.0) or np.any(self.shift))

    def arrays(self, base: dict, n_members: int, hidden: int) -> dict:
        """The shipped capture.npz arrays (the members unchanged) plus the change as CaptureModel's `adjust/*`
        arrays, and the chosen dead zones."""
        out = {k: np.array(v) for k, v in base.items() if not k.startswith("adjust/")}
        if self.zones is not None:
            out["dead_zone_ev"], out["dead_zone_tone"] = np.float64(self.zones[0]), np.float64(self.zones[1])
        if not self.changed:
            return out
        delta = np.zeros((hidden + 1, len(FIELDS))) if not np.any(self.delta) else np.asarray(self.delta, np.float64)
        out.update({"adjust/scale": np.asarray(self.scale, np.float64), "adjust/shift": np.asarray(self.shift, np.float64),
                    "adjust/kernel": delta[:hidden], "adjust/bias": delta[hidden]})
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


def zone_candidates(capture: CaptureModel) -> list[tuple[float, float]]:
    """Dead zones (ev, log2 tone) the fine-tune may choose: the shipped ones first, then narrower ones down to none
    (DEAD_ZONE_SHARES of the shipped exposure zone, with and without the tone zone). The shipped zones keep a good
    photo untouched; a studio whose befores all need a correction, however small, is served better without."""
    ev, tone = capture.dead_zone_ev, capture.dead_zone_tone
    out = [(ev, tone)]
    for share in DEAD_ZONE_SHARES:
        for t in (tone, 0.0):
            if (ev * share, t) not in out:
                out.append((ev * share, t))
    return out


#: Shares of the shipped exposure dead zone tried by the fine-tune (zone_candidates).
DEAD_ZONE_SHARES = (0.5, 0.0)


def fine_tune(capture: CaptureModel, feats: np.ndarray, d_target: np.ndarray, groups: list, score_fn,
              base: dict, folds: int = 5, seed: int = 0) -> tuple[FineTune, np.ndarray]:
    """Choose the change (none = the shipped estimate; a per-field calibration; calibration plus a ridge step on
    the last layers, penalties LAMBDAS; each through the shipped or narrower dead zones, zone_candidates) by
    grouped cross-validation, then fit it on all pairs. Every candidate is scored on the corrections the agent
    would apply with it (applied_corrections: its confidence and the gentler correction below LOW_CONFIDENCE
    included).

    feats (B, F) capture statistics of the pairs' previews; d_target (B, 4) their corrections; groups: picture
    group per pair (no group on both sides of a fold); score_fn(pred (B, 4)) -> mean error (lower is better) of
    corrections `pred`; base: the shipped capture.npz arrays. Returns (FineTune, out-of-fold corrections (B, 4) of
    the chosen change)."""
    z = _hidden(capture, feats)
    current = _outputs(capture, feats)
    other = [c for c in range(len(FIELDS)) if c not in _COLUMNS]
    keys = sorted(set(groups))
    rng = np.random.default_rng(seed)
    fold_of_key = {k: i % folds for i, k in enumerate(rng.permutation(keys).tolist())}
    fold = np.array([fold_of_key[g] for g in groups])
    n_folds = min(folds, len(keys))
    members, hidden = len(capture.members), z.shape[1] - 1
    changes = [("no change", np.inf, False), ("calibration", np.inf, True)] + \
        [(f"calibration + last layers {lam:g}", lam, True) for lam in LAMBDAS if np.isfinite(lam)]
    shipped_zones = (capture.dead_zone_ev, capture.dead_zone_tone)
    scores, oof_by, spec = {}, {}, {}
    for zones in zone_candidates(capture):
        target, w = _standardised_targets(capture, feats, d_target, zones)
        target[:, other] = current[:, other]
        for change, lam, cal in changes:
            name = _candidate_name(change, zones, shipped_zones)
            if change == "no change":
                pred = applied_corrections(CaptureModel(_no_change(zones, shipped_zones).arrays(base, members, hidden)),
                                           feats)
            else:
                pred = np.zeros((len(feats), len(ESTIMATE_FIELDS)))
                for f in range(n_folds):
                    test = fold == f
                    tune = FineTune(*_fit_change(z[~test], current[~test], target[~test], w[~test], lam, cal), name,
                                    {}, None if zones == shipped_zones else zones)
                    pred[test] = applied_corrections(CaptureModel(tune.arrays(base, members, hidden)), feats[test])
            oof_by[name], spec[name] = pred, (zones, lam, cal, target, w, change)
            scores[name] = float(score_fn(pred))
    best = min(scores, key=scores.get)  # ties keep the earlier (simpler) candidate: dict order
    zones, lam, cal, target, w, change = spec[best]
    if change == "no change":
        tune = _no_change(zones, shipped_zones)
        tune.lam = best
    else:
        tune = FineTune(*_fit_change(z, current, target, w, lam, cal), best, {},
                        None if zones == shipped_zones else zones)
    tune.cv = {k: round(v, 4) for k, v in scores.items()}
    return tune, oof_by[best]


def _no_change(zones, shipped_zones) -> FineTune:
    return FineTune(np.ones(len(FIELDS)), np.zeros(len(FIELDS)), np.zeros((1, len(FIELDS))), "shipped", {},
                    None if zones == shipped_zones else zones)


def applied_corrections(capture: CaptureModel, feats: np.ndarray) -> np.ndarray:
    """(B, F) capture statistics -> (B, 4) the corrections the learned agent applies with this capture estimate:
    its estimate, made gentler below LOW_CONFIDENCE exactly as the agent does (agent.policy.gentle_strength). The
    agent's white-balance guard, which reads the pixels, is not included."""
    from ..agent.capture import confidence, gentler  # noqa: PLC0415
    from ..agent.policy import gentle_strength  # noqa: PLC0415

    est, spread = capture.estimate_with_spread(None, feats[:, : capture.n_features])
    out = estimate_of(est)
    for i, (row, sp) in enumerate(zip(est, spread)):
        ev, t, s, temp, tint = (float(v) for v in row)
        d = Degradation(tone=min(2.0**t, 1.0), saturation=min(2.0**s, 1.0), temperature=temp, tint=tint, ev=ev)
        strength = gentle_strength(d, confidence(sp))
        if strength is not None:
            g = gentler(d, strength)
            out[i] = [g.ev, np.log2(g.tone), g.temperature, g.tint]
    return out


def _candidate_name(change: str, zones: tuple[float, float], shipped: tuple[float, float]) -> str:
    if zones == shipped:
        return "shipped" if change == "no change" else change
    return f"{change}, dead zones ev {zones[0]:g} / tone {zones[1]:g}"


def _outputs(capture: CaptureModel, feats: np.ndarray) -> np.ndarray:
    """Averaged standardised outputs of the ensemble (before scaling, trust and dead zones)."""
    h = quantise_activations((feats[:, : capture.n_features] - capture.feature_mean) / capture.feature_scale)
    total = sum(capture._member(h, layers) for layers in capture.members)
    return total / len(capture.members)


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
