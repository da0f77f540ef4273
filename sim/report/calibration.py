"""The calibration's outputs: posterior.parquet, fitted.yaml, the report (Markdown + JSON), plots.

Everything is computed before anything is written; each file is written to a temporary name
in its directory and moved into place (``os.replace``), so an interrupted write leaves the
previous file whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.calibrate import parameters as P

POLICY = (
    "militia.beta_deterrence",
    "us.strike_grievance",
    "us.strike_grievance_allies",
    "iran.revenge",
    "us.credibility_jump",
    "truce.breakdown",
    "scale.factions.truce_compliance",
    "pm.mediation",
)
"""The parameters that decide policy answers (shown first in the report)."""


def _write_bytes(data: bytes, path: Path) -> None:
    from sim.results.files import atomic_file  # a unique temporary name: never through a link

    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def _write_text(text: str, path: Path) -> None:
    _write_bytes(text.encode("utf-8"), path)


def posterior_bytes(posterior: pd.DataFrame) -> bytes:
    """Return the Parquet bytes of the posterior sample (deterministic for equal frames)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(posterior, preserve_index=False).replace_schema_metadata(None)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def write_outputs(cal, target: Path, argv: list[str] | None = None) -> None:
    """Write posterior.parquet, fitted.yaml and report/ (report.md, results.json, plots).

    Parameters
    ----------
    cal : sim.analysis.calibrate.run.Calibration
        The computed calibration.
    target : Path
        Output directory.
    argv : list of str, optional
        Command line recorded in results.json.
    """
    from sim.results.files import atomic_file

    report = target / "report"
    report.mkdir(parents=True, exist_ok=True)
    for name, fn in {
        "tallies.png": plot_tallies,
        "parameters.png": plot_parameters,
        "smc.png": plot_smc,
    }.items():
        with atomic_file(report / name) as tmp:
            fn(cal, tmp)
    _write_text(
        json.dumps(results_json(cal, argv), indent=2, default=_jsonable), report / "results.json"
    )
    _write_text(report_markdown(cal), report / "report.md")
    _write_bytes(posterior_bytes(cal.posterior), target / "posterior.parquet")
    _write_text(cal.fitted_text, target / "fitted.yaml")


def _jsonable(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (dt.date, Path)):
        return str(x)
    return str(x)


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records"))


def results_json(cal, argv: list[str] | None = None) -> dict:
    """Return the report's numbers as a JSON-ready dict."""
    from sim import __version__

    return {
        "escsim_version": __version__,
        "command": argv,
        "settings": cal.settings.__dict__,
        "data_until": cal.data_until,
        "timings_seconds": cal.timings,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
        "fitted_ids": list(cal.problem.fitted["id"]),
        "chains": cal.chains,
        "smc": {
            "stages": cal.result.stages,
            "evaluations": cal.result.evaluations,
            "reached_posterior": cal.result.converged,
            "log_evidence": cal.result.log_evidence,
        },
        "coverage90_fitted": cal.coverage90,
        "coverage90_fitted_model_alone": cal.coverage90_model,
        "discrepancy": _discrepancy_summary(cal),
        "loglik_sd_over_replicate_sets": cal.loglik_sd,
        "participation_ratio": {"value": cal.participation[0], "tallies": cal.participation[1]},
        "identifiability": _records(cal.identifiability),
        "correlated_pairs": [list(p) for p in cal.pairs],
        "fitted_check": _records(cal.fitted_check),
        "heldout_check": _records(cal.heldout_check),
        "fitted_check_model_alone": _records(cal.fitted_check_model),
        "heldout_check_model_alone": _records(cal.heldout_check_model),
        "not_fitted": _records(_not_fitted(cal)[["id", "status"]]),
    }


def _discrepancy_summary(cal) -> dict | None:
    """Return the posterior of ``discrepancy.cv`` and the tallies that need it (None if absent)."""
    if not cal.has_discrepancy:
        return None
    x = cal.posterior[P.DISCREPANCY_PARAMETER.name].to_numpy(float)
    q = np.quantile(x, [0.05, 0.5, 0.95])
    ck, cm = cal.fitted_check, cal.fitted_check_model
    need = ck["id"][(ck["covered"] == 1.0) & (cm["covered"] != 1.0) & cm["covered"].notna()]
    return {
        "parameter": P.DISCREPANCY_PARAMETER.name,
        "prior": P.DISCREPANCY_PARAMETER.prior.describe(),
        "posterior_q05": float(q[0]),
        "posterior_median": float(q[1]),
        "posterior_q95": float(q[2]),
        "coverage90_with": cal.coverage90,
        "coverage90_model_alone": cal.coverage90_model,
        "needed_by": list(need),
    }


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _not_fitted(cal) -> pd.DataFrame:
    t = cal.tallies
    return t[~t["status"].isin(["fit"])].reset_index(drop=True)


