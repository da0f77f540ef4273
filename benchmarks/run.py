"""escsim benchmark: Mesa vs kernel vs floor, compile, end-to-end runs, startup and scaling.

Usage::

    uv run python benchmarks/run.py            # full benchmark, writes benchmarks/results.json
    uv run python benchmarks/run.py --quick    # smoke run with tiny sizes (writes only with --out)
    uv run python benchmarks/run.py --part pipeline   # only the results-pipeline figures, added
                                                      # to results.json as "pipeline_rerun"

Every figure is measured in this run on this machine; ``benchmarks/README.md`` defines each one.
Targets from the kernel issue are printed next to the measured values (PASS/MISS); nothing here
asserts on speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import sim  # noqa: F401 - first: it sets NUMBA_CACHE_DIR, which numba reads on import

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402
import hotspots  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import scaling  # noqa: E402
import startup  # noqa: E402

from sim import __version__  # noqa: E402
from sim import vocab as V  # noqa: E402
from sim.engines.kernel import run_kernel, simulate_batch  # noqa: E402
from sim.engines.mesa.model import run_mesa  # noqa: E402
from sim.model import layout as L  # noqa: E402
from sim.model.world import World, compile_world  # noqa: E402
from sim.results.events import records_to_table  # noqa: E402
from sim.results.files import write_text_atomic  # noqa: E402
from sim.runner import run_scenario  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

SCENARIO = "scenarios/historical.yaml"
DECISIONS = {v: k[2:].lower() for k, v in vars(L).items() if k.startswith("R_")}


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of one benchmark mode."""

    kernel_reps: int
    repeats: int
    mesa_reps: int
    count_reps: int
    e2e_runs: int
    cli_runs: int
    cli_repeats: int
    cli_warmup: int
    cli_launchers: tuple[str, ...]
    thread_reps: int
    profile_runs: int
    profile_chunk: int
    micro_n: int
    scale_reps: tuple[int, ...]
    scale_years: tuple[int, ...]
    scale_factions: tuple[int, ...]
    horizon_reps: int
    faction_reps: int


FULL = Config(
    kernel_reps=10_000,
    repeats=3,
    mesa_reps=5,
    count_reps=5,
    e2e_runs=10_000,
    cli_runs=10,
    cli_repeats=3,
    cli_warmup=1,
    cli_launchers=("uv", "venv"),
    thread_reps=5_000,
    profile_runs=10_000,
    profile_chunk=1_000,
    micro_n=5_000_000,
    scale_reps=(1_000, 10_000, 100_000),
    scale_years=(1, 2, 5),
    scale_factions=(5, 20, 100),
    horizon_reps=5_000,
    faction_reps=1_000,
)
QUICK = Config(
    kernel_reps=300,
    repeats=1,
    mesa_reps=1,
    count_reps=1,
    e2e_runs=300,
    cli_runs=2,
    cli_repeats=1,
    cli_warmup=0,
    cli_launchers=("venv",),
    thread_reps=200,
    profile_runs=300,
    profile_chunk=100,
    micro_n=200_000,
    scale_reps=(100, 300),
    scale_years=(1,),
    scale_factions=(5, 10),
    horizon_reps=100,
    faction_reps=100,
)

TARGETS = (
    ("ratio", ">=", 300.0, "kernel >= 300x faster per replicate than Mesa"),
    ("run_10000_seconds", "<=", 2.0, "10,000 historical replicates written, warm cache"),
    ("kernel_over_floor", "<=", 10.0, "kernel within 10x of the floor"),
    ("cli_10_runs_seconds", "<=", 2.0, "warm-cache `escsim run` of 10 replicates end to end"),
)


