"""SIGTERM ends a conformance run through its cleanup, so that its local servers are stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, time
from pathlib import Path
from baton_conformance._cli import exit_on_sigterm
exit_on_sigterm()
marker = Path(sys.argv[1])
try:
    marker.write_text("running")
    while True:
        time.sleep(0.1)
finally:
    marker.write_text("cleaned up")
"""


def test__sigterm__runs_the_cleanup_and_exits_143(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(marker)])
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, "the script ended before it ran"
        assert time.monotonic() < deadline, "the script did not start within 120 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 143
    assert marker.read_text() == "cleaned up"