def _covered_word(r) -> str:
    if r.bound == "lower":
        return "lower bound: " + ("consistent" if r.consistent == 1.0 else "NOT reached")
    return "yes" if r.covered == 1.0 else "**no**"


def _check_rows(ck: pd.DataFrame, model: pd.DataFrame | None = None) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "id": ck["id"],
            "window": ck["window"],
            "counter": ck["counter_id"],
            "report": [f"{b} {c}" for b, c in zip(ck["bound"], ck["count"], strict=True)],
            "90% interval": [f"[{a}, {b}]" for a, b in zip(ck["q05"], ck["q95"], strict=True)],
            "median": ck["q50"],
            "covered": [_covered_word(r) for r in ck.itertuples()],
            "PIT": [_fmt(x, 2) for x in ck["pit"]],
        }
    )
    if model is not None and model is not ck:
        out["model alone: 90%"] = [
            f"[{a}, {b}]" for a, b in zip(model["q05"], model["q95"], strict=True)
        ]
        out["model alone: covered"] = [_covered_word(r) for r in model.itertuples()]
        out["model alone: PIT"] = [_fmt(x, 2) for x in model["pit"]]
    return out


def _misses(ck: pd.DataFrame) -> list[str]:
    out = []
    for r in ck.itertuples():
        if r.bound != "lower" and r.covered != 1.0:
            side = "above" if r.count > r.q95 else "below"
            out.append(
                f"- {r.id} ({r.counter_id}, {r.window}): reported {r.bound} {r.count}, "
                f"{side} the 90% interval [{r.q05}, {r.q95}] (median {r.q50})."
            )
        if r.bound == "lower" and r.consistent != 1.0:
            out.append(
                f"- {r.id} ({r.counter_id}, {r.window}): lower bound {r.count} above the 95% "
                f"quantile {r.q95} (not counted in the coverage)."
            )
    return out


