"""The dated API versions, newest first; each older version is a module of VersionChanges.

To add a version: see docs/versioning.md.
"""

from __future__ import annotations

from cadwyn import HeadVersion, Version, VersionBundle

VERSIONS = VersionBundle(
    HeadVersion(),
    Version("2026-09-01"),
)


RELEASED_VERSIONS: frozenset[str] = frozenset()
"""Versions whose spec is frozen: a change to them is refused by `nox -s spec` and its `--check`."""


def supported_versions() -> list[str]:
    """Every served version, oldest first."""
    return sorted(str(v.value) for v in VERSIONS.versions)
