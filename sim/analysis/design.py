"""Evaluate a design: parameter points x replicates x scenarios on common random numbers.

A design is a table of parameter points, each column named by its path in the scenario schema
(``militia.beta_deterrence``, ``us.strike_grievance``, ``pm.legitimacy``). Every point is run
for replicates ``0 .. R-1`` of one seed in every scenario, so replicate k of every point and
every scenario shares its random draws (common random numbers): differences between points and
between scenarios are paired.

How a point's value enters a compiled ``World`` (``apply_point``):

* a parameter ``block.name`` is the world's value before and after the policy date, except that
  a value the scenario's policy sets itself stays the policy's after its start (the policy
  fixes its lever; the uncertainty is about the world it acts in);
* a lever ``policy.block.name`` sets the value after the policy date only (``World.g_after``),
  and only in the scenario that owns it (``Parameter.owner``, the scenario's name; a design
  comparing A and B samples B's levers without touching A's policy).

Ranges for sampling (``parameter_catalogue``): the schema's bounds where they span at most 1
(probabilities and shares), else the default x [1/2, 2] within the schema's bounds (the
schema's bounds of rates, durations and indices, such as 1-3650 days, are validity limits, not
plausible ranges); a default of 0 gives [lower bound, lower bound + 1]. ``range_table`` prints
the rule used for each parameter.
"""

from __future__ import annotations

import dataclasses
import io
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import annotated_types
import numpy as np
import pandas as pd

from sim import vocab as V
from sim.model import layout as L
from sim.model.world import World, compile_world
from sim.results.outcomes import METRICS, replicate_metrics
from sim.scenario import LoadedScenario, Scenario
from sim.scenario.schema import IranParams, MilitiaParams, PMParams, TruceParams, USParams

# schema block -> (pydantic model, prefix of its entries in layout.G_NAMES)
BLOCKS: dict[str, tuple[type, str]] = {
    "us": (USParams, "us_"),
    "militia": (MilitiaParams, "m_"),
    "iran": (IranParams, "ir_"),
    "pm": (PMParams, "pm_"),
    "truce": (TruceParams, "truce_"),
}
# schema names whose G entry is spelled differently
G_RENAMED = {"pm.legitimacy": "pm_legitimacy0"}
LEVER_PREFIX = "policy."
RULE_SCHEMA = "schema bounds"
RULE_AROUND = "default x [1/2, 2] within schema bounds"
RULE_ZERO = "default 0: [lower bound, lower bound + 1]"
RULE_LEVER = "baseline and policy values: [min / 2, max x 2] within schema bounds"


@dataclass(frozen=True)
class Parameter:
    """One sampled parameter: its schema path, G entry, default, range and kind."""

    path: str
    g_name: str
    default: float
    lo: float
    hi: float
    kind: str  # "real" or "categorical" (categories coded 0 .. n-1 in the G vector)
    rule: str
    lever: bool = False  # declared "(policy lever)" in the schema
    categories: tuple = ()
    bounds: tuple[float, float] = (0.0, 1.0)  # the schema's validity bounds
    owner: str | None = None  # a lever applies only to the scenario of this name (None: all)

    @property
    def ident(self) -> str:
        """The path as a Python identifier (``us.strike_rate`` -> ``us__strike_rate``)."""
        return self.path.replace(".", "__")

    def as_lever(self) -> Parameter:
        """Return this parameter as a lever (``policy.`` path: applies after the policy date)."""
        return dataclasses.replace(self, path=LEVER_PREFIX + self.path, lever=True)


def _bounds(field) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = float(m.ge)
        elif isinstance(m, annotated_types.Le):
            hi = float(m.le)
    return lo, hi


def _range(default: float, lo: float, hi: float) -> tuple[float, float, str]:
    if hi - lo <= 1.0:
        return lo, hi, RULE_SCHEMA
    if default > 0.0:
        return max(lo, default / 2.0), min(hi, default * 2.0), RULE_AROUND
    return lo, min(hi, lo + 1.0), RULE_ZERO


