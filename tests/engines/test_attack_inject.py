"""The forced ``attack`` inject (issue 16 item 2): both engines log it, forced, as written."""

from __future__ import annotations

import copy

import numpy as np

from sim import vocab as V
from sim.runner import run_in_memory
from sim.scenario import LoadedScenario
from tests.conftest import SMALL, build


def small_with_attack() -> LoadedScenario:
    """SMALL with a forced drone attack on the PM by its first faction, claimed by a front."""
    doc = copy.deepcopy(SMALL)
    first = doc["factions"][0]
    first.update(fronts=["Front A"], front_share=0.0)
    inject = {
        "date": "2020-11-07",
        "kind": "attack",
        "faction": first["name"],
        "weapon": "drone",
        "target": "pm",
        "claim": "Front A",
        "killed": 0,
        "name": "drone attack on the PM",
    }
    sc = build({"factions": doc["factions"], "injects": [*doc.get("injects", []), inject]})
    return LoadedScenario(sc, "small.yaml", "")


def test_forced_attack_is_logged_in_every_replicate_by_both_engines():
    loaded = small_with_attack()
    tables = {e: run_in_memory(loaded, 3, seed=5, engine=e)[0] for e in ("kernel", "mesa")}
    assert tables["kernel"].equals(tables["mesa"])  # same rule, same effect, same log
    ev = tables["kernel"].to_pandas()
    forced = ev[(ev.kind == "attack") & ev.forced]
    assert len(forced) == 3 and sorted(forced.run) == [0, 1, 2]
    row = forced.iloc[0]
    assert (str(row.date)[:10], row.weapon, row.target, row.claimed_as) == (
        "2020-11-07",
        "drone",
        "pm",
        "Front A",
    )
    assert row.actor == SMALL["factions"][0]["name"] and not row.intercepted


def test_forced_attack_changes_history_only_from_its_date():
    """Paired with the same scenario without the inject: identical logs before 7 Nov 2020."""
    with_attack = run_in_memory(small_with_attack(), 3, seed=5)[0].to_pandas()
    doc = copy.deepcopy(SMALL)
    doc["factions"][0].update(fronts=["Front A"], front_share=0.0)
    plain = LoadedScenario(build({"factions": doc["factions"]}), "small.yaml", "")
    without = run_in_memory(plain, 3, seed=5)[0].to_pandas()
    cut = np.datetime64("2020-11-07")
    before = [
        t[t.date.astype("datetime64[ns]") < cut].reset_index(drop=True)
        for t in (with_attack, without)
    ]
    assert before[0].astype(str).equals(before[1].astype(str))
    assert len(with_attack[with_attack.forced & (with_attack.kind == "attack")]) == 3
    assert len(without[without.forced & (without.kind == "attack")]) == 0
    assert V.INJECT_KINDS[V.I_ATTACK] == "attack"
