"""Latency of a lever change on the workshop page's Compare tab (``escsim app``).

Two measurements, both with numba's cache warm (an untimed comparison runs first), each both
ways: ``posterior`` (the page's default: the paired replicates at the fitted point and over the
posterior sample, as ``escsim compare`` does) and ``fixed`` (the fixed-parameters switch):

* ``compute``: in this process, ``sim.app.page.compute`` -- exactly what the page's background
  task runs after a lever moves: write and load the edited scenario, run its replicates (the two
  unchanged scenarios are linked from the previous comparison, as on the page), load the runs,
  then draw the fan charts and threshold curves (two figure worker processes) while the
  statistics are computed (``run_comparison``: bootstrap table, posterior replicates of the
  changed scenario).
  Each repeat moves the US strike rate of the base scenario to a new value. The median seconds
  to each server stage (``sim.app.timing`` stamps) are reported.
* ``browser`` (``--browser``; needs /usr/bin/chromium): ``escsim app`` in a subprocess and
  chromium driven by Playwright; the time from pressing Enter in the strike-rate box until the
  page shows the new status line and both new figures (fan charts and threshold curves: their
  images differ from the previous ones): what a participant waits. With each lever change's
  server stamps and websocket traffic (``timeline``, seconds after Enter) and the CPU seconds
  used meanwhile by the server (main process and figure workers) and by chromium
  (``cpu_seconds``: the work, whatever the machine's load).

Usage::

    uv run python benchmarks/app_latency.py                      # compute only
    uv run python benchmarks/app_latency.py --browser --out lat.json
    uv run python benchmarks/app_latency.py --browser-only --repeats 3

The machine is shared: the JSON records the load average before and after.
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


def strike_rates(repeats: int, first: int = 0) -> list[str]:
    """Return ``repeats`` distinct strike rates (none is the scenario's own 0.01)."""
    return [f"{0.05 + 0.05 * i:.2f}" for i in range(first, first + repeats)]


POLL_MS = 50
"""The page is checked every 50 ms (not every animation frame: the check's own CPU would
compete with the server); a latency is over-stated by up to this much."""

STAGES = (
    "scenarios built",
    "runs loaded",
    "fans drawn",
    "thresholds drawn",
    "statistics done",
    "comparison and figures done",
)
"""Server stamps (``sim.app.timing``) reported, in seconds after the computation started."""


def stage_times(stamps: Path) -> dict[str, float]:
    """Return the seconds from "compute start" to each of ``STAGES`` in a stamps file."""
    events = [ln.split(" ", 1) for ln in stamps.read_text().splitlines()]
    t0 = next(float(t) for t, what in events if what == "compute start")
    return {what: float(t) - t0 for t, what in events if what in STAGES}


def measure_compute(runs: int, repeats: int) -> dict:
    """Time ``sim.app.page.compute`` after a lever change (warm cache), fixed and posterior.

    Returns per mode (``fixed``: at the fitted parameters; ``posterior``: also over the
    posterior sample, the page's default) the total seconds and the median seconds from the
    start to each server stage (``STAGES``).
    """
    ws = Path(tempfile.mkdtemp(prefix="escsim-bench-app-"))
    stamps = ws / "timing.log"
    os.environ["ESCSIM_APP_WORKSPACE"] = str(ws)
    os.environ["ESCSIM_APP_SCENARIOS"] = str(ROOT / "scenarios")
    os.environ["ESCSIM_APP_TIMING"] = str(stamps)
    os.environ["ESCSIM_APP_FIGURE_PROCESS"] = "1"  # as `escsim app` sets it
    from sim.app import page

    out = {}
    for i, (mode, over) in enumerate((("fixed", False), ("posterior", True))):
        t0 = time.perf_counter()
        _, _, error = page.compute(list(SCENARIOS), {}, runs, over_posterior=over)  # warm-up
        if error:
            raise RuntimeError(error)
        warmup = time.perf_counter() - t0
        totals, stages = [], []
        for rate in strike_rates(repeats, first=i * repeats):
            levers = {BASE: {"us.strike_rate": rate}}
            stamps.write_text("")
            t0 = time.perf_counter()
            pc, _, error = page.compute(list(SCENARIOS), levers, runs, over_posterior=over)
            totals.append(time.perf_counter() - t0)
            if error or pc is None or pc.reused:
                raise RuntimeError(
                    error or "a whole comparison was reused: the measurement is void"
                )
            stages.append(stage_times(stamps))
        out[mode] = {
            "warmup_seconds": round(warmup, 3),
            "seconds": [round(t, 3) for t in totals],
            "median_seconds": round(statistics.median(totals), 3),
            "max_seconds": round(max(totals), 3),
            "median_stage_seconds": {
                k: round(statistics.median(st[k] for st in stages), 3)
                for k in STAGES
                if all(k in st for st in stages)
            },
        }
    return out


def cpu_seconds(proc) -> dict[int, tuple[str, float]]:
    """Return pid -> (name, user + system CPU seconds) of a process and its descendants."""
    import psutil

    out = {}
    for q in [proc, *proc.children(recursive=True)]:
        try:
            t = q.cpu_times()
            out[q.pid] = (q.name(), t.user + t.system)
        except psutil.NoSuchProcess:
            pass
    return out


def cpu_used(before: dict, after: dict) -> float:
    """Return the CPU seconds used between two ``cpu_seconds`` readings (new processes too)."""
    return sum(t - before.get(pid, (None, 0.0))[1] for pid, (_, t) in after.items())


def measure_browser(runs: int, repeats: int) -> dict:
    """Time lever change -> updated status line in chromium against ``escsim app``.

    First over the posterior (the page's default), then, after turning the posterior switch
    off, at the fixed parameters; each lever change a new strike rate (nothing reused).
    """
    import socket
    import urllib.request

    import psutil
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
    result = {}
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                time.sleep(1)
        frames: list = []
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

            def status() -> str:
                return page.locator(".escsim-status").last.inner_text()

            def images() -> list[str]:
                return page.eval_on_selector_all(
                    ".escsim-fans img, img.escsim-fans, .escsim-thresholds img, "
                    "img.escsim-thresholds",
                    "els => els.map(e => e.src)",
                )

            def wait_changed(before: str, figures: list[str] | None = None) -> None:
                page.wait_for_function(
                    """([before, figures]) => {
                        const s = [...document.querySelectorAll('.escsim-status')];
                        if (!(s.length && s[s.length - 1].innerText !== before)) return false;
                        if (figures === null) return true;
                        const now = [...document.querySelectorAll(
                            '.escsim-fans img, img.escsim-fans, '
                            + '.escsim-thresholds img, img.escsim-thresholds')];
                        return now.length === figures.length && now.every(
                            (e, i) => e.complete && e.naturalWidth > 0 && e.src !== figures[i]);
                    }""",
                    arg=[before, figures],
                    polling=POLL_MS,
                    timeout=900_000,
                )

            server_proc = psutil.Process(proc.pid)
            browser_procs = psutil.Process()  # chromium and its driver are children of this

            box = page.get_by_label("US strike rate", exact=True).nth(0)
            for i, mode in enumerate(("posterior", "fixed")):
                if mode == "fixed":
                    before = status()
                    page.get_by_text("Over the posterior", exact=False).first.click()
                    wait_changed(before)  # the fixed-parameter comparison of the current levers
                times, enters, cpu = [], [], []
                for rate in strike_rates(repeats, first=i * repeats):
                    before, figures = status(), images()
                    if len(figures) != 2:
                        raise RuntimeError(f"expected 2 figures on the page, found {len(figures)}")
                    box.fill(rate)
                    cpu0 = cpu_seconds(server_proc), cpu_seconds(browser_procs)
                    t0 = time.perf_counter()
                    enters.append(time.time())
                    box.press("Enter")
                    wait_changed(before, figures)
                    times.append(time.perf_counter() - t0)
                    enters.append(time.time())
                    cpu1 = cpu_seconds(server_proc), cpu_seconds(browser_procs)
                    server = cpu_used(cpu0[0], cpu1[0])
                    # this process, its children: the server, Playwright's driver, chromium
                    cpu.append(
                        {
                            "server": round(server, 2),
                            "browser": round(cpu_used(cpu0[1], cpu1[1]) - server, 2),
                        }
                    )
                result[mode] = {
                    "seconds": [round(t, 3) for t in times],
                    "cpu_seconds": cpu,
                    "median_seconds": round(statistics.median(times), 3),
                    "max_seconds": round(max(times), 3),
                    "timeline": timelines(enters, stamps, frames),
                }
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return result


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
    ap.add_argument(
        "--browser-only", action="store_true", help="time it in chromium only (no compute part)"
    )
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
    }
    if not args.browser_only:
        result["compute"] = measure_compute(args.runs, args.repeats)
    if args.browser or args.browser_only:
        result["browser"] = measure_browser(args.runs, args.repeats)
    result["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
