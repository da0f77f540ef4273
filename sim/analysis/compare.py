"""Paired comparison of policy scenarios run on common random numbers.

Every scenario is run on the same seed and replicate indices. Draws are a pure function of
(seed, replicate, day, actor, decision) (``sim.rng``), so replicate k of every scenario shares its
random draws, and hence its history up to the policy date: the difference between two scenarios
in replicate k is due to the policy alone. Outcomes are the per-replicate metrics of
``runs.parquet`` (``sim.results.outcomes``), counted from each scenario's outcome window (the
policy start); scenarios compared must share that window.

Statistics reported, per outcome:

* per scenario: the median and the 90% interval (5th and 95th percentiles) over replicates; for a
  probability, the share of replicates where the event happened;
* per scenario after the first: the mean over replicates of the paired difference
  (scenario - first scenario) with a seeded bootstrap 95% confidence interval
  (``scipy.stats.bootstrap``; see ``bootstrap_ci``), and the shares of replicates where the
  difference is negative and positive.

Time to de-escalation is NaN when a replicate never de-escalated. It is reported honestly in two
rows: the days (quantiles over all replicates with "never" ranked last, so a median of "never"
means more than half never de-escalated; paired differences only over the replicates where both
scenarios de-escalated, with their number), and the share that never de-escalated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats

from sim.analysis.alternatives import DEPENDS as DEPENDS_TEXT
from sim.analysis.alternatives import (
    HOLDS,
    AlternativeSet,
    ruled_out,
    sign_table,
    world_overrides,
)
from sim.analysis.alternatives import POSTERIOR as POSTERIOR_STRUCTURE
from sim.analysis.posterior import (
    Posterior,
    PosteriorError,
    draw_of_replicate,
    posterior_difference,
    posterior_statistics,
    resample_draws,
    run_posterior,
    with_values,
)
from sim.results.outcomes import COMPARED, OUTCOME_BY_KEY, Kind, Outcome, definitions
from sim.scenario import LoadedScenario

CONFIDENCE = 0.95
BCA_MAX_N = 5000
BATCH = 1000
QUANTILES = (0.05, 0.5, 0.95)
META_FILE = "comparison.json"

OUTCOMES: tuple[Outcome, ...] = tuple(OUTCOME_BY_KEY[k] for k in COMPARED)
"""The outcomes of a comparison, in table order (``sim.results.outcomes.COMPARED``)."""


class CompareError(ValueError):
    """Scenarios that cannot be compared (different windows or replicates)."""


def outcome_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Return the compared outcomes of each replicate, indexed by ``run``.

    Parameters
    ----------
    runs : pandas.DataFrame
        A ``runs.parquet`` table (columns ``run`` and ``sim.results.outcomes.METRICS``).

    Returns
    -------
    pandas.DataFrame
        One column per ``OUTCOMES`` key; counts as floats, probabilities as 0/1, days to
        de-escalation as days or NaN (never).
    """
    r = runs.set_index("run").sort_index()
    return pd.DataFrame({o.key: o.values(r) for o in OUTCOMES}, index=r.index)


def bootstrap_ci(
    diff: np.ndarray, seed: int | Sequence[int], confidence: float = CONFIDENCE
) -> tuple[float, float, str]:
    """Return a bootstrap confidence interval of the mean of paired differences.

    Parameters
    ----------
    diff : ndarray
        Paired differences, one per replicate (finite).
    seed : int or sequence of int
        Seed of the resampling (``numpy.random.default_rng``), so the interval is reproducible.
    confidence : float
        Confidence level.

    Returns
    -------
    (float, float, str)
        Lower and upper bounds and the method used. Both bounds equal the value when every
        difference is the same (the bootstrap distribution is degenerate: method "constant");
        NaN when fewer than two differences are given.

    Notes
    -----
    ``scipy.stats.bootstrap``: BCa intervals (Efron 1987, JASA 82:171-185) with 9,999 resamples
    up to 5,000 replicates; above that the BCa jackknife costs O(n^2), so the percentile interval
    with 1,999 resamples is used (the mean of thousands of differences is close to normal, where
    both agree). If BCa cannot be computed the percentile interval is used.
    """
    d = np.asarray(diff, dtype=float)
    if d.size and np.all(d == d[0]):
        return float(d[0]), float(d[0]), "constant"
    if d.size < 2:
        return float("nan"), float("nan"), "none"
    key = int(seed) if np.ndim(seed) == 0 else tuple(int(s) for s in seed)
    if d.size > BCA_MAX_N:  # memoise the small ones only (the memo holds their bytes)
        return _bootstrap_seeded.__wrapped__(d.tobytes(), key, float(confidence))
    return _bootstrap_seeded(d.tobytes(), key, float(confidence))


