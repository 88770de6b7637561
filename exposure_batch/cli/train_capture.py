"""`exposure-batch train-capture --photos DIR --val DIR --model DIR -o OUT`: fit the learned agent's capture estimate
(agent.capture; TensorFlow, lazy) and write a model folder: the --model folder's actor and card plus capture.npz."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import click
import numpy as np

from ..errors import TRAIN_EXTRA_HINT, tensorflow_missing
from ..names import portable_command, portable_path


@click.command("train-capture")
@click.option("--photos", "photos_dirs", required=True, multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of well-edited photos: each is degraded at random and the network learns to tell how "
                   "(repeatable).")
@click.option("--val", "val_dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of other well-edited photos (never the held-out ones): chooses the exposure dead zone.")
@click.option("--dead-zone-ev", type=click.FloatRange(0, 2), default=None,
              help="Use this exposure dead zone (EV) instead of choosing one on --val (e.g. the one chosen before, "
                   "when the val photos join the training photos).")
@click.option("--model", "base_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Model folder whose actor runs after the correction (e.g. models/auto).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
@click.option("--actor-steps", type=click.IntRange(0, 5), default=1, show_default=True,
              help="Actor steps after the capture correction.")
@click.option("--members", type=click.IntRange(1, 32), default=5, show_default=True,
              help="Networks in the ensemble (their estimates are averaged).")
@click.option("--crops", "n_crops", type=int, default=64, show_default=True, help="Random square crops per photo.")
@click.option("--min-crop", type=float, default=0.3, show_default=True,
              help="Smallest crop side as a fraction of the short edge.")
@click.option("--rounds", type=int, default=24, show_default=True, help="Degraded patches per crop.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), help="Crop cache folder (default OUT/cache).")
@click.option("--hidden", type=click.IntRange(4, 512), default=32, show_default=True, help="Units per hidden layer.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes computing the patch statistics (the same data for any number).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--version", "version", help="Model version to write (default: today, YYYYMMDD).")
def train_capture(photos_dirs, val_dir, dead_zone_ev, base_dir, out_dir, actor_steps, members, n_crops, min_crop, rounds,
                  cache_dir, hidden, workers, seed, version):
    """Fit the capture estimate: a small network that reads a preview's statistics and estimates its exposure
    error, flattened tone, lost saturation and white-balance cast, undone by white-box steps before the actor."""
    from ..agent import data as D  # noqa: PLC0415
    from ..agent.capture import CAPTURE_FILE, N_FEATURES, capture_dataset  # noqa: PLC0415
    from ..agent.policy import CARD_FILE, MODEL_FILE, LearnedPolicy  # noqa: PLC0415

    try:
        from ..agent.capture_train import CaptureTrainConfig, choose_dead_zone, fit_capture_network  # noqa: PLC0415
    except ImportError as err:
        if tensorflow_missing(err):
            raise click.ClickException(TRAIN_EXTRA_HINT) from None
        raise
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    if (val_dir is None) == (dead_zone_ev is None):
        raise click.UsageError("give --val (the dead zone is chosen on it) or --dead-zone-ev, not both")
    photos, val = [p for d in photos_dirs for p in D.list_images(d)], D.list_images(val_dir) if val_dir else []
    if not photos or (val_dir and not val):
        raise click.UsageError("no images in --photos or --val")
    cfg = CaptureTrainConfig(rounds=rounds, seed=seed, members=members, hidden=hidden)
    t0 = time.time()
    parts = [D.load_crops(D.list_images(d), n_crops, min_crop, seed, cache_dir or os.path.join(out_dir, "cache"), log=log)
             for d in photos_dirs]  # one cache per folder
    crops = {"crops": np.concatenate([p["crops"] for p in parts]),
             "source": np.concatenate([p["source"] + sum(len(q["names"]) for q in parts[:k]) for k, p in enumerate(parts)])}
    x, y, _ = capture_dataset(crops["crops"], cfg.rounds, seed, cfg.identity, workers=workers)
    log(f"statistics of {len(x)} degraded patches from {len(photos)} photos ({time.time() - t0:.0f} s)")
    arrays = fit_capture_network(x, y, cfg, log=log)
    with open(os.path.join(base_dir, CARD_FILE), encoding="utf-8") as fh:
        card = json.load(fh)
    actor_from = {"path": portable_path(base_dir), "id": card.get("id"), "version": card.get("version")}
    card["capture"] = {"file": CAPTURE_FILE, "actor_steps": actor_steps}
    for stale in ("evaluation", "ci_evaluation"):  # measured on another agent: `evaluate --update-card` redoes them
        card.pop(stale, None)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".train-capture-", dir=parent)  # the model is assembled here, moved in at the end
    try:
        shutil.copyfile(os.path.join(base_dir, MODEL_FILE), os.path.join(stage, MODEL_FILE))
        _write_card(stage, card)
        zone, scores = (dead_zone_ev, []) if val_dir is None else choose_dead_zone(
            lambda candidate: LearnedPolicy(stage, capture_arrays=candidate), arrays, val, cfg.dead_zones, log=log)
        arrays["dead_zone_ev"] = np.float64(zone)
        np.savez(os.path.join(stage, CAPTURE_FILE), **arrays)
        card["id"] = os.path.basename(os.path.normpath(out_dir))
        card["version"] = version or time.strftime("%Y%m%d")
        card["capture"] |= {
            "summary": f"capture estimate ({members} networks of 2 x {hidden} units on {N_FEATURES} preview statistics, "
                       "averaged; their spread is the confidence) -> "
                       f"white balance, exposure, gamma about middle grey; then {actor_steps} actor step(s)",
            "command": portable_command(["exposure-batch", "train-capture", *sys.argv[2:]]),
            "config": cfg.to_dict(),
            "data": {"photos": [portable_path(d) for d in photos_dirs], "n_photos": len(set(crops["source"].tolist())),
                     "crops": len(crops["crops"]), "samples": len(x),
                     # the source photos trained on (file stems): tests tell samples made from them apart
                     "training_photos": sorted(os.path.splitext(os.path.basename(p))[0] for p in photos),
                     "val": portable_path(val_dir) if val_dir else None,
                     "n_val": len(val)},
            "dead_zone_ev": zone,
            "dead_zone_cast": cfg.dead_zone_cast,
            # the estimate reads casts a dominant colour does not explain away: its white balance is not held to
            # the least saturated pixels' own cast (agent.policy.CAPTURE_GUARDS)
            "white_balance_guard": "greys",
            "val_scores": [{"dead_zone_ev": z, "restoration_ciede2000": r, "do_no_harm_ciede2000": h}
                           for z, r, h in scores],
            "actor_from": actor_from,
            "wall_time_s": round(time.time() - t0, 1),
        }
        _write_card(stage, card)
        os.makedirs(out_dir, exist_ok=True)
        for name in (MODEL_FILE, CAPTURE_FILE, CARD_FILE):  # the card last: it names the others
            os.replace(os.path.join(stage, name), os.path.join(out_dir, name))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log(f"wrote {out_dir} (dead zone {zone:.2f} EV) in {time.time() - t0:.0f} s")


def _write_card(out_dir: str, card: dict) -> None:
    from ..agent.policy import CARD_FILE  # noqa: PLC0415
    from ..io.write import atomic_write  # noqa: PLC0415

    with atomic_write(os.path.join(out_dir, CARD_FILE), "w") as fh:
        json.dump(card, fh, indent=2)
        fh.write("\n")
