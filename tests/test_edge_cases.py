"""Edge cases: 1 and 1,000,000 replicates, one-day and ten-year horizons, one and a hundred
factions, and a scenario with no militias.

Each small case runs on both engines, which must write identical event logs. The million
replicates run in a subprocess (a one-day, one-faction scenario in chunks of 10,000) and its
peak resident memory is compared with a run of 100,000: memory must not grow with replicates.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.results.outcomes import OUTCOME_BY_KEY
from sim.runner import run_in_memory, run_scenario
from sim.scenario import LoadedScenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
HIST = yaml.safe_load((ROOT / "scenarios" / "historical.yaml").read_text())
HIST.pop("calibration")  # the parameters written in the scenario, whatever the current fit


def loaded(doc: dict) -> LoadedScenario:
    text = yaml.safe_dump(doc, sort_keys=False)
    return LoadedScenario(parse_scenario(text, "edge.yaml"), "edge.yaml", text)


def plain(table: pa.Table) -> pd.DataFrame:
    cols = {
        n: c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
        for n, c in zip(table.column_names, table.columns, strict=True)
    }
    return pa.table(cols).to_pandas()


def both_engines(doc: dict, runs_kernel: int, runs_mesa: int):
    """Run the kernel and Mesa; check Mesa's replicates equal the kernel's first ones."""
    ls = loaded(doc)
    ev, rt = run_in_memory(ls, runs_kernel)
    ev_m, rt_m = run_in_memory(ls, runs_mesa, engine="mesa")
    k = plain(ev)
    pd.testing.assert_frame_equal(k[k["run"] < runs_mesa].reset_index(drop=True), plain(ev_m))
    pd.testing.assert_frame_equal(plain(rt).iloc[:runs_mesa], plain(rt_m))
    return ls.scenario, k, plain(rt)


def check_log(sc, events: pd.DataFrame, runs: pd.DataFrame, n_runs: int) -> None:
    """Invariants of any event log and runs table."""
    assert list(runs["run"]) == list(range(n_runs))
    assert events["run"].between(0, n_runs - 1).all() and events["run"].is_monotonic_increasing
    days = events["day"].to_numpy()
    assert ((days >= 0) & (days < sc.n_days)).all()
    dates = pd.to_datetime(events["date"]).dt.date
    assert (dates >= sc.start).all() and (dates <= sc.end).all()
    factions = {f.name for f in sc.factions}
    assert set(events["actor"].dropna()) <= factions | {
        "MOIS",
        "IRGC-QF",
        "Beit Rahbari",
        "SL Office",
        "US",
        "PM",
    }
    assert set(events.loc[events["kind"] == "attack", "actor"]) <= factions
    assert set(events["subject"].dropna()) <= factions
    attacks = events[events["kind"] == "attack"].groupby("run").size()
    per_run = attacks.reindex(range(n_runs), fill_value=0).to_numpy()
    if sc.outcome_from == sc.start:
        assert np.array_equal(per_run, runs["attacks_total"].to_numpy())


# --- replicates ---------------------------------------------------------------------------------


def test_one_replicate(tmp_path):
    out = tmp_path / "one"
    scenario = ROOT / "scenarios" / "historical.yaml"
    res = CliRunner().invoke(app, ["run", str(scenario), "-n", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert OUTCOME_BY_KEY["attacks_us"].label in res.output  # the summary of one replicate
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    events = pq.read_table(out / "events.parquet").to_pandas()
    assert list(runs["run"]) == [0] and set(events["run"]) == {0}
    assert json.loads((out / "manifest.json").read_text())["runs"] == 1


MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys, threading, time
    from pathlib import Path
    import psutil
    import pyarrow.parquet as pq
    from sim.results.files import parquet_rows
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    def vm_hwm():
        # peak RSS since the last reset (Linux); None elsewhere
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None

    scenario, out, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    loaded = load_scenario(scenario)
    run_scenario(loaded, out / "warm", 20_000, chunk_size=10_000, argv=[])  # compile, buffers
    proc = psutil.Process()
    baseline = proc.memory_info().rss
    try:  # reset the kernel's peak counter so compilation and warm-up do not count
        Path("/proc/self/clear_refs").write_text("5")
        hwm_ok = True
    except OSError:
        hwm_ok = False
    peak, done = [baseline], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    run_scenario(loaded, out / "big", runs, chunk_size=10_000, argv=[])
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    hwm = vm_hwm() if hwm_ok else None
    ids = pq.read_table(out / "big" / "runs.parquet", columns=["run"]).column("run")
    print(json.dumps({
        "runs": len(ids), "baseline": baseline, "peak": max(peak[0], hwm or 0),
        "sampled_peak": peak[0], "hwm": hwm, "seconds": seconds,
        "ids_ok": ids.to_pylist() == list(range(runs)),
        "events": parquet_rows(out / "big" / "events.parquet"),  # a file or parts
    }))
    """
)


