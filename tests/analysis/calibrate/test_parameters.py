import shutil

import numpy as np
import pytest
import yaml
from scipy import integrate

from sim.analysis.calibrate import parameters as P
from sim.model import layout as L
from sim.model.world import compile_world
from sim.scenario import load_scenario
from tests.conftest import ROOT

HIST = ROOT / "scenarios" / "historical.yaml"


@pytest.fixture(scope="module")
def base():
    return P.base_scenario(HIST)


def _scenario_copy(tmp_path, overlay_text):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "calibration").mkdir()
    shutil.copy(HIST, tmp_path / "scenarios" / "historical.yaml")
    (tmp_path / "calibration" / "fitted.yaml").write_text(overlay_text)
    return tmp_path / "scenarios" / "historical.yaml"


def test_base_scenario_ignores_the_current_overlay(tmp_path):
    path = _scenario_copy(tmp_path, "factions: {KH: {base_rate: 0.5}}\nmilitia: {noise: 2.0}\n")
    assert load_scenario(path).scenario.factions[0].base_rate == 0.5
    sc = P.base_scenario(path)
    assert sc.factions[0].base_rate == 0.035 and sc.militia.noise == 0.5


def test_every_model_parameter_maps_to_existing_array_entries():
    names = [p.name for p in P.MODEL_PARAMETERS]
    assert len(names) == len(set(names)) == 22
    assert set(names) == set(P.TARGETS)
    for how, entries in P.TARGETS.values():
        for e in entries.split(";"):
            assert e in (L.G_INDEX if how.startswith("g") else L.FP_INDEX), e
    for policy in (
        "militia.beta_deterrence",
        "us.strike_grievance",
        "us.strike_grievance_allies",
        "iran.revenge",
        "us.credibility_jump",
        "truce.breakdown",
        "scale.factions.truce_compliance",
        "pm.mediation",
    ):
        assert policy in names
    for p in P.MODEL_PARAMETERS:
        assert len(p.reason) > 30 and p.lo < p.hi


@pytest.mark.parametrize("param", P.MODEL_PARAMETERS + P.detection_parameters(["talos", "afp"]))
def test_prior_density_in_sampler_coordinates_integrates_to_one(param):
    pr = param.prior
    d = pr._dist()
    mass = d.cdf(pr.hi) - d.cdf(pr.lo)  # the truncated density is not renormalised
    total, _ = integrate.quad(lambda z: np.exp(pr.logpdf_z(z)), -40, 40, limit=400)
    assert total == pytest.approx(mass, rel=1e-3)
    x = pr.ppf(np.array([0.05, 0.5, 0.95]))
    assert (x >= pr.lo).all() and (x <= pr.hi).all() and x[0] < x[1] < x[2]
    np.testing.assert_allclose(pr.from_z(pr.to_z(x)), x, rtol=1e-9)


def test_detection_priors_are_higher_for_official_exact_counters():
    off, press = P.detection_parameters(["talos", "afp_running"])[::-1]
    assert off.name == "detection.talos" and press.name == "detection.afp_running"
    assert off.prior.ppf(np.array([0.5]))[0] > press.prior.ppf(np.array([0.5]))[0]


def test_apply_params_known_answers(base):
    w = compile_world(base)
    names = (
        "scale.factions.base_rate",
        "militia.beta_deterrence",
        "scale.militia.lethality",
        "scale.factions.truce_compliance",
        "detection.talos",
    )
    w2 = P.apply_params(w, names, np.array([2.0, 5.0, 100.0, 1.2, 0.3]))
    np.testing.assert_allclose(w2.fp[:, L.F_BASE_RATE], 2.0 * w.fp[:, L.F_BASE_RATE])
    i = L.G_INDEX["m_beta_deterrence"]
    assert w2.g_before[i] == w2.g_after[i] == 5.0
    assert w2.g_before[L.G_INDEX["m_lethality_rocket"]] == 1.0  # capped: a probability
    tc = L.FP_INDEX["truce_compliance"]
    np.testing.assert_allclose(w2.fp[:, tc], np.minimum(1.0, 1.2 * w.fp[:, tc]))
    assert w.fp[0, L.F_BASE_RATE] == 0.035  # the original is untouched
    same = P.apply_params(w, ("detection.talos",), np.array([0.3]))  # no array slot
    np.testing.assert_array_equal(same.g_before, w.g_before)


def test_written_overlay_reproduces_the_candidate_arrays(tmp_path, base):
    names = tuple(p.name for p in P.MODEL_PARAMETERS) + ("detection.talos",)
    rng = np.random.default_rng(1)
    theta = np.array(
        [float(p.prior.ppf(rng.uniform(0.1, 0.9, 1))[0]) for p in P.MODEL_PARAMETERS] + [0.8]
    )
    text = P.fitted_yaml(base, names, theta, {"seed": 1})
    path = _scenario_copy(tmp_path, "{}\n")
    (tmp_path / "fitted.yaml").write_text(text)
    loaded = compile_world(P.scenario_with_fit(path, tmp_path / "fitted.yaml"))
    direct = P.apply_params(compile_world(base), names, theta)
    np.testing.assert_allclose(loaded.g_before, direct.g_before, rtol=1e-5)
    np.testing.assert_allclose(loaded.fp, direct.fp, rtol=1e-5)
    doc = yaml.safe_load(text)
    assert set(doc) == {"militia", "us", "pm", "iran", "truce", "factions", "fit"}
    assert not any("detection" in str(k) for s in doc.values() for k in s)
