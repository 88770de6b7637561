"""See the edits: the step strip (`strip`), the static HTML batch report (`html`) and their small plots (`plots`).

Exports: render_strip, ReportWriter, write_report.
"""
from __future__ import annotations

from .html import ReportWriter, write_report
from .strip import render_strip

__all__ = ["render_strip", "ReportWriter", "write_report"]
