"""Time the particle filter against one plain run of the same particles (no assertion).

Usage: ``NUMBA_NUM_THREADS=2 uv run python benchmarks/forecast.py [runs]`` (default 200).
Prints wall seconds of ``assimilation.particle_filter`` (reports known at 2020-12-31, forecast
to 2021-03-31) and of ``assimilation.simulate`` for the same replicates, each after a warm-up
call (numba compiled), and the filter's resamplings and effective sample sizes.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import pandas as pd

from sim.analysis.forecast import assimilation as A
from sim.analysis.forecast import evaluate as E
from sim.scenario import load_scenario


def main(runs: int = 200) -> None:
    """Print the timings."""
    sc = load_scenario(E.REPO / "scenarios" / "historical.yaml").scenario
    fit, all_t = E.fitted_tallies(sc)
    origin, last = dt.date(2020, 12, 31), dt.date(2021, 3, 31)
    win = fit[["id", "start", "end", "weapons", "targets", "measure"]]
    win = win[win["end"] <= pd.Timestamp(last)]
    known = fit[fit["end"] <= pd.Timestamp(origin)]
    s = A.without_future_injects(sc, origin)
    A.particle_filter(s, win, known, 10, 1, last, all_tallies=all_t)  # warm-up
    A.simulate(s, win, 10, 1, last)
    t = time.perf_counter()
    f = A.particle_filter(s, win, known, runs, 7, last, all_tallies=all_t)
    t_pf = time.perf_counter() - t
    t = time.perf_counter()
    A.simulate(s, win, runs, 7, last)
    t_sim = time.perf_counter() - t
    print(
        f"runs {runs}: particle filter {t_pf:.2f} s ({len(f.stage_ess)} report days, "
        f"{f.resamples} resamplings, lowest stage ESS {min(f.stage_ess):.1f}, final ESS "
        f"{f.ess:.1f}); plain run {t_sim:.2f} s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
