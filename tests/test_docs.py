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


# --- README: a user's page of at most 15,000 characters, its links and commands --------------------------------------

README_LIMIT = 15_000
TEST_COMMAND = "pip install -e '.[test]' && python -m pytest -n 2 -q"
DOC_REFERENCE = re.compile(r"\bdocs/([A-Za-z0-9_./-]+\.md)(?:\s+([A-Z]\.\d+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_is_at_most_15000_characters():
    assert len(readme()) <= README_LIMIT, f"README.md has {len(readme())} characters: move detail into docs/"


def test_readme_has_the_users_sections():
    text = readme()
    heads = set(re.findall(r"^## (.+)$", text, flags=re.M))
    for needed in ("Set up", "A first edit", "Where outputs go and what they are named", "Supported inputs and cameras",
                   "Commands", "How to undo", "What it will not do", "Hostile files", "Studio profiles"):
        assert needed in heads, needed
    hostile = text.split("## Hostile files", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"^\| .+ \| .+ \|$", hostile, flags=re.M)) >= 6, "the Hostile files table lost its rows"


def test_readme_test_command_is_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"```bash\n{TEST_COMMAND}\n```" in readme()
    assert any(line.strip() == TEST_COMMAND for line in ci.splitlines()), ".ci/run must run the README's test command"


def test_readme_and_docs_links_to_repository_files_resolve():
    """Relative links in README.md (to docs/, CHANGELOG.md, samples/...) point at files that exist."""
    missing = [target for target in MARKDOWN_LINK.findall(readme())
               if "://" not in target and not (REPO / target).exists()]
    assert not missing, missing


# --- every docs/*.md a docstring or message cites exists (with the section it names) ---------------------------------

def cited_docs() -> list[tuple[str, str, str | None]]:
    """(citing file, docs page, section such as 'A.6' or None) for every docs/NAME.md in code and tools."""
    found = []
    for folder in ("exposure_batch", "tools", "benchmarks", "plugins", "tests"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in (".py", ".lua", ".txt", ".toml") or path.name == "test_docs.py":
                continue
            for page, section in DOC_REFERENCE.findall(path.read_text(encoding="utf-8", errors="replace")):
                found.append((str(path.relative_to(REPO)), page, section or None))
    return found


def test_the_code_cites_docs_pages():
    pages = {page for _, page, _ in cited_docs()}
    assert {"sidecar_formats.md", "data.md"} <= pages, pages  # the scan finds the references it checks


def test_every_cited_docs_page_and_section_exists():
    broken = []
    for where, page, section in cited_docs():
        target = REPO / "docs" / page
        if not target.is_file():
            broken.append(f"{where}: docs/{page} does not exist")
        elif section and not re.search(rf"^#+ {re.escape(section)}\b", target.read_text(encoding="utf-8"), re.M):
            broken.append(f"{where}: docs/{page} has no section {section}")
    assert not broken, "\n".join(broken)


# --- the docs site builds with MkDocs --strict (every page in the nav, every link resolves) -----------------------------

def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict`: fails on a broken link or anchor, a page missing from the nav or a nav entry
    without a page. Needs mkdocs and mkdocs-material (the test extra): skipped without them, failed under CI=true."""
    import subprocess
    import sys

    from tests.helpers import require_module

    require_module("mkdocs")
    require_module("material")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "site" / "ray" / "index.html").is_file()
    assert "auth_token" in (tmp_path / "site" / "ray" / "index.html").read_text(encoding="utf-8")


# --- every command is in the README's table and has a user-guide page ------------------------------------------------

def cli_commands() -> list[str]:
    from exposure_batch.cli import main

    return sorted(main.commands)


def test_readme_commands_table_lists_every_command():
    table = readme().split("## Commands", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in cli_commands() if not re.search(rf"`([^`]*\s)?{re.escape(name)}[\s`]", table)]
    assert len(cli_commands()) >= 10 and not missing, missing


def test_every_command_has_a_user_guide_page():
    titles = {path.name: path.read_text(encoding="utf-8").splitlines()[0]
              for path in sorted((REPO / "docs" / "guide").glob("*.md"))}
    missing = [name for name in cli_commands()
               if not any(re.search(rf"(^#|,|\s){re.escape(name)}(\W|$)", title) for title in titles.values())]
    assert not missing, (missing, titles)


REPO_PATH = re.compile(r"`((?:exposure_batch|tests|benchmarks|tools|contrib|models|xmp_templates)/[\w./-]+"
                       r"|(?:plugins|samples)/[\w./-]+\.\w+)`")


def test_repository_paths_named_in_readme_and_docs_exist():
    """Files and folders the pages name in backticks (`exposure_batch/render/kernels.py`, `benchmarks/shoot.py`)
    exist: modules move, the manual must follow."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    missing = sorted({f"{page.relative_to(REPO)}: {path}" for page in pages
                      for path in REPO_PATH.findall(page.read_text(encoding="utf-8"))
                      if not (REPO / path.rstrip("/.")).exists()})
    assert not missing, "\n".join(missing)
