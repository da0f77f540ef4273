import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim import vocab as V
from sim.model import rules as R

prob = st.floats(0.0, 1.0)
pos = st.floats(0.0, 50.0)
unit = st.floats(0.0, 0.999999)
SET = settings(max_examples=150, deadline=None)


def _rule_functions():
    return [
        (name, obj)
        for name, obj in vars(R).items()
        if hasattr(obj, "py_func") and not name.startswith("_")
    ]


def test_every_rule_names_its_source():
    rules = _rule_functions()
    assert len(rules) >= 30
    for name, fn in rules:
        doc = inspect.getdoc(fn.py_func) or ""
        assert "Source" in doc, f"{name} has no 'Source' in its docstring"


# --- known answers ---------------------------------------------------------------------------


def test_decay_known_answer_and_factor_identity():
    assert R.decay(10.0, 14.0) == pytest.approx(10.0 * math.exp(-1 / 14.0))
    assert R.decay(3.0, 0.0) == 0.0
    for x, tau in [(1.7, 14.0), (123.4, 90.0), (0.0, 3.0)]:
        assert R.decay_by(x, R.decay_factor(tau)) == R.decay(x, tau)  # bit for bit


def test_zero_capability_closes_every_target():
    out = np.zeros(V.N_TARGETS)
    total = R.target_weights(
        np.ones(V.N_TARGETS), np.zeros(V.N_WEAPONS), 1, 1.0, 0.0, 0.5, 0, 0, 0.9, 0.5, out
    )
    assert total == 0.0 and (out == 0).all()
    assert R.attack_probability(5.0, R.open_share(total, np.ones(V.N_TARGETS))) == 0.0


def test_withdrawal_closes_bases_and_convoys_only():
    out = np.zeros(V.N_TARGETS)
    R.target_weights(
        np.ones(V.N_TARGETS), np.full(V.N_WEAPONS, 5.0), 1, 0.0, 0.0, 0.5, 0, 0, 0.9, 0.5, out
    )
    assert out[V.T_US_BASE] == 0 and out[V.T_CONVOY] == 0
    assert out[V.T_US_EMBASSY] > 0 and out[V.T_STATE] > 0


def test_full_truce_compliance_suppresses_every_target():
    for t in range(V.N_TARGETS):
        assert R.truce_target_multiplier(t, 1, 1, 1.0, 0.0) == 0.0
        assert R.truce_target_multiplier(t, 1, 0, 1.0, 0.0) == 1.0  # a spoiler ignores it
        assert R.truce_target_multiplier(t, 0, 1, 1.0, 0.0) == 1.0  # no truce
    assert R.truce_target_multiplier(V.T_CONVOY, 1, 1, 1.0, 0.5) == pytest.approx(0.5)


def test_drones_unavailable_before_adoption():
    stocks = np.array([0.0, 0.0, 10.0, 0.0])
    assert R.weapon_available(V.W_DRONE, stocks, 0) == 0
    assert R.weapon_available(V.W_DRONE, stocks, 1) == 1
    assert R.choose_weapon(0.5, V.T_US_BASE, stocks, 0, np.ones(4)) == -1


def test_doctrine_none_never_strikes_and_cooldown_blocks():
    assert R.strike_probability(V.DOC_NONE, 100.0, 1.0, 5, 1.0, 1.0, 0.0) == 0.0
    assert R.strike_probability(V.DOC_LEADERSHIP, 100.0, 1.0, 5, 1.0, 1.0, 3.0) == 0.0
    assert R.strike_probability(V.DOC_PROPORTIONAL, 0.0, 1.0, 0, 1.0, 0.8, 0.0) == 0.0
    # red line: one US death with red line 1 gives at least red_line_strike
    assert R.strike_probability(V.DOC_PROPORTIONAL, 0.0, 0.01, 1, 1.0, 0.8, 0.0) == 0.8


def test_no_deterrence_without_doctrine_or_threat():
    assert R.deterrence(0.3, 0.9, 0.1, V.DOC_NONE, 1.0, 5.0, 0, 2.0) == 0.0
    assert R.deterrence(0.3, 0.9, 0.1, V.DOC_NONE, 1.0, 5.0, 1, 2.0) == 2.0


def test_conflicting_directives_cancel():
    control = np.array([0.5, 0.5, 0.0, 0.0])
    signal, obedience = R.directive_signal(control, np.ones(4), np.array([1.0, -1.0, 0.0, 0.0]))
    assert signal == 0.0 and obedience == 1.0
    signal, obedience = R.directive_signal(np.zeros(4), np.ones(4), np.ones(4))
    assert signal == 0.0 and obedience == 0.0


