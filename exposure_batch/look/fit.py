"""Fitting a look: damped Gauss-Newton (Levenberg-Marquardt) on CIELAB differences, NumPy only.

The residuals are CIELAB (D65) differences between the display rendering (linear ProPhoto -> linear sRGB, clipped
to [0, 1], the same fixed stage as every output) of look(agent output) and of the target, on sampled pixels of
every training pair, plus a small ridge pulling the parameters towards "no look"; each pixel's error counts by a soft-L1 cost
(iteratively reweighted), so photos the agent got badly wrong do not dominate the look, and the cost tracks the
mean colour difference the look is judged by. The Jacobian is taken by
forward differences through the filters' exact NumPy ops, restarting each column from the cached output of the
steps before the one it perturbs. The snapshot kept is the one with the lowest validation CIEDE2000.

Also here: the least-squares 3x3 colour matrix + offset reference (linear light), an initialisation of the look's
two white balances and black & white mix from that matrix, and the metrics (CIEDE2000, PSNR on display sRGB).

Exports: FitData, FitResult, fit_look, cost, lab_display, fit_matrix_reference, apply_matrix, init_from_matrix,
ciede2000_pixels.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import color
from .model import LookModel

#: Ridge weight on theta - identity (per parameter), relative to one CIELAB unit of residual per pixel.
DEFAULT_RIDGE = 0.02
FD_STEP = 1e-3
#: Stop when an accepted step lowers the training loss by less than this fraction ...
STOP_REL = 2e-5
#: ... or when the validation error has not improved for this many iterations.
PATIENCE = 8
#: Weight of the curves' roughness (see _curve_roughness).
SMOOTH = 0.5
#: Scale (CIELAB units) where the fit's per-pixel loss turns from squared to linear (see _robust).
ROBUST_C = 3.0


def _prophoto_to_xyz_scaled() -> np.ndarray:
    """(3, 3): linear sRGB -> XYZ / D65 white (color.SRGB_TO_XYZ, color.D65_XYZ), as a matrix applied to clipped
    linear sRGB values (float32)."""
    return (color.SRGB_TO_XYZ.astype(np.float64) / color.D65_XYZ.astype(np.float64)[:, None]).T.astype(np.float32)


_XYZ_N = _prophoto_to_xyz_scaled()
_DELTA = 6.0 / 29.0


def lab_display(rgb_lin: np.ndarray) -> np.ndarray:
    """(N, 3) linear ProPhoto -> (N, 3) float32 CIELAB (D65) of the display image (sRGB primaries, clipped to
    [0, 1]; the sRGB transfer curve cancels out: Lab is computed from the clipped linear values)."""
    srgb = np.asarray(rgb_lin, np.float32) @ color.convert_matrix(color.WORKING_SPACE, color.Space.SRGB).T
    np.clip(srgb, 0.0, 1.0, out=srgb)
    xyz = srgb @ _XYZ_N
    f = np.where(xyz > _DELTA**3, np.cbrt(xyz), xyz / (3 * _DELTA**2) + 4.0 / 29.0).astype(np.float32)
    out = np.empty_like(f)
    out[:, 0] = 116.0 * f[:, 1] - 16.0
    out[:, 1] = 500.0 * (f[:, 0] - f[:, 1])
    out[:, 2] = 200.0 * (f[:, 1] - f[:, 2])
    return out


def ciede2000_pixels(lab_a: np.ndarray, lab_b: np.ndarray) -> float:
    """Mean CIEDE2000 between two (N, 3) CIELAB arrays (colour-science's implementation)."""
    from ..color import _colour  # noqa: PLC0415

    return float(np.mean(_colour().difference.delta_E_CIE2000(lab_a, lab_b)))


@dataclass
class FitData:
    """Pixels for fitting or validation. x_lin: (N, 3) agent-corrected linear ProPhoto; target_lab: (N, 3) CIELAB
    of the target's display values; key_offsets: (N,) per-pixel key - key_ref of the pixel's photo."""

    x_lin: np.ndarray
    target_lab: np.ndarray
    key_offsets: np.ndarray

    def take(self, idx: np.ndarray) -> "FitData":
        return FitData(self.x_lin[idx], self.target_lab[idx], self.key_offsets[idx])


@dataclass
class FitResult:
    theta: np.ndarray
    best_iteration: int
    history: list = field(default_factory=list)
    val_ciede2000: float = float("nan")
    init: str = "identity"


def _residuals(model: LookModel, data: FitData, theta: np.ndarray, ridge: float, scale: float,
               start: int = 0, cached: np.ndarray | None = None) -> np.ndarray:
    pix = data.x_lin if cached is None else cached
    out = model.forward(pix, theta, data.key_offsets, start)
    r = (lab_display(out) - data.target_lab).ravel() * scale
    return np.concatenate([r, np.sqrt(ridge) * (theta - model.identity),
                           np.sqrt(SMOOTH) * _curve_roughness(model, theta)]).astype(np.float64)


def _curve_roughness(model: LookModel, theta: np.ndarray) -> np.ndarray:
    """Differences of neighbouring log slopes of the tone and colour curves: a smooth curve generalises, a zigzag
    fitted to a few photos does not."""
    parts = []
    for b in model.blocks:
        if b.filter in ("tone_curve", "color_curves"):
            v = theta[b.start : b.start + b.size].reshape(-1, 8)
            parts.append(np.diff(v, axis=1).ravel() / np.log(b.spec.params[0].high / b.spec.params[0].low))
    return np.concatenate(parts)


def _stage_cache(model: LookModel, data: FitData, theta: np.ndarray) -> list[np.ndarray]:
    """cache[i] = pixels after blocks[:i] (cache[0] = input)."""
    cache = [data.x_lin]
    for b in model.blocks[:-1]:
        cache.append(b.spec.apply_np(np.array(cache[-1], copy=True), model.prepared(theta, b, data.key_offsets)))
    return cache


def _jacobian(model: LookModel, data: FitData, theta: np.ndarray, r0: np.ndarray, ridge: float, scale: float,
              free: np.ndarray) -> np.ndarray:
    cache = _stage_cache(model, data, theta)
    jac = np.zeros((r0.size, theta.size), np.float64)
    for j in np.flatnonzero(free):
        h = FD_STEP if theta[j] + FD_STEP <= model.high[j] else -FD_STEP
        t = theta.copy()
        t[j] += h
        blk = model.block_of(j)
        jac[:, j] = (_residuals(model, data, t, ridge, scale, blk, cache[blk]) - r0) / h
    return jac


def _robust(r: np.ndarray, n_pix: int, scale: float) -> tuple[float, np.ndarray]:
    """Soft-L1 cost on each pixel's CIELAB error norm e (2 c^2 (sqrt(1 + (e/c)^2) - 1): squared below c, linear
    above, like the mean CIEDE2000 it stands for) plus the ridge's squares; and the IRLS row weights (sqrt)."""
    lab = r[: 3 * n_pix].reshape(n_pix, 3) / scale
    e2 = np.sum(lab * lab, axis=1) / ROBUST_C**2
    root = np.sqrt(1.0 + e2)
    cost = float(scale**2 * np.sum(2 * ROBUST_C**2 * (root - 1.0)) + r[3 * n_pix :] @ r[3 * n_pix :])
    w = np.ones_like(r)
    w[: 3 * n_pix] = np.repeat(1.0 / np.sqrt(root), 3)
    return cost, w


def cost(model: LookModel, data: FitData, theta: np.ndarray, ridge: float = DEFAULT_RIDGE) -> float:
    """The fit's objective at theta (robust CIELAB term + ridge + curve roughness): to compare starting points."""
    scale = 1.0 / np.sqrt(len(data.x_lin))
    return _robust(_residuals(model, data, theta, ridge, scale), len(data.x_lin), scale)[0]


def fit_look(model: LookModel, train: FitData, theta0: np.ndarray, *, val: FitData | None = None,
             iterations: int = 30, ridge: float = DEFAULT_RIDGE,
             on_iteration: Callable[[dict], None] | None = None) -> FitResult:
    """Levenberg-Marquardt from theta0 (bounded by projection); keeps the snapshot with the lowest validation
    CIEDE2000 (the training loss when there is no validation set). on_iteration gets one history row per
    iteration: {"iteration", "train_loss", "val_ciede2000", "damping", "seconds"}."""
    scale = 1.0 / np.sqrt(len(train.x_lin))
    free = model.high > model.low
    theta = model.clip(np.asarray(theta0, np.float64))
    n_pix = len(train.x_lin)
    r = _residuals(model, train, theta, ridge, scale)
    loss, sw = _robust(r, n_pix, scale)
    damping = 1e-3
    t0 = time.perf_counter()

    def score(th):
        if val is None:
            return float("nan")
        return ciede2000_pixels(lab_display(model.forward(val.x_lin, th, val.key_offsets)), val.target_lab)

    best = FitResult(theta.copy(), 0, [], score(theta))
    best_key = best.val_ciede2000 if val is not None else loss
    row = {"iteration": 0, "train_loss": loss, "val_ciede2000": best.val_ciede2000, "damping": damping,
           "seconds": round(time.perf_counter() - t0, 3)}
    best.history.append(row)
    if on_iteration:
        on_iteration(row)
    for it in range(1, iterations + 1):
        jac = _jacobian(model, train, theta, r, ridge, scale, free) * sw[:, None]
        jtj = jac.T @ jac
        grad = jac.T @ (r * sw)
        diag = np.maximum(np.diag(jtj), 1e-9)
        improved = False
        for _ in range(8):
            a = jtj + damping * np.diag(diag)
            a[~free, :] = 0.0
            a[:, ~free] = 0.0
            a[~free, ~free] = 1.0
            step = -np.linalg.solve(a, np.where(free, grad, 0.0))
            cand = model.clip(theta + step)
            r_c = _residuals(model, train, cand, ridge, scale)
            loss_c, sw_c = _robust(r_c, n_pix, scale)
            if loss_c < loss:
                theta, r, sw, damping, improved = cand, r_c, sw_c, max(damping / 3.0, 1e-7), True
                rel = (loss - loss_c) / max(loss, 1e-12)
                loss = loss_c
                break
            damping *= 4.0
        val_score = score(theta)
        row = {"iteration": it, "train_loss": loss, "val_ciede2000": val_score, "damping": damping,
               "seconds": round(time.perf_counter() - t0, 3)}
        best.history.append(row)
        if on_iteration:
            on_iteration(row)
        key = val_score if val is not None else loss
        if key < best_key:
            best_key = key
            best.theta, best.best_iteration, best.val_ciede2000 = theta.copy(), it, val_score
        if not improved or rel < STOP_REL or it - best.best_iteration >= PATIENCE:
            break
    return best


# ---------------------------------------------------------------------------------------------------------------
# The least-squares 3x3 reference and the initialisation it gives
# ---------------------------------------------------------------------------------------------------------------
def fit_matrix_reference(x_lin: np.ndarray, y_lin: np.ndarray) -> np.ndarray:
    """Least-squares (4, 3) W with y ~ [x, 1] @ W, both (N, 3) linear ProPhoto (the 3x3 matrix + offset)."""
    a = np.concatenate([np.asarray(x_lin, np.float64), np.ones((len(x_lin), 1))], axis=1)
    w, *_ = np.linalg.lstsq(a, np.asarray(y_lin, np.float64), rcond=None)
    return w


def apply_matrix(w: np.ndarray, x_lin: np.ndarray) -> np.ndarray:
    """[x, 1] @ W for (..., 3) linear values -> float32 (unclipped)."""
    x = np.asarray(x_lin, np.float64)
    return (x @ w[:3] + w[3]).astype(np.float32)


def init_from_matrix(model: LookModel, w: np.ndarray) -> np.ndarray:
    """theta with wb_out . ((1 - a) I + a 1 L^T) . wb_in closest (Frobenius) to the reference's 3x3 matrix."""
    from scipy.optimize import least_squares  # noqa: PLC0415

    m = np.asarray(w[:3], np.float64).T  # y = M x
    luma = color.LUMA_WEIGHTS.astype(np.float64)
    wb = next(b for b in model.blocks if b.name == "wb_in")
    lo, hi = model.low[wb.start], model.high[wb.start]

    def build(p):
        d1, a, d2 = np.exp(p[:3]), p[3], np.exp(p[4:7])
        mix = (1 - a) * np.eye(3) + a * np.outer(np.ones(3), luma)
        return np.diag(d2) @ mix @ np.diag(d1)

    res = least_squares(lambda p: (build(p) - m).ravel(), np.zeros(7),
                        bounds=([lo] * 3 + [0.0] + [lo] * 3, [hi] * 3 + [1.0] + [hi] * 3))
    theta = np.array(model.identity)
    for b in model.blocks:
        if b.name == "wb_in":
            theta[b.start : b.start + 3] = res.x[:3]
        elif b.name == "mix":
            theta[b.start] = res.x[3]
        elif b.name == "wb_out":
            theta[b.start : b.start + 3] = res.x[4:7]
    return model.clip(theta)
