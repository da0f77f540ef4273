"""Comparisons over the posterior: known answers, resampling, pairing, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import (
    OUTCOMES,
    POSTERIOR_FILE,
    paired_difference,
    run_comparison,
    with_reference,
)
from sim.analysis.design import DesignScenario
from sim.analysis.posterior import (
    Posterior,
    PosteriorError,
    draw_of_replicate,
    draw_world,
    posterior_difference,
    posterior_statistics,
    read_posterior,
    resample_draws,
    run_posterior,
)
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.results.outcomes import METRICS, replicate_metrics
from sim.scenario import load_scenario
from tests.analysis.test_compare import write_scenario
from tests.conftest import build

ANSWER_KEYS = {"difference_mean", "mc_ci95", "total_interval90", "p_scenario_lower"}


def test_sign_flipping_clusters_give_a_total_interval_spanning_zero():
    # 300 of 1000 draws lower the outcome by about 5, the other 700 raise it by about 5: the
    # fixed point alone (here: a cluster-B point) would say "higher" with a tight CI
    rng = np.random.default_rng(0)
    n_draws, per_draw = 1000, 4
    cluster_a = np.arange(n_draws) < 300
    draw = draw_of_replicate(n_draws * per_draw, per_draw)
    base = rng.poisson(50, draw.size).astype(float)
    shift = np.where(cluster_a[draw], -5.0, 5.0)
    other = base + shift + rng.normal(0, 1, draw.size)
    res = posterior_difference(base, other, draw)
    lo, hi = res["total_interval90"]
    assert lo < -4 and hi > 4  # spans 0: parameter uncertainty flips the sign
    assert res["p_scenario_lower"] == pytest.approx(0.3, abs=0.01)
    assert res["difference_mean"] == pytest.approx(0.3 * -5 + 0.7 * 5, abs=0.1)
    assert res["n_draws"] == n_draws
    # through the comparison's statistics: the fixed point's CI excludes 0, the total does not
    fixed_base = pd.DataFrame({o.key: base for o in OUTCOMES})
    fixed_other = pd.DataFrame({o.key: base + 5.0 + rng.normal(0, 1, draw.size) for o in OUTCOMES})
    post_other = pd.DataFrame({o.key: other for o in OUTCOMES})
    rows = posterior_statistics(
        {"ref": fixed_base, "pol": fixed_other},
        {"ref": fixed_base, "pol": post_other},
        draw,
        seed=1,
        outcomes=OUTCOMES[:1],
        paired=paired_difference,
    )
    (row,) = rows
    assert row["mc_ci95"][0] > 4 and row["total_interval90"][0] < 0 < row["total_interval90"][1]
    assert row["p_scenario_lower"] == pytest.approx(0.3, abs=0.01)


def test_days_differences_skip_draws_where_either_never_deescalated():
    draw = np.array([0, 0, 1, 1])
    base = np.array([10.0, np.nan, np.nan, 4.0])
    other = np.array([7.0, 3.0, 1.0, np.nan])
    res = posterior_difference(base, other, draw)
    assert res["n_draws"] == 1 and res["p_scenario_lower"] == 1.0
    assert res["difference_mean"] == -3.0


def test_resampling_follows_the_weights_and_the_seed():
    post = Posterior(
        ("militia.beta_deterrence",), np.arange(4.0)[:, None], np.array([0.1, 0.2, 0.0, 0.7])
    )
    idx = resample_draws(post, 1000, seed=5)
    counts = np.bincount(idx, minlength=4)
    assert np.all(np.abs(counts - 1000 * post.weights) <= 1)  # systematic: within one
    assert counts[2] == 0
    assert (resample_draws(post, 1000, seed=5) == idx).all()
    assert not (resample_draws(post, 1000, seed=6) == idx).all()


def test_read_posterior_keeps_model_parameters_only(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame(
        {"militia.beta_deterrence": [0.1, 0.2], "detect.T08": [0.5, 0.6], "weight": [1.0, 3.0]}
    ).to_parquet(path)
    post = read_posterior(path)
    assert post.names == ("militia.beta_deterrence",)
    assert post.weights.tolist() == [0.25, 0.75]
    with pytest.raises(PosteriorError, match="no posterior sample"):
        read_posterior(tmp_path / "missing.parquet")
    pd.DataFrame({"detect.T08": [0.5]}).to_parquet(tmp_path / "q.parquet")
    with pytest.raises(PosteriorError, match="no model parameter"):
        read_posterior(tmp_path / "q.parquet")


def test_runs_must_be_a_multiple_of_the_replicates_per_draw():
    assert draw_of_replicate(6, 3).tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(PosteriorError, match="multiple"):
        draw_of_replicate(7, 3)


def test_a_draw_leaves_the_policy_set_value_after_the_policy_start():
    sc = build({"policy": {"start": "2020-06-01", "militia": {"beta_deterrence": 0.9}}})
    ds = DesignScenario.of(sc)
    i, j = L.G_INDEX["m_beta_deterrence"], L.G_INDEX["m_beta_grievance"]
    names = ("militia.beta_deterrence", "militia.beta_grievance")
    w = draw_world(ds, names, np.array([0.123, 0.456]))
    assert w.g_before[i] == 0.123 and w.g_after[i] == 0.9  # the policy keeps its lever
    assert w.g_before[j] == 0.456 and w.g_after[j] == 0.456  # the world changes on both sides
    assert ds.world.g_before[i] != 0.123  # the compiled scenario is not changed


def test_replicate_k_runs_draw_k_in_every_scenario():
    # two scenarios, three very different draws: replicate k of the posterior run equals a
    # fixed run of replicate k at draw k's parameters, in both scenarios
    post = Posterior(
        ("scale.factions.base_rate", "militia.beta_grievance"),
        np.array([[0.25, 0.1], [4.0, 0.5], [1.0, 0.9]]),
        np.full(3, 1 / 3),
    )
    draws = np.array([2, 0, 1, 1])
    for sc in (build(), build({"policy": {"start": "2020-06-01", "us": {"strike_rate": 0.9}}})):
        ds = DesignScenario.of(sc)
        got = run_posterior(ds, post, draws, per_draw=1)
        w0 = ds.world
        for k, d in enumerate(draws):
            w = draw_world(ds, post.names, post.values[d])
            records, reps = run_kernel(w, k, 1)
            want = replicate_metrics(records, reps, k, 1, w0.n_days, w0.outcome_day, w0.n_factions)
            np.testing.assert_array_equal(got[k], want[0])
        attacks = got[:, METRICS.index("attacks_us")]
        assert attacks[1] < attacks[2]  # draw 0 (rate x 1/4) vs draw 1 (x 4): the draws act


def test_comparison_json_in_posterior_and_fixed_modes(tmp_path):
    a = load_scenario(write_scenario(tmp_path / "a.yaml", name="a", policy={"start": "2020-06-01"}))
    b = load_scenario(
        write_scenario(
            tmp_path / "b.yaml",
            name="b",
            policy={"start": "2020-06-01", "us": {"strike_rate": 0.9}},
        )
    )
    post = Posterior(
        ("scale.factions.base_rate",), np.array([[0.5], [2.0]]), np.array([0.5, 0.5]), "toy"
    )
    out = tmp_path / "post"
    run_comparison([a, b], out, runs=6, seed=3, posterior=post, per_draw=2)
    meta = json.loads((out / "comparison.json").read_text())
    assert "posterior draws" in meta["parameters"] and meta["posterior"]["draws"] == 3
    assert len(meta["differences"]) == len(OUTCOMES)
    for row in meta["differences"]:
        assert set(row) >= ANSWER_KEYS and row["reference"] == "a" and row["scenario"] == "b"
        assert row["p_scenario_lower"] is None or 0 <= row["p_scenario_lower"] <= 1
    table = pd.read_parquet(out / POSTERIOR_FILE)
    by = table.pivot(index="run", columns="scenario", values="draw_row")
    assert (by["a"] == by["b"]).all()  # the same draw for replicate k in both scenarios
    assert table.groupby("scenario")["draw"].apply(list).tolist() == [[0, 0, 1, 1, 2, 2]] * 2
    md = (out / "comparison.md").read_text()
    assert "total 90% (posterior)" in md and "total_interval90: 5% and 95% quantiles" in md
    # fixed mode: no posterior run, the answer rows carry the fitted point only
    out2 = tmp_path / "fixed"
    run_comparison([a, b], out2, runs=6, seed=3, parameters_note="--fixed-parameters")
    meta2 = json.loads((out2 / "comparison.json").read_text())
    assert meta2["posterior"] is None and "fixed (fitted) point only" in meta2["parameters"]
    assert not (out2 / POSTERIOR_FILE).exists()
    for r1, r2 in zip(meta["differences"], meta2["differences"], strict=True):
        assert r2["total_interval90"] is None and r2["p_scenario_lower"] is None
        # the fixed point's CI is the same replicates in both modes
        assert r1["mc_ci95"] == r2["mc_ci95"]
        assert r2["difference_mean"] == r2["difference_mean_fixed"]


def test_reference_is_put_first_and_added_when_missing(tmp_path):
    a, sq = tmp_path / "a.yaml", tmp_path / "status_quo.yaml"
    assert with_reference([a]) == [sq, a]
    assert with_reference([a, sq]) == [sq, a]
    assert with_reference([a], tmp_path / "other.yaml") == [tmp_path / "other.yaml", a]


# --- escsim run --posterior ---------------------------------------------------------------------


def _toy_posterior(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "scale.factions.base_rate": [0.3, 1.0, 3.0],
            "militia.beta_deterrence": [0.1, 0.5, 2.0],
            "weight": [0.2, 0.3, 0.5],
        }
    )
    pq.write_table(table, path)
    return path


def test_run_over_a_posterior_matches_compare_and_replays(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    cli = CliRunner()
    sc_path = write_scenario(
        tmp_path / "b.yaml", name="b", policy={"start": "2020-06-01", "us": {"strike_rate": 0.9}}
    )
    post_path = _toy_posterior(tmp_path / "post.parquet")
    out = tmp_path / "run"
    args = ["run", str(sc_path), "-n", "12", "--seed", "5", "--chunk-size", "5", "-o", str(out)]
    res = cli.invoke(app, [*args, "--posterior", str(post_path), "-q"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    rec = manifest["parameters"]
    assert rec["kind"] == "posterior" and rec["draws"] == 12 and rec["path"] == str(post_path)
    assert rec["names"] == ["scale.factions.base_rate", "militia.beta_deterrence"]
    # replicate k is replicate k of compare's posterior run (same rows, same draws)
    loaded = load_scenario(sc_path)
    ds = DesignScenario.of(loaded.scenario, seed=5)
    post = read_posterior(post_path)
    want = run_posterior(ds, post, resample_draws(post, 12, 5), per_draw=1)
    got = pd.read_parquet(out / "runs.parquet").sort_values("run")
    np.testing.assert_array_equal(got[list(METRICS)].to_numpy(float), want)
    # the draws act: the fixed-parameter run of the same replicates differs
    fixed = tmp_path / "fixed"
    assert cli.invoke(app, [*args[:-1], str(fixed), "-q"]).exit_code == 0
    assert not pd.read_parquet(fixed / "runs.parquet").equals(got.reset_index(drop=True))
    # replay rebuilds the draws from the manifest (the sample file is not needed)
    post_path.unlink()
    res = cli.invoke(app, ["replay", str(out), "-q"])
    assert res.exit_code == 0 and "identical: 12 of 12" in res.output, res.output
    res = cli.invoke(app, ["replay", str(out), "--runs", "2", "--engine", "mesa", "-q"])
    assert res.exit_code == 0 and "identical: 2 of 12" in res.output, res.output


def test_run_posterior_bad_input_and_resume_mismatch(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    cli = CliRunner()
    sc_path = write_scenario(tmp_path / "a.yaml", name="a", policy={"start": "2020-06-01"})
    out = tmp_path / "run"
    base = ["run", str(sc_path), "-n", "4", "-o", str(out), "-q"]
    res = cli.invoke(app, [*base, "--posterior", str(tmp_path / "missing.parquet")])
    assert res.exit_code == 2 and "missing.parquet: no posterior sample" in res.output
    res = cli.invoke(app, [*base, "--replicates-per-draw", "3", "--over-posterior"])
    assert res.exit_code == 2 and "must be a multiple" in res.output
    assert not out.exists()
    post_path = _toy_posterior(tmp_path / "post.parquet")
    assert cli.invoke(app, [*base, "--posterior", str(post_path)]).exit_code == 0
    res = cli.invoke(app, [*base, "--resume"])  # the same directory without the posterior
    assert res.exit_code == 2 and "the parameters (--posterior) differs" in res.output
