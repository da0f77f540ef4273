"""Where the time goes: micro-costs of the kernel's primitives and a profile of a results run.

Micro-benchmarks call the real jitted functions (``sim.model.rng.draw``, ``sim.model.rules``, the
event emitter ``sim.model.effects.common.emit``) in tight loops. ``accounting`` multiplies each
cost by how often one replicate incurs it, to estimate the kernel's time per replicate by
component; the estimate is compared with the measured single-thread time. ``pipeline_profile``
times each step of a results run (simulate, build the Arrow table, outcome metrics, Parquet
writes, consolidation, manifest) with the runner's own functions; ``parquet_variants`` times other
Parquet writer settings on the same table."""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit, prange

from sim import vocab as V
from sim.model import layout as L
from sim.model import rng
from sim.model import rules as R
from sim.model import state as S
from sim.model.effects.common import emit
from sim.model.world import World
from sim.results.events import records_to_table
from sim.results.files import dataset_parts, write_parquet_atomic
from sim.results.manifest import git_commit, versions
from sim.runner import _consolidate, plan_chunks, runs_table, simulate_records

# --- micro-benchmarks ------------------------------------------------------------------------


@njit(cache=True)
def _draws_independent(key, n):
    acc = 0.0
    for i in range(n):
        acc += rng.draw(key, i >> 4, i & 15, 3)
    return acc


@njit(cache=True)
def _draws_chained(key, n):
    # each draw's coordinates depend on the previous draw: latency, not throughput
    u = 0.5
    for i in range(n):
        u = rng.draw(key, i, int(u * 16.0), 3)
    return u


@njit(cache=True)
def _exp_independent(n):
    acc = 0.0
    for i in range(n):
        acc += math.exp(-1e-7 * i)
    return acc


@njit(cache=True)
def _exp_chained(n):
    x = 0.5
    for _ in range(n):
        x = math.exp(-x)
    return x


@njit(cache=True)
def _emits(n, cap):
    ev = np.empty((cap, L.N_ECOLS), dtype=np.int32)
    ep = np.zeros(S.N_EP, dtype=np.int64)
    ep[S.EP_CAP] = cap
    for i in range(n):
        if ep[S.EP_COUNT] >= cap:
            ep[S.EP_COUNT] = 0
        emit(ev, ep, i, i & 7, V.K_ATTACK, 0, 1, -1, 0, -1, V.D_NONE, 0, 0, 0)
    return ev[0, 0] + ep[S.EP_COUNT]


@njit(cache=True)
def _target_weights(n, prefs, stocks):
    out = np.zeros(V.N_TARGETS)
    acc = 0.0
    for i in range(n):
        acc += R.target_weights(prefs, stocks, i & 1, 1.0, 1e-6 * i, 0.5, 0, 1, 0.9, 0.5, out)
    return acc


@njit(cache=True)
def _directive_signals(n, control, mult, directives):
    acc = 0.0
    for i in range(n):
        directives[i & 3] = -directives[i & 3]
        s, o = R.directive_signal(control, mult, directives)
        acc += s + o
    return acc


@njit(cache=True)
def _intensities(n):
    acc = 0.0
    for i in range(n):
        det = R.deterrence(0.3, 0.5, 0.2, 1, 0.05, 1e-6 * i, i & 1, 1.0)
        acc += R.attack_intensity(0.03, 0.1, 1e-6 * i, 0.15, 0.5, 0.8, 1.0, 0.1, det, 1.0)
    return acc


def _ns_per_call(fn, n: int, *args) -> float:
    """Return nanoseconds per iteration of ``fn(n, *args)`` (best of three, after a warm call)."""
    fn(1000, *args)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        fn(n, *args)
        best = min(best, time.perf_counter() - t0)
    return best * 1e9 / n


