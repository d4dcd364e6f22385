"""The pipeline around the generators: determinism, drift detection, failing loudly on dropped endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from baton_codegen import (
    GENERATED_DIRS,
    GeneratorError,
    build_folder,
    build_problems,
    drift,
    generate,
    load_documents,
)


@pytest.fixture(scope="module")
def latest() -> tuple[str, dict[str, Any]]:
    documents = load_documents()
    version = sorted(documents)[-1]
    return version, documents[version]


def test__python_generator__two_runs__byte_identical(latest: tuple[str, dict[str, Any]]) -> None:
    version, document = latest
    first = generate(version, document, ["python"])
    second = generate(version, document, ["python"])
    assert first == second
    assert f"{GENERATED_DIRS['python'][0]}/api_version.py" in first


def test__python_generator__carries_api_version_constant(latest: tuple[str, dict[str, Any]]) -> None:
    version, document = latest
    files = generate(version, document, ["python"])
    namespace: dict[str, Any] = {}
    exec(files[f"{GENERATED_DIRS['python'][0]}/api_version.py"].decode(), namespace)  # noqa: S102 - our own output
    assert namespace["API_VERSION"] == version


def test__python_generator__unsupported_parameter__fails_instead_of_dropping_endpoint() -> None:
    # openapi-python-client skips an endpoint it cannot read and still exits 0 unless told to fail.
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "string"}}}}}
    odd = {"name": "X-Odd", "in": "header", "required": True, "schema": {"type": "string", "const": "x"}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {"get": {"operationId": "get_a", "responses": ok}},
            "/b": {"get": {"operationId": "get_b", "parameters": [odd], "responses": ok}},
        },
    }
    with pytest.raises(GeneratorError, match="Endpoint will not be generated"):
        generate("2026-09-01", document, ["python"])


def test__drift__missing_extra_and_changed_files__each_reported(tmp_path: Path) -> None:
    prefix = GENERATED_DIRS["go"][0]
    clients = tmp_path / "clients"
    (clients / prefix).mkdir(parents=True)
    (clients / prefix / "same.gen.go").write_bytes(b"same")
    (clients / prefix / "changed.gen.go").write_bytes(b"old")
    (clients / prefix / "stale.gen.go").write_bytes(b"stale")
    files = {
        f"{prefix}/same.gen.go": b"same",
        f"{prefix}/changed.gen.go": b"new",
        f"{prefix}/new.gen.go": b"new",
    }
    problems = drift(files, clients, ["go"])
    assert problems == [
        f"clients/{prefix}/new.gen.go: missing",
        f"clients/{prefix}/stale.gen.go: not generated any more",
        f"clients/{prefix}/changed.gen.go: differs from what the generator makes",
    ]
    assert drift({p: (clients / p).read_bytes() for p in (f"{prefix}/same.gen.go",)}, clients, ["go"]) == [
        f"clients/{prefix}/changed.gen.go: not generated any more",
        f"clients/{prefix}/stale.gen.go: not generated any more",
    ]


def test__build_folder__copies_hand_written_layer_and_replaces_generated(tmp_path: Path) -> None:
    prefix = GENERATED_DIRS["python"][0]
    files = {f"{prefix}/api_version.py": b'API_VERSION = "2000-01-01"\n'}
    build_folder(files, tmp_path, ["python"])
    assert (tmp_path / "python" / "pyproject.toml").exists()
    assert (tmp_path / "python" / "src" / "baton" / "__init__.py").exists()
    generated = sorted(p.name for p in (tmp_path / prefix).rglob("*") if p.is_file())
    assert generated == ["api_version.py"]


def test__build_problems__layer_over_incomplete_generated_code__reported(tmp_path: Path) -> None:
    # The hand-written layer imports generated operations this fake version does not have.
    files = {f"{GENERATED_DIRS['python'][0]}/api_version.py": b'API_VERSION = "2000-01-01"\n'}
    build_folder(files, tmp_path, ["python"])
    problems = build_problems(tmp_path, "2000-01-01", ["python"])
    assert len(problems) == 1
    assert problems[0].startswith("python client of 2000-01-01 does not build")


def test__build_problems__latest_python_client__builds(
    tmp_path: Path, latest: tuple[str, dict[str, Any]]
) -> None:
    version, document = latest
    build_folder(generate(version, document, ["python"]), tmp_path, ["python"])
    assert build_problems(tmp_path, version, ["python"]) == []