def report_markdown(cal) -> str:
    """Return the calibration report as Markdown."""
    from sim import __version__

    s = cal.settings
    res = cal.result
    fitted = cal.problem.fitted
    ck = cal.fitted_check
    n_scored = int(ck["covered"].notna().sum())
    n_lower = int((ck["bound"] == "lower").sum())
    ident = cal.identifiability
    params = {p.name: p for p in cal.problem.params}
    lines = [
        "# Calibration report",
        "",
        f"Written by `escsim calibrate` (escsim {__version__}); seed {s.seed}. Scenario: "
        f"`{cal.scenario_path.name}` (its calibration overlay ignored while fitting). Data: "
        "`calibration/data/tallies.csv` (see its README)"
        + (f"; only windows ending on or before **{cal.data_until}**." if cal.data_until else "."),
        "",
        "## Summary",
        "",
        f"- Estimated **{len(params)} parameters** ({cal.problem.n_model} model parameters, "
        f"{len(params) - cal.problem.n_model - int(cal.has_discrepancy)} counters' detection "
        "rates" + (" and the model discrepancy" if cal.has_discrepancy else "") + ") given "
        f"**{len(fitted)} tallies** ({', '.join(fitted['id'])}), of which "
        f"{sum(len(c.split(' < ')) for c in cal.chains)} in {len(cal.chains)} nested chains "
        f"scored jointly ({'; '.join(cal.chains) or 'none'}).",
        f"- Posterior: likelihood-tempered SMC, {s.particles} particles, {s.runs} replicates "
        f"per evaluation, {len(res.stages)} stages, {res.evaluations} evaluations; "
        + (
            f"**smoke-test budget (`--quick`, phi = {res.stages[-1]['phi']:.3g}): the sample is "
            "NOT the posterior; every figure below is illustrative only**."
            if s.smoke
            else "**reached the posterior (phi = 1)**."
            if res.converged
            else f"**stopped at phi = {res.stages[-1]['phi']:.3g} < 1 (budget): the sample is "
            "NOT the posterior; every figure below is illustrative only**."
        ),
        f"- Posterior predictive coverage: **{cal.coverage90:.0%}** "
        f"({int(np.nansum(ck['covered']))} of {n_scored}) of the exact and "
        f"approximate fitted tallies inside their 90% interval (target >= 90%)"
        + (
            f", with the model discrepancy; the model alone: **{cal.coverage90_model:.0%}** "
            f"({int(np.nansum(cal.fitted_check_model['covered']))} of {n_scored})"
            if cal.has_discrepancy
            else " (no model discrepancy estimated: the model alone)"
        )
        + f"; the {n_lower} lower bounds are reported separately and not counted.",
        f"- Effective number of independent tallies (participation ratio of the simulated "
        f"correlation matrix at the posterior median, {cal.participation[1]} tallies): "
        f"**{cal.participation[0]:.1f}**.",
        f"- Wall time {cal.timings['total']:.0f} s on this machine ({os.cpu_count()} cores, "
        "possibly shared): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in cal.timings.items() if k != "total")
        + ".",
    ]
    if s.particles < 100:
        lines.append(
            f"- **Smoke-test budget** ({s.particles} particles): correlations and widths below "
            "are not informative."
        )
    lines += ["", "## Strike-response and policy parameters", ""]
    lines += _param_table(ident[ident["name"].isin(POLICY)], cal)
    lines += ["", "## All estimated parameters", ""]
    lines += _param_table(ident, cal)
    lines += ["", "Reasons for the priors:", ""]
    for name, p in params.items():
        lines.append(
            f"- **{name}**: {p.prior.describe()}. {p.reason}. Informed by: {p.informed_by}."
        )
    lines += [
        "",
        "fitted.yaml holds the posterior median of each model parameter (marginal medians, "
        "not a joint mode) as absolute scenario values; detection rates have no place in the "
        "scenario overlay and are in posterior.parquet and fitted.yaml's `fit` block only.",
        "",
        "## Identifiability",
        "",
        "Width ratio = posterior 90% width / prior 90% width. Verdicts: informed (< 0.5), "
        "weakly informed (0.5-0.8), not pinned down (> 0.8).",
        "",
    ]
    weak = ident[ident["verdict"] == "not pinned down"]["name"].tolist()
    partial = ident[ident["verdict"] == "weakly informed"]["name"].tolist()
    if ident["verdict"].str.startswith("not assessed").all():
        lines.append(f"- Verdicts {ident['verdict'].iloc[0]}: widths are not judged.")
    else:
        lines.append("- Not pinned down by the data: " + (", ".join(weak) or "none") + ".")
        lines.append("- Weakly informed: " + (", ".join(partial) or "none") + ".")
    for a, b, r in cal.pairs[:15]:
        kind = "trade off" if r < 0 else "move together"
        lines.append(f"- {a} and {b} {kind}: rank correlation {r:+.2f} in the posterior.")
    if not cal.pairs:
        lines.append("- No pair of parameters has a posterior rank correlation of 0.4 or more.")
    lines += [
        "",
        "## Convergence",
        "",
        "![smc](smc.png)",
        "",
        "Per SMC stage: the tempering exponent phi (1 = the posterior), the effective sample "
        "size of the reweighted particles before resampling, the Metropolis acceptance rate, "
        "the number of move sweeps, the share of particles that moved, distinct particles "
        "after the moves.",
        "",
        _table(
            pd.DataFrame(
                [
                    {
                        "stage": r["stage"],
                        "phi": _fmt(r["phi"], 4),
                        "ESS": f"{r['ess']:.0f}",
                        "acceptance": f"{r['acceptance']:.2f}",
                        "moves": r["moves"],
                        "moved": f"{r['moved_share']:.0%}",
                        "distinct": r["distinct"],
                        "evaluations": r["evaluations"],
                    }
                    for r in res.stages
                ]
            )
        ),
        "",
        f"Monte Carlo noise of the synthetic likelihood: at {len(cal.loglik_sd)} posterior "
        f"draws, the log likelihood's sd over {cal.settings.noise_sets} independent sets of "
        f"{s.runs} replicates is median **{_fmt(float(np.median(cal.loglik_sd)), 2)}** "
        f"(max {_fmt(float(np.max(cal.loglik_sd)), 2)}). The fit uses one fixed set (common "
        "random numbers); an sd above about 2 makes the likelihood surface rough, so narrow "
        "intervals may partly be noise: rerun with another `--seed` or more `--runs` to check.",
        "",
        "## Observation model",
        "",
        "Each tally is its counter's view of the simulated event log: the counter's rule "
        "(weapons, targets, window, measure), a detection rate per counter (binomial "
        "thinning) for exact and approximate counts, approximate counts as a ±20% interval "
        "(or a Gaussian reporting error inside a running total), lower bounds as censored "
        "observations of the true count. Nested running totals of one counter are scored "
        "jointly as increments over disjoint windows with a Gaussian synthetic likelihood "
        "(Wood 2010; simulated mean and covariance). Details: "
        "`sim/analysis/calibrate/observation.py`.",
        "",
    ]
    lines += _discrepancy_lines(cal)
    lines += [
        "",
        "## Tallies: posterior predictive check",
        "",
        "![tallies](tallies.png)",
        "",
        "Columns `90% interval`, `median`, `covered`, `PIT`: the posterior predictive of the "
        "report"
        + (
            " (model, discrepancy, detection, rounding); `model alone`: the same draws and "
            "replicates without the discrepancy."
            if cal.has_discrepancy
            else " (model, detection, rounding)."
        ),
        "",
        _table(_check_rows(ck, cal.fitted_check_model)),
        "",
        "Tallies the posterior predictive misses:",
        "",
    ]
    lines += _misses(ck) or ["- none."]
    if cal.has_discrepancy:
        lines += ["", "Tallies the model alone misses (without the discrepancy):", ""]
        lines += _misses(cal.fitted_check_model) or ["- none."]
    if cal.data_until is not None:
        hk = cal.heldout_check
        lines += [
            "",
            f"## Held out: tallies ending after {cal.data_until}",
            "",
        ]
        if hk.empty:
            lines.append("No fittable tally inside the horizon ends after the date.")
        else:
            from sim.analysis.calibrate.checks import coverage

            n_h = int(hk["covered"].notna().sum())
            hm = cal.heldout_check_model
            lines += [
                f"Coverage of the {n_h} held-out exact and approximate tallies: "
                f"**{_fmt(coverage(hk), 2)}** ({int(np.nansum(hk['covered']))} of {n_h})"
                + (
                    f"; the model alone: **{_fmt(coverage(hm), 2)}** "
                    f"({int(np.nansum(hm['covered']))} of {n_h})"
                    if cal.has_discrepancy
                    else ""
                )
                + f"; {int((hk['bound'] == 'lower').sum())} lower bounds listed separately.",
                "",
                _table(_check_rows(hk, hm)),
                "",
                "Held-out tallies the posterior predictive misses:",
                "",
            ]
            lines += _misses(hk) or ["- none."]
            if cal.has_discrepancy:
                lines += ["", "Held-out tallies the model alone misses:", ""]
                lines += _misses(hm) or ["- none."]
    nf = _not_fitted(cal)
    nf = nf[nf["status"] != "held_out"]
    lines += [
        "",
        "## Tallies not fitted",
        "",
        "`use=syria_included`: the count includes Syria (or Jordan) and the model has no "
        "Syria; where the source gave the Iraq share, that share is its own `Iraq` row (fitted "
        "if inside the horizon). `outside_horizon`: the window lies outside the scenario "
        "(the 2023-24 Iraq rows are fitted by `escsim episode`, calibration/episode/).",
        "",
    ]
    for status, grp in nf.groupby("status", sort=True):
        lines.append(f"- {status}: {', '.join(grp['id'])}")
    return "\n".join(lines) + "\n"


