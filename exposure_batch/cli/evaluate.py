"""`exposure-batch evaluate --heldout DIR`: no edit vs classic vs learned on held-out photos (table, JSON, plot)."""
from __future__ import annotations

import json
import os

import click

from ..names import portable_path

#: Targets for the shipped model (issues 12 and 21): restoration vs no edit and classic, do no harm, hue, known
#: capture errors (median share taken back) and near-white pixels under a cast correction.
MAX_RATIO_NO_EDIT = 0.50
MAX_RATIO_CLASSIC = 0.70
MAX_DO_NO_HARM_MEAN = 2.5
MAX_DO_NO_HARM_PHOTO = 8.0
MIN_SHARE_TAKEN_BACK = {"+1 EV": 0.6, "-1.5 EV": 0.75, "warm cast": 0.6, "cool cast": 0.6}
MIN_NEAR_WHITE_A_SHIFT = -8.0
MAX_NEAR_WHITE_B_SHIFT = 12.0
MAX_HUE_SHIFT_DEG = 5.0
MAX_GREY_DE = 1.0
#: Where tools/prepare_training_data.py puts the held-out photos.
DEFAULT_HELDOUT = os.path.join("data", "cache", "training", "photos", "heldout")


def check_targets(result: dict, learned: str = "learned") -> dict:
    """Which of the shipped-model targets hold: {name: bool}."""
    s = result["sources"]
    if learned not in s:
        return {}
    de = {k: v["ciede2000_mean"] for k, v in s.items()}
    hi_l, hi_in = s[learned]["histogram_intersection"], s["no edit"]["histogram_intersection"]
    out = {
        f"restoration dE <= {MAX_RATIO_NO_EDIT:.0%} of no edit": de[learned] <= MAX_RATIO_NO_EDIT * de["no edit"],
        "restoration dE >= 30% below classic": de[learned] <= MAX_RATIO_CLASSIC * de["classic"] if "classic" in de else False,
        "HI above inputs (all 3)": all(hi_l[k] > hi_in[k] for k in hi_l),
    }
    harm = result.get("do_no_harm", {}).get(learned)
    if harm:
        out[f"do no harm: mean dE <= {MAX_DO_NO_HARM_MEAN:g}"] = harm["ciede2000_mean"] <= MAX_DO_NO_HARM_MEAN
        out[f"do no harm: no photo dE > {MAX_DO_NO_HARM_PHOTO:g}"] = harm["ciede2000_max"] <= MAX_DO_NO_HARM_PHOTO
    hue = result.get("hue", {}).get(learned)
    if hue:
        out["hue: no patch > 5 deg (white balance aside)"] = hue["max_hue_shift_deg_without_wb"] <= MAX_HUE_SHIFT_DEG
        out["hue: no patch > 5 deg (whole recipe)"] = hue["max_hue_shift_deg"] <= MAX_HUE_SHIFT_DEG
        out["greys within 1 dE of neutral"] = hue["max_grey_dE_from_neutral"] <= MAX_GREY_DE
    for error, row in result.get("known_errors", {}).items():
        e = row.get(learned)
        if not e:
            continue
        if error in MIN_SHARE_TAKEN_BACK:
            out[f"{error}: median share taken back >= {MIN_SHARE_TAKEN_BACK[error]:g}"] = \
                e["share_median"] >= MIN_SHARE_TAKEN_BACK[error]
        if "worst_a_shift" in e:
            out[f"{error}: near-white a* shift >= {MIN_NEAR_WHITE_A_SHIFT:g}, |b*| <= {MAX_NEAR_WHITE_B_SHIFT:g}"] = \
                e["worst_a_shift"] >= MIN_NEAR_WHITE_A_SHIFT and e["worst_b_shift"] <= MAX_NEAR_WHITE_B_SHIFT
    return out


