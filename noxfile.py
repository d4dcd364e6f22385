"""The one command surface of the Baton monorepo; ``nox -l`` lists the sessions.

Every session installs the workspace from ``uv.lock`` (exact versions) into its own virtualenv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
PYTHON = "3.11"
WORKSPACE_DIRS = ["server", "clients/python", "codegen", "conformance"]
"""The uv workspace's members (pyproject.toml), each with its package under ``src/``."""
PY_SOURCES = [*(f"{d}/src" for d in WORKSPACE_DIRS), "noxfile.py", "scripts"]

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True


def _sync(session: nox.Session) -> None:
    """Install every workspace package and the dev tools, exactly as locked, with their bytecode compiled.

    Compiled at install, as pip does: where ``PYTHONDONTWRITEBYTECODE`` is set (common in containers
    and CI images), every server, worker and task process would otherwise compile its imports
    again, about 4 s of CPU per server start.
    """
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--all-packages",
        "--group",
        "dev",
        "--inexact",
        "--compile-bytecode",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        silent=True,
    )
    # The workspace packages are installed editable: their sources are compiled where they are.
    session.run_install(
        "python", "-m", "compileall", "-q", *(str(ROOT / d / "src") for d in WORKSPACE_DIRS), silent=True
    )


def _postgres_url(session: nox.Session) -> str | None:
    """The PostgreSQL URL for the second test run: from the environment, or a local throw-away cluster."""
    url = os.environ.get("BATON_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        out = subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "start"], check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as exc:
        if os.environ.get("CI"):
            session.error(f"PostgreSQL is required in CI: {exc.stderr.strip()}")
        session.warn(f"skipping the PostgreSQL run: {exc.stderr.strip()}")
        return None
    return out.stdout.strip()


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict on the hand-written Python."""
    _sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", *PY_SOURCES)


def _tool(session: nox.Session, name: str, fallback: str | None = None) -> str:
    """A non-Python toolchain the tests need (go, mvn): from PATH, else ``fallback``; missing is an error."""
    found = shutil.which(name) or (fallback if fallback and Path(fallback).exists() else None)
    if found is None:
        session.error(f"{name} is required (Go 1.26+ and Maven 3.8+ with Java 17 build the clients)")
    return found


def _protoc(session: nox.Session) -> None:
    """protoc, which generates the Go bundle plugin contract's code (codegen, its checks, conformance)."""
    _debian_packages(session, "protoc:protobuf-compiler")


def _browser(session: nox.Session) -> None:
    """Chromium and its driver, for the web UI's browser test (clients/python/tests/test_ui_browser.py)."""
    _debian_packages(session, "chromium", "chromedriver:chromium-driver")


def _client_env(session: nox.Session) -> dict[str, str]:
    """What the Go and Java live-server tests need to start ``baton-server`` from this session."""
    bin_dir = Path(str(session.bin))
    return {"BATON_SERVER": str(bin_dir / "baton-server")}


def _go_client(session: nox.Session, postgres_url: str | None = None) -> list[Command]:
    """Build and test the Go client, SDK and worker against a live server (on PostgreSQL when a URL is
    given: :func:`_go_worker_on_sqlite` then runs the worker's integration test on SQLite as well). The
    commands run from the repository's root (``go -C``), so that they can run beside other suites."""
    env = _client_env(session)
    return [
        Command([*_go(session), "vet", "./..."], env),
        Command(
            [*_go(session), "test", "-count=1", "./..."],
            {**env, "BATON_TEST_POSTGRES_URL": postgres_url or ""},
        ),
    ]


def _go_worker_on_sqlite(session: nox.Session) -> Command:
    """The Go worker's integration test on a SQLite server (after :func:`_go_client` ran it on PostgreSQL)."""
    env = {**_client_env(session), "BATON_TEST_POSTGRES_URL": ""}
    return Command([*_go(session), "test", "-count=1", "./internal/integration"], env)


def _go(session: nox.Session) -> list[str]:
    """``go -C clients/go``: the Go toolchain, working in the Go module from the repository's root."""
    return [_tool(session, "go", "/usr/local/go/bin/go"), "-C", str(ROOT / "clients" / "go")]


def _java_client(session: nox.Session, postgres_url: str | None = None) -> list[Command]:
    """Build and test the Java client, SDK and worker against a live server (on PostgreSQL when a URL is
    given), from the repository's root (``mvn -f``)."""
    on_postgres = {**_client_env(session), "BATON_TEST_POSTGRES_URL": postgres_url or ""}
    pom = str(ROOT / "clients" / "java" / "pom.xml")
    return [Command([_tool(session, "mvn"), "-B", "-q", "-f", pom, "verify"], on_postgres)]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Everything CI runs: lint, drift checks, suites on SQLite and PostgreSQL, the Go and Java clients."""
    _sync(session)
    _protoc(session)
    _browser(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "-m", "baton_server.spec", "check", "spec")
    _spec_gates(session)
    # The slowest tests of each run are listed in its log, where CI time can be won back.
    pytest = ["pytest", "--durations=15"]
    url = _postgres_url(session)
    sqlite, pg = {"BATON_TEST_POSTGRES_URL": ""}, {"BATON_TEST_POSTGRES_URL": url or ""}
    # Independent suites (each test takes its own port, temp dir and database), longest first: one
    # queue, SUITES_AT_ONCE of them at a time, the next starting as soon as one ends. Two stages (the
    # test runs, then conformance beside the clients and the faults) left the machine half idle while
    # the longer test run finished its last, slow tests alone.
    suites: dict[str, list[Command]] = {}
    # The slower checks: types, the generated clients' drift, and the hand-written layers built over
    # every supported version's generated code.
    toolchains = _toolchains_env(session)
    checks = [
        Command(["mypy", *PY_SOURCES], {}),
        Command(["python", "-m", "baton_codegen", "check"], toolchains),
        Command(["python", "-m", "baton_codegen", "verify"], toolchains),
    ]
    if session.posargs:
        for command in checks:
            session.run(*command.args, env=command.env)
        suites["test run: SQLite"] = [Command([*pytest, *session.posargs], sqlite)]
        if url:
            suites["test run: PostgreSQL"] = [Command([*pytest, *session.posargs], pg)]
        _side_by_side(session, suites)
        return
    # Longest first (wall seconds in CI, three at a time): the server's tests on SQLite 733 and on
    # PostgreSQL 685, the Python client's 478, schemathesis on PostgreSQL 360 and on SQLite 284, the
    # faults 241, the Go client 200, the Java client 198 (the demo then about 60), the Go worker on
    # SQLite 175, the checks 174, the end-to-end tests on PostgreSQL 122, the client matrix 118.
    suites["the server's tests on SQLite"] = [Command([*pytest, "server/tests"], sqlite)]
    if url:
        suites["the server's tests on PostgreSQL"] = [Command([*pytest, "server/tests"], pg)]
    others = ["clients/python/tests", "codegen/tests", "conformance/tests"]
    suites["the Python client's, codegen's and conformance's tests on SQLite"] = [
        Command([*pytest, *others], sqlite)
    ]
    # Schemathesis and the client matrix are separate suites, so that each has the whole bound of one
    # (on a machine kept busy by four other processes, together they took longer than it).
    if url:
        suites["conformance: schemathesis on PostgreSQL, every API version"] = [
            _conformance_command(session, "--no-matrix", "--postgres", url)
        ]
    suites["conformance: schemathesis, every API version"] = [_conformance_command(session, "--no-matrix")]
    # Mostly waiting out its timeouts (its bounds held on a machine at load 10-16, docs/reliability.md).
    suites["faults: servers, workers, PostgreSQL and HAProxy killed, restarted and frozen"] = [
        _faults_command(session)
    ]
    suites["the Go client"] = _go_client(session, url)
    # The README's first command, the demo, after the Java client: its `mvn install` writes the
    # modules' target folders that the Java client's build uses.
    suites["the Java client; the demo"] = [
        *_java_client(session, url),
        Command(["python", "scripts/demo.py"], _toolchains_env(session)),
    ]
    if url:
        suites["the Go worker on SQLite"] = [_go_worker_on_sqlite(session)]
    suites["mypy, and the generated clients: their drift, their builds under every version"] = checks
    if url:
        # The end-to-end tests touch the database; the client's other tests use a SQLite server either way.
        suites["the Python client's end-to-end tests on PostgreSQL"] = [
            Command([*pytest, "clients/python/tests", "-m", "e2e"], pg)
        ]
    suites["conformance: every client at every API version"] = [
        _conformance_command(session, "--no-schemathesis")
    ]
    _side_by_side(session, suites, at_once=SUITES_AT_ONCE)


SUITES_AT_ONCE = 3
"""How many of ``tests``' suites run at a time on this 2-core machine: most of them wait on servers,
workers and timeouts part of the time, and a third fills that. In one queue CI took 23 minutes, where
two stages (the test runs two at a time, then five suites three at a time) took 35-38."""


COMMAND_TIMEOUT_S = 2700
"""A bound on one command of a side-by-side suite, so that a hang fails with its log printed.

Per command, not per suite: a suite of several commands on a machine kept busy by four other
processes runs about four times slower than on an idle one (schemathesis on PostgreSQL: 7.5 minutes
idle, 31 loaded), and must still pass. The longest command took 14 minutes in CI, 31 loaded.
"""


@dataclass(frozen=True)
class Command:
    """One command of a suite, with what it adds to the session's environment."""

    args: list[str]
    env: dict[str, str]


def _side_by_side(session: nox.Session, suites: dict[str, list[Command]], at_once: int = 0) -> None:
    """Run the suites side by side (at most ``at_once`` at a time, in the order given; 0: all at once),
    each one's commands in order; print their outputs whole; fail if any failed.

    A suite's output goes to build/ci/<suite>.log while it runs, and is printed once it is done, so
    that the outputs never interleave. Commands go through ``session.run`` (``--install-only``
    skips them, the session's environment applies).
    """
    logs = ROOT / "build" / "ci"
    logs.mkdir(parents=True, exist_ok=True)
    timeout = shutil.which("timeout") or "timeout"

    def run(name: str, commands: list[Command]) -> tuple[str, bool, float, Path]:
        log = logs / (re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() + ".log")
        session.log(f"{name}: started")
        started = time.monotonic()
        with log.open("w") as out:
            for command in commands:
                out.write(f"$ {' '.join(command.args)}\n")
                out.flush()
                command_started = time.monotonic()
                try:
                    # timeout(1) ends the command's whole process group, servers it started included.
                    session.run(
                        timeout,
                        "--kill-after=60",
                        str(COMMAND_TIMEOUT_S),
                        *command.args,
                        env=command.env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        external=True,
                    )
                except CommandFailed:
                    if time.monotonic() - command_started >= COMMAND_TIMEOUT_S:
                        out.write(f"\n{name}: no result within {COMMAND_TIMEOUT_S} s: stopped\n")
                    return name, False, time.monotonic() - started, log
        return name, True, time.monotonic() - started, log

    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=at_once or len(suites)) as pool:
        for future in as_completed([pool.submit(run, name, commands) for name, commands in suites.items()]):
            name, passed, seconds, log = future.result()
            print(log.read_text(errors="replace"), flush=True)
            session.log(
                f"{name}: {'passed' if passed else 'FAILED'} in {seconds:.0f} s, log {log.relative_to(ROOT)}"
            )
            if not passed:
                failed.append(name)
    if failed:
        session.error(f"failed: {', '.join(failed)}")


