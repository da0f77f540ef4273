"""Observed data: attack tallies and dated events, and the one tally function for every log.

The project's copy of the observed data lives in ``calibration/data/`` (see its README.md):
``tallies.csv`` holds publicly reported running tallies ("the 20th rocket attack since
October"), each mapped to the events it counts (weapons, targets, measure) with its bound
(exact / approx / lower) and its counter's rule; ``events.csv`` holds the dated documented
events in the event-log vocabulary of ``sim.results.events``.

``tally`` counts the same thing in a simulated event log (``sim.results.events.to_frame``) and in
the observed log (``load_observed_events``); ``tally_matrix`` is its vectorised twin over raw kernel
records, used by the calibration and tested to agree with ``tally`` exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from sim import vocab as V
from sim.model import layout as L

DATA_DIR: Path = Path(__file__).resolve().parents[2] / "calibration" / "data"
"""Directory of the project's observed data (``calibration/data``)."""

BOUNDS = ("exact", "approx", "lower")
MEASURES = ("attacks", "killed")
OBSERVED_RUN = -1
"""The ``run`` value of every row of the observed event log."""
OBSERVED_EPOCH = dt.date(2019, 10, 1)
"""Day 0 of the observed log's ``day`` column (the start of the historical scenario)."""

_TALLY_COLUMNS = (
    "id",
    "start",
    "end",
    "count",
    "bound",
    "counter",
    "weapons",
    "targets",
    "measure",
    "source",
)


def _split(text: str, vocabulary: tuple[str, ...], what: str, row: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in str(text).split(";") if x.strip())
    if not items:
        raise ValueError(f"tallies.csv {row}: empty {what}")
    for x in items:
        if x not in vocabulary:
            raise ValueError(f"tallies.csv {row}: {what} {x!r} not in {vocabulary}")
    return items


def load_tallies(path: Path | None = None) -> pd.DataFrame:
    """Read the observed attack tallies.

    Parameters
    ----------
    path : Path, optional
        A tallies CSV (default ``DATA_DIR / "tallies.csv"``).

    Returns
    -------
    pandas.DataFrame
        One row per tally with columns ``id``, ``start`` and ``end`` (datetime64, the window,
        both inclusive), ``count`` (int), ``bound`` (exact / approx / lower), ``counter``,
        ``weapons`` and ``targets`` (tuples of ``sim.model.layout`` vocabulary names), ``measure``
        (attacks / killed), ``source``; then ``rule`` (the counter's rule as reported),
        ``geography``, ``use`` ("fit" or the reason it is not fitted), ``counted_as``,
        ``source_date``, ``confidence``, ``mapping_note``, ``counter_id`` (the counting
        series), ``nested_in`` (the running total this one extends, or ""),
        ``iraq_share_known`` and ``period`` (see calibration/data/README.md).

    Raises
    ------
    ValueError
        If a row names an unknown weapon, target, bound or measure, or an empty window.
    """
    p = DATA_DIR / "tallies.csv" if path is None else Path(path)
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    out = pd.DataFrame(
        {
            "id": raw["id"],
            "start": pd.to_datetime(raw["window_start"]),
            "end": pd.to_datetime(raw["window_end"]),
            "count": raw["count"].astype(np.int64),
            "bound": raw["bound"],
            "counter": raw["counter"],
            "weapons": [
                _split(x, V.WEAPONS, "weapon", r)
                for x, r in zip(raw["weapons"], raw["id"], strict=True)
            ],
            "targets": [
                _split(x, V.TARGETS, "target", r)
                for x, r in zip(raw["targets"], raw["id"], strict=True)
            ],
            "measure": raw["measure"],
            "source": raw["source"],
        }
    )
    for extra in (
        "rule",
        "geography",
        "use",
        "counted_as",
        "source_date",
        "confidence",
        "mapping_note",
        "counter_id",
        "nested_in",
        "iraq_share_known",
        "period",
    ):
        out[extra] = raw.get(extra, "")
    bad = ~out["bound"].isin(BOUNDS)
    if bad.any():
        raise ValueError(f"tallies.csv {out['id'][bad].iloc[0]}: bound must be one of {BOUNDS}")
    bad = ~out["measure"].isin(MEASURES)
    if bad.any():
        raise ValueError(f"tallies.csv {out['id'][bad].iloc[0]}: measure must be one of {MEASURES}")
    bad = out["end"] < out["start"]
    if bad.any():
        raise ValueError(f"tallies.csv {out['id'][bad].iloc[0]}: window ends before it starts")
    return out


