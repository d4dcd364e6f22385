"""``baton variables``, ``baton connections``, ``baton pools`` and ``baton workers``, over the admin API."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from baton._cli._common import (
    CLIError,
    admin_client,
    every_page,
    expect,
    loads_json,
    parse_json_object,
    print_json,
    shown,
    table,
    when,
)
from baton._client import Client
from baton._connection import Connection
from baton._errors import ConnectionURIError, NotFoundError
from baton._generated.api.admin import (
    admin_delete_pool,
    admin_get_connection,
    admin_get_variable,
    admin_list_connections,
    admin_list_pools,
    admin_list_variables,
    admin_set_connection,
    admin_set_pool,
    admin_set_variable,
    list_workers,
)
from baton._generated.models import (
    ConnectionEntry,
    ConnectionPage,
    ConnectionPutBody,
    ConnectionPutBodyExtraType0,
    Pool,
    PoolList,
    PoolPutBody,
    VariableEntry,
    VariablePage,
    VariablePutBody,
    WorkerList,
    WorkerSummary,
)
from baton._generated.types import UNSET

PAGE = 1000


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def variables_get(args: argparse.Namespace) -> int:
    """``baton variables get KEY``: the value (a string as it is, anything else as JSON)."""
    with admin_client(args) as client:
        entry = expect(admin_get_variable.sync(args.key, client=client.generated), VariableEntry)
    if args.json:
        print_json(entry.to_dict())
    else:
        # Printed as stored into a pipe (a script's value); on a terminal, safe to show (shown).
        text = _value_text(entry.value)
        print(shown(text) if sys.stdout.isatty() else text)
    return 0


def variables_set(args: argparse.Namespace) -> int:
    """``baton variables set KEY VALUE``: VALUE is JSON if it parses as JSON, else a string."""
    if args.string:
        value: Any = args.value
    else:
        try:
            value = json.loads(args.value)
        except ValueError:
            value = args.value
        else:
            try:  # JSON as Python reads it (NaN, 1e999), but not as it can be sent: say so
                loads_json(args.value)
            except ValueError as exc:
                raise CLIError(f"VALUE is not JSON: {exc}; pass --string to store it as text", 2) from None
    body = VariablePutBody(
        value=value, description=args.description if args.description is not None else UNSET
    )
    with admin_client(args) as client:
        entry = expect(admin_set_variable.sync(args.key, client=client.generated, body=body), VariableEntry)
    if args.json:
        print_json(entry.to_dict())
    else:
        print(f"variable {entry.key} set")
    return 0


def variables_list(args: argparse.Namespace) -> int:
    """``baton variables list``: every variable and its value."""
    with admin_client(args) as client:

        def fetch(offset: int) -> tuple[list[VariableEntry], int]:
            page = expect(
                admin_list_variables.sync(client=client.generated, limit=PAGE, offset=offset), VariablePage
            )
            return page.variables, page.total

        entries = every_page(fetch, key=lambda entry: entry.key)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    rows = [[e.key, _shorten(_value_text(e.value)), when(e.updated_at)] for e in entries]
    print(table(["KEY", "VALUE", "UPDATED"], rows) if rows else "no variables")
    return 0


def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_PARTS = ("conn_type", "host", "port", "login", "password", "schema", "extra")
"""The options that give a connection part by part, instead of ``--uri``."""


def _connection_from_args(args: argparse.Namespace) -> Connection:
    if args.uri is not None:
        given = [
            f"--{part.removeprefix('conn_').replace('_', '-')}"
            for part in _PARTS
            if getattr(args, part) is not None
        ]
        if given:  # the URI would win, and what they say would be dropped without a word
            raise CLIError(
                f"--uri holds the whole connection: put {', '.join(given)} in it, or leave --uri out", 2
            )
        try:
            return Connection.parse(args.conn_id, args.uri)
        except ConnectionURIError as exc:
            raise CLIError(str(exc), 2) from None
    if not args.conn_type:
        raise CLIError("give the connection as --uri URI, or at least --type TYPE", 2)
    extra: dict[str, Any] = {}
    if args.extra:
        extra = parse_json_object(args.extra, "--extra")
    return Connection(
        conn_id=args.conn_id,
        conn_type=args.conn_type,
        host=args.host,
        port=args.port,
        login=args.login,
        password=args.password,
        schema=args.schema,
        extra=extra,
    )


def _granted_now(client: Client, conn_id: str) -> list[str] | None:
    """The DAGs a connection is granted to now: None for every DAG, and for a connection not yet there."""
    try:
        entry = expect(admin_get_connection.sync(conn_id, client=client.generated), ConnectionEntry)
    except NotFoundError:
        return None
    return entry.allowed_dag_ids


def connections_add(args: argparse.Namespace) -> int:
    """``baton connections add ID --uri URI`` (or the parts as options): create or replace it.

    Its grant is ``--allow-dag``'s DAGs, every DAG with ``--all-dags``, and otherwise the one the
    connection has (every DAG for a new one): replacing a narrowed connection's password never widens
    who may read it."""
    conn = _connection_from_args(args)
    allowed: list[str] | None = [
        d.strip() for part in args.allow_dag or [] for d in part.split(",") if d.strip()
    ]
    if args.allow_dag is not None and not allowed:
        # `--allow-dag "$DAGS"` with the variable empty asked for a grant: never widened to every DAG.
        raise CLIError("--allow-dag needs a DAG id (--all-dags grants the connection to every DAG)", 2)
    with admin_client(args) as client:
        if args.all_dags:
            allowed = None
        elif args.allow_dag is None:
            allowed = _granted_now(client, args.conn_id)
        body = ConnectionPutBody(
            conn_type=conn.conn_type,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=ConnectionPutBodyExtraType0.from_dict(conn.extra) if conn.extra else None,
            allowed_dag_ids=allowed,
            description=args.description,
        )
        entry = expect(
            admin_set_connection.sync(args.conn_id, client=client.generated, body=body), ConnectionEntry
        )
    if args.json:
        print_json(entry.to_dict())
    else:
        granted = ", ".join(entry.allowed_dag_ids) if entry.allowed_dag_ids is not None else "every DAG"
        print(f"connection {entry.conn_id} saved; granted to {granted}")
    return 0


def _connection_row(entry: ConnectionEntry) -> list[object]:
    where = entry.host or "-"
    if entry.port is not None:
        where += f":{entry.port}"
    allowed = ", ".join(entry.allowed_dag_ids) if entry.allowed_dag_ids else "all DAGs"
    return [entry.conn_id, entry.conn_type, where, entry.login or "-", entry.schema or "-", allowed]


CONNECTION_HEADERS = ["ID", "TYPE", "HOST", "LOGIN", "SCHEMA", "GRANTED TO"]


def connections_get(args: argparse.Namespace) -> int:
    """``baton connections get ID``: a connection (never its password)."""
    with admin_client(args) as client:
        entry = expect(admin_get_connection.sync(args.conn_id, client=client.generated), ConnectionEntry)
    if args.json:
        print_json(entry.to_dict())
        return 0
    print(table(CONNECTION_HEADERS, [_connection_row(entry)]))
    extra = entry.extra.to_dict() if entry.extra else {}
    print(f"password: {'set' if entry.password_set else 'not set'}; extra: {json.dumps(extra)}")
    return 0


def connections_list(args: argparse.Namespace) -> int:
    """``baton connections list``: every connection (never a password)."""
    with admin_client(args) as client:

        def fetch(offset: int) -> tuple[list[ConnectionEntry], int]:
            page = expect(
                admin_list_connections.sync(client=client.generated, limit=PAGE, offset=offset),
                ConnectionPage,
            )
            return page.connections, page.total

        entries = every_page(fetch, key=lambda entry: entry.conn_id)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return 0
    print(table(CONNECTION_HEADERS, [_connection_row(e) for e in entries]) if entries else "no connections")
    return 0


def workers_list(args: argparse.Namespace) -> int:
    """``baton workers list``: registered workers, their queues, load and last heartbeat."""
    with admin_client(args) as client:

        def fetch(offset: int) -> tuple[list[WorkerSummary], int]:
            page = expect(list_workers.sync(client=client.generated, limit=PAGE, offset=offset), WorkerList)
            return page.workers, page.total

        workers = every_page(fetch, key=lambda worker: worker.id)
    if args.json:
        print_json([w.to_dict() for w in workers])
        return 0
    rows = [
        [
            w.name,
            w.state,
            ",".join(w.queues),
            f"{w.active_task_instances}/{w.capacity}",
            w.runtime,
            w.hostname or "-",
            when(w.last_heartbeat_at),
        ]
        for w in workers
    ]
    headers = ["NAME", "STATE", "QUEUES", "BUSY", "RUNTIME", "HOST", "LAST HEARTBEAT"]
    print(table(headers, rows) if rows else "no workers")
    return 0


def pools_list(args: argparse.Namespace) -> int:
    """``baton pools list``: every pool with its slots and what is used of them."""
    with admin_client(args) as client:
        pools = expect(admin_list_pools.sync(client=client.generated), PoolList).pools
    if args.json:
        print_json([p.to_dict() for p in pools])
        return 0
    rows = [[p.name, "unlimited" if p.slots is None else str(p.slots), str(p.used_slots)] for p in pools]
    print(table(["POOL", "SLOTS", "USED"], rows))
    return 0


def pool_slots(text: str) -> int | None:
    """A pool's slots on the command line: a count from 0, or ``unlimited`` (None)."""
    if text == "unlimited":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"SLOTS must be a number of slots or 'unlimited', not {text!r}")
    return int(text)


def pools_set(args: argparse.Namespace) -> int:
    """``baton pools set NAME SLOTS``: create or change a pool (SLOTS ``unlimited`` lifts the limit)."""
    body = PoolPutBody(
        slots=args.slots, description=args.description if args.description is not None else UNSET
    )
    with admin_client(args) as client:
        pool = expect(admin_set_pool.sync(args.name, client=client.generated, body=body), Pool)
    if args.json:
        print_json(pool.to_dict())
    else:
        print(f"pool {pool.name} set")
    return 0


def pools_delete(args: argparse.Namespace) -> int:
    """``baton pools delete NAME``: delete a pool (not the default one)."""
    with admin_client(args) as client:
        admin_delete_pool.sync(args.name, client=client.generated)
    print(f"pool {args.name} deleted")
    return 0


__all__ = [
    "connections_add",
    "connections_get",
    "connections_list",
    "pool_slots",
    "pools_delete",
    "pools_list",
    "pools_set",
    "variables_get",
    "variables_list",
    "variables_set",
    "workers_list",
]
