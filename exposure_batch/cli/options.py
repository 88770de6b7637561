"""Click options and parsing helpers shared by the commands that write outputs (`process`, `watch`): declared once
here, parsed into the same typed options (pipeline.OutputOptions, sources.SourceSpec, shoot GroupingOptions).

`@run_options` adds the shared options (output folder, format, quality, space, linear, recipe/agent/model/profile,
save-recipe, skip-existing/overwrite, jobs, timeout, memory limit, sidecars, max pixels, grouping) to a command;
`output_options_from(kwargs)` builds the OutputOptions from the parsed values the same way for every command (any
OutputOptions field whose name matches a parameter; --sidecar and its companions become SidecarOptions).

Exports: run_options, RUN_OPTIONS, output_options_from, source_spec_from, check_output_options, sidecar_options,
grouping_options, look_grouping, warn_profile, check_inputs_exist, output_format, format_help, space_help, memory_cap.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Iterable

import click

from ..color import SPACE_NAMES, space_from_name
from ..io import formats
from ..limits import DEFAULT_MAX_PIXELS
from ..names import shown
from ..pipeline.options import OutputOptions
from ..sources import SourceSpec


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
    parts = []
    for f in formats.FORMATS:
        if f.writable:
            names = [n for n, sp in SPACE_NAMES.items() if sp in f.spaces]
            parts.append(f"{f.label}: {'any' if len(names) == len(SPACE_NAMES) else ', '.join(names)}")
    return "Output colour space (" + "; ".join(parts) + ")."

#: The options every output-writing command carries, in --help order (each a click.option decorator).
RUN_OPTIONS = (
    click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False), help="Output folder."),
    click.option("-f", "--format", "fmt", type=click.Choice(formats.OUTPUT_CHOICES, case_sensitive=False),
                 default="jpeg", show_default=True, callback=output_format, help=format_help()),
    click.option("-q", "--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality."),
    click.option("--jpeg-optimize", is_flag=True,
                 help="Optimised JPEG Huffman tables: about 4% smaller files, about 3x the encoding time."),
    click.option("--space", type=click.Choice(tuple(SPACE_NAMES)), default="srgb", show_default=True,
                 help=space_help()),
    click.option("--linear", is_flag=True, help="Write linear values (TIFF/PNG) instead of the space's transfer curve."),
    click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False),
                 help="Apply this saved recipe (JSON) to every photo instead of an agent."),
    click.option("--agent", type=click.Choice(["classic", "learned"]), default="learned", show_default=True,
                 help="Who decides the edit when no --recipe is given: learned = the shipped Exposure model "
                      "(models/auto, or --model), classic = image statistics."),
    click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False), help="Model folder for --agent learned."),
    click.option("--profile", "profile_path", type=click.Path(exists=True, file_okay=False),
                 help="A studio profile made by `exposure-batch learn`: its agent's correction, then the studio's look "
                      "(recipes name the profile). Not with --recipe."),
    click.option("--save-recipe", is_flag=True, help="Write NAME.recipe.json beside each output."),
    click.option("--skip-existing", is_flag=True, help="Skip outputs that already exist without the hint (the default "
                 "skips them too and says how to redo them)."),
    click.option("--overwrite", is_flag=True, help="Replace outputs that already exist."),
    click.option("-j", "--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
                 help="Worker processes; each pipelines decode, agent and render/encode of successive files."),
    click.option("--timeout", type=click.FloatRange(0), default=600.0, show_default=True,
                 help="Seconds one file may take before its worker is killed (0: no limit)."),
    click.option("--memory-limit", default="auto", show_default=True,
                 help="Address-space cap per worker, e.g. 4G (auto: 80 percent of RAM / jobs; 0: none)."),
    click.option("--sidecar", "sidecars", default="none", show_default=True, metavar="darktable|adobe|cube|all|none",
                 help="Editor files describing each edit of the source (comma list allowed): darktable IMG.EXT.xmp, "
                      "Adobe IMG.xmp for raw (embedded with --sidecar-beside-source for JPEG/TIFF/DNG), baked .cube."),
    click.option("--darktable-mode", type=click.Choice(["parametric", "lut"]), default="parametric", show_default=True,
                 help="darktable sidecar: editable modules, or one lut3d entry reading the baked .cube."),
    click.option("--max-pixels", type=click.IntRange(0), default=DEFAULT_MAX_PIXELS, show_default=True, metavar="N",
                 help="Refuse photos whose header declares more than N pixels (width x height), before decoding "
                      "them; 0 = no limit."),
    click.option("--sidecar-beside-source", is_flag=True,
                 help="Write sidecars beside the source files (a catalogue of originals) instead of beside the outputs. "
                      "With --sidecar adobe this MODIFIES JPEG/TIFF/PNG/DNG sources: Lightroom reads no sidecar for "
                      "them, so the settings are embedded into the source file (its bytes change, its other metadata "
                      "is kept); the run says how many sources it changed."),
    click.option("--group-by", type=click.Choice(["auto", "time", "similarity", "folder", "none"]), default="auto",
                 show_default=True,
                 help="Group photos into scenes and give each scene one consistent edit (exposure and white balance "
                      "harmonised, tone/colour steps shared; frames that do not belong are split off): auto = capture "
                      "time, then visual similarity; none = every photo edited alone. With --recipe the look is applied "
                      "exactly (none) unless --group-by or --groups is given."),
    click.option("--group-gap", type=click.FloatRange(0), default=30.0, show_default=True, metavar="SECONDS",
                 help="A gap of more than this between two capture times starts a new scene."),
    click.option("--groups", "groups_file", type=click.Path(exists=True, dir_okay=False),
                 help="Scene groups given by hand: JSON {\"group\": [\"file\", ...]} or CSV lines 'file,group' "
                      "(files it does not name are grouped by --group-by)."),
)


def run_options(command):
    """Decorator adding RUN_OPTIONS to a command function (below its own options in --help)."""
    for option in reversed(RUN_OPTIONS):
        command = option(command)
    return command


def check_output_options(fmt: str, space: str, linear: bool, overwrite: bool, skip_existing: bool) -> None:
    """The usage rules every command writing outputs enforces (the format and space rule is
    io.formats.check_encoding, the one io.write applies)."""
    if skip_existing and overwrite:
        raise click.UsageError("--skip-existing and --overwrite exclude each other")
    refused = formats.check_encoding(fmt, space_from_name(space), linear)
    if refused:
        raise click.UsageError(f"--format {fmt} --space {space}{' --linear' if linear else ''}: {refused}")


def sidecar_options(sidecar, darktable_mode, beside_source):
    """--sidecar / --darktable-mode / --sidecar-beside-source -> SidecarOptions ('none' stays a plain string)."""
    if (sidecar or "none").strip().lower() == "none":
        return "none"
    from ..sidecars.writer import SidecarOptions  # noqa: PLC0415

    try:
        return SidecarOptions.parse(sidecar, darktable_mode=darktable_mode, beside_source=beside_source)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--sidecar") from None


def check_inputs_exist(inputs: Iterable[str]) -> None:
    """Exit 2 at once, before anything is created, when an input path does not exist (as watch, learn and serve
    refuse a missing folder). A dangling symlink exists as a name: it fails as that file, with its reason."""
    missing = [p for p in inputs if not os.path.lexists(p)]
    if missing:
        raise click.BadParameter(f"Path {shown(missing[0])!r} does not exist"
                                 + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "") + ".",
                                 param_hint="'INPUTS...'")


def output_options_from(kwargs: dict) -> OutputOptions:
    """OutputOptions from parsed CLI values: every field whose name is a parameter name; outdir made absolute;
    --sidecar (with --darktable-mode, --sidecar-beside-source) parsed into SidecarOptions."""
    values = {f.name: kwargs[f.name] for f in dataclasses.fields(OutputOptions) if f.name in kwargs}
    values["outdir"] = os.path.abspath(values["outdir"])
    if "sidecars" in values:
        values["sidecars"] = sidecar_options(values["sidecars"], kwargs.get("darktable_mode", "parametric"),
                                             kwargs.get("sidecar_beside_source", False))
    if "max_pixels" in values:
        values["max_pixels"] = values["max_pixels"] or None  # --max-pixels 0: no limit
    return OutputOptions(**values)


def source_spec_from(kwargs: dict) -> SourceSpec:
    """SourceSpec from parsed --agent / --recipe / --model / --profile."""
    return SourceSpec(kwargs.get("agent", "learned"), kwargs.get("recipe_path"), kwargs.get("model_path"),
                      kwargs.get("profile_path"))


def grouping_options(group_by: str, gap: float, groups_file: str | None):
    """--group-by / --group-gap / --groups -> shoot.grouping.GroupingOptions."""
    from ..shoot.grouping import GroupingOptions  # noqa: PLC0415

    by = {"auto": "time+similarity"}.get(group_by or "auto", group_by)
    return GroupingOptions(by=by, gap=float(gap), groups_file=groups_file)


def look_grouping(group_by: str, recipe_path: str | None, groups_file: str | None) -> str:
    """--group-by as it applies: with --recipe, 'none' unless --group-by (command line, environment or a config
    file) or --groups was given, so a saved look is applied exactly and not harmonised frame by frame."""
    from click.core import ParameterSource  # noqa: PLC0415

    source = click.get_current_context().get_parameter_source("group_by")
    if recipe_path and not groups_file and source in (None, ParameterSource.DEFAULT):
        return "none"
    return group_by


def warn_profile(spec: SourceSpec) -> None:
    """--profile excludes --recipe; say once, before any work, when the loaded agent is not the profile's."""
    from ..errors import ExposureBatchError  # noqa: PLC0415
    from ..runs.batch import RunUsageError, profile_warning  # noqa: PLC0415

    try:
        mismatch = profile_warning(spec)
    except ExposureBatchError as err:
        if isinstance(err, RunUsageError):
            raise click.UsageError(str(err)) from None
        raise click.ClickException(str(err)) from None
    if mismatch:
        click.echo(f"warning: {shown(mismatch)}", err=True)


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