def load_observed_events(path: Path | None = None) -> pd.DataFrame:
    """Read the dated documented events as an event log (``run`` = -1).

    Parameters
    ----------
    path : Path, optional
        An events CSV (default ``DATA_DIR / "events.csv"``).

    Returns
    -------
    pandas.DataFrame
        The event-log columns of ``sim.results.events`` (``run``, ``date`` as datetime64, ``day``
        since 2019-10-01, ``actor``, ``kind``, ``weapon``, ``target``, ``claimed_as``, ``killed``,
        ``subject``, ``detail``, ``forced``, ``intercepted``, ``us_killed``) with nulls where
        the source does not say (``killed`` and ``us_killed`` are nullable integers,
        ``intercepted`` a nullable boolean), plus ``label`` (short text for plots), ``source``
        and ``mapping_note``. Kinds outside the model's vocabulary (``protest``,
        ``iran_strike``, ``political``, ``clashes``) are kept for annotation; tallies count
        only ``attack`` rows.
    """
    p = DATA_DIR / "events.csv" if path is None else Path(path)
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)

    def text(col: str) -> pd.Series:
        return raw[col].replace("", None).astype(object)

    def integer(col: str) -> pd.Series:
        return pd.to_numeric(raw[col].replace("", None)).astype("Int64")

    date = pd.to_datetime(raw["date"])
    intercepted = raw["intercepted"].map({"1": True, "0": False, "": None}).astype("boolean")
    df = pd.DataFrame(
        {
            "run": np.full(len(raw), OBSERVED_RUN, dtype=np.int64),
            "date": date,
            "day": (date - pd.Timestamp(OBSERVED_EPOCH)).dt.days.astype(np.int32),
            "actor": text("actor"),
            "kind": text("kind"),
            "weapon": text("weapon"),
            "target": text("target"),
            "claimed_as": text("claimed_as"),
            "killed": integer("killed"),
            "subject": text("subject"),
            "detail": text("detail"),
            "forced": np.zeros(len(raw), dtype=bool),
            "intercepted": intercepted,
            "us_killed": integer("us_killed"),
            "label": raw["label"],
            "source": raw["source"],
            "mapping_note": raw["mapping_note"],
        }
    )
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _as_tuple(x: str | Iterable[str]) -> tuple[str, ...]:
    return (x,) if isinstance(x, str) else tuple(x)


