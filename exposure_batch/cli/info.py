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
    from ..names import shown  # noqa: PLC0415

    failed = 0
    for path in files:
        try:
            meta = read_info(path).to_dict()
        except InputError as err:
            click.echo(f"error: {shown(err)}", err=True)
            failed += 1
            continue
        if as_json:
            meta["path"] = shown(meta["path"])
            click.echo(json.dumps(meta, indent=2, ensure_ascii=False))
            continue
        click.echo(shown(path))
        for key in ("format", "width", "height", "bit_depth", "source_space", "icc_description", "file_size", "sha256"):
            if meta.get(key) is not None:
                click.echo(f"  {key:<16} {shown(meta[key])}")
        for key, value in sorted((meta.get("exif") or {}).items()):
            click.echo(f"  exif.{key:<11} {shown(value)}")
    if failed:
        raise SystemExit(1)
