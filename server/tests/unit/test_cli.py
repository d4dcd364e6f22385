"""The ``baton-server`` command as an operator meets it: real subprocesses, real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import DatabaseFactory

START_PATIENCE = 300.0
"""Seconds a server subprocess may take to start or stop before a test gives up on it."""


def _run(
    args: list[str], env: dict[str, str], timeout: float = START_PATIENCE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baton_server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["BATON_DATA_DIR"] = str(tmp_path / "data")
    # A free port unless the test sets one: the default (8080) may be taken on the machine.
    env["BATON_PORT"] = str(_free_port())
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test__serve__starts_and_answers_health_on_sqlite(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, BATON_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "baton_server.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Minutes, not seconds: on a loaded machine a cold start takes long; a verdict never hangs on speed.
        deadline = time.monotonic() + START_PATIENCE
        last_error: Exception | None = None
        # One client for every probe: a client per probe builds an SSL context each time (tens of ms of
        # CPU), which on a small machine slows the very start it waits for.
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < deadline:
                try:
                    for prefix in ("/execution", "/workers", "/api"):
                        response = http.get(f"http://127.0.0.1:{port}{prefix}/health")
                        assert response.status_code == 200
                    break
                except httpx.TransportError as exc:
                    last_error = exc
                    time.sleep(0.1)
            else:
                pytest.fail(f"the server did not answer within {START_PATIENCE:g} s: {last_error}")
        assert (tmp_path / "data" / "baton.db").exists()
        assert (tmp_path / "data" / "signing.key").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=START_PATIENCE)


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_PATIENCE
    while text not in path.read_text(errors="replace"):
        assert proc.poll() is None, f"it exited ({proc.returncode}):\n{path.read_text(errors='replace')}"
        assert time.monotonic() < deadline, f"no {text!r} within {START_PATIENCE:g} s:\n{path.read_text()}"
        time.sleep(0.2)


def test__standalone_scheduler__takes_the_servers_for_down_until_one_marks_itself_up(tmp_path: Path) -> None:
    # The scheduler hears heartbeats through the servers' database only: with no server up it judges no
    # silence (baton_server.presence), and a `serve` it did not start is heard within seconds.
    env = _env(tmp_path, BATON_RUN_SCHEDULER="false")
    scheduler_log = tmp_path / "scheduler.log"
    with scheduler_log.open("wb") as out:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "baton_server.cli", "scheduler"], env=env, stdout=out, stderr=out
        )
    server: subprocess.Popen[bytes] | None = None
    try:
        _wait_for_line(scheduler_log, "no API server has marked itself up", scheduler)
        server = subprocess.Popen(
            [sys.executable, "-m", "baton_server.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_line(scheduler_log, "an API server is up again", scheduler)
    finally:
        for proc in (p for p in (server, scheduler) if p is not None):
            proc.terminate()
            proc.wait(timeout=START_PATIENCE)


def test__serve__port_in_use__one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(["serve"], _env(tmp_path, BATON_PORT=str(port)))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "BATON_PORT" in result.stderr
    assert "already in use" in result.stderr


def _listeners(port: int) -> int:
    """How many sockets listen on ``port`` (IPv4, any address), from the kernel's table."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")


def _serving(log: Path, processes: int) -> bool:
    return log.read_text(errors="replace").count("Application startup complete") >= processes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT and abstract sockets: Linux")