def tally(
    events: pd.DataFrame,
    weapons: str | Iterable[str],
    targets: str | Iterable[str],
    start: dt.date | str | pd.Timestamp,
    end: dt.date | str | pd.Timestamp,
    measure: str = "attacks",
    runs: Iterable[int] | None = None,
) -> pd.Series:
    """Count attacks (or their deaths) of given weapons on given targets in a window, per run.

    Parameters
    ----------
    events : pandas.DataFrame
        An event log with columns ``run``, ``date``, ``kind``, ``weapon``, ``target`` and (for
        ``measure="killed"``) ``killed``: a simulated log (``sim.results.events.to_frame``) or the
        observed log (``load_observed_events``).
    weapons, targets : str or iterable of str
        Weapon and target names (``sim.vocab.WEAPONS``, ``sim.vocab.TARGETS``) counted.
    start, end : date-like
        The window; both ends inclusive.
    measure : {"attacks", "killed"}
        Count attack events, or sum their ``killed`` (unknown tolls count as 0).
    runs : iterable of int, optional
        Runs to report (default: every run present in ``events``); runs without a matching
        event get 0.

    Returns
    -------
    pandas.Series
        Integer counts indexed by ``run``, sorted by run.

    Raises
    ------
    ValueError
        For an unknown measure.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}; got {measure!r}")
    w, t = _as_tuple(weapons), _as_tuple(targets)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    date = pd.to_datetime(events["date"])
    sel = (
        (events["kind"].astype(object) == "attack").to_numpy(dtype=bool)
        & events["weapon"].astype(object).isin(w).to_numpy(dtype=bool)
        & events["target"].astype(object).isin(t).to_numpy(dtype=bool)
        & ((date >= lo) & (date <= hi)).to_numpy(dtype=bool)
    )
    hit = events.loc[sel]
    if measure == "attacks":
        counts = hit.groupby("run").size()
    else:
        killed = pd.to_numeric(hit["killed"]).fillna(0).astype(np.int64)
        counts = killed.groupby(hit["run"]).sum()
    index = (
        np.unique(events["run"].to_numpy(dtype=np.int64))
        if runs is None
        else np.asarray(sorted(set(int(r) for r in runs)), dtype=np.int64)
    )
    out = counts.reindex(index, fill_value=0).astype(np.int64)
    out.index = pd.Index(index, name="run")
    out.name = measure
    return out


# --- the vectorised path over raw kernel records ------------------------------------------------


@dataclass(frozen=True)
class TallySpec:
    """Tallies compiled to arrays over engine codes and day numbers of one scenario start."""

    ids: tuple[str, ...]
    start_day: np.ndarray  # (K,) int64, inclusive
    end_day: np.ndarray  # (K,) int64, inclusive
    weapon_mask: np.ndarray  # (K, N_WEAPONS) int64
    target_mask: np.ndarray  # (K, N_TARGETS) int64
    killed: np.ndarray  # (K,) int64: 1 sums killed, 0 counts attacks


def compile_tallies(tallies: pd.DataFrame, start: dt.date) -> TallySpec:
    """Compile tallies (``load_tallies`` rows) into a ``TallySpec`` for a scenario start date.

    Parameters
    ----------
    tallies : pandas.DataFrame
        Rows of ``load_tallies``.
    start : datetime.date
        Day 0 of the engine's records.

    Returns
    -------
    TallySpec
        Arrays for ``tally_matrix``.
    """
    t0 = pd.Timestamp(start)
    k = len(tallies)
    wm = np.zeros((k, V.N_WEAPONS), dtype=np.int64)
    tm = np.zeros((k, V.N_TARGETS), dtype=np.int64)
    for i, (ws, ts) in enumerate(zip(tallies["weapons"], tallies["targets"], strict=True)):
        for w in ws:
            wm[i, V.WEAPONS.index(w)] = 1
        for t in ts:
            tm[i, V.TARGETS.index(t)] = 1
    return TallySpec(
        ids=tuple(tallies["id"]),
        start_day=((pd.to_datetime(tallies["start"]) - t0).dt.days).to_numpy(np.int64),
        end_day=((pd.to_datetime(tallies["end"]) - t0).dt.days).to_numpy(np.int64),
        weapon_mask=wm,
        target_mask=tm,
        killed=(tallies["measure"] == "killed").to_numpy(np.int64),
    )


@njit(cache=True)
def _tally_records(records, reps, rep_start, n_reps, start_day, end_day, wmask, tmask, killed):
    k = start_day.shape[0]
    out = np.zeros((n_reps, k), dtype=np.int64)
    for j in range(records.shape[0]):
        if records[j, L.E_KIND] != V.K_ATTACK:
            continue
        r = reps[j] - rep_start
        if r < 0 or r >= n_reps:
            continue
        w = records[j, L.E_WEAPON]
        t = records[j, L.E_TARGET]
        if w < 0 or t < 0:
            continue
        d = records[j, L.E_DAY]
        for i in range(k):
            if d >= start_day[i] and d <= end_day[i] and wmask[i, w] == 1 and tmask[i, t] == 1:
                if killed[i] == 1:
                    out[r, i] += records[j, L.E_KILLED]
                else:
                    out[r, i] += 1
    return out


def tally_matrix(
    records: np.ndarray, reps: np.ndarray, rep_start: int, n_reps: int, spec: TallySpec
) -> np.ndarray:
    """Return every tally of every replicate from raw engine records in one pass.

    Parameters
    ----------
    records : ndarray (N, N_ECOLS) int32
        Engine records (``sim.engines.kernel.run_kernel``).
    reps : ndarray (N,) int64
        Replicate index of each record.
    rep_start, n_reps : int
        The replicate range (rows of the result).
    spec : TallySpec
        Compiled tallies (``compile_tallies``) for the engine's start date.

    Returns
    -------
    ndarray (n_reps, K) int64
        ``out[r, i]`` equals ``tally(...)`` of tally ``i`` for replicate ``rep_start + r``.
    """
    return _tally_records(
        records,
        reps.astype(np.int64, copy=False),
        int(rep_start),
        int(n_reps),
        spec.start_day,
        spec.end_day,
        spec.weapon_mask,
        spec.target_mask,
        spec.killed,
    )


def observed_counts(tallies: pd.DataFrame) -> np.ndarray:
    """Return the reported counts of the tallies as an int64 array (for scoring)."""
    return tallies["count"].to_numpy(np.int64)


# --- the observation model: how a reported tally is scored against a predictive count -----------

APPROX_TOLERANCE = 0.2
"""An "approx" count c is read as the interval [round(0.8 c), round(1.2 c)]."""
LOG_FLOOR = -700.0
_MIN_MEAN = 1e-3


def approx_interval(count: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Return the interval (lo, hi) an approximate count stands for (``APPROX_TOLERANCE``).

    Parameters
    ----------
    count : int or ndarray
        Reported approximate counts.

    Returns
    -------
    tuple of ndarray
        Inclusive integer bounds ``round((1 - tol) c)`` and ``round((1 + tol) c)``.
    """
    c = np.asarray(count, dtype=float)
    lo = np.rint(c * (1.0 - APPROX_TOLERANCE)).astype(np.int64)
    hi = np.rint(c * (1.0 + APPROX_TOLERANCE)).astype(np.int64)
    return lo, hi


