"""Overhead of a parameter design (P points x R replicates) over a fixed-parameter kernel run.

Usage::

    uv run python benchmarks/design.py                  # historical, 10,000 replicates
    uv run python benchmarks/design.py --reps 2000 --rounds 3

Runs, on N (``--reps``, default 10,000) replicate runs of ``scenarios/historical.yaml`` (kernel
loaded beforehand, median of ``--rounds`` alternating rounds, all numba threads):

* ``fixed``: ``run_kernel(world, 0, N)``;
* ``design_same``: ``run_kernel_design`` over P points equal to the world's parameters, each
  point with replicates 0 .. N / P - 1 (the same replicates at every point: common random
  numbers; so not the replicates of ``fixed``, and the event counts differ a little);
* ``design_varied``: the same rows with each point's ``m_beta_grievance`` and faction base rates
  scaled by a factor in [0.5, 1.5] (the work per replicate changes with the parameters, so this
  figure compares a different workload; its event count is printed beside it).

It prints seconds per replicate and the overhead ``design_same / fixed - 1`` for each P. Nothing
is asserted; the figures are this machine's, under its load at the time (printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sim  # noqa: F401 - first: it sets NUMBA_CACHE_DIR, which numba reads on import

ROOT = Path(__file__).resolve().parent.parent

import numba  # noqa: E402
import numpy as np  # noqa: E402

from sim.engines.design import Design, grid  # noqa: E402
from sim.engines.kernel import run_kernel, run_kernel_design  # noqa: E402
from sim.model import layout as L  # noqa: E402
from sim.model.world import compile_world  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def varied(design: Design, seed: int = 0) -> Design:
    """Return ``design`` with each point's grievance weight and base rates scaled at random."""
    gen = np.random.default_rng(seed)
    factor = gen.uniform(0.5, 1.5, size=(design.n_points, 2))
    g_before, g_after, fp = design.g_before.copy(), design.g_after.copy(), design.fp.copy()
    g_before[:, L.G_M_BETA_GRIEVANCE] *= factor[:, 0]
    g_after[:, L.G_M_BETA_GRIEVANCE] *= factor[:, 0]
    fp[:, :, L.F_BASE_RATE] *= factor[:, 1:2]
    return Design(g_before, g_after, fp, design.ap.copy())


def timed(fn) -> tuple[float, int]:
    """Return the wall time of ``fn()`` and the number of records it returned."""
    t = time.perf_counter()
    records, _ = fn()
    return time.perf_counter() - t, len(records)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "historical.yaml"))
    ap.add_argument("--reps", type=int, default=10_000, help="replicates per measurement")
    ap.add_argument("--points", type=int, nargs="+", default=[10, 1000], help="values of P")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    world = compile_world(load_scenario(args.scenario).scenario)
    n = args.reps
    cases = {"fixed": lambda: run_kernel(world, 0, n)}
    for p in args.points:
        same = Design.repeat(world, p)
        other = varied(same)
        points, reps = grid(p, n // p)
        cases[f"design_same P={p}"] = lambda d=same, a=points, b=reps: run_kernel_design(
            world, d, a, b
        )
        cases[f"design_varied P={p}"] = lambda d=other, a=points, b=reps: run_kernel_design(
            world, d, a, b
        )
    for fn in cases.values():  # load (or compile) once, untimed
        fn()
    load0 = os.getloadavg()
    times: dict[str, list[float]] = {k: [] for k in cases}
    records: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            t, k = timed(fn)
            times[name].append(t)
            records[name] = k
    load1 = os.getloadavg()
    print(
        f"scenario {args.scenario}, {n} replicates, {numba.get_num_threads()} numba threads, "
        f"load {load0[0]:.2f} -> {load1[0]:.2f}, median of {args.rounds}"
    )
    fixed = statistics.median(times["fixed"])
    for name in cases:
        med = statistics.median(times[name])
        over = "" if name == "fixed" else f"  overhead {100 * (med / fixed - 1):+.1f}%"
        print(f"{name:24s} {med / n * 1e6:9.1f} us/replicate  {records[name]:9d} records{over}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
