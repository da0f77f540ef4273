"""Does the results pipeline keep up with the kernel? And what does a Dask chunk task cost?

Side by side in one process, on ``scenarios/historical.yaml`` (kernel loaded beforehand):

* ``kernel``: ``sim.runner.simulate_records`` over the chunks ``run_scenario`` runs (the kernel's
  own time, records gathered into one array per chunk; no tables, no files);
* ``run_all`` / ``run_attacks`` / ``run_none``: the whole ``run_scenario`` into a new directory
  with ``--events all|attacks|none`` (tables, outcome metrics, monthly counts, Parquet chunks,
  checksums, consolidation, manifest).

Each is the median of ``--repeat`` rounds (interleaved, so load drifts hit all alike). Targets
(issue 14): ``run_all <= 1.25 x kernel`` and ``run_none <= 1.05 x kernel``.

With ``--dask``: replicates per second with 1 and 2 local Dask workers (processes, one numba
thread each) against the local executor with one numba thread, and the overhead per chunk task
((1-worker wall - local 1-thread wall) / tasks).

Usage::

    uv run python benchmarks/pipeline.py                   # 10,000 replicates, 3 rounds
    uv run python benchmarks/pipeline.py --dask            # also the Dask scaling figures
    uv run python benchmarks/pipeline.py --runs 500 --repeat 1 --dask-runs 200   # smoke run

Writes ``benchmarks/pipeline.json`` (or ``--out``) with the figures and the load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"run_all": 1.25, "run_none": 1.05}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def pipeline(runs: int, repeat: int, tmp: Path) -> dict:
    """Time the kernel alone and ``run_scenario`` with each ``--events`` mode."""
    from sim.model.world import compile_world
    from sim.runner import default_chunk_size, plan_chunks, run_scenario, simulate_records
    from sim.scenario import load_scenario

    loaded = load_scenario(ROOT / "scenarios" / "historical.yaml")
    world = dataclasses.replace(compile_world(loaded.scenario), seed=loaded.scenario.seed)
    chunk = default_chunk_size(world, "kernel")
    tasks = plan_chunks(world, runs, chunk, "kernel")
    simulate_records(plan_chunks(world, 10, 10, "kernel")[0])  # load the compiled kernel
    run_scenario(loaded, tmp / "warm", 10, notice=lambda _: None)  # and the metrics

    def kernel() -> None:
        for task in tasks:
            simulate_records(task)

    def run(mode: str):
        def go() -> None:
            out = tmp / f"run-{mode}"
            shutil.rmtree(out, ignore_errors=True)
            run_scenario(loaded, out, runs, events=mode, notice=lambda _: None)

        return go

    steps = {"kernel": kernel, **{f"run_{m}": run(m) for m in ("all", "attacks", "none")}}
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(repeat):
        for name, fn in steps.items():
            times[name].append(_timed(fn))
    med = {k: statistics.median(v) for k, v in times.items()}
    res = {
        "runs": runs,
        "chunk_size": chunk,
        "seconds": {k: round(v, 3) for k, v in med.items()},
        "all_rounds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "ratio_to_kernel": {k: round(v / med["kernel"], 3) for k, v in med.items()},
        "events_rows_all": _rows(tmp / "run-all" / "events.parquet"),
    }
    res["targets"] = {
        k: {"target": t, "measured": res["ratio_to_kernel"][k], "pass": med[k] / med["kernel"] <= t}
        for k, t in TARGETS.items()
    }
    return res


def _rows(path: Path) -> int:
    from sim.results.files import parquet_rows

    return parquet_rows(path)  # a file, or a directory of parts


def dask_scaling(runs: int, chunk: int, tmp: Path) -> dict:
    """Replicates/s with 1 and 2 local Dask workers vs the local executor on one numba thread."""
    import numba
    from distributed import Client, LocalCluster

    from sim.executors import dask_executor
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    loaded = load_scenario(ROOT / "scenarios" / "historical.yaml")
    n_tasks = -(-runs // chunk)

    def local_one_thread() -> float:
        before = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            out = tmp / "local1"
            shutil.rmtree(out, ignore_errors=True)
            return _timed(lambda: run_scenario(loaded, out, runs, chunk_size=chunk))
        finally:
            numba.set_num_threads(before)

    res: dict = {"runs": runs, "chunk_size": chunk, "tasks": n_tasks}
    res["local_1_thread_seconds"] = round(local_one_thread(), 3)
    for n in (1, 2):
        env = {"NUMBA_NUM_THREADS": "1"}
        with (
            LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None, env=env) as cl,
            Client(cl) as client,
        ):
            execute = dask_executor(client=client)
            warm = tmp / f"warm{n}"
            run_scenario(loaded, warm, 2 * n, chunk_size=1, execute=execute)  # load on workers
            out = tmp / f"dask{n}"
            t0 = time.perf_counter()
            run_scenario(loaded, out, runs, chunk_size=chunk, execute=execute)
            wall = time.perf_counter() - t0
        res[f"dask_{n}_workers_seconds"] = round(wall, 3)
        res[f"dask_{n}_workers_replicates_per_second"] = round(runs / wall, 1)
    res["local_1_thread_replicates_per_second"] = round(runs / res["local_1_thread_seconds"], 1)
    res["overhead_per_task_seconds"] = round(
        (res["dask_1_workers_seconds"] - res["local_1_thread_seconds"]) / n_tasks, 4
    )
    return res


def main() -> None:
    """Run the measurements, print them and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dask", action="store_true", help="also measure Dask scaling")
    p.add_argument("--dask-runs", type=int, default=2000)
    p.add_argument("--dask-chunk", type=int, default=100)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pipeline.json")
    a = p.parse_args()
    import numba

    result = {
        "loadavg_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
    }
    with tempfile.TemporaryDirectory(prefix="escsim-bench-") as d:
        result["pipeline"] = pipeline(a.runs, a.repeat, Path(d))
        if a.dask:
            result["dask"] = dask_scaling(a.dask_runs, a.dask_chunk, Path(d))
    result["loadavg_end"] = os.getloadavg()
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
