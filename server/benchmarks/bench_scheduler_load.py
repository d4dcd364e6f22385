"""What the scheduler costs the API beside it: heartbeats of 5,000 running tasks, scheduler on and off.

Run through ``scripts/nox -s bench`` (or alone: ``python server/benchmarks/bench_scheduler_load.py
--postgres-url URL [--running 5000]``). It seeds one DAG run of ``--running`` task instances on a
throw-away PostgreSQL database and starts every attempt through the real ``run`` endpoint, so that
they are all ``running``. Then, per round, it starts ``baton-server serve`` with its scheduler off,
drives heartbeats of those attempts with wrk at ``--clients`` connections, stops it, and does the
same with the scheduler on (a pass every second, the default) — one server at a time on the same
data, so that neither's scheduler runs beside the other's measurement. It reports requests/s, p99,
server CPU per request, the scheduler-on / scheduler-off ratio per round, and the PostgreSQL
connections each server held, as JSON (``--out``) and a summary line. Loopback only, bounded in
time; it stops its servers and drops its database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import httpx
from baton_server.api.versions import supported_versions
from baton_server.config import Settings
from bench_execution_api import (
    BATON_REQUESTS,
    VERSION_HEADER,
    Result,
    Target,
    _connections_held,
    _drop_database,
    _seed,
    _spread,
    _start_attempts,
    _start_baton,
    _stop,
    _wait_healthy,
    _wait_quiet,
    _wrk,
    throwaway_database,
)
from sqlalchemy.engine import make_url

HEARTBEAT_INTERVAL_S = 5.0
"""How often each running task heartbeats (the SDKs' cadence)."""
STEADY_CONNECTIONS = 200
"""Connections of the steady-rate measurement (its requests leave on a fixed schedule, whichever of them
is free: an open loop)."""


def _pass_seconds(base: str) -> tuple[float, int]:
    """(total seconds, count) of the scheduler passes the server led, from its metrics."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    total = re.search(r"^baton_scheduler_pass_duration_seconds_sum (\S+)$", text, re.MULTILINE)
    count = re.search(r"^baton_scheduler_pass_duration_seconds_count (\S+)$", text, re.MULTILINE)
    if total is None or count is None:
        raise SystemExit("bench: the server's metrics have no scheduler pass durations")
    return float(total.group(1)), int(float(count.group(1)))


def main(argv: list[str] | None = None) -> int:
    """Measure heartbeats beside the scheduler; print the ratio and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=os.environ.get("BATON_TEST_POSTGRES_URL"))
    parser.add_argument("--running", type=int, default=5000, help="running task instances")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("build/bench-scheduler-load.json"))
    args = parser.parse_args(argv)
    admin_url, url = throwaway_database(args.postgres_url)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-scheduler-"))
    signing_key = secrets.token_urlsafe(32)
    newest = supported_versions()[-1]
    database = make_url(url).database or ""
    results: list[Result] = []
    held: dict[str, int] = {}
    passes: list[tuple[float, int]] = []
    steady: list[Result] = []
    rate = args.running / HEARTBEAT_INTERVAL_S
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        settings = Settings(database_url=url, data_dir=folder, signing_key=signing_key, run_scheduler=False)
        workloads, _ = asyncio.run(_seed(settings, args.running))
        server, base = _start_baton(url, folder, signing_key, args.pool_size)
        try:
            _wait_healthy(base, "/execution/health", server, 300)
            attempts = [
                (ti, tok, f"t{n}") for n, (ti, tok) in enumerate(_start_attempts(base, newest, workloads))
            ]
        finally:
            _stop(server)
        print(f"{len(attempts)} attempts running", file=sys.stderr, flush=True)
        for round_ in range(1, args.rounds + 1):
            for scheduler in (False, True):
                name = f"scheduler {'on' if scheduler else 'off'}"
                server, base = _start_baton(url, folder, signing_key, args.pool_size, scheduler=scheduler)
                try:
                    _wait_healthy(base, "/execution/health", server, 300)
                    target = Target(
                        name,
                        base,
                        server.pid,
                        BATON_REQUESTS,
                        attempts,
                        f'headers["{VERSION_HEADER}"] = "{newest}"',
                        database,
                    )
                    # A healthy server may still be building what it serves lazily: not counted.
                    _wait_quiet([target], 120)
                    results.append(_wrk(target, "heartbeat", args.clients, args.seconds, folder, round_))
                    held[name] = max(held.get(name, 0), asyncio.run(_connections_held(admin_url, target)))
                    if scheduler:
                        # Every running task heartbeating every 5 s: a steady rate, paced per connection.
                        steady.append(
                            _wrk(
                                replace(target, name=f"steady {rate:.0f} per s"),
                                "heartbeat",
                                STEADY_CONNECTIONS,
                                args.seconds,
                                folder,
                                round_,
                                rate=rate,
                            )
                        )
                        held["steady"] = max(
                            held.get("steady", 0), asyncio.run(_connections_held(admin_url, target))
                        )
                        passes.append(_pass_seconds(base))
                finally:
                    _stop(server)
    finally:
        asyncio.run(_drop_database(admin_url, url))
        shutil.rmtree(folder, ignore_errors=True)
    by_round = {(r.target, r.round): r for r in results}
    ratios = [
        by_round[("scheduler on", n)].requests_per_s
        / max(by_round[("scheduler off", n)].requests_per_s, 0.01)
        for n in range(1, args.rounds + 1)
    ]
    failed = sum(r.non_2xx for r in [*results, *steady])
    summary = {
        "running": len(attempts),
        "clients": args.clients,
        "ratio_on_to_off": ratios,
        "connections_held": held,
        "pool_size": args.pool_size,
        "non_2xx": failed,
        "steady": {
            "rate_asked": rate,
            "connections": STEADY_CONNECTIONS,
            "results": [asdict(r) for r in steady],
        },
        "scheduler_passes": [{"seconds": total, "count": count} for total, count in passes],
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "seconds": time.monotonic() - started,
        "results": [asdict(r) for r in results],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    for name in ("scheduler off", "scheduler on"):
        mine = [r for r in results if r.target == name]
        print(
            f"{name}: {_spread([r.requests_per_s for r in mine])} heartbeats/s, "
            f"p99 {_spread([r.p99_ms for r in mine])} ms, "
            f"server CPU {_spread([r.server_cpu_ms_per_request for r in mine])} ms/request, "
            f"{held.get(name, 0)} PostgreSQL connections held (pool {args.pool_size})"
        )
    print(
        f"steady: every one of {len(attempts)} running tasks heartbeating every {HEARTBEAT_INTERVAL_S:.0f} s "
        f"({rate:.0f}/s asked, {STEADY_CONNECTIONS} connections), scheduler on: "
        f"{_spread([r.requests_per_s for r in steady])} heartbeats/s, "
        f"p50 {_spread([r.p50_ms for r in steady])} ms, "
        f"p99 {_spread([r.p99_ms for r in steady])} ms (target <= 50), "
        f"{held.get('steady', 0)} PostgreSQL connections held (pool {args.pool_size})"
    )
    mean_ms = [1000 * total / max(count, 1) for total, count in passes]
    print(f"a scheduler pass took {_spread(mean_ms)} ms on average ({sum(c for _, c in passes)} passes)")
    print(
        f"{len(attempts)} running tasks, {args.clients} clients: heartbeats with the scheduler on / off "
        f"{_spread(ratios)} (target >= 0.90); non-2xx {failed}; load average "
        f"{load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}; written to {args.out}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
