"""docs/ODD.md stays true to the code.

Checks: every public jitted rule of ``sim.model.rules`` has a subsection in the ODD and names its
source; every default quoted in the text equals the schema's; the constants, decision codes, event
kinds, metric definitions and historical injects written in the ODD match the code; and the
equations written in the ODD, transcribed here literally, give what the rule functions give."""

from __future__ import annotations

import ast
import csv
import importlib
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.core.dispatcher import Dispatcher

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R
from sim.report.paramdoc import parameter_rows
from sim.results import outcomes as M

ROOT = Path(__file__).resolve().parent.parent
ODD = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
SET = settings(max_examples=60, deadline=None)
prob = st.floats(0.0, 1.0)
unit = st.floats(0.0, 0.999999)
pos = st.floats(0.0, 30.0)


def _rules() -> dict[str, Dispatcher]:
    """Every public jitted function defined in a module of ``sim.model.rules``."""
    found: dict[str, Dispatcher] = {}
    for module_name in R.MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if (
                isinstance(obj, Dispatcher)
                and not name.startswith("_")
                and obj.py_func.__module__ == module_name
            ):
                found[name] = obj
    return found


def test_rules_package_lists_every_rules_module():
    on_disk = {
        f"sim.model.rules.{p.stem}"
        for p in (ROOT / "sim" / "model" / "rules").glob("*.py")
        if p.stem != "__init__"
    }
    assert set(R.MODULES) == on_disk


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i : text.index(end, i)]


SUBMODELS = _section(ODD, "## 7 Submodels", "## 8 ")


# --- coverage -----------------------------------------------------------------------------------


def test_every_rule_has_exactly_one_subsection():
    headed = re.findall(r"^#### 7\.\d+\.\d+ `(\w+)`\s*$", SUBMODELS, re.M)
    rules = _rules()
    assert len(rules) >= 30  # the rule set itself, not an empty module
    missing = sorted(set(rules) - set(headed))
    stale = sorted(set(headed) - set(rules))
    twice = sorted({h for h in headed if headed.count(h) > 1})
    assert not missing, f"rules without a subsection in docs/ODD.md section 7: {missing}"
    assert not stale, f"subsections of docs/ODD.md naming no rule of sim/model/rules/: {stale}"
    assert not twice, f"rules with more than one subsection: {twice}"


@pytest.mark.parametrize("name", sorted(_rules()))
def test_every_rule_names_its_source(name):
    doc = inspect.getdoc(_rules()[name].py_func) or ""
    assert "Source" in doc, f"sim.model.rules.{name} has no 'Source' in its docstring"


# --- the cited sources exist -------------------------------------------------------------------

SOURCES_MD = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
EVENT_DATES = {
    row["date"]
    for row in csv.DictReader(
        (ROOT / "calibration" / "data" / "events.csv").open(encoding="utf-8", newline="")
    )
}
TALLY_IDS = {
    row["id"]
    for row in csv.DictReader(
        (ROOT / "calibration" / "data" / "tallies.csv").open(encoding="utf-8", newline="")
    )
}
SEED_IDS = {f"S{k}" for k in range(5)}
# "events.csv 2020-06-25", "events.csv 2019-12-27 (US contractor), 2020-03-11", "events.csv rows"
_EVENTS_CITE = re.compile(
    r"events\.csv((?:(?:,|;| and| ->|\s)*(?:rows? )?\d{4}-\d\d-\d\d(?: \([^)]*\))?)+)"
)
_AUTHOR_YEAR = re.compile(r"\b([A-Z][a-z]+)(?: et al\.| and [A-Z][a-z]+)?,? \(?((?:19|20)\d\d)\b")


_MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}


