"""`exposure-batch explain PHOTO [-o strip.jpg]`: show, step by step, what the edit does to one photo."""
from __future__ import annotations

import os

import click


@click.command()
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False),
              help="Strip image to write (.jpg, .png, .webp) [default: NAME.steps.jpg in the current folder].")
@click.option("--agent", type=click.Choice(["classic", "learned"]), default="learned", show_default=True,
              help="Who decides the edit when no --recipe is given: learned = the shipped Exposure model (models/auto, or --model), classic = image statistics.")
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False),
              help="Explain this saved recipe (JSON) applied to PHOTO instead of an agent's edit.")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False), help="Model folder for --agent learned.")
@click.option("--profile", "profile_path", type=click.Path(exists=True, file_okay=False),
              help="Explain a studio profile's edit (its agent, then its look) instead of an agent's.")
@click.option("--panel", type=click.IntRange(160, 2000), default=320, show_default=True, help="Long side of each panel (px).")
@click.option("--columns", type=click.IntRange(1, 50), default=6, show_default=True, help="Panels per row (at most).")
def explain(photo, out_path, agent, recipe_path, model_path, panel, columns, profile_path=None) -> None:
    """Decide the edit for PHOTO and draw it as a strip: the input, the image after each step (captioned with the
    step and a small plot of what it does to a grey ramp), then the output with its before/after histogram.
    The recipe is printed as a table."""
    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..pipeline.stages import decide_stage, decode_stage  # noqa: PLC0415
    from ..report.strip import render_strip, save_image  # noqa: PLC0415
    from ..sources import SourceSpec  # noqa: PLC0415
    from .options import warn_profile  # noqa: PLC0415

    out_path = out_path or os.path.splitext(os.path.basename(photo))[0] + ".steps.jpg"
    spec = SourceSpec(agent, recipe_path, model_path, profile_path)
    warn_profile(spec)
    try:
        source = spec.build()
        decoded = decode_stage(photo)
        recipe = decide_stage(source, [decoded])[0]
        print_recipe_table(recipe, os.path.basename(photo))
        click.echo(confidence_line(recipe))
        title = f"{os.path.basename(photo)}  ·  {recipe.model_id} {recipe.model_version}  ·  {len(recipe)} steps"
        strip = render_strip(recipe, decoded.rgb_lin, panel=panel, columns=columns, title=title)
        save_image(strip, out_path)
    except (ExposureBatchError, ValueError) as err:
        raise click.ClickException(" ".join(str(err).split())) from None
    click.echo(f"strip: {out_path} ({strip.width}x{strip.height})")


def confidence_line(recipe) -> str:
    """How sure the learned agent's capture estimate was (recipe extra "capture"), and whether the photo is worth a
    look: 'capture estimate: confidence 0.91' or '... confidence 0.32, worth a look: <note>'."""
    from ..agent.policy import LOW_CONFIDENCE  # noqa: PLC0415

    capture = (getattr(recipe, "extra", None) or {}).get("capture")
    if not isinstance(capture, dict) or "confidence" not in capture:
        return "capture estimate: none (not the learned agent)"
    conf = float(capture["confidence"])
    if conf >= LOW_CONFIDENCE:
        return f"capture estimate: confidence {conf:.2f}"
    return f"capture estimate: confidence {conf:.2f}, worth a look: {capture.get('note', '')}".rstrip(": ")


def format_params(params) -> str:
    """{'ev': 0.62} -> 'ev 0.620'; lists print compactly: 'slopes [0.80 0.95 ...]'."""
    parts = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            parts.append(f"{name} [{' '.join(f'{v:.2f}' for v in value)}]")
        else:
            parts.append(f"{name} {value:.3f}")
    return ", ".join(parts)


def print_recipe_table(recipe, name: str) -> None:
    """The recipe as a rich table on stdout: step number, filter, parameters, description."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=f"{name}: recipe by {recipe.model_id} {recipe.model_version}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("filter")
    table.add_column("parameters", overflow="fold")
    table.add_column("what it does", overflow="fold")
    for i, step in enumerate(recipe.steps, 1):
        table.add_row(str(i), step.filter, format_params(step.params), step.describe())
    if not recipe.steps:
        table.add_row("–", "(none)", "", "no edit")
    Console(soft_wrap=False).print(table)
