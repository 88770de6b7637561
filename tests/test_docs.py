"""The user-facing documents: CHANGELOG.md follows Keep a Changelog with dated releases, and the package's version is
the newest release's."""
from __future__ import annotations

import datetime as dt
import re

from exposure_batch import __version__
from tests.helpers import REPO

RELEASE = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")
SUBSECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def changelog_sections() -> list[str]:
    """The CHANGELOG's `## ` headings, in file order."""
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_changelog_has_unreleased_on_top_then_dated_releases_newest_first():
    heads = changelog_sections()
    assert heads[0] == "## [Unreleased]", heads[:1]
    releases = [RELEASE.match(h) for h in heads[1:]]
    assert releases and all(releases), [h for h, m in zip(heads[1:], releases) if not m]
    versions = [tuple(int(x) for x in m["version"].split(".")) for m in releases]
    dates = [dt.date.fromisoformat(m["date"]) for m in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions), versions
    assert dates == sorted(dates, reverse=True), dates


def test_changelog_subsections_are_keep_a_changelog_kinds():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    kinds = re.findall(r"^### (.+)$", text, flags=re.M)
    assert kinds and set(kinds) <= SUBSECTIONS, sorted(set(kinds) - SUBSECTIONS)


def test_package_version_is_the_newest_release():
    newest = RELEASE.match(changelog_sections()[1])["version"]
    setup_py = (REPO / "setup.py").read_text(encoding="utf-8")
    assert __version__ == newest, (__version__, newest)
    assert f'version="{newest}"' in setup_py
