"""Latency of a lever change on the workshop page's Compare tab (``escsim app``).

Two measurements, both with numba's cache warm (an untimed comparison runs first):

* ``compute``: in this process, ``sim.app.page.compute`` -- exactly what the page's background
  task runs after a lever moves: write and load the edited scenario, run the paired replicates of
  every chosen scenario with the kernel (``run_comparison``: results directories, bootstrap
  table), load them and draw the fan charts and threshold curves as PNG. Each repeat moves the
  US strike rate of the base scenario to a new value: that scenario is run anew, the two
  unchanged ones are linked from the previous comparison (as on the page), and the table and
  figures are computed again for all three.
* ``browser`` (``--browser``; needs /usr/bin/chromium): ``escsim app`` in a subprocess and
  chromium driven by Playwright; the time from pressing Enter in the strike-rate box to the new
  status line (the figures and table are drawn before it): what a participant waits.

Usage::

    uv run python benchmarks/app_latency.py                      # compute only
    uv run python benchmarks/app_latency.py --browser --out lat.json

Run it on a quiet machine; the JSON records the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("status_quo.yaml", "strong_us_retaliation.yaml", "truce.yaml")
BASE = SCENARIOS[0]


def strike_rates(repeats: int) -> list[str]:
    """Return ``repeats`` distinct strike rates (none is the scenario's own 0.01)."""
    return [f"{0.05 + 0.05 * i:.2f}" for i in range(repeats)]


def measure_compute(runs: int, repeats: int) -> dict:
    """Time ``sim.app.page.compute`` after a lever change, ``repeats`` times (warm cache)."""
    os.environ["ESCSIM_APP_WORKSPACE"] = tempfile.mkdtemp(prefix="escsim-bench-app-")
    os.environ["ESCSIM_APP_SCENARIOS"] = str(ROOT / "scenarios")
    from sim.app import comparison, page

    t0 = time.perf_counter()
    _, _, error = page.compute(list(SCENARIOS), {}, runs)  # warm-up: loads/compiles the kernel
    if error:
        raise RuntimeError(error)
    warmup = time.perf_counter() - t0
    totals, kernel_and_table, figures = [], [], []
    for rate in strike_rates(repeats):
        levers = {BASE: {"us.strike_rate": rate}}
        t0 = time.perf_counter()
        pc, figs, error = page.compute(list(SCENARIOS), levers, runs)
        totals.append(time.perf_counter() - t0)
        if error or pc is None or pc.reused:
            raise RuntimeError(error or "a whole comparison was reused: the measurement is void")
        kernel_and_table.append(pc.seconds)
        figures.append(totals[-1] - pc.seconds)
        comparison._recent.clear()
    return {
        "warmup_seconds": round(warmup, 3),
        "seconds": [round(t, 3) for t in totals],
        "median_seconds": round(statistics.median(totals), 3),
        "max_seconds": round(max(totals), 3),
        "median_run_and_table_seconds": round(statistics.median(kernel_and_table), 3),
        "median_figures_seconds": round(statistics.median(figures), 3),
    }


def measure_browser(runs: int, repeats: int) -> dict:
    """Time lever change -> updated status line in chromium against ``escsim app``."""
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws = tempfile.mkdtemp(prefix="escsim-bench-app-")
    stamps = Path(ws) / "timing.log"
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "ESCSIM_APP_TIMING": str(stamps),
    }
    cmd = [sys.executable, "-m", "sim.cli", "app", "--port", str(port), "--runs", str(runs)]
    cmd += ["--workspace", ws]
    log = open(Path(ws) / "server.log", "w")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                time.sleep(1)
        times, enters, frames = [], [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1100})

            def on_ws(socket) -> None:
                socket.on("framesent", lambda f: frames.append((time.time(), "sent", len(f))))
                socket.on(
                    "framereceived", lambda f: frames.append((time.time(), "received", len(f)))
                )

            page.on("websocket", on_ws)
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".escsim-status", timeout=900_000)  # first run: warm-up
            box = page.get_by_label("US strike rate", exact=True).nth(0)
            for rate in strike_rates(repeats):
                before = page.locator(".escsim-status").last.inner_text()
                box.fill(rate)
                t0 = time.perf_counter()
                enters.append(time.time())
                box.press("Enter")
                page.wait_for_function(
                    """(before) => {
                        const s = [...document.querySelectorAll('.escsim-status')];
                        return s.length && s[s.length - 1].innerText !== before;
                    }""",
                    arg=before,
                    timeout=600_000,
                )
                times.append(time.perf_counter() - t0)
                enters.append(time.time())
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return {
        "seconds": [round(t, 3) for t in times],
        "median_seconds": round(statistics.median(times), 3),
        "max_seconds": round(max(times), 3),
        "timeline": timelines(enters, stamps, frames),
    }


def timelines(enters: list[float], stamps: Path, frames: list) -> list[dict]:
    """Return per lever change the server's stamps and the websocket traffic, in seconds.

    ``enters`` holds (Enter pressed, page updated) wall-clock pairs; ``stamps`` the server's
    ``sim.app.timing`` lines; ``frames`` the (time, direction, bytes) of websocket frames.
    """
    lines = [ln.split(" ", 1) for ln in stamps.read_text().splitlines()] if stamps.exists() else []
    events = [(float(t), what) for t, what in lines]
    out = []
    for t0, t1 in zip(enters[::2], enters[1::2], strict=True):
        seen = [(round(t - t0, 3), what) for t, what in events if t0 <= t <= t1 + 0.5]
        traffic = [(t, d, n) for t, d, n in frames if t0 <= t <= t1]
        out.append(
            {
                "updated_after": round(t1 - t0, 3),
                "server": seen,
                "frames_received": sum(d == "received" for _, d, _ in traffic),
                "bytes_received": sum(n for _, d, n in traffic if d == "received"),
                "frames_sent": sum(d == "sent" for _, d, _ in traffic),
                "big_frames": [(round(t - t0, 3), d, n) for t, d, n in traffic if n > 20_000],
            }
        )
    return out


def main() -> None:
    """Run the measurements and print (and optionally write) the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300, help="paired replicates per scenario")
    ap.add_argument("--repeats", type=int, default=5, help="lever changes timed")
    ap.add_argument("--browser", action="store_true", help="also time it in chromium")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    args = ap.parse_args()
    import numba

    result = {
        "scenarios": list(SCENARIOS),
        "runs": args.runs,
        "lever": f"{BASE}: us.strike_rate",
        "machine": {
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "loadavg_start": os.getloadavg(),
        },
        "compute": measure_compute(args.runs, args.repeats),
    }
    if args.browser:
        result["browser"] = measure_browser(args.runs, args.repeats)
    result["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