def source_citations(doc: str) -> dict[str, list[str]]:
    """Return the citations in the "Source" part of a docstring, by kind.

    Kinds: ``seed`` (S0..S9), ``event`` (dates cited after "events.csv"), ``tally`` (T01..),
    ``reference`` (R1.. of docs/sources.md), ``author`` ("Surname [et al.|and X] YEAR") and
    ``rule`` (another rule named in double backquotes, e.g. "as ``decay``").
    """
    text = doc[doc.index("Source") :] if "Source" in doc else ""
    events = [d for m in _EVENTS_CITE.finditer(text) for d in re.findall(r"\d{4}-\d\d-\d\d", m[1])]
    return {
        "seed": re.findall(r"\b(S\d)\b", text),
        "event": events,
        "tally": re.findall(r"\b(T\d\d)\b", text),
        "reference": re.findall(r"\b(R\d+)\b", text),
        "author": [f"{a} {y}" for a, y in _AUTHOR_YEAR.findall(text) if a[:3] not in _MONTHS],
        "rule": re.findall(r"``(\w+)``", text),
    }


def missing_sources(cites: dict[str, list[str]]) -> list[str]:
    """Return the citations that name no existing source (a seed id, an events row, ...)."""
    bad = [s for s in cites["seed"] if s not in SEED_IDS]
    bad += [f"events.csv {d}" for d in cites["event"] if d not in EVENT_DATES]
    bad += [t for t in cites["tally"] if t not in TALLY_IDS]
    bad += [r for r in cites["reference"] if f"**{r}:" not in SOURCES_MD]
    for ay in cites["author"]:
        author, year = ay.rsplit(" ", 1)
        if not re.search(rf"^- {author}, .*?\({year}\)", SOURCES_MD, re.M | re.S):
            bad.append(ay)
    return bad


def _has_own_source(cites: dict[str, list[str]]) -> bool:
    return any(cites[k] for k in ("seed", "event", "tally", "reference", "author"))


def test_source_check_can_fail():
    doc = "Source: S7; events.csv 2099-01-01; tally T99; R9; Nobody et al. 1901."
    cites = source_citations(doc)
    assert missing_sources(cites) == [
        "S7",
        "events.csv 2099-01-01",
        "T99",
        "R9",
        "Nobody 1901",
    ]
    ok = source_citations("Source: S1; events.csv 2020-06-25, 2020-12-25; T16; Mohler et al. 2011")
    assert missing_sources(ok) == [] and _has_own_source(ok)
    assert not _has_own_source(source_citations("Source: the model's assumption."))


@pytest.mark.parametrize("name", sorted(_rules()))
def test_every_cited_source_exists(name):
    """Each rule cites a seed (S0-S4), an events.csv row, a tally id or a reference of
    docs/sources.md (directly, or through a rule it names, e.g. "Source: as ``decay``"), and
    every source it cites exists."""
    rules = _rules()
    cites = source_citations(inspect.getdoc(rules[name].py_func) or "")
    bad = missing_sources(cites)
    assert not bad, f"sim.model.rules.{name} cites sources that do not exist: {bad}"
    if not _has_own_source(cites):
        via = [r for r in cites["rule"] if r in rules and r != name]
        assert any(
            _has_own_source(source_citations(inspect.getdoc(rules[r].py_func) or "")) for r in via
        ), f"sim.model.rules.{name} names no seed, events row, tally or reference"


def test_internal_links_resolve():
    def slug(heading: str) -> str:
        return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")

    anchors = {slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", ODD, re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", ODD))
    assert links, "the ODD links its phases to its submodels"
    assert links <= anchors, f"broken links: {sorted(links - anchors)}"


# --- numbers quoted in the text ------------------------------------------------------------------


def test_quoted_defaults_match_the_schema():
    table = {r.path.strip("`"): r.default.strip("`") for r in parameter_rows()}
    quoted = re.findall(r"`([a-z_]+(?:\[\])?(?:\.[a-z_]+(?:\[\])?)*)` \(default ([^;)]+)[;)]", ODD)
    assert len(quoted) >= 60, "the submodels quote the defaults of their parameters"
    wrong = [(p, v, table.get(p)) for p, v in quoted if table.get(p) != v.strip()]
    assert not wrong, f"(path, quoted default, schema default) that disagree: {wrong}"


