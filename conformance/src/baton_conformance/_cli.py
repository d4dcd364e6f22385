"""``baton-conformance run``: schemathesis and the client matrix, against a local server or a target URL.

    baton-conformance run                       # a local server (SQLite), every version and language
    baton-conformance run --target URL --admin-token T --worker-token T [--signing-key K]

Exit status 0 when everything passed, 1 when a check failed, 2 when the run could not be set up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from baton_conformance import _report
from baton_conformance._capabilities import load_all
from baton_conformance._errors import ConformanceError
from baton_conformance._matrix import Cell, build_all, run_cell
from baton_conformance._runners import LANGUAGES, ROOT
from baton_conformance._scenarios import load_scenarios
from baton_conformance._schemathesis import SchemathesisResult, run_schemathesis
from baton_conformance._server import LocalServer, Target

DEFAULT_EXAMPLES = 10


def _log(message: str) -> None:
    print(f"conformance: {message}", flush=True)


def _versions() -> list[str]:
    index = json.loads((ROOT / "spec" / "versions.json").read_text())
    return [v["version"] for v in index["versions"]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baton-conformance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run schemathesis and the client matrix")
    run.add_argument("--target", help="base URL of a running server (default: start one locally)")
    run.add_argument("--admin-token", default=os.environ.get("BATON_CONFORMANCE_ADMIN_TOKEN"))
    run.add_argument("--worker-token", default=os.environ.get("BATON_CONFORMANCE_WORKER_TOKEN"))
    run.add_argument(
        "--signing-key",
        default=os.environ.get("BATON_CONFORMANCE_SIGNING_KEY"),
        help="the target's signing key, to mint an expired task token (else those steps are skipped)",
    )
    run.add_argument("--versions", help="comma-separated API versions (default: spec/versions.json)")
    run.add_argument("--languages", default=",".join(LANGUAGES))
    run.add_argument(
        "--examples", type=int, default=DEFAULT_EXAMPLES, help="schemathesis examples per operation"
    )
    run.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run the local server on a fresh database in this PostgreSQL cluster (default: SQLite)",
    )
    run.add_argument("--no-schemathesis", action="store_true")
    run.add_argument("--no-matrix", action="store_true")
    run.add_argument(
        "--report",
        type=Path,
        default=ROOT / "docs" / "compatibility.md",
        help="where to write the compatibility report (local runs of every version only)",
    )
    run.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    return parser


def _served_latest(target: Target) -> str:
    response = httpx.get(f"{target.base_url}/execution/health", timeout=30)
    response.raise_for_status()
    return response.headers["Baton-API-Version"]


def _run(args: argparse.Namespace, work: Path) -> int:
    started = time.monotonic()
    versions = args.versions.split(",") if args.versions else _versions()
    languages = [lang for lang in args.languages.split(",") if lang]
    scenarios = load_scenarios()
    st_results: list[SchemathesisResult] = []
    cells: list[Cell] = []
    cap: str | None = None
    with _TargetOf(args, work) as target:
        served_latest = _served_latest(target)
        served = [v for v in versions if v <= served_latest]
        newer = [v for v in versions if v > served_latest]
        if not args.no_schemathesis:
            for version in served:
                with _FreshTarget(args, work, target, f"server-{version}") as version_target:
                    result = run_schemathesis(version_target, version, args.examples, work)
                st_results.append(result)
                _log(
                    f"schemathesis {version}: {'pass' if result.passed else 'FAIL'} "
                    f"({len(result.tested)}/{len(result.operations)} operations, {result.seconds:.0f} s)"
                )
                for failure in result.failures[:20]:
                    _log(f"  {failure}")
                if result.error:
                    _log(f"  {result.error}")
                if result.untested:
                    _log(f"  untested: {', '.join(result.untested)}")
        if not args.no_matrix:
            builds = build_all(versions, languages, work, _log)
            for version in served:
                for language in languages:
                    cells.append(run_cell(builds, language, version, scenarios, target, "served", work))
            if not args.target and len(versions) > 1:
                # The newest clients against a server released before their version.
                cap = versions[-2]
                with LocalServer(work, max_api_version=cap, name="capped-server") as capped:
                    assert capped.target is not None
                    for language in languages:
                        cells.append(
                            run_cell(
                                builds,
                                language,
                                versions[-1],
                                scenarios,
                                capped.target,
                                "newer_than_server",
                                work,
                            )
                        )
            else:
                cap = served_latest
                for version in newer:
                    for language in languages:
                        cells.append(
                            run_cell(builds, language, version, scenarios, target, "newer_than_server", work)
                        )
    for cell in cells:
        passed, total, skipped = cell.steps
        _log(
            f"{cell.language} {cell.version} ({cell.mode}): {'pass' if cell.passed else 'FAIL'} "
            f"{passed}/{total} steps" + (f", {skipped} skipped" if skipped else "")
        )
        if cell.error:
            _log(f"  {cell.error}")
        for scenario in cell.results:
            for failure in scenario.failures:
                _log(f"  {scenario.name}: {failure}")
    if not args.target and not args.versions and not args.no_matrix and not args.no_schemathesis:
        declarations = load_all(ROOT / "clients")
        _report.write(args.report, _report.render(versions, languages, cells, st_results, cap, declarations))
        _log(f"report written to {args.report}")
    ok = all(c.passed for c in cells) and all(r.passed for r in st_results)
    cells_passed = sum(c.passed for c in cells)
    _log(
        f"{cells_passed} passed, {len(cells) - cells_passed} failed "
        f"(matrix cells; schemathesis {sum(r.passed for r in st_results)}/{len(st_results)} versions) "
        f"in {time.monotonic() - started:.0f} s"
    )
    return 0 if ok else 1


class _TargetOf:
    """The target of the run: the given URL, or a local server for the run's duration."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.local: LocalServer | None = None

    def __enter__(self) -> Target:
        a = self.args
        if a.target:
            if not a.admin_token or not a.worker_token:
                raise ConformanceError("--target needs --admin-token and --worker-token")
            return Target(a.target.rstrip("/"), a.admin_token, a.worker_token, a.signing_key)
        self.local = LocalServer(self.work, postgres_url=a.postgres)
        self.local.__enter__()
        assert self.local.target is not None
        database = "PostgreSQL" if a.postgres else "SQLite"
        _log(f"local server on {self.local.target.base_url}, {database} (log: {self.local.log_path})")
        return self.local.target

    def __exit__(self, *exc: object) -> None:
        if self.local is not None:
            self.local.stop()


