"""Changes of API version 2026-12-02 (from 2026-11-24).

This is the open (unreleased) version: every wire change of the current wave is declared here,
one ``VersionChange`` per change, and registered in ``api/versions/__init__.py``.
"""

from __future__ import annotations
