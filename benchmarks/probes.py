"""Measurements that need a fresh process; run.py starts this file as a subprocess.

``python benchmarks/probes.py compile SCENARIO``
    Import escsim, then time the first kernel call (compilation, or loading from numba's cache)
    and the first metrics call. Run it with an empty ``NUMBA_CACHE_DIR`` for a cold compile and
    again with the same directory for a cached one.
``python benchmarks/probes.py e2e SCENARIO RUNS OUT``
    Time ``sim.runner.run_scenario`` writing RUNS replicates into OUT in a fresh process (numba's
    disk cache warm, nothing loaded yet), and report the process's peak resident memory.

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def probe_compile(scenario: str) -> dict:
    """Return import and first-call times of the kernel and the metrics in this process."""
    t0 = time.perf_counter()
    from sim.engines.kernel import run_kernel
    from sim.model.world import compile_world
    from sim.runner import runs_table
    from sim.scenario import load_scenario

    t1 = time.perf_counter()
    world = compile_world(load_scenario(scenario).scenario)
    t2 = time.perf_counter()
    records, reps = run_kernel(world, 0, 1)
    t3 = time.perf_counter()
    runs_table(world, records, reps, 0, 1)
    t4 = time.perf_counter()
    return {
        "import_seconds": t1 - t0,
        "load_scenario_seconds": t2 - t1,
        "kernel_first_call_seconds": t3 - t2,
        "metrics_first_call_seconds": t4 - t3,
        "numba_cache_dir": sys.modules["numba"].config.CACHE_DIR,
    }


def probe_e2e(scenario: str, runs: int, out: str) -> dict:
    """Return the wall time of ``run_scenario`` in a fresh process and its peak memory."""
    t0 = time.perf_counter()
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    t1 = time.perf_counter()
    loaded = load_scenario(scenario)
    t2 = time.perf_counter()
    res = run_scenario(loaded, Path(out), runs, argv=["benchmark"])
    t3 = time.perf_counter()
    return {
        "import_seconds": t1 - t0,
        "load_scenario_seconds": t2 - t1,
        "run_scenario_seconds": t3 - t2,
        "manifest_wall_seconds": res.manifest["wall_seconds"],
        "peak_rss_mb": _peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    """Dispatch on the probe name; print its JSON result."""
    if len(argv) >= 2 and argv[0] == "compile":
        result = probe_compile(argv[1])
    elif len(argv) >= 4 and argv[0] == "e2e":
        result = probe_e2e(argv[1], int(argv[2]), argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