def probe(tmp_path: Path, runs: int) -> dict:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(
        "name: tiny\nstart: 2020-01-01\nend: 2020-01-01\nseed: 5\n"
        "factions:\n  - {name: A, base_rate: 0.5}\n"
        "iran:\n  agencies:\n    - {name: IRGC-QF, hawkishness: 1.0, control: {A: 0.8}}\n"
    )
    out = tmp_path / f"mem{runs}"
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(scenario), str(out), str(runs)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_million_replicates_stream_with_flat_memory(tmp_path):
    small = probe(tmp_path, 100_000)
    big = probe(tmp_path, 1_000_000)
    mb = 2**20
    grow_small = (small["peak"] - small["baseline"]) / mb
    grow_big = (big["peak"] - big["baseline"]) / mb
    print(
        f"\npeak RSS during the run above the RSS before it: {grow_small:.0f} MiB for 100,000 "
        f"replicates ({small['seconds']:.1f} s), {grow_big:.0f} MiB for 1,000,000 "
        f"({big['seconds']:.1f} s); {big['events']:,} events; "
        f"{'VmHWM reset + ' if big['hwm'] else ''}psutil sampling every 2 ms"
    )
    assert big["runs"] == 1_000_000 and big["ids_ok"] and small["ids_ok"]
    assert big["events"] > 1_000_000  # the event log was written, not dropped
    # holding the runs table alone would add ~110 MiB for the 900,000 extra replicates
    assert grow_big - grow_small < 40, (grow_small, grow_big)


# --- horizons -----------------------------------------------------------------------------------


def test_one_day_horizon():
    doc = copy.deepcopy(HIST)
    doc.update(start="2020-01-03", end="2020-01-03")
    doc["injects"] = [j for j in doc["injects"] if str(j["date"]) == "2020-01-03"]
    assert len(doc["injects"]) == 2  # the strike on Soleimani and the decapitation
    sc, events, runs = both_engines(doc, 50, 5)
    check_log(sc, events, runs, 50)
    assert sc.n_days == 1 and (events["day"] == 0).all()
    forced = events[events["forced"]]
    assert set(forced["kind"]) >= {"us_strike"} and forced["run"].nunique() == 50
    assert runs["days_to_deescalation"].isna().all()  # no 30-day window fits in one day
    assert (runs["us_strikes"] >= 1).all()


def test_ten_year_horizon():
    doc = copy.deepcopy(HIST)
    doc["end"] = "2029-09-30"
    sc, events, runs = both_engines(doc, 20, 2)
    check_log(sc, events, runs, 20)
    assert sc.n_days == 3653
    assert events["day"].max() > 3000  # the simulation really reached the last years


# --- factions -----------------------------------------------------------------------------------


def test_one_faction():
    doc = copy.deepcopy(HIST)
    doc["factions"] = doc["factions"][:1]
    for a in doc["iran"]["agencies"]:
        a["control"] = {k: v for k, v in a["control"].items() if k == "KH"}
    doc["injects"] = [j for j in doc["injects"] if j.get("faction") in (None, "KH")]
    sc, events, runs = both_engines(doc, 30, 3)
    check_log(sc, events, runs, 30)
    assert set(events.loc[events["kind"] == "attack", "actor"]) == {"KH"}


def test_a_hundred_factions():
    doc = copy.deepcopy(HIST)
    doc["factions"] = [
        dict(doc["factions"][i % 5], name=f"F{i:03d}", fronts=[f"front {i}"]) for i in range(100)
    ]
    doc["iran"]["agencies"] = [
        {
            "name": "IRGC-QF",
            "hawkishness": 0.5,
            "control": {f"F{i:03d}": 0.6 for i in range(0, 100, 2)},
        },
        {
            "name": "MOIS",
            "hawkishness": -1.0,
            "control": {f"F{i:03d}": 0.4 for i in range(1, 100, 2)},
        },
    ]
    doc["injects"] = [
        dict(j, faction=f"F{k:03d}") if j.get("faction") else j
        for k, j in enumerate(doc["injects"])
    ]
    sc, events, runs = both_engines(doc, 5, 1)
    check_log(sc, events, runs, 5)
    attackers = set(events.loc[events["kind"] == "attack", "actor"])
    assert len(attackers) > 50  # many factions act, not only the first few
    claimed = events.loc[events["claimed_as"].notna(), ["actor", "claimed_as"]]
    assert (
        claimed["claimed_as"] == "front " + claimed["actor"].str[1:].astype(int).astype(str)
    ).all()


# --- no militias --------------------------------------------------------------------------------


def test_no_militias_means_no_attacks(tmp_path):
    doc = copy.deepcopy(HIST)
    doc["factions"] = []
    for a in doc["iran"]["agencies"]:
        a["control"] = {}
    doc["injects"] = [j for j in doc["injects"] if not j.get("faction")]
    sc, events, runs = both_engines(doc, 20, 2)
    check_log(sc, events, runs, 20)
    assert (events["kind"] != "attack").all()
    assert (runs["attacks_total"] == 0).all() and (runs["killed"] == 0).all()
    assert (runs["us_strikes"] == 0).all() and runs["front_claim_share"].isna().all()
    out = tmp_path / "none"
    res = run_scenario(loaded(doc), out, 3, argv=[])
    assert res.runs.num_rows == 3


def test_militias_without_weapons_or_intent_never_attack():
    doc = copy.deepcopy(HIST)
    zero = {"rocket": 0, "ied": 0, "drone": 0, "small_arms": 0}
    for f in doc["factions"]:
        f.update(base_rate=0.0, stocks=dict(zero), resupply=dict(zero))
    sc, events, runs = both_engines(doc, 20, 2)
    check_log(sc, events, runs, 20)
    assert (runs["attacks_total"] == 0).all()


@pytest.mark.parametrize("runs", [1, 7])
def test_results_do_not_depend_on_chunk_size_at_the_edges(runs):
    ls = loaded(copy.deepcopy(HIST))
    a = run_in_memory(ls, runs, chunk_size=1)
    b = run_in_memory(ls, runs, chunk_size=runs)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(plain(x), plain(y))
