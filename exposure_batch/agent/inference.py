"""The trained actor in NumPy: the learned agent's inference without TensorFlow (reference section 6).

Same layers as `networks.Actor`, read from the same weights file (Keras variable paths such as
`actor/param_trunk/param_trunk_conv0/kernel`): input encoding and state planes, two trunks of 4 x (conv 4x4
stride 2 SAME + LeakyReLU 0.2) + flatten (NHWC order), 8 parameter heads and the selector (Dense, LeakyReLU,
Dense), softmax. Tests hold the outputs to the Keras actor's within 1e-4. Without TensorFlow, `process` with the
learned agent starts in well under a second and needs about 0.6 GB less memory per worker.

**Exact arithmetic, so the result never depends on the machine.** A float32 matrix product's rounding depends on
how BLAS splits and orders its sums (thread count, batch size, CPU kernel), which moved recipes in the 6th decimal
between `--jobs 1` and `--jobs 2`. Here every matrix product is exact instead: activations live on a fixed-point
grid (steps of 2^-ACT_FRAC_BITS, clipped to +-2^ACT_INT_BITS), each layer's weights are rounded to a power-of-two
grid with few enough significant bits, and biases to the product grid, so every product and every partial sum is
an integer multiple of one power of two below 2^53: float64 holds it exactly, and any summation order, thread
count, batch composition or FMA use gives bit-identical results. Only elementwise IEEE operations (correctly
rounded everywhere) and the re-quantisation after each layer touch the values between products. The rounding moves
the outputs by about 1e-5 (far below the recipe's 6 stored decimals).

Images are (B, S, S, 3) float32/float64 linear ProPhoto; state (B, STATE_DIM) (netconfig's layout).

Exports: NumpyActor, LEAKY_SLOPE, ACT_FRAC_BITS, ACT_INT_BITS, quantise_activations, quantise_weights.
"""
from __future__ import annotations

import functools
import math
from typing import Mapping

import numpy as np

from .. import filters
from .netconfig import NetConfig

LEAKY_SLOPE = 0.2
_LOG_FLOOR = 2.0**-12
#: Activations are multiples of 2^-ACT_FRAC_BITS ...
ACT_FRAC_BITS = 17
#: ... within +-2^ACT_INT_BITS (measured largest activation of the shipped model on extreme inputs: 12.4).
ACT_INT_BITS = 6
_ACT_STEP = 2.0**-ACT_FRAC_BITS
_ACT_LIMIT = 2.0**ACT_INT_BITS
#: float64 holds integers below 2^53 exactly; one bit is kept for the bias.
_EXACT_BITS = 52
KERNEL = 4


def quantise_activations(x: np.ndarray) -> np.ndarray:
    """(...) float -> float64 on the activation grid (multiples of 2^-17 within +-64): exact products below."""
    q = np.multiply(x, 1.0 / _ACT_STEP, dtype=np.float64)
    np.round(q, out=q)
    np.clip(q, -_ACT_LIMIT / _ACT_STEP, _ACT_LIMIT / _ACT_STEP, out=q)
    q *= _ACT_STEP
    return q


def quantise_weights(kernel: np.ndarray, bias: np.ndarray, fan_in: int) -> tuple[np.ndarray, np.ndarray]:
    """A layer's (fan_in, out) kernel and (out,) bias -> float64 copies on power-of-two grids such that a product of
    activations on the activation grid with this kernel, summed over fan_in terms, plus the bias, is exact in
    float64 (every term and partial sum an integer multiple of one power of two below 2^52)."""
    act_bits = ACT_INT_BITS + ACT_FRAC_BITS  # |activation| / step <= 2^23
    weight_bits = _EXACT_BITS - act_bits - math.ceil(math.log2(max(fan_in, 2)))
    top = float(np.max(np.abs(kernel))) or 1.0
    w_step = 2.0 ** (math.ceil(math.log2(top)) - weight_bits)
    w = np.round(np.asarray(kernel, np.float64) / w_step) * w_step
    b_step = w_step * _ACT_STEP
    b = np.round(np.asarray(bias, np.float64) / b_step) * b_step
    return w, b


def encode_input(images: np.ndarray, encoding: str) -> np.ndarray:
    """networks.encode_input in float64: 'linear' as is, 'log' = log2(max(x, 2^-12)) / 12 + 1."""
    x = np.asarray(images, np.float64)
    if encoding == "log":
        return np.log2(np.maximum(x, _LOG_FLOOR)) * (1.0 / 12.0) + 1.0
    return x


def _leaky_q(x: np.ndarray) -> np.ndarray:
    """LeakyReLU(0.2) (max(x, 0.2 x), slope < 1) then back onto the activation grid."""
    return quantise_activations(np.maximum(x, x * LEAKY_SLOPE))


