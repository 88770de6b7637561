"""The step strip: the input, the image after each recipe step (captioned with the step and a small plot of what it
does to a grey ramp), then the output with its before/after luminance histogram, like the paper's figures.

Steps are applied one after another to an area-averaged thumbnail of the linear ProPhoto image (every filter is
pointwise, so this shows what the full-resolution render does); panels are shown in 8-bit sRGB.

Exports: step_images, render_strip, save_image.
"""
from __future__ import annotations

import os
import textwrap
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..render import preview
from ..io.write import atomic_write
from ..recipe import Recipe, Step
from ..render import render
from . import plots

GAP = 10
MARGIN = 14
CAPTION_LINES = 3
LINE_H = 17
PLOT = 84


def step_images(steps: Sequence[Step], rgb_lin: np.ndarray) -> list[np.ndarray]:
    """[input, after step 1, ..., after step n]: each (h, w, 3) float32 linear ProPhoto, same shape as rgb_lin."""

    images = [np.asarray(rgb_lin, dtype=np.float32)]
    for step in steps:
        images.append(render((step,), images[-1], threads=1))
    return images


def _fit(img_u8: np.ndarray, box: int) -> Image.Image:
    """uint8 (h, w, 3) -> Pillow image whose long side is `box` px."""
    im = Image.fromarray(img_u8)
    scale = box / max(im.size)
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)


def _caption(draw: ImageDraw.ImageDraw, xy: tuple[int, int], title: str, text: str, width_px: int) -> None:
    """Bold-ish title line then the wrapped description, inside `width_px`."""
    x, y = xy
    draw.text((x, y), title, fill=plots.AFTER, font=plots.font(13))
    chars = max(12, width_px // 8)
    for i, line in enumerate(textwrap.wrap(text, chars)[: CAPTION_LINES - 1]):
        draw.text((x, y + LINE_H * (i + 1)), line, fill=plots.FG, font=plots.font(13))


def render_strip(recipe: Recipe | Sequence[Step], rgb_lin: np.ndarray, *, panel: int = 300, columns: int = 6,
                 title: str | None = None) -> Image.Image:
    """Draw the strip for `recipe` applied to rgb_lin ((H, W, 3) float32 linear ProPhoto, any size).

    Args:
        panel: long side of each image panel in px.
        columns: panels per row before the strip wraps.
        title: text above the strip (e.g. the file name and the model).
    Returns: an RGB Pillow image.
    """
    steps = tuple(recipe.steps if isinstance(recipe, Recipe) else recipe)
    thumb_lin = preview.thumbnail(np.asarray(rgb_lin, dtype=np.float32), max_side=panel)
    images = step_images(steps, thumb_lin)
    panels = [("Input", "as decoded (linear ProPhoto, shown in sRGB)", None)]
    for i, step in enumerate(steps, 1):
        panels.append((f"{i}. {step.spec.label}", step.describe(), plots.draw_curve(*plots.recipe_curve((step,)), PLOT)))
    hist = plots.draw_histogram(plots.luminance_hist(images[0]), plots.luminance_hist(images[-1]), (panel - PLOT - 6, PLOT))
    panels.append(("Output", f"{len(steps)} step{'s' if len(steps) != 1 else ''}", (hist, plots.draw_curve(*plots.recipe_curve(steps), PLOT))))
    shown = images + [images[-1]]

    img_h = _fit(plots.to_display_u8(shown[0]), panel).height
    cell_w, cell_h = panel, img_h + 6 + LINE_H * CAPTION_LINES + PLOT + 6
    rows = -(-len(panels) // max(1, columns))
    cols = -(-len(panels) // rows)  # balanced rows: 8 panels at columns=6 -> 2 rows of 4
    head = 30 if title else 0
    sheet = Image.new("RGB", (2 * MARGIN + cols * cell_w + (cols - 1) * GAP,
                              2 * MARGIN + head + rows * cell_h + (rows - 1) * GAP), plots.BG)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((MARGIN, MARGIN), title, fill=plots.FG, font=plots.font(16))
    for k, ((name, text, plot), img_lin) in enumerate(zip(panels, shown)):
        x = MARGIN + (k % cols) * (cell_w + GAP)
        y = MARGIN + head + (k // cols) * (cell_h + GAP)
        im = _fit(plots.to_display_u8(img_lin), panel)
        sheet.paste(im, (x + (cell_w - im.width) // 2, y + (img_h - im.height) // 2))
        _caption(draw, (x, y + img_h + 6), name, text, cell_w)
        _paste_plots(sheet, plot, x, y + img_h + 6 + LINE_H * CAPTION_LINES)
    return sheet


def _paste_plots(sheet: Image.Image, plot, x: int, y: int) -> None:
    """Paste one plot, or a tuple of plots side by side, at (x, y)."""
    for p in (plot if isinstance(plot, tuple) else (plot,)):
        if p is not None:
            sheet.paste(p, (x, y))
            x += p.width + 6


def save_image(im: Image.Image, path: str | os.PathLike, quality: int = 90) -> str:
    """Write a Pillow image atomically; the format follows the extension (.jpg/.jpeg, .png, .webp)."""

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(ext)
    if fmt is None:
        raise ValueError(f"{path}: unsupported image extension {ext!r} (use .jpg, .png or .webp)")
    with atomic_write(path, "wb") as fh:
        im.save(fh, format=fmt, **({"quality": quality} if fmt != "PNG" else {"optimize": True}))
    return path
