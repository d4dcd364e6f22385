"""An embedded worker ("tasks as RPC"): DAG objects served from inside this process, in threads."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from baton import (
    DAG,
    Client,
    TaskContext,
    TaskSkipped,
    Variable,
    VariableNotFoundError,
    Worker,
    XCom,
    task,
)
from baton._generated.api.admin import (
    admin_set_variable,
    get_dag_run,
    get_task_instance_logs,
    trigger_dag_run,
)
from baton._generated.models import (
    DagRun,
    DagRunDetail,
    LogPage,
    TriggerDagRunPayload,
    TriggerDagRunPayloadConf,
    VariablePutBody,
)
from live_server import LiveServer, start_live_server

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "embedded" / "tasks_as_rpc.py"


@pytest.fixture(scope="module")
def tokens(live_server: LiveServer) -> dict[str, str]:
    return {
        "admin": live_server.cli("create-admin-token", "embedded-tests").strip(),
        "worker": live_server.cli("create-worker-credential", "embedded-tests").strip(),
    }


@pytest.fixture
def admin(live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Client]:
    with Client(live_server.base_url, tokens["admin"]) as client:
        yield client


def _run_to_the_end(admin: Client, dag_id: str, **conf: Any) -> DagRunDetail:
    body = TriggerDagRunPayload(conf=TriggerDagRunPayloadConf.from_dict(conf))
    run = trigger_dag_run.sync(dag_id, client=admin.generated, body=body)
    assert isinstance(run, DagRun)
    deadline = time.monotonic() + 300
    while True:
        detail = get_dag_run.sync(dag_id, run.run_id, client=admin.generated)
        assert isinstance(detail, DagRunDetail)
        if detail.state in ("success", "failed"):
            return detail
        assert time.monotonic() < deadline, f"run of {dag_id} still {detail.state} after 300 s"
        time.sleep(0.2)


def _log(admin: Client, detail: DagRunDetail, task_id: str) -> list[str]:
    ti = next(t for t in detail.task_instances if t.task_id == task_id)
    page = get_task_instance_logs.sync(ti.id, client=admin.generated)
    assert isinstance(page, LogPage)
    return [line.message for line in page.lines]


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tasks_as_rpc", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test__docs_example__tasks_run_in_the_application_and_change_its_state(
    live_server: LiveServer, tokens: dict[str, str], admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_SERVER_URL", live_server.base_url)
    monkeypatch.setenv("BATON_WORKER_TOKEN", tokens["worker"])
    app = _load_example()
    worker = app.start_worker()
    try:
        detail = _run_to_the_end(admin, "restock")
    finally:
        worker.stop(timeout=300)
    assert detail.state == "success"
    assert app.stock == {"widgets": 10}
    assert worker.results == {"success": 2}


def test__thread_isolation__secrets_first_xcoms_skips_and_logs(
    live_server: LiveServer,
    tokens: dict[str, str],
    admin: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"embedded_{uuid.uuid4().hex[:8]}"
    admin_set_variable.sync(
        f"{key}_env", client=admin.generated, body=VariablePutBody(value="from the server")
    )
    admin_set_variable.sync(f"{key}_api", client=admin.generated, body=VariablePutBody(value={"n": 1}))
    monkeypatch.setenv(f"BATON_VAR_{key.upper()}_ENV", "not json, so a string")
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps({"variables": {f"{key}_file": [1, 2]}, "connections": {"files": "sftp://u@h:22"}})
    )
    seen: dict[str, Any] = {}

    @task
    def read(context: TaskContext) -> None:
        seen["env"] = Variable.get(f"{key}_env")
        seen["file"] = Variable.get(f"{key}_file")
        seen["api"] = Variable.get(f"{key}_api")
        seen["default"] = Variable.get(f"{key}_missing", default="fallback")
        try:
            Variable.get(f"{key}_missing")
        except VariableNotFoundError as exc:
            seen["missing"] = str(exc)
        Variable.set(f"{key}_written", {"by": context.task_id})
        seen["written"] = Variable.get(f"{key}_written")
        from baton import Connection

        seen["conn"] = Connection.get("files").host
        XCom.push("side", {"conf": context.conf})
        logging.getLogger("embedded").warning("read everything")

    @task
    def pull() -> None:
        seen["side"] = XCom.pull("read", "side")

    @task
    def skip() -> None:
        raise TaskSkipped("not today")

    with DAG(f"{key}_dag", queue=key) as defined:
        read() >> pull() >> skip()

    worker = Worker(
        live_server.base_url,
        tokens["worker"],
        dags=[defined],
        queues=[key],
        isolation="thread",
        secrets_file=secrets,
        heartbeat_interval=0.5,
    )
    worker.start()
    try:
        detail = _run_to_the_end(admin, defined.dag_id, region="eu")
    finally:
        worker.stop(timeout=300)
    assert {t.task_id: t.state for t in detail.task_instances} == {
        "read": "success",
        "pull": "success",
        "skip": "skipped",
    }
    assert seen == {
        "env": "not json, so a string",
        "file": [1, 2],
        "api": {"n": 1},
        "default": "fallback",
        "missing": f"variable '{key}_missing' is not set",
        "written": {"by": "read"},
        "conn": "h",
        "side": {"conf": {"region": "eu"}},
    }
    assert "read everything" in _log(admin, detail, "read")
    assert "task skip skipped: not today" in _log(admin, detail, "skip")


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() of this exception fails")


class UnprintableBaseError(BaseException):
    def __str__(self) -> str:
        raise RuntimeError("str() of this exception fails")


def test__thread_isolation__exceptions_whose_str_fails__reported_by_their_type(
    live_server: LiveServer, tokens: dict[str, str], admin: Client
) -> None:
    """Before: the message named the RuntimeError of str() instead of the task's exception, and for a
    BaseException the task thread died reporting nothing: the attempt ran until its timeout."""
    key = f"unprintable_{uuid.uuid4().hex[:8]}"

    @task
    def plain() -> None:
        raise UnprintableError()

    @task
    def base() -> None:
        raise UnprintableBaseError()

    with DAG(f"{key}_dag", queue=key, execution_timeout=60) as defined:
        plain()
        base()

    worker = Worker(
        live_server.base_url,
        tokens["worker"],
        dags=[defined],
        queues=[key],
        isolation="thread",
        heartbeat_interval=0.5,
    )
    worker.start()
    try:
        detail = _run_to_the_end(admin, defined.dag_id)
    finally:
        worker.stop(timeout=300)
    assert {t.task_id: t.state for t in detail.task_instances} == {"plain": "failed", "base": "failed"}
    plain_log = _log(admin, detail, "plain")
    assert plain_log[-1].endswith(": failed: UnprintableError: <exception str() failed>"), plain_log
    logged = "task plain failed: UnprintableError: <exception str() failed>"
    assert any(m.startswith(logged) for m in plain_log), plain_log
    base_log = _log(admin, detail, "base")
    assert base_log[-1].endswith(": failed: UnprintableBaseError: <exception str() failed>"), base_log


def test__thread_isolation__return_value_nan_or_infinite__fails_saying_it_is_not_json(
    live_server: LiveServer, tokens: dict[str, str], admin: Client
) -> None:
    """Before: NaN passed the JSON check and failed in the XCom push under a traceback of the SDK's and
    httpx's frames, where a set or bytes gave the one-line 'not JSON' message."""
    key = f"nan_{uuid.uuid4().hex[:8]}"

    @task
    def nan() -> float:
        return float("nan")

    @task
    def infinite() -> dict[str, list[float]]:
        return {"values": [1.0, float("-inf")]}

    with DAG(f"{key}_dag", queue=key) as defined:
        nan()
        infinite()

    worker = Worker(
        live_server.base_url,
        tokens["worker"],
        dags=[defined],
        queues=[key],
        isolation="thread",
        heartbeat_interval=0.5,
    )
    worker.start()
    try:
        detail = _run_to_the_end(admin, defined.dag_id)
    finally:
        worker.stop(timeout=300)
    assert {t.task_id: t.state for t in detail.task_instances} == {"nan": "failed", "infinite": "failed"}
    for task_id in ("nan", "infinite"):
        lines = _log(admin, detail, task_id)
        assert f"task {task_id} failed: the return value is not JSON (" in lines[1], lines
        assert "return JSON data or None" in lines[-1], lines
        assert not any("Traceback" in line for line in lines), lines


