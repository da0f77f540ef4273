"""Known answers of the escalation spiral: it measures escalation, not strike counts.

With US strikes made inert (no grievance, revenge, credibility, degradation, discipline hit or
deterrence), the doctrine changes how often the US strikes but nothing the militias do, so
P(spiral) must be the same under strong retaliation and under the status quo. The threshold is
three standard errors of a difference of two independent proportions at p = 1/2 with N
replicates each, 3 * sqrt(2 * 0.25 / N) (0.106 at N = 400): conservative, because on common
random numbers the paired difference varies less than an unpaired one. With strikes that
provoke (a strike's grievance 3, no deterrence), the same comparison must exceed that
threshold, so the test can fail; the known answer does not depend on the calibrated values.

The listed parameters do not make strikes perfectly inert: a strike also clears the blame on its
target (``sim/engines/kernel.py`` ``_strike``), and the PM raids the faction with the most blame
(``sim/model/rules/pm.py`` ``prime_suspect``), so raids, and through them attacks, still differ a
little between doctrines. Measured at N = 400 (seed 20191001, the calibration with the
model-discrepancy term): inert strikes, attacks on US targets 176.9 (status quo) vs 170.3
(strong retaliation), P(spiral) 0.955 vs 0.9425 (difference 0.0125 < 0.106); provoking strikes,
P(spiral) 0.06 vs 0.975. (At the scenario's own strike grievance 2 with the other effects
calibrated, P(spiral) is 0.165 vs 0.25: the calibrated effects of strikes are mild.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.design import DesignScenario, evaluate_design
from sim.results.outcomes import METRICS, SPIRAL_MIN_ATTACKS, SPIRAL_SPAN, _spiral
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

N = 400
THRESHOLD = 3 * math.sqrt(2 * 0.25 / N)
INERT = {
    "us.strike_grievance": 0.0,
    "us.strike_grievance_allies": 0.0,
    "iran.revenge": 0.0,
    "us.credibility_jump": 0.0,
    "us.degrade_infrastructure": 0.0,
    "us.degrade_leadership": 0.0,
    "us.leadership_discipline_hit": 0.0,
    "militia.beta_deterrence": 0.0,
}
SPIRAL = METRICS.index("escalation_spiral")
STRIKES = METRICS.index("us_strikes")


@pytest.fixture(scope="module")
def pair():
    """Status quo and strong retaliation, compiled."""
    return [
        DesignScenario.of(load_scenario(SCENARIOS / f"{n}.yaml").scenario)
        for n in ("status_quo", "strong_us_retaliation")
    ]


def _run(pair, values: dict[str, float]) -> np.ndarray:
    cat = {p.path: p for p in pair[0].catalogue}
    params = [cat[k] for k in values]
    return evaluate_design(pair, params, np.array([list(values.values())]), N)[:, 0]


def test_inert_strikes_leave_the_spiral_equal_across_doctrines(pair):
    res = _run(pair, INERT)
    # the doctrines do differ: strong retaliation strikes far more often
    assert res[1, :, STRIKES].mean() > 3 * res[0, :, STRIKES].mean()
    p_sq, p_strong = res[0, :, SPIRAL].mean(), res[1, :, SPIRAL].mean()
    assert abs(p_strong - p_sq) < THRESHOLD, (p_sq, p_strong)


def test_provoking_strikes_change_the_spiral(pair):
    res = _run(pair, {"us.strike_grievance": 3.0, "militia.beta_deterrence": 0.0})
    p_sq, p_strong = res[0, :, SPIRAL].mean(), res[1, :, SPIRAL].mean()
    assert abs(p_strong - p_sq) > THRESHOLD, (p_sq, p_strong)


def _cum(daily: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(daily)]).astype(np.int64)


def test_spiral_needs_two_spans_above_twice_the_own_level():
    before = 90
    level = 6  # per 30 days before the window -> 12 needed per span
    us_before = level * before // SPIRAL_SPAN
    window = np.zeros(before + 120, dtype=np.int64)
    window[before : before + 30] = 0
    window[before + 30] = 12  # one span at 12
    assert _spiral(_cum(list(window)), us_before, before, len(window)) == 0.0
    window[before + 60] = 12  # the next span at 12 too
    assert _spiral(_cum(list(window)), us_before, before, len(window)) == 1.0
    window[before + 60] = 11  # one short
    assert _spiral(_cum(list(window)), us_before, before, len(window)) == 0.0


def test_spiral_without_history_uses_the_floor():
    daily = [0] * 120
    daily[0] = daily[30] = SPIRAL_MIN_ATTACKS
    assert _spiral(_cum(daily), 0, 0, len(daily)) == 1.0
    daily[30] = SPIRAL_MIN_ATTACKS - 1
    assert _spiral(_cum(daily), 0, 0, len(daily)) == 0.0