def _debian_packages(session: nox.Session, *names: str) -> None:
    """Install the named tools from Debian's packages when absent (scripts/debian-package.sh)."""
    session.run(str(ROOT / "scripts" / "debian-package.sh"), *names, external=True)


def _faults_command(session: nox.Session, *args: str) -> Command:
    """The fault suite's pytest command, HAProxy installed first (the suite runs its own PostgreSQL)."""
    _debian_packages(session, "haproxy")
    return Command(["pytest", "faults", "-p", "no:cacheprovider", *args], {"BATON_TEST_POSTGRES_URL": ""})


@nox.session(python=PYTHON)
def faults(session: nox.Session) -> None:
    """The fault suite: real servers, workers, PostgreSQL and HAProxy killed, restarted and frozen.

    Fails on any lost or duplicated task, transition or log line; prints the figures and writes them to
    build/faults/figures.md (docs/reliability.md quotes a run). Runs its own PostgreSQL cluster.
    """
    _sync(session)
    command = _faults_command(session, *session.posargs)
    session.run(*command.args, env=command.env)


def _conformance_command(session: nox.Session, *args: str) -> Command:
    """``baton-conformance run`` with Go and Maven on its PATH."""
    return Command(["baton-conformance", "run", *args], _toolchains_env(session))


def _toolchains_env(session: nox.Session) -> dict[str, str]:
    """A PATH with the session's tools, Go and Maven (what builds the generated clients)."""
    _tool(session, "go", "/usr/local/go/bin/go")
    _tool(session, "mvn")
    return {"PATH": os.pathsep.join([str(session.bin), "/usr/local/go/bin", os.environ.get("PATH", "")])}