HOP_BY_HOP = ("host", "content-length", "transfer-encoding", "connection", "content-encoding")


class _Proxy:
    """A proxy in front of the server, on a port of its own, that :meth:`intercept` may answer itself."""

    def __init__(self, target: str) -> None:
        upstream = self._upstream = httpx.Client(base_url=target, timeout=120)
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.intercept(self, self.path.split("?")[0]):
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = upstream.request(self.command, self.path, content=body, headers=headers)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        for verb in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            setattr(Forward, f"do_{verb}", Forward.forward)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def intercept(self, handler: BaseHTTPRequestHandler, path: str) -> bool:
        """Whether the request to ``path`` was answered here (else it is forwarded)."""
        return False

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()


class _HoldingStart(_Proxy):
    """A proxy in front of the server that holds the first start (``.../run``) until released."""

    def __init__(self, target: str) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        super().__init__(target)

    def intercept(self, handler: BaseHTTPRequestHandler, path: str) -> bool:
        if path.endswith("/run") and not self.held.is_set():
            self.held.set()
            self.release.wait(300)
        return False

    def close(self) -> None:
        self.release.set()
        super().close()


class _RefusingLogs(_Proxy):
    """A proxy in front of the server that answers every log upload 503 while ``refuse`` is set."""

    def __init__(self, target: str) -> None:
        self.refuse = threading.Event()
        self.refused = 0
        super().__init__(target)

    def intercept(self, handler: BaseHTTPRequestHandler, path: str) -> bool:
        if not (path.endswith("/logs") and self.refuse.is_set()):
            return False
        self.refused += 1
        handler.send_response(503)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True