# --- helpers ---------------------------------------------------------------------------------


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    """Call ``fn()`` ``repeats`` times; return the median and all wall times in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def default_cap(world: World) -> int:
    """Return the per-replicate event capacity ``sim.engines.kernel.run_kernel`` starts with."""
    return max(64, world.n_days * (world.n_factions + 2) // 4)


def sources_digest() -> str:
    """Return a digest of ``sim/**/*.py`` (as ``sim/__init__.py`` keys numba's cache on them)."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "sim").glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def machine_info() -> dict:
    """Return the machine, interpreter and library facts the figures depend on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": None,
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "escsim": __version__,
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
        "numba_cache_dir": numba.config.CACHE_DIR,
        "sim_sources_digest_start": sources_digest(),
    }


def run_probe(args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``benchmarks/probes.py`` in a fresh interpreter; return its JSON result."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "probes.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe {args[0]} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- measurements ----------------------------------------------------------------------------


def measure_compile() -> dict:
    """Time the kernel's first call in fresh processes: empty numba cache, then the same cache."""
    with tempfile.TemporaryDirectory(prefix="escsim-bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold = run_probe(["compile", SCENARIO], env)
        cached = run_probe(["compile", SCENARIO], env)
    return {"cold": cold, "cached": cached}


def batch_args(world: World, n: int) -> tuple:
    """Return ``simulate_batch``'s arguments for replicates 0..n-1, without ``cap``."""
    return (
        world.seed,
        0,
        n,
        world.n_days,
        world.g_before,
        world.g_after,
        world.switch_day,
        world.fp,
        world.control,
        world.ap,
        world.injects,
        world.negotiation_days,
    )


def floor_rates(
    world: World, draw_counts: dict, n_count: int, records: np.ndarray, n_reps: int
) -> np.ndarray:
    """Return the floor's rates from the Mesa draw counts and the kernel's event records."""
    draws_per_rep = {k: v / n_count for k, v in draw_counts.items()}
    kinds = Counter(records[:, L.E_KIND].tolist())
    events_per_rep = {k: v / n_reps for k, v in kinds.items()}
    strikes = records[(records[:, L.E_KIND] == V.K_US_STRIKE) & (records[:, L.E_FORCED] == 1)]
    return floor.rates_from_counts(
        draws_per_rep,
        events_per_rep,
        strikes.shape[0] / n_reps,
        world.n_days,
        world.n_factions,
        world.injects.shape[0],
    )


def interleaved(calls: dict, rounds: int) -> dict[str, list[float]]:
    """Time each of ``calls`` once per round, in turn; return every wall time by name.

    Interleaving keeps the comparisons fair when the machine's load drifts during a run.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def measure_engines(world: World, cfg: Config) -> dict:
    """Time Mesa, the kernel, its variants and the floor side by side; check the engines agree.

    Mesa runs first (one core); then rounds of: ``run_kernel``, ``simulate_batch`` with
    ``run_kernel``'s capacity, with a tight capacity and with none, the floor with and without
    records. Medians are reported, with every sample.
    """
    t0 = time.perf_counter()
    run_kernel(world, 0, 2)
    warm = time.perf_counter() - t0
    # Mesa with every draw counted (a child process, JIT disabled); then Mesa warmed (its turns
    # are compiled on first call) and timed plainly; both must log the kernel's records
    draw_counts, counted_records = floor.count_model_draws(world, 0, cfg.count_reps)
    k_records, _ = run_kernel(world, 0, cfg.count_reps)
    run_mesa(world, 0, 1)
    m_out: dict = {}

    def mesa_call() -> None:
        m_out["out"] = run_mesa(world, 0, cfg.mesa_reps)

    mesa_s, _ = timed(mesa_call, 1)
    km_records, _ = run_kernel(world, 0, cfg.mesa_reps)
    identical = bool(
        np.array_equal(counted_records, k_records) and np.array_equal(m_out["out"][0], km_records)
    )
    n = cfg.kernel_reps
    records, reps = run_kernel(world, 0, n)  # untimed: its events calibrate the floor
    cap = default_cap(world)
    args = batch_args(world, n)
    ev, counts = simulate_batch(*args, cap)
    memory = hotspots.memory_costs(ev, counts, cap, cfg.repeats)
    del ev
    tight_cap = int(counts.max()) + 16
    rates = floor_rates(world, draw_counts, cfg.count_reps, records, n)
    fargs = (world.seed, 0, n, world.n_days, world.n_factions, world.injects, rates)
    floor.floor_batch(world.seed, 0, 2, world.n_days, world.n_factions, world.injects, rates, cap)
    f_out: dict = {}

    def floor_call() -> None:
        f_out["out"] = floor.floor_batch(*fargs, cap)

    t = interleaved(
        {
            "kernel": lambda: run_kernel(world, 0, n),
            "batch": lambda: simulate_batch(*args, cap),
            "batch_tight_cap": lambda: simulate_batch(*args, tight_cap),
            "batch_no_records": lambda: simulate_batch(*args, 0),
            "floor": floor_call,
            "floor_no_records": lambda: floor.floor_batch(*fargs, 0),
        },
        cfg.repeats,
    )
    med = {k: statistics.median(v) for k, v in t.items()}
    _, f_counts, f_draws, _ = f_out["out"]
    ratios = [b / f for b, f in zip(t["batch"], t["floor"], strict=True)]
    return {
        "warmup_seconds": warm,
        "mesa_replicates": cfg.mesa_reps,
        "mesa_seconds": mesa_s,
        "kernel_replicates": n,
        "kernel_seconds": med["kernel"],
        "cap": cap,
        "tight_cap": tight_cap,
        "batch_seconds": med["batch"],
        "batch_tight_cap_seconds": med["batch_tight_cap"],
        "batch_no_records_seconds": med["batch_no_records"],
        "samples": t,
        "record_buffer": memory,
        "events_per_replicate": records.shape[0] / n,
        "max_events_per_replicate": int(counts.max()),
        "mesa_kernel_identical": identical,
        "count_replicates": cfg.count_reps,
        "draw_counts": draw_counts,
        "draws_by_decision_per_replicate": {
            DECISIONS.get(k, str(k)): v / cfg.count_reps for k, v in sorted(draw_counts.items())
        },
        "floor": {
            "rates": dict(zip(floor.RATE_NAMES, rates.tolist(), strict=True)),
            "seconds": med["floor"],
            "no_records_seconds": med["floor_no_records"],
            "kernel_over_floor_per_round": ratios,
            "draws_per_replicate": float(f_draws.mean()),
            "model_draws_per_replicate": float(sum(draw_counts.values()) / cfg.count_reps),
            "events_per_replicate": float(f_counts.mean()),
            "model_events_per_replicate": records.shape[0] / n,
        },
        "records": records,
        "reps": reps,
        "batch_args": args,
    }


def measure_threads(eng: dict, cfg: Config) -> dict:
    """Time the kernel's batch on one thread and on all threads (same replicates, interleaved)."""
    args = eng["batch_args"]
    n = cfg.thread_reps
    args_n = (args[0], args[1], n) + args[3:]
    full = numba.get_num_threads()

    def one_thread() -> None:
        numba.set_num_threads(1)
        try:
            simulate_batch(*args_n, eng["cap"])
        finally:
            numba.set_num_threads(full)

    t = interleaved(
        {"all": lambda: simulate_batch(*args_n, eng["cap"]), "one": one_thread}, cfg.repeats
    )
    all_threads, single = statistics.median(t["all"]), statistics.median(t["one"])
    return {
        "replicates": n,
        "threads": full,
        "all_threads_seconds": all_threads,
        "one_thread_seconds": single,
        "samples": t,
        "speedup": single / all_threads if all_threads > 0 else float("nan"),
        "threading_layer": numba.threading_layer(),
    }


def measure_run_scenario(loaded, runs: int, repeats: int) -> dict:
    """Time ``run_scenario`` writing ``runs`` replicates into fresh temp dirs (warm, in process)."""
    with tempfile.TemporaryDirectory(prefix="escsim-bench-run-") as tmp:
        run_scenario(loaded, Path(tmp) / "warm", 10, argv=["benchmark"])
        k = iter(range(repeats))
        secs, samples = timed(
            lambda: run_scenario(loaded, Path(tmp) / f"r{next(k)}", runs, argv=["benchmark"]),
            repeats,
        )
    return {"replicates": runs, "seconds": secs, "samples": samples}


# --- report ----------------------------------------------------------------------------------


def check_targets(results: dict) -> list[dict]:
    """Return each target with the measured value and PASS or MISS."""
    rows = []
    for key, op, bound, text in TARGETS:
        v = results.get(key)
        ok = v is not None and (v >= bound if op == ">=" else v <= bound)
        rows.append(
            {
                "key": key,
                "target": f"{op} {bound:g}",
                "measured": v,
                "status": "PASS" if ok else "MISS",
                "what": text,
            }
        )
    return rows


def print_report(res: dict) -> None:
    """Print the headline figures, the targets, the profile and the scaling table."""

    def line(name: str, value, unit: str = "") -> None:
        if isinstance(value, float):
            value = f"{value:,.4g}"
        print(f"  {name:<38} {value!s:>14} {unit}")

    m = res["machine"]
    print(
        f"escsim benchmark ({res['mode']}) on {m['cpu_model']}, {m['usable_cores']} cores, "
        f"{m['numba_threads']} numba threads; load avg {m['loadavg_start'][0]:.2f} at start, "
        f"{m['loadavg_end'][0]:.2f} at end"
    )
    print("\nheadline")
    for key, unit in (
        ("mesa_seconds_per_replicate", "s"),
        ("kernel_seconds_per_replicate", "s"),
        ("ratio", "x"),
        ("kernel_replicates_per_second", "runs/s"),
        ("ns_per_agent_day", "ns (wall, all cores)"),
        ("floor_seconds_per_replicate", "s"),
        ("kernel_over_floor", "x (batch vs floor)"),
        ("compile_seconds_cold", "s"),
        ("compile_seconds_cached", "s"),
        ("run_10000_seconds", "s (in process)"),
        ("run_10000_seconds_fresh_process", "s (new process, warm disk cache)"),
        ("cli_10_runs_seconds", "s (uv run escsim run)"),
        ("escsim_version_seconds", "s (uv run escsim --version)"),
        ("peak_rss_mb", "MiB (process running run_scenario)"),
    ):
        line(key, res[key], unit)
    print("\ntargets")
    for t in res["targets"]:
        v = t["measured"]
        print(
            f"  {t['status']:<5} {t['key']:<24} {v if v is None else f'{v:,.4g}':>10} "
            f"target {t['target']:<8} {t['what']}"
        )
    d = res["details"]
    p, p1 = d["pipeline"], d["pipeline_one_chunk"]
    print(
        f"\nwhere a results run's time goes ({p['replicates']} replicates; seconds with chunks "
        f"of {p['chunk']} | one chunk of {p1['chunk']})"
    )
    for k in (
        "simulate",
        "records_to_table",
        "runs_table",
        "write_events",
        "write_runs",
        "consolidate",
        "git_commit",
        "versions",
        "total",
    ):
        print(f"  {k:<38} {p[k]:>14.4g} | {p1[k]:.4g}")
    e, fl, th = d["engines"], d["floor"], d["threads"]
    mem = e["record_buffer"]
    print(f"\nkernel batch of {e['kernel_replicates']} replicates (simulate_batch only)")
    line(f"record capacity {e['cap']} per replicate", e["batch_seconds"], "s (run_kernel's)")
    line(f"record capacity {e['tight_cap']} (max + 16)", e["batch_tight_cap_seconds"], "s")
    line("capacity 0 (no record written)", e["batch_no_records_seconds"], "s")
    line("gather, numpy (as run_kernel)", mem["gather_numpy_seconds"], "s")
    line("gather, parallel njit copy", mem["gather_parallel_seconds"], "s")
    line("first touch of fresh memory", mem["first_touch_seconds_per_gib"], "s/GiB")
    line("floor, no record written", fl["no_records_seconds"], "s")
    line(
        "floor draws per replicate",
        fl["draws_per_replicate"],
        f"(model {fl['model_draws_per_replicate']:,.0f})",
    )
    line(
        "floor events per replicate",
        fl["events_per_replicate"],
        f"(model {fl['model_events_per_replicate']:,.1f})",
    )
    line(f"1 thread vs {th['threads']} ({th['replicates']} reps)", th["speedup"], "x speed-up")
    print("\nwhat `escsim --version` imports (seconds, self time summed by package)")
    imp = d["imports"]["cli"]
    for k, v in list(imp["by_package_seconds"].items())[:6]:
        line(f"{k} (via {imp['imported_by'].get(k, '-')})", v, "s")
    line("python -c pass", d["cli"]["python_bare_seconds"], "s")
    line("python -c 'import typer, rich.console'", d["cli"]["python_typer_rich_seconds"], "s")
    print("\nParquet writer settings on the events of the headline kernel run")
    for k, v in d["parquet_variants"].items():
        line(k, v["seconds"], f"s, {v['mb']:.1f} MiB")
    print("\nkernel primitives (single thread, ns per call)")
    for k, v in d["micro_ns"].items():
        line(k, v, "ns")
    acc = d["accounting"]
    print("\nestimated single-thread time of one replicate by component")
    for k, v in acc.items():
        line(k, v, "" if k == "accounted_share" else "ns")
    print("\nscaling (kernel only, all cores)")
    print(
        f"  {'axis':<11}{'value':>8}{'reps':>9}{'days':>7}{'factions':>9}{'seconds':>10}"
        f"{'ms/rep':>10}{'ns/agent-day':>14}"
    )
    for r in res["scaling"]:
        print(
            f"  {r['axis']:<11}{r['value']:>8}{r['replicates']:>9}{r['days']:>7}"
            f"{r['factions']:>9}{r['seconds']:>10.3f}{1e3 * r['seconds_per_replicate']:>10.4f}"
            f"{r['ns_per_agent_day']:>14.2f}"
        )


def markdown_table(res: dict) -> str:
    """Return the headline figures and targets as a short Markdown table (for the README)."""
    m = res["machine"]
    rows = [
        ("Mesa, s per replicate", res["mesa_seconds_per_replicate"], ""),
        (
            "kernel, s per replicate (10,000 replicates, all cores)",
            res["kernel_seconds_per_replicate"],
            "",
        ),
        ("kernel replicates per second", res["kernel_replicates_per_second"], ""),
        ("ns per agent-day", res["ns_per_agent_day"], ""),
        (
            "compile, cold / cached (s)",
            f"{res['compile_seconds_cold']:.1f} / {res['compile_seconds_cached']:.2f}",
            "",
        ),
        ("peak RSS of a 10,000-replicate run (MiB)", res["peak_rss_mb"], ""),
    ]
    for t in res["targets"]:
        rows.append((t["what"], t["measured"], f"{t['target']} {t['status']}"))
    out = [
        f"Measured {res['created'][:10]} on {m['cpu_model']} ({m['usable_cores']} cores, "
        f"load average {m['loadavg_start'][0]:.1f}); `uv run python benchmarks/run.py`.",
        "",
        "| figure | measured | target |",
        "|---|---:|---|",
    ]
    for name, v, target in rows:
        val = v if isinstance(v, str) else f"{v:,.4g}"
        out.append(f"| {name} | {val} | {target} |")
    return "\n".join(out) + "\n"


def _jsonable(x):
    """Convert numpy scalars and tuples for ``json.dumps``."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def run_benchmark(cfg: Config, mode: str) -> dict:
    """Run every measurement of one mode and return the results dictionary."""
    t_start = time.perf_counter()
    machine = machine_info()
    compile_ = measure_compile()
    loaded = load_scenario(ROOT / SCENARIO)
    world = compile_world(loaded.scenario)
    # warm this process and numba's default disk cache before any warm-cache figure
    run_scenario_warm = measure_run_scenario(loaded, min(cfg.e2e_runs, 100), 1)
    with tempfile.TemporaryDirectory(prefix="escsim-bench-e2e-") as tmp:
        e2e = run_probe(["e2e", SCENARIO, str(cfg.e2e_runs), str(Path(tmp) / "out")])
    cli = startup.cli_timings(
        SCENARIO, cfg.cli_runs, cfg.cli_repeats, cfg.cli_launchers, cfg.cli_warmup
    )
    imports = {
        "cli": startup.import_costs(("sim.cli",)),
        "run_path": startup.import_costs(("sim.cli", "sim.runner", "sim.engines.kernel")),
    }
    eng = measure_engines(world, cfg)
    flo = eng["floor"]
    threads = measure_threads(eng, cfg)
    machine["numba_threading_layer"] = threads["threading_layer"]
    e2e_in = measure_run_scenario(loaded, cfg.e2e_runs, cfg.repeats)
    t0 = time.perf_counter()
    table = records_to_table(world, eng["records"], eng["reps"])
    t_table = time.perf_counter() - t0
    pipeline = hotspots.pipeline_profile(world, cfg.profile_runs, cfg.profile_chunk)
    pipeline.update({"replicates": cfg.profile_runs, "chunk": cfg.profile_chunk})
    one_chunk = hotspots.pipeline_profile(world, cfg.profile_runs, cfg.profile_runs)
    one_chunk.update({"replicates": cfg.profile_runs, "chunk": cfg.profile_runs})
    pq_variants = hotspots.parquet_variants(table)
    del table
    micro = hotspots.micro_costs(cfg.micro_n)
    n_days, nf = world.n_days, world.n_factions
    agents = scaling.n_agents(world)
    acc = hotspots.accounting(
        micro,
        {k: v / eng["count_replicates"] for k, v in eng["draw_counts"].items()},
        eng["events_per_replicate"],
        n_days,
        nf,
        threads["one_thread_seconds"] * 1e9 / threads["replicates"],
    )
    scale = scaling.scaling_table(
        loaded.scenario,
        cfg.scale_reps,
        cfg.scale_years,
        cfg.scale_factions,
        cfg.horizon_reps,
        cfg.faction_reps,
    )
    n = eng["kernel_replicates"]
    mesa_per = eng["mesa_seconds"] / eng["mesa_replicates"]
    kern_per = eng["kernel_seconds"] / n
    cli_key = "uv" if "run_uv_seconds" in cli else "venv"
    machine["loadavg_end"] = list(os.getloadavg())
    machine["sim_sources_digest_end"] = sources_digest()
    machine["sim_sources_changed_during_run"] = (
        machine["sim_sources_digest_end"] != machine["sim_sources_digest_start"]
    )
    res = {
        "mode": mode,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scenario": SCENARIO,
        "machine": machine,
        "agents": agents,
        "days": n_days,
        "factions": nf,
        "mesa_seconds_per_replicate": mesa_per,
        "kernel_seconds_per_replicate": kern_per,
        "ratio": mesa_per / kern_per,
        "kernel_replicates_per_second": n / eng["kernel_seconds"],
        "ns_per_agent_day": eng["kernel_seconds"] * 1e9 / (n * n_days * agents),
        "core_ns_per_agent_day": eng["kernel_seconds"]
        * 1e9
        * machine["numba_threads"]
        / (n * n_days * agents),
        "floor_seconds_per_replicate": flo["seconds"] / n,
        "kernel_over_floor": eng["batch_seconds"] / flo["seconds"],
        "compile_seconds_cold": compile_["cold"]["kernel_first_call_seconds"],
        "compile_seconds_cached": compile_["cached"]["kernel_first_call_seconds"],
        "run_10000_seconds": e2e_in["seconds"],
        "run_10000_seconds_fresh_process": e2e["run_scenario_seconds"],
        "cli_10_runs_seconds": cli[f"run_{cli_key}_seconds"],
        "escsim_version_seconds": cli[f"version_{cli_key}_seconds"],
        "peak_rss_mb": e2e["peak_rss_mb"],
        "peak_rss_mb_benchmark_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        / 1024.0,
        "mesa_kernel_identical": eng["mesa_kernel_identical"],
        "details": {
            "config": dataclasses.asdict(cfg),
            "engines": {
                k: v
                for k, v in eng.items()
                if k not in ("records", "reps", "batch_args", "draw_counts", "floor")
            },
            "floor": flo,
            "threads": threads,
            "compile": compile_,
            "run_scenario_in_process": e2e_in,
            "run_scenario_first_small": run_scenario_warm,
            "run_scenario_fresh_process": e2e,
            "cli": cli,
            "imports": imports,
            "records_to_table_seconds": t_table,
            "pipeline": pipeline,
            "pipeline_one_chunk": one_chunk,
            "parquet_variants": pq_variants,
            "micro_ns": micro,
            "accounting": acc,
        },
        "scaling": scale,
    }
    res["targets"] = check_targets(res)
    res["benchmark_seconds"] = time.perf_counter() - t_start
    return _jsonable(res)


def rerun_pipeline(cfg: Config) -> dict:
    """Measure only the results-pipeline figures (``run_10000_seconds`` and its profile).

    For a rerun after a change to the runner without the whole benchmark; the figures carry the
    time, load average and sources digest of this rerun.
    """
    load_start = list(os.getloadavg())
    loaded = load_scenario(ROOT / SCENARIO)
    world = compile_world(loaded.scenario)
    e2e_in = measure_run_scenario(loaded, cfg.e2e_runs, cfg.repeats)
    profile = hotspots.pipeline_profile(world, cfg.profile_runs, cfg.profile_chunk)
    profile.update({"replicates": cfg.profile_runs, "chunk": cfg.profile_chunk})
    return _jsonable(
        {
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
            "numba_threads": numba.get_num_threads(),
            "sim_sources_digest": sources_digest(),
            "run_10000_seconds": e2e_in["seconds"],
            "run_scenario_in_process": e2e_in,
            "pipeline": profile,
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not figures")
    ap.add_argument(
        "--markdown", type=Path, default=None, help="also write the headline table as Markdown"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default benchmarks/results.json; none in --quick mode)",
    )
    ap.add_argument(
        "--part",
        choices=("pipeline",),
        default=None,
        help="only the results-pipeline figures, written into results.json as pipeline_rerun",
    )
    args = ap.parse_args(argv)
    if args.part == "pipeline":
        rerun = rerun_pipeline(QUICK if args.quick else FULL)
        print(json.dumps(rerun, indent=2))
        out = args.out if args.out is not None else (None if args.quick else HERE / "results.json")
        if out is not None:
            res = json.loads(out.read_text()) if out.exists() else {}
            res["pipeline_rerun"] = rerun
            write_text_atomic(json.dumps(res, indent=2) + "\n", out)
            print(f"\nwrote pipeline_rerun into {out}")
        return 0
    mode = "quick" if args.quick else "full"
    res = run_benchmark(QUICK if args.quick else FULL, mode)
    print_report(res)
    out = args.out if args.out is not None else (None if args.quick else HERE / "results.json")
    if args.markdown is not None:
        write_text_atomic(markdown_table(res), args.markdown)
    if out is not None:
        write_text_atomic(json.dumps(res, indent=2) + "\n", out)
        print(f"\nwrote {out} (benchmark took {res['benchmark_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
