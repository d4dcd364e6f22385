"""Every relative link of the repository's Markdown reaches a file that exists, and every ``#anchor``
a heading of the page it names (as GitHub writes a heading's anchor)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SKIPPED_FOLDERS = {"node_modules", "target", "build", "dist"}
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def _markdown_files() -> Iterator[Path]:
    for folder, folders, files in os.walk(ROOT):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS)
        yield from (Path(folder) / name for name in sorted(files) if name.endswith(".md"))


def _prose(path: Path) -> str:
    """The page without its code: a link shown in a code block or span is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text()))


def _slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    anchors: set[str] = set(HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        slug = _slug(heading)
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def broken_links(page: Path) -> list[str]:
    """The links of ``page`` that lead nowhere, as written."""
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target} (no such heading in {linked.name})")
    return broken


PAGES = list(_markdown_files())


def test__the_pages__include_the_docs_and_the_readmes() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/index.md", "docs/python-sdk.md", "docs/adr/web-ui.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test__markdown_page__every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test__broken_links__name_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `run` call, step 2\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## A heading\n\n"
        "[ok](other.md#the-run-call-step-2) [ok](#a-heading) [ok](https://example.com/x.md#nowhere)\n"
        "[file](missing.md) [heading](other.md#no-such-heading) [here](#nowhere)\n"
        "`[in code](missing.md)`\n\n```\n[in a block](missing.md)\n```\n"
    )
    assert [link.split(" ")[0] for link in broken_links(page)] == [
        "missing.md",
        "other.md#no-such-heading",
        "#nowhere",
    ]