def _odd_tuple(name: str) -> list:
    m = re.search(rf"`{name}` = (\(.*\))[:;,]", ODD)
    assert m, f"docs/ODD.md does not state {name}"
    return np.array(ast.literal_eval(m.group(1)), dtype=float).tolist()


@pytest.mark.parametrize("name", ["DOCTRINE_SEVERITY", "DOCTRINE_RATE", "STRIKE_KILLED"])
def test_constants_match_the_code(name):
    assert _odd_tuple(name) == np.asarray(getattr(R, name), dtype=float).tolist()


def test_decision_code_table_matches_state():
    codes = {n: v for n, v in vars(L).items() if re.fullmatch(r"R_[A-Z_]+", n)}
    rows = dict(re.findall(r"^\| `(R_[A-Z_]+)` \| (\d+) \|", ODD, re.M))
    assert codes, "sim.state defines decision codes"
    assert {n: int(v) for n, v in rows.items()} == codes


def test_event_kinds_and_metrics_are_documented():
    kinds = set(re.findall(r"^\| `(\w+)` \| (?:faction|US|PM|agency) \|", ODD, re.M))
    assert kinds == set(V.KINDS)
    metrics = set(
        re.findall(r"^\| `(\w+)` \| ", _section(ODD, "**Outcome metrics**", "**Manifest"), re.M)
    )
    assert metrics == set(M.METRICS)


def test_metric_windows_match_the_code():
    spiral = re.search(r"^\| `escalation_spiral` \|(.*)$", ODD, re.M).group(1)
    assert M.SPIRAL_DEFINITION in spiral
    calm = re.search(r"^\| `days_to_deescalation` \|(.*)$", ODD, re.M).group(1)
    assert f"{M.CALM_WINDOW} days with at most {M.CALM_MAX_ATTACKS} US attacks" in calm
    peak = re.search(r"^\| `peak_30d_us_attacks` \|(.*)$", ODD, re.M).group(1)
    assert f"any {M.PEAK_WINDOW}-day window" in peak


def test_compat_table_matches_state():
    rows = re.findall(r"^\| (\w+) \| ([01]) \| ([01]) \| ([01]) \| ([01]) \|$", ODD, re.M)
    table = {t: tuple(int(x) for x in xs) for t, *xs in rows}
    assert table == dict(zip(V.TARGETS, V.COMPAT, strict=True))


def test_historical_injects_are_listed():
    doc = yaml.safe_load((ROOT / "scenarios" / "historical.yaml").read_text(encoding="utf-8"))
    listed = set(re.findall(r"^\| (\d{4}-\d\d-\d\d) \| `(\w+)` \|", ODD, re.M))
    injects = {(str(i["date"]), i["kind"]) for i in doc["injects"]}
    assert injects == listed


def test_historical_factions_are_named():
    doc = yaml.safe_load((ROOT / "scenarios" / "historical.yaml").read_text(encoding="utf-8"))
    init = _section(ODD, "**Historical scenario**", "## 6 ")
    for f in doc["factions"]:
        assert f["name"] in init, f"faction {f['name']} missing from ODD section 5"


# --- the equations of section 7, transcribed literally, against the rules -----------------------

SEV = _odd_tuple("DOCTRINE_SEVERITY")
RATE = _odd_tuple("DOCTRINE_RATE")
KILLED = _odd_tuple("STRIKE_KILLED")


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


@SET
@given(
    st.floats(-5, 5),
    st.integers(0, 1),
    st.floats(0, 5),
    pos,
    st.floats(0, 5),
    st.integers(0, 1),
    st.floats(0, 5),
)
def test_eq_escalation_probability(h, app, alpha, v, rho, truce, kappa):
    x = h + rho * v - kappa * truce + alpha * app
    assert R.escalation_probability(h, app, alpha, v, rho, truce, kappa) == pytest.approx(
        1.0 / (1.0 + math.exp(-x)), rel=1e-12, abs=1e-15
    )


