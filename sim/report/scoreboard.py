"""The forecast scoreboard: summary.md, standing.json, PIT and score figures, the standing line.

Reads a score table (``sim.analysis.forecast.evaluate``) and writes, into one directory:
``scores.csv``, ``paired.csv``, ``summary.md``, ``standing.json`` and ``figures/`` (PNG).
``standing_line`` returns the one line that ``escsim compare`` and the brief print next to a
policy table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    from sim.results.files import write_text_atomic  # a unique temporary name: never a link

    write_text_atomic(text, path)


SCOREBOARD = Path(__file__).resolve().parents[2] / "calibration" / "evaluation"
FORECASTS = ("model", "model_noassim")
BASELINES = ("persistence", "climatology", "nb_ingarch", "hawkes_dated", "ensemble")


def _fmt(x: float, lo: float, hi: float) -> str:
    return f"{x:+.2f} [{lo:+.2f}, {hi:+.2f}]" if np.isfinite(x) else "n/a"


KINDS = {"tally": "Tallies", "monthly": "Monthly counts per counter"}
"""Target kinds of the score table and their section titles."""


def _kind(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Return the rows of one target kind (all rows of a table without ``target_kind``)."""
    if "target_kind" not in frame:
        return frame if kind == "tally" else frame.iloc[:0]
    return frame[frame["target_kind"] == kind]


def _verdicts(paired: pd.DataFrame) -> dict:
    out = {}
    for h, g in paired.groupby("horizon"):
        rows = g.set_index("method")
        verdict = {}
        for b in BASELINES:
            if b not in rows.index:
                continue
            r = rows.loc[b]
            # d = model - baseline; CRPS lower is better
            if not np.isfinite(r["d_crps"]):
                continue
            if r["d_crps_hi"] < 0:
                v = "beats"
            elif r["d_crps_lo"] > 0:
                v = "loses to"
            else:
                v = "ties"
            verdict[b] = {
                "verdict": v,
                "d_crps": r["d_crps"],
                "lo": r["d_crps_lo"],
                "hi": r["d_crps_hi"],
                "d_log_score": r["d_log_score"],
            }
        out[str(int(h))] = {"n": int(rows.loc["model", "n"]), "vs": verdict}
    return out


def standing(paired: pd.DataFrame, quick: bool) -> dict:
    """Return, per horizon, which baselines the model beats on mean CRPS (interval excludes 0).

    ``horizons`` is over the tally targets (exact and approximate reports); ``monthly`` the
    same over the exact and approximate monthly counts per counter.
    """
    return {
        "quick": bool(quick),
        "horizons": _verdicts(_kind(paired, "tally")),
        "monthly": _verdicts(_kind(paired, "monthly")),
    }


BASELINE_NAMES = {
    "persistence": "persistence",
    "climatology": "climatology",
    "nb_ingarch": "NB-INGARCH",
    "hawkes_dated": "Hawkes",
    "ensemble": "ensemble",
}
"""How the brief and the terminal name each baseline (its method id otherwise)."""


def standing_line(path: Path | None = None) -> str:
    """Return one line: the model's forecast standing on the committed scoreboard.

    Parameters
    ----------
    path : Path, optional
        ``standing.json`` (default ``calibration/evaluation/standing.json``).

    Returns
    -------
    str
        E.g. "Forecast skill (calibration/evaluation, CRPS, 1 month): beats persistence; loses
        to ensemble ...", or a line saying no scoreboard exists.
    """
    p = SCOREBOARD / "standing.json" if path is None else Path(path)
    if not p.exists():
        return (
            "Forecast skill: no scoreboard (run `escsim evaluate`); "
            "treat policy answers as untested."
        )
    s = json.loads(p.read_text())

    def parts(horizons: dict) -> list[str]:
        out = []
        for h, d in horizons.items():
            verdicts = {v["verdict"] for v in d["vs"].values()}
            if len(verdicts) == 1:
                vs = f"{verdicts.pop()} all {len(d['vs'])} baselines"
            else:
                vs = ", ".join(
                    f"{v['verdict']} {BASELINE_NAMES.get(b, b)}" for b, v in d["vs"].items()
                )
            out.append(f"{h} mo (n={d['n']}): {vs}")
        return out

    tag = " [QUICK run]" if s.get("quick") else ""
    names = ", ".join(BASELINE_NAMES.values())
    monthly = parts({h: d for h, d in s.get("monthly", {}).items() if d["vs"]})
    return (
        f"Forecast skill (calibration/evaluation, mean CRPS vs {names}; 90% block bootstrap)"
        + tag
        + ": tallies "
        + "; ".join(parts(s["horizons"]))
        + (f"; monthly counts (exact) {'; '.join(monthly)}" if monthly else "")
    )


