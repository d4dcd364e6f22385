"""A virtual environment holding baton-sdk alone, as a worker machine would have it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SdkVenv:
    """The environment's interpreter and its ``baton`` command."""

    python: Path
    baton: Path


def make_sdk_venv(target: Path) -> SdkVenv:
    """Create a venv in ``target`` and install baton-sdk (and only what it depends on) into it."""
    uv = shutil.which("uv")
    python = target / "bin" / "python"
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(target)], check=True)
        # Bytecode compiled at install, as pip does (uv does not unless asked).
        subprocess.run(
            [uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), str(SDK_DIR)],
            check=True,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(SDK_DIR)], check=True)
    return SdkVenv(python=python, baton=target / "bin" / "baton")
