"""The worker's life cycle against a real server: kills, drains, hand-backs, timeouts, conflicts, skips.

Each test serves its own queue (see bundles/e2e/lifecycle.py), so that no worker runs another test's task.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from e2e import BUNDLE, HEARTBEAT_TIMEOUT, Stack, alive, kill, wait_for

pytestmark = pytest.mark.e2e


def _running_try_one(stack: Stack, dag_id: str, run_id: str) -> dict[str, Any]:
    """Wait until the first try runs and its task process has said so; the task instance, with its pid."""
    ti = stack.wait_task(dag_id, run_id, "nap", lambda t: t["state"] == "running", "try 1 running")
    wait_for("the nap to begin", lambda: "nap: try 1" in stack.baton("logs", run_id, "nap").stdout, every=0.5)
    detail = stack.task_instance(ti["id"])
    assert detail["pid"]
    assert alive(detail["pid"])
    return detail


def _started(ti: dict[str, Any]) -> float:
    return datetime.fromisoformat(ti["start_date"]).timestamp()


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test__worker_killed__task_retried_after_the_heartbeat_timeout(stack: Stack) -> None:
    first = stack.start_worker("kill")
    run_id = stack.trigger("nap_kill", seconds=300)
    task_process = _running_try_one(stack, "nap_kill", run_id)["pid"]
    # Forked by the worker's fork server (the default), which is the worker's child.
    fork_server = _parent(task_process)
    assert fork_server != first.pid
    assert _parent(fork_server) == first.pid

    first.process.kill()
    killed_at = time.time()
    first.wait(120)
    # With its supervisor gone, the task process stops too (its control pipe closed), and so does the
    # fork server (its socket to the worker closed): nothing is left running.
    wait_for("the orphaned task process to exit", lambda: not alive(task_process), timeout=120)
    wait_for("the fork server to exit", lambda: not alive(fork_server), timeout=120)

    stack.start_worker("kill")
    run = stack.wait_run("nap_kill", run_id)
    ti = run["tasks"]["nap"]
    assert (run["state"], ti["state"], ti["try_number"]) == ("success", "success", 2)
    # Nobody reported the first try: the server's heartbeat timeout ended it.
    assert _started(ti) - killed_at >= HEARTBEAT_TIMEOUT - 1
    assert "nap: try 1" in stack.baton("logs", run_id, "nap", "--try", "1").stdout
    assert "nap: try 2 woke up" in stack.baton("logs", run_id, "nap").stdout


def test__task_process_killed__failure_reported_at_once_and_retried(stack: Stack) -> None:
    stack.start_worker("taskkill")
    run_id = stack.trigger("nap_taskkill", seconds=300)
    task_process = _running_try_one(stack, "nap_taskkill", run_id)["pid"]

    kill(task_process)
    run = stack.wait_run("nap_taskkill", run_id)
    ti = run["tasks"]["nap"]
    assert (run["state"], ti["try_number"]) == ("success", 2)
    first_try = stack.baton("logs", run_id, "nap", "--try", "1").stdout
    # The worker reported the failure itself (not the server's heartbeat timeout), whatever it took.
    assert "was killed by SIGKILL before reporting an outcome" in first_try
    assert "up_for_retry" in first_try


def test__worker__sigterm__drains(stack: Stack, tmp_path: Path) -> None:
    worker = stack.start_worker("drain", "--concurrency", "1", "--grace-period", "600")
    # Running until the test releases it, well within the grace period: the drain lets it finish.
    release = tmp_path / "release"
    running = stack.trigger("nap_drain", seconds=300, until=str(release))
    _running_try_one(stack, "nap_drain", running)
    waiting = stack.trigger("nap_drain", seconds=0)
    stack.wait_task("nap_drain", waiting, "nap", lambda t: t["state"] == "queued", "queued")

    worker.signal(signal.SIGTERM)
    wait_for("the worker to say it drains", lambda: "draining" in worker.output(), every=0.2)
    assert worker.process.poll() is None, "the worker left before its task ended"
    release.touch()
    assert worker.wait(300) == 0
    finished = stack.run("nap_drain", running)["tasks"]["nap"]
    assert (finished["state"], finished["try_number"]) == ("success", 1)
    left = stack.run("nap_drain", waiting)["tasks"]["nap"]
    assert (left["state"], left["worker_id"]) == ("queued", None), "a draining worker claims nothing new"
    assert "draining" in worker.output()


def test__worker__sigterm_past_the_grace_period__hands_the_task_back(stack: Stack) -> None:
    worker = stack.start_worker("handback", "--grace-period", "1")
    run_id = stack.trigger("nap_handback", seconds=300)
    task_process = _running_try_one(stack, "nap_handback", run_id)["pid"]

    worker.signal(signal.SIGTERM)
    assert worker.wait(300) == 0
    assert not alive(task_process)
    ti = stack.run("nap_handback", run_id)["tasks"]["nap"]
    # Handed back as a failed attempt with a retry left: queued again for another worker.
    assert (ti["state"], ti["try_number"]) in {("up_for_retry", 1), ("scheduled", 1), ("queued", 2)}
    first_try = stack.baton("logs", run_id, "nap", "--try", "1").stdout
    assert "the worker is shutting down: the attempt is handed back" in first_try
    assert "ended after" in first_try
    assert "up_for_retry" in first_try


class _Proxy:
    """A TCP proxy to the server that can start refusing: connections open and new ones alike."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._refused = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                with self._lock:
                    self._open += [client, server]
                    if self._refused:
                        self._close_all()
                        return
                for source, target in ((client, server), (server, client)):
                    threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def refuse(self) -> None:
        """Stop listening (a connection is refused) and cut every connection open."""
        self._listener.close()
        with self._lock:
            self._refused = True
            self._close_all()

    def _close_all(self) -> None:
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test__worker__second_sigterm_while_the_server_is_unreachable__gives_the_reports_up_and_exits(
    stack: Stack, tmp_path: Path
) -> None:
    """A task ended while the server cannot be reached: one SIGTERM waits for its logs and its final
    state (five minutes each), a second one gives them one last try and the worker exits.

    Before: the second signal only hand running tasks back; a report waiting for the server went on
    waiting, up to ten minutes, whatever the signals."""
    proxy = _Proxy(stack.url)
    try:
        worker = stack.start_worker("hurry", "--grace-period", "600", env={"BATON_SERVER_URL": proxy.url})
        release = tmp_path / "release"
        run_id = stack.trigger("nap_hurry", seconds=300, until=str(release))
        _running_try_one(stack, "nap_hurry", run_id)
    finally:
        proxy.refuse()
    release.touch()  # the task ends while the server cannot be reached
    wait_for("the worker to retry its logs", lambda: "log upload failed" in worker.output(), timeout=120)
    worker.signal(signal.SIGTERM)
    wait_for("the worker to say it drains", lambda: "draining" in worker.output())
    retries = worker.output().count("log upload failed")
    wait_for("another retry", lambda: worker.output().count("log upload failed") > retries, timeout=120)
    assert worker.process.poll() is None, "one signal: the worker waits for the server"

    worker.signal(signal.SIGTERM)
    hurried = time.monotonic()
    assert worker.wait(60) == 0
    assert time.monotonic() - hurried < 30, worker.output()
    output = worker.output()
    assert "SIGTERM again: handing running tasks back now" in output
    assert "could not be reported" in output
    assert "Traceback" not in output