def _figures(scores: pd.DataFrame, paired: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.results.files import atomic_file

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    methods = [m for m in (*FORECASTS, *BASELINES) if m in set(scores["method"])]
    for kind, title in KINDS.items():
        sk, pk = _kind(scores, kind), _kind(paired, kind)
        suffix = "" if kind == "tally" else f"_{kind}"
        for h, g in sk.groupby("horizon"):
            fig, axes = plt.subplots(
                1, len(methods), figsize=(3.0 * len(methods), 3.2), sharey=True
            )
            for ax, m in zip(np.atleast_1d(axes), methods, strict=True):
                u = g.loc[g["method"] == m, "pit"].dropna()
                ax.hist(u, bins=5, range=(0, 1), color="#0072B2", edgecolor="white")
                ax.axhline(len(u) / 5, color="k", lw=1, ls="--")
                ax.set_title(f"{m}\n(n={len(u)})", fontsize=10)
                ax.set_xlabel("PIT", fontsize=9)
            fig.suptitle(
                f"{title}: randomised PIT, horizon {h} month(s) (flat = calibrated)", fontsize=11
            )
            fig.tight_layout()
            p = out / f"pit{suffix}_h{h}.png"
            with atomic_file(p) as tmp:
                fig.savefig(tmp, dpi=90, format="png")
            plt.close(fig)
            paths.append(p)
        if pk.empty:
            continue
        col = "mean_crps" if kind == "tally" else "mean_log_score_lower"
        label = (
            "mean CRPS (lower is better)"
            if kind == "tally"
            else ("mean log score of lower bounds (higher is better)")
        )
        fig, axes = plt.subplots(1, pk["horizon"].nunique(), figsize=(11, 4), sharey=False)
        for ax, (h, g) in zip(np.atleast_1d(axes), pk.groupby("horizon"), strict=True):
            g = g[g["method"] != "model_timeline"].set_index("method").reindex(methods)
            ax.barh(g.index, g[col], color="#D55E00")
            ax.set_title(f"{title}, horizon {h}:\n{label}", fontsize=10)
            ax.invert_yaxis()
        fig.tight_layout()
        p = out / f"crps{suffix}.png" if kind == "tally" else out / f"logscore{suffix}.png"
        with atomic_file(p) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
        plt.close(fig)
        paths.append(p)
    return paths


def _pit_lines(scores: pd.DataFrame, kind: str) -> list[str]:
    out = [f"## PIT of the model: {KINDS[kind].lower()}", ""]
    unc = _kind(scores, kind)
    unc = unc[(unc["method"] == "model") & (unc["bound"] != "lower")]
    for h, g in unc.groupby("horizon"):
        p = g["pit"].to_numpy(float)
        hist = np.histogram(p, bins=5, range=(0.0, 1.0))[0]
        out.append(
            f"- {h} month(s), n = {len(p)}: mean PIT {p.mean():.2f} (0.5 if calibrated); "
            f"share below 0.2: {np.mean(p < 0.2):.0%}, above 0.8: {np.mean(p > 0.8):.0%}; "
            f"counts per fifth {hist.tolist()} (mass at low PIT = forecasts too high)."
        )
    return [*out, ""]


def _scenario_lines(scores: pd.DataFrame) -> list[str]:
    if "scenario" not in scores or scores["scenario"].nunique() < 2:
        return []
    unc = _kind(scores, "tally")
    unc = unc[unc["bound"] != "lower"]
    t = unc.groupby(["scenario", "horizon", "method"])["crps"].agg(["mean", "size"]).reset_index()
    out = [
        "## Tallies: mean CRPS per scenario",
        "",
        "| scenario | horizon | method | n | mean CRPS |",
        "|---|---|---|---|---|",
    ]
    for _, r in t.iterrows():
        out.append(
            f"| {r['scenario']} | {r['horizon']} | {r['method']} | {r['size']} | {r['mean']:.2f} |"
        )
    return [*out, ""]


def _counter_lines(scores: pd.DataFrame) -> list[str]:
    """Monthly counts: per counter and horizon, mean log score of the model and each baseline."""
    mon = _kind(scores, "monthly")
    if mon.empty:
        return []
    methods = [m for m in ("model", *BASELINES) if m in set(mon["method"])]
    out = [
        "## Monthly counts per counter: mean log score (all bounds; higher is better)",
        "",
        "| counter | horizon | n | bounds | " + " | ".join(methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    for (c, h), g in mon.groupby(["counter_id", "horizon"]):
        ls = g.groupby("method")["log_score"].mean()
        ref = g[g["method"] == "model"]
        bounds = "/".join(sorted(set(ref["bound"])))
        cells = " | ".join(f"{ls.get(m, np.nan):.2f}" for m in methods)
        out.append(f"| {c} | {h} | {len(ref)} | {bounds} | {cells} |")
    targets = mon[mon["method"] == "model"].drop_duplicates("target")
    out += [
        "",
        "Monthly targets forecast (id: count, bound): "
        + "; ".join(f"{r['target']}: {r['count']} {r['bound']}" for _, r in targets.iterrows())
        + ".",
        "",
    ]
    return out


def _paired_table(g: pd.DataFrame) -> list[str]:
    lines = [
        "Differences are model minus method (CRPS, WIS: negative = model better; log score: "
        "positive = model better), 90% moving-block bootstrap intervals (block 3). Lower "
        "bounds: log score of P(X >= N) only, with its own difference.",
        "",
        "| method | n | n lower | mean CRPS | mean log score | mean WIS "
        "| mean log score (lower bounds) "
        "| d CRPS | d log score | d log score (lower bounds) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in g.iterrows():
        lower = (
            _fmt(r["d_log_score_lower"], r["d_log_score_lower_lo"], r["d_log_score_lower_hi"])
            if "d_log_score_lower" in r
            else "n/a"
        )
        lines.append(
            f"| {r['method']} | {r['n']} | {r['n_lower']} | {r['mean_crps']:.2f} | "
            f"{r['mean_log_score']:.2f} | {r['mean_wis']:.2f} | "
            f"{r['mean_log_score_lower']:.2f} | "
            f"{_fmt(r['d_crps'], r['d_crps_lo'], r['d_crps_hi'])} | "
            f"{_fmt(r['d_log_score'], r['d_log_score_lo'], r['d_log_score_hi'])} | {lower} |"
        )
    return lines


def _uncovered_lines(meta: dict) -> list[str]:
    rows = meta.get("uncovered")
    if rows is None:
        return []
    out = [
        "## Targets no origin forecasts",
        "",
        "Origins are month ends inside a scenario (historical.yaml 2019-10-01..2021-12-31, "
        "interlude_2022_2023.yaml 2022-01-01..2023-09-30, episode_2023_2024.yaml "
        "2023-10-01..2024-12-31), from 2020-01-31, and the day before a scenario's start when "
        "it is a month end (2021-12-31, 2023-09-30): every month end from 2020-01-31 to "
        "2024-11-30 is an origin of exactly one scenario. These targets end before the first "
        "origin or have a window that no single scenario holds (it straddles two):",
        "",
    ]
    out += [f"- {r}" for r in rows] or ["- none"]
    return [*out, ""]


def _assimilation_lines(scores: pd.DataFrame, meta: dict) -> list[str]:
    out = ["## Assimilation", ""]
    for m, what in (
        ("model", "particle filter, final weights"),
        ("model_isw", "whole-trajectory importance weights"),
    ):
        g = scores.loc[scores["method"] == m].groupby("origin").first()
        if g.empty:
            continue
        out.append(
            f"- Effective sample size per origin ({what}, of {meta.get('runs')}; over the "
            f"{len(g)} origins with a tally or monthly target): median "
            f"{g['ess'].median():.1f}, min {g['ess'].min():.1f}, max {g['ess'].max():.1f}."
        )
        if m == "model" and "stage_ess_min" in g:
            out.append(
                f"- Particle filter: lowest effective sample size after one report day's "
                f"reweighting (before resampling), median over origins "
                f"{g['stage_ess_min'].median():.1f} (min {g['stage_ess_min'].min():.1f}); "
                f"resamplings per origin median {g['resamples'].median():.0f}; distinct initial "
                f"particles at the origin median {g['roots'].median():.0f}; distinct posterior "
                f"draws left median {g['draws_left'].median():.0f} of {meta.get('draws')}."
            )
    if "parameters" in scores:
        used = scores.loc[scores["method"] == "model"].groupby("parameters")["origin"]
        for lab, o in used:
            out.append(f"- Parameters {lab}: origins {o.min()}..{o.max()} ({o.nunique()}).")
    g = scores.loc[scores["method"] == "model"]
    if "stage_ess_min" in g and not g.empty:
        out += [
            "",
            "Particle filter per origin (`model`): lowest stage ESS (after one report day's "
            "reweighting), resamplings, distinct initial particles (roots) and posterior draws "
            "at the origin, final ESS.",
            "",
            "| origin | scenario | min stage ESS | resamplings | roots | draws left | final ESS |",
            "|---|---|---|---|---|---|---|",
        ]
        for o, r in g.groupby("origin").first().iterrows():
            out.append(
                f"| {o} | {r.get('scenario', '')} | {r['stage_ess_min']:.0f} | "
                f"{r['resamples']:.0f} | {r['roots']:.0f} | {r['draws_left']:.0f} | "
                f"{r['ess']:.0f} |"
            )
    return [*out, "", "![mean CRPS](figures/crps.png)", ""]


def _inforce_figure(scores: pd.DataFrame, out: Path) -> Path | None:
    """Plot mean CRPS per origin of ``model`` (running injects cut) and ``model_inforce``."""
    kept = scores[scores["method"] == "model_inforce"]
    if kept.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    unc = scores[scores["bound"] != "lower"]
    unc = unc[unc["origin"].isin(set(kept["origin"]))]
    t = unc.groupby(["origin", "method"])["crps"].mean().unstack("method")
    t = t[[c for c in ("model", "model_inforce") if c in t]]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(t)), 3.6))
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["model"], 0.4, label="model: in-force inject cut at the origin")
    ax.bar(x + 0.2, t["model_inforce"], 0.4, label="model_inforce: recorded end kept")
    ax.set_xticks(x, t.index, rotation=60, fontsize=8)
    ax.set_ylabel("mean CRPS, h = 1 and 3\n(exact/approx targets)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    from sim.results.files import atomic_file

    p = out / "inforce.png"
    with atomic_file(p) as tmp:  # a unique temporary name, never through a link
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return p


def _inforce_lines(scores: pd.DataFrame) -> list[str]:
    kept = scores[scores["method"] == "model_inforce"]
    if kept.empty:
        return []
    out = [
        "## Injects in force at an origin",
        "",
        "An inject with a duration (truce, threat, regional war, pressure campaign) that "
        "started on or before an origin and, as recorded, lasts past it is CUT at the origin "
        "in `model` (its recorded end is hindsight; the model's state and rules run on). "
        "`model_inforce` keeps the recorded end (conditional on it) and is reported apart. "
        "Mean scores over the exact/approximate targets of each such origin (both horizons, "
        "both target kinds):",
        "",
        "| origin | n | CRPS model | CRPS model_inforce | log score model "
        "| log score model_inforce |",
        "|---|---|---|---|---|---|",
    ]
    unc = scores[(scores["bound"] != "lower") & scores["origin"].isin(set(kept["origin"]))]
    for o, g in unc.groupby("origin"):
        m = g.groupby("method")[["crps", "log_score"]].mean()
        n = int((g["method"] == "model").sum())
        if "model" not in m.index or "model_inforce" not in m.index:
            continue
        out.append(
            f"| {o} | {n} | {m.loc['model', 'crps']:.2f} | {m.loc['model_inforce', 'crps']:.2f} "
            f"| {m.loc['model', 'log_score']:.2f} | {m.loc['model_inforce', 'log_score']:.2f} |"
        )
    return [*out, "", "![in-force injects](figures/inforce.png)", ""]


def _prestart_lines(scores: pd.DataFrame) -> list[str]:
    """Targets of origins before a scenario's start (no baseline: nothing to fit)."""
    if "scenario" not in scores:
        return []
    base = set(scores.loc[scores["method"].isin(BASELINES), "origin"])
    pre = scores[(scores["method"] == "model") & ~scores["origin"].isin(base)]
    if pre.empty:
        return []
    out = [
        "## Origins before a scenario's start",
        "",
        "Nothing is assimilated and no injects are known; no baseline is fitted (no data in "
        "the scenario's frame), so these targets are absent from the paired tables. "
        "`model_timeline` (if present) is the same forecast given the recorded injects.",
        "",
        "| origin | horizon | target | count | bound | model mean | model log score "
        "| timeline mean | timeline log score |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    tl = scores[scores["method"] == "model_timeline"].set_index(["origin", "target", "horizon"])
    for _, r in pre.sort_values(["origin", "horizon", "target"]).iterrows():
        k = (r["origin"], r["target"], r["horizon"])
        tm, ts = (tl.loc[k, "mean"], tl.loc[k, "log_score"]) if k in tl.index else (np.nan,) * 2
        out.append(
            f"| {r['origin']} | {r['horizon']} | {r['target']} | {r['count']} | {r['bound']} | "
            f"{r['mean']:.1f} | {r['log_score']:.2f} | {tm:.1f} | {ts:.2f} |"
        )
    return [*out, ""]


def write_scoreboard(
    scores: pd.DataFrame, paired: pd.DataFrame, out: Path, meta: dict
) -> list[Path]:
    """Write scores.csv, paired.csv, standing.json, summary.md and figures into ``out``.

    Parameters
    ----------
    scores : pandas.DataFrame
        Score rows (``evaluate.evaluate``).
    paired : pandas.DataFrame
        Paired summary (``evaluate.paired``).
    out : Path
        Directory.
    meta : dict
        Command, wall time, settings, parameters label, quick flag.

    Returns
    -------
    list of Path
        Files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    files = _figures(scores, paired, out / "figures")
    extra = _inforce_figure(scores, out / "figures")
    files += [extra] if extra else []
    atomic_write_text(out / "scores.csv", scores.to_csv(index=False))
    atomic_write_text(out / "paired.csv", paired.to_csv(index=False))
    st = standing(paired, meta.get("quick", False))
    st.update({k: meta[k] for k in ("command", "wall_seconds") if k in meta})
    atomic_write_text(out / "standing.json", json.dumps(st, indent=2, default=float))
    lines = [
        "# Forecast scoreboard"
        + (" (QUICK run: small budget, 3 origins)" if meta.get("quick") else ""),
        "",
        f"Reproduce: `{meta.get('command', 'escsim evaluate')}` "
        f"(wall time {meta.get('wall_seconds', float('nan')):.0f} s on this machine).",
        "",
        f"- {meta.get('parameters', '')}",
        f"- Scenarios: {meta.get('scenarios', '')}; origins: {meta.get('origins', '')} (those "
        "with a target are scored); horizons 1 and 3 months (target windows ending in the "
        "calendar month h months after the origin). Targets no origin reaches are listed at "
        "the end.",
        "- Known at an origin: a tally whose window ended AND whose report was published "
        "(tallies.csv `source_date`; a month-only date read as the month's last day) on or "
        "before the origin. Only such tallies are assimilated and fit the baselines; a "
        "posterior is used from the day all its fitted tallies were published.",
        "- Two kinds of target, reported apart (column `target_kind` of scores.csv and "
        "paired.csv): `tally`, the fitted tallies of calibration/data/tallies.csv (use = fit, "
        "inside a scenario's horizon); `monthly`, calendar-month counts per counter "
        "(`counter_id`): calibration/data/monthly.csv rows on model targets, tallies whose "
        "window is one calendar month or whose running-total increment covers one, and "
        "`events_documented`, the dated attacks on US targets of calibration/data/events.csv "
        "counted per month. That list misses attacks, so each of its counts is a LOWER bound "
        "('at least N documented attacks'), scored as a censored report; months without a "
        "documented attack are no target.",
        "- Lower bounds are scored apart: log score of P(X >= N) only (`mean_log_score_lower`, "
        "`d_log_score_lower`); CRPS, WIS, PIT and their differences use exact and approximate "
        "reports only.",
        "- Observation model: the calibration's (calibrate/observation.py), per particle: "
        "its posterior draw's detection rate of the counter and discrepancy cv "
        "(assimilation.log_weights, forecast_pmf).",
        f"- `model`: no injects after the origin, an inject in force at the origin cut there "
        f"(see below); {meta.get('runs')} particles over "
        f"{meta.get('draws')} draws of the origin's posterior, particle filter over replicate "
        "states through every report known at the origin (resampling when the effective "
        "sample size < 0.5 x particles, children with fresh random keys); `model_noassim`: the "
        "same particles, not filtered; `model_isw`: the unfiltered trajectories weighted once "
        "by all reports (whole-trajectory importance weights, the previous scheme); "
        "`model_timeline` (if present): future injects kept, shown apart, not a forecast.",
        "",
        standing_line(out / "standing.json"),
        "",
    ]
    for kind, title in KINDS.items():
        suffix = "" if kind == "tally" else f"_{kind}"
        for h, g in _kind(paired, kind).groupby("horizon"):
            lines += [f"## {title}, horizon {h} month(s)", "", *_paired_table(g), ""]
            lines += [f"![PIT {kind} h{h}](figures/pit{suffix}_h{h}.png)", ""]
    lines += _pit_lines(scores, "tally") + _pit_lines(scores, "monthly")
    lines += _counter_lines(scores)
    if not _kind(paired, "monthly").empty:
        lines += ["![monthly log score](figures/logscore_monthly.png)", ""]
    lines += _scenario_lines(scores) + _assimilation_lines(scores, meta)
    lines += _inforce_lines(scores) + _prestart_lines(scores)
    lines += _uncovered_lines(meta)
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    return [
        *files,
        out / "scores.csv",
        out / "paired.csv",
        out / "standing.json",
        out / "summary.md",
    ]