@functools.lru_cache(maxsize=256)
def _bootstrap_seeded(data: bytes, seed: int | tuple, confidence: float) -> tuple:
    """``bootstrap_ci`` of the differences ``data`` (float64 bytes), memoised.

    A comparison computes the same interval twice (its table and ``posterior_statistics``'s
    ``mc_ci95``), and the workshop page recomputes unchanged pairs; the bootstrap is seeded,
    so the memo returns exactly what a new computation would.
    """
    d = np.frombuffer(data, dtype=float)
    method, resamples = ("BCa", 9999) if d.size <= BCA_MAX_N else ("percentile", 1999)
    kwargs = dict(confidence_level=confidence, vectorized=True, batch=BATCH)
    res = stats.bootstrap(
        (d,),
        np.mean,
        method=method,
        n_resamples=resamples,
        rng=np.random.default_rng(seed),
        **kwargs,
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        method = "percentile"
        res = stats.bootstrap(
            (d,),
            np.mean,
            method=method,
            n_resamples=resamples,
            rng=np.random.default_rng(seed),
            **kwargs,
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return lo, hi, method


def summarise(values: np.ndarray, kind: Kind) -> dict[str, float]:
    """Return n, mean, median, 5% and 95% quantiles of one scenario's outcome.

    Parameters
    ----------
    values : ndarray
        One value per replicate (NaN = never, for ``kind="days"``).
    kind : {"count", "share", "days"}
        How the outcome is summarised. Quantiles use the inverted empirical CDF, so each is a
        value some replicate took (no interpolated "1.05 deaths"). For ``"days"`` NaN ranks
        above every number, so a quantile is "never" (inf) when that many replicates never
        de-escalated, and the mean is over the replicates that did.

    Returns
    -------
    dict
        ``n``, ``mean``, ``median``, ``q05``, ``q95`` (inf = never).
    """
    x = np.asarray(values, dtype=float)
    if kind == "days":
        ranked = np.where(np.isnan(x), np.inf, x)
        q = np.quantile(ranked, QUANTILES, method="inverted_cdf") if x.size else [np.nan] * 3
        done = x[~np.isnan(x)]
        mean = float(done.mean()) if done.size else float("nan")
    else:
        q = np.quantile(x, QUANTILES, method="inverted_cdf") if x.size else [np.nan] * 3
        mean = float(x.mean()) if x.size else float("nan")
    return {
        "n": int(x.size),
        "mean": mean,
        "median": float(q[1]),
        "q05": float(q[0]),
        "q95": float(q[2]),
    }


def paired_difference(
    base: np.ndarray, other: np.ndarray, kind: Kind, seed: int | Sequence[int]
) -> dict[str, float]:
    """Return the paired difference ``other - base`` over replicates with its bootstrap CI.

    Parameters
    ----------
    base, other : ndarray
        Outcomes of the same replicates (same order) under two scenarios.
    kind : {"count", "share", "days"}
        For ``"days"`` only pairs where both are finite are used (``n`` says how many).
    seed : int or sequence of int
        Bootstrap seed.

    Returns
    -------
    dict
        ``n``, ``mean``, ``median``, ``ci_low``, ``ci_high``, ``share_lower`` (other < base),
        ``share_higher`` (other > base), ``ci_method``.

    Raises
    ------
    CompareError
        If the arrays differ in length.
    """
    a = np.asarray(base, dtype=float)
    b = np.asarray(other, dtype=float)
    if a.shape != b.shape:
        raise CompareError(f"paired outcomes differ in length ({a.size} vs {b.size})")
    keep = ~(np.isnan(a) | np.isnan(b))
    if kind != "days" and not keep.all():
        raise CompareError("a count or probability outcome holds NaN")
    d = b[keep] - a[keep]
    lo, hi, method = bootstrap_ci(d, seed)
    n = int(d.size)
    return {
        "n": n,
        "mean": float(d.mean()) if n else float("nan"),
        "median": float(np.median(d)) if n else float("nan"),
        "ci_low": lo,
        "ci_high": hi,
        "share_lower": float((d < 0).mean()) if n else float("nan"),
        "share_higher": float((d > 0).mean()) if n else float("nan"),
        "ci_method": method,
    }


@dataclass(frozen=True)
class Comparison:
    """The statistics of a paired comparison (``table``) and the paired outcomes themselves."""

    names: tuple[str, ...]
    outcomes: dict[str, pd.DataFrame]
    table: pd.DataFrame
    seed: int

    @property
    def base(self) -> str:
        """The scenario every other one is compared against (the first)."""
        return self.names[0]

    def differences(self, name: str, key: str) -> np.ndarray:
        """Return the per-replicate differences ``name - base`` of one outcome (NaN dropped)."""
        d = (self.outcomes[name][key] - self.outcomes[self.base][key]).to_numpy(float)
        return d[~np.isnan(d)]


def compare_outcomes(outcomes: dict[str, pd.DataFrame], seed: int) -> Comparison:
    """Compute the comparison table of scenarios' paired outcomes.

    Parameters
    ----------
    outcomes : dict of str to DataFrame
        Scenario name -> ``outcome_frame`` (the first entry is the base of the differences).
    seed : int
        Seed of the bootstrap resampling.

    Returns
    -------
    Comparison
        ``table`` has one row per (outcome, scenario) with the scenario's summary and, except for
        the base, its paired difference against the base (columns ``diff_*``).

    Raises
    ------
    CompareError
        If the scenarios do not hold the same replicates.
    """
    names = tuple(outcomes)
    if not names:
        raise CompareError("nothing to compare")
    base = outcomes[names[0]]
    for name in names[1:]:
        idx = outcomes[name].index
        if not idx.equals(base.index):
            raise CompareError(
                f"scenario '{name}' holds replicates {_span(idx)} but '{names[0]}' holds "
                f"{_span(base.index)}: paired outcomes need the same replicates"
            )
    rows = []
    for i, o in enumerate(OUTCOMES):
        for j, name in enumerate(names):
            x = outcomes[name][o.key].to_numpy(float)
            row: dict[str, object] = {
                "outcome": o.key,
                "label": o.label,
                "kind": o.kind,
                "scenario": name,
                **summarise(x, o.kind),
            }
            if j > 0:
                d = paired_difference(base[o.key].to_numpy(float), x, o.kind, (seed, i, j))
                row.update({"diff_vs": names[0], **{f"diff_{k}": v for k, v in d.items()}})
            rows.append(row)
    return Comparison(names, dict(outcomes), pd.DataFrame(rows), seed)


def _span(idx: pd.Index) -> str:
    return f"{len(idx)} ({idx.min()}..{idx.max()})" if len(idx) else "0"


# --- formatting -----------------------------------------------------------------------------


def _num(x: float, digits: int = 3) -> str:
    if np.isnan(x):
        return "-"
    if np.isinf(x):
        return "never"
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e6:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def format_level(row: pd.Series) -> str:
    """Return a scenario's cell: "median [5%, 95%]" or, for a probability, a percentage."""
    if row["kind"] == "share":
        return f"{100 * row['mean']:.1f}%"
    return f"{_num(row['median'])} [{_num(row['q05'])}, {_num(row['q95'])}]"


def format_difference(row: pd.Series) -> str:
    """Return a difference cell: "mean [95% CI]" (percentage points for probabilities)."""
    if pd.isna(row.get("diff_n")) or row["diff_n"] == 0:
        return "-"
    if row["kind"] == "share":
        m, lo, hi = (100 * row["diff_mean"], 100 * row["diff_ci_low"], 100 * row["diff_ci_high"])
        return f"{m:+.1f} pp [{lo:+.1f}, {hi:+.1f}]"
    m, lo, hi = row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"]
    text = f"{m:+.3g} [{lo:+.3g}, {hi:+.3g}]"
    if row["kind"] == "days":
        text += f" (n={int(row['diff_n'])})"
    return text


def level_matrix(comp: Comparison) -> list[list[str]]:
    """Return rows [label, cell per scenario] of the per-scenario table."""
    t = comp.table
    out = []
    for o in OUTCOMES:
        sub = t[t["outcome"] == o.key].set_index("scenario")
        out.append([o.label] + [format_level(sub.loc[n]) for n in comp.names])
    return out


def difference_matrix(comp: Comparison) -> list[list[str]]:
    """Return rows [label, difference cell per non-base scenario] of the differences table."""
    t = comp.table
    out = []
    for o in OUTCOMES:
        sub = t[t["outcome"] == o.key].set_index("scenario")
        out.append([o.label] + [format_difference(sub.loc[n]) for n in comp.names[1:]])
    return out


def to_markdown(comp: Comparison, header: str = "") -> str:
    """Return the comparison as Markdown: per-scenario table, differences table, definitions."""

    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        lines = [
            "| " + " | ".join(head) + " |",
            "|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|",
        ]
        return lines + ["| " + " | ".join(r) + " |" for r in rows]

    n = int(comp.table["n"].iloc[0]) if len(comp.table) else 0
    lines = [header] if header else []
    lines += [
        f"## Outcomes per scenario ({n} paired replicates; median [90% interval]; "
        "probabilities as % of replicates)",
        "",
    ]
    lines += table(["outcome", *comp.names], level_matrix(comp))
    if len(comp.names) > 1:
        lines += [
            "",
            f"## Paired differences against `{comp.base}` (mean of scenario - "
            f"{comp.base} over replicates [{CONFIDENCE:.0%} bootstrap CI]; "
            "percentage points for probabilities)",
            "",
        ]
        lines += table(["outcome", *comp.names[1:]], difference_matrix(comp))
    lines += ["", "Definitions: " + DEFINITIONS, ""]
    return "\n".join(lines)


DEFINITIONS = (
    "outcomes are counted from the policy start to the end of the horizon. "
    + definitions(COMPARED)
    + " Differences are paired: replicate k of every scenario shares its random draws and its "
    "history before the policy start."
)


# --- running --------------------------------------------------------------------------------


def check_windows(loaded: Sequence[LoadedScenario]) -> tuple[dt.date, dt.date, dt.date]:
    """Check that scenarios can be paired; return their (start, outcome_from, end).

    Parameters
    ----------
    loaded : sequence of LoadedScenario
        The scenarios in comparison order.

    Returns
    -------
    (date, date, date)
        Common start, outcome-window start and end.

    Raises
    ------
    CompareError
        If their horizons (days are counted from the start, so draws pair by day) or outcome
        windows differ.
    """
    first = loaded[0].scenario
    for ls in loaded[1:]:
        sc = ls.scenario
        if (sc.start, sc.end) != (first.start, first.end):
            raise CompareError(
                f"{ls.path}: horizon {sc.start}..{sc.end} differs from {loaded[0].path} "
                f"({first.start}..{first.end}); paired replicates need the same horizon"
            )
    names = [ls.scenario.name for ls in loaded]
    for i, name in enumerate(names):
        j = names.index(name)
        if j < i and loaded[j].sha256 != loaded[i].sha256:  # the same file twice is allowed
            raise CompareError(
                f"{loaded[i].path}: scenario name '{name}' is also the name of "
                f"{loaded[names.index(name)].path}; give each compared scenario its own name: "
                "tables and figures tell them apart by name"
            )
    # different intervention dates: every scenario counts outcomes from the earliest one
    return first.start, min(ls.scenario.outcome_from for ls in loaded), first.end


def common_window(loaded: Sequence[LoadedScenario], outcome_from: dt.date) -> list:
    """Return the scenarios with their outcome window set to start at ``outcome_from``."""
    out = []
    for ls in loaded:
        if ls.scenario.outcome_from != outcome_from:
            sc = ls.scenario.model_copy(update={"outcome_start": outcome_from})
            ls = dataclasses.replace(ls, scenario=sc)
        out.append(ls)
    return out


# names of the comparison's own files and folders: no scenario directory may take them
RESERVED_NAMES = frozenset(
    {
        META_FILE,
        "comparison.csv",
        "comparison.md",
        "brief.pdf",
        "plots",
        ".lock",
        "posterior_outcomes.parquet",
        "alternatives_outcomes.parquet",
    }
)


def directory_names(loaded: Sequence[LoadedScenario]) -> list[str]:
    """Return a results sub-directory name per scenario (its name, suffixed if repeated).

    A repeated name gets the first free suffix ``_2``, ``_3``, ... that is neither another
    scenario's name nor a name already given, so no two scenarios share a directory.

    Raises
    ------
    CompareError
        If a scenario is named like one of the comparison's own files (``RESERVED_NAMES``).
    """
    taken = {ls.scenario.name for ls in loaded}
    for ls in loaded:
        if ls.scenario.name in RESERVED_NAMES or ls.scenario.name.lower() in RESERVED_NAMES:
            raise CompareError(
                f"{ls.path}: scenario name {ls.scenario.name!r} is the name of a file of the "
                f"comparison itself ({', '.join(sorted(RESERVED_NAMES))}); rename the scenario"
            )
    out: list[str] = []
    for ls in loaded:
        name = ls.scenario.name
        if name in out:
            k = 2
            while f"{name}_{k}" in taken or f"{name}_{k}" in out:
                k += 1
            name = f"{name}_{k}"
        out.append(name)
    return out


def _check_own_files(out: Path) -> None:
    """Refuse a comparison directory whose comparison files escsim did not write."""
    meta = out / META_FILE
    try:
        data = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else None
    except (OSError, UnicodeDecodeError, ValueError):
        data = False
    if data is False or (data is not None and not (isinstance(data, dict) and "scenarios" in data)):
        raise CompareError(f"{meta}: not written by escsim compare; choose another --out")
    for name in ("comparison.csv", "comparison.md"):
        if (out / name).is_symlink() or (data is None and (out / name).exists()):
            raise CompareError(
                f"{out / name}: not written by escsim compare (no {META_FILE} vouches for it); "
                "choose another --out"
            )


def load_runs(results_dir: Path) -> pd.DataFrame:
    """Read a results directory's ``runs.parquet`` as a DataFrame."""
    return pq.read_table(Path(results_dir) / "runs.parquet").to_pandas()


def run_comparison(
    loaded: Sequence[LoadedScenario],
    out: Path,
    runs: int,
    seed: int | None = None,
    engine: str = "kernel",
    overwrite: bool = False,
    resume: bool = False,
    progress: Callable[[str], AbstractContextManager] | None = None,
    argv: list[str] | None = None,
    posterior: Posterior | None = None,
    per_draw: int = 1,
    parameters_note: str = "",
    alternatives: AlternativeSet | None = None,
) -> Comparison:
    """Run scenarios on common random numbers and compare their paired outcomes.

    Parameters
    ----------
    loaded : sequence of LoadedScenario
        Scenarios; the first is the base of the differences.
    out : Path
        Comparison directory: each scenario's results go to ``out/<name>/``; the comparison to
        ``comparison.csv``, ``comparison.md`` and ``comparison.json``.
    runs : int
        Replicates per scenario.
    seed : int, optional
        Seed shared by every scenario (default: the first scenario's).
    engine : {"kernel", "mesa"}
        Engine.
    overwrite, resume : bool
        Passed to ``sim.runner.run_scenario`` for each scenario directory.
    progress : callable, optional
        Called with a scenario name; returns a context manager that yields a (done, total)
        callback (or None) for that scenario's run, e.g. ``sim.cli.progress_bar``.
    argv : list of str, optional
        Command line recorded in the manifests.
    posterior : Posterior, optional
        A posterior sample (``sim.analysis.posterior``): the same replicates are also run with
        replicate k at resampled draw ``k // per_draw`` in every scenario, and
        ``comparison.json`` lists the posterior answer (``posterior_answer``). None: the fixed
        (fitted) point only.
    per_draw : int
        Replicates per posterior draw (``runs`` must be a multiple).
    parameters_note : str
        Recorded in ``comparison.json`` as how the parameters were chosen (e.g. why a
        comparison fell back to the fixed point).
    alternatives : AlternativeSet, optional
        Structural alternatives (``sim.analysis.alternatives``): with a posterior, the
        posterior replicates are run again under each, and ``comparison.json`` lists each
        pair's answer under each structure and whether its sign flips.

    Returns
    -------
    Comparison
        The statistics (also written to ``out``).

    Raises
    ------
    CompareError
        If the scenarios cannot be paired (checked before anything is run).
    sim.runner.RunError
        If a results directory cannot be written.
    """
    from sim.results.files import directory_lock
    from sim.runner import preflight

    if not loaded:
        raise CompareError("give at least one scenario")
    _, outcome_from, _ = check_windows(loaded)
    loaded = common_window(loaded, outcome_from)  # different intervention dates: the earliest
    seed = loaded[0].scenario.seed if seed is None else seed
    if posterior is not None:
        if engine != "kernel":
            raise CompareError(
                f"--engine {engine}: comparisons over the posterior run on the kernel; "
                "pass --fixed-parameters or --engine kernel"
            )
        try:
            draw_of_replicate(runs, per_draw)
        except PosteriorError as exc:
            raise CompareError(str(exc)) from None
    names = directory_names(loaded)
    out = Path(out)
    if not (overwrite or resume):
        for name in names:
            for marker, what in (
                ("manifest.json", "finished results"),
                ("plan.json", "an unfinished run"),
            ):
                if (out / name / marker).exists():
                    raise CompareError(
                        f"{out / name}: already holds {what}; choose another --out or pass "
                        "--overwrite (or --resume to reuse them)"
                    )
    # every directory is checked before anything runs or is deleted
    if out.exists():
        _check_own_files(out)
    for ls, name in zip(loaded, names, strict=True):
        preflight(ls, out / name, runs, seed, engine, resume=resume, overwrite=overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CompareError(
            f"{out}: cannot create the comparison directory: {exc.strerror}"
        ) from None
    with directory_lock(out):
        return _run_locked(
            loaded,
            names,
            out,
            runs,
            seed,
            engine,
            overwrite,
            resume,
            progress,
            argv,
            (posterior, per_draw, parameters_note, alternatives),
        )


def _run_locked(
    loaded, names, out, runs, seed, engine, overwrite, resume, progress, argv, post_args
):
    """Run the scenarios and write the comparison (``out`` is locked and checked)."""
    from sim.executors import current_executor
    from sim.results.files import write_text_atomic
    from sim.runner import run_scenario

    start, outcome_from, end = check_windows(loaded)
    starts = {
        n: str(ls.scenario.policy.start if ls.scenario.policy else ls.scenario.start)
        for n, ls in zip(names, loaded, strict=True)
    }
    _check_own_files(out)
    (out / META_FILE).unlink(missing_ok=True)  # a comparison is only redrawn once complete
    results = {}
    for ls, name in zip(loaded, names, strict=True):
        with progress(name) if progress else contextlib.nullcontext() as cb:
            res = run_scenario(
                ls,
                out / name,
                runs,
                seed=seed,
                engine=engine,
                overwrite=overwrite,
                resume=resume,
                progress=cb,
                argv=argv if argv is not None else sys.argv,
                execute=current_executor(),
            )
        results[name] = res.runs.to_pandas()
    frames = {n: outcome_frame(r) for n, r in results.items()}
    comp = compare_outcomes(frames, seed)
    meta = {
        "scenarios": [
            {"name": n, "dir": n, "path": ls.path, "sha256": ls.sha256}
            for n, ls in zip(names, loaded, strict=True)
        ],
        "base": names[0],
        "runs": runs,
        "seed": seed,
        "engine": engine,
        "start": start.isoformat(),
        "outcome_from": outcome_from.isoformat(),
        "policy_starts": starts,
        "end": end.isoformat(),
        "confidence": CONFIDENCE,
    }
    meta.update(posterior_answer(loaded, names, out, frames, seed, *post_args))
    write_outputs(comp, out, meta)
    write_text_atomic(json.dumps(meta, indent=2), out / META_FILE)
    return comp


def markdown_header(meta: dict) -> str:
    """Return the Markdown title block of a comparison from its metadata."""
    names = ", ".join(s["name"] for s in meta["scenarios"])
    starts = meta.get("policy_starts") or {}
    note = ""
    if len(set(starts.values())) > 1:
        note = (
            " Intervention dates differ ("
            + ", ".join(f"{n} {d}" for n, d in starts.items())
            + "): every scenario counts outcomes from the earliest; before its own date a "
            "scenario is the shared history."
        )
    return (
        f"# Paired comparison: {names}\n\n{meta['runs']} replicates each, seed "
        f"{meta['seed']}, engine {meta['engine']}; outcomes counted "
        f"{meta['outcome_from']} to {meta['end']}.{note}\n"
    )


def write_outputs(comp: Comparison, out: Path, meta: dict) -> None:
    """Write ``comparison.csv`` and ``comparison.md`` atomically into ``out``."""
    from sim.results.files import write_text_atomic

    write_text_atomic(comp.table.to_csv(index=False), Path(out) / "comparison.csv")
    text = to_markdown(comp, markdown_header(meta))
    if meta.get("differences"):
        text += "\n" + answer_markdown(meta) + "\n"
    if meta.get("alternatives"):
        text += "\n" + alternatives_markdown(meta) + "\n"
    write_text_atomic(text, Path(out) / "comparison.md")


def load_comparison(out: Path) -> tuple[Comparison, dict]:
    """Recompute a saved comparison from its directory (no model run).

    Parameters
    ----------
    out : Path
        A directory written by ``run_comparison``.

    Returns
    -------
    (Comparison, dict)
        The statistics (identical to the saved ones: the bootstrap is seeded) and the metadata.

    Raises
    ------
    CompareError
        If ``out`` is not a comparison directory or a scenario's results are missing.
    """
    out = Path(out)
    try:
        meta = json.loads((out / META_FILE).read_text())
    except FileNotFoundError:
        raise CompareError(f"{out}: not a comparison directory (no {META_FILE})") from None
    except json.JSONDecodeError as exc:
        raise CompareError(f"{out / META_FILE}: unreadable ({exc.msg})") from None
    frames = {}
    for s in meta["scenarios"]:
        path = out / s["dir"] / "runs.parquet"
        if not path.exists():
            raise CompareError(f"{path}: missing; rerun `escsim compare`")
        frames[s["name"]] = outcome_frame(load_runs(out / s["dir"]))
    return compare_outcomes(frames, int(meta["seed"])), meta


# --- the answer over the posterior (sim.analysis.posterior) ---------------------------------

POSTERIOR_FILE = "posterior_outcomes.parquet"

TOTAL_FOOTNOTE = (
    "difference_mean: mean over replicates of the paired difference scenario - reference (over "
    "the posterior draws when a posterior was used, else at the fixed point). mc_ci95: "
    "bootstrap 95% CI of the mean paired difference at the fixed (fitted) point: Monte Carlo "
    "noise only. total_interval90: 5% and 95% quantiles over posterior draws of the per-draw "
    "difference (the mean of the paired difference over the R replicates sharing that draw; "
    "replicate k runs draw k // R in every scenario): parameter uncertainty plus the noise of "
    "R replicates. p_scenario_lower (p_scenario_higher): share of draws whose per-draw "
    "difference is below (above) 0; the rest are ties. Days to de-escalation: only replicates "
    "where both de-escalated."
)


def _finite_or_none(x):
    if isinstance(x, list):
        return [_finite_or_none(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def posterior_answer(
    loaded: Sequence[LoadedScenario],
    names: Sequence[str],
    out: Path,
    fixed: dict[str, pd.DataFrame],
    seed: int,
    posterior: Posterior | None,
    per_draw: int = 1,
    note: str = "",
    alternatives: AlternativeSet | None = None,
) -> dict:
    """Run the posterior replicates (if a posterior is given) and return the answer metadata.

    The same replicates ``0 .. runs-1`` as the fixed run are run with replicate k at the
    resampled draw ``k // per_draw`` in every scenario (``sim.analysis.posterior``); their
    outcomes are written to ``out/posterior_outcomes.parquet`` (columns ``scenario``, ``run``,
    ``draw``, ``draw_row`` = row of the posterior file, and the outcomes).

    Returns
    -------
    dict
        ``parameters`` (how the parameters were chosen), ``posterior`` (path, draws,
        replicates per draw, wall seconds of the posterior runs; None without one) and
        ``differences`` (one dict per outcome and
        scenario against the reference, the first scenario: see ``TOTAL_FOOTNOTE``).
    """
    import pyarrow as pa

    from sim.results.files import write_parquet_atomic
    from sim.results.outcomes import METRICS

    runs = len(next(iter(fixed.values())))
    post_frames = draw = None
    info = None
    (Path(out) / POSTERIOR_FILE).unlink(missing_ok=True)
    if posterior is not None:
        import time

        t0 = time.perf_counter()
        draw = draw_of_replicate(runs, per_draw)
        rows = resample_draws(posterior, runs // per_draw, seed)
        post_frames = {}
        parts = []
        for ls, name in zip(loaded, names, strict=True):
            metrics = _posterior_metrics(ls, seed, posterior, rows, per_draw)
            frame = outcome_frame(
                pd.DataFrame(metrics, columns=list(METRICS)).assign(run=np.arange(runs))
            )
            post_frames[name] = frame
            parts.append(frame.reset_index().assign(scenario=name, draw=draw, draw_row=rows[draw]))
        table = pd.concat(parts, ignore_index=True)
        write_parquet_atomic(
            pa.Table.from_pandas(table, preserve_index=False), Path(out) / POSTERIOR_FILE
        )
        info = {
            "path": posterior.path,
            "draws": runs // per_draw,
            "replicates_per_draw": per_draw,
            "parameters": list(posterior.names),
            "resampling": "systematic, seeded by the comparison seed",
            "seconds": round(time.perf_counter() - t0, 1),
        }
    (Path(out) / ALTERNATIVES_FILE).unlink(missing_ok=True)
    structures = None
    if post_frames is not None and alternatives is not None and alternatives.items:
        structures = structural_answer(
            loaded, names, out, seed, posterior, rows, per_draw, post_frames, alternatives
        )
    answer = posterior_statistics(fixed, post_frames, draw, seed, OUTCOMES, paired_difference)
    label = (
        f"posterior draws ({info['draws']} from {posterior.path}, {per_draw} replicate(s) "
        "per draw) and the fixed (fitted) point"
        if info
        else "fixed (fitted) point only" + (f": {note}" if note else "")
    )
    return {
        "parameters": label,
        "posterior": info,
        "differences": [{k: _finite_or_none(v) for k, v in r.items()} for r in answer],
        "alternatives": structures,
    }


ALTERNATIVES_FILE = "alternatives_outcomes.parquet"
HEADLINE = "attacks_us"
"""The outcome whose sign the structural alternatives are compared on."""


def pair_rows(frames: dict[str, pd.DataFrame], draw: np.ndarray) -> list[dict]:
    """Return the posterior statistics of every scenario pair on every outcome.

    Pairs: each scenario against the reference (the first: a), then each pair of the others
    with the one given first as b (``strong - truce`` for ``compare strong truce``).
    ``difference_mean`` etc. are of b - a (``sim.analysis.posterior.posterior_difference``);
    ``p_b_lower`` is the share of draws where b's per-draw outcome is below a's.
    """
    names = list(frames)
    pairs = [(names[0], b) for b in names[1:]]  # against the reference
    pairs += [(a, b) for i, b in enumerate(names[1:]) for a in names[i + 2 :]]  # policies
    rows = []
    for o in OUTCOMES:
        for a, b in pairs:
            st = posterior_difference(
                frames[a][o.key].to_numpy(float), frames[b][o.key].to_numpy(float), draw
            )
            rows.append(
                {
                    "outcome": o.key,
                    "kind": o.kind,
                    "a": a,
                    "b": b,
                    "difference_mean": st["difference_mean"],
                    "total_interval90": st["total_interval90"],
                    "p_b_lower": st["p_scenario_lower"],
                    "p_b_higher": st["p_scenario_higher"],
                    "n_draws": st["n_draws"],
                }
            )
    return rows


def structural_answer(
    loaded: Sequence[LoadedScenario],
    names: Sequence[str],
    out: Path,
    seed: int,
    posterior: Posterior,
    rows: np.ndarray,
    per_draw: int,
    post_frames: dict[str, pd.DataFrame],
    alternatives: AlternativeSet,
) -> dict:
    """Rerun the posterior replicates under each structural alternative; return the answer.

    Every alternative runs the same replicates and resampled draws as the posterior run, with
    its values replacing the drawn ones (``sim.analysis.alternatives``), so the differences
    between structures are the structure's doing. Outcomes go to
    ``out/alternatives_outcomes.parquet`` (columns ``structure``, ``scenario``, ``run``,
    ``draw``, ``draw_row`` and the outcomes).

    Returns
    -------
    dict
        ``path`` (the alternatives file), ``outcome`` (the headline outcome), ``structures``
        (``posterior`` then each alternative: name, label, source, parameters, evidence and
        ``pairs``, the ``pair_rows``), ``signs`` (``sim.analysis.alternatives.sign_table`` of
        the headline outcome) and ``seconds``.
    """
    import time

    import pyarrow as pa

    from sim.analysis.design import DesignScenario
    from sim.results.files import write_parquet_atomic
    from sim.results.outcomes import METRICS

    t0 = time.perf_counter()
    runs = len(rows) * per_draw
    draw = draw_of_replicate(runs, per_draw)
    designs = [DesignScenario.of(ls.scenario, seed=seed) for ls in loaded]
    clean = lambda rs: [{k: _finite_or_none(v) for k, v in r.items()} for r in rs]  # noqa: E731
    structures = [
        {
            "name": POSTERIOR_STRUCTURE,
            "label": "the posterior as calibrated",
            "source": posterior.path,
            "parameters": {},
            "log_evidence": None,
            "log_evidence_sd": None,
            "pairs": clean(pair_rows(dict(post_frames), draw)),
        }
    ]
    parts = []
    for alt in alternatives.items:
        sample, world = alt.split()
        post = with_values(posterior, sample)
        frames = {}
        for ds, name in zip(designs, names, strict=True):
            metrics = run_posterior(ds, post, rows, per_draw, world_overrides(world, ds.catalogue))
            frame = outcome_frame(
                pd.DataFrame(metrics, columns=list(METRICS)).assign(run=np.arange(runs))
            )
            frames[name] = frame
            parts.append(
                frame.reset_index().assign(
                    structure=alt.name, scenario=name, draw=draw, draw_row=rows[draw]
                )
            )
        structures.append({**alt.to_json(), "pairs": clean(pair_rows(frames, draw))})
    table = pd.concat(parts, ignore_index=True)
    write_parquet_atomic(
        pa.Table.from_pandas(table, preserve_index=False), Path(out) / ALTERNATIVES_FILE
    )
    answers = {s["name"]: s["pairs"] for s in structures}
    excluded = ruled_out(alternatives.items)
    return {
        "path": alternatives.path,
        "outcome": HEADLINE,
        "structures": structures,
        "ruled_out": excluded,
        "signs": sign_table(answers, HEADLINE, tuple(excluded)),
        "seconds": round(time.perf_counter() - t0, 1),
    }


_POSTERIOR_RUNS: dict[tuple, np.ndarray] = {}
"""Posterior-run outcomes by scenario, seed, draws and sample (see ``_posterior_metrics``)."""


def _posterior_metrics(
    ls: LoadedScenario, seed: int, posterior: Posterior, rows: np.ndarray, per_draw: int
) -> np.ndarray:
    """Return ``run_posterior`` of a scenario, reusing this process's earlier identical run.

    A long-lived process (the workshop page) compares the same scenario again when another
    one's lever moves; the run is a pure function of the scenario (its files and outcome
    window), the seed, the posterior sample and the draws, which make the key.
    """
    from sim.analysis.design import DesignScenario

    key = (
        ls.sha256,
        ls.scenario.outcome_from.isoformat(),
        seed,
        per_draw,
        posterior.path,
        tuple(posterior.names),
        hashlib.sha256(np.ascontiguousarray(posterior.values).tobytes()).hexdigest(),
        hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest(),
    )
    hit = _POSTERIOR_RUNS.get(key)
    if hit is None:
        hit = run_posterior(DesignScenario.of(ls.scenario, seed=seed), posterior, rows, per_draw)
        _POSTERIOR_RUNS[key] = hit
        while len(_POSTERIOR_RUNS) > 32:
            _POSTERIOR_RUNS.pop(next(iter(_POSTERIOR_RUNS)))
    return hit.copy()


def _interval(pair, kind: str) -> str:
    if pair is None or pair[0] is None or pair[1] is None:
        return "-"
    f = 100.0 if kind == "share" else 1.0
    return f"[{f * pair[0]:+.3g}, {f * pair[1]:+.3g}]"


def _fixed_cell(r: dict) -> str:
    m = r["difference_mean_fixed"]
    if m is None:
        return "-"
    f, unit = (100.0, " pp") if r["kind"] == "share" else (1.0, "")
    return f"{f * m:+.3g}{unit} {_interval(r['mc_ci95'], r['kind'])}"


def answer_matrix(meta: dict) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the answer table from ``comparison.json`` metadata.

    Columns: outcome, pair, difference_mean, the fitted point's mean with ``mc_ci95``,
    total_interval90, p_scenario_lower (percentage points for probabilities).
    """
    head = [
        "outcome",
        "scenario - reference",
        "mean difference",
        "fitted point: mean [MC 95% CI]",
        "total 90% (posterior)",
        "P(lower) / P(higher)",
    ]
    rows = []
    for r in meta.get("differences", []):
        o = OUTCOME_BY_KEY[r["outcome"]]
        f = 100.0 if r["kind"] == "share" else 1.0
        m = r["difference_mean"]
        unit = " pp" if r["kind"] == "share" else ""
        p, ph = r["p_scenario_lower"], r.get("p_scenario_higher")
        rows.append(
            [
                o.label,
                f"{r['scenario']} - {r['reference']}",
                "-" if m is None else f"{f * m:+.3g}{unit}",
                _fixed_cell(r),
                _interval(r["total_interval90"], r["kind"]),
                "-" if p is None or ph is None else f"{100 * p:.0f}% / {100 * ph:.0f}%",
            ]
        )
    return head, rows


def answer_markdown(meta: dict) -> str:
    """Return the Markdown section of the answer table with its footnote."""
    head, rows = answer_matrix(meta)
    lines = [
        f"## Differences against the reference `{meta['base']}` "
        f"(parameters: {meta.get('parameters', 'fixed')})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---", ":---"] + ["---:"] * (len(head) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", TOTAL_FOOTNOTE]
    return "\n".join(lines)


def alternatives_matrix(meta: dict) -> tuple[list[str], list[list[str]]] | None:
    """Return the header and rows of the structural-alternatives table, or None without one.

    One row per scenario pair (b - a) on the headline outcome; one column per structure (the
    posterior, then each alternative) holding "mean [total 90%] P(b lower)"; the last column
    says whether the sign flips across structures.
    """
    alt = meta.get("alternatives")
    if not alt:
        return None
    structures = alt["structures"]
    head = ["b - a"] + [s["name"] for s in structures] + ["sign"]
    rows = []
    for sign in alt["signs"]:
        cells = [f"{sign['b']} - {sign['a']}"]
        for s in structures:
            r = next(
                (
                    r
                    for r in s["pairs"]
                    if r["outcome"] == alt["outcome"] and (r["a"], r["b"]) == (sign["a"], sign["b"])
                ),
                None,
            )
            m = None if r is None else r["difference_mean"]
            if m is None:
                cells.append("-")
                continue
            p = r["p_b_lower"]
            share = "" if p is None else f" {100 * p:.0f}%"
            lo, hi = r["total_interval90"] or (None, None)
            cells.append(
                f"{_compact(m, r['kind'])} [{_compact(lo, r['kind'])}, "
                f"{_compact(hi, r['kind'])}]{share}"
            )
        cells.append(
            "flips"
            if sign["flips"]
            else "flips only if ruled out"
            if sign.get("flips_with_excluded")
            else "same"
        )
        rows.append(cells)
    return head, rows


def _compact(x: float | None, kind: str) -> str:
    """Return a signed number for a narrow cell: whole numbers from 100 up, pp for shares."""
    if x is None:
        return "-"
    if kind == "share":
        return f"{100 * x:+.1f}pp"
    return f"{x:+.0f}" if abs(x) >= 100 else f"{x:+.3g}"


def alternatives_verdicts(meta: dict) -> list[str]:
    """Return one sentence per scenario pair whose headline sign flips across structures."""
    alt = meta.get("alternatives")
    if not alt:
        return []
    out = []
    excluded = alt.get("ruled_out") or {}
    if excluded:
        out.append(
            "Ruled out by their evidence (log Bayes factor against the best alternative): "
            + ", ".join(f"{k} ({v:+.1f})" for k, v in excluded.items())
            + "; a sign flip under them alone does not make the answer depend on the structure."
        )
    for sign in alt["signs"]:
        if not sign.get("flips_with_excluded", sign["flips"]):
            continue
        kind = OUTCOME_BY_KEY[sign["outcome"]].kind
        values = ", ".join(
            f"{name} {_compact(v, kind)}" for name, v in sign["difference_mean"].items()
        )
        out.append(
            f"{sign['b']} - {sign['a']}, {OUTCOME_BY_KEY[sign['outcome']].label}: "
            f"{sign['verdict']} ({values})."
        )
    if not any(s.get("flips_with_excluded", s["flips"]) for s in alt["signs"]):
        out.append(f"Every pair keeps its sign under every structure ({HOLDS}).")
    return out


def alternatives_note(meta: dict) -> str:
    """Return the legend of the structural-alternatives table: each structure's label."""
    alt = meta["alternatives"]
    parts = []
    for s in alt["structures"]:
        vals = ", ".join(f"{k} = {v}" for k, v in s["parameters"].items())
        parts.append(f"{s['name']}: {s['label']}" + (f" ({vals}; {s['source']})" if vals else ""))
    label = OUTCOME_BY_KEY[alt["outcome"]].label
    return (
        f"{label}; cells: mean over posterior replicates of b - a [total 90% over draws] and "
        "the share of draws where b is lower; sign: 'flips' when the mean's sign differs "
        f"between structures the evidence leaves ({DEPENDS_TEXT}), 'flips only if ruled out' "
        "when only a structure whose log evidence rules it out flips it, else 'same'. An "
        "alternative's values replace the drawn ones on the same replicates and draws "
        f"(alternatives from {alt['path']}). " + "; ".join(parts) + "."
    )


def alternatives_markdown(meta: dict) -> str:
    """Return the Markdown section of the answer under each structural alternative ("" if none)."""
    table = alternatives_matrix(meta)
    if table is None:
        return ""
    head, rows = table
    lines = [
        "## The answer under each structural alternative",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(head) - 2) + [":---"]) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += [""] + [f"- {v}" for v in alternatives_verdicts(meta)]
    lines += ["", alternatives_note(meta)]
    return "\n".join(lines)


def with_reference(paths: Sequence[Path], reference: Path | None = None) -> list[Path]:
    """Return the scenario paths with the reference first (added if it is not given).

    Parameters
    ----------
    paths : sequence of Path
        Scenario files as given.
    reference : Path, optional
        The reference scenario (default ``status_quo.yaml`` in the first scenario's directory).

    Returns
    -------
    list of Path
        ``reference`` followed by the other paths; a path resolving to the reference is moved
        to the front rather than repeated.
    """
    if not paths:
        return []
    ref = Path(reference) if reference is not None else Path(paths[0]).parent / "status_quo.yaml"
    rest = [p for p in paths if Path(p).resolve() != ref.resolve()]
    return [ref, *rest]
