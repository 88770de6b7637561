"""Fitting the capture estimate (agent.capture) -- TensorFlow, training only.

1. Statistics of random 64x64 patches of the training photos' crops, each under a fresh training degradation
   (agent.capture.capture_dataset), with the degradation as the label.
2. A 2 x `hidden` LeakyReLU network regresses the standardised labels (mean squared error, L2 on the kernels,
   Adam with the learning rate decayed 10x over the epochs).
3. The exposure dead zone is chosen on the validation photos (never the held-out ones): each candidate is
   evaluated as the whole learned agent would edit -- restoration CIEDE2000 of degraded val photos plus do-no-harm
   CIEDE2000 of the val originals -- and the smallest sum wins.

Exports: CaptureTrainConfig, fit_capture_network, choose_dead_zone.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import tensorflow as tf

from .capture import FIELDS, N_FEATURES


@dataclass
class CaptureTrainConfig:
    hidden: int = 32
    l2: float = 1e-3
    epochs: int = 40
    batch: int = 128
    lr: float = 1e-3
    rounds: int = 24  # patches per crop (each with its own degradation)
    identity: float = 0.4  # share of undegraded training captures
    seed: int = 0
    members: int = 5  # ensemble size (each member its own initialisation and batch order)
    dead_zones: tuple = (0.0, 0.15, 0.3, 0.45, 0.6)
    #: Dead zone of the tone estimate (log2 tone): chosen by 4-fold cross-validation over the train + val photos
    #: (restoration 10.42 -> 10.40 CIEDE2000, do no harm 3.85 -> 3.69, worst 20.0 -> 19.0 at 0.3 vs none).
    dead_zone_tone: float = 0.3
    #: Dead zone of the cast estimate (log2 gains, temperature and tint together): chosen on the val photos with
    #: 20261207's estimate and no guard on its white balance (0.05 / 0.075 / 0.1: warm cast taken back 0.42 / 0.40 /
    #: 0.35, cool 0.65 / 0.65 / 0.64, do no harm 1.32 / 1.13 / 1.00 mean CIEDE2000; none: 1.64).
    dead_zone_cast: float = 0.075

    def to_dict(self) -> dict:
        return asdict(self) | {"dead_zones": list(self.dead_zones)}


def fit_capture_network(x: np.ndarray, y: np.ndarray, cfg: CaptureTrainConfig, log=print) -> dict:
    """Statistics (N, N_FEATURES) and labels (N, 5) -> the capture.npz arrays (dead_zone_ev 0 until chosen): the
    standardisation and `cfg.members` networks, member k seeded with cfg.seed + k."""
    f_mean, f_scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    o_mean, o_scale = y.mean(axis=0), y.std(axis=0) + 1e-6
    arrays = {"feature_mean": f_mean, "feature_scale": f_scale, "output_mean": o_mean, "output_scale": o_scale,
              "dead_zone_ev": np.float64(0.0), "dead_zone_tone": np.float64(cfg.dead_zone_tone),
              "dead_zone_cast": np.float64(cfg.dead_zone_cast)}
    xs, ys = ((x - f_mean) / f_scale).astype(np.float32), ((y - o_mean) / o_scale).astype(np.float32)
    for k in range(cfg.members):
        for i, (kernel, bias) in enumerate(_fit_member(xs, ys, cfg, cfg.seed + k, log)):
            arrays[f"member{k}/dense{i}_kernel"], arrays[f"member{k}/dense{i}_bias"] = kernel, bias
    return arrays


def _fit_member(xs: np.ndarray, ys: np.ndarray, cfg: CaptureTrainConfig, seed: int, log) -> list:
    """One member on standardised statistics and labels -> [(kernel, bias)] x 3."""
    tf.keras.utils.set_random_seed(seed)
    reg = tf.keras.regularizers.l2(cfg.l2)
    layers = [tf.keras.layers.Dense(cfg.hidden, activation=tf.nn.leaky_relu, kernel_regularizer=reg),
              tf.keras.layers.Dense(cfg.hidden, activation=tf.nn.leaky_relu, kernel_regularizer=reg),
              tf.keras.layers.Dense(len(FIELDS))]
    net = tf.keras.Sequential([tf.keras.layers.Input((xs.shape[1],)), *layers])
    net.compile(tf.keras.optimizers.Adam(cfg.lr), "mse")
    decay = tf.keras.callbacks.LearningRateScheduler(lambda e: cfg.lr * 0.1 ** (e / cfg.epochs))
    hist = net.fit(xs, ys, batch_size=cfg.batch, epochs=cfg.epochs, verbose=0, callbacks=[decay])
    log(f"capture network (seed {seed}): {len(xs)} samples, loss {hist.history['loss'][0]:.3f} -> "
        f"{hist.history['loss'][-1]:.3f}")
    return [tuple(layer.get_weights()) for layer in layers]


def choose_dead_zone(make_policy, arrays: dict, val_paths: list[str], dead_zones, log=print) -> tuple[float, list]:
    """Each dead zone -> the learned agent `make_policy(arrays)` evaluated on the val photos (6 degradations each,
    seed 1, 256 px: restoration, and do no harm on the originals). Returns (best, [(zone, restoration, harm)])."""
    from .evaluate import evaluate_do_no_harm, evaluate_sources, make_cases  # noqa: PLC0415

    cases = make_cases(val_paths, per_photo=6, seed=1, max_side=256, log=log)
    originals = [(c.name, c.original_lin) for c in cases if c.name.endswith("#0")]
    scores = []
    for zone in dead_zones:
        policy = make_policy(arrays | {"dead_zone_ev": np.float64(zone)})
        rest = evaluate_sources(cases, {"learned": policy})["sources"]["learned"]["ciede2000_mean"]
        harm = evaluate_do_no_harm(originals, {"learned": policy})["learned"]["ciede2000_mean"]
        log(f"dead zone {zone:.2f} EV: val restoration {rest:.2f}, do no harm {harm:.2f}")
        scores.append((float(zone), round(rest, 3), round(harm, 3)))
    best = min(scores, key=lambda s: s[1] + s[2])
    return best[0], scores
