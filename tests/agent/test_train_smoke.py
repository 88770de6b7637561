"""A few training iterations on generated photos: finite losses, checkpoints, resume, model folder, CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.helpers import require_module

tf = require_module("tensorflow")  # skipped locally without it, a failure under CI=true

from exposure_batch.agent import data as D  # noqa: E402
from exposure_batch.agent import train as T  # noqa: E402

from .conftest import TINY_NET  # noqa: E402

pytestmark = pytest.mark.slow


def _tiny_cfg(**kw):
    base = {"preset": "cpu", "net": TINY_NET, "iterations": 3, "warm_iterations": 3, "batch": 8, "pool_size": 8,
            "pool_fill_steps": 5, "critic_steps_burst": 2, "critic_steps": 1, "log_every": 1, "checkpoint_every": 2}
    return T.TrainConfig.from_dict(base | kw)


def test_smoke_train_finite_losses_and_resume(photo_dir, tmp_path):
    crops = D.load_crops(D.list_images(str(photo_dir)), n_crops=2, min_frac=0.6, seed=0)
    data = D.TrainData(crops, crops, degrade_inputs=True, seed=0)
    out = tmp_path / "model"
    trainer = T.Trainer(_tiny_cfg(), data, str(out), log=lambda *_: None)
    logs = []
    trainer.run(lambda phase, i, total, stats, wall: logs.append((phase, i, stats)))
    assert [(p, i) for p, i, _ in logs] == [("warm", 1), ("warm", 2), ("warm", 3), ("rl", 1), ("rl", 2), ("rl", 3)]
    for _, _, stats in logs:
        assert stats and all(math.isfinite(v) for v in stats.values()), stats
    assert {"critic_loss", "wasserstein", "gp", "actor_loss", "value_loss"} <= set(logs[-1][2])
    assert (out / "checkpoint.npz").exists() and (out / "snapshots" / "rl-000003.npz").exists()

    # resume: a fresh trainer restores weights, optimiser state and counters
    again = T.Trainer(_tiny_cfg(iterations=4), data, str(out), log=lambda *_: None)
    again.load_checkpoint(str(out / "checkpoint.npz"))
    assert (again.t_warm, again.t) == (3, 3)
    for a, b in zip(trainer.actor.variables, again.actor.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(trainer.opt_critic.variables, again.opt_critic.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    again.run()
    assert again.t == 4 and again.t_warm == 3


def test_unpaired_data_skips_warm_start(photo_dir):
    crops = D.load_crops(D.list_images(str(photo_dir)), n_crops=2, seed=0)
    data = D.TrainData(crops, crops, degrade_inputs=False, seed=0)
    assert not data.paired
    trainer = T.Trainer(_tiny_cfg(iterations=1), data, "/nonexistent-never-written", log=lambda *_: None)
    stats = trainer.rl_iteration()
    assert trainer.t_warm == 0 and math.isfinite(stats["actor_loss"])


def test_train_cli_writes_a_loadable_model(photo_dir, tmp_path):
    from click.testing import CliRunner

    from exposure_batch.cli import main
    from exposure_batch.agent.policy import load_policy

    out = tmp_path / "m"
    res = CliRunner().invoke(main, [
        "train", "--inputs", str(photo_dir), "--targets", str(photo_dir), "--degrade-inputs", "-o", str(out),
        "--iterations", "1", "--warm-iterations", "1", "--crops", "2", "--set", f"net={json.dumps(TINY_NET)}",
        "--set", "batch=4", "--set", "pool_size=8", "--set", "pool_fill_steps=1", "--set", "critic_steps_burst=1"])
    assert res.exit_code == 0, res.output
    card = json.loads((out / "model.json").read_text())
    assert card["filters"][0]["name"] == "exposure" and card["training"]["rl_iterations"] == 1
    assert card["net"]["channels"] == TINY_NET["channels"] and card["colour_space"] == "linear ProPhoto RGB"
    policy = load_policy(str(out))
    recipes = policy.decide([np.full((64, 64, 3), 0.2, np.float32)])
    assert len(recipes[0].steps) <= 5 and recipes[0].model_id == "m"


def test_train_cli_fine_tunes_from_a_model_folder(photo_dir, tmp_path):
    """--init-model: the actor starts from the given weights (its net sizes win over the preset's)."""
    from click.testing import CliRunner

    from exposure_batch.cli import main

    args = ["train", "--inputs", str(photo_dir), "--targets", str(photo_dir), "--degrade-inputs", "--crops", "2",
            "--iterations", "0", "--set", "batch=4", "--set", "lr_warm=0"]
    base = tmp_path / "base"
    res = CliRunner().invoke(main, [*args, "-o", str(base), "--warm-iterations", "1",
                                    "--set", f"net={json.dumps(TINY_NET)}", "--seed", "1"])
    assert res.exit_code == 0, res.output
    tuned = tmp_path / "tuned"
    res = CliRunner().invoke(main, [*args, "-o", str(tuned), "--warm-iterations", "1", "--init-model", str(base),
                                    "--seed", "2"])
    assert res.exit_code == 0, res.output
    card = json.loads((tuned / "model.json").read_text())
    assert card["net"]["channels"] == TINY_NET["channels"]
    assert card["training"]["initialised_from"]["id"] == "base"
    assert card["training"]["initialised_from"]["path"] == "base"  # portable: no path of this machine
    assert str(tmp_path) not in (tuned / "model.json").read_text()
    with np.load(base / "actor.npz") as a, np.load(tuned / "actor.npz") as b:  # lr 0: weights unchanged
        assert set(a.files) == set(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k])
    res = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "x"), "--init-model", str(tmp_path)])
    assert res.exit_code == 2 and "model.json" in res.output


def test_train_capture_cli_writes_the_cast_dead_zone_and_the_greys_guard(photo_dir, tmp_path):
    """A capture estimate fitted by `train-capture` carries its cast dead zone (capture.npz and card) and the
    "greys" guard for its white balance (issue 21), and the agent loads and runs it."""
    from click.testing import CliRunner

    from exposure_batch.agent.capture_train import CaptureTrainConfig
    from exposure_batch.agent.policy import DEFAULT_MODEL_DIR, load_policy
    from exposure_batch.cli import main

    out = tmp_path / "cap"
    res = CliRunner().invoke(main, [
        "train-capture", "--photos", str(photo_dir), "--model", DEFAULT_MODEL_DIR, "-o", str(out),
        "--dead-zone-ev", "0.45", "--crops", "2", "--rounds", "2", "--members", "1", "--hidden", "4",
        "--cache", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    card = json.loads((out / "model.json").read_text())["capture"]
    zone = CaptureTrainConfig().dead_zone_cast
    assert card["white_balance_guard"] == "greys" and card["dead_zone_cast"] == zone > 0
    with np.load(out / "capture.npz") as z:
        assert float(z["dead_zone_cast"]) == zone
    policy = load_policy(str(out))
    assert policy.capture_guard == "greys" and policy.capture.dead_zone_cast == zone
    recipe = policy.decide([np.full((64, 64, 3), 0.2, np.float32)])[0]
    assert 0.0 <= recipe.extra["capture"]["confidence"] <= 1.0
