"""The episode comparison: tempered-SMC evidence against an analytic answer, the verdict rule,
the alternatives.yaml format, and the declared alternatives (all fast: no simulation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.analysis.calibrate import episode as E
from sim.analysis.calibrate.sampler import SmcSettings, smc
from sim.model import layout as L


def _conjugate_normal(y: np.ndarray, s0: float):
    """y_i ~ N(mu, 1), mu ~ N(0, s0^2): log likelihood, log prior and the exact log evidence."""
    n = len(y)

    def loglik(z: np.ndarray) -> float:
        return float(stats.norm.logpdf(y, loc=z[0], scale=1.0).sum())

    def logprior(z: np.ndarray) -> float:
        return float(stats.norm.logpdf(z[0], scale=s0))

    cov = np.eye(n) + s0 * s0 * np.ones((n, n))
    exact = float(stats.multivariate_normal.logpdf(y, mean=np.zeros(n), cov=cov))
    return loglik, logprior, exact


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smc_evidence_matches_the_conjugate_normal_marginal_likelihood(seed):
    """Known answer: the tempered-SMC log evidence of a conjugate normal model is within 0.25
    of the analytic log marginal likelihood (its Monte Carlo sd here is about 0.05-0.1) under
    two priors, and the estimated log Bayes factor between the priors (exact: about 1.95) is
    within 0.35 of the exact one."""
    rng = np.random.default_rng(42)
    y = rng.normal(1.5, 1.0, size=20)
    est, exact = {}, {}
    for s0 in (1.0, 20.0):
        loglik, logprior, exact[s0] = _conjugate_normal(y, s0)
        z0 = np.random.default_rng(seed).normal(0.0, s0, size=(300, 1))
        res = smc(loglik, logprior, z0, SmcSettings(particles=300, seed=seed, max_moves=4))
        assert res.converged
        est[s0] = res.log_evidence
        assert abs(est[s0] - exact[s0]) < 0.25, (s0, est[s0], exact[s0])
    assert abs(exact[1.0] - exact[20.0]) > 1.5
    assert abs((est[1.0] - est[20.0]) - (exact[1.0] - exact[20.0])) < 0.35


def test_verdict_refuses_to_pick_when_small_or_within_noise():
    assert "cannot tell them apart" in E.verdict(0.6, 0.1, "a", "b")
    assert "cannot tell them apart" in E.verdict(3.0, 2.0, "a", "b")  # within 2 sd
    assert "favour a over b" in E.verdict(3.0, 0.5, "a", "b")
    assert "favour b over a" in E.verdict(-3.0, 0.5, "a", "b")
    assert "cannot tell them apart" in E.verdict(5.0, float("nan"), "a", "b")  # one seed


def test_alternatives_are_declared_with_schema_paths_priors_and_sources():
    names = [a.name for a in E.ALTERNATIVES]
    assert names == ["deterrence", "restraint", "both"]
    det, res, both = E.ALTERNATIVES
    assert det.held == {"iran.restraint": 0.0}
    assert "militia.beta_deterrence" in [p.name for p in det.free]
    assert "militia.beta_deterrence" in res.held and "iran.restraint" in [p.name for p in res.free]
    assert {"militia.beta_deterrence", "iran.restraint"} <= {p.name for p in both.free}
    for a in E.ALTERNATIVES:
        assert a.source and a.label
        for p in a.free:
            L.parameter_path_index(p.name)  # a schema path
            assert p.reason and p.lo < p.prior.ppf(np.array([0.5]))[0] < p.hi
    with pytest.raises(ValueError, match="expected one of deterrence, restraint, both"):
        E.alternative("nope")


class _FakeComparison:
    """Stands in for ``Comparison`` in the file-format test (medians and evidence only)."""

    fits = {"deterrence": [], "restraint": []}

    def medians(self, name):
        return {
            "militia.beta_deterrence": 2.1 if name == "deterrence" else 0.3987,
            "iran.restraint": 0.0 if name == "deterrence" else 4.2,
            "iran.war_appetite": 1.5,
            "detection.dod_pentagon": 0.9,
        }

    def evidence(self, name):
        return (-41.2, 0.6) if name == "deterrence" else (-40.0, float("nan"))


def test_alternatives_yaml_has_the_agreed_format(tmp_path):
    text = E.alternatives_text(_FakeComparison(), "episode")
    assert text.startswith("# written by escsim episode; do not edit by hand\n")
    path = tmp_path / "alternatives.yaml"
    path.write_text(text)
    alts = E.read_alternatives(path)
    assert [a["name"] for a in alts] == ["deterrence", "restraint"]
    d = alts[0]
    assert set(d) == {
        "name",
        "label",
        "source",
        "parameters",
        "episode_parameters",
        "log_evidence",
        "log_evidence_sd",
    }
    # the mechanisms a policy comparison applies, apart from the episode's own conditions
    assert d["parameters"] == {"militia.beta_deterrence": 2.1, "iran.restraint": 0.0}
    assert d["episode_parameters"] == {"iran.war_appetite": 1.5}
    assert d["log_evidence"] == -41.2 and d["log_evidence_sd"] == 0.6
    assert alts[1]["log_evidence_sd"] is None  # not estimated -> null


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[1, 2]", "a list 'alternatives'"),
        ("alternatives:\n  - {name: x}\n", "field 'label' missing"),
        (
            "alternatives:\n  - {name: x, label: l, source: s, parameters: {militia.nope: 1},"
            " log_evidence: null, log_evidence_sd: null}\n",
            "'militia.nope' is not a schema path",
        ),
        (
            "alternatives:\n  - {name: 'a b', label: l, source: s, parameters: {},"
            " log_evidence: null, log_evidence_sd: null}\n",
            "expected an identifier",
        ),
        (
            "alternatives:\n  - {name: x, label: l, source: s, parameters: {},"
            " log_evidence: high, log_evidence_sd: null}\n",
            "log_evidence: expected a number or null",
        ),
    ],
)
def test_read_alternatives_names_the_bad_field(tmp_path, body, message):
    path = tmp_path / "alternatives.yaml"
    path.write_text(body)
    with pytest.raises(ValueError, match=message):
        E.read_alternatives(path)