@pytest.mark.parametrize("processes", [1, 2])
def test__serve__a_second_serve_on_the_same_address__refuses_in_one_line__the_first_keeps_it(
    tmp_path: Path, processes: int
) -> None:
    # Started together, as a unit file and a hand beside it might: both pass the port check long before
    # either binds (a start takes seconds), and each on a database of its own, as a mistake would.
    env = _env(tmp_path, BATON_PROCESSES=str(processes))
    port = int(env["BATON_PORT"])
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    procs: list[subprocess.Popen[bytes]] = []
    for n, log in enumerate(logs):
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "baton_server.cli", "serve"],
                    env={**env, "BATON_DATA_DIR": str(tmp_path / f"data{n}")},
                    stdout=out,
                    stderr=out,
                )
            )
    try:
        deadline = time.monotonic() + START_PATIENCE
        while all(p.poll() is None for p in procs) and not all(_serving(log, processes) for log in logs):
            assert time.monotonic() < deadline, "neither refused nor served:\n" + logs[1].read_text()
            time.sleep(0.2)
        refused = [n for n, p in enumerate(procs) if p.poll() is not None]
        assert len(refused) == 1, "both serve the port:\n" + "\n".join(log.read_text() for log in logs)
        (loser,) = refused
        winner = procs[1 - loser]
        said = logs[loser].read_text(errors="replace").strip()
        assert procs[loser].returncode == 2, said
        assert said == (
            f"baton-server: error: BATON_PORT: another baton-server serve (pid {winner.pid}) already serves "
            f"127.0.0.1:{port}; stop it first, or choose another port"
        )
        while not _serving(logs[1 - loser], processes):
            assert winner.poll() is None, logs[1 - loser].read_text()
            assert time.monotonic() < deadline, logs[1 - loser].read_text()
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30).status_code == 200
        assert _listeners(port) == processes  # the processes of the one serve share the port
        winner.terminate()
        winner.wait(timeout=START_PATIENCE)
        # The address is free with the last process that held it: the next start serves.
        result = subprocess.Popen(
            [sys.executable, "-m", "baton_server.cli", "serve"], env=env, stdout=subprocess.DEVNULL
        )
        procs.append(result)
        with httpx.Client(timeout=5) as http:  # one client for every probe (see above)
            while True:
                assert result.poll() is None, "the next start exited"
                assert time.monotonic() < deadline, "the next start did not serve"
                try:
                    if http.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=START_PATIENCE)


def test__serve__malformed_database_url__one_line(tmp_path: Path) -> None:
    result = _run(["serve"], _env(tmp_path, BATON_DATABASE_URL="not a url"))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "BATON_DATABASE_URL" in result.stderr


def test__serve__unsupported_driver__one_line(tmp_path: Path) -> None:
    result = _run(["serve"], _env(tmp_path, BATON_DATABASE_URL="mysql://u@127.0.0.1/x"))
    assert result.returncode != 0
    assert "BATON_DATABASE_URL" in result.stderr
    assert "unsupported driver" in result.stderr


def test__serve__unreachable_database__one_line(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    result = _run(["serve"], _env(tmp_path, BATON_DATABASE_URL=f"postgresql://baton@127.0.0.1:{port}/baton"))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "BATON_DATABASE_URL" in result.stderr
    assert "cannot connect" in result.stderr


def test__bad_port_setting__one_line(tmp_path: Path) -> None:
    result = _run(["serve"], _env(tmp_path, BATON_PORT="seventy"))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "BATON_PORT" in result.stderr


@pytest.mark.parametrize("log_format", ["text", "json"])
def test__process_logging__takes_every_level_the_settings_take(log_format: str) -> None:
    # 'trace' is uvicorn's level: the scheduler's process, which never imports uvicorn, failed on it with
    # "Unknown level: 'TRACE'". In a process of its own: logging's configuration is global.
    from baton_server.config import LOG_LEVELS

    script = (
        "import logging\n"
        "from baton_server.config import Settings\n"
        "from baton_server.logging_config import configure_process_logging\n"
        f"for level in {[level.upper() for level in LOG_LEVELS]!r}:\n"
        "    logging.getLogger().handlers.clear()\n"
        f"    configure_process_logging(Settings(log_level=level, log_format={log_format!r}))\n"
        "    print(logging.getLevelName(logging.getLogger().level))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=START_PATIENCE, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [level.upper() for level in LOG_LEVELS]


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("BATON_LOG_LEVEL", "loud", "'loud' is not a log level; one of critical, error"),
        ("BATON_RETENTION", "5x", "'5x' is not a duration like 30d, 12h, 15m or 90s"),
        # A bare number was read as seconds: `30` meant as days deleted almost every finished run each hour.
        ("BATON_RETENTION", "30", "'30' has no unit: say 30d for days"),
        ("BATON_MAX_API_VERSION", "2020-01-01", "'2020-01-01' is not an API version of this server"),
        ("BATON_SIGNING_KEY", "short", "at least 32 bytes"),
        # `Authorization: Bearer ` with nothing after it was let in to /metrics.
        ("BATON_METRICS_TOKEN", " ", "empty; unset it to serve /metrics without a token"),
        # Past a week a deadline (now minus the timeout) left the calendar in every scheduler pass.
        ("BATON_HEARTBEAT_TIMEOUT", "inf", "less than or equal to 604800"),
        ("BATON_CLAIM_TIMEOUT", "1e15", "less than or equal to 604800"),
        ("BATON_WORKLOAD_TOKEN_TTL", "99999999999999", "less than or equal to 2592000"),
        (
            "BATON_DATA_DIR",
            "/proc/baton-nowhere",
            "cannot keep the generated key /proc/baton-nowhere/signing.key",
        ),
        (
            "BATON_DATABASE_URL",
            "sqlite+aiosqlite:////proc/baton-nowhere/baton.db",
            "cannot create the database's folder /proc/baton-nowhere",
        ),
    ],
)
def test__bad_setting__one_line_naming_it(tmp_path: Path, setting: str, value: str, said: str) -> None:
    result = _run(["serve"], _env(tmp_path, **{setting: value}))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"baton-server: error: {setting}: " in result.stderr
    assert said in result.stderr
    # Once, and in Baton's words: not "BATON_X: Value error, BATON_X: ..." (pydantic's prefix).
    assert result.stderr.count(setting) == 1, result.stderr
    assert "Value error" not in result.stderr, result.stderr


