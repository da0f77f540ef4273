import dataclasses
import datetime as dt
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim import vocab as V
from sim.analysis import observed as O
from sim.analysis.calibrate import fit as C
from sim.cli import app
from sim.model import layout as L
from sim.model.world import compile_world
from sim.scenario import load_scenario
from tests.conftest import ROOT, build

TINY = dict(runs=6, popsize=1, maxiter=1, abc_samples=8, abc_runs=4, abc_accept=0.25, check_runs=20)


@pytest.fixture(scope="module")
def base():
    return C.base_scenario(C.DEFAULT_SCENARIO)


# --- scenarios with and without the fit ----------------------------------------------------------


def _scenario_copy(tmp_path, overlay_text):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "calibration").mkdir()
    shutil.copy(ROOT / "scenarios" / "historical.yaml", tmp_path / "scenarios" / "historical.yaml")
    (tmp_path / "calibration" / "fitted.yaml").write_text(overlay_text)
    return tmp_path / "scenarios" / "historical.yaml"


def test_base_scenario_ignores_the_current_overlay(tmp_path):
    path = _scenario_copy(tmp_path, "factions: {KH: {base_rate: 0.5}}\nmilitia: {noise: 2.0}\n")
    assert load_scenario(path).scenario.factions[0].base_rate == 0.5
    sc = C.base_scenario(path)
    assert sc.factions[0].base_rate == 0.035 and sc.militia.noise == 0.5


def _theta(**values: float) -> np.ndarray:
    """Candidate values by parameter name (calibration order may change)."""
    names = [p.name for p in C.PARAMETERS]
    assert set(values) == set(names)
    return np.array([values[n] for n in names])


def test_written_overlay_reproduces_the_candidate_arrays(tmp_path, base):
    theta = _theta(
        **{
            "rate_scale": 1.7,
            "convoy_scale": 0.4,
            "militia.excitation_jump": 0.9,
            "militia.excitation_tau": 30.0,
            "militia.beta_grievance": 0.31,
            "pm.backfire_excitation": 4.2,
            "militia.deniability": 2.0,
            "truce.suppression": 0.8,
            "lethality_scale": 2.5,
        }
    )
    text = C.fitted_yaml(base, C.PARAMETERS, theta, {"seed": 1})
    path = _scenario_copy(tmp_path, "{}\n")
    (tmp_path / "fitted.yaml").write_text(text)
    loaded = compile_world(C.scenario_with_fit(path, tmp_path / "fitted.yaml"))
    direct = C.apply_params(compile_world(base), C.PARAMETERS, theta)
    np.testing.assert_allclose(loaded.g_before, direct.g_before, rtol=1e-5)
    np.testing.assert_allclose(loaded.fp, direct.fp, rtol=1e-5)
    doc = yaml.safe_load(text)
    assert set(doc) == {"militia", "pm", "truce", "factions", "fit"}
    assert doc["factions"]["KH"]["base_rate"] == pytest.approx(0.035 * 1.7)
    assert doc["factions"]["KH"]["targets"] == {"convoy": pytest.approx(0.5 * 0.4)}
    assert doc["militia"]["lethality"]["rocket"] == pytest.approx(0.04 * 2.5)
    assert doc["militia"]["deniability"] == pytest.approx(2.0)


def test_apply_params_known_answers(base):
    w = compile_world(base)
    theta = C.default_theta(w, C.PARAMETERS)
    same = C.apply_params(w, C.PARAMETERS, theta)
    np.testing.assert_array_equal(same.g_before, w.g_before)
    np.testing.assert_array_equal(same.fp, w.fp)
    theta2 = theta.copy()
    names = [p.name for p in C.PARAMETERS]
    theta2[names.index("rate_scale")] = 2.0
    theta2[names.index("militia.excitation_jump")] = 1.5
    theta2[names.index("lethality_scale")] = 100.0
    w2 = C.apply_params(w, C.PARAMETERS, theta2)
    np.testing.assert_allclose(w2.fp[:, L.F_BASE_RATE], 2.0 * w.fp[:, L.F_BASE_RATE])
    assert w2.g_before[L.G_INDEX["m_excitation_jump"]] == 1.5
    assert w2.g_after[L.G_INDEX["m_excitation_jump"]] == 1.5
    assert w2.g_before[L.G_INDEX["m_lethality_rocket"]] == 1.0  # clipped to a probability
    assert w.fp[0, L.F_BASE_RATE] == 0.035  # the original is untouched


