"""The calibration's outputs: fitted.yaml, the report (Markdown + JSON) and its plots.

Everything is computed before anything is written; each file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd


def write_outputs(cal, target: Path, argv: list[str] | None = None) -> None:
    """Write fitted.yaml, report/report.md, report/results.json and the plots (atomically).

    Parameters
    ----------
    cal : sim.calibrate.Calibration
        The computed calibration.
    target : Path
        Output directory.
    argv : list of str, optional
        Command line recorded in results.json.
    """
    from sim.results.files import write_text_atomic

    report = target / "report"
    report.mkdir(parents=True, exist_ok=True)
    plots = {
        "tallies.png": plot_tallies,
        "monthly.png": plot_monthly,
        "parameters.png": plot_parameters,
    }
    if cal.holdout is not None:
        plots["holdout.png"] = plot_holdout
    for name, fn in plots.items():
        tmp = report / (name + ".tmp.png")
        fn(cal, tmp)
        os.replace(tmp, report / name)
    write_text_atomic(
        json.dumps(results_json(cal, argv), indent=2, default=_jsonable), report / "results.json"
    )
    write_text_atomic(report_markdown(cal), report / "report.md")
    write_text_atomic(cal.fitted_text, target / "fitted.yaml")


def _jsonable(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (dt.date, Path)):
        return str(x)
    return str(x)


def results_json(cal, argv: list[str] | None = None) -> dict:
    """Return the machine-readable results of a calibration (everything the report shows)."""
    from sim.results.manifest import versions

    d = {
        "settings": cal.settings.__dict__,
        "timings_seconds": {k: round(v, 2) for k, v in cal.timings.items()},
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
        "versions": versions(),
        "command": argv,
        "fit": {
            "theta": dict(
                zip([p.name for p in cal.problem.params], cal.fit.theta.tolist(), strict=True)
            ),
            "objective": cal.fit.objective,
            "loglik": cal.fit.loglik,
            "logprior": cal.fit.logprior,
            "evaluations": cal.fit.n_evals,
            "history": cal.fit.history,
        },
        "coverage90": cal.coverage90,
        "check": cal.check.to_dict(orient="records"),
        "patterns": cal.patterns,
        "identifiability": cal.identifiability,
        "abc": {
            "accepted": int(cal.abc.accepted.sum()),
            "samples": len(cal.abc.theta),
            "threshold_loglik": cal.abc.threshold,
        },
    }
    if cal.holdout is not None:
        h = cal.holdout
        d["holdout"] = {
            "date": str(h.date),
            "train": h.train_ids,
            "test": h.test_ids,
            "starting_after": h.after_ids,
            "summary": h.summary.to_dict("records"),
            "table": h.table.to_dict("records"),
            "baselines": h.baseline_params,
            "model_theta": h.fit.theta.tolist(),
            "factors": h.factors,
        }
    return d


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _misses(cal) -> list[str]:
    out = []
    for r in cal.check.itertuples():
        if r.inside90:
            continue
        direction = (
            "observed ABOVE the simulated 95th percentile"
            if r.count > r.q95
            else "observed BELOW the simulated 5th percentile"
        )
        if r.bound == "approx":
            direction = (
                "reported interval +-20% lies above the simulated 90% interval"
                if r.count > r.q95
                else "reported interval +-20% lies below the simulated 90% interval"
            )
        out.append(
            f"- {r.id} ({r.bound} {r.count}; simulated median {r.q50:g}, 90% "
            f"[{r.q05:g}, {r.q95:g}]): {direction}."
        )
    return out


def report_markdown(cal) -> str:
    """Return the calibration report as Markdown."""
    from sim import __version__

    s = cal.settings
    p = cal.problem.params
    th = cal.fit.theta
    q = cal.abc.intervals()
    q0 = cal.abc.prior_intervals((0.05, 0.95))
    from sim.analysis.calibrate.fit import default_theta

    d0 = default_theta(cal.problem.world, p)
    t = cal.timings
    lines = [
        "# Calibration report",
        "",
        f"Written by `escsim calibrate` (escsim {__version__}) on {dt.date.today()}; seed "
        f"{s.seed}. Scenario: `{cal.scenario_path.name}` (its previous calibration overlay "
        "ignored while fitting). Data: `calibration/data/tallies.csv` (see its README).",
        "",
        "## Summary",
        "",
        f"- Fitted {len(p)} parameters to {len(cal.fitted_ids)} tallies "
        f"({', '.join(cal.fitted_ids)})"
        + "".join(
            f"; {r.id} not fitted ({r.use.replace('_', ' ')}: window {r.start.date()} to "
            f"{r.end.date()})"
            for r in cal.tallies.itertuples()
            if r.id not in cal.fitted_ids
        )
        + ".",
        f"- Objective (minus composite log likelihood minus log prior): "
        f"**{cal.fit.objective:.3f}** (log likelihood {cal.fit.loglik:.3f}, log prior "
        f"{cal.fit.logprior:.3f}); {cal.fit.n_evals} candidates x {s.runs} replicates.",
        f"- Predictive check of the historical scenario loaded with the written fitted.yaml "
        f"({s.check_runs} replicates, disjoint from the fitting replicates): "
        f"**{cal.coverage90:.0%}** of the {len(cal.check)} fitted tallies are consistent with "
        f"the 90% predictive interval (target >= 90%).",
        f"- Wall time **{t['total']:.0f} s** on this machine ({os.cpu_count()} cores; other "
        f"jobs may have shared them: load average at the end "
        f"{_fmt(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else '-'}): fit "
        f"{t['fit']:.0f} s, ABC {t['abc']:.0f} s, check {t['check']:.0f} s"
        + (f", holdout {t['holdout']:.0f} s." if "holdout" in t else "."),
        "",
        "## Calibrated parameters",
        "",
        "Everything else keeps its scenario value. Multipliers apply to every faction's (or "
        "weapon's) scenario value; fitted.yaml holds the resulting absolute values. Intervals: "
        f"ABC rejection ({len(cal.abc.theta)} Sobol points from the prior, {s.abc_runs} "
        f"replicates each, best {cal.abc.accepted.sum()} accepted). Prior: normal on the "
        "(log) scale centred on the scenario value, sd a quarter of the box, truncated to the "
        "bounds.",
        "",
    ]
    rows = []
    for k, par in enumerate(p):
        rows.append(
            {
                "parameter": par.name,
                "scenario": _fmt(d0[k]),
                "bounds": f"[{par.lo:g}, {par.hi:g}]",
                "fitted (DE)": _fmt(th[k]),
                "ABC median": _fmt(q[1, k]),
                "ABC 90%": f"[{_fmt(q[0, k])}, {_fmt(q[2, k])}]",
                "prior 90%": f"[{_fmt(q0[0, k])}, {_fmt(q0[1, k])}]",
                "informed by": par.identified_by,
            }
        )
    lines += [_table(pd.DataFrame(rows)), "", "Reasons:", ""]
    lines += [f"- **{par.name}**: {par.reason}." for par in p]
    lines += ["", "### Identifiability", ""]
    lines += [f"- {n}" for n in cal.identifiability] or ["- no strong trade-offs found"]
    lines += [
        "",
        "The composite likelihood treats overlapping tallies (e.g. T06 inside T07 inside T17) "
        "as independent, so it counts shared attacks more than once; the ABC intervals use it "
        "as a distance and are therefore a likelihood region, not a strict posterior. Monte "
        "Carlo noise: each candidate's likelihood uses the same replicates (common random "
        "numbers), which smooths comparisons but leaves a bias shared by all candidates.",
        "",
        "## Tallies: observed against simulated",
        "",
        "![tallies](tallies.png)",
        "",
    ]
    ck = cal.check.copy()
    tl = cal.tallies.set_index("id")
    ck["rule"] = [
        f"{'+'.join(tl.loc[i, 'weapons'])} on {'/'.join(tl.loc[i, 'targets'])}"
        + (" (deaths)" if tl.loc[i, "measure"] == "killed" else "")
        for i in ck["id"]
    ]
    ck["window"] = [f"{tl.loc[i, 'start'].date()} to {tl.loc[i, 'end'].date()}" for i in ck["id"]]
    show = pd.DataFrame(
        {
            "id": ck["id"],
            "window": ck["window"],
            "counts": ck["rule"],
            "observed": [f"{b} {c}" for b, c in zip(ck["bound"], ck["count"], strict=True)],
            "sim 50%": [f"[{a:g}, {b:g}]" for a, b in zip(ck["q25"], ck["q75"], strict=True)],
            "sim 90%": [f"[{a:g}, {b:g}]" for a, b in zip(ck["q05"], ck["q95"], strict=True)],
            "median": [f"{x:g}" for x in ck["q50"]],
            "inside 90%": ["yes" if x else "**no**" for x in ck["inside90"]],
            "log p": [f"{x:.2f}" for x in ck["logprob"]],
        }
    )
    lines += [_table(show), ""]
    lines += [
        '"Inside" means: exact count within the interval; approximate count\'s +-20% '
        "interval overlapping it; lower bound not above its upper end.",
        "",
    ]
    misses = _misses(cal)
    if misses:
        lines += (
            [
                "Tallies outside the 90% interval (where the model misses, and in which "
                "direction):",
                "",
            ]
            + misses
            + [""]
        )
    lines += _pattern_section(cal)
    if cal.holdout is not None:
        lines += _holdout_section(cal)
    lines += [
        "## Method",
        "",
        "- **Tally function**: `sim.analysis.observed.tally` (and its vectorised twin "
        "`tally_matrix`, tested to agree) counts attack events of the tally's weapons on its "
        "targets in its window, or sums their deaths (T18). Counting rules are never mixed: "
        "rockets-only tallies count rockets, AFP's later rockets-and-IEDs rule (T17) counts "
        "both, Talos's convoy tallies count IEDs on convoys; T16 (Baghdad embassy only) maps to "
        "the model's `us_embassy` target.",
        "- **Likelihood**: per tally, the simulated counts' mean and variance define a negative "
        "binomial (Poisson if not overdispersed): exact counts score P(X = c), approximate "
        "counts P(round(0.8c) <= X <= round(1.2c)), lower bounds P(X >= c). Log probabilities "
        "are summed over tallies (composite likelihood) and floored at -700.",
        f"- **Fit**: scipy `differential_evolution` (best1bin, popsize {s.popsize} per "
        f"parameter, {s.maxiter} generations, tol 0, polish off, updating deferred, seeded) "
        "on log scales for multipliers and the excitation time; every candidate is simulated "
        f"with the same {s.runs} replicates of the same seed (common random numbers), on the "
        "compiled arrays of the scenario (no YAML round trip), up to the last tally's end.",
        "- **Uncertainty**: ABC rejection on a scrambled Sobol sequence "
        "(`scipy.stats.qmc.Sobol`) mapped through the prior; accepted = the best fraction by "
        "composite log likelihood.",
        f"- **Predictive check**: the scenario file with the written fitted.yaml as its "
        f"calibration overlay, loaded by `sim.scenario`, run for {s.check_runs} replicates "
        f"numbered from 1,000,000 (the fit used 0..{s.runs - 1}).",
        "- **Reproducibility**: the same seed gives a byte-identical fitted.yaml (the kernel's "
        "draws depend only on seed and replicate; the optimiser and the Sobol points are "
        "seeded). fitted.yaml therefore records no date or wall time; those are in this report "
        "and in results.json.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _pattern_section(cal) -> list[str]:
    pt = cal.patterns
    tr, st, su, fr = pt["truce"], pt["strikes"], pt["summer"], pt["fronts"]
    lines = [
        "## Pattern checks",
        "",
        "![monthly](monthly.png)",
        "",
        "**Embassy rockets during the October 2020 truce** (T16 window, 11 Oct - 16 Nov "
        "2020, against the 37 days before):",
        "",
        f"- simulated mean rocket attacks on the embassy: {tr['sim_embassy_before_mean']:.2f}"
        f" before, {tr['sim_embassy_during_mean']:.2f} during (drop "
        f"{_fmt(tr['sim_drop_pct'], 3)}%); P(no embassy rocket during the truce) = "
        f"{tr['sim_p_zero_during']:.2f}.",
        f"- all attacks on US targets: {tr['sim_us_before_mean']:.2f} before, "
        f"{tr['sim_us_during_mean']:.2f} during (convoy IEDs continue through the truce "
        "as the source says).",
        f"- observed: 0 during (T16); {tr['obs_embassy_before_documented']} embassy "
        "rockets are documented in events.csv in the 37 days before (the list holds notable "
        "events only, so 'before' has no observed tally).",
        "",
        "**Attacks resuming after the US strikes** (days to the first attack on US targets "
        "after the strike day):",
        "",
    ]
    for d, v in st.items():
        lines.append(
            f"- {d}: simulated median {_fmt(v['sim_median'])} days, 90% "
            f"[{_fmt(v['sim_q05'])}, {_fmt(v['sim_q95'])}]; resumed within 3 weeks in "
            f"{v['sim_share_within_21d']:.0%} of replicates. First documented attack in "
            f"events.csv: {_fmt(v['obs_documented'])} days later (a lower limit on "
            "how fast attacks resumed: events.csv lists notable attacks only)."
        )
    months = su["sim_mean_by_month"]
    peak_sim = max(months, key=months.get)
    lines += [
        "",
        "**The summer-2020 peak**:",
        "",
        "- simulated mean attacks on US targets per month of 2020: "
        + ", ".join(f"{k[5:]}: {v:.1f}" for k, v in months.items())
        + f" (mean peaks in "
        f"{peak_sim}).",
        f"- share of replicates whose busiest month of 2020 is August or September: "
        f"{su['sim_share_peak_aug_sep']:.0%} (by month: "
        + ", ".join(f"{k}: {v:.0%}" for k, v in sorted(su["sim_peak_month_share"].items()))
        + ").",
        "- observed rates (per 30 days) in the summer windows: "
        + "; ".join(
            f"{k} {v['per_30_days']:.1f} ({v['bound']} {v['count']} in {v['days']} d)"
            for k, v in su["obs_windows"].items()
        )
        + ". Highest observed rate: "
        + max(su["obs_windows"].items(), key=lambda kv: kv[1]["per_30_days"])[0]
        + " (tallies follow different counting rules, so rates compare only within a rule).",
        "",
        "**Share of attacks claimed by front groups** (all attacks, Oct 2019 - Dec 2021; "
        "metric `front_claim_share`):",
        "",
        f"- simulated median {fr['sim_median']:.2f}, 90% [{fr['sim_q05']:.2f}, "
        f"{fr['sim_q95']:.2f}].",
        f"- documented: {fr['obs_documented_claimed']} of {fr['obs_documented_attacks']} "
        "attacks in events.csv carry a front's claim (no tally counts claims, so this is "
        "not a calibration target).",
        "",
    ]
    return lines


def _holdout_section(cal) -> list[str]:
    h = cal.holdout
    names = [p.name for p in cal.problem.params]
    lines = [
        "## Out-of-sample validation",
        "",
        f"Holdout date **{h.date}**. Training: tallies whose windows end before it "
        f"({', '.join(h.train_ids)}). Held out: the others ({', '.join(h.test_ids)}); "
        f"of these, {', '.join(h.after_ids) or 'none'} start on or after the date (pure "
        "forecasts); the rest overlap the training period (tallies are running counts). "
        "Tallies are sparse in 2021: only "
        + (", ".join(r.id for r in cal.tallies.itertuples() if r.end.year >= 2021) or "none")
        + " reaches into 2021, so a later holdout date leaves almost nothing to score.",
        "",
        "- **Model**: refitted on the training tallies only (same settings), then simulated "
        "over the whole window of every held-out tally. Refit: "
        + ", ".join(f"{n} = {_fmt(v)}" for n, v in zip(names, h.fit.theta, strict=True))
        + ". Parameters no training tally informs are held only by the weak prior "
        "(centred on the scenario value).",
        "- **Baselines** (`sim.baselines`) model the main series, rocket attacks on US "
        "targets; other tally classes are the main series times a class factor taken "
        "from the refitted model's simulation of the training period only ("
        + ", ".join(f"{k} {v:.2f}" for k, v in h.factors.items())
        + "). For a window that "
        "starts before the date, baselines take its earlier part from a reconstruction of "
        "the training tallies (piecewise-constant rates) and forecast the rest; the model "
        "simulates it all (it does not condition on observed counts).",
        "- **Hawkes**: exponential kernel, maximum likelihood (scipy L-BFGS-B) on event "
        "times reconstructed from the training tallies (each segment's count spread "
        "evenly), because no complete dated attack series exists (events.csv holds only "
        "notable attacks); forecasts simulated forward from the date given that history. "
        "Even spacing hides clustering inside segments, which biases the branching ratio "
        f"towards 0 (fitted: {_fmt(h.baseline_params.get('hawkes', {}).get('branching_ratio'))}).",
        "- **NB regression**: indicators of the 30 days after a documented US strike and "
        "of documented truces (known in advance, as the scenario's injects are); a ridge "
        "(sd 1) keeps a coefficient at 0 when no training day has its indicator.",
        "",
        "Scores: coverage = share of held-out tallies consistent with the 90% "
        "predictive interval; log score = mean log probability of the report (higher is "
        "better); CRPS = mean continuous ranked probability score of exact and approximate "
        "counts (lower is better; lower bounds have no CRPS). Every method's predictive "
        "distribution is its mean and variance read as a negative binomial.",
        "",
        "![holdout](holdout.png)",
        "",
    ]
    sm = h.summary.copy()
    sm["coverage90"] = [f"{x:.0%}" for x in sm["coverage90"]]
    sm["mean_logscore"] = [f"{x:.2f}" for x in sm["mean_logscore"]]
    sm["mean_crps"] = [_fmt(x) for x in sm["mean_crps"]]
    lines += [_table(sm), ""]
    for label in ("starting after the date", "all held out"):
        part = h.summary[h.summary["set"] == label]
        if len(part):
            best = part.loc[part["mean_logscore"].idxmax(), "method"]
            lines.append(f"- Best mean log score ({label}): **{best}**.")
    lines += ["", "Per tally (predictive mean and 90% interval):", ""]
    tab = h.table.copy()
    tab["pred"] = [
        f"{m:.1f} [{a}, {b}]" for m, a, b in zip(tab["mean"], tab["lo90"], tab["hi90"], strict=True)
    ]
    wide = tab.pivot(index="id", columns="method", values="pred")
    wide = wide[
        [
            c
            for c in ["model", "persistence", "climatology", "nb_regression", "hawkes"]
            if c in wide.columns
        ]
    ]
    obs = tab.drop_duplicates("id").set_index("id")
    wide.insert(0, "observed", [f"{obs.loc[i, 'bound']} {obs.loc[i, 'count']}" for i in wide.index])
    lines += [
        _table(wide.reset_index()),
        "",
        "Baseline parameters: "
        + "; ".join(
            f"{k}: " + ", ".join(f"{a} {_fmt(b)}" for a, b in v.items())
            for k, v in h.baseline_params.items()
        )
        + ".",
        "",
    ]
    return lines


# --- plots ---------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=120, bbox_inches="tight", format="png")
    _plt().close(fig)


def _obs_marker(ax, y: float, count: int, bound: str) -> None:
    if bound == "exact":
        ax.plot(count, y, "o", color="black", zorder=5)
    elif bound == "approx":
        ax.errorbar(
            count,
            y,
            xerr=[[count * 0.2], [count * 0.2]],
            fmt="s",
            color="black",
            capsize=3,
            zorder=5,
        )
    else:
        ax.plot(count, y, ">", color="black", zorder=5)
        ax.annotate(
            "",
            xy=(count * 1.15 + 1, y),
            xytext=(count, y),
            arrowprops={"arrowstyle": "->", "color": "black"},
        )


def plot_tallies(cal, path: Path) -> None:
    """Plot each fitted tally: simulated 50%/90% intervals and the observed report."""
    plt = _plt()
    ck = cal.check
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(ck) + 1.2))
    for i, r in enumerate(ck.itertuples()):
        y = len(ck) - 1 - i
        ax.plot([r.q05, r.q95], [y, y], color="#9ecae1", lw=8, solid_capstyle="butt")
        ax.plot([r.q25, r.q75], [y, y], color="#3182bd", lw=8, solid_capstyle="butt")
        ax.plot([r.q50], [y], "|", color="white", ms=10, mew=2)
        _obs_marker(ax, y, r.count, r.bound)
    ax.set_yticks(range(len(ck)))
    ax.set_yticklabels(list(ck["id"])[::-1])
    ax.set_xlabel("count (deaths for T18)")
    ax.set_title(
        "Observed tallies (black: o exact, square approx +-20%, > lower bound)\n"
        "against the fitted scenario's 50% and 90% predictive intervals",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def plot_monthly(cal, path: Path) -> None:
    """Plot simulated monthly attacks on US targets with documented strikes and truces."""
    from sim.analysis.observed import load_observed_events

    plt = _plt()
    labels, m = cal.monthly_labels, cal.monthly
    x = pd.to_datetime([lab + "-15" for lab in labels])
    q = np.quantile(m, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.fill_between(x, q[0], q[4], color="#c6dbef", label="simulated 90%")
    ax.fill_between(x, q[1], q[3], color="#6baed6", label="simulated 50%")
    ax.plot(x, q[2], color="#08519c", label="simulated median")
    ev = load_observed_events()
    for d in ev.loc[ev["kind"] == "us_strike", "date"]:
        ax.axvline(d, color="red", lw=0.8, alpha=0.7)
    starts = ev.loc[ev["kind"] == "truce_start", "date"].tolist()
    ends = ev.loc[ev["kind"] == "truce_end", "date"].tolist()
    for s in starts:
        e = min([e for e in ends if e > s], default=s + pd.Timedelta(days=30))
        ax.axvspan(s, e, color="green", alpha=0.15)
    tl = cal.tallies.set_index("id")
    for k in ("T10", "T11", "T12", "T08"):
        if k in tl.index:
            r = tl.loc[k]
            rate = 30.4 * r["count"] / ((r["end"] - r["start"]).days + 1)
            ax.plot([r["start"], r["end"]], [rate, rate], color="black", lw=1.5)
            ax.annotate(k, (r["end"], rate), fontsize=7)
    ax.set_ylabel("attacks on US targets per month")
    ax.set_title(
        "Fitted scenario: attacks on US targets per month (red: US strikes; green: "
        "truces;\nblack: observed tallies as monthly rates, by their own counting rules)",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, path)


def plot_parameters(cal, path: Path) -> None:
    """Plot the prior sample and the ABC-accepted points of each parameter, with the DE fit."""
    plt = _plt()
    p = cal.problem.params
    n = len(p)
    cols = 4
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows))
    axes = np.atleast_1d(axes).ravel()
    for k, par in enumerate(p):
        ax = axes[k]
        z_all = par.to_z(cal.abc.theta[:, k])
        z_acc = z_all[cal.abc.accepted]
        bins = np.linspace(*par.z_bounds, 21)
        ax.hist(z_all, bins=bins, color="#d9d9d9", density=True, label="prior sample")
        ax.hist(z_acc, bins=bins, color="#3182bd", alpha=0.8, density=True, label="accepted")
        ax.axvline(par.to_z(cal.fit.theta[k]), color="red", label="DE fit")
        ax.set_title(par.name + (" (log)" if par.log else ""), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.axis("off")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    _save(fig, path)


def plot_holdout(cal, path: Path) -> None:
    """Plot each held-out tally: every method's 90% interval and the report."""
    plt = _plt()
    h = cal.holdout
    methods = list(dict.fromkeys(h.table["method"]))
    ids = list(h.test_ids)
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(ids) + 1.5))
    colors = dict(
        zip(methods, ["#08519c", "#e6550d", "#31a354", "#756bb1", "#636363"], strict=False)
    )
    for i, tid in enumerate(ids):
        y0 = len(ids) - 1 - i
        for j, mth in enumerate(methods):
            r = h.table[(h.table["method"] == mth) & (h.table["id"] == tid)].iloc[0]
            y = y0 + 0.35 - 0.7 * j / max(len(methods) - 1, 1)
            ax.plot(
                [r["lo90"], r["hi90"]],
                [y, y],
                color=colors[mth],
                lw=3,
                label=mth if i == 0 else None,
            )
        r = h.table[h.table["id"] == tid].iloc[0]
        _obs_marker(ax, y0, int(r["count"]), r["bound"])
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels(ids[::-1])
    ax.set_xlabel("count")
    ax.set_title(f"Held-out tallies (after {h.date}): 90% predictive intervals", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
