"""Science tests: each documented pattern of 2019-2024 is a test with a stated threshold.

Each test names the record it rests on (tally id, events.csv row, seed) and the threshold with
its reason. The runs are posterior predictive runs of 30 replicates (``conftest.py``: replicate
k at posterior draw k). A pattern the
model misses today is a strict xfail with the reason and the value measured at the time of
writing: strict, so a test that starts passing fails and someone must look (and remove the
mark).

Posterior predictive figures (30 replicates) over the posterior with the S1 mechanisms, the
directive reach fitted and the PM spared before the election (calibration of issue 10, third
run): embassy attacks in the Oct 2020 truce 0.31 of the 37 days before, convoy attacks 0.49;
Aug-Sep 2020 rate 0.80 x the Jan-Jul rate; replicates attacking the PM before the election 0%,
within 7 weeks after it 33%; attacks on the state and the PM 2.6 x more frequent in the 45 days
after the election than in the 45 before; drone share from 14 Apr 2021 0.38; raids in 2020
median 7; 2023-24 episode at the 2019-21 posterior 0.90 attacks a day in the campaign, 1.14 in
the pause. Over the first posterior of issue 10: replicates attacking the PM before the
election 73%, within 7 weeks after it 33% (the fitted point: 17% after).
Over the posterior with the pressure campaign (calibration of issue 10, second run): embassy attacks
in the Oct 2020 truce 0.27 of the 37 days before, convoy attacks 0.51; Aug-Sep 2020 rate 0.86 x the
Jan-Jul rate. The figures that follow were measured with the earlier fitted-parameter fixtures and
the previous calibration: embassy attacks in the Oct 2020 truce 0.17 of the 37 days before, convoy
IEDs 0.05; attacks on US targets within 14 days of the strikes of 12 Mar 2020, 25 Feb 2021, 27 Jun
2021 in 93%, 83%, 93% of replicates; Aug-Sep 2020 rate 1.01 x the Jan-Jul rate; drone share of
attacks on US sites from 14 Apr 2021 0.46; replicates attacking the PM before the election 47%,
within 7 weeks after it 10%; attacks on the state and the PM 3.3 x more frequent in the 45 days
after the election than in the 45 before; raids in 2020 median 7; 2023-24 episode: 0.18 attacks a
day on US targets in the campaign, 0.35 in the pause.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.science.conftest import US_TARGETS

# --- the truce of Oct-Nov 2020 (events.csv 2020-10-10; T16) ----------------------------------

TRUCE = ("2020-10-11", "2020-11-16")  # T16's window: 0 rockets on the embassy
BEFORE_TRUCE = ("2020-09-03", "2020-10-09")  # the 37 days before it


def _ratio(log, frame, inside, before) -> float:
    b = log.count(frame, *before).mean()
    assert b > 0, "no attacks before the truce: the comparison is empty"
    return float(log.count(frame, *inside).mean() / b)


def test_truce_embassy_attacks_fall(historical):
    """T16: no rockets on the embassy from 11 Oct to 16 Nov 2020. Threshold: embassy attacks
    inside the truce at most 0.35 of those of the 37 days before (a fall of at least 65%)."""
    embassy = historical.attacks_on("us_embassy")
    assert _ratio(historical, embassy, TRUCE, BEFORE_TRUCE) <= 0.35


@pytest.mark.xfail(
    strict=True,
    reason="at the threshold: 0.49 over the posterior with the S1 mechanisms (6.2 convoy attacks "
    "inside against 12.6 before, 30 replicates); 0.51 over the previous posterior",
)
def test_truce_convoy_ieds_continue(historical):
    """events.csv 2020-10-10 and T16: in the truce "convoy IEDs continue". Threshold: convoy
    attacks inside the truce at least 0.5 of those of the 37 days before.

    The model keeps about half the convoy attacks in the truce; the ratio sits on the threshold
    (0.51 over the posterior of the pressure campaign, 0.49 over the one with the S1
    mechanisms), so it is a strict xfail today: a fit that lifts it fails the mark and is
    looked at."""
    convoy = historical.attacks_on("convoy")
    assert _ratio(historical, convoy, TRUCE, BEFORE_TRUCE) >= 0.5


# --- attacks resume after US strikes, in 2020 and in 2021 ------------------------------------


@pytest.mark.parametrize(
    ("strike", "resumed"),
    [
        ("2020-03-12", "2020-03-14"),  # Taji hit again two days after the strikes on KH
        ("2021-02-25", "2021-03-03"),  # Ain al-Asad rockets (S1: decided on 28 Feb)
        ("2021-06-27", "2021-07-07"),  # the Jul 5-8 wave, 14 rockets on Ain al-Asad
    ],
)
def test_attacks_resume_within_two_weeks_of_a_strike(historical, strike, resumed):
    """events.csv: after each documented US strike, attacks on US targets resumed within 2-10
    days (the dates in the parameters). Threshold: at least 70% of replicates have an attack on
    a US target within 14 days after the strike."""
    day = pd.Timestamp(strike)
    after = historical.attacks_on(*US_TARGETS)
    after = after[after["date"] > day]
    end = (day + pd.Timedelta(days=14)).strftime("%Y-%m-%d")
    resumed_share = float((historical.count(after, strike, end) > 0).mean())
    assert resumed_share >= 0.7


# --- the Aug-Sep 2020 peak (T12, T13, T14) ---------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="model misses it: its 2020 peak is Jun-Jul (raid backfire); over the posterior with "
    "the pressure campaign and the fitted directive reach (docs/ODD.md 7.2.15) Aug-Sep runs at "
    "0.80 x the Jan-Jul rate (0.86 before militia.beta_directive was fitted)",
)
def test_aug_sep_2020_is_the_peak(historical):
    """T13/T14: 19 of at least 55 rockets of 1 Jan - 22 Oct 2020 fell in Aug-Sep (a daily rate
    about 2x that of the rest of the window); T12: about 40 rockets and IEDs in Aug-Sep.
    Threshold: attacks on US targets per day in Aug-Sep 2020 at least 1.5 x those of Jan-Jul."""
    us = historical.attacks_on(*US_TARGETS)
    peak = historical.daily_rate(us, "2020-08-01", "2020-09-30")
    before = historical.daily_rate(us, "2020-01-01", "2020-07-31")
    assert peak >= 1.5 * before


# --- the drone share of 2021 ------------------------------------------------------------------


def test_drone_share_2021(historical):
    """S3: 212 of 343 projectiles of Iran-linked groups in 2021 were drones (region-wide);
    events.csv: 6 of the 10 attacks on US sites listed from 2021-04-14 (the first drone attack)
    were drones. Threshold: drones are 30% to 90% of the attacks on US bases and the embassy
    from 14 Apr to 31 Dec 2021 (pooled over replicates; the events rows are a selection)."""
    a = historical.attacks_on("us_base", "us_embassy")
    a = a[(a["date"] >= "2021-04-14") & (a["date"] <= "2021-12-31")]
    assert len(a) > 0
    share = float((a["weapon"] == "drone").mean())
    assert 0.3 <= share <= 0.9


# --- the post-election turn against the state (S0, S3) ---------------------------------------


def test_state_targeting_rises_after_the_election(historical):
    """S0: rockets near INIS HQ on 31 Oct 2021 and the drone attack on the PM on 7 Nov, after
    the election of 10 Oct (events.csv 2021-10-10, 2021-10-31, 2021-11-07). Threshold: attacks
    on the state and the PM at least 2 x as frequent in the 45 days after the election as in
    the 45 days before."""
    state = historical.attacks_on("iraqi_state", "pm")
    before = historical.count(state, "2021-08-26", "2021-10-09").mean()
    after = historical.count(state, "2021-10-10", "2021-11-23").mean()
    assert after >= 2.0 * before


def test_no_attack_on_the_pm_before_the_election(historical):
    """S3: before 7 Nov 2021 the militias "never sought to use lethal force against a senior
    Iraqi official, let alone the prime minister". Threshold: at most 10% of replicates attack
    the PM between 1 Oct 2019 and 9 Oct 2021.

    Passes (0%) because the historical scenario spares the PM before the election
    (``militia.pm_before_election`` 0, read from S3: a setting taken from the source, not an
    emergent result; with the PM not spared, 73% of replicates attacked him). The test keeps
    the rule wired in the replay."""
    pm = historical.attacks_on("pm")
    assert float((historical.count(pm, "2019-10-01", "2021-10-09") > 0).mean()) <= 0.1


def test_the_pm_is_attacked_after_the_election(historical):
    """events.csv 2021-11-07 (S0, S3): the PM's residence was attacked four weeks after the
    election. Threshold: at least 30% of replicates attack the PM between 10 Oct and 30 Nov 2021
    (one documented event: the model should make it likely, not certain). Passes over the
    posterior (33%) with the PM spared before the election: after it AAH's own PM weight (0.02)
    returns; ``militia.state_turn`` (no source gives its size) stays 0."""
    pm = historical.attacks_on("pm")
    assert float((historical.count(pm, "2021-10-10", "2021-11-30") > 0).mean()) >= 0.3


# --- raids against the record (issue 16 item 9) ----------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="median 7 raids per replicate in 2020 with raids chosen by the PM's own evidence; the "
    "crackdown disposition of the new_pm inject (0.5) is not estimated (docs/ODD.md A30)",
)
def test_raid_count_2020(historical):
    """events.csv: 2 raids in 2020 (2020-06-25 on KH, 2020-12-25 on AAH). Threshold: the median
    number of raids (forced and discretionary) per replicate in 2020 is at most 4."""
    raids = historical.events[historical.events["kind"] == "arrest"]
    assert float(historical.count(raids, "2020-01-01", "2020-12-31").median()) <= 4


# --- the 2023-24 episode: the campaign and the Feb 2024 pause (R1, R2) -----------------------


@pytest.mark.xfail(
    strict=True,
    reason="at the 2019-21 posterior (no war appetite, no restraint: those are fitted by "
    "escsim episode, test_episode_alternatives.py): 0.90 attacks/day in the campaign, 1.14 in "
    "the pause",
)
def test_campaign_then_pause_in_2024(episode):
    """R1: about 170 attacks on US forces in Iraq and Syria from 17 Oct 2023 to early Feb 2024;
    then none on facilities hosting US forces in Iraq from 5 Feb to 21 Apr 2024 (Pentagon, in
    the events row of 2024-04-22 of the data merge). Thresholds: at least 0.4 attacks a day on
    US targets in Iraq from 17 Oct 2023 to 31 Jan 2024 (allowing for Syria's share), and from
    8 Feb to 20 Apr 2024 at most 0.2 x that rate. The pause is not forced: it must come from
    deterrence or Iranian restraint."""
    us = episode.attacks_on(*US_TARGETS)
    campaign = episode.daily_rate(us, "2023-10-17", "2024-01-31")
    pause = episode.daily_rate(us, "2024-02-08", "2024-04-20")
    assert campaign >= 0.4
    assert pause <= 0.2 * campaign
