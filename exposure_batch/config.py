"""TOML configuration files for commands: a config file becomes click's `default_map`, so values given on the
command line win over the file, and the file wins over the built-in defaults (CLI > config > defaults).

A file may hold the keys at top level or in a table named after the command (`[watch]`); keys are option names
with dashes or underscores (`save-recipe`, `save_recipe`, `output`) or the argument name (`inbox`):

    [watch]
    inbox = "/srv/inbox"
    output = "/srv/edited"
    format = "tiff"
    settle = 10.0
    jobs = 2

Exports: load_config, default_map_for, config_option.
"""
from __future__ import annotations

import tomllib

import click


def load_config(path: str, section: str | None = None) -> dict:
    """Read a TOML file; return the `[section]` table merged over the top-level scalar keys. Raises click.FileError /
    click.BadParameter with one-line messages."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as err:
        raise click.FileError(path, err.strerror or str(err)) from None
    except tomllib.TOMLDecodeError as err:
        raise click.BadParameter(f"{path}: not valid TOML ({err})", param_hint="--config") from None
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if section and isinstance(data.get(section), dict):
        top.update(data[section])
    return top


def _names(param: click.Parameter) -> set[str]:
    names = {param.name}
    for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
        if opt.startswith("--"):
            names.add(opt[2:].replace("-", "_"))
    return {n for n in names if n}


def default_map_for(command: click.Command, values: dict, source: str = "config") -> dict:
    """Map config keys onto the command's parameter names; unknown keys are an error naming them."""
    lookup: dict[str, click.Parameter] = {}
    for param in command.params:
        for name in _names(param):
            lookup[name] = param
    out, unknown = {}, []
    for key, value in values.items():
        param = lookup.get(key.replace("-", "_"))
        if param is None or param.name == "config":
            unknown.append(key)
            continue
        if isinstance(param, click.Option) and param.secondary_opts and key.replace("-", "_") == \
                param.secondary_opts[0].lstrip("-").replace("-", "_"):
            value = not value  # 'no-hash = true' -> hash = false
        out[param.name] = value
    if unknown:
        known = sorted({n.replace("_", "-") for p in command.params for n in _names(p)} - {"config"})
        raise click.BadParameter(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}",
                                 param_hint="--config")
    return out


def _apply_config(ctx: click.Context, param: click.Parameter, value: str | None):
    if value:
        values = load_config(value, ctx.command.name)
        ctx.default_map = {**(ctx.default_map or {}), **default_map_for(ctx.command, values, value)}
    return value


def config_option(*names: str, help: str = "TOML config file (CLI > config > defaults)."):  # noqa: A002
    """A --config option that loads the file before the other parameters are processed."""
    return click.option(*(names or ("--config",)), "config", type=click.Path(exists=True, dir_okay=False),
                        is_eager=True, expose_value=True, callback=_apply_config, help=help)
