"""The ``baton`` command's failures: one line on stderr, a non-zero status, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from baton import Client
from baton._cli import _runs
from baton._cli._common import every_page, when
from baton.models import (
    LogBatch,
    LogLine,
    RegisterDagsPayload,
    RegisterWorkerPayload,
    TIRunPayload,
)
from live_server import LiveServer


def _baton(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], status: int, *parts: str) -> None:
    assert result.returncode == status, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("baton: error: ")
    for part in parts:
        assert part in lines[0]


def test__server_unreachable__one_line_and_status_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = _baton("dags", "list", "--server", url, "--token", "t")
    _one_line_error(result, 1, "cannot reach the Baton server", url, "Connection refused")


@pytest.mark.parametrize("url", ["notaurl", "ftp://host", "http://", "http://[::1"])
def test__server_url_no_request_can_reach__one_line_and_status_2(url: str) -> None:
    _one_line_error(
        _baton("dags", "list", "--server", url, "--token", "t"),
        2,
        f"the server URL {url!r} is not an http://",
    )
    with pytest.raises(ValueError, match="is not an http:// or https:// URL with a host"):
        Client(url)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["runs", "trigger", "d", "--conf", '{"a": NaN}'], "--conf is not JSON: NaN is not JSON"),
        (["runs", "trigger", "d", "--conf", '{"a": 1e999}'], "--conf is not JSON: 1e999 is too large"),
        (["variables", "set", "k", "[Infinity]"], "VALUE is not JSON: Infinity is not JSON"),
        (["connections", "add", "c", "--type", "http", "--extra", '{"a": -Infinity}'], "--extra is not JSON"),
        (["variables", "set", " ", "1"], "argument key: must not be blank"),
        (["connections", "add", "", "--type", "http"], "argument ID: must not be blank"),
        (["pools", "set", "", "unlimited"], "argument name: must not be blank"),
        # `--allow-dag "$DAGS"` with the variable empty: not a connection every DAG's tasks may read.
        (["connections", "add", "c", "--type", "http", "--allow-dag", ""], "--allow-dag needs a DAG id"),
        (["connections", "add", "c", "--uri", "http://h", "--allow-dag", " , "], "needs a DAG id"),
        # Past what the API takes: bad usage (2) before anything is sent, not the server's 422 (1).
        (["runs", "list", "--limit", "0"], "argument --limit: '0' is not a whole number from 1 to 1000"),
        (["audit", "list", "--limit", "1001"], "argument --limit: '1001' is not a whole number from 1 to"),
        (["logs", str(uuid.UUID(int=1)), "--try", "-1"], "argument --try: '-1' is not a whole number"),
        # The URI is the whole connection: a password beside it was dropped and the connection saved.
        (["connections", "add", "c", "--uri", "pg://u@h/d", "--password", "p"], "put --password in it"),
        (["connections", "add", "c", "--uri", "", "--type", "pg", "--port", "1"], "put --type, --port in it"),
        # A timeout that never passes (nan), or that has passed before the first look.
        (
            ["runs", "trigger", "d", "--wait", "--timeout", "nan"],
            "argument --timeout: 'nan' is not a number of",
        ),
        (
            [
                "backfill",
                "create",
                "d",
                "--from",
                "2026-01-01T00:00Z",
                "--to",
                "2026-01-02T00:00Z",
                "--wait",
                "--timeout",
                "-1",
            ],
            "argument --timeout: '-1' is not a number of seconds from 0",
        ),
        # `--run-id "$RUN_ID"` with the variable empty: not a run of a made-up id (a second run).
        (["runs", "trigger", "d", "--run-id", ""], "argument --run-id: must not be blank"),
        # `--dag "$DAG"` with the variable empty: not every DAG's runs.
        (["runs", "list", "--dag", " "], "argument --dag: must not be blank"),
        (["runs", "cancel", "", "--dag", "d"], "argument RUN: must not be blank"),
        (["dags", "delete", "", "--confirm", ""], "argument DAG: must not be blank"),
        (["backfill", "list", ""], "argument DAG: must not be blank"),
        (["audit", "list", "--dag", ""], "argument --dag: must not be blank"),
        # A path step: `/api/dags/d/dag-runs/..` is `/api/dags/d`, `/api/connections/.` the listing.
        (["runs", "show", "..", "--dag", "d"], "argument RUN: '..' is not an id"),
        (["runs", "mark", "..", "--dag", "d", "--state", "failed"], "argument RUN: '..' is not an id"),
        (["connections", "get", "."], "argument ID: '.' is not an id"),
        (["tasks", "clear", "r", ".."], "argument TASK: '..' is not an id"),
        (["logs", ".", "t"], "argument TASK_INSTANCE|RUN: '.' is not an id"),
    ],
)
def test__input_the_api_cannot_take__refused_before_sending(args: list[str], said: str) -> None:
    # Python's json reads NaN and 1e999 (inf), which no JSON body can carry; a blank key names no path,
    # and `.` or `..` another one.
    result = _baton(*args, "--server", "http://127.0.0.1:1", "--token", "t")
    assert result.returncode == 2, result
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert "ValueError" not in result.stderr


def test__not_a_baton_server__its_error_page_in_one_line(tmp_path: Path) -> None:
    import http.server
    import threading

    # The wrong port, or a proxy's error page: the HTML answered is no Baton error body.
    page = (
        "<!DOCTYPE html>\n<html>\n  <body>\n    <h1>502 Bad Gateway</h1>\n"
        + "<p>x</p>\n" * 100
        + "</body></html>\n"
    )

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{proxy.server_address[1]}"
            result = _baton("workers", "list", "--server", url, "--token", "t")
        finally:
            proxy.shutdown()
    _one_line_error(result, 1, "502 http_502: <!DOCTYPE html> <html> <body> <h1>502 Bad Gateway</h1>")
    assert len(result.stderr) < 300


def test__no_admin_token__one_line_and_status_2() -> None:
    _one_line_error(_baton("runs", "list"), 2, "no admin token: pass --token or set BATON_ADMIN_TOKEN")


def test__token_read_from_a_file__its_newline_dropped(live_server: LiveServer) -> None:
    # `BATON_ADMIN_TOKEN` from a mounted secret file ends with a newline: it was sent, refused by the
    # HTTP layer as 'cannot reach the Baton server', with the whole token in the message.
    token = live_server.cli("create-admin-token", "cli-token-file").strip()
    listed = _baton("workers", "list", BATON_SERVER_URL=live_server.base_url, BATON_ADMIN_TOKEN=f"{token}\n")
    assert listed.returncode == 0, listed.stderr
    for bad in (f"{token[:10]} {token[10:]}", f"{token}\x01", f"{token}é"):
        refused = _baton("workers", "list", BATON_SERVER_URL=live_server.base_url, BATON_ADMIN_TOKEN=bad)
        _one_line_error(
            refused, 2, "the admin token from --token or BATON_ADMIN_TOKEN has a character no token"
        )
        assert token[10:] not in refused.stderr


def test__wrong_token__401_in_one_line(live_server: LiveServer) -> None:
    result = _baton(
        "workers", "list", BATON_SERVER_URL=live_server.base_url, BATON_ADMIN_TOKEN="baton_admin_nope"
    )
    _one_line_error(result, 1, "the server refused the token: 401")


def test__unknown_run__one_line(live_server: LiveServer) -> None:
    token = live_server.cli("create-admin-token", "cli-tests").strip()
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": token}
    _one_line_error(_baton("runs", "show", "no-such-run", **env), 1, "no DAG run 'no-such-run'")
    _one_line_error(_baton("runs", "trigger", "no_such_dag", **env), 1, "404 dag_not_found")
    _one_line_error(_baton("logs", "not-a-uuid", **env), 2, "is not a task instance id")
    _one_line_error(_baton("runs", "trigger", "d", "--conf", "[1]", **env), 2, "--conf must be a JSON object")
    _one_line_error(_baton("variables", "get", "no_such_variable", **env), 1, "404")
    # A listing of nothing is no error.
    empty = _baton("variables", "list", "--json", **env)
    assert (empty.returncode, empty.stdout.startswith("[")) == (0, True)


def test__pools__set_list_delete(live_server: LiveServer) -> None:
    token = live_server.cli("create-admin-token", "cli-pools").strip()
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": token}
    assert (
        _baton("pools", "set", "warehouse", "4", "--description", "dw", **env).stdout
        == "pool warehouse set\n"
    )
    listed = _baton("pools", "list", **env).stdout
    assert "default_pool  unlimited  0" in listed
    assert "warehouse     4          0" in listed
    _one_line_error(_baton("pools", "delete", "default_pool", **env), 1, "default_pool_not_deletable")
    assert _baton("pools", "delete", "warehouse", **env).returncode == 0
    bad = _baton("pools", "set", "x", "many", **env)
    assert (bad.returncode, "SLOTS must be a number" in bad.stderr) == (2, True)


def test__connections_add__a_replacement_keeps_the_grant_unless_told(live_server: LiveServer) -> None:
    # Replacing a narrowed connection's password without --allow-dag used to grant it to every DAG.
    token = live_server.cli("create-admin-token", "cli-connections").strip()
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": token}
    conn_id = f"dw_{uuid.uuid4().hex[:8]}"

    def granted() -> object:
        shown = _baton("connections", "get", conn_id, "--json", **env)
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)["allowed_dag_ids"]

    made = _baton("connections", "add", conn_id, "--type", "postgres", "--allow-dag", "payroll", **env)
    assert made.stdout == f"connection {conn_id} saved; granted to payroll\n", made
    rotated = _baton("connections", "add", conn_id, "--type", "postgres", "--password", "new", **env)
    assert rotated.stdout == f"connection {conn_id} saved; granted to payroll\n", rotated
    assert granted() == ["payroll"]
    _one_line_error(
        _baton("connections", "add", conn_id, "--type", "postgres", "--allow-dag", "", **env),
        2,
        "--allow-dag needs a DAG id",
    )
    assert granted() == ["payroll"]
    opened = _baton("connections", "add", conn_id, "--type", "postgres", "--all-dags", **env)
    assert opened.stdout == f"connection {conn_id} saved; granted to every DAG\n", opened
    assert granted() is None
    fresh = _baton("connections", "add", f"{conn_id}_new", "--type", "http", **env)
    assert fresh.stdout == f"connection {conn_id}_new saved; granted to every DAG\n", fresh


def test__logs_and_tables__control_characters_a_task_stored_are_shown_escaped(
    live_server: LiveServer,
) -> None:
    # A task's log line with escape sequences (retitle the window, set the clipboard, rewrite the line)
    # reached the operator's terminal as commands.
    queued = live_server.queue_run("a")
    (ti,) = queued["task_instances"]
    hostile = "done\x1b]0;owned\x07\x1b]52;c;ZWNobyBvd25lZA==\x07\rfake line\x9b2J\tend"
    with Client(live_server.base_url, ti["workload_token"]) as task:
        started = TIRunPayload(hostname="h", pid=1, unix_user="u", start_date=datetime.now(UTC))
        task.start(uuid.UUID(ti["id"]), started)
        line = LogLine(timestamp=datetime.now(UTC), level="info", message=hostile)
        assert task.upload_logs(uuid.UUID(ti["id"]), LogBatch(lines=[line])).accepted == 1
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": live_server.admin_token}
    shown = _baton("logs", ti["id"], **env)
    assert shown.returncode == 0, shown.stderr
    for control in ("\x1b", "\x07", "\x9b"):
        assert control not in shown.stdout
    assert "done\\x1b]0;owned\\x07\\x1b]52;c;ZWNobyBvd25lZA==\\x07\\x0dfake line\\x9b2J\tend" in shown.stdout
    # --json keeps the line as stored, for machines.
    assert json.loads(_baton("logs", ti["id"], "--json", **env).stdout)[0]["message"] == hostile
    key = f"v_{uuid.uuid4().hex[:8]}"
    assert _baton("variables", "set", key, hostile, "--string", **env).returncode == 0
    listed = _baton("variables", "list", **env)
    assert "\x1b" not in listed.stdout
    assert "\\x1b]0;owned" in listed.stdout
    # Into a pipe, a value is printed as stored: a script reads what was set (bytes: text mode would
    # turn its carriage return into a newline).
    base = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    piped = subprocess.run(
        [sys.executable, "-m", "baton", "variables", "get", key],
        env={**base, **env},
        capture_output=True,
        timeout=300,
    )
    assert piped.stdout == (hostile + "\n").encode()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, "holds no .py files"),
        ({"dags.py": "import no_such_module_anywhere\n"}, "ModuleNotFoundError"),
    ],
)
def test__worker__broken_bundle__one_line_and_status_1(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = _baton("worker", "--bundle", str(tmp_path), "--token", "t", "--server", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("baton: error: bundle: ")
    assert expected in result.stderr


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--heartbeat-interval", "0"], "heartbeat_interval is a number of seconds above 0, not 0.0"),
        (["--heartbeat-interval", "nan"], "heartbeat_interval is a number of seconds above 0, not nan"),
        (["--heartbeat-interval", "inf"], "heartbeat_interval is a number of seconds above 0, not inf"),
        (["--grace-period", "-1"], "grace_period is a number of seconds, 0 or more, not -1.0"),
        (["--stop-grace", "nan"], "stop_grace is a number of seconds, 0 or more, not nan"),
        (["--warm-processes", "-3"], "warm_processes is 0 or more, not -3"),
    ],
)
def test__worker__option_out_of_range__one_line_and_status_1(
    tmp_path: Path, option: list[str], said: str
) -> None:
    # Refused before the worker starts: a heartbeat every 0 s would hammer the server, nan never come.
    (tmp_path / "bundle.py").write_text("")
    result = _baton(
        "worker", "--bundle", str(tmp_path), "--token", "t", "--server", "http://127.0.0.1:1", *option
    )
    _one_line_error(result, 1, said)


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01 00:00:00"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31 23:59:59"),
        (
            datetime(2026, 12, 7, 18, 30, 5, 500000, tzinfo=timezone(timedelta(hours=2))),
            "2026-12-07 16:30:05",
        ),
    ],
)
def test__when__every_year_in_four_digits_in_utc(moment: datetime, shown: str) -> None:
    # Logical dates go from year 1 to 9999; the tables' column says YYYY-MM-DD HH:MM:SS.
    assert when(moment) == shown


def test__every_page__collects_until_the_total_or_an_empty_page() -> None:
    data = list(range(7))
    offsets: list[int] = []

    def fetch(offset: int) -> tuple[list[int], int]:
        offsets.append(offset)
        return data[offset : offset + 3], len(data)

    assert (every_page(fetch, key=lambda n: n), offsets) == (data, [0, 3, 6])
    # Entries deleted while paging: the listing ends at the first empty page.
    assert every_page(lambda offset: ([], 5), key=lambda n: n) == []


def test__every_page__an_entry_created_while_paging__lists_each_entry_once() -> None:
    data = ["b", "c", "d", "e"]

    def fetch(offset: int) -> tuple[list[str], int]:
        page = data[offset : offset + 2]
        if offset == 0:
            data.insert(0, "a")  # created ahead of the next page: "c" moves into it
        return page, len(data)

    assert every_page(fetch, key=lambda entry: entry) == ["b", "c", "d", "e"]


def _run_json(dag_id: str, run_id: str, n: int) -> dict[str, object]:
    moment = f"2026-12-07T16:{n:02d}:00Z"
    return {
        "id": str(uuid.UUID(int=n)),
        "dag_id": dag_id,
        "run_id": run_id,
        "dag_version_id": str(uuid.UUID(int=1000 + n)),
        "run_type": "manual",
        "state": "running",
        "logical_date": moment,
        "data_interval_start": moment,
        "data_interval_end": moment,
        "conf": {},
        "queued_at": moment,
        "start_date": None,
        "end_date": None,
        "duration_seconds": None,
    }


def test__find_run__a_run_triggered_while_paging__the_run_found_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    # Newest first, two a page: the run looked for ends the first page; a run triggered before the
    # second moves it to the start of that page. It is one run of one DAG, not two DAGs' runs.
    runs = [_run_json("etl", f"manual__{n}", n) for n in (4, 3, 2, 1)]
    runs[1]["run_id"] = "wanted"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/dag-runs":
            offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
            page = runs[offset : offset + limit]
            if offset == 0:
                runs.insert(0, _run_json("etl", "manual__5", 5))
            return httpx.Response(200, json={"dag_runs": page, "total": len(runs)})
        assert request.url.path == "/api/dags/etl/dag-runs/wanted", request.url
        return httpx.Response(200, json={**runs[2], "task_instances": []})

    monkeypatch.setattr(_runs, "PAGE", 2)
    with Client("http://baton.test", "t", transport=httpx.MockTransport(handler)) as client:
        detail = _runs.find_run(client, "wanted", None)
    assert (detail.dag_id, detail.run_id) == ("etl", "wanted")


@pytest.mark.parametrize(("typed", "said"), [(b"\x04", "not confirmed"), (b"other\n", "not confirmed")])
def test__dags_delete__on_a_terminal__anything_but_the_dag_id_deletes_nothing(
    typed: bytes, said: str
) -> None:
    import pty

    # Asked on a terminal; Ctrl-D (end of input) is a no as another id is, in one line, before any request.
    base = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env = {**base, "BATON_SERVER_URL": "http://127.0.0.1:1", "BATON_ADMIN_TOKEN": "t"}
    terminal, their_end = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "baton", "dags", "delete", "etl"],
        stdin=their_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    ) as proc:
        os.close(their_end)
        try:
            assert proc.stdout is not None
            assert proc.stdout.read(len("Type the DAG id to confirm: ")) == "Type the DAG id to confirm: "
            os.write(terminal, typed)
            _, err = proc.communicate(timeout=60)
        finally:
            os.close(terminal)
    assert proc.returncode == 1, err
    assert err.splitlines()[-1] == f"baton: error: {said}: nothing was deleted"


def test__controls__clear_cancel_mark_audit_and_delete(live_server: LiveServer) -> None:
    queued = live_server.queue_run("a")
    dag_id, run_id, ti_id = queued["dag_id"], queued["run_id"], queued["task_instances"][0]["id"]
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": live_server.admin_token}

    cleared = _baton("tasks", "clear", ti_id, **env)
    assert cleared.returncode == 0, cleared
    assert cleared.stdout.startswith(f"cleared a in {dag_id} run {run_id}")
    cancelled = _baton("runs", "cancel", run_id, "--dag", dag_id, "--json", **env)
    assert cancelled.returncode == 0, cancelled
    assert json.loads(cancelled.stdout)["state"] == "failed"
    _one_line_error(_baton("runs", "cancel", run_id, **env), 1, "409 dag_run_not_running")
    marked = _baton("runs", "mark", run_id, "--state", "success", **env)
    assert marked.returncode == 0, marked
    assert marked.stdout.split("\n")[0] == f"marked {dag_id} run {run_id}: success"
    task = _baton("tasks", "mark", run_id, "a", "--dag", dag_id, "--state", "failed", **env)
    assert (task.returncode, task.stdout.strip()) == (0, f"marked {dag_id} / {run_id} / a failed")

    audit = _baton("audit", "list", "--dag", dag_id, "--json", **env)
    assert audit.returncode == 0, audit
    actions = [event["action"] for event in json.loads(audit.stdout)]
    assert actions == ["mark_task_instance", "mark_dag_run", "cancel_dag_run", "clear_task_instance"]

    _one_line_error(_baton("dags", "delete", dag_id, **env), 2, f"pass --confirm {dag_id}")
    _one_line_error(
        _baton("dags", "delete", dag_id, "--confirm", "other", **env), 1, "422 delete_not_confirmed"
    )
    deleted = _baton("dags", "delete", dag_id, "--confirm", dag_id, **env)
    assert deleted.returncode == 0, deleted
    assert deleted.stdout.startswith(f"deleted DAG {dag_id}: 1 runs, 1 task instances")


def test__backfill__create_status_list_and_bad_input(live_server: LiveServer) -> None:
    suffix = uuid.uuid4().hex[:8]
    dag_id, queue = f"cli_backfill_{suffix}", f"q_{suffix}"  # no worker claims from this queue
    with Client(live_server.base_url, live_server.worker_token) as worker:
        worker.register_worker(
            RegisterWorkerPayload.from_dict(
                {"name": f"w_{suffix}", "queues": [queue], "capacity": 1, "runtime": "python"}
            )
        )
        schedule = {"interval_seconds": 3600, "start_at": "2100-01-01T00:00:00Z"}  # none fires in the test
        task = {"task_id": "a", "entry_point": "tasks:a", "runtime": "python", "queue": queue}
        worker.register_dags(
            RegisterDagsPayload.from_dict(
                {"dags": [{"dag_id": dag_id, "tasks": [task], "schedule": schedule}]}
            )
        )
    env = {"BATON_SERVER_URL": live_server.base_url, "BATON_ADMIN_TOKEN": live_server.admin_token}
    window = ("--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T04:00:00Z")

    created = _baton("backfill", "create", dag_id, *window, "--max-active-runs", "2", "--json", **env)
    assert created.returncode == 0, created
    backfill = json.loads(created.stdout)
    assert (backfill["total_intervals"], backfill["max_active_runs"]) == (5, 2)
    deadline = time.monotonic() + 120  # the server's scheduler makes the first two runs on its next pass
    while True:
        status = _baton("backfill", "status", dag_id, backfill["id"], "--json", **env)
        assert status.returncode == 0, status
        progress = json.loads(status.stdout)
        assert progress["queued_runs"] + progress["running_runs"] <= 2
        if progress["runs_created"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (progress["runs_created"], progress["state"]) == (2, "running")
    shown = _baton("backfill", "status", dag_id, backfill["id"], **env).stdout
    assert shown.startswith(f"backfill {backfill['id']} of {dag_id}: running, 2/5 intervals handled")
    listed = _baton("backfill", "list", dag_id, **env)
    assert (listed.returncode, backfill["id"] in listed.stdout) == (0, True)

    _one_line_error(_baton("backfill", "create", dag_id, *window, **env), 1, "409 backfill_already_running")
    reversed_window = ("--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z")
    _one_line_error(
        _baton("backfill", "create", dag_id, *reversed_window, **env), 1, "422 invalid_backfill_range"
    )
    _one_line_error(_baton("backfill", "create", "no_such_dag", *window, **env), 1, "404 dag_not_found")
    naive = ("--from", "2026-01-01T00:00:00", "--to", "2026-01-01T04:00:00Z")
    bad = _baton("backfill", "create", dag_id, *naive, **env)
    assert (bad.returncode, "has no time zone" in bad.stderr) == (2, True)
    bad = _baton("backfill", "status", dag_id, "nope", **env)
    assert (bad.returncode, "is not a backfill id" in bad.stderr) == (2, True)
