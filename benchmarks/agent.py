"""Benchmark: learned-agent inference (per image, batch 1 and 64) and training iterations per second (both presets).

    python benchmarks/agent.py [--model models/auto] [--train-its 5] [--presets cpu,paper] [--update-card]

Inference: the model's `decide` on 64x64 previews, best of --repeats after a warm-up (the first call traces the
tf.function). Training: --train-its warm-start and RL/GAN iterations of each preset on random linear patches,
after 2 untimed iterations (tracing). A paper-preset RL iteration here includes its 5 critic updates.
--update-card stores the figures in the model card (model.json, "speed").
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def bench_inference(model: str | None, repeats: int) -> dict:
    from exposure_batch.agent.policy import load_policy  # noqa: PLC0415

    policy = load_policy(model)
    rng = np.random.default_rng(0)
    out = {}
    for batch in (1, 64):
        previews = list(rng.uniform(0, 0.8, (batch, 64, 64, 3)).astype(np.float32))
        policy.decide(previews)
        best = min(_timed(lambda: policy.decide(previews)) for _ in range(repeats))
        out[f"batch_{batch}_ms_per_image"] = round(1000 * best / batch, 3)
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class _RandomData:
    """Stand-in for TrainData: random linear patches, paired, and random display-encoded targets."""

    paired = True

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def inputs(self, n):
        x = self.rng.uniform(0, 0.8, (n, 64, 64, 3)).astype(np.float32)
        return x * 0.5, x, np.ones(n, np.float32)

    def targets(self, n):
        return self.rng.uniform(0, 1, (n, 64, 64, 3)).astype(np.float32)


def bench_training(preset: str, its: int) -> dict:
    import tempfile  # noqa: PLC0415

    from exposure_batch.agent import train as T  # noqa: PLC0415

    cfg = T.TrainConfig.from_dict({"preset": preset, "pool_fill_steps": 1, "critic_steps_burst": T.PRESETS[preset]().critic_steps,
                                   "burst_first": 0, "burst_every": 10**9, "warm_order": T.WARM_ORDER})
    with tempfile.TemporaryDirectory() as tmp:
        tr = T.Trainer(cfg, _RandomData(), tmp, log=lambda *_: None)
        for _ in range(2):
            tr.warm_iteration()
            tr.rl_iteration()
        warm = min(_timed(tr.warm_iteration) for _ in range(its))
        rl = min(_timed(tr.rl_iteration) for _ in range(its))
    return {"batch": cfg.batch, "critic_steps": cfg.critic_steps, "warm_it_per_s": round(1 / warm, 3),
            "rl_it_per_s": round(1 / rl, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--train-its", type=int, default=5)
    ap.add_argument("--presets", default="cpu,paper")
    ap.add_argument("--update-card", action="store_true")
    args = ap.parse_args(argv)
    import tensorflow as tf  # noqa: PLC0415

    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
    result = {"device": device, "inference": bench_inference(args.model, args.repeats), "training": {}}
    print(f"device: {device}")
    for k, v in result["inference"].items():
        print(f"inference {k}: {v}")
    for preset in [p for p in args.presets.split(",") if p]:
        result["training"][preset] = r = bench_training(preset, args.train_its)
        print(f"training {preset}: warm start {r['warm_it_per_s']} it/s, RL+GAN {r['rl_it_per_s']} it/s "
              f"(batch {r['batch']}, {r['critic_steps']} critic steps)")
    if args.update_card:
        from exposure_batch.agent.policy import DEFAULT_MODEL_DIR  # noqa: PLC0415

        path = os.path.join(args.model or DEFAULT_MODEL_DIR, "model.json")
        with open(path, encoding="utf-8") as fh:
            card = json.load(fh)
        card["speed"] = result
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(card, fh, indent=2)
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
