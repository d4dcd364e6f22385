"""The docs show tested code: a ```python/go/java/xml block starting with its ``file: PATH`` is that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(
    r"```(?:python\n# |go\n// |java\n// |xml\n<!-- )file: (?P<path>\S+)(?: -->)?\n(?P<code>.*?)```", re.DOTALL
)


def _blocks() -> list[tuple[str, str, str]]:
    return [(doc.name, m["path"], m["code"]) for doc in DOCS for m in BLOCK.finditer(doc.read_text())]


def test__docs__show_example_files() -> None:
    shown = {path for _, path, _ in _blocks()}
    assert {
        "examples/tutorial/greetings.py",
        "examples/embedded/tasks_as_rpc.py",
        "examples/go/tutorial/main.go",
        "examples/go/inventory/main.go",
        "examples/java/orders-bundle/pom.xml",
        "examples/java/orders-bundle/src/main/java/com/example/OrdersBundle.java",
        "examples/java/inventory-service/src/main/java/org/baton/examples/inventory/InventoryService.java",
    } <= shown


@pytest.mark.parametrize(("doc", "path", "code"), _blocks(), ids=lambda v: str(v)[:40])
def test__docs_block__is_the_file_verbatim(doc: str, path: str, code: str) -> None:
    assert code == (ROOT / path).read_text(), f"{doc} shows {path} differently: copy the file into the doc"