@click.command()
@click.option("--heldout", "heldout_dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of well-edited held-out photos (never trained on) [default: "
                   "data/cache/training/photos/heldout when it exists].")
@click.option("--targets", "targets_dir", type=click.Path(exists=True, file_okay=False),
              help="Target-style photos for the histogram intersection (default: the held-out originals).")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False),
              help="Model folder for the learned agent (default: the shipped models/auto).")
@click.option("--agents", default="none,classic,learned", show_default=True,
              help="Comma list of sources to compare: none, classic, learned.")
@click.option("--per-photo", type=int, default=3, show_default=True, help="Seeded degradations per photo.")
@click.option("--max-side", type=int, default=384, show_default=True, help="Evaluate at this long side (px).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), help="Write evaluation.json + evaluation.png here.")
@click.option("--update-card", is_flag=True, help="Store the numbers in the model's model.json.")
@click.option("--record-ci", "samples_dir", type=click.Path(exists=True, file_okay=False),
              help="With --update-card: also store the CI check numbers measured on this samples folder.")
@click.option("--bursts", is_flag=True,
              help="Shoot consistency instead: per held-out photo a burst of --frames drifting captures (one shared "
                   "lighting error, +/-0.7 EV and +/-8% red/blue per frame, shifted crops); prints frame-to-frame "
                   "CIEDE2000 within scenes and restoration vs the originals for each agent alone and harmonised.")
@click.option("--frames", type=click.IntRange(2, 50), default=5, show_default=True, help="Frames per burst.")
@click.option("--known-errors", is_flag=True,
              help="Also apply known capture errors (+1 EV, -1.5 EV, a warm and a cool cast, clipped at white) to each "
                   "held-out photo and report the median share each agent takes back, and near-white colour shifts.")
@click.option("--check", is_flag=True, help="Exit with status 1 when a target fails (for scripts and CI).")
def evaluate(heldout_dir, targets_dir, model_path, agents, per_photo, max_side, seed, out_dir, update_card,
             samples_dir=None, bursts=False, frames=5, known_errors=False, check=False) -> None:
    """Restoration (CIEDE2000, PSNR and exposure error in EV vs the originals of seeded degradations), style
    (histogram intersection), do no harm (each source editing the held-out originals themselves: CIEDE2000 against
    them) and colour damage (hue shifts on a generated chart of saturated, skin and grey patches); with --bursts,
    frame-to-frame consistency of bursts edited alone and harmonised."""
    from ..agent.data import display_np, list_images  # noqa: PLC0415
    from ..sources import make_source  # noqa: PLC0415
    from ..agent.evaluate import (evaluate_do_no_harm, evaluate_hue, evaluate_sources, format_table,  # noqa: PLC0415
                                  make_cases, write_plot)
    from ..render.preview import thumbnail  # noqa: PLC0415

    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    heldout_dir = heldout_dir or (DEFAULT_HELDOUT if os.path.isdir(DEFAULT_HELDOUT) else None)
    if not heldout_dir:
        raise click.UsageError("give --heldout DIR (a folder of well-edited photos)")
    paths = list_images(heldout_dir)
    if bursts:
        _evaluate_bursts(paths, agents, model_path, frames, max_side, seed, out_dir, log)
        return
    cases = make_cases(paths, per_photo, seed, max_side, log=log)
    if not cases:
        raise click.ClickException(f"{heldout_dir}: no readable photos")
    targets = None
    if targets_dir:
        from ..io import decode  # noqa: PLC0415

        targets = [display_np(thumbnail(decode(p).rgb_lin, max_side)) for p in list_images(targets_dir)]
    sources = {}
    for name in [a.strip() for a in agents.split(",") if a.strip()]:
        if name in ("none", "no edit"):
            sources["no edit"] = None
        elif name in ("classic", "learned"):
            try:
                sources[name] = make_source(name, model_path=model_path if name == "learned" else None)
            except Exception as err:  # noqa: BLE001
                raise click.ClickException(str(err)) from None
        else:
            raise click.UsageError(f"unknown agent {name!r}")
    result = evaluate_sources(cases, sources, targets, seed)
    originals = list({c.name.split("#")[0]: c.original_lin for c in cases}.items())
    result["do_no_harm"] = evaluate_do_no_harm(originals, sources)
    result["hue"] = evaluate_hue(sources)
    if known_errors:
        from ..agent.evaluate import evaluate_known_errors, format_known_errors  # noqa: PLC0415

        result["known_errors"] = evaluate_known_errors(originals, {k: v for k, v in sources.items() if v is not None})
    result["setup"] = {"heldout": portable_path(heldout_dir), "photos": len(paths), "per_photo": per_photo,
                       "max_side": max_side, "seed": seed, "targets": portable_path(targets_dir) if targets_dir else "heldout originals"}
    if "learned" in sources:
        result["model"] = {"id": sources["learned"].model_id, "path": sources["learned"].model_dir}
    if "no edit" in sources:
        result["targets_met"] = check_targets(result)
    click.echo(format_table(result))
    if known_errors:
        click.echo("\n" + format_known_errors(result["known_errors"]))
    for k, ok in result.get("targets_met", {}).items():
        click.echo(f"  {'PASS' if ok else 'FAIL'}  {k}")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "evaluation.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
        plot = write_plot(result, os.path.join(out_dir, "evaluation.png"))
        click.echo(f"wrote {out_dir}/evaluation.json" + (f" and {plot}" if plot else " (no plot: matplotlib missing)"))
    if update_card and "learned" in sources:
        card_path = os.path.join(sources["learned"].model_dir, "model.json")
        with open(card_path, encoding="utf-8") as fh:
            card = json.load(fh)
        card["evaluation"] = {k: result[k] for k in ("setup", "sources", "do_no_harm", "hue", "known_errors",
                                                     "targets_met", "n_images") if k in result}
        if samples_dir:
            from ..agent.evaluate import ci_evaluation  # noqa: PLC0415

            card["ci_evaluation"] = ci_evaluation(sources["learned"], samples_dir)
            click.echo(f"CI check numbers: {card['ci_evaluation']['ciede2000_mean']}")
        with open(card_path, "w", encoding="utf-8") as fh:
            json.dump(card, fh, indent=2)
        click.echo(f"updated {card_path}")
    failed = [k for k, ok in result.get("targets_met", {}).items() if not ok]
    if check and failed:
        click.echo(f"{len(failed)} target(s) failed: {'; '.join(failed)}", err=True)
        raise SystemExit(1)


def _evaluate_bursts(paths, agents, model_path, frames, max_side, seed, out_dir, log) -> None:
    """evaluate --bursts: each agent alone and harmonised (shoot.evaluate), as a table (and JSON with -o)."""
    from ..shoot.evaluate import evaluate_bursts, format_burst_table  # noqa: PLC0415
    from ..sources import make_source  # noqa: PLC0415

    sources: dict = {}
    harmonised: dict = {}
    for name in [a.strip() for a in agents.split(",") if a.strip()]:
        if name in ("none", "no edit"):
            sources["no edit"] = None
        elif name in ("classic", "learned"):
            try:
                agent = make_source(name, model_path=model_path if name == "learned" else None)
            except Exception as err:  # noqa: BLE001
                raise click.ClickException(str(err)) from None
            sources[name] = agent
            harmonised[f"{name} + harmonised"] = ("group", agent)
        else:
            raise click.UsageError(f"unknown agent {name!r}")
    result = evaluate_bursts(paths, {**sources, **harmonised}, frames=frames, max_side=max_side, seed=seed, log=log)
    if not result["setup"]["photos"]:
        raise click.ClickException("no readable photos")
    click.echo(format_burst_table(result))
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "bursts.json"), "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
        click.echo(f"wrote {out_dir}/bursts.json")
