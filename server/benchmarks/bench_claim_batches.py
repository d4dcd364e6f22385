"""What a worker's claim of several workloads costs the server, with a pool's slots limited or not.

Run alone: ``python server/benchmarks/bench_claim_batches.py --postgres-url URL [--limited-pool
tasks|elsewhere|none] [--clients 16] [--claims 12] [--batch 16] [--rounds 3]``. It starts
``baton-server serve`` (scheduler off) on a throw-away PostgreSQL database, limits a pool as
``bench_execution_api.py --limited-pool`` does (``tasks``: the seeded tasks' own pool, with more slots
than a run takes, so that every claim counts what is taken of it; ``elsewhere``: a pool no task names;
``none``: nothing limited), then for each round queues ``clients * claims * batch`` task instances and
has ``--clients`` workers, each its own, claim ``--batch`` workloads ``--claims`` times in a row, all at
once. What a round claims stays claimed (never started), so what a pool has taken grows by a round's
workloads each round. It reports, per round, the server's CPU per claim, claims per second and the
workloads handed out, as JSON (``--out``) and a line each. Loopback only, bounded in count; it stops
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


async def _round(base: str, version: str, token: str, workers: list[str], claims: int, batch: int) -> int:
    """Every worker's claims at once; the workloads handed out in all."""
    handed = await asyncio.gather(*(_claims(base, version, token, w, claims, batch) for w in workers))
    return sum(handed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--limited-pool", choices=("tasks", "elsewhere", "none"), default="tasks")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--claims", type=int, default=12, help="per client and round")
    parser.add_argument("--batch", type=int, default=16, help="workloads asked for in each claim")
    parser.add_argument("--rounds", type=int, default=3)
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
        workers = _register_workers(base, version, token, args.clients * args.rounds)
        claims = args.clients * args.claims
        for index in range(args.rounds):
            asyncio.run(_seed_fresh(settings, claims * args.batch, f"batch{index}"))
            mine = workers[index * args.clients : (index + 1) * args.clients]
            cpu_before, started = _cpu_ms(server.pid), time.monotonic()
            handed = asyncio.run(_round(base, version, token, mine, args.claims, args.batch))
            cpu, wall = _cpu_ms(server.pid) - cpu_before, time.monotonic() - started
            asyncio.run(_retire_fresh(settings))
            result = {
                "round": index + 1,
                "limited_pool": args.limited_pool,
                "cpu_ms_per_claim": cpu / claims,
                "claims_per_second": claims / wall,
                "workloads": handed,
            }
            results.append(result)
            print(
                f"round {index + 1}  {args.limited_pool:9}  {result['cpu_ms_per_claim']:6.2f} ms CPU per "
                f"claim of {args.batch}  {result['claims_per_second']:5.0f} claims/s  {handed} workloads",
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
