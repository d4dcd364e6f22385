"""Benchmark the Java worker: its overhead per no-op task, and no-op tasks per second through one worker.

Run through ``scripts/nox -s bench`` (after the Go worker's). It builds ``baton-worker.jar``
(Maven) and a bundle jar of one DAG of 500 independent no-op tasks (``java/NoopBundle.java``,
compiled with javac against the worker jar), then measures them as ``_worker_bench`` says (the Go
worker's benchmark does the same): overhead per task from the claim to the final state stored,
tasks/s through the one worker, CPU per task of the server and of the worker's JVM.
``--log-level debug`` keeps the worker's per-attempt timings (``--keep-log FILE`` saves them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _worker_bench import TASKS, WorkerUnderTest, arguments, measure

ROOT = Path(__file__).resolve().parents[2]
JAVA = ROOT / "clients" / "java"
BUNDLE_SOURCE = Path(__file__).parent / "java" / "NoopBundle.java"


def _build(work: Path) -> tuple[Path, Path]:
    """The worker jar, and a bundle folder holding the no-op bundle's jar."""
    mvn, javac, jar = shutil.which("mvn"), shutil.which("javac"), shutil.which("jar")
    if not (mvn and javac and jar):
        raise SystemExit("bench: the Java worker benchmark needs Maven and a JDK 17 (mvn, javac, jar)")
    subprocess.run([mvn, "-B", "-q", "-f", str(JAVA), "package", "-DskipTests"], check=True, timeout=900)
    worker_jar = JAVA / "worker" / "target" / "baton-worker.jar"
    classes = work / "classes"
    subprocess.run(
        [javac, "--release", "17", "-cp", str(worker_jar), "-d", str(classes), str(BUNDLE_SOURCE)], check=True
    )
    services = classes / "META-INF" / "services"
    services.mkdir(parents=True)
    (services / "org.baton.sdk.Bundle").write_text("org.baton.bench.NoopBundle\n")
    bundles = work / "bundles"
    bundles.mkdir()
    archive = bundles / "noop.jar"
    subprocess.run([jar, "--create", "--file", str(archive), "-C", str(classes), "."], check=True)
    return worker_jar, bundles


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and write them as JSON."""
    parser = arguments(__doc__ or "", "bench-java-worker.json")
    parser.add_argument("--log-level", default="warn", help="the worker's log level (debug: timings)")
    parser.add_argument("--jvm-option", action="append", default=[], help="a JVM option (repeatable)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-java-"))
    try:
        worker_jar, bundles = _build(folder)
        command = ["java", *args.jvm_option, "-jar", str(worker_jar), "--bundles", str(bundles)]
        command += ["--queue", "java_bench", "--log-level", args.log_level]
        worker = WorkerUnderTest("Java", command, dag_id="java_bench_noop", env={"BENCH_TASKS": str(TASKS)})
        return measure(worker, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
