"""Rolling-origin evaluation: model and baselines forecast the tallies at every month-end origin.

At each month-end origin from 2020-01 to the end of the scenario's horizon minus the longest
lead time, every method forecasts the fitted tallies (``observation.select`` status ``fit``)
whose window ends in calendar month ``origin + h`` (h = 1 and 3: the month h steps ahead),
using only what is known at the origin:

* ``model``: the scenario with injects after the origin dropped, trajectories weighted by the
  reports whose windows end on or before the origin (``assimilation``);
* ``model_noassim``: the same trajectories unweighted (the effect of assimilation);
* ``model_timeline``: future injects kept ("conditional on the timeline"), weighted: labelled
  and reported apart, never compared as a forecast;
* the baselines of ``sim.analysis.forecast.baselines``, fitted on the reports before the origin
  (and the dated attacks before it for the Hawkes process).

Parameters: the scenario's calibrated values (``calibration/fitted.yaml``), fitted on the
whole observation set, i.e. on data LATER than most origins (refitting at each origin with
``escsim calibrate --data-until`` is not done here). Class factors turning the baselines'
main series (rockets on US targets) into a tally's counting rule are the model's simulated
ratios over days before the origin only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import observed as O
from sim.analysis.calibrate import baselines as B
from sim.analysis.calibrate import observation as OB
from sim.analysis.forecast import assimilation as A
from sim.analysis.forecast import baselines as FB
from sim.analysis.forecast import scoring as S
from sim.scenario import Scenario

FIRST_ORIGIN = dt.date(2020, 1, 31)
HORIZONS = (1, 3)
GRID = 400
PARAMETERS_LABEL = (
    "parameters: calibration/fitted.yaml (fitted on the full observation set, i.e. on data "
    "later than the origins); not refitted per origin"
)


@dataclass(frozen=True)
class Settings:
    """Budget of an evaluation."""

    runs: int = 1000
    paths: int = 2000
    seed: int = 20191001
    origins: tuple[dt.date, ...] | None = None
    quick: bool = False

    @classmethod
    def quick_settings(cls) -> Settings:
        """Return the CI budget: 3 origins, 100 trajectories, 200 baseline paths."""
        return cls(
            runs=100,
            paths=200,
            origins=(dt.date(2020, 7, 31), dt.date(2020, 12, 31), dt.date(2021, 5, 31)),
            quick=True,
        )


def month_end(d: dt.date, months: int = 0) -> dt.date:
    """Return the last day of the month ``months`` after the month of ``d``."""
    p = pd.Period(d, freq="M") + months
    return p.end_time.date()


def origins(scenario: Scenario, last_horizon: int = 1) -> tuple[dt.date, ...]:
    """Return month-end origins from 2020-01 whose next ``last_horizon`` months fit the horizon."""
    out = []
    o = FIRST_ORIGIN
    while month_end(o, last_horizon) <= scenario.end:
        out.append(o)
        o = month_end(o, 1)
    return tuple(out)


def fitted_tallies(scenario: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (fit tallies inside the scenario's horizon, all tallies)."""
    t = O.load_tallies()
    s = OB.select(t, scenario.start, scenario.end)
    return s[s["status"] == "fit"].reset_index(drop=True), t


def targets(fit: pd.DataFrame, origin: dt.date, h: int) -> pd.DataFrame:
    """Return the tallies whose window ends in the calendar month ``h`` months after ``origin``."""
    lo, hi = pd.Timestamp(month_end(origin, h - 1)), pd.Timestamp(month_end(origin, h))
    return fit[(fit["end"] > lo) & (fit["end"] <= hi)]