def test__last_log_lines_slow_to_ship__heartbeats_go_on_and_the_success_is_reported(
    tmp_path: Path,
) -> None:
    """Before: heartbeats stopped when the task ended, while its last lines were still being shipped
    (retried for minutes): past the heartbeat timeout the server failed the attempt, and the task's
    success was refused (409)."""
    settings = {"BATON_HEARTBEAT_TIMEOUT": "2", "BATON_SCHEDULER_INTERVAL": "0.2"}
    with start_live_server(tmp_path, settings=settings) as server:
        admin_token = server.cli("create-admin-token", "slow-logs").strip()
        worker_token = server.cli("create-worker-credential", "slow-logs").strip()
        proxy = _RefusingLogs(server.base_url)
        key = f"slowlogs_{uuid.uuid4().hex[:8]}"

        @task
        def chatty() -> None:
            print("the last line")
            proxy.refuse.set()  # from now on, the log uploads fail (a brief outage)
            logging.getLogger("chatty").warning("a line that waits for the server")

        with DAG(f"{key}_dag", queue=key) as defined:
            chatty()

        worker = Worker(
            proxy.url, worker_token, dags=[defined], queues=[key], isolation="thread", heartbeat_interval=0.5
        )
        worker.start()
        try:
            with Client(server.base_url, admin_token) as admin:
                body = TriggerDagRunPayload(conf=TriggerDagRunPayloadConf.from_dict({}))
                run = trigger_dag_run.sync(defined.dag_id, client=admin.generated, body=body)
                assert isinstance(run, DagRun)
                deadline = time.monotonic() + 300
                while not proxy.refuse.is_set():
                    assert time.monotonic() < deadline, "the task never ran"
                    time.sleep(0.05)
                # Three heartbeat timeouts' worth of refused uploads (the outage lasts that long).
                outage_ends = time.monotonic() + 6
                while time.monotonic() < outage_ends:
                    time.sleep(0.1)
                assert proxy.refused > 0
                proxy.refuse.clear()
                detail = _wait_for_run(admin, defined.dag_id, run.run_id)
                lines = _log(admin, detail, "chatty")
        finally:
            worker.stop(timeout=300)
            proxy.close()
    assert detail.state == "success", lines
    assert "a line that waits for the server" in lines, lines


