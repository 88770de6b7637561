"""`exposure-batch export-look RECIPE.json --name NAME -o DIR` (or `--profile PROFILE_DIR`): one recipe, or a studio
profile's look, as editor presets, styles and LUTs."""
from __future__ import annotations

import click


@click.command("export-look")
@click.argument("recipe_path", metavar="[RECIPE.json]", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--profile", "profile_path", type=click.Path(exists=True, file_okay=False),
              help="Export the look part of this studio profile (made by `exposure-batch learn`) instead of a recipe.")
@click.option("--name", help="Look name shown in the editors (any text) [default: the profile's name; required "
                             "with RECIPE.json].")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Folder to write to.")
@click.option("--lut-size", type=click.IntRange(2, 256), default=65, show_default=True, help=".cube grid size.")
def export_look(recipe_path, profile_path, name, outdir, lut_size) -> None:
    """Write a Lightroom develop preset (.xmp), a darktable style (.dtstyle), a .cube LUT and a 16-bit Hald CLUT
    for RECIPE.json, or for the look of --profile PROFILE_DIR, into OUTDIR, with a README on where each goes.

    A profile's look is exported at its reference brightness: the per-photo part of a profile (the agent's
    correction and the look's brightness-dependent exposure) is not in the exported files."""
    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..recipe import load_recipe  # noqa: PLC0415
    from ..sidecars.presets import export_look as run  # noqa: PLC0415

    if bool(recipe_path) == bool(profile_path):
        raise click.UsageError("give either RECIPE.json or --profile PROFILE_DIR")
    if recipe_path and not name:
        raise click.UsageError("--name is required with RECIPE.json")
    try:
        if profile_path:
            from ..look.profile import load_profile  # noqa: PLC0415

            profile = load_profile(profile_path)
            recipe, name = profile.look_recipe(), name or profile.name
        else:
            recipe = load_recipe(recipe_path)
        paths = run(recipe, name, outdir, lut_size=lut_size)
    except (ExposureBatchError, OSError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for p in paths:
        click.echo(p)
