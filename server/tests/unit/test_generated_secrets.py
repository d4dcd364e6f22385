"""Keys generated into the data folder: created once, never read half-written by a process starting beside."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from baton_server.config import Settings, resolve_secrets


def _keys_of_a_starting_process(data_dir: str) -> tuple[str, str]:
    settings = resolve_secrets(Settings(data_dir=Path(data_dir), signing_key=None, encryption_key=None))
    assert settings.signing_key is not None
    assert settings.encryption_key is not None
    return settings.signing_key.get_secret_value(), settings.encryption_key.get_secret_value()


def test__processes_starting_at_once_on_a_fresh_data_folder__all_use_one_key(tmp_path: Path) -> None:
    # Many rounds: a reader that met the file between its creation and its content failed one in a few.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_keys_of_a_starting_process, [str(tmp_path / "warm-up")] * 4)
        for round_ in range(50):
            data_dir = tmp_path / f"data-{round_}"
            keys = pool.map(_keys_of_a_starting_process, [str(data_dir)] * 8, chunksize=1)
            _check(data_dir, keys)


def _check(data_dir: Path, keys: list[tuple[str, str]]) -> None:
    signing = (data_dir / "signing.key").read_text().strip()
    encryption = (data_dir / "encryption.key").read_text().strip()
    assert keys == [(signing, encryption)] * 8
    assert len(signing) == len(encryption) == 44  # 32 bytes, url-safe base64
    assert sorted(p.name for p in data_dir.iterdir()) == ["encryption.key", "signing.key"]
    assert (data_dir / "signing.key").stat().st_mode & 0o777 == 0o600