def test__task__over_its_execution_timeout__stopped_and_failed(stack: Stack) -> None:
    stack.start_worker("timeout")
    started = time.monotonic()
    run_id = stack.trigger("overrun", seconds=300)
    run = stack.wait_run("overrun", run_id, timeout=280)
    ti = run["tasks"]["nap"]
    assert (run["state"], ti["state"], ti["try_number"], ti["max_tries"]) == ("failed", "failed", 1, 1)
    assert time.monotonic() - started < 280  # stopped at its 2 s timeout, not after its 300 s nap
    assert not alive(stack.task_instance(ti["id"])["pid"])


def test__heartbeat_answered_409__worker_stops_the_task(stack: Stack) -> None:
    # Heartbeats sparser than the server's timeout: the server ends try 1 before it hears from it.
    worker = stack.start_worker("stale", "--heartbeat-interval", str(HEARTBEAT_TIMEOUT + 2))
    run_id = stack.trigger("nap_stale", seconds=300)
    first_try = _running_try_one(stack, "nap_stale", run_id)

    run = stack.wait_run("nap_stale", run_id)
    assert (run["state"], run["tasks"]["nap"]["try_number"]) == ("success", 2)
    wait_for("the stale task process to be stopped", lambda: not alive(first_try["pid"]), timeout=120)
    # The worker writes its line once the process is gone: on a busy machine that is a moment later.
    wait_for("the worker to log the 409", lambda: "the server answered 409" in worker.output(), timeout=120)


