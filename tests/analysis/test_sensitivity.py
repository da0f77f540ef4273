"""Known answers of the sensitivity analyses, through the functions `escsim sensitivity` uses."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.sensitivity import (
    SOBOL_COLUMNS,
    SensitivityError,
    morris_screening,
    sobol_analysis,
)

# Ishigami, a = 7, b = 0.1, x_i uniform on [-pi, pi]: analytic indices (Ishigami and Homma 1990;
# Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, sec. 4.8)
S1_ISHIGAMI = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST_ISHIGAMI = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
# n = 2^12 base points (20,480 runs): the Saltelli 2010 estimators' error is about 0.01-0.02
# here (bootstrap CI half-widths print ~0.02-0.03); 0.05 is a tolerance at 2-3 standard errors.
TOLERANCE = 0.05


def ishigami_unit(u: np.ndarray) -> np.ndarray:
    """Ishigami on the unit cube (mapped to [-pi, pi]^3)."""
    x = -np.pi + 2 * np.pi * np.atleast_2d(u)
    return np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_recovers_ishigami():
    df = sobol_analysis(ishigami_unit, ["x1", "x2", "x3"], n=2**12, seed=1).set_index("parameter")
    assert tuple(df.reset_index().columns) == SOBOL_COLUMNS
    for name in S1_ISHIGAMI:
        assert df.loc[name, "S1"] == pytest.approx(S1_ISHIGAMI[name], abs=TOLERANCE)
        assert df.loc[name, "ST"] == pytest.approx(ST_ISHIGAMI[name], abs=TOLERANCE)
        assert df.loc[name, "S1_lo"] <= df.loc[name, "S1"] <= df.loc[name, "S1_hi"]
        assert df.loc[name, "ST_lo"] <= df.loc[name, "ST"] <= df.loc[name, "ST_hi"]
    # ranked by total index: x1, x2, x3
    assert list(df.index) == ["x1", "x2", "x3"]


def test_sobol_intervals_are_reproducible_from_the_seed():
    """The bootstrap is seeded: the same study gives the same intervals; another seed does not."""
    names = ["x1", "x2", "x3"]
    a, b = (sobol_analysis(ishigami_unit, names, n=2**8, seed=3) for _ in range(2))
    assert a.equals(b)
    c = sobol_analysis(ishigami_unit, names, n=2**8, seed=4)
    assert not a[["S1_lo", "ST_hi"]].equals(c[["S1_lo", "ST_hi"]])


def test_sobol_fails_a_wrong_answer():
    # the same check against swapped indices must fail (the test can fail)
    df = sobol_analysis(ishigami_unit, ["x1", "x2", "x3"], n=2**10, seed=2).set_index("parameter")
    assert abs(df.loc["x1", "S1"] - S1_ISHIGAMI["x2"]) > TOLERANCE


def test_sobol_needs_a_power_of_two():
    with pytest.raises(SensitivityError, match="power of 2"):
        sobol_analysis(ishigami_unit, ["x1", "x2", "x3"], n=100)


COEF = np.array([4.0, -2.0, 1.0, 0.0])


def test_morris_recovers_linear_effects():
    # f(u) = sum c_i u_i on the unit cube: every elementary effect of u_i is exactly c_i, so
    # mu* = |c_i|, mu = c_i and sigma = 0 (up to float rounding)
    names = ["a", "b", "c", "d"]
    df = morris_screening(lambda u: u @ COEF, names, trajectories=20, seed=3).set_index("parameter")
    for name, c in zip(names, COEF, strict=True):
        assert df.loc[name, "mu_star"] == pytest.approx(abs(c), abs=1e-9)
        assert df.loc[name, "mu"] == pytest.approx(c, abs=1e-9)
        assert df.loc[name, "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert list(df.index) == ["a", "b", "c", "d"]


def test_morris_sees_an_interaction():
    # f = u0 * u1: mu* of both is positive with sigma > 0 (effects depend on the other input)
    df = morris_screening(lambda u: u[:, 0] * u[:, 1], ["p", "q", "r"], 20, seed=4)
    df = df.set_index("parameter")
    assert df.loc["p", "sigma"] > 0.05 and df.loc["q", "sigma"] > 0.05
    assert df.loc["r", "mu_star"] == pytest.approx(0.0, abs=1e-12)


def test_sensitivity_end_to_end(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from sim.cli import app
    from tests.analysis.test_discovery import _scenarios

    a, b = _scenarios(tmp_path)
    out = tmp_path / "sens"
    args = ["sensitivity", a, b, "--outcome", "attacks_us", "--n", "4", "--trajectories", "2"]
    r = CliRunner().invoke(app, [*args, "--top", "2", "-r", "3", "-o", str(out)])
    assert r.exit_code == 0, r.output
    sobol = pd.read_csv(out / "sobol.csv")
    assert tuple(sobol.columns) == SOBOL_COLUMNS and len(sobol) == 2
    morris = pd.read_csv(out / "morris.csv")
    man = json.loads((out / "manifest.json").read_text())
    assert len(morris) == len(pd.read_csv(out / "ranges.csv"))
    # Morris: trajectories x (k + 1) points; Sobol: n (top + 2)
    assert man["design_points"] == 2 * (len(morris) + 1) + 4 * (2 + 2)
    for ext in ("png", "svg", "pdf"):
        assert (out / f"sensitivity.{ext}").exists()
