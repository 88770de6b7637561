"""`exposure-batch learn BEFORE_DIR AFTER_DIR -o PROFILE_DIR`: learn a studio's look from before/after pairs."""
from __future__ import annotations

import importlib.util

import click


@click.command()
@click.argument("before_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.argument("after_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--from-darktable", "darktable_dir", type=click.Path(exists=True, file_okay=False),
              help="Learn from photos finished in darktable instead of BEFORE_DIR AFTER_DIR: originals (RAW, JPEG, "
                   "TIFF...) next to their darktable sidecars (NAME.EXT.xmp), each rendered with darktable-cli "
                   "(crop, straightening, lens distortion switched off in a copy of the sidecar).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Profile folder to write (profile.json, look.recipe.json, history.jsonl).")
@click.option("--name", help="Profile name shown in recipes and exports [default: the folder's name].")
@click.option("--pairs", "csv_path", type=click.Path(exists=True, dir_okay=False),
              help="CSV of before,after[,scene] names (relative to the two folders) instead of matching stems.")
@click.option("--val-dir", "val_dirs", nargs=2, type=click.Path(exists=True, file_okay=False),
              metavar="BEFORE AFTER", help="Validate on these pairs instead of holding out scenes of the training set.")
@click.option("--val-share", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True,
              help="Share of the pairs held out (whole scenes) for validation.")
@click.option("--agent", type=click.Choice(["classic", "learned"]), default="learned", show_default=True,
              help="The per-photo correction the look is learned on top of.")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False),
              help="Model folder for --agent learned [default: the shipped models/auto].")
@click.option("--iterations", type=click.IntRange(1, 500), default=40, show_default=True,
              help="Most Levenberg-Marquardt iterations (it stops earlier once the held-out error stops improving).")
@click.option("--no-adaptive", is_flag=True, help="A fixed look: no exposure that depends on the photo's brightness "
              "(the look-only profile of --no-per-photo / --agent classic).")
@click.option("--no-per-photo", is_flag=True,
              help="Learn the look alone on top of the default agent, not the studio's per-photo decisions.")
@click.option("--scenes", "scenes_csv", type=click.Path(exists=True, dir_okay=False),
              help="CSV of before,scene: pairs of one scene are never split between training and validation "
                   "(replaces the automatic grouping by content and capture time).")
@click.option("--skip-bad-pairs", is_flag=True,
              help="Leave out pairs that cannot be aligned or are not the same picture (default: refuse).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the split and the pixel sample.")
@click.option("--overwrite", is_flag=True, help="Replace a profile already in the output folder.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def learn(before_dir, after_dir, darktable_dir, out_dir, name, csv_path, val_dirs, val_share, agent, model_path,
          iterations, no_adaptive, no_per_photo, scenes_csv, skip_bad_pairs, seed, overwrite, no_progress) -> None:
    """Learn a studio's look from BEFORE_DIR (unedited originals: RAW, JPEG, PNG, TIFF) and AFTER_DIR (the
    finished exports, JPEG/TIFF/PNG; same file name stems) -- or from --from-darktable DIR -- into a profile: the
    studio's per-photo decisions (the agent's capture estimate fine-tuned on the pairs) followed by a short fixed
    sequence of white-box filters fitted on all pairs. Pairs that show the same picture (crops, bursts) never
    straddle the validation split.

    Apply it with `process --profile PROFILE_DIR`; export the look with `export-look --profile PROFILE_DIR`.
    """
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    from ..errors import LEARN_EXTRA_HINT, ExposureBatchError  # noqa: PLC0415
    from ..look.learn import LearnOptions, learn as run  # noqa: PLC0415

    if importlib.util.find_spec("scipy") is None:  # the fit needs it; the lean default install has none
        raise click.ClickException(LEARN_EXTRA_HINT)
    if darktable_dir is not None and (before_dir or after_dir or csv_path):
        raise click.UsageError("--from-darktable DIR replaces BEFORE_DIR AFTER_DIR (and --pairs): give one or the other")
    if darktable_dir is None and not (before_dir and after_dir):
        raise click.UsageError("give BEFORE_DIR and AFTER_DIR, or --from-darktable DIR")

    opts = LearnOptions(name=name, agent=agent, model_path=model_path, csv_path=csv_path,
                        val_dirs=tuple(val_dirs) if val_dirs else None, val_share=val_share, seed=seed,
                        iterations=iterations, adaptive=not no_adaptive, skip_bad_pairs=skip_bad_pairs,
                        overwrite=overwrite, per_photo=not no_per_photo, scenes_csv=scenes_csv)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[text]}"), console=console, disable=no_progress, transient=True) as bar:
        tasks: dict = {}

        def progress(phase, done, total, text=""):
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total, text="")
            bar.update(tasks[phase], completed=done, total=total, text=text)

        try:
            say = lambda s: console.print(s, highlight=False)  # noqa: E731
            if darktable_dir is not None:
                from ..look.darktable_pairs import learn_from_darktable  # noqa: PLC0415

                report = learn_from_darktable(darktable_dir, out_dir, opts, progress, log=say)
            else:
                report = run(before_dir, after_dir, out_dir, opts, progress, log=say)
        except ExposureBatchError as err:
            raise click.ClickException(" ".join(str(err).split())) from None
    click.echo(format_report(report))


def format_report(report) -> str:
    """The validation table and where the profile went."""
    v = report.validation
    card = report.profile.card
    lines = [f"profile '{report.profile.name}' -> {report.folder}",
             f"validation ({card['validation']['split']}, {v['profile']['pairs']} pairs, "
             f"{len(card['validation']['scenes'])} scene(s)):",
             f"  {'method':<28}{'CIEDE2000':>10}{'PSNR dB':>9}"]
    labels = {"no_edit": "no edit", "default_agent": "default agent", "profile": "profile (agent + look)",
              "reference_3x3": "agent + 3x3 least squares"}
    if card.get("decisions"):
        labels["profile"] = "profile (per-photo + look)"
    for key, label in labels.items():
        if key in v:
            ci = v[key].get("interval_95")
            ci_text = f"  (95% interval {ci[0]:.2f}-{ci[1]:.2f})" if ci else ""
            lines.append(f"  {label:<28}{v[key]['ciede2000']:>10.2f}{v[key]['psnr']:>9.2f}{ci_text}")
    t = card["training"]
    lines.append(f"trained on {t['pairs']} pairs ({t['scenes']} picture groups), {t['iterations']} iterations "
                 f"(best {t['best_iteration']}), {report.seconds['total']:.1f} s")
    kinds = v.get("cross_validated_kinds")
    if kinds:
        lines.append("cross-validated: " + ", ".join(f"{k} {c:.2f}" for k, c in kinds.items()) +
                     f" -> kept: {v.get('kind')}")
    if card.get("decisions"):
        lines.append(f"per-photo decisions: capture estimate, chosen by cross-validation: {card['decisions']['change']}")
    return "\n".join(lines)