def _conformance(session: nox.Session, *args: str) -> None:
    command = _conformance_command(session, *args)
    session.run(*command.args, env=command.env)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Schemathesis against every API version, and the scenarios through every client at every version.

    Writes docs/compatibility.md. ``-- --target URL --admin-token T --worker-token T`` runs it against a
    deployment instead of a local server.
    """
    _sync(session)
    _protoc(session)
    _conformance(session, *session.posargs)


@nox.session(python=PYTHON)
def spec(session: nox.Session) -> None:
    """Regenerate spec/ from the code; with ``-- --check``, fail when the committed files differ."""
    _sync(session)
    action = "check" if "--check" in session.posargs else "write"
    session.run("python", "-m", "baton_server.spec", action, "spec")


def _spec_gates(session: nox.Session) -> None:
    _tool(session, "go", "/usr/local/go/bin/go")
    _tool(session, "npm")
    session.run("python", "-m", "baton_codegen", "gates")


@nox.session(name="spec_gates", python=PYTHON)
def spec_gates(session: nox.Session) -> None:
    """The spec gates: Redocly lints every spec/ document; oasdiff's breaking changes must all be declared."""
    _sync(session)
    _spec_gates(session)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate the clients under clients/ from the latest spec; with ``-- --check``, fail on drift."""
    _sync(session)
    _protoc(session)
    action = "check" if "--check" in session.posargs else "write"
    session.run("python", "-m", "baton_codegen", action)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark the execution API with wrk, then workers (``-- --against airflow``: beside Airflow 3.3.2, its
    execution API and its LocalExecutor end to end)."""
    _sync(session)
    _debian_packages(session, "wrk")
    url = _postgres_url(session)
    if url is None:
        session.error("the benchmark needs PostgreSQL")
    session.run("python", "server/benchmarks/bench_execution_api.py", "--postgres-url", url, *session.posargs)
    session.log("the API server's cold start to a healthy /execution/health")
    session.run("python", "server/benchmarks/bench_cold_start.py", "--postgres-url", url)
    session.log("heartbeats beside the scheduler, with 5,000 running tasks: scheduler on / off")
    session.run("python", "server/benchmarks/bench_scheduler_load.py", "--postgres-url", url)
    session.log("what idle workers long-polling an empty queue cost the server")
    session.run("python", "server/benchmarks/bench_idle_workers.py", "--postgres-url", url)
    for limited in ("none", "tasks"):
        session.log(f"claims of 16 workloads at once, a pool limited: {limited}")
        session.run(
            "python",
            "server/benchmarks/bench_claim_batches.py",
            "--postgres-url",
            url,
            "--limited-pool",
            limited,
        )
    # The Go worker end to end: overhead per no-op task and tasks per second (builds with go build).
    _tool(session, "go", "/usr/local/go/bin/go")
    session.run("python", "server/benchmarks/bench_go_worker.py", "--postgres-url", url)
    session.log("the Java worker: overhead per no-op task and no-op tasks/s")
    session.run("python", "server/benchmarks/bench_java_worker.py", "--postgres-url", url)
    for isolation in ("process", "thread"):
        session.log(f"the Python worker, {isolation} isolation: overhead per no-op task and no-op tasks/s")
        session.run(
            "python",
            "server/benchmarks/bench_python_worker.py",
            "--postgres-url",
            url,
            "--isolation",
            isolation,
            "--out",
            f"build/bench-python-worker-{isolation}.json",
        )
    session.log("the Python worker's latency through two server processes on PostgreSQL (wake-up relay)")
    session.run(
        "python",
        "server/benchmarks/bench_python_worker.py",
        "--postgres-url",
        url,
        "--skip-throughput",
        "--latency-processes",
        "2",
        "--latency-pool-size",
        "4",
        "--out",
        "build/bench-python-worker-processes.json",
    )
    session.log("the Python worker's latency through two server processes on SQLite (wake-ups over sockets)")
    session.run(
        "python",
        "server/benchmarks/bench_python_worker.py",
        "--skip-throughput",
        "--latency-processes",
        "2",
        "--out",
        "build/bench-python-worker-processes-sqlite.json",
    )
    if "airflow" in session.posargs:
        session.log("Airflow's LocalExecutor end to end, the Python worker's anchor (no-op tasks/s)")
        session.run("python", "server/benchmarks/bench_airflow_local_executor.py", "--postgres-url", url)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """A server (embedded SQLite) and a worker run the example DAG, showing its progress and logs."""
    _sync(session)
    session.run("python", "scripts/demo.py")


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Start a server on the embedded default (SQLite under .baton/) on 127.0.0.1:8080."""
    _sync(session)
    session.run("baton-server", "serve", external=False)