def parameter_catalogue(sc: Scenario) -> tuple[Parameter, ...]:
    """Return every global parameter of the scenario (one per ``layout.G_NAMES`` entry).

    Defaults are the scenario's values before its policy. Faction, agency and inject values
    are not in the catalogue.

    Parameters
    ----------
    sc : Scenario
        A validated scenario.

    Returns
    -------
    tuple of Parameter
        In ``G_NAMES`` order.
    """
    found: dict[str, Parameter] = {}
    for block, (model, prefix) in BLOCKS.items():
        values = getattr(sc, block)
        for name, field in model.model_fields.items():
            path = f"{block}.{name}"
            value = getattr(values, name)
            lever = "policy lever" in (field.description or "")
            if name == "lethality":  # probabilities per weapon
                for w in V.WEAPONS:
                    d = float(getattr(value, w))
                    lo, hi, rule = _range(d, 0.0, 1.0)
                    found[f"{prefix}lethality_{w}"] = Parameter(
                        f"{path}.{w}",
                        f"{prefix}lethality_{w}",
                        d,
                        lo,
                        hi,
                        "real",
                        rule,
                        bounds=(0.0, 1.0),
                    )
                continue
            g_name = G_RENAMED.get(path, prefix + name)
            if g_name not in L.G_INDEX:
                continue  # e.g. iran.agencies
            if isinstance(value, bool):
                cats: tuple = (False, True)
                found[g_name] = Parameter(
                    path, g_name, float(value), 0, 1, "categorical", "choices", lever, cats
                )
            elif isinstance(value, str):
                cats = typing.get_args(field.annotation)
                if path == "us.doctrine":
                    cats = V.DOCTRINES
                found[g_name] = Parameter(
                    path,
                    g_name,
                    float(cats.index(value)),
                    0,
                    len(cats) - 1,
                    "categorical",
                    "choices",
                    lever,
                    tuple(cats),
                )
            else:
                b_lo, b_hi = _bounds(field)
                lo, hi, rule = _range(float(value), b_lo, b_hi)
                found[g_name] = Parameter(
                    path, g_name, float(value), lo, hi, "real", rule, lever, bounds=(b_lo, b_hi)
                )
    missing = set(L.G_NAMES) - set(found)
    if missing:
        raise RuntimeError(f"G entries without a schema parameter: {sorted(missing)}")
    return tuple(found[n] for n in L.G_NAMES)


def policy_paths(sc: Scenario) -> frozenset[str]:
    """Return the schema paths whose value the scenario's policy sets (its levers)."""
    if sc.policy is None:
        return frozenset()
    paths = set()
    for block in BLOCKS:
        for name, value in getattr(sc.policy, block).items():
            if isinstance(value, Mapping):
                paths.update(f"{block}.{name}.{k}" for k in value)
            else:
                paths.add(f"{block}.{name}")
    return frozenset(paths)


def policy_levers(sc: Scenario, declared: bool = False) -> list[Parameter]:
    """Return the values the scenario's policy sets as levers (``policy.`` paths).

    A lever's default is the policy's value; its range spans the baseline and policy values
    (``RULE_LEVER``), or the schema bounds for probabilities and shares. ``declared`` adds the
    schema's declared levers (``us.doctrine``, ``iran.unified``) the policy does not set, at
    their baseline value.
    """
    paths = policy_paths(sc)
    out = []
    for p in parameter_catalogue(sc):
        if p.path not in paths:
            if declared and p.lever:
                out.append(dataclasses.replace(p.as_lever(), owner=sc.name))
            continue
        block, name = p.path.split(".", 1)
        v = getattr(sc.policy, block)[name]
        if p.kind == "categorical":
            code = float(p.categories.index(v))
            out.append(dataclasses.replace(p.as_lever(), default=code, owner=sc.name))
            continue
        v = float(v)
        if p.rule == RULE_SCHEMA:
            lo, hi, rule = p.lo, p.hi, p.rule
        else:
            lo = max(p.bounds[0], min(p.default, v) / 2.0)
            hi = min(p.bounds[1], max(p.default, v) * 2.0)
            rule = RULE_LEVER
        lever = dataclasses.replace(p.as_lever(), default=v, lo=lo, hi=hi, rule=rule, owner=sc.name)
        out.append(lever)
    return out


def range_table(params: Sequence[Parameter]) -> list[tuple[str, str, str, str, str]]:
    """Return rows (path, default, low, high, rule) describing each parameter's range."""
    rows = []
    for p in params:
        if p.kind == "categorical":
            rows.append(
                (
                    p.path,
                    str(p.categories[int(p.default)]),
                    "",
                    "",
                    ", ".join(map(str, p.categories)),
                )
            )
        else:
            rows.append((p.path, f"{p.default:g}", f"{p.lo:g}", f"{p.hi:g}", p.rule))
    return rows


@dataclass(frozen=True)
class DesignScenario:
    """A scenario compiled once, with the paths its policy sets."""

    name: str
    world: World
    policy_paths: frozenset[str]
    catalogue: tuple[Parameter, ...]
    scenario: Scenario

    @classmethod
    def of(cls, sc: Scenario, seed: int | None = None) -> DesignScenario:
        """Compile a scenario (``seed`` replaces the scenario's seed)."""
        world = compile_world(sc)
        if seed is not None:
            world = dataclasses.replace(world, seed=seed)
        return cls(sc.name, world, policy_paths(sc), parameter_catalogue(sc), sc)


def apply_point(ds: DesignScenario, params: Sequence[Parameter], values: Sequence[float]) -> World:
    """Return the scenario's World with one design point's values written into G.

    Parameters
    ----------
    ds : DesignScenario
        The compiled scenario.
    params : sequence of Parameter
        The design's columns (``policy.``-prefixed paths are levers: after the policy date).
    values : sequence of float
        One value per parameter (categorical: the category's code).

    Returns
    -------
    World
        A copy; ``ds.world`` is not changed.
    """
    g_before = ds.world.g_before.copy()
    g_after = ds.world.g_after.copy()
    for p, v in zip(params, values, strict=True):
        i = L.G_INDEX[p.g_name]
        if p.kind == "categorical":
            v = float(min(int(v), len(p.categories) - 1))
        if p.path.startswith(LEVER_PREFIX):
            if p.owner is None or p.owner == ds.name:
                g_after[i] = v
            continue
        g_before[i] = v
        if p.path not in ds.policy_paths:
            g_after[i] = v
    return dataclasses.replace(ds.world, g_before=g_before, g_after=g_after)


