"""baton-sdk installs into a fresh virtual environment without any database library."""

from __future__ import annotations

import json
import subprocess

from sdk_venv import SdkVenv

FORBIDDEN = [
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "psycopg",
    "psycopg2",
    "pymysql",
    "alembic",
    "baton_server",
]


def test__fresh_install__no_database_library_importable(sdk_venv: SdkVenv) -> None:
    probe = (
        "import importlib.util, json, sys\n"
        f"names = {FORBIDDEN!r}\n"
        "print(json.dumps([n for n in names if importlib.util.find_spec(n) is not None]))\n"
        "import baton\n"
    )
    result = subprocess.run([str(sdk_venv.python), "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"database libraries importable next to baton-sdk: {result.stdout}"


def test__fresh_install__no_database_distribution_installed(sdk_venv: SdkVenv) -> None:
    # Installed distributions, not just importable names: a driver under another import name counts too.
    probe = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))"
    )
    result = subprocess.run([str(sdk_venv.python), "-c", probe], capture_output=True, text=True, check=True)
    installed = set(json.loads(result.stdout))
    drivers = {"sqlalchemy", "asyncpg", "aiosqlite", "psycopg", "psycopg2", "psycopg2-binary", "pymysql",
               "alembic", "baton-server", "mysqlclient", "oracledb", "pyodbc"}  # fmt: skip
    assert "baton-sdk" in installed
    assert installed & drivers == set()


def test__fresh_install__worker_and_cli_start_without_a_database_library(sdk_venv: SdkVenv) -> None:
    # The worker and the task runner import everything they use at start: both must load here.
    probe = "import baton._worker, baton._runner, baton._cli; print('ok')"
    assert (
        subprocess.run([str(sdk_venv.python), "-c", probe], capture_output=True, text=True, check=True).stdout
        == "ok\n"
    )
    help_text = subprocess.run(
        [str(sdk_venv.baton), "worker", "--help"], capture_output=True, text=True, check=True
    )
    assert "--bundle" in help_text.stdout