def _discrepancy_lines(cal) -> list[str]:
    d = _discrepancy_summary(cal)
    if d is None:
        return [
            "No model-discrepancy term was estimated (`Settings.discrepancy` false): the "
            "intervals below are the model's alone."
        ]
    need = ", ".join(d["needed_by"]) or "none"
    return [
        "## Model discrepancy",
        "",
        "The model is structurally imperfect, so the observation model has an explicit "
        "discrepancy term (Kennedy & O'Hagan 2001): the true count of each window is the "
        "model's count times an independent factor with mean 1 and coefficient of variation "
        f"`{d['parameter']}` (gamma in the predictive; in the likelihood, the variance "
        "(1 + cv²) v + cv² m², before detection thinning; per increment inside a chain), "
        f"estimated with the other parameters. Prior: {d['prior']} (mode 0: the model "
        "adequate). Posterior: median "
        f"**{_fmt(d['posterior_median'], 3)}**, 90% interval [{_fmt(d['posterior_q05'], 3)}, "
        f"{_fmt(d['posterior_q95'], 3)}].",
        "",
        f"- Coverage of the exact and approximate fitted tallies WITH the discrepancy (the "
        f"posterior predictive): **{d['coverage90_with']:.0%}**; WITHOUT it (the model "
        f"alone, same draws and replicates): **{d['coverage90_model_alone']:.0%}**.",
        f"- Tallies covered only with the discrepancy (the ones that need it): **{need}**.",
    ]