@SET
@given(unit, unit, prob, st.floats(1.0, 60.0), st.sampled_from([-1, 0, 1]))
def test_eq_next_directive(u1, u2, p, days, cur):
    keep = cur != 0 and days > 1 and u1 >= 1.0 / days
    want = cur if keep else (1 if u2 < p else -1)
    assert R.next_directive(u1, u2, p, days, cur) == want
    assert R.reconsiders_directive(u1, days, cur) == int(not keep)


@SET
@given(
    st.lists(prob, min_size=4, max_size=4),
    st.lists(prob, min_size=4, max_size=4),
    st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=4, max_size=4),
)
def test_eq_directive_signal(chi, m, d):
    w = [c * k for c, k in zip(chi, m, strict=True)]
    total = sum(w)
    s, o = R.directive_signal(np.array(chi), np.array(m), np.array(d))
    if total <= 0:
        assert (s, o) == (0.0, 0.0)
    else:
        assert s == pytest.approx(sum(a * b for a, b in zip(w, d, strict=True)) / total)
        assert o == pytest.approx(min(1.0, total))


@SET
@given(unit, st.floats(0, 5), st.floats(-0.5, 1.5), st.integers(0, 1), st.floats(0, 5))
def test_eq_discipline_noise(u, sigma, delta, frag, phi):
    sig = sigma * (1 - _clip(delta)) * (1 + phi * frag)
    assert R.discipline_noise(u, sigma, delta, frag, phi) == pytest.approx(
        sig * math.sqrt(3) * (2 * u - 1), abs=1e-12
    )


@SET
@given(
    prob,
    prob,
    prob,
    st.integers(0, 3),
    st.floats(0, 10),
    st.floats(0, 10),
    st.integers(0, 1),
    st.floats(0, 10),
)
def test_eq_deterrence(f, a, af, doc, r, cred, threat, theta):
    pi = (1 - f) * a + f * af
    want = max(0.0, pi * (1 - math.exp(-r * RATE[doc])) * SEV[doc] * (1 + cred) + theta * threat)
    assert R.deterrence(f, a, af, doc, r, cred, threat, theta) == pytest.approx(want, abs=1e-12)


@SET
@given(
    st.floats(0, 5),
    st.floats(0, 10),
    st.floats(0, 40),
    st.floats(0, 5),
    st.floats(-1, 1),
    prob,
    st.floats(0, 10),
    st.floats(-5, 5),
    st.floats(0, 10),
    st.floats(0, 20),
)
def test_eq_attack_intensity(base, e, g, bg, s, o, bd, eps, det, bdet):
    x = min(30.0, bg * g + bd * o * s + eps - bdet * det)
    assert R.attack_intensity(base, e, g, bg, s, o, bd, eps, det, bdet) == pytest.approx(
        base * (1 + e) * math.exp(x), rel=1e-12, abs=1e-300
    )


@SET
@given(st.floats(0, 50), st.floats(0, 3))
def test_eq_attack_probability(lam, share):
    x = lam * share
    want = 0.0 if x <= 0 else 1 - math.exp(-x)
    assert R.attack_probability(lam, share) == pytest.approx(want, abs=1e-15)


@SET
@given(st.integers(0, V.N_TARGETS - 1), st.integers(0, 1), st.integers(0, 1), prob, prob)
def test_eq_truce_target_multiplier(t, in_truce, complies, sup, leak):
    if in_truce and complies:
        s = sup * (1 - leak) if t == V.T_CONVOY else sup
        want = 1 - _clip(s)
    else:
        want = 1.0
    assert R.truce_target_multiplier(t, in_truce, complies, sup, leak) == pytest.approx(want)


