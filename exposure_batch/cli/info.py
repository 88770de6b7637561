"""`exposure-batch info FILE`: what the pipeline sees in a file."""
from __future__ import annotations

import json

import click


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def info(files, as_json: bool) -> None:
    """Print format, size, bit depth, colour space, ICC profile and EXIF of FILES."""
    from ..errors import InputError  # noqa: PLC0415
    from ..io import read_info  # noqa: PLC0415

    failed = 0
    for path in files:
        try:
            meta = read_info(path).to_dict()
        except InputError as err:
            click.echo(f"error: {err}", err=True)
            failed += 1
            continue
        if as_json:
            click.echo(json.dumps(meta, indent=2, ensure_ascii=False))
            continue
        click.echo(path)
        for key in ("format", "width", "height", "bit_depth", "source_space", "icc_description", "file_size", "sha256"):
            if meta.get(key) is not None:
                click.echo(f"  {key:<16} {meta[key]}")
        for key, value in sorted((meta.get("exif") or {}).items()):
            click.echo(f"  exif.{key:<11} {value}")
    if failed:
        raise SystemExit(1)
