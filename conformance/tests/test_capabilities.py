"""The SDKs' capability declarations: complete, known, documented, and rendered into the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from baton_conformance._capabilities import CAPABILITIES, TIERS, load_all, load_declaration
from baton_conformance._errors import SetupError
from baton_conformance._report import render

ROOT = Path(__file__).resolve().parents[2]


def test__every_sdk__declares_every_capability() -> None:
    declarations = load_all(ROOT / "clients")
    assert [(d.sdk, d.runtime) for d in declarations] == [
        ("Go", "go"),
        ("Java", "java"),
        ("Python", "python"),
    ]
    python = declarations[-1]
    assert python.tier_counts("MUST") == (sum(c.tier == "MUST" for c in CAPABILITIES),) * 2


def test__guide__describes_every_capability_under_its_id_and_tier() -> None:
    guide = (ROOT / "docs" / "new-language-sdk.md").read_text()
    for capability in CAPABILITIES:
        assert f"`{capability.id}`" in guide, capability.id
    assert all(tier in guide for tier in TIERS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('sdk = "X"\nruntime = "x"\n[capabilities]\n', "not declared"),
        ('sdk = "X"\nruntime = "x"\n[capabilities]\nteleport = { status = "yes" }\n', "unknown capability"),
        ('sdk = "X"\nruntime = "x"\n[capabilities]\nlogs = { status = "maybe" }\n', "status must be one of"),
        ("sdk = [", "capabilities.toml"),
    ],
)
def test__bad_declaration__setup_error_naming_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "capabilities.toml"
    path.write_text(content)
    with pytest.raises(SetupError, match=problem):
        load_declaration(path)


def test__report__renders_tier_counts_and_each_capability() -> None:
    declarations = load_all(ROOT / "clients")
    text = render(["2026-12-02"], [], [], [], None, declarations)
    assert "## SDK capabilities" in text
    assert "| MUST | " in text
    assert "| `task_heartbeat` | MUST | " in text