class _FreshTarget:
    """A fresh local server (and database) for one version's schemathesis run, or the given target.

    What fuzzing leaves behind (thousands of DAGs, runs and queued task instances) would otherwise
    make each later version's run slower than the one before: on a busy machine the fourth version
    took 2.7 times as long as the first on one server.
    """

    def __init__(self, args: argparse.Namespace, work: Path, given: Target, name: str) -> None:
        self.local = None if args.target else LocalServer(work, postgres_url=args.postgres, name=name)
        self.given = given

    def __enter__(self) -> Target:
        if self.local is None:
            return self.given
        self.local.__enter__()
        assert self.local.target is not None
        return self.local.target

    def __exit__(self, *exc: object) -> None:
        if self.local is not None:
            self.local.stop()


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that the local servers are stopped on the way out.

    CI's bound ends a suite with SIGTERM; by default that ends the process at once, and a local
    server, in the process group of its own ``timeout`` wrapper, ran on for its whole lifetime.
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    exit_on_sigterm()
    args = _parser().parse_args(argv)
    try:
        if args.work is not None:
            args.work.mkdir(parents=True, exist_ok=True)
            return _run(args, args.work.resolve())
        with tempfile.TemporaryDirectory(prefix="baton-conformance-") as tmp:
            return _run(args, Path(tmp))
    except ConformanceError as exc:
        print(f"baton-conformance: error: {exc}", file=sys.stderr)
        return 2