# --- the problem ---------------------------------------------------------------------------------


def test_likelihood_is_deterministic_under_common_random_numbers(base):
    t = C.fittable(O.load_tallies(), base)
    p = C.make_problem(base, t, seed=5, runs=8)
    assert p.world.n_days == (dt.date(2021, 4, 1) - dt.date(2019, 10, 1)).days + 1
    th = C.default_theta(p.world, p.params)
    a, b = p.loglik(th), p.loglik(th)
    np.testing.assert_array_equal(a, b)
    q = C.make_problem(base, t, seed=6, runs=8)
    assert not np.array_equal(a, q.loglik(th))
    assert p.logprior(p.prior_centre) == 0.0
    assert p.objective(p.prior_centre) == pytest.approx(-a.sum())


def test_fittable_excludes_windows_outside_the_horizon(base):
    ids = list(C.fittable(O.load_tallies(), base)["id"])
    assert "T15" not in ids and len(ids) == 17


def test_split_holdout():
    t = C.fittable(O.load_tallies(), C.base_scenario(C.DEFAULT_SCENARIO))
    train, test = C.split_holdout(t, dt.date(2020, 7, 1))
    assert list(train["id"]) == ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08"]
    assert "T09" in set(test["id"]) and len(train) + len(test) == len(t)


def test_abc_accepts_the_best_fraction(base):
    t = C.fittable(O.load_tallies(), base)
    p = C.make_problem(base, t, seed=3, runs=4)
    s = C.FitSettings(seed=3, abc_samples=8, abc_runs=4, abc_accept=0.25)
    r = C.abc(p, s)
    assert r.theta.shape == (8, len(C.PARAMETERS)) and r.accepted.sum() == 2
    assert r.loglik[r.accepted].min() >= r.loglik[~r.accepted].max()
    for k, par in enumerate(C.PARAMETERS):
        assert (r.theta[:, k] >= par.lo - 1e-12).all() and (r.theta[:, k] <= par.hi + 1e-12).all()


def test_identifiability_notes_name_correlated_pairs():
    x = np.linspace(0.3, 3.0, 20)
    theta = np.column_stack([x, 1.0 / x] + [np.full(20, 0.5)] * (len(C.PARAMETERS) - 2))
    theta[:, 2:] += np.random.default_rng(0).uniform(0, 0.1, size=(20, len(C.PARAMETERS) - 2))
    r = C.AbcResult(theta, np.zeros(20), np.ones(20, dtype=bool), 0.0, 0.0)
    notes = C.identifiability_notes(r, C.PARAMETERS)
    assert any("rate_scale and convoy_scale trade off" in n for n in notes)


# --- pattern-check helpers on hand-built records -------------------------------------------------


def _records(rows):
    rec = np.zeros((len(rows), L.N_ECOLS), dtype=np.int32)
    reps = np.array([r[0] for r in rows], dtype=np.int64)
    for j, (_, day, kind, w, t, claimed) in enumerate(rows):
        rec[j, L.E_DAY], rec[j, L.E_KIND], rec[j, L.E_WEAPON] = day, kind, w
        rec[j, L.E_TARGET], rec[j, L.E_CLAIMED] = t, claimed
    return rec, reps


def test_days_to_next_attack_and_front_share_known_answers():
    world = compile_world(build())  # starts 2020-01-01
    rec, reps = _records(
        [
            (10, 5, V.K_ATTACK, V.W_ROCKET, V.T_US_BASE, -1),  # same day as the "strike": ignored
            (10, 9, V.K_ATTACK, V.W_SMALL, V.T_ACTIVIST, 0),  # not a US target
            (10, 12, V.K_ATTACK, V.W_IED, V.T_CONVOY, 0),
            (11, 40, V.K_US_STRIKE, -1, -1, -1),
        ]
    )
    d = C.days_to_next_attack(world, rec, reps, 10, 2, dt.date(2020, 1, 6))
    assert d[0] == 7 and np.isnan(d[1])
    share = C.front_claim_share(rec, reps, 10, 2, world, dt.date(2020, 12, 31))
    assert share[0] == pytest.approx(2 / 3) and np.isnan(share[1])