def _same_geometry(size: int, k: int) -> tuple[int, int, int]:
    """Stride-2 SAME convolution along one axis, as TensorFlow pads: (output size, pad before, pad after)."""
    out = -(-size // 2)
    pad = max((out - 1) * 2 + k - size, 0)
    return out, pad // 2, pad - pad // 2


def _conv_s2_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, k: int = KERNEL) -> np.ndarray:
    """Conv2D(k, stride 2, padding SAME) of (B, H, W, C) with a (k*k*C, O) kernel (HWIO order flattened), as
    TensorFlow pads (extra on the end); exact (see the module docstring), so any product order gives these bits."""
    kk, out = kernel.shape
    b, h, w, c = x.shape
    (oh, top, bottom), (ow, left, right) = _same_geometry(h, k), _same_geometry(w, k)
    xp = np.zeros((b, h + top + bottom, w + left + right, c), np.float64)
    xp[:, top : top + h, left : left + w] = x
    sb, sy, sx, sc = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (b, oh, ow, k, k, c), (sb, 2 * sy, 2 * sx, sy, sx, sc), writeable=False)
    cols = np.ascontiguousarray(win).reshape(b * oh * ow, kk)
    y = cols @ kernel
    y += bias
    return y.reshape(b, oh, ow, out)


def _valid_taps(size: int, k: int = KERNEL) -> np.ndarray:
    """(output size, k) bool: which kernel taps of a stride-2 SAME convolution fall inside the input (not padding)."""
    out, before, _ = _same_geometry(size, k)
    pos = np.arange(out)[:, None] * 2 - before + np.arange(k)[None, :]
    return (pos >= 0) & (pos < size)


@functools.lru_cache(maxsize=8)
def _border_kinds(h: int, w: int, k: int):
    """The distinct valid-tap patterns of rows and of columns, and each output row's / column's pattern index."""
    rows, cols = _valid_taps(h, k), _valid_taps(w, k)
    row_kinds, row_of = np.unique(rows, axis=0, return_inverse=True)
    col_kinds, col_of = np.unique(cols, axis=0, return_inverse=True)
    return row_kinds, row_of.reshape(-1), col_kinds, col_of.reshape(-1)


def _border_tap_sums(kernel_hwio: np.ndarray, h: int, w: int) -> np.ndarray:
    """(row kinds, col kinds, D, O): the kernel's taps summed over those inside the image, per border pattern."""
    row_kinds, _, col_kinds, _ = _border_kinds(h, w, kernel_hwio.shape[0])
    return np.stack([np.stack([kernel_hwio[r][:, c].sum(axis=(0, 1)) for c in col_kinds]) for r in row_kinds])


def _constant_planes_conv(values: np.ndarray, tap_sums: np.ndarray, h: int, w: int, k: int = KERNEL) -> np.ndarray:
    """The stride-2 SAME convolution of constant planes (B, D) (each image's state, broadcast over H x W): at each
    output position the product with the taps that fall inside the image (`_border_tap_sums`), so it takes one
    small product per border pattern instead of a product over every pixel. Exact, like the rest."""
    _, row_of, _, col_of = _border_kinds(h, w, k)
    per_kind = np.einsum("bd,rcdo->brco", values, tap_sums)  # (B, row kinds, col kinds, O)
    return per_kind[:, row_of][:, :, col_of]


