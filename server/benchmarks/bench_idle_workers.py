"""What idle workers cost the server: workers long-polling an empty queue, server CPU and connections.

Run through ``scripts/nox -s bench`` (or alone: ``python server/benchmarks/bench_idle_workers.py
--postgres-url URL [--workers 256] [--seconds 25]``). It starts ``baton-server serve`` (scheduler off)
on a throw-away PostgreSQL database, registers ``--workers`` workers, and has each of them claim in a
loop with ``wait_seconds`` 20 (as the SDKs' workers do when nothing is queued) for ``--seconds``. It
reports the server's CPU while they wait, in cores and in milliseconds per worker per second, the
claims answered (each after its 20 s, or the server's cap), and the PostgreSQL connections the server
held, as JSON (``--out``) and a summary line. Loopback only, bounded in time; it stops its server and
drops its database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from baton_server.api.versions import supported_versions
from baton_server.config import Settings
from bench_execution_api import (
    BATON_REQUESTS,
    VERSION_HEADER,
    Target,
    _connections_held,
    _drop_database,
    _register_workers,
    _seed,
    _start_attempts,
    _start_baton,
    _stop,
    _tree_cpu_ms,
    _wait_healthy,
    throwaway_database,
)
from sqlalchemy.engine import make_url

CLAIM_WAIT_SECONDS = 20
"""How long each claim asks to wait (the server caps it at BATON_CLAIM_MAX_WAIT, 20 s by default)."""


async def _idle(base: str, version: str, token: str, worker_ids: list[str], seconds: float) -> int:
    """Every worker claims, long-polling, until ``seconds`` are over; how many claims were answered."""
    headers = {VERSION_HEADER: version, "Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=len(worker_ids) + 8)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:
        stop = time.monotonic() + seconds

        async def worker(worker_id: str) -> int:
            answered = 0
            while time.monotonic() < stop:
                response = await client.post(
                    f"/workers/{worker_id}/claims",
                    json={"max_workloads": 1, "wait_seconds": CLAIM_WAIT_SECONDS},
                )
                response.raise_for_status()
                if response.json()["workloads"]:
                    raise SystemExit("bench: the queue was meant to stay empty")
                answered += 1
            return answered

        return sum(await asyncio.gather(*(worker(w) for w in worker_ids)))


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; print a summary line and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=25.0, help="how long the workers keep claiming")
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("build/bench-idle-workers.json"))
    args = parser.parse_args(argv)
    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-idle-"))
    signing_key = secrets.token_urlsafe(32)
    newest = supported_versions()[-1]
    server = None
    try:
        settings = Settings(database_url=url, data_dir=folder, signing_key=signing_key, run_scheduler=False)
        workloads, worker_token = asyncio.run(_seed(settings, 1))  # one attempt, and the workers' credential
        server, base = _start_baton(url, folder, signing_key, args.pool_size)
        _wait_healthy(base, "/execution/health", server, 300)
        _start_attempts(base, newest, workloads)  # running: the queue is empty
        worker_ids = _register_workers(base, newest, worker_token, args.workers)
        target = Target("idle", base, server.pid, BATON_REQUESTS, [], "", make_url(url).database or "")
        before_ms, started = _tree_cpu_ms(server.pid), time.monotonic()
        answered = asyncio.run(_idle(base, newest, worker_token, worker_ids, args.seconds))
        held = asyncio.run(_connections_held(admin_url, target))
        elapsed = time.monotonic() - started
        cores = (_tree_cpu_ms(server.pid) - before_ms) / 1000.0 / elapsed
        result = {
            "workers": args.workers,
            "seconds": round(elapsed, 1),
            "claims_answered": answered,
            "server_cores": round(cores, 4),
            "server_cpu_ms_per_worker_per_second": round(cores * 1000.0 / args.workers, 4),
            "connections_held": held,
        }
    finally:
        _stop(server)
        asyncio.run(_drop_database(admin_url, url))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.workers} idle workers long-polling for {result['seconds']} s: server "
        f"{result['server_cores']} cores ({result['server_cpu_ms_per_worker_per_second']} ms of CPU per "
        f"worker per second), {answered} claims answered, PostgreSQL connections held {held}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