def test_decapitation_weakens_only_quds_force():
    assert R.control_multiplier(1, 1, 0, 0.3) == 0.3
    assert R.control_multiplier(2, 1, 0, 0.3) == 1.0
    assert R.control_multiplier(1, 0, 0, 0.3) == 1.0
    assert R.control_multiplier(1, 1, 1, 0.3) == 1.0  # unified command


def test_prime_suspect():
    assert R.prime_suspect(np.array([0.1, 0.2])) == -1
    assert R.prime_suspect(np.array([0.6, 2.0, 2.0])) == 1


def test_appetite_window():
    days = np.array([100.0])
    assert R.appetite_on(60, days, 45.0) == 1
    assert R.appetite_on(54, days, 45.0) == 0
    assert R.appetite_on(101, days, 45.0) == 0


def test_choose_index_follows_weights():
    w = np.array([0.0, 1.0, 3.0, 0.0, 6.0])
    rng = np.random.default_rng(0)
    picks = np.array([R.choose_index(u, w, w.sum()) for u in rng.random(20000)])
    counts = np.bincount(picks, minlength=5)
    assert counts[0] == 0 and counts[3] == 0
    assert stats.chisquare(counts[[1, 2, 4]], 20000 * w[[1, 2, 4]] / 10).pvalue > 1e-3
    assert R.choose_index(0.5, np.zeros(3), 0.0) == -1


def test_claims_follow_front_share():
    rng = np.random.default_rng(1)
    claims = np.array([R.choose_claim(u, 0.3, 2) for u in rng.random(20000)])
    assert abs((claims >= 0).mean() - 0.3) < 0.02
    assert set(np.unique(claims)) == {-1, 0, 1}
    assert R.choose_claim(0.0, 0.9, 0) == -1


# --- properties ------------------------------------------------------------------------------


@SET
@given(
    h=st.floats(-10, 10),
    app=st.integers(0, 1),
    a=st.floats(0, 10),
    rev=pos,
    rw=st.floats(0, 10),
    tr=st.integers(0, 1),
    tc=st.floats(0, 10),
)
def test_escalation_probability_is_a_probability(h, app, a, rev, rw, tr, tc):
    p = R.escalation_probability(h, app, a, rev, rw, tr, tc)
    assert 0.0 <= p <= 1.0


@SET
@given(
    base=st.floats(0, 5),
    exc=pos,
    grv=pos,
    bg=st.floats(0, 5),
    sig=st.floats(-1, 1),
    ob=prob,
    bd=st.floats(0, 10),
    noise=st.floats(-5, 5),
    d1=pos,
    d2=pos,
    bdet=st.floats(0, 20),
    share=prob,
)
def test_more_deterrence_never_raises_attack_probability(
    base, exc, grv, bg, sig, ob, bd, noise, d1, d2, bdet, share
):
    lo, hi = min(d1, d2), max(d1, d2)
    lam_lo = R.attack_intensity(base, exc, grv, bg, sig, ob, bd, noise, lo, bdet)
    lam_hi = R.attack_intensity(base, exc, grv, bg, sig, ob, bd, noise, hi, bdet)
    assert lam_hi <= lam_lo
    p_lo, p_hi = R.attack_probability(lam_lo, share), R.attack_probability(lam_hi, share)
    assert 0.0 <= p_hi <= p_lo <= 1.0


@SET
@given(
    fs1=prob,
    fs2=prob,
    direct=prob,
    front=prob,
    doc=st.integers(0, 3),
    rate=st.floats(0, 10),
    cred=pos,
    thr=st.integers(0, 1),
    td=st.floats(0, 20),
)
def test_fronts_never_raise_deterrence_when_they_hide(
    fs1, fs2, direct, front, doc, rate, cred, thr, td
):
    lo_share, hi_share = min(fs1, fs2), max(fs1, fs2)
    via = min(front, direct)  # fronts lower attribution
    d_lo = R.deterrence(lo_share, direct, via, doc, rate, cred, thr, td)
    d_hi = R.deterrence(hi_share, direct, via, doc, rate, cred, thr, td)
    assert d_hi <= d_lo + 1e-12
    assert d_lo >= 0.0


@SET
@given(
    stock=st.floats(0, 1000), rate=st.floats(-5, 50), cap=st.floats(0, 1000), frac=st.floats(-1, 2)
)
def test_stocks_never_negative(stock, rate, cap, frac):
    s = R.resupply(stock, rate, cap)
    assert s >= 0.0 and (s <= cap or s == 0.0)
    assert R.use_weapon(s) >= 0.0
    assert 0.0 <= R.degrade(s, frac) <= s


