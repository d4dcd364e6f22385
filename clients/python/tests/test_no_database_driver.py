"""baton-sdk installs into a fresh virtual environment without any database library."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]
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


def _make_venv(target: Path) -> Path:
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(target)], check=True)
        python = target / "bin" / "python"
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(SDK_DIR)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        python = target / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(SDK_DIR)], check=True)
    return python


def test__fresh_install__no_database_library_importable(tmp_path: Path) -> None:
    python = _make_venv(tmp_path / "venv")
    probe = (
        "import importlib.util, json, sys\n"
        f"names = {FORBIDDEN!r}\n"
        "print(json.dumps([n for n in names if importlib.util.find_spec(n) is not None]))\n"
        "import baton\n"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"database libraries importable next to baton-sdk: {result.stdout}"
