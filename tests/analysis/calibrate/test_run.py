import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim.analysis import observed as O
from sim.analysis.calibrate import parameters as P
from sim.analysis.calibrate import run as R
from sim.cli import app
from sim.model.world import compile_world
from sim.report.calibration import posterior_bytes
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def quick():
    return R.run_calibration(R.Settings.quick(11))


def test_same_seed_gives_byte_identical_posterior_and_fitted_yaml(quick):
    again = R.run_calibration(R.Settings.quick(11))
    assert posterior_bytes(again.posterior) == posterior_bytes(quick.posterior)
    assert again.fitted_text == quick.fitted_text
    other = R.run_calibration(R.Settings.quick(12))
    assert posterior_bytes(other.posterior) != posterior_bytes(quick.posterior)


def test_posterior_has_one_column_per_parameter_and_weights(quick):
    post = quick.posterior
    names = list(quick.problem.names)
    assert list(post.columns) == names + ["weight"]
    assert len(post) == quick.settings.particles
    assert post["weight"].sum() == pytest.approx(1.0)
    for p in quick.problem.params:
        assert post[p.name].between(p.lo, p.hi).all(), p.name
    model = [n for n in names if not n.startswith(("detection.", "discrepancy."))]
    assert set(model) == set(P.TARGETS)
    assert names[-1] == P.DISCREPANCY_PARAMETER.name
    det = [n for n in names if n.startswith("detection.")]
    counters = set(quick.problem.fitted.loc[quick.problem.fitted["bound"] != "lower", "counter_id"])
    assert {n.split(".", 1)[1] for n in det} == counters


def test_fitted_yaml_is_the_posterior_median_through_the_loader(quick, tmp_path):
    doc = yaml.safe_load(quick.fitted_text)
    assert doc["fit"]["seed"] == 11 and doc["fit"]["tallies"] == list(quick.problem.fitted["id"])
    med = quick.posterior.drop(columns="weight").median().to_numpy()
    for k, name in enumerate(quick.problem.names):
        assert doc["fit"]["parameters"][name]["median"] == pytest.approx(med[k], rel=1e-3)
    (tmp_path / "fitted.yaml").write_text(quick.fitted_text)
    loaded = compile_world(P.scenario_with_fit(R.DEFAULT_SCENARIO, tmp_path / "fitted.yaml"))
    direct = P.apply_params(compile_world(quick.base), quick.problem.names, quick.median)
    np.testing.assert_allclose(loaded.g_before, direct.g_before, rtol=1e-5)
    np.testing.assert_allclose(loaded.fp, direct.fp, rtol=1e-5)


