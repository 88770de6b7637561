"""TOML config: CLI > config file > defaults; unknown keys are errors; status finds the journal from it."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from exposure_batch.cli import main
from exposure_batch.cli.watch import watch
from exposure_batch.watch import Daemon

from .conftest import config, make_photo


def _params(args):
    with watch.make_context("watch", list(args)) as ctx:
        return ctx.params


def test_cli_beats_config_beats_defaults(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    cfg = tmp_path / "watch.toml"
    cfg.write_text(f'inbox = "{inbox}"\noutput = "{tmp_path / "out"}"\n\n[watch]\nformat = "png"\nquality = 70\n'
                   'settle = 2.5\nsave-recipe = true\nno-hash = true\njobs = 2\n')
    p = _params(["--config", str(cfg), "-q", "80"])
    assert p["quality"] == 80  # CLI
    assert p["fmt"] == "png" and p["settle"] == 2.5 and p["save_recipe"] and p["jobs"] == 2  # config
    assert p["hash_files"] is False and p["inbox"] == str(inbox) and p["outdir"] == str(tmp_path / "out")
    assert p["rescan"] == 60.0 and p["timeout"] == 600.0 and p["agent"] == "learned"  # defaults


def test_unknown_config_key_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('formatt = "png"\n')
    with pytest.raises(click.BadParameter, match="unknown key.*formatt"):
        _params(["--config", str(cfg), str(tmp_path), "-o", str(tmp_path / "o")])
    cfg.write_text("format = \n")
    with pytest.raises(click.BadParameter, match="not valid TOML"):
        _params(["--config", str(cfg), str(tmp_path), "-o", str(tmp_path / "o")])


def test_status_reads_the_journal_via_config(dirs, tmp_path):
    inbox, out = dirs
    make_photo(inbox / "a.jpg")
    (inbox / "b.jpg").write_bytes(b"")
    Daemon(config(inbox, out, once=True)).run()
    cfg = tmp_path / "w.toml"
    cfg.write_text(f'[watch]\ninbox = "{inbox}"\noutput = "{out}"\n')
    res = CliRunner().invoke(main, ["status", "--config", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    import json

    data = json.loads(res.output)
    assert data["counts"]["done"] == 1 and data["counts"]["quarantined"] == 1
    assert data["failures"][0]["file"] == "b.jpg" and "empty" in data["failures"][0]["reason"]
    res = CliRunner().invoke(main, ["status", str(tmp_path / "nowhere")])
    assert res.exit_code == 1 and "no journal" in res.output