def test__run_cancelled__worker_stops_the_running_task_at_its_next_heartbeat(stack: Stack) -> None:
    interval = 2.0
    worker = stack.start_worker("cancel", "--heartbeat-interval", str(interval))
    run_id = stack.trigger("nap_cancel", seconds=300)
    first_try = _running_try_one(stack, "nap_cancel", run_id)

    cancelled_at = time.monotonic()
    stack.baton("runs", "cancel", run_id, "--dag", "nap_cancel")
    wait_for("the cancelled task process to be stopped", lambda: not alive(first_try["pid"]), timeout=300)
    took = time.monotonic() - cancelled_at
    # The worker writes its line once the process is gone: on a busy machine that is a moment later.
    wait_for("the worker to log the 409", lambda: "the server answered 409" in worker.output(), timeout=120)
    run = stack.run("nap_cancel", run_id)
    assert (run["state"], run["tasks"]["nap"]["state"], run["tasks"]["nap"]["try_number"]) == (
        "failed",
        "failed",
        1,
    )
    # Reported, not asserted against a tight bound: the next heartbeat (every 2 s) told the worker to stop.
    print(f"cancel to task stopped: {took:.1f} s (heartbeat interval {interval:g} s)")


def test__skipped_task__downstream_follows_the_trigger_rules(stack: Stack) -> None:
    stack.start_worker("skip")
    run_id = stack.trigger("skipper")
    run = stack.wait_run("skipper", run_id)
    states = {task: ti["state"] for task, ti in run["tasks"].items()}
    assert states == {"decide": "skipped", "publish": "skipped", "cleanup": "success"}
    assert run["state"] == "success"
    assert "skipped: nothing to do today" in stack.baton("logs", run_id, "decide").stdout


def test__worker__server_unreachable__retries_with_backoff_and_stops_on_sigterm(stack: Stack) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        log_path = stack.tmp / "worker-unreachable.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(stack.venv.baton), "worker", "--bundle", str(BUNDLE), "--queue", "down",
                 "--server", f"http://127.0.0.1:{port}", "--token", stack.worker_token],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            delays = wait_for(
                "two retries",
                lambda: (
                    [line for line in log_path.read_text().splitlines() if "retrying in" in line][:2] or None
                    if log_path.read_text().count("retrying in") >= 2
                    else None
                ),
                timeout=60,
            )
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "retrying in 0.5 s" in delays[0]
    assert "retrying in 1.0 s" in delays[1]
    assert "Traceback" not in log_path.read_text()


@pytest.mark.parametrize("task_start", ["fork", "spawn"])
def test__warm_task_processes__one_attempt_each_and_a_crash_stays_in_its_own(
    stack: Stack, task_start: str
) -> None:
    worker = stack.start_worker(
        "warm", "--warm-processes", "2", "--concurrency", "1", "--task-start", task_start
    )
    started = {"fork": "forked", "spawn": "spawned"}[task_start]
    assert f"process (tasks {started}) isolation" in worker.output()
    run_id = stack.trigger("warm_isolation")
    run = stack.wait_run("warm_isolation", run_id)
    states = {task_id: (ti["state"], ti["try_number"]) for task_id, ti in run["tasks"].items()}
    assert states == {"taint": ("success", 1), "check": ("success", 1), "crash": ("success", 2)}
    assert (
        "exited with status 3 before reporting an outcome"
        in stack.baton("logs", run_id, "crash", "--try", "1").stdout
    )
    assert worker.process.poll() is None  # the crash took only its own task process down