def _param_table(ident: pd.DataFrame, cal) -> list[str]:

    rows = []
    for r in ident.itertuples():
        scen = _fmt(P.scenario_value(cal.problem.world, r.name)) if r.name in P.TARGETS else "-"
        rows.append(
            {
                "parameter": r.name,
                "scenario": scen,
                "prior 90%": f"[{_fmt(r.prior_q05)}, {_fmt(r.prior_q95)}]",
                "posterior median": _fmt(r.post_q50),
                "posterior 90%": f"[{_fmt(r.post_q05)}, {_fmt(r.post_q95)}]",
                "width ratio": _fmt(r.width_ratio, 2),
                "verdict": r.verdict,
            }
        )
    return [_table(pd.DataFrame(rows))]


# --- plots ---------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight", format="png")
    _plt().close(fig)


def plot_tallies(cal, path: Path) -> None:
    """Plot each fitted and held-out tally: predictive 90% interval, median and the report."""
    plt = _plt()
    ck = pd.concat([cal.fitted_check, cal.heldout_check], ignore_index=True)
    held = set(cal.heldout_check["id"])
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(ck) + 1.2))
    for i, r in enumerate(ck.itertuples()):
        y = len(ck) - 1 - i
        colour = "#fdae6b" if r.id in held else "#9ecae1"
        ax.plot([r.q05, r.q95], [y, y], color=colour, lw=6, solid_capstyle="butt")
        ax.plot([r.q50], [y], "|", color="black", ms=8)
        marker = {"exact": "o", "approx": "s", "lower": ">"}[r.bound]
        ax.plot(r.count, y, marker, color="black", ms=5, zorder=5)
    ax.set_yticks(range(len(ck)))
    ax.set_yticklabels(list(ck["id"])[::-1], fontsize=7)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("reported count (deaths for T18)")
    ax.set_title(
        "Reports (o exact, square approx, > lower bound) against posterior predictive 90%\n"
        "intervals (blue: fitted, orange: held out)",
        fontsize=9,
    )
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_parameters(cal, path: Path) -> None:
    """Plot prior and posterior 90% intervals per parameter on the prior's scale (0-1)."""
    plt = _plt()
    ident = cal.identifiability
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(ident) + 1.2))
    for i, r in enumerate(ident.itertuples()):
        y = len(ident) - 1 - i
        span = r.prior_q95 - r.prior_q05 or 1.0

        def u(x, r=r, span=span):
            return (x - r.prior_q05) / span

        ax.plot([0, 1], [y, y], color="#cccccc", lw=6, solid_capstyle="butt")
        ax.plot([u(r.post_q05), u(r.post_q95)], [y, y], color="#3182bd", lw=3)
        ax.plot([u(r.post_q50)], [y], "o", color="#08519c", ms=4)
    ax.set_yticks(range(len(ident)))
    ax.set_yticklabels(list(ident["name"])[::-1], fontsize=7)
    ax.set_xlabel("position relative to the prior 90% interval (0 = prior 5%, 1 = prior 95%)")
    ax.set_title("Prior (grey) and posterior (blue) 90% intervals", fontsize=9)
    _save(fig, path)


def plot_smc(cal, path: Path) -> None:
    """Plot the SMC trajectory: phi, ESS share and acceptance per stage."""
    plt = _plt()
    st = pd.DataFrame(cal.result.stages)
    fig, ax = plt.subplots(figsize=(6, 3))
    n = cal.settings.particles
    ax.plot(st["stage"], st["phi"], "o-", label="phi (tempering)")
    ax.plot(st["stage"], st["ess"] / n, "s-", label="ESS / particles")
    ax.plot(st["stage"], st["acceptance"], "^-", label="MH acceptance")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("stage")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)
