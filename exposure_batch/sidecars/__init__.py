"""Editor sidecars and looks: .cube / Hald CLUT, darktable XMP and styles, Adobe (crs) XMP and presets.

Exports: write_sidecars, SidecarOptions (see `exposure_batch.sidecars.writer`).
"""
