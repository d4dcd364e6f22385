"""Which DAGs a worker credential may serve: its DAG id patterns, checked in Python and in SQL.

A worker credential is issued for a set of DAG id patterns (globs: ``*`` any run of characters,
``?`` one character; exact in Python and in SQL). A worker of that credential may register
or replace only DAGs whose id matches one of them, and claims only their workloads. A credential
without patterns (issued before DAG scoping, or without ``--dags``) serves every DAG.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from baton_server.db.tables import CredentialRecord
from baton_server.errors import ForbiddenError

PATTERN = re.compile(r"^[A-Za-z0-9_.\-*?]{1,250}$")
"""A DAG id pattern: the characters of DAG ids, ``*`` and ``?``."""


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The patterns, validated (ValueError naming a bad one)."""
    for pattern in patterns:
        if not PATTERN.match(pattern):
            raise ValueError(f"not a DAG id pattern: {pattern!r} (letters, digits, _ . - and * ?)")
    return list(dict.fromkeys(patterns))


def may_serve(patterns: Sequence[str] | None, dag_id: str) -> bool:
    """Whether a credential with these patterns (None: every DAG) may serve ``dag_id``."""
    return patterns is None or any(fnmatchcase(dag_id, p) for p in patterns)


def check_may_register(credential: CredentialRecord, dag_ids: Iterable[str]) -> None:
    """403 ``dag_not_owned`` naming the first DAG id outside the credential's patterns."""
    patterns = credential.dag_patterns
    for dag_id in dag_ids:
        if not may_serve(patterns, dag_id):
            raise ForbiddenError(
                f"worker credential {credential.name!r} may register only DAGs matching "
                f"{', '.join(patterns or [])}; not {dag_id!r}: nothing was registered",
                reason="dag_not_owned",
            )


def _like(pattern: str) -> str:
    """The SQL LIKE form of a glob (escape ``\\``)."""
    out = []
    for char in pattern:
        if char in "%_\\":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def servable(
    column: InstrumentedAttribute[str], patterns: Sequence[str] | None, *, postgres: bool
) -> ColumnElement[bool] | None:
    """A SQL condition on a DAG id column: the DAGs the patterns cover (None: every DAG, no condition).

    Case-sensitive like :func:`may_serve`: LIKE on PostgreSQL, GLOB on SQLite (whose LIKE ignores case).
    """
    if patterns is None:
        return None
    if postgres:
        conditions = [column.like(_like(p), escape="\\") for p in patterns]
    else:
        conditions = [column.op("GLOB")(p) for p in patterns]
    return or_(*conditions) if conditions else false()