def _wait_for_run(admin: Client, dag_id: str, run_id: str) -> DagRunDetail:
    deadline = time.monotonic() + 300
    while True:
        detail = get_dag_run.sync(dag_id, run_id, client=admin.generated)
        assert isinstance(detail, DagRunDetail)
        if detail.state in ("success", "failed"):
            return detail
        assert time.monotonic() < deadline, f"run of {dag_id} still {detail.state} after 300 s"
        time.sleep(0.2)


def test__thread_isolation__handed_back_while_starting__reported_up_for_retry_task_not_run(
    live_server: LiveServer, tokens: dict[str, str], admin: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the start was seen through, then the task begun: in a thread it ran in full, abandoned,
    after the worker had handed it back."""
    key = f"starting_{uuid.uuid4().hex[:8]}"
    ran = threading.Event()

    @task
    def count() -> None:
        ran.set()

    with DAG(f"{key}_dag", queue=key, retries=1) as defined:
        count()

    proxy = _HoldingStart(live_server.base_url)
    worker = Worker(
        proxy.url, tokens["worker"], dags=[defined], queues=[key], isolation="thread", grace_period=0.5
    )
    caplog.set_level(logging.INFO, logger="baton.worker")
    try:
        worker.start()
        body = TriggerDagRunPayload(conf=TriggerDagRunPayloadConf.from_dict({}))
        run = trigger_dag_run.sync(defined.dag_id, client=admin.generated, body=body)
        assert isinstance(run, DagRun)
        assert proxy.held.wait(300), "the attempt was never started"
        worker.drain()  # the grace period passes while the start is held: the attempt is handed back
        deadline = time.monotonic() + 120
        while not any("handing back" in message for message in caplog.messages):
            assert time.monotonic() < deadline, "the worker did not hand the attempt back"
            time.sleep(0.05)
        proxy.release.set()
        worker.stop(timeout=300)
    finally:
        proxy.close()
    detail = get_dag_run.sync(defined.dag_id, run.run_id, client=admin.generated)
    assert isinstance(detail, DagRunDetail)
    (ti,) = detail.task_instances
    assert ti.try_number == 1
    assert ti.state in ("up_for_retry", "queued", "scheduled"), ti.state
    assert not ran.is_set(), "the task ran after the worker handed it back"
    lines = _log(admin, detail, "count")
    assert "the worker is shutting down: the attempt is handed back" in lines, lines
    assert lines[-1].endswith(": up_for_retry: stopped before it began"), lines


def test__worker__misconfigured__worker_error_before_anything_starts() -> None:
    from baton import WorkerError

    with pytest.raises(WorkerError, match="either a bundle path or DAG objects"):
        Worker("http://127.0.0.1:1", "t")
    with pytest.raises(WorkerError, match="use isolation='thread'"):
        Worker("http://127.0.0.1:1", "t", dags=[])
    with pytest.raises(WorkerError, match="heartbeat_interval is a number of seconds above 0, not 0"):
        Worker("http://127.0.0.1:1", "t", dags=[], isolation="thread", heartbeat_interval=0)
    with pytest.raises(WorkerError, match="claim_wait is a number of seconds, 0 or more, not -1"):
        Worker("http://127.0.0.1:1", "t", dags=[], isolation="thread", claim_wait=-1)
    with pytest.raises(WorkerError, match="is not an http:// or https:// URL with a host"):
        Worker("127.0.0.1:8080", "t", dags=[], isolation="thread")


def test__worker__name__given_or_host_and_pid() -> None:
    from baton._worker import default_worker_name

    # The checks of the options come before the name is taken: none of them may stand in for it.
    assert Worker("http://127.0.0.1:1", "t", dags=[], isolation="thread", name="ingest-1").name == "ingest-1"
    assert Worker("http://127.0.0.1:1", "t", dags=[], isolation="thread").name == default_worker_name()