def _dists(mean: np.ndarray, var: np.ndarray):
    """Return a frozen scipy distribution per element: NB if overdispersed, else Poisson."""
    from scipy import stats

    m = np.maximum(np.asarray(mean, dtype=float), _MIN_MEAN)
    v = np.asarray(var, dtype=float)
    over = v > m * (1.0 + 1e-9)
    v_safe = np.where(over, v, m * 2.0)
    size = m * m / (v_safe - m)
    prob = m / v_safe
    return over, stats.nbinom(size, prob), stats.poisson(m)


def _pick(over: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(over, a, b)


def count_logprob(
    mean: np.ndarray, var: np.ndarray, count: np.ndarray, bound: np.ndarray
) -> np.ndarray:
    """Return log P(report | predictive count distribution) for each tally.

    The predictive distribution of a tally is summarised by its mean and variance: a negative
    binomial with those moments when the variance exceeds the mean (overdispersion), else a
    Poisson with that mean (a spread at least as wide). A report with bound "exact" scores the
    probability of the count; "approx" the probability of ``approx_interval``; "lower" the
    probability of at least the count.

    Parameters
    ----------
    mean, var : ndarray
        Predictive mean and variance per tally (means below 1e-3 are raised to 1e-3).
    count : ndarray of int
        Reported counts.
    bound : ndarray of str
        "exact", "approx" or "lower" per tally.

    Returns
    -------
    ndarray
        Log probabilities (floored at ``LOG_FLOOR``).
    """
    c = np.asarray(count, dtype=np.int64)
    b = np.asarray(bound).astype(str)
    over, nb, po = _dists(mean, var)
    lo, hi = approx_interval(c)
    lp_exact = _pick(over, nb.logpmf(c), po.logpmf(c))
    with np.errstate(divide="ignore"):
        p_int = _pick(over, nb.cdf(hi) - nb.cdf(lo - 1), po.cdf(hi) - po.cdf(lo - 1))
        lp_int = np.log(np.maximum(p_int, 0.0))
        lp_low = _pick(over, nb.logsf(c - 1), po.logsf(c - 1))
    # far in a tail the difference of CDFs underflows: P(interval) >= P(nearest endpoint)
    m = np.maximum(np.asarray(mean, dtype=float), _MIN_MEAN)
    nearest = np.clip(np.rint(m).astype(np.int64), lo, hi)
    lp_end = _pick(over, nb.logpmf(nearest), po.logpmf(nearest))
    lp_int = np.maximum(lp_int, lp_end)
    lp_low = np.maximum(lp_low, lp_exact)
    out = np.where(b == "exact", lp_exact, np.where(b == "approx", lp_int, lp_low))
    return np.maximum(np.nan_to_num(out, nan=LOG_FLOOR, neginf=LOG_FLOOR), LOG_FLOOR)


def predictive_interval(
    mean: np.ndarray, var: np.ndarray, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Return the central ``level`` interval (lo, hi) of the moment-matched count distribution.

    Parameters
    ----------
    mean, var : ndarray
        Predictive mean and variance per tally.
    level : float
        Central probability of the interval.

    Returns
    -------
    tuple of ndarray
        Integer quantiles at (1 - level) / 2 and (1 + level) / 2.
    """
    over, nb, po = _dists(mean, var)
    a = (1.0 - level) / 2.0
    lo = _pick(over, nb.ppf(a), po.ppf(a))
    hi = _pick(over, nb.ppf(1.0 - a), po.ppf(1.0 - a))
    return lo.astype(np.int64), hi.astype(np.int64)


def consistent(lo: np.ndarray, hi: np.ndarray, count: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Return whether each report is consistent with a predictive interval [lo, hi].

    "exact": the count lies in [lo, hi]; "approx": ``approx_interval`` overlaps [lo, hi];
    "lower": hi is at least the count (the truth, >= count, can lie in the interval).

    Parameters
    ----------
    lo, hi : ndarray of int
        Predictive interval bounds (inclusive).
    count : ndarray of int
        Reported counts.
    bound : ndarray of str
        Bound of each report.

    Returns
    -------
    ndarray of bool
    """
    c = np.asarray(count, dtype=np.int64)
    b = np.asarray(bound).astype(str)
    alo, ahi = approx_interval(c)
    exact = (lo <= c) & (c <= hi)
    approx = (alo <= hi) & (ahi >= lo)
    lower = hi >= c
    return np.where(b == "exact", exact, np.where(b == "approx", approx, lower))


def crps_count(mean: np.ndarray, var: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the continuous ranked probability score of integer outcomes ``y`` (lower is better).

    CRPS(F, y) = sum over k >= 0 of (F(k) - 1[y <= k])^2 for a distribution on the integers,
    with F the moment-matched count distribution (see ``count_logprob``).

    Parameters
    ----------
    mean, var : ndarray
        Predictive mean and variance per outcome.
    y : ndarray of int
        Outcomes.

    Returns
    -------
    ndarray
        CRPS per outcome.
    """
    from scipy import stats

    y = np.atleast_1d(np.asarray(y, dtype=np.int64))
    mean = np.broadcast_to(np.asarray(mean, dtype=float), y.shape)
    var = np.broadcast_to(np.asarray(var, dtype=float), y.shape)
    out = np.empty(y.shape, dtype=float)
    for i in range(y.size):
        m = max(float(mean[i]), _MIN_MEAN)
        v = float(var[i])
        d = stats.nbinom(m * m / (v - m), m / v) if v > m * (1.0 + 1e-9) else stats.poisson(m)
        k = np.arange(int(max(y[i], d.ppf(1.0 - 1e-9))) + 2)
        out[i] = float(np.sum((d.cdf(k) - (y[i] <= k)) ** 2))
    return out


__all__ = [
    "DATA_DIR",
    "OBSERVED_EPOCH",
    "OBSERVED_RUN",
    "TallySpec",
    "approx_interval",
    "compile_tallies",
    "consistent",
    "count_logprob",
    "crps_count",
    "load_observed_events",
    "load_tallies",
    "observed_counts",
    "predictive_interval",
    "tally",
    "tally_matrix",
]