def test_coverage_counts_exact_and_approx_only(quick):
    ck = quick.fitted_check
    assert list(ck["id"]) == list(quick.problem.fitted["id"])
    assert ck.loc[ck["bound"] == "lower", "covered"].isna().all()
    assert ck.loc[ck["bound"] != "lower", "covered"].notna().all()
    assert 0.0 <= quick.coverage90 <= 1.0
    model = quick.fitted_check_model
    assert list(model["id"]) == list(ck["id"]) and 0.0 <= quick.coverage90_model <= 1.0
    # the discrepancy only widens: the model-alone interval lies inside the predictive one
    # up to Monte Carlo noise, so at least the same number of tallies is covered on average
    assert (ck["q95"] - ck["q05"]).sum() >= (model["q95"] - model["q05"]).sum()
    pr, n = quick.participation
    assert 1.0 <= pr <= n


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_quick_with_data_until_writes_outputs_to_out_only(tmp_path):
    repo_fit = ROOT / "calibration" / "fitted.yaml"
    before = _sha(repo_fit)
    args = ["calibrate", "--quick", "--quiet", "--out", str(tmp_path), "--seed", "3"]
    res = CliRunner().invoke(app, [*args, "--data-until", "2020-12-31"])
    assert res.exit_code == 0, res.output
    assert _sha(repo_fit) == before
    post = pd.read_parquet(tmp_path / "posterior.parquet")
    assert "militia.beta_deterrence" in post.columns and "weight" in post.columns
    doc = yaml.safe_load((tmp_path / "fitted.yaml").read_text())
    assert doc["fit"]["data_until"] == "2020-12-31"
    ends = O.load_tallies().set_index("id")["end"]
    assert (ends[doc["fit"]["tallies"]] <= "2020-12-31").all()
    assert "T19" not in doc["fit"]["tallies"] and "T17" in doc["fit"]["tallies"]
    for name in ("report.md", "results.json", "tallies.png", "parameters.png", "smc.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Held out: tallies ending after 2020-12-31" in text and "T19" in text
    # a smoke-test budget is never called the posterior, even when its tempering reaches phi = 1
    assert "smoke-test budget (`--quick`" in text and "NOT the posterior" in text
    assert "reached the posterior" not in text
    assert not list(tmp_path.rglob("*.tmp*"))
    # the deprecated option maps to --data-until the day before
    out2 = tmp_path / "old"
    res = CliRunner().invoke(
        app,
        ["calibrate", "--quick", "--quiet", "--out", str(out2), "--holdout-after", "2021-01-01"],
    )
    assert res.exit_code == 0, res.output
    assert "deprecated" in res.output
    assert yaml.safe_load((out2 / "fitted.yaml").read_text())["fit"]["data_until"] == "2020-12-31"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--data-until", "2020-13-01"], "--data-until"),
        (["--data-until", "2019-01-01"], "no fittable tally"),
        (["--particles", "1"], "--particles"),
        (["--runs", "0"], "--runs"),
    ],
)
def test_cli_invalid_input_exits_2_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "cal"
    res = CliRunner().invoke(app, ["calibrate", "--quick", "--out", str(out), *args])
    assert res.exit_code == 2
    assert needle in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_data_until_date_is_inclusive():
    from sim.analysis.calibrate.holdout import data_until_from_holdout, split_by_date

    t = pd.DataFrame({"end": pd.to_datetime(["2020-12-30", "2020-12-31", "2021-01-01"])})
    seen, unseen = split_by_date(t, dt.date(2020, 12, 31))
    assert len(seen) == 2 and len(unseen) == 1
    assert data_until_from_holdout(dt.date(2021, 1, 1)) == dt.date(2020, 12, 31)


def test_loglik_noise_is_zero_for_a_deterministic_likelihood_and_positive_otherwise():
    from sim.analysis.calibrate.checks import loglik_noise

    draws = np.array([[1.0], [2.0]])
    assert loglik_noise(lambda th, r: float(th[0]), draws, (0, 10)).tolist() == [0.0, 0.0]
    sd = loglik_noise(lambda th, r: float(th[0] + r), draws, (0, 1, 2))
    np.testing.assert_allclose(sd, [1.0, 1.0])


def test_quick_run_reports_the_likelihood_noise(quick):
    assert quick.loglik_sd.shape == (quick.settings.noise_draws,)
    assert (quick.loglik_sd > 0).all()  # independent replicate sets differ


def test_report_gives_the_discrepancy_posterior_and_both_coverages(quick):
    from sim.report.calibration import report_markdown, results_json

    text = report_markdown(quick)
    assert "## Model discrepancy" in text
    assert f"the model alone: **{quick.coverage90_model:.0%}**" in text
    d = results_json(quick)["discrepancy"]
    x = quick.posterior[P.DISCREPANCY_PARAMETER.name]
    assert d["posterior_median"] == pytest.approx(float(x.median()))
    assert d["coverage90_with"] == quick.coverage90
    assert d["coverage90_model_alone"] == quick.coverage90_model
    model, pred = quick.fitted_check_model, quick.fitted_check
    need = set(pred["id"][(pred["covered"] == 1.0) & (model["covered"] == 0.0)])
    assert set(d["needed_by"]) == need