class NumpyActor:
    """call(images_lin (B,S,S,3), state (B,D), dropout=None | (rate, rng)) -> (probs (B, N_FILTERS) float64,
    raw list of (B, n_raw_i) float64 in filter-registry order), bit-identical on every machine, thread count and
    batch composition. Dropout (variations): keep each trunk feature with probability 1 - rate, scaled by
    1 / (1 - rate), masks drawn from `rng` (a numpy Generator)."""

    def __init__(self, cfg: NetConfig, weights: Mapping[str, np.ndarray], prefix: str = "actor"):
        self.cfg = cfg
        get = lambda path: np.asarray(weights[f"{prefix}/{path}"], dtype=np.float32)  # noqa: E731

        def dense(path: str, cols: int | None = None):
            kernel, bias = get(f"{path}/kernel"), get(f"{path}/bias")
            if cols is not None:
                kernel, bias = kernel[:, :cols], bias[:cols]
            return quantise_weights(kernel.reshape(-1, kernel.shape[-1]), bias, int(np.prod(kernel.shape[:-1])))

        self.trunks = {name: [dense(f"{name}/{name}_conv{i}") for i in range(len(cfg.channels))]
                       for name in ("param_trunk", "select_trunk")}
        # Both trunks' first layers read the same input: one product for the image channels (both kernels side by
        # side) and the state planes, constant over the image, through their summed taps (_constant_planes_conv).
        firsts = [self.trunks[name][0] for name in ("param_trunk", "select_trunk")]
        kernel = np.concatenate([w for w, _ in firsts], axis=1).reshape(KERNEL, KERNEL, -1, sum(len(b) for _, b in firsts))
        self.first_split = len(firsts[0][1])
        self.first_image = (np.ascontiguousarray(kernel[:, :, :3].reshape(-1, kernel.shape[-1])),
                            np.concatenate([b for _, b in firsts]))
        self.first_state = _border_tap_sums(kernel[:, :, 3:], cfg.preview, cfg.preview)
        # The eight heads' first layers read the same features: one product, exact per column like eight.
        firsts = [dense(f"head_{spec.name}/head_{spec.name}_fc1") for spec in filters.AGENT_ACTIONS]
        self.heads_fc1 = (np.concatenate([w for w, _ in firsts], axis=1), np.concatenate([b for _, b in firsts]))
        self.heads_fc1_each = firsts
        self.fc = cfg.fc
        self.heads_fc2 = [dense(f"head_{spec.name}/head_{spec.name}_fc2", spec.n_raw) for spec in filters.AGENT_ACTIONS]
        self.selector = (dense("selector/selector_fc1"), dense("selector/selector_fc2"))

    def _first_layer(self, image: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both trunks' first conv + LeakyReLU on the image part (B, S, S, 3) and the state part (B, D) of the input
        (both already shifted by -0.5 and on the activation grid) -> (param trunk, select trunk) activations."""
        out = _conv_s2_same(image, *self.first_image)
        if image.shape[1:3] != (self.cfg.preview, self.cfg.preview):
            raise ValueError(f"actor needs {self.cfg.preview}x{self.cfg.preview} previews, got {image.shape[1:3]}")
        out += _constant_planes_conv(state, self.first_state, *image.shape[1:3])
        out = _leaky_q(out)
        return out[..., : self.first_split], out[..., self.first_split :]

    def _trunk(self, x: np.ndarray, name: str) -> np.ndarray:
        """Layers 2.. of a trunk, then flatten (NHWC order)."""
        for kernel, bias in self.trunks[name][1:]:
            x = _leaky_q(_conv_s2_same(x, kernel, bias))
        return x.reshape(len(x), -1)

    @staticmethod
    def _dropout(feat: np.ndarray, dropout) -> np.ndarray:
        if dropout is None or dropout[0] <= 0:
            return feat
        rate, rng = dropout
        keep = rng.random(feat.shape) >= rate
        return quantise_activations(np.where(keep, feat / (1.0 - rate), 0.0))

    def features(self, images: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network input on the activation grid: (encoded image - 0.5 (B, S, S, 3), state - 0.5 (B, D)); the
        Keras actor concatenates the state as constant planes."""
        enc = encode_input(images, self.cfg.input_encoding)
        return quantise_activations(enc - 0.5), quantise_activations(np.asarray(state, np.float64) - 0.5)

    def decide(self, images: np.ndarray, state: np.ndarray, dropout=None) -> tuple[np.ndarray, list[np.ndarray]]:
        """One step for inference: (actions (B,) argmax filter indices, per image the chosen filter's raw parameters
        (n_raw,) float64). Only the chosen filters' heads are computed; the same bits as __call__ (exact)."""
        param_x, select_x = self._first_layer(*self.features(images, state))
        pf = self._dropout(self._trunk(param_x, "param_trunk"), dropout)
        (w1, b1), (w2, b2) = self.selector
        sf = self._dropout(self._trunk(select_x, "select_trunk"), dropout)
        actions = np.argmax(_leaky_q(sf @ w1 + b1) @ w2 + b2, axis=-1)
        raw: list = [None] * len(actions)
        for a in np.unique(actions):
            rows = np.flatnonzero(actions == a)
            (h1, c1), (h2, c2) = self.heads_fc1_each[a], self.heads_fc2[a]
            out = _leaky_q(pf[rows] @ h1 + c1) @ h2 + c2
            for k, r in enumerate(rows):
                raw[r] = out[k]
        return actions, raw

    def __call__(self, images: np.ndarray, state: np.ndarray, dropout=None):
        param_x, select_x = self._first_layer(*self.features(images, state))
        pf = self._dropout(self._trunk(param_x, "param_trunk"), dropout)
        hidden = _leaky_q(pf @ self.heads_fc1[0] + self.heads_fc1[1])
        raw = [hidden[:, i * self.fc : (i + 1) * self.fc] @ w + b for i, (w, b) in enumerate(self.heads_fc2)]
        (w1, b1), (w2, b2) = self.selector
        sf = self._dropout(self._trunk(select_x, "select_trunk"), dropout)
        logits = _leaky_q(sf @ w1 + b1) @ w2 + b2
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True) + 1e-37, raw