def test_class_factors_are_ratios_to_the_main_series():
    world = compile_world(build())
    rec, reps = _records(
        [
            (0, 3, V.K_ATTACK, V.W_ROCKET, V.T_US_BASE, -1),
            (0, 4, V.K_ATTACK, V.W_ROCKET, V.T_US_EMBASSY, -1),
            (0, 5, V.K_ATTACK, V.W_IED, V.T_CONVOY, -1),
            (1, 6, V.K_ATTACK, V.W_ROCKET, V.T_US_BASE, -1),
            (1, 200, V.K_ATTACK, V.W_IED, V.T_CONVOY, -1),  # after the date: not counted
        ]
    )
    t = C.pseudo_tallies(
        [
            ("a", "2020-01-01", "2020-12-31", ("ied",), ("convoy",), "attacks"),
            ("b", "2020-01-01", "2020-12-31", ("rocket", "ied"), C.US, "attacks"),
            ("c", "2020-01-01", "2020-12-31", ("rocket",), ("us_embassy",), "attacks"),
        ]
    )
    f = C.class_factors(world, rec, reps, 0, 2, t, dt.date(2020, 3, 1))
    np.testing.assert_allclose(f, [1 / 3, 4 / 3, 1 / 3])


def test_tally_summary_flags_misses():
    sim = np.tile(np.arange(10), (1, 1)).T.repeat(2, axis=1).astype(float)  # 0..9 in both
    t = pd.DataFrame({"id": ["a", "b"], "count": [20, 3], "bound": ["exact", "lower"]})
    s = C.tally_summary(sim, t)
    assert s["inside90"].tolist() == [False, True]
    assert s["q50"].tolist() == [4, 4]


# --- reproducibility and the command -------------------------------------------------------------


def test_same_seed_gives_identical_fitted_yaml():
    s = C.FitSettings(seed=11, **TINY)
    a = C.run_calibration(s)
    b = C.run_calibration(s)
    assert a.fitted_text == b.fitted_text
    c = C.run_calibration(dataclasses.replace(s, seed=12))
    assert c.fitted_text != a.fitted_text
    doc = yaml.safe_load(a.fitted_text)
    assert doc["fit"]["seed"] == 11 and doc["fit"]["tallies"][0] == "T01"
    assert 0.0 <= a.coverage90 <= 1.0 and len(a.check) == 17


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_quick_calibration_writes_outputs_to_out_only(tmp_path):
    repo_fit = ROOT / "calibration" / "fitted.yaml"
    before = _sha(repo_fit)
    res = CliRunner().invoke(
        app,
        [
            "calibrate",
            "--quick",
            "--quiet",
            "--out",
            str(tmp_path),
            "--seed",
            "3",
            "--check-runs",
            "30",
        ],
    )
    assert res.exit_code == 0, res.output
    assert _sha(repo_fit) == before
    doc = yaml.safe_load((tmp_path / "fitted.yaml").read_text())
    assert doc["fit"]["seed"] == 3 and "KH" in doc["factions"]
    for name in (
        "report.md",
        "results.json",
        "tallies.png",
        "monthly.png",
        "parameters.png",
        "holdout.png",
    ):
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Out-of-sample validation" in text and "hawkes" in text
    assert not list(tmp_path.rglob("*.tmp*"))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--holdout-after", "2020-13-01"], "--holdout-after"),
        (["--holdout-after", "2019-01-01"], "both sets must be non-empty"),
        (["--runs", "1"], "--runs"),
        (["--check-runs", "0"], "--check-runs"),
    ],
)
def test_cli_invalid_input_exits_2_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "cal"
    res = CliRunner().invoke(app, ["calibrate", "--quick", "--out", str(out), *args])
    assert res.exit_code == 2
    assert needle in res.output and "Traceback" not in res.output
    assert not out.exists()
