"""The trained actor in NumPy: the learned agent's inference without TensorFlow (reference section 6).

Same layers as `networks.Actor`, read from the same weights file (Keras variable paths such as
`actor/param_trunk/param_trunk_conv0/kernel`): input encoding and state planes, two trunks of 4 x (conv 4x4
stride 2 SAME + LeakyReLU 0.2) + flatten (NHWC order), 8 parameter heads and the selector (Dense, LeakyReLU,
Dense), softmax. Convolutions are one matrix product each over 4x4 patches (float32). Tests hold the outputs to the
Keras actor's within 1e-4. Without TensorFlow, `process` with the learned agent starts in well under a second and
needs about 0.6 GB less memory per worker.

Images are (B, S, S, 3) float32 linear ProPhoto; state (B, STATE_DIM) float32 (netconfig's layout).

Exports: NumpyActor, LEAKY_SLOPE.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .. import filters
from .netconfig import NetConfig

LEAKY_SLOPE = np.float32(0.2)
_LOG_FLOOR = np.float32(2.0**-12)


def encode_input(images: np.ndarray, encoding: str) -> np.ndarray:
    """networks.encode_input in NumPy: 'linear' as is, 'log' = log2(max(x, 2^-12)) / 12 + 1."""
    if encoding == "log":
        return (np.log(np.maximum(images, _LOG_FLOOR)) / np.float32(12.0 * np.log(2.0)) + np.float32(1.0)).astype(np.float32)
    return images.astype(np.float32, copy=False)


def _leaky(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x, x * LEAKY_SLOPE)


def _conv_s2_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Conv2D(k, stride 2, padding SAME) of (B, H, W, C) with an HWIO kernel, as TensorFlow pads (extra on the end)."""
    k = kernel.shape[0]
    b, h, w, c = x.shape
    oh, ow = -(-h // 2), -(-w // 2)
    ph, pw = max((oh - 1) * 2 + k - h, 0), max((ow - 1) * 2 + k - w, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::2, ::2][:, :oh, :ow]
    cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(b * oh * ow, k * k * c)
    out = cols @ kernel.reshape(k * k * c, -1) + bias
    return out.reshape(b, oh, ow, -1)


class NumpyActor:
    """call(images_lin (B,S,S,3), state (B,D), dropout=None | (rate, rng)) -> (probs (B, N_FILTERS), raw list of
    (B, n_raw_i) in filter-registry order). Dropout (variations): keep each trunk feature with probability 1 - rate,
    scaled by 1 / (1 - rate), masks drawn from `rng` (a numpy Generator)."""

    def __init__(self, cfg: NetConfig, weights: Mapping[str, np.ndarray], prefix: str = "actor"):
        self.cfg = cfg
        get = lambda path: np.asarray(weights[f"{prefix}/{path}"], dtype=np.float32)  # noqa: E731
        self.trunks = {
            name: [(get(f"{name}/{name}_conv{i}/kernel"), get(f"{name}/{name}_conv{i}/bias")) for i in range(len(cfg.channels))]
            for name in ("param_trunk", "select_trunk")
        }
        mlp = lambda name: tuple(get(f"{name}/{name}_{layer}/{part}")  # noqa: E731
                                 for layer in ("fc1", "fc2") for part in ("kernel", "bias"))
        self.heads = [mlp(f"head_{spec.name}") for spec in filters.REGISTRY]
        self.selector = mlp("selector")

    def _trunk(self, x: np.ndarray, name: str) -> np.ndarray:
        for kernel, bias in self.trunks[name]:
            x = _leaky(_conv_s2_same(x, kernel, bias))
        return x.reshape(len(x), -1)

    @staticmethod
    def _mlp(x: np.ndarray, w1, b1, w2, b2) -> np.ndarray:
        return _leaky(x @ w1 + b1) @ w2 + b2

    @staticmethod
    def _dropout(feat: np.ndarray, dropout) -> np.ndarray:
        if dropout is None or dropout[0] <= 0:
            return feat
        rate, rng = dropout
        keep = rng.random(feat.shape) >= rate
        return np.where(keep, feat / np.float32(1.0 - rate), np.float32(0.0)).astype(np.float32)

    def __call__(self, images: np.ndarray, state: np.ndarray, dropout=None):
        enc = encode_input(np.asarray(images, dtype=np.float32), self.cfg.input_encoding)
        planes = np.broadcast_to(state[:, None, None, :], (*enc.shape[:3], state.shape[-1]))
        x = np.concatenate([enc, planes], axis=-1).astype(np.float32) - np.float32(0.5)
        pf = self._dropout(self._trunk(x, "param_trunk"), dropout)
        raw = [self._mlp(pf, *head)[:, : spec.n_raw] for head, spec in zip(self.heads, filters.REGISTRY)]
        logits = self._mlp(self._dropout(self._trunk(x, "select_trunk"), dropout), *self.selector)
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True) + np.float32(1e-37), raw