def simulate_points(worlds: Sequence[World], replicates: int) -> np.ndarray:
    """Run replicates ``0 .. R-1`` of each world; return metrics of shape (P, R, len(METRICS)).

    This is the one function to swap when the kernel takes one parameter vector per replicate
    (one kernel call for the whole design instead of one per point).
    """
    from sim.engines.kernel import run_kernel

    out = np.empty((len(worlds), replicates, len(METRICS)))
    for j, w in enumerate(worlds):
        records, reps = run_kernel(w, 0, replicates)
        out[j] = replicate_metrics(
            records, reps, 0, replicates, w.n_days, w.outcome_day, w.n_factions
        )
    return out


def evaluate_design(
    scenarios: Sequence[DesignScenario],
    params: Sequence[Parameter],
    points: np.ndarray,
    replicates: int,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Run every point of a design in every scenario on common random numbers.

    Parameters
    ----------
    scenarios : sequence of DesignScenario
        Scenarios sharing seed and horizon (replicate k is paired across them).
    params : sequence of Parameter
        The design's columns.
    points : ndarray (P, len(params))
        The parameter points.
    replicates : int
        Replicates per point and scenario (the same indices 0 .. R-1 everywhere).
    progress : callable, optional
        Called with (points done, total points) after each point.

    Returns
    -------
    ndarray (S, P, R, len(METRICS))
        Per-replicate outcome metrics.
    """
    points = np.atleast_2d(np.asarray(points, dtype=float))
    seeds = {s.world.seed for s in scenarios}
    if len(seeds) > 1:
        raise ValueError(f"scenarios must share one seed for common random numbers, got {seeds}")
    from sim.executors import current_executor
    from sim.runner import DEFAULT_CHUNK

    # design rows (point x replicate) in tasks of about a chunk each, on the current executor
    worlds = [apply_point(ds, params, x) for ds in scenarios for x in points]
    per_task = max(1, DEFAULT_CHUNK["kernel"] // max(1, replicates))
    tasks = [(worlds[i : i + per_task], replicates) for i in range(0, len(worlds), per_task)]
    total = len(worlds)
    done = None if progress is None else lambda k, _n: progress(min(k * per_task, total), total)
    metrics = current_executor().map(simulate_points, tasks, done)
    shape = (len(scenarios), points.shape[0], replicates, len(METRICS))
    if not metrics:
        return np.empty(shape)
    return np.concatenate(metrics).reshape(shape)


def paired_difference(results: np.ndarray, outcome: str, a: int = 0, b: int = 1) -> np.ndarray:
    """Return, per point, the mean over replicates of outcome(B) - outcome(A) (paired by replicate).

    Replicates where the outcome is undefined (NaN) in either scenario are left out.
    """
    j = METRICS.index(outcome)
    d = results[b, :, :, j] - results[a, :, :, j]
    with np.errstate(invalid="ignore"):
        return np.nanmean(d, axis=1) if np.isnan(d).any() else d.mean(axis=1)


def unit_to_values(params: Sequence[Parameter], unit: np.ndarray) -> np.ndarray:
    """Map points of the unit cube to parameter values (categorical: equal-width bins)."""
    unit = np.atleast_2d(unit)
    out = np.empty_like(unit, dtype=float)
    for i, p in enumerate(params):
        u = np.clip(unit[:, i], 0.0, 1.0)
        if p.kind == "categorical":
            n = len(p.categories)
            out[:, i] = np.minimum(np.floor(u * n), n - 1)
        else:
            out[:, i] = p.lo + u * (p.hi - p.lo)
    return out


def csv_text(table: pd.DataFrame) -> str:
    """Return a design table as CSV text (6 significant digits), as studies write their tables."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, float_format="%.6g")
    return buf.getvalue()


def paired_design(
    a: LoadedScenario, b: LoadedScenario, seed: int | None, error: type[Exception]
) -> tuple[list[DesignScenario], int]:
    """Return the two scenarios of a paired study and its seed (default: the first's).

    Raises ``error`` when the scenarios do not share start, end and outcome window: their
    replicates could not be paired on common random numbers.
    """
    sa, sb = a.scenario, b.scenario
    if (sa.start, sa.end, sa.outcome_from) != (sb.start, sb.end, sb.outcome_from):
        raise error(f"{a.path} and {b.path} must share start, end and outcome window to be paired")
    seed = sa.seed if seed is None else seed
    return [DesignScenario.of(sa, seed), DesignScenario.of(sb, seed)], seed
