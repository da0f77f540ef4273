"""The wired mechanisms can produce the documented patterns (issue 10 item 5, issue 16 item 9).

Fitted-parameter runs of the historical scenario (30 replicates, common random numbers: the same
seed for the reference run and the variant), with one mechanism moved. The values used are
stated; where a value is not sourced it says so. These are tests that the mechanism works in the
direction its source describes, not calibrated results.

The historical scenario now sets ``militia.pm_before_election`` 0 (S3); the reference runs below
set each mechanism's value explicitly, so the comparison does not depend on the scenario file.
Measured with the first wiring: with ``militia.pm_before_election`` 0 and ``militia.state_turn``
1, 0% of replicates attack the PM before the election (PM not spared: 47%) and 33% within 7 weeks
after it (state turn 0: 10%); with ``pm.raid_seizure`` 0.8, 87.5 attacks on US targets in 2020
per replicate (no seizure: 105.7).
"""

from __future__ import annotations

import dataclasses

import pytest

from sim.api import load_scenario, run
from tests.conftest import SCENARIOS
from tests.science.conftest import RUNS, US_TARGETS, Log


def _variant(**blocks) -> Log:
    loaded = load_scenario(SCENARIOS / "historical.yaml")
    sc = loaded.scenario
    update = {k: getattr(sc, k).model_copy(update=v) for k, v in blocks.items()}
    return Log(
        run(dataclasses.replace(loaded, scenario=sc.model_copy(update=update)), runs=RUNS).events,
        RUNS,
    )


@pytest.fixture(scope="module")
def state_turn() -> Log:
    # pm_before_election 0: S3 ("never sought to use lethal force against ... the prime
    # minister" before 7 Nov 2021); state_turn 1: assumed (not calibrated)
    return _variant(militia={"pm_before_election": 0.0, "state_turn": 1.0})


def test_state_turn_spares_the_pm_before_the_election(state_turn):
    """S3: no attack on the PM before the election. Threshold: none in any replicate."""
    pm = state_turn.attacks_on("pm")
    assert int(state_turn.count(pm, "2019-10-01", "2021-10-09").sum()) == 0


def test_state_turn_targets_the_pm_after_the_election(state_turn):
    """S0, S3: the PM attacked four weeks after the election (events.csv 2021-11-07).
    Threshold: the share of replicates attacking the PM from 10 Oct to 30 Nov 2021 at least
    doubles against the same run without the turn (``state_turn`` 0)."""
    no_turn = _variant(militia={"pm_before_election": 0.0, "state_turn": 0.0})

    def share(log):
        return float((log.count(log.attacks_on("pm"), "2021-10-10", "2021-11-30") > 0).mean())

    assert share(state_turn) >= 2.0 * max(share(no_turn), 0.05)


def test_seizures_make_a_crackdown_cut_attacks():
    """Issue 16 item 9: raids can reduce capability. events.csv 2020-06-25: rocket launchers
    seized in the raid on KH. With ``pm.raid_seizure`` 0.8 (assumed), attacks on US targets in
    2020 fall by at least 10% against the run without seizures (same seed, same parameters)."""
    seized = _variant(pm={"raid_seizure": 0.8})
    kept = _variant(pm={"raid_seizure": 0.0})
    before = kept.count(kept.attacks_on(*US_TARGETS), "2020-01-01", "2020-12-31")
    after = seized.count(seized.attacks_on(*US_TARGETS), "2020-01-01", "2020-12-31")
    assert after.mean() <= 0.9 * before.mean()
