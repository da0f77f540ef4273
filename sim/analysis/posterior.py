"""Policy comparisons over the calibration's posterior: one parameter draw per replicate.

``escsim calibrate`` writes ``posterior.parquet``: one row per draw, one column per estimated
parameter (names of ``sim.analysis.calibrate.parameters.TARGETS``, plus detection rates
``detect.*`` that act in the observation model only), and a ``weight`` column. A comparison over
the posterior:

1. resamples ``D`` draws from the weighted sample, deterministically from the seed
   (``resample_draws``);
2. gives replicate ``k`` the draw ``k // R`` (``R`` replicates per draw; ``draw_of_replicate``),
   identically in every scenario, so replicate k of every scenario shares both its random draws
   and its parameter point (common random numbers and common parameters);
3. writes each draw into the scenario's arrays with ``apply_params`` (the one mapping of a name
   to an array slot), except that a value the scenario's policy sets itself stays the policy's
   after its start (``draw_world``: the rule of ``sim.analysis.design.apply_point``);
4. runs all replicates in one kernel call per chunk (``sim.engines.kernel.run_kernel_design``).

Statistics, per outcome and scenario against the reference (``posterior_statistics``):

* ``difference_mean``: the mean over all posterior replicates of the paired difference
  (scenario - reference);
* ``mc_ci95``: the Monte Carlo (bootstrap) 95% CI of the mean paired difference at the fitted
  point (the fixed-parameter run of the same replicates; ``sim.analysis.compare``);
* ``total_interval90``: the 5% and 95% quantiles over the D draws of the per-draw difference,
  where the per-draw difference is the mean over the R replicates sharing that draw of the
  paired difference. It spans parameter uncertainty and (for small R) Monte Carlo noise of a
  single history; with R = 1 it is the predictive interval of the paired difference in one
  replicate;
* ``p_scenario_lower``: the share of draws whose per-draw difference is below 0 (the scenario's
  outcome lower than the reference's); ties count as not lower. ``p_scenario_higher`` is the
  share above 0: for a 0/1 outcome with one replicate per draw most draws tie, so both are
  reported.

For time to de-escalation (NaN = never) a draw's difference averages only the replicates where
both scenarios de-escalated; draws with none are left out (``n_draws`` says how many remain).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.analysis.calibrate.parameters import TARGETS, apply_params
from sim.analysis.design import DesignScenario, Parameter
from sim.engines.design import Design
from sim.model import layout as L
from sim.model.world import World

WEIGHT = "weight"
TOTAL_QUANTILES = (0.05, 0.95)
DEFAULT_POSTERIOR = Path("calibration") / "posterior.parquet"
CHUNK = 250
"""Design rows per kernel call (bounds the event buffer's memory)."""


class PosteriorError(ValueError):
    """A posterior sample that cannot be used (missing, unreadable, no model parameter)."""


@dataclass(frozen=True)
class Posterior:
    """A weighted posterior sample of model parameters.

    Attributes
    ----------
    names : tuple of str
        Model-parameter names (keys of ``TARGETS``), in column order.
    values : ndarray (n, len(names))
        One row per draw.
    weights : ndarray (n,)
        Normalised weights (sum 1).
    path : str
        Where the sample was read.
    """

    names: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray
    path: str = ""


def read_posterior(path: Path) -> Posterior:
    """Read a ``posterior.parquet`` written by ``escsim calibrate``.

    Columns that are not model parameters (``detect.*``, unknown names) are ignored: they do not
    reach the simulator. A missing ``weight`` column means equal weights.

    Raises
    ------
    PosteriorError
        If the file is missing or unreadable, holds no draw, no model parameter, a non-finite
        value or a negative or all-zero weight.
    """
    path = Path(path)
    try:
        df = pq.read_table(path).to_pandas()
    except FileNotFoundError:
        raise PosteriorError(f"{path}: no posterior sample (run `escsim calibrate`)") from None
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise PosteriorError(f"{path}: unreadable posterior sample ({exc})") from None
    names = tuple(c for c in df.columns if c in TARGETS)
    if not names:
        raise PosteriorError(
            f"{path}: no model parameter column (expected some of {', '.join(sorted(TARGETS))})"
        )
    if df.empty:
        raise PosteriorError(f"{path}: holds no draw")
    values = df[list(names)].to_numpy(float)
    if not np.isfinite(values).all():
        raise PosteriorError(f"{path}: a parameter value is not finite")
    w = df[WEIGHT].to_numpy(float) if WEIGHT in df else np.ones(len(df))
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise PosteriorError(f"{path}: weights must be finite, non-negative and not all zero")
    return Posterior(names, values, w / w.sum(), str(path))


def resample_draws(post: Posterior, n_draws: int, seed: int) -> np.ndarray:
    """Return the indices of ``n_draws`` draws resampled by weight (systematic resampling).

    Systematic resampling (one uniform offset from ``numpy.random.default_rng((seed, 12))``,
    then evenly spaced points on the weights' CDF) takes each draw a number of times within one
    of its expected count, so the resample follows the weights with less noise than independent
    draws; the order is then shuffled with the same generator so draws are not sorted by row.
    The result depends on the seed only.
    """
    rng = np.random.default_rng((int(seed), 12))
    cdf = np.cumsum(post.weights)
    cdf[-1] = 1.0
    u = (rng.random() + np.arange(n_draws)) / n_draws
    idx = np.searchsorted(cdf, u, side="right").astype(np.int64)
    return rng.permutation(np.minimum(idx, len(cdf) - 1))


def draw_of_replicate(runs: int, per_draw: int) -> np.ndarray:
    """Return the draw of each replicate ``0 .. runs-1`` (replicate k: draw ``k // per_draw``)."""
    if per_draw < 1 or runs % per_draw:
        raise PosteriorError(
            f"--runs ({runs}) must be a multiple of the replicates per draw ({per_draw})"
        )
    return np.arange(runs, dtype=np.int64) // per_draw


def policy_set_indices(ds: DesignScenario) -> np.ndarray:
    """Return the G indices whose value after the policy date the scenario's policy sets."""
    return np.array(
        sorted(L.G_INDEX[p.g_name] for p in ds.catalogue if p.path in ds.policy_paths),
        dtype=np.int64,
    )


def draw_world(ds: DesignScenario, names: tuple[str, ...], values: np.ndarray) -> World:
    """Return the scenario's World at one posterior draw.

    ``apply_params`` writes the draw before and after the policy date; the values the policy
    sets (``DesignScenario.policy_paths``) are then restored after its start, as
    ``sim.analysis.design.apply_point`` does: the policy fixes its lever, the draw is about the
    world it acts in.
    """
    w = apply_params(ds.world, names, values)
    keep = policy_set_indices(ds)
    if keep.size:
        w.g_after[keep] = ds.world.g_after[keep]
    return w


def with_values(post: Posterior, values: Mapping[str, float]) -> Posterior:
    """Return the sample with the named columns set to one value in every draw.

    A name the sample does not hold (a key of ``TARGETS``) is added as a column.
    """
    names = list(post.names)
    cols = post.values.copy()
    for name, v in values.items():
        if name in names:
            cols[:, names.index(name)] = float(v)
        else:
            names.append(name)
            cols = np.column_stack([cols, np.full(len(cols), float(v))])
    return Posterior(tuple(names), cols, post.weights, post.path)


def fix_values(ds: DesignScenario, w: World, fixed: Sequence[tuple[Parameter, float]]) -> World:
    """Write fixed values of global parameters into ``w`` (in place) and return it.

    Values are written before and after the policy date, except after the date where the
    scenario's policy sets the value itself (its lever stays the policy's).
    """
    for p, v in fixed:
        i = L.G_INDEX[p.g_name]
        w.g_before[i] = v
        if p.path not in ds.policy_paths:
            w.g_after[i] = v
    return w


def posterior_design(
    ds: DesignScenario,
    post: Posterior,
    draws: np.ndarray,
    fixed: Sequence[tuple[Parameter, float]] = (),
) -> Design:
    """Return the Design whose point j is the posterior draw ``draws[j]`` in this scenario.

    ``fixed`` (parameter, value) pairs are then written into every point (``fix_values``):
    a structural alternative's values (``sim.analysis.alternatives``).
    """
    d = Design.repeat(ds.world, len(draws))
    for j, i in enumerate(draws):
        w = fix_values(ds, draw_world(ds, post.names, post.values[i]), fixed)
        d.g_before[j], d.g_after[j], d.fp[j], d.ap[j] = w.g_before, w.g_after, w.fp, w.ap
    return d


def run_posterior(
    ds: DesignScenario,
    post: Posterior,
    draws: np.ndarray,
    per_draw: int,
    fixed: Sequence[tuple[Parameter, float]] = (),
) -> np.ndarray:
    """Run replicates ``0 .. runs-1``, replicate k at posterior row ``draws[k // per_draw]``.

    ``fixed``: values written into every draw (``posterior_design``).

    Returns
    -------
    ndarray (runs, len(METRICS))
        Per-replicate outcome metrics (``sim.results.outcomes.replicate_metrics``).
    """
    from sim.executors import current_executor
    from sim.results.outcomes import METRICS

    design = posterior_design(ds, post, draws, fixed)
    runs = len(draws) * per_draw
    point = draw_of_replicate(runs, per_draw)
    tasks = [(ds.world, design, point[a : min(runs, a + CHUNK)], a) for a in range(0, runs, CHUNK)]
    parts = current_executor().map(posterior_chunk, tasks)
    return np.concatenate(parts) if parts else np.empty((0, len(METRICS)))


def posterior_chunk(w: World, design: Design, points: np.ndarray, first: int) -> np.ndarray:
    """Run replicates ``first ..`` at design rows ``points``; return their outcome metrics."""
    from sim.engines.kernel import run_kernel_design
    from sim.results.outcomes import replicate_metrics

    n = len(points)
    reps = np.arange(first, first + n, dtype=np.int64)
    records, rows = run_kernel_design(w, design, points, reps)
    return replicate_metrics(records, reps[rows], first, n, w.n_days, w.outcome_day, w.n_factions)


def per_draw_difference(base: np.ndarray, other: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """Return per draw the mean over its replicates of ``other - base`` (NaN pairs left out).

    A draw whose replicates are all NaN pairs gets NaN.
    """
    d = np.asarray(other, float) - np.asarray(base, float)
    ok = ~np.isnan(d)
    n = np.bincount(draw[ok], minlength=draw.max() + 1)
    s = np.bincount(draw[ok], weights=d[ok], minlength=draw.max() + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def posterior_difference(base: np.ndarray, other: np.ndarray, draw: np.ndarray) -> dict:
    """Return ``difference_mean``, ``total_interval90``, ``p_scenario_lower`` and counts.

    Parameters
    ----------
    base, other : ndarray (runs,)
        Posterior-run outcomes of the reference and the scenario, replicate k at draw
        ``draw[k]`` in both.
    draw : ndarray (runs,) int
        The draw of each replicate (``draw_of_replicate``).

    Returns
    -------
    dict
        ``difference_mean`` (mean over replicates with both values finite),
        ``total_interval90`` ([5%, 95%] quantiles over draws of the per-draw difference),
        ``p_scenario_lower`` (share of draws with a per-draw difference < 0),
        ``p_scenario_higher`` (> 0; the rest are ties, common for probabilities), ``n_draws``
        (draws with a finite per-draw difference).
    """
    d = np.asarray(other, float) - np.asarray(base, float)
    d = d[~np.isnan(d)]
    per = per_draw_difference(base, other, draw)
    per = per[~np.isnan(per)]
    if not per.size:
        nan = float("nan")
        return {
            "difference_mean": nan,
            "total_interval90": [nan, nan],
            "p_scenario_lower": nan,
            "p_scenario_higher": nan,
            "n_draws": 0,
        }
    q = np.quantile(per, TOTAL_QUANTILES)
    return {
        "difference_mean": float(d.mean()),
        "total_interval90": [float(q[0]), float(q[1])],
        "p_scenario_lower": float((per < 0).mean()),
        "p_scenario_higher": float((per > 0).mean()),
        "n_draws": int(per.size),
    }


def posterior_statistics(
    fixed: dict[str, pd.DataFrame],
    post: dict[str, pd.DataFrame] | None,
    draw: np.ndarray | None,
    seed: int,
    outcomes: Sequence,
    paired: Callable[..., dict],
) -> list[dict]:
    """Return the answer rows: per outcome and scenario against the reference (the first).

    Parameters
    ----------
    fixed : dict of str to DataFrame
        Fixed-point outcomes per scenario (``sim.analysis.compare.outcome_frame``).
    post : dict of str to DataFrame, optional
        Posterior-run outcomes, the same replicates; None for a fixed-parameter comparison.
    draw : ndarray, optional
        The draw of each replicate of the posterior run.
    seed : int
        Bootstrap seed of ``mc_ci95``.
    outcomes : sequence of Outcome
        The compared outcomes (``sim.analysis.compare.OUTCOMES``).
    paired : callable
        ``sim.analysis.compare.paired_difference`` (passed in: ``compare`` imports this module).

    Returns
    -------
    list of dict
        ``outcome``, ``kind``, ``scenario``, ``reference``, ``difference_mean_fixed``,
        ``mc_ci95``, and with a posterior ``difference_mean``, ``total_interval90``,
        ``p_scenario_lower``, ``n_draws`` (without one, ``difference_mean`` is the fixed
        point's and the posterior fields are None).
    """
    names = list(fixed)
    ref = names[0]
    rows = []
    for i, o in enumerate(outcomes):
        for j, name in enumerate(names[1:], start=1):
            fx = paired(
                fixed[ref][o.key].to_numpy(float),
                fixed[name][o.key].to_numpy(float),
                o.kind,
                (seed, i, j),
            )
            row = {
                "outcome": o.key,
                "kind": o.kind,
                "scenario": name,
                "reference": ref,
                "difference_mean_fixed": fx["mean"],
                "mc_ci95": [fx["ci_low"], fx["ci_high"]],
                "difference_mean": fx["mean"],
                "total_interval90": None,
                "p_scenario_lower": None,
                "p_scenario_higher": None,
                "n_draws": None,
            }
            if post is not None and draw is not None:
                row.update(
                    posterior_difference(
                        post[ref][o.key].to_numpy(float), post[name][o.key].to_numpy(float), draw
                    )
                )
            rows.append(row)
    return rows


# --- a run over the posterior (escsim run --posterior) ---------------------------------------


@dataclass(frozen=True)
class PosteriorRun:
    """The per-replicate parameters of ``escsim run --posterior``: replicate k at draw k.

    Replicate k runs posterior row ``rows[k // per_draw]``, the rows resampled from the sample
    by ``resample_draws`` with the run's seed, exactly as ``escsim compare`` does, so replicate
    k of a run and of a comparison's posterior run of the same scenario, seed and number of
    replicates are the same. Picklable (a ``sim.runner.ChunkTask.design``): each chunk builds
    only the parameter points its replicates use (``chunk``).

    Attributes
    ----------
    post : Posterior
        The sample (every row, with its weights).
    rows : ndarray (draws,) int
        The resampled row of each draw.
    per_draw : int
        Replicates per draw.
    keep : ndarray of int
        G indices the scenario's policy sets: they stay the policy's after its start.
    sha256 : str
        SHA-256 of the sample's file ("" when not read from a file).
    seed : int
        The resampling seed (the run's seed).
    """

    post: Posterior
    rows: np.ndarray
    per_draw: int
    keep: np.ndarray
    sha256: str
    seed: int

    @classmethod
    def of(
        cls, ds: DesignScenario, post: Posterior, runs: int, seed: int, per_draw: int = 1
    ) -> PosteriorRun:
        """Return the run design of ``runs`` replicates of ``ds`` over ``post``.

        Raises
        ------
        PosteriorError
            If ``runs`` is not a multiple of ``per_draw``.
        """
        from sim.results.files import sha256_file

        draw_of_replicate(runs, per_draw)
        sha = sha256_file(Path(post.path)) if post.path and Path(post.path).is_file() else ""
        rows = resample_draws(post, runs // per_draw, seed)
        return cls(post, rows, per_draw, policy_set_indices(ds), sha, int(seed))

    def record(self) -> dict:
        """Return everything needed to rebuild this design (JSON-ready; the manifest keeps it)."""
        return {
            "kind": "posterior",
            "path": self.post.path,
            "sha256": self.sha256,
            "names": list(self.post.names),
            "values": self.post.values.tolist(),
            "weights": self.post.weights.tolist(),
            "draws": int(len(self.rows)),
            "replicates_per_draw": self.per_draw,
            "seed": self.seed,
            "keep": self.keep.tolist(),
            "resampling": "systematic (resample_draws), seeded by the run's seed; replicate k "
            "runs draw k // replicates_per_draw",
        }

    @classmethod
    def from_record(cls, record: dict) -> PosteriorRun:
        """Rebuild the design from ``record()`` (a manifest's ``parameters``).

        Raises
        ------
        PosteriorError
            If the record is not a posterior design's.
        """
        try:
            if record["kind"] != "posterior":
                raise KeyError("kind")
            post = Posterior(
                tuple(record["names"]),
                np.asarray(record["values"], dtype=float),
                np.asarray(record["weights"], dtype=float),
                record["path"],
            )
            rows = resample_draws(post, int(record["draws"]), int(record["seed"]))
            keep = np.asarray(record["keep"], dtype=np.int64)
            return cls(
                post,
                rows,
                int(record["replicates_per_draw"]),
                keep,
                record["sha256"],
                int(record["seed"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PosteriorError(f"manifest field 'parameters': unusable ({exc})") from None

    def chunk(self, world: World, rep_start: int, n_reps: int) -> tuple[Design, np.ndarray]:
        """Return the Design and the point of each replicate ``rep_start .. + n_reps - 1``."""
        reps = np.arange(rep_start, rep_start + n_reps, dtype=np.int64)
        rows = self.rows[reps // self.per_draw]
        used, points = np.unique(rows, return_inverse=True)
        d = Design.repeat(world, len(used))
        for j, i in enumerate(used):
            w = apply_params(world, self.post.names, self.post.values[i])
            if self.keep.size:
                w.g_after[self.keep] = world.g_after[self.keep]
            d.g_before[j], d.g_after[j], d.fp[j], d.ap[j] = w.g_before, w.g_after, w.fp, w.ap
        return d, points.astype(np.int64)
