"""One mapping table per editor, as darktable's `lightroom.c` is one translator: filter name -> the function giving
that editor's version of one recipe step (an `filters.EditorMapping`).

The tables are built from the FilterSpecs (each filter still declares its mappings once, in its own module), so a
new filter brings its rows with it; `tests/sidecars/test_editors.py` checks that every filter has an entry in every
editor's table and that each entry gives only what that editor's writer understands (`Editor.vocabulary`).

    darktable  ops on linear ProPhoto values, wrapped by sidecars/darktable.py between colour-space matrices:
               ("exposure", ev) -> exposure module, ("matrix", 3x3) -> channelmixerrgb, ("curve", ...) -> rgbcurve
    adobe      crs settings (Exposure2012, Contrast2012, Saturation, Temperature/Tint or their Incremental*
               twins, WhiteBalance, ConvertToGrayscale) plus "_master" / "_rgb" curve functions that sidecars/adobe.py composes into
               point curves

Exports: Editor, DARKTABLE, ADOBE, EDITORS.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

from .. import filters
from ..errors import RecipeError
from ..filters import EditorMapping


@dataclass(frozen=True)
class Editor:
    """One editor's translation table.

    Attributes:
        name: 'darktable' | 'adobe'.
        label: for people.
        table: filter name -> mapping function (params, **editor options) -> EditorMapping.
        vocabulary: darktable op kinds / Adobe setting names the editor's writer turns into its file.
    """

    name: str
    label: str
    table: Mapping[str, Callable[..., EditorMapping]]
    vocabulary: frozenset[str]

    def mapping(self, filter_name: str, params, **options) -> EditorMapping:
        """The editor's version of one step (options: Adobe's `raw`). RecipeError for a filter without a row."""
        try:
            fn = self.table[filter_name]
        except KeyError:
            raise RecipeError(f"{self.label} has no mapping for filter {filter_name!r}") from None
        return fn(params, **options)


def _table(attribute: str) -> Mapping[str, Callable[..., EditorMapping]]:
    return MappingProxyType({spec.name: getattr(spec, attribute) for spec in filters.REGISTRY})


DARKTABLE = Editor("darktable", "darktable", _table("to_darktable"), frozenset({"exposure", "matrix", "curve"}))
ADOBE = Editor("adobe", "Lightroom / Adobe Camera Raw", _table("to_adobe"), frozenset({
    "Exposure2012", "Contrast2012", "Saturation", "Temperature", "Tint", "IncrementalTemperature", "IncrementalTint",
    "WhiteBalance", "ConvertToGrayscale", "_master", "_rgb",
}))
#: Every editor we write settings for, by name.
EDITORS: Mapping[str, Editor] = MappingProxyType({e.name: e for e in (DARKTABLE, ADOBE)})