@SET
@given(
    st.lists(st.floats(0, 5), min_size=6, max_size=6),
    st.lists(st.floats(0, 3), min_size=4, max_size=4),
    st.integers(0, 1),
    prob,
    st.floats(0, 10),
    st.floats(0, 3),
    st.integers(0, 1),
    st.integers(0, 1),
    prob,
    prob,
)
def test_eq_target_weights_and_open_share(
    prefs, stocks, drones_ok, posture, g_st, s_t, in_truce, complies, sup, leak
):
    out = np.zeros(V.N_TARGETS)
    total = R.target_weights(
        np.array(prefs),
        np.array(stocks),
        drones_ok,
        posture,
        g_st,
        s_t,
        in_truce,
        complies,
        sup,
        leak,
        out,
    )
    want = []
    for t in range(V.N_TARGETS):
        avail = [stocks[w] >= 1 and (w != V.W_DRONE or drones_ok) for w in range(V.N_WEAPONS)]
        open_ = any(V.COMPAT[t][w] and avail[w] for w in range(V.N_WEAPONS))
        pos_t = posture if t in (V.T_US_BASE, V.T_CONVOY) else 1.0
        st_t = 1 + s_t * g_st if t in (V.T_STATE, V.T_PM, V.T_ACTIVIST) else 1.0
        tr = R.truce_target_multiplier(t, in_truce, complies, sup, leak)
        want.append(float(open_) * prefs[t] * pos_t * st_t * tr)
    assert out.tolist() == pytest.approx(want)
    assert total == pytest.approx(sum(want))
    share = R.open_share(total, np.array(prefs))
    assert share == pytest.approx(sum(want) / sum(prefs) if sum(prefs) > 0 else 0.0)


@SET
@given(unit, prob, st.integers(0, 4))
def test_eq_choose_claim(u, f, n):
    want = -1 if n < 1 or u >= f else min(int(u / f * n), n - 1)
    assert R.choose_claim(u, f, n) == want


@SET
@given(unit, unit, st.integers(0, V.N_WEAPONS - 1), st.lists(prob, min_size=4, max_size=4))
def test_eq_casualties(u, u2, w, leth):
    want = 0 if u >= leth[w] else 1 + (u2 < 0.3) + (u2 < 0.1)
    assert R.casualties(u, u2, w, np.array(leth)) == want


@SET
@given(unit, st.integers(0, V.N_WEAPONS - 1), st.integers(0, V.N_TARGETS - 1), prob, prob, prob)
def test_eq_is_intercepted(u, w, t, ad_r, ad_d, pm_d):
    p = 0.0
    if t in (V.T_US_BASE, V.T_US_EMBASSY):
        p = {V.W_ROCKET: ad_r, V.W_DRONE: ad_d}.get(w, 0.0)
    elif t == V.T_PM and w == V.W_DRONE:
        p = pm_d
    assert R.is_intercepted(u, w, t, ad_r, ad_d, pm_d) == int(u < p)


@SET
@given(
    st.integers(0, 3),
    st.floats(0, 20),
    st.floats(0, 2),
    st.integers(0, 5),
    st.floats(0, 5),
    prob,
    st.floats(-5, 60),
)
def test_eq_strike_probability(doc, blame, r, usk, red, red_p, cooldown_left):
    if doc == 0 or cooldown_left > 0:
        want = 0.0
    else:
        rl = red_p if red > 0 and usk >= red else 0.0
        want = _clip(max(1 - math.exp(-r * RATE[doc] * blame), rl))
    assert R.strike_probability(doc, blame, r, usk, red, red_p, cooldown_left) == pytest.approx(
        want, abs=1e-15
    )


@SET
@given(unit, st.integers(0, 2))
def test_eq_strike_casualties(u, stype):
    lo, hi = (int(x) for x in KILLED[stype])
    assert R.strike_casualties(u, stype) == min(hi, lo + int(u * (hi - lo + 1)))


