"""What a worker's claim of several workloads costs the server, with a pool's slots limited or not.

Run alone: ``python server/benchmarks/bench_claim_batches.py --postgres-url URL [--limited-pool
tasks|elsewhere|none] [--clients 16] [--claims 12] [--batch 16] [--rounds 3] [--teams N]``. It starts
``baton-server serve`` (scheduler off) on a throw-away PostgreSQL database, limits a pool as
``bench_execution_api.py --limited-pool`` does (``tasks``: the seeded tasks' own pool, with more slots
than a run takes, so that every claim counts what is taken of it; ``elsewhere``: a pool no task names;
``none``: nothing limited), then for each round queues ``clients * claims * batch`` task instances and
has ``--clients`` workers, each its own, claim ``--batch`` workloads ``--claims`` times in a row, all at
once. With ``--teams N`` the workers hold N credentials in turn, each scoped to DAG id patterns of its
own that all take the seeded DAG, as N teams' workers claiming through one server. What a round claims
stays claimed (never started), so what a pool has taken grows by a round's workloads each round. It
reports, per round, the CPU per claim of the server and of its PostgreSQL backends, claims per second and
the workloads handed out, as JSON (``--out``) and a line each. Loopback only, bounded in count; it stops
its server and drops its database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from baton_server.api.versions import supported_versions
from baton_server.config import Settings
from baton_server.runtime import Runtime
from baton_server.services.credentials import issue_credential
from bench_execution_api import (
    VERSION_HEADER,
    _cpu_ms,
    _drop_database,
    _limit_a_pool,
    _register_workers,
    _retire_fresh,
    _seed,
    _seed_fresh,
    _start_baton,
    _stop,
    _wait_healthy,
    throwaway_database,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


async def _claims(base: str, version: str, token: str, worker: str, claims: int, batch: int) -> int:
    """One worker's ``claims`` claims of ``batch`` in a row; the workloads handed out."""
    headers = {VERSION_HEADER: version, "Authorization": f"Bearer {token}"}
    got = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for _ in range(claims):
            response = await client.post(
                f"/workers/{worker}/claims", json={"max_workloads": batch, "wait_seconds": 0}
            )
            response.raise_for_status()
            got += len(response.json()["workloads"])
    return got


async def _round(base: str, version: str, workers: list[tuple[str, str]], claims: int, batch: int) -> int:
    """Every worker's claims at once (each a (worker id, credential token) pair); the workloads handed out
    in all."""
    handed = await asyncio.gather(*(_claims(base, version, t, w, claims, batch) for w, t in workers))
    return sum(handed)


async def _backends_cpu_ms(admin_url: str, database: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend the server holds in ``database``, by pid (the database's share of
    a claim: planning and running its statements, and preparing them again when a connection's statement
    cache has let them go)."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            pids = (
                await conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                        "AND application_name = 'baton-server' AND backend_type = 'client backend'"
                    ),
                    {"db": database},
                )
            ).scalars()
            return {pid: _cpu_ms(pid) for pid in pids}
    finally:
        await engine.dispose()


async def _team_credentials(settings: Settings, teams: int) -> list[str]:
    """``teams`` worker credentials, the k-th scoped to ``bench_fresh`` (the seeded DAG) and ``team<k>_*``:
    each a list of patterns of its own, so that each claims with statements of its own; their tokens."""
    runtime = Runtime.create(settings)
    try:
        async with runtime.sessions() as session:
            return [
                (
                    await issue_credential(
                        session, "worker", f"bench-team-{k}", dag_patterns=["bench_fresh", f"team{k}_*"]
                    )
                ).token
                for k in range(teams)
            ]
    finally:
        await runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--limited-pool", choices=("tasks", "elsewhere", "none"), default="tasks")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--claims", type=int, default=12, help="per client and round")
    parser.add_argument("--batch", type=int, default=16, help="workloads asked for in each claim")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--teams", type=int, default=0, help="credentials scoped to DAG id patterns (0: one of every DAG)"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-claims-"))
    signing_key = secrets.token_urlsafe(32)
    settings = Settings(database_url=url, data_dir=folder, signing_key=signing_key, run_scheduler=False)
    server = None
    results = []
    try:
        version = supported_versions()[-1]
        _, token = asyncio.run(_seed(settings, 1))
        if args.limited_pool != "none":
            asyncio.run(_limit_a_pool(settings, args.limited_pool))
        server, base = _start_baton(url, folder, signing_key, 10)
        _wait_healthy(base, "/execution/health", server, 300)
        tokens = asyncio.run(_team_credentials(settings, args.teams)) if args.teams else [token]
        count = args.clients * args.rounds
        # The teams' workers take turns: consecutive claims come from different teams.
        workers = [
            (worker, tokens[k % len(tokens)])
            for k in range(count)
            for worker in _register_workers(base, version, tokens[k % len(tokens)], 1, first=k)
        ]
        claims = args.clients * args.claims
        for index in range(args.rounds):
            asyncio.run(_seed_fresh(settings, claims * args.batch, f"batch{index}"))
            mine = workers[index * args.clients : (index + 1) * args.clients]
            database = make_url(url).database or ""
            backends_before = asyncio.run(_backends_cpu_ms(admin_url, database))
            cpu_before, started = _cpu_ms(server.pid), time.monotonic()
            handed = asyncio.run(_round(base, version, mine, args.claims, args.batch))
            cpu, wall = _cpu_ms(server.pid) - cpu_before, time.monotonic() - started
            backends = asyncio.run(_backends_cpu_ms(admin_url, database))
            db_cpu = sum(ms - backends_before.get(pid, 0.0) for pid, ms in backends.items())
            asyncio.run(_retire_fresh(settings))
            result = {
                "round": index + 1,
                "limited_pool": args.limited_pool,
                "teams": args.teams,
                "cpu_ms_per_claim": cpu / claims,
                "database_cpu_ms_per_claim": db_cpu / claims,
                "claims_per_second": claims / wall,
                "workloads": handed,
            }
            results.append(result)
            print(
                f"round {index + 1}  {args.limited_pool:9}  teams {args.teams:3}  "
                f"{result['cpu_ms_per_claim']:6.2f} ms CPU per claim of {args.batch} "
                f"(database {result['database_cpu_ms_per_claim']:5.2f})  "
                f"{result['claims_per_second']:5.0f} claims/s  {handed} workloads",
                flush=True,
            )
    finally:
        if server is not None:
            _stop(server)
        asyncio.run(_drop_database(admin_url, url))
        shutil.rmtree(folder, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
