"""The ``baton-server`` command: serve, run the scheduler, migrate, and issue credentials."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import json
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from baton_server.config import Settings, load_settings
from baton_server.errors import BatonServerError, ConfigurationError, DomainError

if TYPE_CHECKING:  # imported when used: it imports prometheus_client, which `serve` configures first
    from baton_server.runtime import Runtime

T = TypeVar("T")


def _fail(message: str, code: int = 2) -> int:
    print(f"baton-server: error: {message}", file=sys.stderr)
    return code


def _check_port_free(host: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"BATON_PORT: {host}:{port} is already in use", setting="BATON_PORT"
            ) from None
        raise ConfigurationError(f"BATON_HOST: cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        sock.close()


async def _with_runtime(
    settings: Settings, action: Callable[[Runtime], Awaitable[T]], *, check: bool = True
) -> T:
    from baton_server.db.engine import check_database
    from baton_server.runtime import Runtime

    runtime = Runtime.create(settings)
    try:
        if check:
            await check_database(runtime.engine)
        return await action(runtime)
    finally:
        await runtime.close()


def _serve(settings: Settings, _: argparse.Namespace) -> int:
    if settings.processes == 1:
        return _serve_processes(settings)
    import shutil

    from baton_server.processes import SHARED_METRICS_VARIABLE, shared_metrics_folder

    # Several processes keep their metrics in files of one folder (baton_server/metrics.py): named
    # before prometheus_client is first imported, which reads it then; fresh for every start.
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before serve could share its figures")
    shared = shared_metrics_folder()
    os.environ[SHARED_METRICS_VARIABLE] = shared
    try:
        return _serve_processes(settings)
    finally:
        del os.environ[SHARED_METRICS_VARIABLE]
        shutil.rmtree(shared, ignore_errors=True)


async def _ready_to_serve(runtime: Runtime) -> None:
    """What a start checks before it listens, each failure one line: the database at the code's head,
    and the signing keys that ``BATON_ENCRYPTION_KEY`` must be able to read."""
    from baton_server.db.migrate import prepare_database

    await prepare_database(runtime)
    await runtime.load_signing_keys()


def _serve_processes(settings: Settings) -> int:
    from baton_server.processes import hold_address

    # Before anything slow: two starts at once must not both pass the port check below and then both
    # bind with SO_REUSEPORT, sharing the port without a word.
    held = hold_address(settings.host, settings.port)
    try:
        return _serve_address(settings)
    finally:
        if held is not None:
            held.close()


def _serve_address(settings: Settings) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from baton_server.app import create_app
    from baton_server.logging_config import uvicorn_log_config
    from baton_server.processes import listening_socket, serve_forked

    _check_port_free(settings.host, settings.port)
    # Start-up makes objects that live as long as the process: the collector's passes while it runs
    # (imports, route generation) find them all alive, a fifth of its CPU. Off until the collection
    # and freeze below.
    gc.disable()
    try:
        # Fail fast, with one line, before uvicorn starts; done here only (prepare_database checks
        # the database answers first), so the app's lifespan does not do it again.
        asyncio.run(_with_runtime(settings, _ready_to_serve, check=False))
        app = create_app(settings, database_prepared=True)
        # The latest version's routes and models before listening; the older versions' in a thread
        # once the first request was answered (or a second after), and a request for one of them
        # waits for them (api/versioned_app.py): generating every version before listening was
        # most of a start. Several processes get every version before they are forked: built once,
        # their pages shared, instead of once in each process while it answers requests.
        if settings.processes == 1:
            app.build_latest_version()
        else:
            app.build_versions()
        # What start-up built — routes and models, hundreds of thousands of objects that live as
        # long as the process — is moved out of the collector's sight, so that a full collection
        # does not traverse it again and again while requests wait (a pause in the tail of every
        # latency). The older versions' build does the same with what it built.
        gc.collect()
        gc.freeze()
    finally:
        gc.enable()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_timeout,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings) or LOGGING_CONFIG,
        access_log=False,
        loop="auto",
        http="auto",
        lifespan="on",
    )

    class Server(uvicorn.Server):
        """uvicorn's server, whose stop first ends the claims long-polling in it: each answers no
        workloads at once, instead of holding the stop for up to ``BATON_CLAIM_MAX_WAIT``."""

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            runtime: Runtime | None = getattr(app.state, "runtime", None)
            if runtime is not None:
                runtime.claim_watch.end_waits()
            await super().shutdown(sockets)

    def serve(index: int | None) -> bool:
        sockets = None
        if index is not None:  # one of several processes (baton_server.processes)
            app.state.process_index = index
            sockets = [listening_socket(settings.host, settings.port)]
        else:
            app.build_older_versions_soon(after_seconds=1.0, freeze=True)
        server = Server(config)
        server.run(sockets=sockets)
        return server.started

    if settings.processes == 1:
        return 0 if serve(None) else 1
    from prometheus_client import multiprocess

    def ended(pid: int) -> None:  # a dead process's gauges no longer count (its counters still do)
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

    scheme_host = f"http://[{settings.host}]" if ":" in settings.host else f"http://{settings.host}"
    return serve_forked(settings.processes, serve, address=f"{scheme_host}:{settings.port}", ended=ended)


def _scheduler(settings: Settings, _: argparse.Namespace) -> int:
    import signal

    from baton_server.db.migrate import prepare_database
    from baton_server.logging_config import configure_process_logging
    from baton_server.scheduler import Scheduler
    from baton_server.wakeup_relay import relaying

    configure_process_logging(settings)

    async def action(runtime: Runtime) -> None:
        await prepare_database(runtime)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # The servers' wake-ups (a triggered run) start a pass now; its queued work wakes their claims.
        async with relaying(runtime.relay):
            await Scheduler(runtime, servers_apart=True).run_until(stop)

    asyncio.run(_with_runtime(settings, action))
    return 0


def _db_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import current_revision, upgrade

    async def action(runtime: Runtime) -> str | None:
        await upgrade(runtime.engine, args.revision)
        return await current_revision(runtime.engine)

    print(f"database at revision {asyncio.run(_with_runtime(settings, action))}")
    return 0


def _db_downgrade(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import current_revision, downgrade

    async def action(runtime: Runtime) -> str | None:
        await downgrade(runtime.engine, args.revision)
        return await current_revision(runtime.engine)

    print(f"database at revision {asyncio.run(_with_runtime(settings, action)) or 'base (empty)'}")
    return 0


def _db_current(settings: Settings, _: argparse.Namespace) -> int:
    from baton_server.db.migrate import current_revision, head_revision, known_revisions

    current = asyncio.run(_with_runtime(settings, lambda rt: current_revision(rt.engine)))
    head = head_revision()
    if current == head:
        state = "up to date"
    elif current is not None and current not in known_revisions():
        state = f"ahead: this server knows revisions up to {head}; a newer release migrated it"
    else:
        state = f"behind: head is {head}; run `baton-server db migrate`"
    print(f"database at revision {current or 'base (empty)'} ({state})")
    return 0


def _db_clean(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.db.types import utcnow
    from baton_server.services.retention import clean, parse_duration

    try:
        # A unit, always: `--older-than 30` meant as days deleted what ended over 30 seconds ago.
        older_than = parse_duration(args.older_than)
    except ValueError as exc:
        return _fail(f"--older-than: {exc}")
    cutoff = utcnow() - older_than

    async def action(runtime: Runtime) -> Any:
        await prepare_database(runtime)
        return await clean(runtime.sessions, cutoff)

    report = asyncio.run(_with_runtime(settings, action))
    counts = {
        "dag_runs": report.dag_runs,
        "task_instances": report.task_instances,
        "task_logs": report.task_logs,
        "xcoms": report.xcoms,
    }
    if args.json:
        print(json.dumps({"finished_before": cutoff.isoformat(), **counts}))
    else:
        print(
            f"deleted what finished before {cutoff.isoformat(timespec='seconds')}: "
            + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        )
    return 0


def _issue(kind: str) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        from baton_server.db.migrate import prepare_database
        from baton_server.services.credentials import issue_credential
        from baton_server.services.ownership import check_patterns

        patterns: list[str] | None = None
        if getattr(args, "dags", None):
            try:
                patterns = check_patterns([p for arg in args.dags for p in arg.split(",") if p])
            except ValueError as exc:
                return _fail(str(exc))

        async def action(runtime: Runtime) -> Any:
            await prepare_database(runtime)
            async with runtime.sessions() as session:
                return await issue_credential(
                    session,
                    kind,  # type: ignore[arg-type]
                    args.name,
                    dag_patterns=patterns,
                )

        issued = asyncio.run(_with_runtime(settings, action))
        if args.json:
            print(
                json.dumps(
                    {
                        "id": str(issued.id),
                        "kind": issued.kind,
                        "name": issued.name,
                        "token": issued.token,
                        **({"dags": patterns} if kind == "worker" else {}),
                    }
                )
            )
        else:
            print(issued.token)
            print(
                f"{kind} credential {issued.id} ({issued.name}); the token is shown only once.",
                file=sys.stderr,
            )
        return 0

    return run


def _revoke(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.services.credentials import revoke_credential

    try:
        credential_id = uuid.UUID(args.id)
    except ValueError:
        return _fail(f"not a credential id: {args.id!r}")

    async def action(runtime: Runtime) -> Any:
        await prepare_database(runtime)
        async with runtime.sessions() as session:
            return await revoke_credential(session, credential_id)

    revoked = asyncio.run(_with_runtime(settings, action))
    print(
        f"revoked {credential_id}: {revoked.released} claimed workload(s) back in the queue, "
        f"{revoked.ended} running attempt(s) ended (their workers stop them at the next heartbeat)"
    )
    return 0


def _list_credentials(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.services.credentials import list_credentials

    async def action(runtime: Runtime) -> list[dict[str, Any]]:
        await prepare_database(runtime)
        async with runtime.sessions() as session:
            return [
                {
                    "id": str(r.id),
                    "kind": r.kind,
                    "name": r.name,
                    "dags": r.dag_patterns,
                    "created_at": r.created_at.isoformat(),
                    "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                }
                for r in await list_credentials(session)
            ]

    rows = asyncio.run(_with_runtime(settings, action))
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        status = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        dags = "*" if row["dags"] is None else ",".join(row["dags"]) or "(none)"
        scope = "" if row["kind"] != "worker" else f"  dags: {dags}"
        print(f"{row['id']}  {row['kind']:<6}  {row['name']:<30}  {status}{scope}")
    return 0


def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.services.signing_keys import rotate

    async def action(runtime: Runtime) -> Any:
        await prepare_database(runtime)
        async with runtime.sessions() as session:
            return await rotate(
                session,
                runtime.cipher,
                algorithm=args.algorithm,
                max_ttl=runtime.tokens.max_ttl,
                drop_previous=args.drop_previous,
            )

    info = asyncio.run(_with_runtime(settings, action))
    if args.json:
        print(json.dumps({"kid": info.kid, "algorithm": info.algorithm, "public_key": info.public_key}))
        return 0
    print(
        f"signing key {info.kid} ({info.algorithm}) is active: every replica verifies it at once and "
        f"signs with it within BATON_SIGNING_KEY_REFRESH ({settings.signing_key_refresh:g} s)"
    )
    if args.drop_previous:
        print(
            "every previous key is dropped: the tokens they signed are refused "
            "from each replica's next reload"
        )
    return 0


def _reencrypt_secrets(settings: Settings, _: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.services.reencryption import reencrypt_secrets

    async def action(runtime: Runtime) -> Any:
        await prepare_database(runtime)
        return await reencrypt_secrets(runtime.sessions, runtime.cipher)

    done = asyncio.run(_with_runtime(settings, action))
    print(
        f"re-encrypted the secrets of {done.connections} connection(s) and {done.signing_keys} signing "
        "key(s) with the first key of BATON_ENCRYPTION_KEY; the keys after it may now be removed"
    )
    return 0


def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from baton_server.db.migrate import prepare_database
    from baton_server.services.signing_keys import list_keys

    async def action(runtime: Runtime) -> Any:
        await prepare_database(runtime)
        async with runtime.sessions() as session:
            return await list_keys(session)

    rows = [
        {
            "kid": k.kid,
            "algorithm": k.algorithm,
            "created_at": k.created_at.isoformat(),
            "activated_at": k.activated_at.isoformat() if k.activated_at else None,
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            "public_key": k.public_key,
        }
        for k in asyncio.run(_with_runtime(settings, action))
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no rotated key: tokens are signed with the configured key (kid 'static')")
    for row in rows:
        status = f"retired {row['retired_at']}" if row["retired_at"] else "active"
        print(f"{row['kid']:<24}  {row['algorithm']:<6}  {status}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``baton-server``."""
    parser = argparse.ArgumentParser(
        prog="baton-server",
        description="Baton API server. Settings: BATON_* environment variables (docs/configuration.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="run the API server (and, unless BATON_RUN_SCHEDULER=false, the scheduler)"
    )
    serve.set_defaults(handler=_serve)

    scheduler = sub.add_parser(
        "scheduler", help="run only the scheduler (beside API servers started with BATON_RUN_SCHEDULER=false)"
    )
    scheduler.set_defaults(handler=_scheduler)

    db = sub.add_parser("db", help="manage the metadata database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_sub.add_parser("migrate", help="apply pending migrations")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate.set_defaults(handler=_db_migrate)
    downgrade = db_sub.add_parser("downgrade", help="revert migrations down to a revision")
    downgrade.add_argument("revision", help="target revision, or 'base' to remove every table")
    downgrade.set_defaults(handler=_db_downgrade)
    current = db_sub.add_parser("current", help="show the database's revision")
    current.set_defaults(handler=_db_current)
    clean = db_sub.add_parser(
        "clean",
        help="delete finished DAG runs older than a duration, with their task instances, logs and XComs",
    )
    clean.add_argument(
        "--older-than",
        required=True,
        metavar="DURATION",
        help="e.g. 30d, 12h, 15m, 90s (finished before now - this)",
    )
    clean.add_argument("--json", action="store_true", help="print the counts as JSON")
    clean.set_defaults(handler=_db_clean)

    admin = sub.add_parser("create-admin-token", help="issue an admin token (printed once)")
    admin.add_argument("name", help="who or what the token is for")
    admin.add_argument("--json", action="store_true", help="print id, name and token as JSON")
    admin.set_defaults(handler=_issue("admin"))
    worker = sub.add_parser("create-worker-credential", help="issue a worker credential (printed once)")
    worker.add_argument("name", help="the worker (or worker pool) it is for")
    worker.add_argument("--json", action="store_true", help="print id, name and token as JSON")
    worker.add_argument(
        "--dags",
        action="append",
        metavar="PATTERN",
        help="the DAG ids its workers may register and serve: globs with * and ? (repeat, or separate "
        "with commas; default: every DAG)",
    )
    worker.set_defaults(handler=_issue("worker"))
    revoke = sub.add_parser("revoke-credential", help="revoke an admin token or worker credential")
    revoke.add_argument("id", help="the credential id")
    revoke.set_defaults(handler=_revoke)
    listing = sub.add_parser("list-credentials", help="list credentials (never their tokens)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list_credentials)
    keys = sub.add_parser("keys", help="rotate and list the keys that sign task tokens")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_rotate = keys_sub.add_parser(
        "rotate", help="make a new signing key active; the previous one verifies until its tokens expire"
    )
    keys_rotate.add_argument(
        "--algorithm",
        choices=["HS256", "EdDSA"],
        default="HS256",
        help="HS256 (a shared secret) or EdDSA (Ed25519: its public key verifies but cannot mint)",
    )
    keys_rotate.add_argument(
        "--drop-previous",
        action="store_true",
        help="for a key that may have leaked: every previous key (the configured one included) stops "
        "verifying at once, and the tokens they signed are refused",
    )
    keys_rotate.add_argument("--json", action="store_true")
    keys_rotate.set_defaults(handler=_keys_rotate)
    keys_list = keys_sub.add_parser("list", help="list the signing keys (never their private half)")
    keys_list.add_argument("--json", action="store_true")
    keys_list.set_defaults(handler=_keys_list)
    reencrypt = sub.add_parser(
        "reencrypt-secrets",
        help="re-encrypt every stored secret (connections, signing keys) with the first key of "
        "BATON_ENCRYPTION_KEY, after a new key was put first",
    )
    reencrypt.set_defaults(handler=_reencrypt_secrets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``baton-server``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        handler: Callable[[Settings, argparse.Namespace], int] = args.handler
        return handler(settings, args)
    except ConfigurationError as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.message, code=1)
    except BatonServerError as exc:
        return _fail(str(exc), code=1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
