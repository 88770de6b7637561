"""`exposure-batch train --inputs DIR --targets DIR -o models/NAME`: train a learned agent (TensorFlow, lazy)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time

import click
import numpy as np

from ..errors import TRAIN_EXTRA_HINT, tensorflow_missing
from ..names import portable_command, portable_path


def _parse_sets(items) -> dict:
    """['lr_actor=1e-5', 'net.channels=[8,16,32,64]'] -> nested dict (values parsed as JSON when possible)."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise click.UsageError(f"--set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        *parents, leaf = key.strip().split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


@click.command()
@click.option("--inputs", "inputs_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of unedited photos (RAW/JPEG/PNG/TIFF): the agent's inputs.")
@click.option("--targets", "targets_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of well-edited photos (the style to learn). Files whose stem matches an input pair with it.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
@click.option("--preset", type=click.Choice(["cpu", "paper"]), default="cpu", show_default=True,
              help="cpu: narrow nets + paired warm start (~1 h on 2 cores); paper: the reference's sizes, 20k its (GPU).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="JSON file of training settings (any TrainConfig field; 'net': {...}).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override one setting (repeatable).")
@click.option("--iterations", type=int, help="RL/GAN iterations.")
@click.option("--warm-iterations", type=int, help="Paired warm-start iterations (needs pairs or --degrade-inputs).")
@click.option("--pairs", "pairs_csv", type=click.Path(exists=True, dir_okay=False),
              help="CSV 'input,target' file names pairing inputs with targets (default: pair by stem).")
@click.option("--degrade-inputs", is_flag=True,
              help="Inputs are well-edited photos: train on random 'unedited capture' degradations of them (paired).")
@click.option("--crops", "n_crops", type=int, default=4, show_default=True, help="Random square crops per photo.")
@click.option("--min-crop", type=float, default=1.0, show_default=True,
              help="Smallest crop side as a fraction of the short edge (1 = the reference's short-edge squares).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Crop cache folder (default OUT/cache).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.npz.")
@click.option("--init-model", "init_model", type=click.Path(exists=True, file_okay=False),
              help="Start from this model folder's actor weights (fine-tune e.g. models/auto on your own photos); "
                   "its network sizes replace the preset's.")
@click.option("--capture-model", "capture_dir", type=click.Path(exists=True, file_okay=False),
              help="Model folder with a capture estimate (capture.npz): inputs are corrected by it first, the actor "
                   "learns what is left, and the written model carries the estimate (its steps then run first).")
def train(inputs_dir, targets_dir, out_dir, preset, config_path, sets, iterations, warm_iterations, pairs_csv,
          degrade_inputs, n_crops, min_crop, cache_dir, seed, resume, init_model=None, capture_dir=None) -> None:
    """Train the Exposure agent (RL + WGAN, reference sections 3-5) and write a model folder.

    The folder gets actor.npz (inference weights), model.json (model card), checkpoint.npz (resume),
    snapshots/ (actor weights every checkpoint), history.json (losses) and logs/ (TensorBoard, if installed).
    """
    from ..agent import data as D  # noqa: PLC0415

    try:
        from ..agent.train import Trainer, TrainConfig, save_model  # noqa: PLC0415  (imports TensorFlow)
    except ImportError as err:
        if tensorflow_missing(err):
            raise click.ClickException(TRAIN_EXTRA_HINT) from None
        raise

    overrides = {"preset": preset, "seed": seed}
    if config_path:
        with open(config_path, encoding="utf-8") as fh:
            overrides |= json.load(fh)
    init_card = _model_card(init_model) if init_model else None
    if init_card is not None:
        overrides["net"] = init_card.get("net", {})
    overrides |= _parse_sets(sets)
    if iterations is not None:
        overrides["iterations"] = iterations
    if warm_iterations is not None:
        overrides["warm_iterations"] = warm_iterations
    try:
        cfg = TrainConfig.from_dict(overrides)
    except (TypeError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    inputs = D.list_images(inputs_dir)
    targets = D.list_images(targets_dir)
    if not inputs or not targets:
        raise click.UsageError("no images in --inputs or --targets")
    cache_dir = cache_dir or os.path.join(out_dir, "cache")
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    t0 = time.time()
    pair_paths = D.pair_by_stem(inputs, targets, pairs_csv)
    if degrade_inputs:  # a file paired with itself is just a degraded photo: no second decode
        pair_paths = [None if p and os.path.samefile(p, i) else p for i, p in zip(inputs, pair_paths)]
    inp = D.load_crops(inputs, n_crops, min_crop, seed, cache_dir, pair_paths, log=log)
    tgt = inp if degrade_inputs and os.path.samefile(inputs_dir, targets_dir) else \
        D.load_crops(targets, n_crops, min_crop, seed + 1, cache_dir, log=log)
    paired = (f"all paired: degraded copies, {int(inp['has_pair'].sum())} restored towards a paired target"
              if degrade_inputs else f"{int(inp['has_pair'].sum())} paired")
    log(f"crops: {len(inp['crops'])} inputs ({paired}), {len(tgt['crops'])} targets "
        f"({time.time() - t0:.0f} s)")
    capture = _capture_policy(capture_dir) if capture_dir else None
    data = D.TrainData(inp, tgt, degrade_inputs=degrade_inputs, seed=seed, identity=cfg.identity_share,
                       mild=cfg.mild_share, correct=capture.correct_previews if capture else None)
    trainer = Trainer(cfg, data, out_dir, log=log)
    if init_model and not resume:
        from ..agent import networks as nets  # noqa: PLC0415

        with np.load(os.path.join(init_model, "actor.npz")) as z:
            nets.load_weights_dict(trainer.actor, {k: z[k] for k in z.files})
        log(f"actor initialised from {init_model}")
    ckpt = os.path.join(out_dir, "checkpoint.npz")
    if resume:
        if not os.path.exists(ckpt):
            raise click.UsageError(f"--resume: no {ckpt}")
        trainer.load_checkpoint(ckpt)
        log(f"resumed at warm {trainer.t_warm}, rl {trainer.t}")
    wall0, it0 = trainer.wall, trainer.t_warm + trainer.t
    trainer.run(_printer(log))
    its = trainer.t_warm + trainer.t - it0
    card = {
        "id": os.path.basename(os.path.normpath(out_dir)), "version": time.strftime("%Y%m%d"),
        "training": {
            "initialised_from": ({"path": portable_path(init_model), "id": init_card.get("id"),
                                  "version": init_card.get("version")} if init_card is not None else None),
            "command": portable_command(["exposure-batch", *sys.argv[1:]] if sys.argv[0].endswith("exposure-batch")
                                        else ["exposure-batch", "train", *sys.argv[2:]]),
            "config": cfg.to_dict(),
            "data": {"inputs": portable_path(inputs_dir), "targets": portable_path(targets_dir),
                     "input_photos": len(set(inp["source"].tolist())), "input_crops": len(inp["crops"]),
                     "target_crops": len(tgt["crops"]),
                     "paired_crops": len(inp["crops"]) if degrade_inputs else int(inp["has_pair"].sum()),
                     "degraded_inputs": degrade_inputs},
            "warm_iterations": trainer.t_warm, "rl_iterations": trainer.t,
            "wall_time_s": round(trainer.wall, 1),
            "iterations_per_s": round(its / max(trainer.wall - wall0, 1e-9), 3),
        },
    }
    with open(os.path.join(out_dir, "history.json"), "w", encoding="utf-8") as fh:
        json.dump(trainer.history, fh)
    if capture is not None:
        _carry_capture(capture, card, cfg.steps, out_dir)
    save_model(trainer.actor, out_dir, card)
    click.echo(f"model written to {out_dir} ({trainer.t_warm} warm + {trainer.t} RL iterations, {trainer.wall:.0f} s)")


def _model_card(model_dir: str) -> dict:
    """The model.json of a model folder (UsageError when missing or unreadable)."""
    try:
        with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as err:
        raise click.UsageError(f"--init-model {model_dir}: no readable model.json ({err})") from None


def _capture_policy(capture_dir: str):
    """The learned agent of a model folder that has a capture estimate (UsageError otherwise)."""
    from ..agent.policy import load_policy  # noqa: PLC0415
    from ..errors import ModelError  # noqa: PLC0415

    try:
        policy = load_policy(capture_dir)
    except ModelError as err:
        raise click.UsageError(f"--capture-model: {err}") from None
    if policy.capture is None:
        raise click.UsageError(f"--capture-model {capture_dir}: the model has no capture estimate (capture.npz)")
    return policy


def _carry_capture(capture, card: dict, actor_steps: int, out_dir: str) -> None:
    """Copy the capture estimate into the new model folder and describe it in `card` (the actor runs
    `actor_steps` steps after it)."""
    from ..agent.capture import CAPTURE_FILE  # noqa: PLC0415

    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(os.path.join(capture.model_dir, CAPTURE_FILE), os.path.join(out_dir, CAPTURE_FILE))
    card["capture"] = dict(capture.card["capture"]) | {
        "file": CAPTURE_FILE, "actor_steps": actor_steps,
        "from": {"path": portable_path(capture.model_dir), "id": capture.model_id, "version": capture.model_version}}


def _printer(log):
    def on_log(phase, i, total, stats, wall):
        text = " ".join(f"{k}={v:.4g}" for k, v in stats.items())
        log(f"[{phase} {i}/{total} {wall:.0f}s] {text}")

    return on_log
