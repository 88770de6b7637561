"""Output options: where and how a run writes its files (picklable: sent to worker processes).

Exports: OutputOptions, FORMAT_EXTENSIONS.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..io import formats
from ..limits import DEFAULT_MAX_PIXELS

FORMAT_EXTENSIONS = {name: formats.output_extension(name) for name in formats.OUTPUT_FORMATS}  # io.formats


@dataclass(frozen=True)
class OutputOptions:
    """Where and how outputs are written. Picklable (sent to worker processes)."""

    outdir: str
    fmt: str = "jpeg"  # jpeg | tiff | png
    quality: int = 95
    space: str = "srgb"  # output colour space: srgb | prophoto | adobergb | p3 | rec2020
    linear: bool = False  # write linear values (TIFF/PNG only); default is the space's transfer curve
    save_recipe: bool = False
    overwrite: bool = False
    skip_existing: bool = False
    sidecars: object = "none"  # editor sidecars: 'none' | 'all' | 'darktable,adobe,cube' | sidecars.SidecarOptions
    jpeg_optimize: bool = False  # optimised Huffman tables: ~4% smaller JPEGs for ~3x the encoding time
    thumbnail: int = 0  # > 0: done Results carry a linear thumbnail of the input, this long side in px (reports)
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # refuse inputs declaring more pixels (header check); None: no limit
