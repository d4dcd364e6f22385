"""``Variable`` and ``XCom``: what a running task reads and writes beyond its arguments.

Each call goes to the running task's :class:`~baton._context.TaskRuntime`: variable reads try
the worker's environment and secrets file first, then the API; writes and XComs use the API.
"""

from __future__ import annotations

from typing import Any

from baton._context import RETURN_VALUE, current_runtime
from baton._secrets import NOT_FOUND


class Variable:
    """Variables: JSON values stored by key (``Variable.get("key")``, ``Variable.set("key", value)``)."""

    @staticmethod
    def get(key: str, default: Any = NOT_FOUND) -> Any:
        """The value of ``key``; ``default`` when it is not set (VariableNotFoundError without one)."""
        return current_runtime("Variable.get").get_variable(key, default)

    @staticmethod
    def set(key: str, value: Any, *, description: str | None = None) -> None:
        """Store a JSON value under ``key`` on the server."""
        current_runtime("Variable.set").set_variable(key, value, description)


class XCom:
    """XComs: JSON values a task pushes for other tasks of its DAG run to pull."""

    @staticmethod
    def push(key: str, value: Any) -> None:
        """Push ``value`` under ``key`` as an XCom of the running task."""
        current_runtime("XCom.push").push_xcom(key, value)

    @staticmethod
    def pull(
        task_id: str, key: str = RETURN_VALUE, *, run_id: str | None = None, default: Any = NOT_FOUND
    ) -> Any:
        """An XCom of ``task_id`` (its return value unless ``key`` says otherwise) in this DAG run."""
        return current_runtime("XCom.pull").pull_xcom(task_id, key, run_id, default)


__all__ = ["Variable", "XCom"]
