"""Tests of the benchmark harness (benchmarks/): known answers of its parts and a quick run.

Nothing here asserts on speed: the quick run checks that every figure is produced, finite and
positive, and that the floor is calibrated to the model's draws and events.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim  # noqa: F401 - before numba: it sets NUMBA_CACHE_DIR
from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.model.world import compile_world
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402
import scaling  # noqa: E402
import startup  # noqa: E402

REQUIRED = (
    "mesa_seconds_per_replicate",
    "kernel_seconds_per_replicate",
    "ratio",
    "kernel_replicates_per_second",
    "ns_per_agent_day",
    "compile_seconds_cold",
    "compile_seconds_cached",
    "peak_rss_mb",
    "floor_seconds_per_replicate",
    "kernel_over_floor",
    "run_10000_seconds",
    "cli_10_runs_seconds",
    "escsim_version_seconds",
)


@pytest.fixture(scope="module")
def historical():
    return load_scenario(ROOT / "scenarios" / "historical.yaml").scenario


@pytest.fixture(scope="module")
def one_year(historical):
    return compile_world(scaling.with_horizon(historical, 1))


def _floor(world, rates, n_reps=3, cap=2000):
    return floor.floor_batch(
        world.seed, 0, n_reps, world.n_days, world.n_factions, world.injects, rates, cap
    )


# --- floor -----------------------------------------------------------------------------------


def test_floor_with_zero_rates_makes_only_the_fixed_draws(one_year):
    w = one_year
    ev, counts, draws, sums = _floor(w, np.zeros(floor.N_RATES))
    fixed = w.n_days * (V.N_AGENCIES + 2 * w.n_factions)
    assert (draws == fixed).all()
    # only the forced events: one per inject row
    assert (counts == w.injects.shape[0]).all()
    # the mean of `fixed` uniform draws is close to 1/2
    assert np.all(np.abs(sums / draws - 0.5) < 0.02)


def test_floor_with_certain_attacks_makes_every_attack_draw(one_year):
    w = one_year
    r = np.zeros(floor.N_RATES)
    r[floor.P_ATTACK] = 1.0
    r[floor.P_KILL_DRAWS] = 1.0
    r[floor.P_ATTRIBUTE_DRAW] = 1.0
    r[floor.P_ATTRIBUTION_EVENT] = 1.0
    ev, counts, draws, _ = _floor(w, r, cap=5000)
    fd = w.n_days * w.n_factions
    # per agency-day: the reconsideration draw only (no stance draw at rate 0);
    # per faction-day: noise, attack, 7 attack draws, one attribution draw
    assert (draws == w.n_days * V.N_AGENCIES + fd * 10).all()
    assert (counts == w.injects.shape[0] + 2 * fd).all()
    kinds = Counter(ev[: counts[0], L.E_KIND].tolist())
    assert kinds[V.K_ATTACK] == fd
    assert kinds[V.K_ATTRIBUTION] == fd


def test_floor_replicates_do_not_depend_on_the_batch(one_year):
    w = one_year
    r = np.full(floor.N_RATES, 0.1)
    _, c_all, d_all, s_all = floor.floor_batch(
        w.seed, 0, 4, w.n_days, w.n_factions, w.injects, r, 1000
    )
    _, c_one, d_one, s_one = floor.floor_batch(
        w.seed, 2, 1, w.n_days, w.n_factions, w.injects, r, 1000
    )
    assert c_one[0] == c_all[2] and d_one[0] == d_all[2] and s_one[0] == s_all[2]


def test_floor_without_capacity_counts_but_writes_nothing(one_year):
    w = one_year
    r = np.full(floor.N_RATES, 0.2)
    ev0, c0, d0, _ = _floor(w, r, cap=0)
    _, c1, d1, _ = _floor(w, r, cap=5000)
    assert ev0.shape[0] == 0
    assert (c0 == c1).all() and (d0 == d1).all()


def test_rates_from_counts_known_answer():
    n_days, nf = 100, 4
    draws = {
        L.R_TARGET: 20.0,
        L.R_KILL: 15.0,
        L.R_ATTRIBUTE: 10.0,
        L.R_STRIKE: 40.0,
        L.R_STRIKE_KILLED: 2.0,
        L.R_RELEASE: 8.0,
        L.R_ARREST: 5.0,
        L.R_MEDIATE: 50.0,
        L.R_COMPLY: 3.0,
        L.R_BREAKDOWN: 1.0,
        L.R_DIRECTIVE: 16.0,
    }
    events = {
        V.K_ATTACK: 20.0,
        V.K_ATTRIBUTION: 4.0,
        V.K_DIRECTIVE: 8.0,
        V.K_US_STRIKE: 3.0,
        V.K_TRUCE_START: 6.0,
    }
    r = floor.rates_from_counts(
        draws, events, forced_strikes_per_rep=1.0, n_days=n_days, n_factions=nf, n_inject_rows=2
    )
    assert r[floor.P_ATTACK] == pytest.approx(20 / 400)
    assert r[floor.P_KILL_DRAWS] == pytest.approx(15 / 20)
    assert r[floor.P_ATTRIBUTE_DRAW] == pytest.approx(10 / 20)
    assert r[floor.P_ATTRIBUTION_EVENT] == pytest.approx(4 / 10)
    assert r[floor.Q_STRIKE] == pytest.approx(40 / 400)
    assert r[floor.P_STRIKE_EVENT] == pytest.approx(2 / 40)
    assert r[floor.Q_RELEASE] == pytest.approx(8 / 400)
    assert r[floor.Q_ARREST] == pytest.approx(5 / 100)
    assert r[floor.Q_MEDIATE] == pytest.approx(50 / 100)
    assert r[floor.Q_MISC] == pytest.approx(4 / 100)
    assert r[floor.Q_DIRECTIVE] == pytest.approx(16 / 400)
    assert r[floor.P_DIRECTIVE_EVENT] == pytest.approx(8 / 16)
    # other events: 41 in all - (20 attacks + 4 attributions + 8 directives + 2 strikes + 2 rows)
    assert r[floor.P_OTHER_EVENT] == pytest.approx(5 / 100)
    assert len(floor.RATE_NAMES) == floor.N_RATES


def test_rates_are_clipped_to_probabilities():
    r = floor.rates_from_counts({L.R_MEDIATE: 500.0}, {V.K_ATTACK: 1e6}, 0.0, 10, 1, 0)
    assert r[floor.Q_MEDIATE] == 1.0 and r[floor.P_ATTACK] == 1.0
    assert np.all((r >= 0.0) & (r <= 1.0))


def test_counted_model_draws_have_the_fixed_counts_and_match_the_kernel(one_year):
    w = one_year
    counts, records = floor.count_model_draws(w, 0, 1)
    assert counts[L.R_NOISE] == w.n_days * w.n_factions
    assert counts[L.R_ATTACK] == w.n_days * w.n_factions
    assert counts[L.R_REDRAW] == w.n_days * V.N_AGENCIES
    # every attack makes its target draw; the Mesa engine logs exactly the kernel's events
    assert counts.get(L.R_TARGET, 0) == int((records[:, L.E_KIND] == V.K_ATTACK).sum())
    k_records, _ = run_kernel(w, 0, 1)
    assert np.array_equal(records, k_records)


# --- scaling scenarios -----------------------------------------------------------------------


def test_with_factions_clones_names_and_spreads_control(historical):
    sc = scaling.with_factions(historical, 12)
    names = [f.name for f in sc.factions]
    assert len(names) == 12 and len(set(names)) == 12
    fronts = [f for fac in sc.factions for f in fac.fronts]
    assert len(fronts) == len(set(fronts))
    base = {a.name: a.control for a in historical.iran.agencies}
    for a in sc.iran.agencies:
        for clone, strength in a.control.items():
            assert strength == base[a.name][clone.split("#")[0]]
    # every clone of a controlled faction is controlled
    kh_clones = [n for n in names if n.split("#")[0] == "KH"]
    qf = next(a for a in sc.iran.agencies if a.name == "IRGC-QF")
    assert set(kh_clones) <= set(qf.control)


def test_with_factions_of_the_roster_size_is_the_same_world(historical):
    w0 = compile_world(historical)
    w1 = compile_world(scaling.with_factions(historical, len(historical.factions)))
    assert np.array_equal(w0.fp, w1.fp)
    assert np.array_equal(w0.control, w1.control)
    assert np.array_equal(w0.injects, w1.injects)


@pytest.mark.parametrize("years", [1, 2, 5])
def test_with_horizon_sets_days_and_keeps_injects_inside(historical, years):
    sc = scaling.with_horizon(historical, years)
    assert 365 * years <= sc.n_days <= 365 * years + 2
    assert all(sc.start <= i.date <= sc.end for i in sc.injects)
    assert len(sc.factions) == len(historical.factions)


def test_scaling_row_counts_agents_and_agent_days(one_year):
    row = scaling.scaling_row("years", 1, one_year, 20)
    assert row["agents"] == one_year.n_factions + V.N_AGENCIES + 2
    assert row["seconds"] > 0
    assert row["ns_per_agent_day"] == pytest.approx(
        row["seconds"] * 1e9 / (20 * one_year.n_days * row["agents"])
    )


# --- startup helpers -------------------------------------------------------------------------


def test_parse_importtime_known_answer():
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |   numpy.core\n"
        "import time:        30 |        150 | numpy\n"
        "something else\n"
    )
    rows = startup.parse_importtime(text)
    assert rows == [("numpy.core", 120, 120, 1), ("numpy", 30, 150, 0)]


# --- the whole benchmark in quick mode -------------------------------------------------------


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    out, md = tmp / "quick.json", tmp / "quick.md"
    cmd = [
        sys.executable,
        str(BENCH / "run.py"),
        "--quick",
        "--out",
        str(out),
        "--markdown",
        str(md),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout, md.read_text()


def test_quick_run_reports_every_figure(quick_results):
    res, stdout, _ = quick_results
    assert res["mode"] == "quick"
    for key in REQUIRED:
        v = res[key]
        assert isinstance(v, int | float) and math.isfinite(v) and v > 0, (key, v)
        assert key in stdout
    assert res["ratio"] == pytest.approx(
        res["mesa_seconds_per_replicate"] / res["kernel_seconds_per_replicate"]
    )
    m = res["machine"]
    assert m["logical_cores"] >= 1 and m["numba_threads"] >= 1 and m["cpu_model"]


def test_quick_run_targets_are_reported_not_asserted(quick_results):
    res, stdout, _ = quick_results
    keys = {t["key"] for t in res["targets"]}
    assert keys == {"ratio", "run_10000_seconds", "kernel_over_floor", "cli_10_runs_seconds"}
    for t in res["targets"]:
        assert t["status"] in ("PASS", "MISS")
        assert t["measured"] == res[t["key"]]
        assert f"{t['status']:<5} {t['key']}" in stdout


def test_quick_run_floor_matches_the_model_workload(quick_results):
    res, _, _ = quick_results
    f = res["details"]["floor"]
    assert f["draws_per_replicate"] == pytest.approx(f["model_draws_per_replicate"], rel=0.15)
    assert f["events_per_replicate"] == pytest.approx(f["model_events_per_replicate"], rel=0.15)
    assert res["mesa_kernel_identical"] is True


def test_quick_run_scaling_table(quick_results):
    res, _, _ = quick_results
    rows = res["scaling"]
    assert {r["axis"] for r in rows} == {"replicates", "years", "factions"}
    for r in rows:
        assert r["seconds"] > 0 and r["ns_per_agent_day"] > 0 and r["events_per_replicate"] > 0
    fac = {r["value"]: r for r in rows if r["axis"] == "factions"}
    assert all(fac[v]["factions"] == v for v in fac)


@settings(max_examples=10, deadline=None)
@given(rates=st.lists(st.floats(0.0, 1.0), min_size=floor.N_RATES, max_size=floor.N_RATES))
def test_floor_draws_stay_within_the_structural_bounds(one_year, rates):
    w = one_year
    r = np.array(rates)
    _, counts, draws, sums = _floor(w, r, n_reps=2, cap=0)
    fd = w.n_days * w.n_factions
    fixed = w.n_days * (V.N_AGENCIES + 2 * w.n_factions)
    # at most: a stance draw per agency-day; 8 more draws per faction-day in phases 3-4,
    # strike and strike-killed, release; three per-day draws of the prime minister
    most = fixed + w.n_days * V.N_AGENCIES + fd * (8 + 2 + 1) + w.n_days * 3
    assert ((draws >= fixed) & (draws <= most)).all()
    assert ((sums >= 0) & (sums < draws)).all()
    assert (counts >= w.injects.shape[0]).all()


def test_sim_importers_finds_the_innermost_escsim_module():
    rows = [
        ("numpy", 10, 10, 3),
        ("pandas", 5, 15, 2),
        ("sim.cli.calibrate", 1, 16, 1),
        ("typer", 4, 4, 1),
        ("sim.cli", 1, 21, 0),
    ]
    assert startup.sim_importers(rows) == {
        "numpy": "sim.cli.calibrate",
        "pandas": "sim.cli.calibrate",
        "typer": "sim.cli",
    }


def test_parallel_gather_equals_the_numpy_gather(one_year):
    import hotspots

    w = one_year
    cap = 400
    ev, counts, _, _ = floor.floor_batch(
        w.seed, 0, 5, w.n_days, w.n_factions, w.injects, np.full(floor.N_RATES, 0.1), cap
    )
    assert counts.max() <= cap
    a, ra = hotspots.gather_numpy(ev, counts, cap, 7)
    b, rb = hotspots.gather_parallel(ev, counts, cap, 7)
    assert a.shape == (counts.sum(), L.N_ECOLS)
    assert np.array_equal(a, b) and np.array_equal(ra, rb)
    assert (np.bincount(ra - 7) == counts).all()


def test_quick_run_markdown_table(quick_results):
    res, _, md = quick_results
    lines = md.splitlines()
    assert "| figure | measured | target |" in lines
    for t in res["targets"]:
        assert any(t["what"] in ln and t["status"] in ln for ln in lines)