@SET
@given(
    doc=st.integers(0, 3),
    blame=pos,
    rate=st.floats(0, 10),
    usk=st.integers(0, 5),
    red=st.floats(0, 5),
    rls=prob,
    cool=st.floats(-10, 10),
)
def test_strike_probability_is_a_probability(doc, blame, rate, usk, red, rls, cool):
    assert 0.0 <= R.strike_probability(doc, blame, rate, usk, red, rls, cool) <= 1.0


@SET
@given(
    rate=prob,
    pressure=st.floats(0, 100),
    legit=prob,
    thr=st.integers(0, 1),
    strength=st.floats(0, 10),
    md=st.floats(-1, 1),
)
def test_pm_probabilities(rate, pressure, legit, thr, strength, md):
    for p in (
        R.crackdown_probability(rate, pressure, legit, thr),
        R.release_probability(rate, strength, legit),
        R.mediation_probability(rate, thr, md, pressure),
    ):
        assert 0.0 <= p <= 1.0
    assert 0.0 <= R.legitimacy_after_release(legit, rate) <= 1.0


@SET
@given(
    u=unit,
    u2=unit,
    w=st.integers(0, 3),
    leth=st.lists(prob, min_size=4, max_size=4),
    t=st.integers(0, 5),
    share=prob,
)
def test_casualties_bounded_and_zero_without_lethality(u, u2, w, leth, t, share):
    k = R.casualties(u, u2, w, np.array(leth))
    assert 0 <= k <= 3
    assert R.casualties(u, u2, w, np.zeros(4)) == 0
    assert 0 <= R.us_victims(u, k, t, share) <= k
    if t in (V.T_STATE, V.T_PM, V.T_ACTIVIST):
        assert R.us_victims(u, k, t, share) == 0


@SET
@given(
    prefs=st.lists(st.floats(0, 10), min_size=6, max_size=6),
    stocks=st.lists(st.floats(0, 5), min_size=4, max_size=4),
    drones=st.integers(0, 1),
    posture=prob,
    gs=pos,
    st_=st.floats(0, 10),
    tr=st.integers(0, 1),
    comp=st.integers(0, 1),
    sup=prob,
    leak=prob,
    u=unit,
    uw=unit,
)
def test_target_and_weapon_choice_are_consistent(
    prefs, stocks, drones, posture, gs, st_, tr, comp, sup, leak, u, uw
):
    out = np.zeros(6)
    stocks = np.array(stocks)
    total = R.target_weights(
        np.array(prefs), stocks, drones, posture, gs, st_, tr, comp, sup, leak, out
    )
    assert total >= 0 and (out >= 0).all()
    assert R.open_share(total, np.array(prefs)) >= 0.0 or sum(prefs) == 0
    if total > 0:
        t = R.choose_index(u, out, total)
        assert out[t] > 0
        w = R.choose_weapon(uw, t, stocks, drones, np.ones(4))
        assert w >= 0 and V.COMPAT[t][w] == 1 and R.weapon_available(w, stocks, drones) == 1


@SET
@given(u1=unit, u2=unit, p=prob, days=st.floats(1, 100), cur=st.sampled_from([-1, 0, 1]))
def test_directives_are_calm_or_escalate(u1, u2, p, days, cur):
    d = R.next_directive(u1, u2, p, days, cur)
    assert d in (-1, 1)
    if cur == 0:  # no standing directive: always a new one
        assert d == (1 if u2 < p else -1)


@SET
@given(
    weights=st.lists(st.floats(0, 10), min_size=6, max_size=6),
    exposure=st.floats(0, 10),
    deniability=st.floats(0, 20),
    u=unit,
)
def test_deniable_shift_moves_choice_to_convoys_only(weights, exposure, deniability, u):
    w = np.array(weights)
    total = w.sum()
    factor = R.deniable_shift(exposure, deniability)
    assert factor >= 1.0
    shifted = w.copy()
    new_total = R.shift_to_deniable(shifted, total, factor)
    assert new_total == pytest.approx(shifted.sum())
    others = [t for t in range(6) if t != V.T_CONVOY]
    assert (shifted[others] == w[others]).all()
    assert shifted[V.T_CONVOY] == pytest.approx(w[V.T_CONVOY] * factor)
    if total > 0 and w[V.T_CONVOY] > 0:
        assert shifted[V.T_CONVOY] / new_total >= w[V.T_CONVOY] / total - 1e-12


def test_no_exposure_means_no_shift():
    assert R.deniable_shift(0.0, 7.0) == 1.0
    assert R.deniable_shift(2.0, 0.0) == 1.0
