"""`exposure-batch export-look RECIPE.json --name NAME -o DIR`: one recipe as editor presets, styles and LUTs."""
from __future__ import annotations

import click


@click.command("export-look")
@click.argument("recipe_path", metavar="RECIPE.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="Look name shown in the editors (any text).")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Folder to write to.")
@click.option("--lut-size", type=click.IntRange(2, 256), default=65, show_default=True, help=".cube grid size.")
def export_look(recipe_path, name, outdir, lut_size) -> None:
    """Write a Lightroom develop preset (.xmp), a darktable style (.dtstyle), a .cube LUT and a 16-bit Hald CLUT
    for RECIPE.json into OUTDIR, with a README on where each goes."""
    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..recipe import load_recipe  # noqa: PLC0415
    from ..sidecars.presets import export_look as run  # noqa: PLC0415

    try:
        recipe = load_recipe(recipe_path)
        paths = run(recipe, name, outdir, lut_size=lut_size)
    except (ExposureBatchError, OSError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for p in paths:
        click.echo(p)
