"""The figure worker process of the workshop page ends with the server that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

SERVER = """
import os, sys
os.environ["ESCSIM_APP_FIGURE_PROCESS"] = "1"
from sim.app.comparison import figure_executor
worker = figure_executor().submit(os.getpid).result(timeout=120)
print(worker, flush=True)
os.kill(os.getpid(), 9)  # the server dies without shutting its pool down
"""


def _alive(pid: int) -> bool:
    """True while the process runs (an exited one not yet reaped, a zombie, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_worker_exits_when_the_server_is_killed():
    proc = subprocess.run(
        [sys.executable, "-c", SERVER], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), f"figure worker {worker} outlived its server"