def _factor_windows(fit: pd.DataFrame, start: dt.date, origin: dt.date) -> pd.DataFrame:
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
    for j, (k, c, b, e) in enumerate(
        zip(tg["id"], tg["count"], tg["bound"], tg["end"], strict=True)
    ):
        rows.append(
            {
                "origin": origin.isoformat(),
                "horizon": h,
                "target": k,
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


def evaluate_origin(
    scenario: Scenario,
    origin: dt.date,
    settings: Settings,
    fit: pd.DataFrame,
    all_tallies: pd.DataFrame,
    event_days: np.ndarray,
) -> list[dict]:
    """Return score rows of every method for the targets of one origin."""
    tg = {h: targets(fit, origin, h) for h in HORIZONS}
    if all(len(t) == 0 for t in tg.values()):
        return []
    last = min(month_end(origin, max(HORIZONS)), scenario.end)
    windows = pd.concat(
        [
            fit[["id", "start", "end", "weapons", "targets", "measure"]],
            _factor_windows(fit, scenario.start, origin),
        ],
        ignore_index=True,
    )
    windows = windows[windows["end"] <= pd.Timestamp(last)]
    known = fit[fit["end"] <= pd.Timestamp(origin)]
    rng = np.random.default_rng(settings.seed + origin.toordinal())
    rows: list[dict] = []
    ens_noinj = A.simulate(
        A.without_future_injects(scenario, origin), windows, settings.runs, settings.seed, last
    )
    ens_timeline = A.simulate(scenario, windows, settings.runs, settings.seed, last)
    uniform = np.full(settings.runs, 1.0 / settings.runs)
    weights = {}
    for label, ens in (("model", ens_noinj), ("model_timeline", ens_timeline)):
        w = A.normalise(A.log_weights(ens.column(tuple(known["id"])), known, all_tallies))
        weights[label] = (ens, w)
    weights["model_noassim"] = (ens_noinj, uniform)
    # baselines: main series and class factors known at the origin
    day0 = scenario.start
    hold = (origin - day0).days + 1
    fac_ids = ["F:" + k for k in fit["id"]]
    main = ens_noinj.column(("F:main",)).mean()
    ratio = ens_noinj.column(fac_ids).mean(axis=0) / max(main, 1e-9)
    factor = pd.Series(np.where(ratio > 0, ratio, 1.0), index=fit["id"])
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
        for label, (ens, w) in weights.items():
            pmf = A.forecast_pmf(ens.column(tuple(t["id"])), w, GRID)
            rows += _score_rows(pmf, t, origin, h, label, rng, {"ess": A.ess(w)})
        test = B.tally_set(t, pd.Timestamp(day0), factor[t["id"]].to_numpy())
        for b in baselines:
            pmf = FB.forecast_pmf(b, test, ctx, GRID)
            rows += _score_rows(pmf, t, origin, h, b.name, rng, {"ess": np.nan})
    return rows


def evaluate(scenario: Scenario, settings: Settings, progress=None) -> pd.DataFrame:
    """Return the score table of every origin, horizon, target and method."""
    fit, all_t = fitted_tallies(scenario)
    event_days = dated_attack_days(scenario.start)
    rows: list[dict] = []
    for o in settings.origins or origins(scenario):
        rows += evaluate_origin(scenario, o, settings, fit, all_t, event_days)
        if progress:
            progress(o)
    return pd.DataFrame(rows)


def paired(scores: pd.DataFrame, reference: str = "model", seed: int = 0) -> pd.DataFrame:
    """Return per horizon and method: mean scores and paired differences reference - method.

    Differences are over common targets in time order (target end), with 90% moving-block
    bootstrap intervals (block 3). Log scores of exact/approximate reports and of lower bounds
    are given apart (``log_score`` and ``log_score_lower``); CRPS and WIS exclude lower bounds.
    """
    out = []
    for h, sh in scores.groupby("horizon"):
        ref = sh[sh["method"] == reference].set_index(["origin", "target"])
        for m, sm in sh.groupby("method"):
            s = sm.set_index(["origin", "target"])
            common = ref.index.intersection(s.index)
            a, b = ref.loc[common].sort_values("target_end"), s.loc[common]
            b = b.loc[a.index]
            unc = a["bound"] != "lower"
            row = {"horizon": h, "method": m, "n": int(unc.sum()), "n_lower": int((~unc).sum())}
            for col in ("crps", "log_score", "wis"):
                row[f"mean_{col}"] = float(b.loc[unc.to_numpy(), col].mean())
                d = (a[col] - b[col]).to_numpy()[unc.to_numpy()]
                row[f"d_{col}"], row[f"d_{col}_lo"], row[f"d_{col}_hi"] = S.block_bootstrap_mean(
                    d, seed=seed
                )
            row["mean_log_score_lower"] = float(b.loc[(~unc).to_numpy(), "log_score"].mean())
            out.append(row)
    return pd.DataFrame(out)


__all__ = ["PARAMETERS_LABEL", "Settings", "evaluate", "origins", "paired", "targets"]
