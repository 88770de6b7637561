"""Click options shared between commands, taken from the `process` command itself so they are defined once.

`shared_options(process, exclude=...)` returns copies of process's option objects (output folder, format, quality,
space, linear, recipe/agent/model, save-recipe, skip-existing/overwrite, jobs, and any option added there later,
e.g. sidecars) for another command to carry; `output_options_from(kwargs)` builds the OutputOptions from the parsed
values the same way for every command (any OutputOptions field whose name matches a parameter).

Exports: shared_options, output_options_from, check_output_options, output_format, format_help, space_help,
memory_cap.
"""
from __future__ import annotations

import copy
import dataclasses
import os
from typing import Iterable

import click

from ..color import SPACE_NAMES, space_from_name
from ..io import formats
from ..names import shown
from ..pipeline.options import OutputOptions


#: Options of `process` every output-writing command shares, besides those feeding an OutputOptions field.
RECIPE_SOURCE_OPTIONS = ("recipe_path", "agent", "model_path", "profile_path", "jobs", "darktable_mode",
                         "sidecar_beside_source", "timeout", "memory_limit", "group_by", "group_gap", "groups_file")


def shared_options(command: click.Command, include: Iterable[str] = RECIPE_SOURCE_OPTIONS) -> list[click.Parameter]:
    """Copies of `command`'s options that set an OutputOptions field (output folder, format, quality, space,
    linear, save-recipe, overwrite/skip-existing, and any field added later such as sidecars) or are named in
    `include` (agent / recipe / model / jobs)."""
    wanted = set(include) | {f.name for f in dataclasses.fields(OutputOptions)}
    return [copy.copy(p) for p in command.params if isinstance(p, click.Option) and p.name in wanted]


def with_params(params: list[click.Parameter]):
    """Decorator appending click parameters to a command (after the ones declared with decorators)."""

    def deco(cmd: click.Command) -> click.Command:
        cmd.params.extend(params)
        return cmd

    return deco


def check_output_options(fmt: str, space: str, linear: bool, overwrite: bool, skip_existing: bool) -> None:
    """The usage rules `process` enforces, for any command writing outputs (the format and space rule is
    io.formats.check_encoding, the one io.write applies)."""
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing and --overwrite exclude each other")
    refused = formats.check_encoding(fmt, space_from_name(space), linear)
    if refused:
        raise click.UsageError(f"--format {fmt} --space {space}{' --linear' if linear else ''}: {refused}")


def check_inputs_exist(inputs: Iterable[str]) -> None:
    """Exit 2 at once, before anything is created, when an input path does not exist (as watch, learn and serve
    refuse a missing folder). A dangling symlink exists as a name: it fails as that file, with its reason."""
    missing = [p for p in inputs if not os.path.lexists(p)]
    if missing:
        raise click.BadParameter(f"Path {shown(missing[0])!r} does not exist"
                                 + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "") + ".",
                                 param_hint="'INPUTS...'")


def output_format(_ctx, _param, value: str | None) -> str | None:
    """--format callback: an alias ('jpg', 'tif') -> the format's name (io.formats.output_format)."""
    return None if value is None else formats.output_format(value)


def format_help() -> str:
    """--format's help, from io.formats: 'jpeg (jpg): 8-bit; png: 16-bit; tiff (tif): 16-bit'."""
    return "Output format: " + "; ".join(
        f"{f.name}{' (' + ', '.join(f.aliases) + ')' if f.aliases else ''} {f.bits[0]}-bit"
        for f in formats.FORMATS if f.writable) + "."


def space_help() -> str:
    """--space's help, from io.formats: which spaces each output format takes."""
    from ..color import SPACE_NAMES  # noqa: PLC0415
    parts = []
    for f in formats.FORMATS:
        if f.writable:
            names = [n for n, sp in SPACE_NAMES.items() if sp in f.spaces]
            parts.append(f"{f.label}: {'any' if len(names) == len(SPACE_NAMES) else ', '.join(names)}")
    return "Output colour space (" + "; ".join(parts) + ")."


def output_options_from(kwargs: dict) -> OutputOptions:
    """OutputOptions from parsed CLI values: every field whose name is a parameter name; outdir made absolute."""
    values = {f.name: kwargs[f.name] for f in dataclasses.fields(OutputOptions) if f.name in kwargs}
    values["outdir"] = os.path.abspath(values["outdir"])
    if "max_pixels" in values:
        values["max_pixels"] = values["max_pixels"] or None  # --max-pixels 0: no limit
    return OutputOptions(**values)


def memory_cap(text: str, jobs: int, spec) -> int | None:
    """--memory-limit in bytes: 'auto' = 80 % of RAM shared by the workers, at least 2 GiB (4 GiB when the learned
    agent runs in TensorFlow, EXPOSURE_BATCH_AGENT_BACKEND=tf: ~1.7 GB of address space before the first photo);
    '0' / 'none' = no cap; else a size such as 4G (engine.parse_size)."""
    from ..engine import parse_size  # noqa: PLC0415

    if str(text).lower() != "auto":
        try:
            return parse_size(text)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--memory-limit") from None
    from ..agent.policy import default_backend  # noqa: PLC0415

    tf = spec.agent == "learned" and not spec.recipe_path and default_backend() == "tf"
    floor = (4 if tf else 2) << 30
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return max(floor, 8 << 30)
    return max(floor, int(total * 0.8 / max(1, jobs)))
