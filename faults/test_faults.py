"""The fault scenarios: real servers, workers, PostgreSQL and HAProxy, killed, restarted and frozen.

Each scenario counts what happened to every task instance (from the database and from the ledger the
task bodies write) and fails on any loss or duplicate; the counts go to the figures table.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Figures
from harness import (
    Deployment,
    Postgres,
    Process,
    deployment,
    finished,
    missing_and_repeated_lines,
    said,
    story_of_unsucceeded,
    succeeded,
    tally,
    wait_for,
)

LINES = 3
"""Numbered log lines each task body writes (the bundle's FAULTS_LINES default)."""
WORKER_HEARTBEAT = 1.0
SCHEDULER_INTERVAL = 0.5
RUN_DEADLINE = 600.0
"""Longest a loaded run may take here; the claim timeout is 3600 s, so a workload that waited it out fails."""


def _ti(pg: Postgres, db: str, run_id: str) -> dict[str, object] | None:
    rows = pg.query(db, "SELECT id, state, try_number, pid FROM task_instances WHERE run_id = $1", run_id)
    return dict(rows[0]) if rows else None


def _ledger_pids(ledger: Path) -> list[int]:
    return [int(line.split()[3]) for line in ledger.read_text().splitlines()]


def _kill_leftovers(deployed: Deployment) -> None:
    # Task processes of a killed or frozen worker live in their own session: end what is left of them.
    for pid in _ledger_pids(deployed.ledger):
        if pid not in {p.popen.pid for p in deployed.processes}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def _loaded_run(
    pg: Postgres,
    db: str,
    deployed: Deployment,
    run_ids: list[str],
    total: int,
    fault_at: float,
    fault: Callable[[], float],
) -> tuple[float, float]:
    """Trigger ``run_ids`` (``total`` tasks in all), apply ``fault()`` once ``fault_at`` of them succeeded,
    and wait for the end.

    Returns (the fault's recovery time as ``fault()`` measured it, the runs' total time).
    """
    started = time.monotonic()
    for run_id in run_ids:
        deployed.trigger("many", run_id)
    wait_for("the runs to get going", lambda: succeeded(pg, db, run_ids) >= fault_at * total, RUN_DEADLINE)
    recovery = fault()
    wait_for("the runs to finish", lambda: finished(pg, db, run_ids), RUN_DEADLINE)
    return recovery, time.monotonic() - started


def _assert_exactly_once(
    pg: Postgres, db: str, deployed: Deployment, run_ids: list[str], expected: int
) -> dict[str, int]:
    counted = tally(pg, db, run_ids, deployed.ledger)
    missing, repeated = missing_and_repeated_lines(counted, LINES)
    running = pg.query(db, "SELECT count(*) AS n FROM task_instances WHERE state = 'running'")[0]["n"]
    figures = {
        "tasks": counted.total,
        "succeeded": counted.states.get("success", 0),
        "lost": counted.lost,
        "bodies run twice": counted.duplicated,
        "retried": sum(n for t, n in counted.tries.items() if t > 1),
        "log lines lost": missing,
        "log lines twice": repeated,
    }
    assert counted.total == expected, figures
    assert counted.lost == 0, f"{figures} {counted.states}\n{story_of_unsucceeded(pg, db, run_ids, deployed)}"
    assert counted.not_run == 0, figures
    assert counted.duplicated == 0, figures
    assert counted.tries == {1: expected}, (figures, counted.tries)  # no transition lost or applied twice
    assert (missing, repeated) == (0, 0), figures
    assert running == 0
    return figures


def test__worker_sigkill_mid_task__retried_within_the_heartbeat_timeout_plus_a_pass(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    db, heartbeat_timeout = "faults_worker_kill", 4.0
    url = pg.create_database(db)
    with deployment(tmp_path, url, BATON_HEARTBEAT_TIMEOUT=str(heartbeat_timeout)) as deployed:
        try:
            deployed.start_server("server")
            victim = deployed.start_worker("victim", "kill")
            deployed.trigger("sleeper_kill", "r1", seconds=600)
            wait_for("try 1 to run", lambda: (ti := _ti(pg, db, "r1")) and ti["state"] == "running")
            victim.signal(signal.SIGKILL)
            killed = time.monotonic()
            wait_for("try 1 to be declared dead", lambda: (ti := _ti(pg, db, "r1")) and ti["try_number"] == 2)
            detected = time.monotonic() - killed
            deployed.start_worker("rescue", "kill")
            wait_for("try 2 to succeed", lambda: (ti := _ti(pg, db, "r1")) and ti["state"] == "success")
            running = pg.query(db, "SELECT count(*) AS n FROM task_instances WHERE state = 'running'")[0]["n"]
        finally:
            _kill_leftovers(deployed)
    # The bound the scheduler promises, plus room for a pass and a poll on a busy machine.
    bound = heartbeat_timeout + SCHEDULER_INTERVAL
    figures.add(
        "worker SIGKILL mid-task",
        tasks=1,
        lost=0,
        **{"bodies run twice": 0, "recovery (s)": f"{detected:.1f} (bound {bound:g} + slack)"},
    )
    assert running == 0
    assert detected <= bound + WORKER_HEARTBEAT + 15, detected


def test__every_api_server_down_longer_than_the_heartbeat_timeout__the_scheduler_apart_ends_nothing(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    # A standalone scheduler runs on while the only API server is down for longer than the heartbeat
    # timeout plus the 20 s after which the scheduler takes the servers for down: the worker heartbeats
    # all along and is refused. Its attempt must go on and succeed at try 1 once the server is back.
    db, heartbeat_timeout, outage = "faults_servers_down", 30.0, 60.0
    url = pg.create_database(db)
    settings = {"BATON_HEARTBEAT_TIMEOUT": str(heartbeat_timeout), "BATON_RUN_SCHEDULER": "false"}
    with deployment(tmp_path, url, **settings) as deployed:
        try:
            server = deployed.start_server("server")
            scheduler = deployed.start_scheduler("scheduler")
            deployed.start_worker("patient", "kill")
            deployed.trigger("sleeper_kill", "r1", seconds=outage + 15)
            # Its body's own calls are done (they wait out a minute's outage, not this one): it sleeps.
            wait_for(
                "try 1 to push its XCom", lambda: pg.query(db, "SELECT count(*) AS n FROM xcoms")[0]["n"] > 0
            )
            server.signal(signal.SIGKILL)
            server.popen.wait()
            down = time.monotonic()
            wait_for(
                "the scheduler to take the server for down",
                lambda: said(scheduler, "no API server has marked itself up"),
            )
            while time.monotonic() - down < outage:
                time.sleep(0.5)
            deployed.start_server("server")
            ti = wait_for(
                "r1 to finish",
                lambda: (ti := _ti(pg, db, "r1")) and ti["state"] in ("success", "failed") and ti,
            )
            counted = tally(pg, db, ["r1"], deployed.ledger)
        finally:
            _kill_leftovers(deployed)
    figures.add(
        "every API server down 60 s (heartbeat timeout 30 s), standalone scheduler",
        tasks=1,
        succeeded=counted.states.get("success", 0),
        lost=counted.lost,
        **{"bodies run twice": counted.duplicated, "retried": counted.tries.total() - counted.tries[1]},
    )
    assert (ti["state"], ti["try_number"]) == ("success", 1), ti
    assert counted.duplicated == 0


def _under_load(
    pg: Postgres,
    tmp_path: Path,
    figures: Figures,
    scenario: str,
    *,
    replicas: list[str],
    workers: int,
    runs: int,
    per_run: int,
    fault_at: float,
    fault: Callable[[Deployment, list[Process]], float],
) -> None:
    """``runs`` runs of ``per_run`` short tasks on ``workers`` workers (8 slots each; every other one runs
    its tasks in processes, the rest in threads) and ``replicas`` servers (behind HAProxy when several);
    ``fault`` strikes at ``fault_at`` of the tasks done."""
    db, run_ids, total = f"faults_{len(figures.rows)}", [f"r{i}" for i in range(1, runs + 1)], runs * per_run
    url = pg.create_database(db)
    with deployment(tmp_path, url, BATON_HEARTBEAT_TIMEOUT="120") as deployed:
        servers = [deployed.start_server(name) for name in replicas]
        if len(replicas) > 1:
            deployed.start_haproxy(replicas)
        for index in range(workers):
            # Both isolations: a task thread and a task process each build their own client.
            isolation = "thread" if index % 2 == 0 else "process"
            deployed.start_worker(
                f"w{index}", "load", "--isolation", isolation, "--concurrency", "8", tasks=per_run
            )
        recovery, took = _loaded_run(
            pg, db, deployed, run_ids, total, fault_at, lambda: fault(deployed, servers)
        )
        counts = _assert_exactly_once(pg, db, deployed, run_ids, total)
    figures.add(scenario, **counts, **{"recovery (s)": f"{recovery:.1f}", "run (s)": f"{took:.0f}"})


def test__server_sigkill_under_load__every_task_once_no_transition_or_log_line_lost(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    def kill_and_restart(deployed: Deployment, servers: list[Process]) -> float:
        servers[0].signal(signal.SIGKILL)
        servers[0].popen.wait()
        killed = time.monotonic()
        deployed.start_server("server")  # the same port: the workers keep their URL
        return time.monotonic() - killed

    _under_load(
        pg, tmp_path, figures, "API server SIGKILL + restart, 2 workers",
        replicas=["server"], workers=2, runs=1, per_run=200, fault_at=0.3, fault=kill_and_restart,
    )  # fmt: skip


def test__postgres_restart_under_load__workers_ride_it_out_server_recovers_alone(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    def restart_postgres(deployed: Deployment, servers: list[Process]) -> float:
        db = deployed.database_url.rsplit("/", 1)[1]
        before = succeeded(pg, db, ["r1"])
        pg.stop()
        down = time.monotonic()
        pg.start()
        # Recovered: tasks succeed again, with nobody touching the server.
        wait_for("tasks to succeed again", lambda: succeeded(pg, db, ["r1"]) > before, RUN_DEADLINE)
        return time.monotonic() - down

    _under_load(
        pg, tmp_path, figures, "PostgreSQL restart, 2 workers",
        replicas=["server"], workers=2, runs=1, per_run=200, fault_at=0.3, fault=restart_postgres,
    )  # fmt: skip


def test__two_replicas_behind_haproxy__1000_workloads_once_each_one_replica_killed(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    def kill_a_replica(deployed: Deployment, servers: list[Process]) -> float:
        db, run_ids = deployed.database_url.rsplit("/", 1)[1], ["r1", "r2", "r3", "r4"]
        servers[0].signal(signal.SIGKILL)
        killed, before = time.monotonic(), succeeded(pg, db, run_ids)
        wait_for("tasks to succeed on the other replica", lambda: succeeded(pg, db, run_ids) > before + 8)
        return time.monotonic() - killed

    _under_load(
        pg, tmp_path, figures, "2 replicas + HAProxy, 4 workers, one replica SIGKILLed",
        replicas=["replica-a", "replica-b"], workers=4, runs=4, per_run=250, fault_at=0.4,
        fault=kill_a_replica,
    )  # fmt: skip


def test__frozen_worker__retried_elsewhere_zombie_refused_its_late_logs_and_state_change_nothing(
    pg: Postgres, tmp_path: Path, figures: Figures
) -> None:
    db, heartbeat_timeout = "faults_zombie", 4.0
    url = pg.create_database(db)
    with deployment(tmp_path, url, BATON_HEARTBEAT_TIMEOUT=str(heartbeat_timeout)) as deployed:
        try:
            deployed.start_server("server")
            zombie = deployed.start_worker("zombie", "zombie")
            deployed.trigger("sleeper_zombie", "r1", seconds=8)
            wait_for("try 1 to run", lambda: (ti := _ti(pg, db, "r1")) and ti["state"] == "running")
            # Frozen only once its task process runs the body: `run` comes before the process starts it.
            wait_for("try 1's body to start", lambda: " 1 ran " in deployed.ledger.read_text())
            zombie.signal(signal.SIGSTOP)  # alive, but its heartbeats stop; its task process runs on
            stopped = time.monotonic()
            wait_for("try 1 to be declared dead", lambda: (ti := _ti(pg, db, "r1")) and ti["try_number"] == 2)
            detected = time.monotonic() - stopped
            deployed.start_worker("rescue", "zombie")
            wait_for("try 2 to succeed", lambda: (ti := _ti(pg, db, "r1")) and ti["state"] == "success")
            wait_for("try 1's body to wake up", lambda: " 1 woke " in deployed.ledger.read_text(), 120)
            zombie.signal(signal.SIGCONT)
            wait_for(
                "the zombie to be refused",
                lambda: (
                    ("409" in zombie.output() and "stale_attempt" in zombie.output())
                    or "task_instance_not_running" in zombie.output()
                ),
                120,
            )
            after = _ti(pg, db, "r1")
            # The zombie's late line is kept for the operator, marked late, under its own try: it changes
            # nothing of the attempt that replaced it.
            late = pg.query(
                db, "SELECT count(*) AS n FROM task_logs WHERE message LIKE 'late line%' AND NOT late"
            )[0]["n"]
            marked = pg.query(
                db, "SELECT count(*) AS n FROM task_logs WHERE message LIKE 'late line%' AND late"
            )[0]["n"]
            try_one_lines = pg.query(db, "SELECT message FROM task_logs WHERE try_number = 1 AND NOT late")
            try_two_lines = [
                r["message"] for r in pg.query(db, "SELECT message FROM task_logs WHERE try_number = 2")
            ]
        finally:
            _kill_leftovers(deployed)
    runs = [line.split()[1] for line in deployed.ledger.read_text().splitlines() if " ran " in line]
    figures.add(
        "worker frozen (SIGSTOP), zombie returns",
        tasks=1,
        lost=0,
        **{
            "bodies run twice": runs.count("1") + runs.count("2") - 1,
            "zombie writes stored": late,
            "late lines kept, marked late": marked,
            "recovery (s)": f"{detected:.1f}",
        },
    )
    assert after is not None
    assert (after["state"], after["try_number"]) == ("success", 2)  # the zombie's state changed nothing
    assert late == 0  # its late log line is never stored as a line of a running attempt
    assert not any("late line" in r["message"] for r in try_one_lines)
    assert not any("late line" in message for message in try_two_lines)
    assert sorted(runs) == ["1", "2"]  # at least once: the body ran in both tries, each with its fencing
    assert f"line 0 of {after['id']}:2" in try_two_lines  # the task saw its own attempt's fencing token


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite talks to 127.0.0.1 only; a proxy from the environment must not get in between.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