@SET
@given(st.integers(0, 2), prob, prob, st.floats(0, 50), prob)
def test_eq_strike_effects(stype, infra, lead, stock, hit):
    frac = {2: lead, 1: infra, 0: 0.5 * infra}[stype]
    assert R.strike_degrade_fraction(stype, infra, lead) == pytest.approx(frac)
    assert R.degrade(stock, frac) == pytest.approx(stock * (1 - _clip(frac)))
    want = max(0.0, 0.7 * (1 - hit)) if stype == 2 else 0.7
    assert R.discipline_after_strike(0.7, stype, hit) == pytest.approx(want)
    assert R.strike_type_of(stype + 1) == stype  # doctrines 1..3 -> strike types 0..2


@SET
@given(st.integers(0, V.N_TARGETS - 1), st.integers(0, 3), st.integers(0, 3))
def test_eq_pressure_from_attack(t, killed, usk):
    state = t in (V.T_STATE, V.T_PM, V.T_ACTIVIST)
    assert R.pressure_from_attack(t, killed, usk) == 1 + (usk > 0) + (killed > 0 and state)


@SET
@given(prob, st.floats(0, 30), prob, st.integers(0, 1))
def test_eq_crackdown_probability(k, p, leg, threat):
    want = (
        0.0 if k <= 0 or p <= 0 else _clip(k * (1 - math.exp(-p / 5)) * leg * (2 if threat else 1))
    )
    assert R.crackdown_probability(k, p, leg, threat) == pytest.approx(want, abs=1e-15)


@SET
@given(prob, st.floats(0, 10), prob)
def test_eq_release_and_legitimacy(rho, strength, leg):
    den = strength + leg
    want = 0.0 if den <= 0 else _clip(rho * strength / den)
    assert R.release_probability(rho, strength, leg) == pytest.approx(want)
    assert R.legitimacy_after_release(leg, 0.15) == pytest.approx(_clip(leg - 0.15))


@SET
@given(prob, st.integers(0, 1), st.floats(-1, 1), st.floats(0, 50))
def test_eq_mediation_probability(mu, threat, dbar, p):
    if mu <= 0 or p <= 0:
        want = 0.0
    else:
        want = min(
            1.0, mu * (1 - math.exp(-p / 10)) * (1 if threat else 0.2) * (0.25 if dbar > 0 else 1)
        )
    assert R.mediation_probability(mu, threat, dbar, p) == pytest.approx(want, abs=1e-15)


@SET
@given(st.lists(st.sampled_from([-1.0, 1.0]), min_size=4, max_size=4), unit, prob)
def test_eq_mean_directive_compliance_breakdown(d, u, c):
    assert R.mean_directive(np.array(d)) == pytest.approx(sum(d) / 4)
    assert R.complies_with_truce(u, c) == int(u < c)
    assert R.truce_breaks(u, 1, c) == int(u < c)
    assert R.truce_breaks(u, 0, c) == 0


@SET
@given(st.integers(0, 900), st.lists(st.integers(0, 900), max_size=3), st.floats(0, 90))
def test_eq_appetite_on(t, rounds, lead):
    want = int(any(n - lead <= t <= n for n in rounds))
    assert R.appetite_on(t, np.array(rounds, dtype=np.float64), lead) == want


@SET
@given(st.lists(st.floats(0, 5), min_size=1, max_size=6))
def test_eq_prime_suspect(blame):
    cands = [i for i, b in enumerate(blame) if b >= 0.5]
    want = max(cands, key=lambda i: (blame[i], -i)) if cands else -1
    assert R.prime_suspect(np.array(blame)) == want


@SET
@given(st.floats(0, 100), st.floats(0, 5), st.floats(0, 100), st.floats(0.5, 400))
def test_eq_stocks_and_decay(k, r, cap, tau):
    assert R.resupply(k, r, cap) == pytest.approx(max(0.0, min(k + r, cap)))
    assert R.use_weapon(k) == pytest.approx(max(0.0, k - 1))
    assert R.decay(k, tau) == pytest.approx(k * math.exp(-1 / tau))
    assert R.decay_by(k, R.decay_factor(tau)) == R.decay(k, tau)
    assert R.decay(k, 0.0) == 0.0
