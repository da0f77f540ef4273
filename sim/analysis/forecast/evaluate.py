"""Rolling-origin evaluation: model and baselines forecast tallies and monthly counts.

At each month-end origin from 2020-01 to the end of the scenario's horizon minus the longest
lead time, every method forecasts two kinds of target (``target_kind``), scored and reported
apart:

* ``tally``: the fitted tallies (``observation.select`` status ``fit``) whose window ends in
  calendar month ``origin + h`` (h = 1 and 3: the month h steps ahead);
* ``monthly``: the calendar-month counts per counter of ``sim.analysis.forecast.monthly``
  (monthly.csv, one-month tallies and chain increments, and the documented attacks of
  events.csv as LOWER bounds) for calendar month ``origin + h``.

Every method uses only what is known at the origin: a tally is known when its window ended
AND its report was published (``source_date``) on or before the origin
(``sim.analysis.forecast.availability``); only known tallies are assimilated and used to fit
the baselines. Monthly counts are targets only (never assimilated or fitted).

* ``model``: the scenario with injects after the origin dropped, R particles spread over
  the draws of the origin's posterior (below), run through a particle filter over replicate
  states that weights and resamples them at each report known at the origin
  (``assimilation.particle_filter``), then run to the end of the forecast window;
* ``model_noassim``: the same particles, not filtered (trajectories identical to the
  filter's until its first resampling): the effect of assimilation;
* ``model_isw``: the unfiltered trajectories weighted by all reports at the origin at once
  (whole-trajectory importance weights, the previous scheme), for comparison;
* ``model_inforce`` (only at origins where an inject with a duration is in force,
  ``assimilation.running_injects``): as ``model`` but that inject keeps its recorded end.
  ``model`` CUTS it at the origin (its recorded end is hindsight; the model's state and
  rules run on, ``assimilation.without_future_injects``); ``model_inforce`` is conditional on
  the recorded end and reported apart;
* ``model_timeline`` (``Settings.timeline``): future injects kept ("conditional on the
  timeline"), filtered: labelled and reported apart, never compared as a forecast;
* the baselines of ``sim.analysis.forecast.baselines``, fitted on the reports known at the
  origin (and the dated attacks before it for the Hawkes process).

Parameters known at the origin: each origin uses the latest posterior all of whose fitted
tallies were published on or before it, among the refits
``calibration/evaluation/posteriors/<date>/`` (``escsim calibrate --data-until <date>``,
commands in ``posteriors/refit.sh``; ``--data-until`` selects by window end, so a refit can
hold a report published weeks later: the 2020-09-30 refit fitted T14, published 2020-10-22)
and the full calibration ``calibration/posterior.parquet`` (last report published
2021-07-07). Class factors turning the baselines' main series (rockets on US targets) into a
target's counting rule are the model's simulated ratios over days before the origin only.

Origins: month ends from 2020-01, and the day before a scenario's start when it is a month end
(2021-12-31 for the interlude, 2023-09-30 for the 2023-24 episode): there nothing is
assimilated and no baseline is fitted (no data in the scenario's frame), the model forecasts
from the start without the injects; ``model_timeline`` (the same with the recorded injects) is
always run there, reported apart.

Scenarios (``SCENARIOS``, consecutive): ``scenarios/historical.yaml`` (2019-10..2021-12),
``scenarios/interlude_2022_2023.yaml`` (2022-01..2023-09) and
``scenarios/episode_2023_2024.yaml`` (2023-10..2024-12). Each month end from 2020-01-31 to
2024-11-30 is an origin of exactly one of them (``origin_scenarios``): a scenario's last day is
not its origin (``evaluable``), so 2021-12-31 is the interlude's and 2023-09-30 the episode's.
Targets whose window straddles two scenarios (T58, 2022-06-01..2023-10-16) or ends before the
first origin are not forecast (``uncovered_targets`` lists them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis import observed as O
from sim.analysis.calibrate import baselines as B
from sim.analysis.calibrate import observation as OB
from sim.analysis.forecast import assimilation as A
from sim.analysis.forecast import availability as AV
from sim.analysis.forecast import baselines as FB
from sim.analysis.forecast import monthly as M
from sim.analysis.forecast import scoring as S
from sim.scenario import Scenario

FIRST_ORIGIN = dt.date(2020, 1, 31)
HORIZONS = (1, 3)
GRID = 400
REPO = O.DATA_DIR.parent.parent
POSTERIORS = REPO / "calibration" / "evaluation" / "posteriors"
SCENARIOS = ("historical.yaml", "interlude_2022_2023.yaml", "episode_2023_2024.yaml")
PARAMETERS_LABEL = (
    "parameters: per origin, the latest posterior all of whose fitted tallies were published on "
    "or before the origin (calibration/evaluation/posteriors/<date>/ refits by `escsim "
    "calibrate --data-until`, commands in posteriors/refit.sh, and "
    "calibration/posterior.parquet, windows to 2021-07-06, published by 2021-07-07)"
)


@dataclass(frozen=True)
class Fit:
    """A posterior sample, the last day of data it was fitted on, and when that data was known.

    ``published`` is the last publication date of its fitted tallies (None: ``data_end``).
    """

    label: str
    data_end: dt.date
    posterior: pd.DataFrame
    published: dt.date | None = None

    @property
    def known(self) -> dt.date:
        """Return the first day on which everything the fit used was published."""
        return max(self.data_end, self.published) if self.published else self.data_end


def load_fits(posteriors: Path = POSTERIORS, main: Path = REPO / "calibration") -> list[Fit]:
    """Return the refits under ``posteriors`` and the main calibration, by data end."""
    out = []
    tallies = O.load_tallies()
    dirs = sorted(p for p in posteriors.glob("*") if (p / "posterior.parquet").exists())
    for d in [*dirs, main]:
        if not (d / "posterior.parquet").exists():
            continue
        fit = yaml.safe_load((d / "fitted.yaml").read_text(encoding="utf-8"))["fit"]
        end = dt.date.fromisoformat(str(fit["date_range"][1]))
        ids = [str(k) for k in fit.get("tallies", [])]
        pub = AV.known_date(tallies, ids) if ids else None
        label = str(d.relative_to(REPO)) if d.is_relative_to(REPO) else str(d)
        out.append(Fit(label, end, pd.read_parquet(d / "posterior.parquet"), pub))
    return sorted(out, key=lambda f: f.known)


def fit_for(fits: list[Fit], origin: dt.date) -> Fit | None:
    """Return the fit known latest on or before ``origin`` (None if there is none).

    A fit is known once every tally it fitted was published (``Fit.known``).
    """
    ok = sorted((f for f in fits if f.known <= origin), key=lambda f: f.known)
    return ok[-1] if ok else None


@dataclass(frozen=True)
class Settings:
    """Budget of an evaluation."""

    runs: int = 1000
    draws: int = 25
    paths: int = 2000
    timeline: bool = False
    seed: int = 20191001
    origins: tuple[dt.date, ...] | None = None
    quick: bool = False

    @classmethod
    def quick_settings(cls) -> Settings:
        """Return the CI budget: 3 origins, 100 trajectories, 200 baseline paths."""
        return cls(
            runs=100,
            draws=5,
            paths=200,
            origins=(dt.date(2020, 7, 31), dt.date(2020, 12, 31), dt.date(2021, 5, 31)),
            quick=True,
        )


def month_end(d: dt.date, months: int = 0) -> dt.date:
    """Return the last day of the month ``months`` after the month of ``d``."""
    p = pd.Period(d, freq="M") + months
    return p.end_time.date()


def origins(scenario: Scenario, last_horizon: int = 1) -> tuple[dt.date, ...]:
    """Return month-end origins from 2020-01 and from the day before the scenario's start.

    The day before the start is an origin when it is a month end (2023-09-30 for a scenario
    starting 2023-10-01): nothing is assimilated, the forecast runs from the start.
    """
    out = []
    o = max(FIRST_ORIGIN, month_end(scenario.start - dt.timedelta(days=1)))
    while month_end(o, last_horizon) <= scenario.end:
        out.append(o)
        o = month_end(o, 1)
    return tuple(out)


def origin_scenarios(scenarios: list[Scenario]) -> dict[dt.date, list[str]]:
    """Return each origin ``evaluate`` runs with the names of the scenarios that evaluate it.

    An origin is run from a scenario when it is one of its ``origins`` and ``evaluable`` there;
    no simulation is run.
    """
    out: dict[dt.date, list[str]] = {}
    for sc in scenarios:
        for o in origins(sc):
            if evaluable(sc, o):
                out.setdefault(o, []).append(sc.name)
    return dict(sorted(out.items()))


def evaluable(scenario: Scenario, origin: dt.date) -> bool:
    """Return whether ``origin`` lies in [day before the start, end) of ``scenario``."""
    return scenario.start - dt.timedelta(days=1) <= origin < scenario.end


def fitted_tallies(scenario: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (fit tallies inside the scenario's horizon, all tallies)."""
    t = O.load_tallies()
    s = OB.select(t, scenario.start, scenario.end)
    return s[s["status"] == "fit"].reset_index(drop=True), t


