"""The documentation: the site (mkdocs.yml, docs/) builds offline with no broken link, no broken
anchor and no page the navigation leaves out, and the README's front page stays short and its
links lead somewhere.

The site is built in-process as `make docs` builds it (`mkdocs build --strict`): with the
`validation:` settings of mkdocs.yml each of those is a warning, and strict mode fails on any
warning. The mutation tests build a copy with one fault each, so a validation setting turned down
to `info` fails here too.
"""

from __future__ import annotations

import logging
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MAX_LINES = 300
# A Markdown link or image: [text](target) or ![alt](target), the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.MULTILINE | re.DOTALL)


def _build(config_file: Path, site_dir: Path, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Build the site strictly; the warnings that failed it ([] when it built)."""
    config = load_config(str(config_file), site_dir=str(site_dir), strict=True)
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        try:
            build(config)
        except Abort:
            return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return []


@pytest.fixture(autouse=True)
def _quiet_material(monkeypatch: pytest.MonkeyPatch) -> None:
    # mkdocs-material's end-of-life notice (printed, not logged; as in the Makefile)
    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")


def test_the_site_builds_strictly_with_every_page_in_the_navigation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given mkdocs.yml and docs/ as committed / When the site is built as `make docs` builds it
    warnings = _build(ROOT / "mkdocs.yml", tmp_path / "site", caplog)
    # Then nothing warns, and every page of docs/ is a page of the site
    assert warnings == []
    pages = sorted(
        p.relative_to(ROOT / "docs").with_suffix(".html") for p in ROOT.glob("docs/**/*.md")
    )
    assert pages and all((tmp_path / "site" / page).is_file() for page in pages)


def _orphan_page(docs: Path) -> None:
    (docs / "orphan.md").write_text("# A page no navigation entry reaches\n")


def _broken_link(docs: Path) -> None:
    page = docs / "costs.md"
    page.write_text(page.read_text() + "\nSee [the prices](no-such-page.md).\n")


def _broken_anchor(docs: Path) -> None:
    page = docs / "costs.md"
    page.write_text(page.read_text() + "\nSee [a section](deploy.md#no-such-section).\n")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (_orphan_page, 'not included in the "nav"'),
        (_broken_link, "no-such-page.md"),
        (_broken_anchor, "#no-such-section"),
    ],
    ids=["orphan page", "broken link", "broken anchor"],
)
def test_the_strict_build_fails_on_each_kind_of_fault(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fault: Callable[[Path], None],
    expected: str,
) -> None:
    # Given a copy of the site's sources with one fault
    shutil.copy2(ROOT / "mkdocs.yml", tmp_path)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    fault(tmp_path / "docs")
    # When it is built strictly / Then the build fails, naming the fault
    warnings = _build(tmp_path / "mkdocs.yml", tmp_path / "site", caplog)
    assert any(expected in warning for warning in warnings), warnings


def test_the_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail into docs/"


def _github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading (where the README is read)."""
    text = re.sub(r"[^\w\- ]", "", unicodedata.normalize("NFKC", heading).lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    """The anchors of `page`'s headings that GitHub and the site (Python-Markdown) both give."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = [re.sub(r"[`*]", "", h) for h in re.findall(r"^#+\s+(.+?)\s*$", text, re.MULTILINE)]
    return {_github_slug(h) for h in headings} & {slugify(h, "-") for h in headings}


def _relative_links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def _broken_links(page: Path) -> list[str]:
    broken = []
    for target in _relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.is_file() or (anchor and anchor not in _anchors(file)):
            broken.append(target)
    return broken


def test_every_relative_link_of_the_readme_leads_to_a_file_and_anchor() -> None:
    # Given the README's links to the docs and the repository's files
    links = _relative_links(README)
    assert len(links) >= 10
    # Then each names a file that exists, and a heading of it where it names an anchor
    assert _broken_links(README) == []


def test_a_broken_readme_link_is_found(tmp_path: Path) -> None:
    # Given a front page with a link to a missing file and one to a missing heading
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deploy.md").write_text("# Deploy\n\n## Confirm the e-mail subscription\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Front\n\n[ok](docs/deploy.md#confirm-the-e-mail-subscription), [top](#front), "
        "[gone](docs/gone.md), [no heading](docs/deploy.md#pause-updates), "
        "`[code](docs/x.md)`, [web](https://example.com/x.md)\n"
    )
    # When its links are checked / Then exactly the two broken ones are named
    assert _broken_links(page) == ["docs/gone.md", "docs/deploy.md#pause-updates"]
