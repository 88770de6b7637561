"""--resume / --dry-run: an interrupted run continues where it stopped, a dry run writes nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from exposure_batch.cli import main
from exposure_batch.runs.manifest import Manifest, manifest_path

from tests.helpers import SAMPLES_DIR


def _many_jpegs(folder: Path, n: int) -> Path:
    folder.mkdir()
    data = (SAMPLES_DIR / "casio_qv_r51.jpg").read_bytes()
    for i in range(n):
        (folder / f"img{i:03d}.jpg").write_bytes(data)
    return folder


def _ends(outdir: Path) -> list[dict]:
    try:
        lines = Path(manifest_path(str(outdir))).read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("kind") == "end":
            out.append(rec)
    return out


def test_killed_run_resumes_without_redoing_finished_files(tmp_path):
    src = _many_jpegs(tmp_path / "in", 24)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "exposure_batch", "process", str(src), "-o", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while len(_ends(out)) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {r["path"]: os.stat(r["out"]).st_mtime_ns for r in _ends(out) if r["status"] == "done"}
    assert 4 <= len(done_before) < 24, "the run was not interrupted part-way"

    dry = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--dry-run", "--resume"])
    assert dry.exit_code == 0, dry.output
    assert f"skip {len(done_before)}" in dry.output and f"would process {24 - len(done_before)}" in dry.output

    res = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--resume", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert f"done {24 - len(done_before)}, skipped {len(done_before)}, failed 0" in res.output
    for path, mtime in done_before.items():  # finished files were not written again
        assert os.stat(out / Path(path).name).st_mtime_ns == mtime
    assert sorted(p.name for p in out.glob("*.jpg")) == sorted(p.name for p in src.glob("*.jpg"))
    assert not list(out.glob(".*.tmp"))


def test_resume_redoes_files_in_flight_and_refuses_other_settings(tmp_path):
    src = _many_jpegs(tmp_path / "in", 3)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--no-progress", "-q", "90"])
    assert res.exit_code == 0, res.output
    # Make img001 look like it was being written when the run died: a start record after its end, a torn tail.
    victim = src / "img001.jpg"
    with open(manifest_path(str(out)), "a") as fh:
        fh.write(json.dumps({"kind": "start", "path": str(victim), "out": str(out / "img001.jpg")}) + "\n")
        fh.write('{"kind": "end", "path": "' + str(victim)[:10])  # torn line: ignored
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}

    refused = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--resume", "-q", "80"])
    assert refused.exit_code == 2 and "quality" in refused.output

    res = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--resume", "--no-progress", "-q", "90"])
    assert res.exit_code == 0, res.output
    assert "done 1, skipped 2, failed 0" in res.output
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
    assert after["img000.jpg"] == before["img000.jpg"] and after["img001.jpg"] != before["img001.jpg"]
    state = Manifest.for_outdir(str(out)).load()
    assert state.last[str(victim)]["status"] == "done"


def test_dry_run_lists_actions_and_writes_nothing(tmp_path):
    src = _many_jpegs(tmp_path / "in", 2)
    (src / "broken.png").write_bytes(b"")  # a bad input is still 'process' (the dry run does not decode)
    out = tmp_path / "out"
    out.mkdir()
    (out / "img000.jpg").write_bytes(b"old")
    res = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--dry-run"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any(l.startswith("skip") and "img000.jpg" in l and "--overwrite to redo" in l for l in lines)
    assert any(l.startswith("process") and "img001.jpg" in l for l in lines)
    assert lines[-1] == "dry run: would process 2, skip 1, fail 0"
    assert sorted(p.name for p in out.iterdir()) == ["img000.jpg"]  # nothing written, not even a manifest
    res = CliRunner().invoke(main, ["process", str(src), "-o", str(out), "--dry-run", "--overwrite"])
    assert "would process 3, skip 0, fail 0" in res.output