def test__more_processes_than_pooled_connections__one_line_naming_both(tmp_path: Path) -> None:
    result = _run(["serve"], _env(tmp_path, BATON_PROCESSES="4", BATON_DB_POOL_SIZE="3"))
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "BATON_DB_POOL_SIZE (3) must be at least BATON_PROCESSES (4)" in result.stderr


async def test__credentials__issue_list_revoke(tmp_path: Path, databases: DatabaseFactory) -> None:
    env = _env(tmp_path, BATON_DATABASE_URL=await databases.create())
    issued = _run(["create-worker-credential", "w1", "--json"], env)
    assert issued.returncode == 0, issued.stderr
    import json

    data = json.loads(issued.stdout)
    assert data["token"].startswith("baton_worker_")
    listed = _run(["list-credentials", "--json"], env)
    assert data["id"] in listed.stdout
    assert data["token"] not in listed.stdout
    revoked = _run(["revoke-credential", data["id"]], env)
    assert revoked.returncode == 0, revoked.stderr
    missing = _run(["revoke-credential", "00000000-0000-0000-0000-000000000000"], env)
    assert missing.returncode == 1
    assert "no credential" in missing.stderr


def test__db_migrate_downgrade__round_trip(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(["db", "migrate"], env).returncode == 0
    down = _run(["db", "downgrade", "base"], env)
    assert down.returncode == 0, down.stderr
    assert "base" in down.stdout
    current = _run(["db", "current"], env)
    assert "behind" in current.stdout
    assert _run(["db", "migrate"], env).returncode == 0
    assert "up to date" in _run(["db", "current"], env).stdout
    # A revision the code does not know, in one line.
    for args in (["db", "downgrade", "nonsense"], ["db", "migrate", "--revision", "9999"]):
        unknown = _run(args, env)
        assert unknown.returncode == 1, unknown.stderr
        assert "Can't locate revision identified by" in unknown.stderr
        assert "Traceback" not in unknown.stderr


def test__database_a_newer_release_migrated__every_command_says_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    env = _env(tmp_path)
    assert _run(["db", "migrate"], env).returncode == 0
    # A newer release's migration, which this code does not know, as after rolling a server back.
    with sqlite3.connect(tmp_path / "data" / "baton.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    current = _run(["db", "current"], env)
    assert current.returncode == 0, current.stderr
    assert "database at revision 0099 (ahead: this server knows revisions up to" in current.stdout
    for command in (
        ["db", "migrate"],
        ["db", "downgrade", "base"],
        ["serve"],
        ["scheduler"],
        ["list-credentials"],
        ["revoke-credential", "00000000-0000-0000-0000-000000000000"],
    ):
        refused = _run(command, env)
        assert refused.returncode == 2, (command, refused.stderr)
        assert "Traceback" not in refused.stderr
        assert "at revision 0099, which this server does not know" in refused.stderr
        assert "a newer release of Baton migrated it" in refused.stderr
    with sqlite3.connect(tmp_path / "data" / "baton.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]


def test__credentials__listed_and_revoked_on_a_database_not_migrated__no_traceback(tmp_path: Path) -> None:
    # The first command run against a new database (or one a server never started on) may list or
    # revoke: it migrates the database as the commands that issue do, rather than print a traceback.
    env = _env(tmp_path)
    listed = _run(["list-credentials", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"
    missing = _run(["revoke-credential", "00000000-0000-0000-0000-000000000000"], _env(tmp_path / "other"))
    assert missing.returncode == 1, missing.stderr
    assert "Traceback" not in missing.stderr
    assert "no credential 00000000-0000-0000-0000-000000000000" in missing.stderr
    # Without migrating at start, one line that names the command that does.
    behind = _run(["list-credentials"], _env(tmp_path / "third", BATON_AUTO_MIGRATE="false"))
    assert behind.returncode == 2, behind.stderr
    assert "Traceback" not in behind.stderr
    assert "run `baton-server db migrate`" in behind.stderr


def test__credential_issue__refuses_an_empty_scope_and_a_bad_name__issuing_nothing(tmp_path: Path) -> None:
    # `--dags "$PATTERNS"` with the variable empty asked for a scope: it is refused, never issued unscoped
    # (nor as a credential that serves nothing, listed as every DAG).
    env = _env(tmp_path)
    for args, said in (
        (["create-worker-credential", "w", "--dags", ""], "needs at least one DAG id pattern"),
        (["create-worker-credential", "w", "--dags", ","], "needs at least one DAG id pattern"),
        (["create-worker-credential", "  "], "name is 1 to 250 characters, not blank"),
        (["create-admin-token", "x" * 251], "name is 1 to 250 characters, not blank"),
    ):
        refused = _run(args, env)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert said in refused.stderr
        assert "Traceback" not in refused.stderr
    assert _run(["list-credentials", "--json"], env).stdout.strip() == "[]"
    assert _run(["create-admin-token", "x" * 250], env).returncode == 0


async def test__worker_credential__scoped_to_dag_patterns(tmp_path: Path, databases: DatabaseFactory) -> None:
    import json

    # A fresh database each run: the server's own database would keep the last run's credentials.
    env = _env(tmp_path, BATON_DATABASE_URL=await databases.create())
    issued = _run(
        ["create-worker-credential", "team-a", "--dags", "team_a_*,shared", "--dags", "x?", "--json"], env
    )
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout)["dags"] == ["team_a_*", "shared", "x?"]
    listed = json.loads(_run(["list-credentials", "--json"], env).stdout)
    assert [c["dags"] for c in listed if c["name"] == "team-a"] == [["team_a_*", "shared", "x?"]]
    bad = _run(["create-worker-credential", "team-b", "--dags", "team b"], env)
    assert bad.returncode == 2
    assert "not a DAG id pattern" in bad.stderr


async def test__keys__rotate_and_list(tmp_path: Path, databases: DatabaseFactory) -> None:
    import json

    env = _env(tmp_path, BATON_DATABASE_URL=await databases.create())
    assert "no rotated key" in _run(["keys", "list"], env).stdout
    first = _run(["keys", "rotate"], env)
    assert first.returncode == 0, first.stderr
    assert "is active" in first.stdout
    second = json.loads(_run(["keys", "rotate", "--algorithm", "EdDSA", "--json"], env).stdout)
    assert second["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    keys = json.loads(_run(["keys", "list", "--json"], env).stdout)
    assert [k["kid"] for k in keys if k["retired_at"] is None] == [second["kid"]]
    assert {k["kid"] for k in keys} >= {"static", second["kid"]}
    assert "PRIVATE" not in json.dumps(keys)
    listed = _run(["keys", "list"], env).stdout
    assert f"{second['kid']}" in listed
    assert "retired" in listed
    dropped = _run(["keys", "rotate", "--drop-previous"], env)
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped" in dropped.stdout
    after = json.loads(_run(["keys", "list", "--json"], env).stdout)
    assert {k["kid"] for k in after} == {"static", *(k["kid"] for k in after if k["retired_at"] is None)}
    bad = _run(["keys", "rotate", "--algorithm", "RS256"], env)
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
