"""The committed OpenAPI documents of every API version, read the way the suites walk them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"


def operations(version: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation) of every operation in ``spec/<version>.json``."""
    document = json.loads((SPEC_DIR / f"{version}.json").read_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield method.upper(), path, operation
