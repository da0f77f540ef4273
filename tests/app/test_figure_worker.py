"""The figure worker processes of the workshop page end with the server that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

SERVER = """
import multiprocessing, os, sys, time
os.environ["ESCSIM_APP_FIGURE_PROCESS"] = "1"
from sim.app.comparison import FIGURE_WORKERS, figure_executor
jobs = [figure_executor().submit(time.sleep, 0.5) for _ in range(FIGURE_WORKERS)]
for job in jobs:
    job.result(timeout=120)
print(FIGURE_WORKERS, *(p.pid for p in multiprocessing.active_children()), flush=True)
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
    expected, *workers = (int(n) for n in proc.stdout.split())
    assert len(workers) == expected  # FIGURE_WORKERS, each a process
    deadline = time.monotonic() + 30
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), f"figure workers {workers} outlived their server"