def monthly_targets(scenario: Scenario, tallies: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the monthly counts per counter wholly inside the scenario's horizon."""
    return M.monthly_targets(scenario.start, scenario.end, tallies)


def targets(fit: pd.DataFrame, origin: dt.date, h: int) -> pd.DataFrame:
    """Return the rows whose window ends in the calendar month ``h`` months after ``origin``."""
    lo, hi = pd.Timestamp(month_end(origin, h - 1)), pd.Timestamp(month_end(origin, h))
    return fit[(fit["end"] > lo) & (fit["end"] <= hi)]


def uncovered_targets(scenarios: list[Scenario]) -> pd.DataFrame:
    """Return fitted tallies and monthly counts that no evaluated origin can forecast.

    A target is forecast when some scenario's origin o (``origins``) has it ending in month
    o + h for an h in ``HORIZONS`` with its window inside that scenario's horizon.
    """
    t = O.load_tallies()
    fit = OB.select(t, dt.date(1900, 1, 1), dt.date(2100, 1, 1))
    fit = fit[fit["status"] == "fit"].assign(target_kind="tally")
    mon = M.all_months(t).assign(target_kind="monthly")
    allt = pd.concat(
        [fit[["id", "start", "end", "target_kind"]], mon[["id", "start", "end", "target_kind"]]],
        ignore_index=True,
    )
    covered: set[str] = set()
    for sc in scenarios:
        inside = allt[(allt["start"].dt.date >= sc.start) & (allt["end"].dt.date <= sc.end)]
        for o in origins(sc, min(HORIZONS)):
            if not evaluable(sc, o):
                continue
            for h in HORIZONS:
                covered.update(targets(inside, o, h)["id"])
    return allt[~allt["id"].isin(covered)].reset_index(drop=True)


def _factor_windows(fit: pd.DataFrame, start: dt.date, origin: dt.date) -> pd.DataFrame:
    """Return every target class over [start, origin] (for the baselines' class factors)."""
    rows = fit[["id", "weapons", "targets", "measure"]].copy()
    rows["id"] = "F:" + rows["id"]
    main = pd.DataFrame(
        {
            "id": ["F:main"],
            "weapons": [A.MAIN_WEAPONS],
            "targets": [A.MAIN_TARGETS],
            "measure": ["attacks"],
        }
    )
    rows = pd.concat([rows, main], ignore_index=True)
    rows["start"], rows["end"] = pd.Timestamp(start), pd.Timestamp(origin)
    return rows


def dated_attack_days(day0: dt.date) -> np.ndarray:
    """Return days (since ``day0``) of the dated attacks on US targets in events.csv."""
    ev = O.load_observed_events()
    sel = (ev["kind"] == "attack") & ev["target"].isin(A.MAIN_TARGETS)
    return (pd.to_datetime(ev.loc[sel, "date"]) - pd.Timestamp(day0)).dt.days.to_numpy(float)


def _score_rows(pmf, tg, origin, h, method, rng, extra=None) -> list[dict]:
    sc = S.score_all(pmf, tg["count"].to_numpy(), tg["bound"].to_numpy(str), rng)
    mean = pmf @ np.arange(pmf.shape[1])
    rows = []
    for j, (k, c, b, e, kind, counter) in enumerate(
        zip(
            tg["id"],
            tg["count"],
            tg["bound"],
            tg["end"],
            tg["target_kind"],
            tg["counter_id"],
            strict=True,
        )
    ):
        rows.append(
            {
                "origin": origin.isoformat(),
                "horizon": h,
                "target_kind": kind,
                "target": k,
                "counter_id": counter,
                "target_end": e.date().isoformat(),
                "bound": b,
                "count": int(c),
                "method": method,
                "mean": float(mean[j]),
                "log_score": float(sc["log_score"][j]),
                "crps": float(sc["crps"][j]),
                "wis": float(sc["wis"][j]),
                "pit": float(sc["pit"][j]),
                **(extra or {}),
            }
        )
    return rows


def _model_rows(name, ens, w, t, origin, h, rng, base_extra) -> list[dict]:
    """Return the score rows of one model member for the targets ``t``."""
    rates, cv = ens.report_parameters(t["counter_id"].astype(str), t["bound"].astype(str))
    pmf = A.forecast_pmf(ens.column(tuple(t["id"])), w, GRID, rates, cv)
    isw = name == "model_isw"
    alive = w > 1e-12
    extra = {
        **base_extra,
        "ess": A.ess(w),
        "stage_ess_min": min(ens.stage_ess, default=np.nan) if not isw else np.nan,
        "resamples": ens.resamples if not isw else 0,
        "roots": ens.roots if not isw else int(alive.sum()),
        "draws_left": ens.draws_left if not isw else int(len(np.unique(ens.draw[alive]))),
    }
    return _score_rows(pmf, t, origin, h, name, rng, extra)


def evaluate_origin(
    scenario: Scenario,
    origin: dt.date,
    settings: Settings,
    fit: pd.DataFrame,
    all_tallies: pd.DataFrame,
    event_days: np.ndarray,
    posterior: Fit | None = None,
    monthly: pd.DataFrame | None = None,
) -> list[dict]:
    """Return score rows of every method for the targets of one origin.

    ``scenario`` is the scenario WITHOUT calibration when ``posterior`` is given (its draws are
    applied to it), else the scenario whose values are used as they are. ``monthly`` holds the
    monthly counts per counter (``monthly_targets``); tallies are targets of kind ``tally``,
    monthly counts of kind ``monthly``. Only tallies known at the origin
    (``availability.known_at``: window ended and published) are assimilated and fitted.
    """
    cols = ["id", "start", "end", "weapons", "targets", "measure"]
    mon = (
        monthly
        if monthly is not None
        else pd.DataFrame(columns=[*cols, "count", "bound", "counter_id"])
    )
    tal = fit.assign(target_kind="tally")
    mon = mon.assign(target_kind="monthly")
    tg = {
        h: pd.concat(
            [x for x in (targets(tal, origin, h), targets(mon, origin, h)) if len(x)]
            or [tal.iloc[:0]],
            ignore_index=True,
        )
        for h in HORIZONS
    }
    if all(len(t) == 0 for t in tg.values()):
        return []
    classes = pd.concat([fit[cols], mon[cols]], ignore_index=True)
    last = min(month_end(origin, max(HORIZONS)), scenario.end)
    pre_start = origin < scenario.start
    windows = pd.concat(
        [classes] + ([] if pre_start else [_factor_windows(classes, scenario.start, origin)]),
        ignore_index=True,
    )
    windows = windows[windows["end"] <= pd.Timestamp(last)]
    known = AV.known_at(fit, origin)
    rng = np.random.default_rng(settings.seed + origin.toordinal())
    post, draws = (posterior.posterior, settings.draws) if posterior else (None, 0)
    label = posterior.label if posterior else "scenario values (no fit before the origin)"

    def run(sc: Scenario, reports: pd.DataFrame) -> A.Filtered:
        return A.particle_filter(
            sc, windows, reports, settings.runs, settings.seed, last, post, draws, all_tallies
        )

    no_future = A.without_future_injects(scenario, origin)
    filt = run(no_future, known)
    free = run(no_future, known.iloc[:0])
    isw = A.normalise(
        A.log_weights(free.column(tuple(known["id"])), known, all_tallies, free.obs, free.points)
    )
    members = [("model", filt, filt.weights), ("model_noassim", free, free.weights)]
    members.append(("model_isw", free, isw))
    if A.running_injects(scenario, origin):
        kept = run(A.without_future_injects(scenario, origin, cut=False), known)
        members.append(("model_inforce", kept, kept.weights))
    if settings.timeline or pre_start:  # before the start: the contrast with the injects
        tl = run(scenario, known)
        members.append(("model_timeline", tl, tl.weights))
    rows: list[dict] = []
    base_extra = {"scenario": scenario.name, "parameters": label}
    if pre_start:
        # no data in the scenario's frame before its start: the baselines have nothing to fit
        for h, t in tg.items():
            for name, ens, w in members if len(t) else []:
                rows += _model_rows(name, ens, w, t, origin, h, rng, base_extra)
        return rows
    # baselines: main series and class factors known at the origin
    day0 = scenario.start
    hold = (origin - day0).days + 1
    fac_ids = ["F:" + k for k in classes["id"]]
    main = free.column(("F:main",)).mean()
    ratio = free.column(fac_ids).mean(axis=0) / max(main, 1e-9)
    factor = pd.Series(np.where(ratio > 0, ratio, 1.0), index=classes["id"])
    train = B.tally_set(known, pd.Timestamp(day0), factor[known["id"]].to_numpy())
    n_days = (last - day0).days + 1
    obs = O.load_observed_events()
    obs = obs[pd.to_datetime(obs["date"]) <= pd.Timestamp(origin)]
    strike, truce = B.indicators(obs, pd.Timestamp(day0), n_days)
    ctx = B.Context(hold, strike, truce, B.reconstruct(train, hold))
    baselines = FB.all_forecast_baselines(event_days, settings.seed, settings.paths)
    for b in baselines:
        if not isinstance(b, FB.Ensemble):
            b.fit(train, ctx)
    for h, t in tg.items():
        if len(t) == 0:
            continue
        for name, ens, w in members:
            rows += _model_rows(name, ens, w, t, origin, h, rng, base_extra)
        test = B.tally_set(t, pd.Timestamp(day0), factor[t["id"]].to_numpy())
        for b in baselines:
            pmf = FB.forecast_pmf(b, test, ctx, GRID)
            rows += _score_rows(pmf, t, origin, h, b.name, rng, {**base_extra, "ess": np.nan})
    return rows


def evaluate(
    scenarios: list[tuple[Scenario, Scenario]],
    settings: Settings,
    fits: list[Fit] | None = None,
    progress=None,
) -> pd.DataFrame:
    """Return the score table of every scenario, origin, horizon, target and method.

    Parameters
    ----------
    scenarios : list of (Scenario, Scenario)
        Each scenario with its calibration overlay and without it (``parameters.base_scenario``).
    settings : Settings
        Budget; ``settings.origins`` restricts the origins of every scenario.
    fits : list of Fit, optional
        Posteriors to choose from per origin (default ``load_fits()``); an empty list runs the
        calibrated scenario's values at every origin (not honest: for tests only).
    progress : callable, optional
        Called with each finished origin.
    """
    fits = load_fits() if fits is None else fits
    rows: list[dict] = []
    for calibrated, base in scenarios:
        fit, all_t = fitted_tallies(calibrated)
        mon = monthly_targets(calibrated, all_t)
        event_days = dated_attack_days(calibrated.start)
        for o in settings.origins or origins(calibrated):
            if not evaluable(calibrated, o):
                continue
            post = fit_for(fits, o) if fits else None
            sc = base if post is not None else calibrated
            rows += evaluate_origin(sc, o, settings, fit, all_t, event_days, post, mon)
            if progress:
                progress(o)
    return pd.DataFrame(rows)


def paired(scores: pd.DataFrame, reference: str = "model", seed: int = 0) -> pd.DataFrame:
    """Return per target kind, horizon and method: mean scores and paired differences.

    Differences are reference - method over common targets in time order (target end), with
    90% moving-block bootstrap intervals (block 3). Log scores of exact/approximate reports and
    of lower bounds are given apart (``log_score`` and ``log_score_lower``, each with its
    difference); CRPS and WIS exclude lower bounds.
    """
    out = []
    if "target_kind" not in scores:
        scores = scores.assign(target_kind="tally")
    for (kind, h), sh in scores.groupby(["target_kind", "horizon"]):
        ref = sh[sh["method"] == reference].set_index(["origin", "target"])
        for m, sm in sh.groupby("method"):
            s = sm.set_index(["origin", "target"])
            common = ref.index.intersection(s.index)
            a, b = ref.loc[common].sort_values("target_end"), s.loc[common]
            b = b.loc[a.index]
            unc = a["bound"] != "lower"
            row = {
                "target_kind": kind,
                "horizon": h,
                "method": m,
                "n": int(unc.sum()),
                "n_lower": int((~unc).sum()),
            }
            for col in ("crps", "log_score", "wis"):
                row[f"mean_{col}"] = float(b.loc[unc.to_numpy(), col].mean())
                d = (a[col] - b[col]).to_numpy()[unc.to_numpy()]
                row[f"d_{col}"], row[f"d_{col}_lo"], row[f"d_{col}_hi"] = S.block_bootstrap_mean(
                    d, seed=seed
                )
            low = (~unc).to_numpy()
            row["mean_log_score_lower"] = float(b.loc[low, "log_score"].mean())
            d = (a["log_score"] - b["log_score"]).to_numpy()[low]
            lo_hi = S.block_bootstrap_mean(d, seed=seed)
            row["d_log_score_lower"], row["d_log_score_lower_lo"] = lo_hi[0], lo_hi[1]
            row["d_log_score_lower_hi"] = lo_hi[2]
            out.append(row)
    return pd.DataFrame(out)


__all__ = [
    "PARAMETERS_LABEL",
    "Fit",
    "Settings",
    "evaluable",
    "evaluate",
    "fit_for",
    "load_fits",
    "origin_scenarios",
    "origins",
    "paired",
    "monthly_targets",
    "targets",
    "uncovered_targets",
]