def micro_costs(n: int = 5_000_000) -> dict[str, float]:
    """Return single-thread nanoseconds per call of the kernel's primitives.

    Parameters
    ----------
    n : int
        Iterations per measurement.

    Returns
    -------
    dict of str to float
        ``draw`` (independent draws, throughput) and ``draw_chained`` (each draw waits for the
        previous: latency), ``exp`` and ``exp_chained``, ``emit`` (one 12-column event record),
        ``target_weights`` (one faction's six target weights), ``directive_signal`` (one
        faction's control-weighted directive), ``intensity`` (deterrence plus attack intensity of
        one faction, two ``exp``).
    """
    key = rng.replicate_key(1, 2)
    prefs = np.array([1.0, 0.35, 0.5, 0.05, 0.0, 0.05])
    stocks = np.array([40.0, 15.0, 0.0, 5.0])
    control = np.array([0.0, 0.7, 0.5, 0.0])
    mult = np.array([1.0, 0.35, 1.0, 1.0])
    directives = np.array([-1.0, 1.0, 1.0, -1.0])
    return {
        "draw": _ns_per_call(lambda m: _draws_independent(key, m), n),
        "draw_chained": _ns_per_call(lambda m: _draws_chained(key, m), n),
        "exp": _ns_per_call(_exp_independent, n),
        "exp_chained": _ns_per_call(_exp_chained, n),
        "emit": _ns_per_call(_emits, n, 4096),
        "target_weights": _ns_per_call(_target_weights, n // 5, prefs, stocks),
        "directive_signal": _ns_per_call(_directive_signals, n, control, mult, directives),
        "intensity": _ns_per_call(_intensities, n),
    }


def accounting(
    micro: dict[str, float],
    draws: dict[int, float],
    events_per_rep: float,
    n_days: int,
    n_factions: int,
    measured_ns_per_rep: float,
) -> dict[str, float]:
    """Estimate a replicate's single-thread time by component from the micro-costs.

    Counts per replicate: every draw and every event (measured); per faction-day one
    ``target_weights``, one ``directive_signal`` and one deterrence-plus-intensity evaluation;
    the other ``exp`` calls: six a day (three decay factors, three scalar decays), one escalation
    probability per stance draw, and per faction-day the attack probability and the strike
    probability (an upper bound: no strike probability is computed during a US cooldown).

    Parameters
    ----------
    micro : dict
        Output of ``micro_costs``.
    draws : dict of int to float
        Mean draws of one replicate per decision code (``sim.model.layout`` R_* codes).
    events_per_rep : float
        Mean events of one replicate.
    n_days, n_factions : int
        The scenario's size.
    measured_ns_per_rep : float
        The kernel's measured single-thread nanoseconds per replicate.

    Returns
    -------
    dict of str to float
        Estimated nanoseconds per replicate of each component, their sum, the measured figure
        and the share of it the components account for.
    """
    fd = n_days * n_factions
    other_exp = n_days * 6 + draws.get(L.R_DIRECTIVE, 0.0) + fd * 2
    est = {
        "draws_ns": sum(draws.values()) * micro["draw"],
        "events_ns": events_per_rep * micro["emit"],
        "target_weights_ns": fd * micro["target_weights"],
        "directive_signal_ns": fd * micro["directive_signal"],
        "intensity_ns": fd * micro["intensity"],
        "other_exp_ns": other_exp * micro["exp"],
    }
    total = sum(est.values())
    est["sum_ns"] = total
    est["measured_ns"] = measured_ns_per_rep
    est["accounted_share"] = total / measured_ns_per_rep if measured_ns_per_rep > 0 else math.nan
    return est


# --- the kernel's record buffer --------------------------------------------------------------


def gather_numpy(ev: np.ndarray, counts: np.ndarray, cap: int, rep_start: int):
    """Compact a batch's record buffer with numpy fancy indexing, as ``run_kernel`` does."""
    n_reps = counts.shape[0]
    starts = np.arange(n_reps, dtype=np.int64) * cap
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(starts, counts) + offsets
    reps = np.repeat(np.arange(rep_start, rep_start + n_reps, dtype=np.int64), counts)
    return ev[idx], reps


@njit(cache=True, parallel=True)
def gather_parallel(ev, counts, cap, rep_start):
    """Compact a batch's record buffer with a parallel copy (same output as ``gather_numpy``)."""
    n = counts.shape[0]
    offs = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        offs[r + 1] = offs[r] + counts[r]
    out = np.empty((offs[n], ev.shape[1]), dtype=np.int32)
    reps = np.empty(offs[n], dtype=np.int64)
    for r in prange(n):
        for k in range(counts[r]):
            for c in range(ev.shape[1]):
                out[offs[r] + k, c] = ev[r * cap + k, c]
            reps[offs[r] + k] = rep_start + r
    return out, reps


def memory_costs(ev: np.ndarray, counts: np.ndarray, cap: int, repeats: int = 3) -> dict:
    """Time the compaction of a record buffer two ways, and the cost of touching fresh memory.

    Parameters
    ----------
    ev, counts : numpy.ndarray
        A batch's record buffer and event counts (``sim.engines.kernel.simulate_batch`` output).
    cap : int
        The per-replicate capacity the batch ran with.
    repeats : int
        Timings per figure (the median is kept).

    Returns
    -------
    dict
        ``gather_numpy_seconds`` and ``gather_parallel_seconds`` (with ``gather_identical``),
        ``buffer_mib`` (the record buffer's size), ``first_touch_seconds_per_gib`` (page faults:
        writing one value per 4 KiB page of newly allocated memory) and
        ``retouch_seconds_per_gib`` (the same writes on memory already mapped).
    """
    gather_parallel(ev[: 2 * cap], counts[:2], cap, 0)

    def median_time(fn) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    a_rec, a_reps = gather_numpy(ev, counts, cap, 0)
    b_rec, b_reps = gather_parallel(ev, counts, cap, 0)
    identical = bool(np.array_equal(a_rec, b_rec) and np.array_equal(a_reps, b_reps))
    del a_rec, a_reps, b_rec, b_reps
    t_np = median_time(lambda: gather_numpy(ev, counts, cap, 0))
    t_par = median_time(lambda: gather_parallel(ev, counts, cap, 0))
    gib = ev.nbytes / 2**30
    stride = max(1, 4096 // (ev.shape[1] * ev.itemsize))

    def first_touch() -> None:
        buf = np.empty_like(ev)
        buf[::stride, 0] = 1

    buf = np.empty_like(ev)
    buf[::stride, 0] = 1

    def retouch() -> None:
        buf[::stride, 0] = 2

    t_first = median_time(first_touch)
    t_re = median_time(retouch)
    return {
        "gather_numpy_seconds": t_np,
        "gather_parallel_seconds": t_par,
        "gather_identical": identical,
        "buffer_mib": ev.nbytes / 2**20,
        "first_touch_seconds_per_gib": t_first / gib if gib > 0 else math.nan,
        "retouch_seconds_per_gib": t_re / gib if gib > 0 else math.nan,
    }


# --- the results pipeline --------------------------------------------------------------------


def pipeline_profile(world: World, runs: int, chunk: int) -> dict[str, float]:
    """Time each step of a kernel results run, chunk by chunk, as ``run_scenario`` does them.

    Parameters
    ----------
    world : World
        The compiled scenario.
    runs, chunk : int
        Replicates and replicates per chunk.

    Returns
    -------
    dict of str to float
        Seconds summed over chunks: ``simulate`` (kernel and record gathering),
        ``records_to_table``, ``runs_table`` (outcome metrics), ``write_events``, ``write_runs``
        (Parquet, atomic), then ``consolidate`` (chunks hard-linked into the final tables),
        ``git_commit`` and ``versions`` (manifest fields), ``total`` and the event count.
    """
    tasks = plan_chunks(world, runs, chunk, "kernel")
    t = dict.fromkeys(
        ("simulate", "records_to_table", "runs_table", "write_events", "write_runs"), 0.0
    )
    n_events = 0
    with tempfile.TemporaryDirectory(prefix="escsim-bench-profile-") as tmp:
        out = Path(tmp)
        (out / "chunks").mkdir()
        t_start = time.perf_counter()
        for task in tasks:
            t0 = time.perf_counter()
            records, reps = simulate_records(task)
            t1 = time.perf_counter()
            events = records_to_table(world, records, reps)
            t2 = time.perf_counter()
            rt = runs_table(world, records, reps, task.rep_start, task.n_reps)
            t3 = time.perf_counter()
            write_parquet_atomic(events, out / "chunks" / f"events-{task.name}.parquet")
            t4 = time.perf_counter()
            write_parquet_atomic(rt, out / "chunks" / f"runs-{task.name}.parquet")
            t5 = time.perf_counter()
            t["simulate"] += t1 - t0
            t["records_to_table"] += t2 - t1
            t["runs_table"] += t3 - t2
            t["write_events"] += t4 - t3
            t["write_runs"] += t5 - t4
            n_events += records.shape[0]
        t0 = time.perf_counter()
        _consolidate(out, tasks, kinds=("runs", "events"))
        t["consolidate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        git_commit()
        t["git_commit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        versions()
        t["versions"] = time.perf_counter() - t0
        t["total"] = time.perf_counter() - t_start
        t["events"] = float(n_events)
        parts = dataset_parts(out / "events.parquet")  # a file, or a directory of parts
        t["events_parquet_mb"] = sum(p.stat().st_size for p in parts) / 2**20
    return t


def parquet_variants(table: pa.Table) -> dict[str, dict[str, float]]:
    """Write ``table`` with several Parquet settings; return seconds and MiB of each.

    Parameters
    ----------
    table : pyarrow.Table
        An event log (e.g. the concatenated chunks of a run).

    Returns
    -------
    dict
        For each setting (``default`` = ``pq.write_table`` defaults, as the runner writes;
        ``none``, ``lz4``, ``zstd1``: other compressions; ``default_no_stats``: no column
        statistics) its ``seconds`` and ``mb``.
    """
    settings = {
        "default": {},
        "none": {"compression": "none"},
        "lz4": {"compression": "lz4"},
        "zstd1": {"compression": "zstd", "compression_level": 1},
        "default_no_stats": {"write_statistics": False},
    }
    out = {}
    with tempfile.TemporaryDirectory(prefix="escsim-bench-pq-") as tmp:
        for name, kw in settings.items():
            path = Path(tmp) / f"{name}.parquet"
            t0 = time.perf_counter()
            pq.write_table(table, path, **kw)
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            out[name] = {"seconds": time.perf_counter() - t0, "mb": path.stat().st_size / 2**20}
    return out
