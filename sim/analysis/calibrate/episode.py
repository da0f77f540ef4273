"""What the 2023-24 episode says about deterrence vs Iranian restraint: evidence per hypothesis.

The pause of Feb 2024 (no attack on facilities hosting US forces in Iraq from 5 Feb to 21 Apr
2024) followed both the US strikes of 2 and 7 Feb and Iran's call to stand down after Tower 22
(docs/sources.md R1, R2; events.csv 2024-01-28 to 2024-02-07). Each explanation is a declared
**structural alternative** (``ALTERNATIVES``): which mechanism parameters are free, which are
held, with priors and reasons. The tallies of the episode (``scenarios/episode_2023_2024.yaml``,
the Iraq rows of tallies.csv inside its horizon) are fitted under each alternative by the
calibration's own synthetic likelihood (``likelihood.Problem``, the observation model per
counter, common random numbers) and likelihood-tempered SMC (``sampler.smc``), whose running
product of mean incremental weights estimates the log marginal likelihood (evidence) of the
alternative. The run is repeated with several seeds (each seed changes the common random
numbers AND the sampler's draws), so the spread of the estimates is the Monte Carlo noise of
the evidence; log Bayes factors are differences of seed means with the noise of both.

The 2019-21 posterior medians (calibration/fitted.yaml, the scenario's overlay) fix every other
parameter; the episode does not re-fit them. ``verdict`` says "cannot tell apart" when a log
Bayes factor is below ``DECISIVE`` or below twice its noise: the tool does not pick one then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis import observed as O
from sim.analysis.calibrate import parameters as P
from sim.analysis.calibrate.likelihood import Problem, make_problem
from sim.analysis.calibrate.observation import select
from sim.analysis.calibrate.sampler import SmcResult, SmcSettings, smc
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.model.world import World, compile_world
from sim.scenario import Scenario

REPO = O.DATA_DIR.parent.parent
EPISODE_SCENARIO = REPO / "scenarios" / "episode_2023_2024.yaml"
DEFAULT_OUT = O.DATA_DIR.parent / "episode"
DECISIVE = 1.0
"""|log Bayes factor| below this (about 2.7:1) is not taken as evidence for either side."""
PREDICTIVE_OFFSET = 1_000_000
"""Replicate offset of the posterior predictive runs (disjoint from the fit's replicates)."""

US_TARGETS = ("us_base", "us_embassy", "convoy")
CAMPAIGN = ("2023-10-17", "2024-01-31")
PAUSE = ("2024-02-08", "2024-04-20")
"""Windows of the Feb 2024 pause test (tests/science/test_patterns.py, R1, R2): the campaign
must reach 0.4 attacks a day on US targets in Iraq and the pause at most 0.2 x that rate."""
PAUSE_CAMPAIGN_MIN = 0.4
PAUSE_RATIO_MAX = 0.2


# --- the declared priors of the episode's mechanisms ---------------------------------------------

WAR_APPETITE = P.Param(
    "iran.war_appetite",
    P.Prior("lognormal", 2.0, 0.8, 0.05, 10.0),
    "escalation log-odds the regional war adds to every Iranian agency (R1: the IRI campaign "
    "from 17 Oct 2023 after 7 Oct); median 2 turns an even escalation chance into 0.88; wide "
    "(log-sd 0.8) because no source sizes it",
    "the campaign's level, Oct 2023 - Jan 2024 (T44-T57, T62, T77, T82)",
)
BETA_DIRECTIVE = P.Param(
    "militia.beta_directive",
    P.Prior("lognormal", 1.0, 0.7, 0.1, 10.0),
    "log-intensity of a full escalate directive (S1: the Tehran decision 'quickly translated "
    "into a missile attack'); median the scenario's 1; not fitted in 2019-21. The campaign is "
    "about ten times the 2019-21 rate (T58: no attack Jun 2022 - Oct 2023), and in the model "
    "the war reaches the militias only through directives, so the episode needs it free",
    "the campaign's level (with war_appetite), and how far a calm directive lowers it",
)
RESTRAINT = P.Param(
    "iran.restraint",
    P.Prior("lognormal", 2.0, 1.0, 0.05, 30.0),
    "calm log-odds per unit restraint after a red line (R2: Qaani asked the factions to lie "
    "low on 29 Jan 2024, KH suspended attacks on 30 Jan; S0/S3: 7 Nov 2021); median 2, wide. "
    "Upper bound 30 (was 10): 10 was the schema's generic range for log-odds, with no source, "
    "and the first fit sat against it (8.75 [7.3, 9.7]); the restraint stock decays, so a "
    "larger value is not saturated: it keeps directives calm for longer (confounded with "
    "restraint_tau)",
    "the pause (T68: 2 attacks in Iraq 5 Feb - 16 Jul 2024)",
)
RESTRAINT_TAU = P.Param(
    "iran.restraint_tau",
    P.Prior("lognormal", 60.0, 0.8, 3.0, 365.0),
    "how long Iranian restraint lasts (days): the pause ran from 5 Feb to the first drones of "
    "22 Apr 2024, then sporadic attacks (events.csv 2024-04-22 to 2024-10-01); median 60",
    "T68 (the pause and after)",
)
EPISODE_CONDITIONS = (WAR_APPETITE.name, BETA_DIRECTIVE.name)
"""Parameters fitted to the episode's own conditions (the regional war and how far it reaches the
militias), free in every alternative: alternatives.yaml lists them under ``episode_parameters``,
which a policy comparison of 2019-21 scenarios does not apply (only ``parameters``, the
mechanisms the alternatives contrast, are applied there)."""
BETA_DETERRENCE = next(p for p in P.MODEL_PARAMETERS if p.name == "militia.beta_deterrence")
"""The 2019-21 calibration's own prior on deterrence (lognormal median 1, log-sd 1)."""


@dataclass(frozen=True)
class Alternative:
    """A structural hypothesis: parameters free (with priors) and parameters held."""

    name: str
    label: str
    source: str
    free: tuple[P.Param, ...]
    held: dict[str, float | None]  # None: the 2019-21 posterior median (the scenario overlay)

    @property
    def key_parameters(self) -> tuple[str, ...]:
        """The mechanism parameters reported for this alternative (free and held)."""
        return tuple(p.name for p in self.free) + tuple(self.held)


ALTERNATIVES: tuple[Alternative, ...] = (
    Alternative(
        "deterrence",
        "US strikes deter attacks",
        "R2; S3; events.csv 2024-02-02, 2024-02-07",
        (WAR_APPETITE, BETA_DIRECTIVE, BETA_DETERRENCE),
        {"iran.restraint": 0.0},
    ),
    Alternative(
        "restraint",
        "Iran restrains its proxies after a red line (Tower 22)",
        "R2; S0; S3; events.csv 2024-01-28, 2024-01-29, 2024-01-30",
        (WAR_APPETITE, BETA_DIRECTIVE, RESTRAINT, RESTRAINT_TAU),
        {"militia.beta_deterrence": None},
    ),
    Alternative(
        "both",
        "US deterrence and Iranian restraint together",
        "R2; S0; S3; events.csv 2024-01-28 to 2024-02-07",
        (WAR_APPETITE, BETA_DIRECTIVE, BETA_DETERRENCE, RESTRAINT, RESTRAINT_TAU),
        {},
    ),
)
"""The declared alternatives (docs/ODD.md, calibration/README.md)."""


def alternative(name: str) -> Alternative:
    """Return the alternative called ``name`` (ValueError naming the known ones otherwise)."""
    for a in ALTERNATIVES:
        if a.name == name:
            return a
    known = ", ".join(a.name for a in ALTERNATIVES)
    raise ValueError(f"unknown alternative {name!r}; expected one of {known}")


# --- the world: global parameters written by their schema path ------------------------------------


def apply_paths(world: World, names: tuple[str, ...], values: np.ndarray) -> World:
    """Return ``world`` with global parameters set by schema path (others go to ``apply_params``).

    Parameters
    ----------
    world : World
        A compiled scenario.
    names : tuple of str
        Parameter names: ``parameters.TARGETS`` keys, global schema paths
        (``sim.model.layout.parameter_path_index``) or detection rates (skipped).
    values : ndarray
        One value per name.

    Returns
    -------
    World
    """
    w = P.apply_params(world, names, values)
    gb, ga = w.g_before.copy(), w.g_after.copy()
    for name, v in zip(names, np.asarray(values, dtype=float), strict=True):
        if name in P.TARGETS or name.startswith(("scale.", "detection.")):
            continue
        i = L.parameter_path_index(name)
        gb[i] = ga[i] = float(v)
    return dataclasses.replace(w, g_before=gb, g_after=ga)


class EpisodeProblem(Problem):
    """``likelihood.Problem`` whose parameters may be any global schema path."""

    def simulate(
        self, theta: np.ndarray, runs: int | None = None, rep_start: int = 0, spec=None
    ) -> np.ndarray:
        """Return the (runs, K) matrix of simulated latent tallies for natural values ``theta``."""
        n = self.runs if runs is None else runs
        w = apply_paths(self.world, self.names, theta)
        rec, reps = run_kernel(w, rep_start, n)
        self.n_evals += 1
        return O.tally_matrix(rec, reps, rep_start, n, spec or self.spec)


def episode_scenario(path: Path = EPISODE_SCENARIO) -> Scenario:
    """Load the episode WITH its calibration overlay (the 2019-21 posterior medians)."""
    from sim.scenario import load_scenario

    return load_scenario(Path(path)).scenario


def held_values(alt: Alternative, world: World) -> dict[str, float]:
    """Return the held parameters' values (None -> the scenario's value, the 2019-21 median)."""
    return {
        k: float(world.g_before[L.parameter_path_index(k)]) if v is None else float(v)
        for k, v in alt.held.items()
    }


def episode_tallies(scenario: Scenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (fitted tallies of the episode, all tallies with ``status``)."""
    tallies = select(O.load_tallies(), scenario.start, scenario.end)
    fitted = tallies[tallies["status"] == "fit"].reset_index(drop=True)
    if fitted.empty:
        raise ValueError(
            f"no tally to fit inside the episode's horizon {scenario.start} - {scenario.end}"
        )
    return fitted, tallies


def build_problem(alt: Alternative, scenario: Scenario, seed: int, runs: int) -> EpisodeProblem:
    """Return the fitting problem of one alternative (held values already in its world).

    Without the model-discrepancy term of the 2019-21 calibration: a free discrepancy would
    absorb the misfit that tells the alternatives apart (each alternative is scored on its
    mechanisms alone).
    """
    fitted, tallies = episode_tallies(scenario)
    base = make_problem(scenario, fitted, tallies, seed, runs, alt.free, discrepancy=False)
    prob = EpisodeProblem(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})
    held = held_values(alt, prob.world)
    prob.world = apply_paths(prob.world, tuple(held), np.array(list(held.values())))
    return prob


# --- one fit, several seeds, the comparison ------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Budget of the comparison: SMC particles, replicates per evaluation, seeds, predictive."""

    particles: int = 64
    runs: int = 20
    seeds: tuple[int, ...] = (1, 2, 3)
    min_moves: int = 2
    max_moves: int = 3
    max_stages: int = 40
    predictive_draws: int = 48
    predictive_reps: int = 5

    @classmethod
    def quick(cls) -> Budget:
        """Return a smoke-test budget (seconds once numba is compiled; not for conclusions)."""
        return cls(8, 3, (1, 2), 1, 1, 3, 4, 2)


@dataclass
class Fit:
    """One alternative fitted with one seed."""

    alternative: str
    seed: int
    names: tuple[str, ...]
    theta: np.ndarray  # (N, d) natural values, equal weights
    result: SmcResult


@dataclass
class Predictive:
    """Posterior predictive of one alternative: tallies and the Feb 2024 pause."""

    tallies: pd.DataFrame  # id, count, bound, q05, median, q95
    campaign: np.ndarray  # (draws x reps,) attacks/day on US targets in Iraq, 17 Oct - 31 Jan
    pause: np.ndarray  # (draws x reps,) the same, 8 Feb - 20 Apr 2024
    daily: np.ndarray  # (days,) median over draws x reps of attacks/day on US targets
    daily_q: np.ndarray  # (2, days) 5% and 95%

    @property
    def pause_share(self) -> float:
        """Share of predictive runs meeting the pause test (campaign >= 0.4, pause <= 0.2x)."""
        ok = (self.campaign >= PAUSE_CAMPAIGN_MIN) & (self.pause <= PAUSE_RATIO_MAX * self.campaign)
        return float(ok.mean())


@dataclass
class Comparison:
    """Everything ``escsim episode`` writes."""

    budget: Budget
    scenario_path: Path
    fitted_ids: tuple[str, ...]
    fits: dict[str, list[Fit]]
    held: dict[str, dict[str, float]]
    predictive: dict[str, Predictive]
    start: dt.date
    seconds: float

    def evidence(self, name: str) -> tuple[float, float]:
        """Return the mean and sd over seeds of the log evidence of alternative ``name``."""
        z = np.array([f.result.log_evidence for f in self.fits[name]])
        sd = float(z.std(ddof=1)) if len(z) > 1 else float("nan")
        return float(z.mean()), sd

    def converged(self, name: str) -> bool:
        """Return True when every seed's tempering reached the posterior (phi = 1)."""
        return all(f.result.converged for f in self.fits[name])

    def pooled(self, name: str) -> tuple[tuple[str, ...], np.ndarray]:
        """Return (names, draws) pooled over the seeds (equal weights)."""
        fits = self.fits[name]
        return fits[0].names, np.vstack([f.theta for f in fits])

    def medians(self, name: str) -> dict[str, float]:
        """Return posterior medians of the free parameters, and the held values."""
        names, theta = self.pooled(name)
        med = {n: P.round_sig(float(v), 4) for n, v in zip(names, np.median(theta, 0), strict=True)}
        med.update({k: P.round_sig(v, 4) for k, v in self.held[name].items()})
        return med

    def bayes_factor(self, a: str, b: str) -> tuple[float, float]:
        """Return log BF(a vs b) and its Monte Carlo sd."""
        ma, sa = self.evidence(a)
        mb, sb = self.evidence(b)
        return ma - mb, float(np.hypot(sa, sb))


def verdict(log_bf: float, sd: float, a: str, b: str) -> str:
    """Return the sentence the report prints for log BF(a vs b) with Monte Carlo sd ``sd``.

    Below ``DECISIVE`` or within twice the noise, the data cannot tell the two apart (no pick).
    """
    if not np.isfinite(log_bf):
        return f"{a} vs {b}: no estimate"
    noise = 2.0 * sd if np.isfinite(sd) else np.inf
    if abs(log_bf) < DECISIVE or abs(log_bf) <= noise:
        return f"{a} vs {b}: log BF {log_bf:+.2f} (sd {sd:.2f}): the data cannot tell them apart"
    win, lose = (a, b) if log_bf > 0 else (b, a)
    return f"{a} vs {b}: log BF {log_bf:+.2f} (sd {sd:.2f}): the data favour {win} over {lose}"


def fit(
    alt: Alternative,
    scenario: Scenario,
    seed: int,
    budget: Budget,
    progress: Callable[[str], None] | None = None,
) -> Fit:
    """Fit one alternative with one seed (common random numbers and sampler both seeded)."""
    prob = build_problem(alt, scenario, seed, budget.runs)
    settings = SmcSettings(
        particles=budget.particles,
        min_moves=budget.min_moves,
        max_moves=budget.max_moves,
        max_stages=budget.max_stages,
        seed=seed,
    )
    z0 = prob.prior_draws(budget.particles, seed)
    res = smc(prob.loglik_z, prob.logprior_z, z0, settings, progress)
    theta = np.array([prob.from_z(z) for z in res.z])
    return Fit(alt.name, seed, prob.names, theta, res)


def window_rows(start: dt.date) -> pd.DataFrame:
    """Return tally rows counting attacks on US targets in the campaign and pause windows."""
    rows = [
        {"id": k, "start": pd.Timestamp(a), "end": pd.Timestamp(b)}
        for k, (a, b) in {"campaign": CAMPAIGN, "pause": PAUSE}.items()
    ]
    df = pd.DataFrame(rows)
    df["weapons"] = [tuple(("rocket", "ied", "drone", "small_arms"))] * len(df)
    df["targets"] = [US_TARGETS] * len(df)
    df["measure"] = "attacks"
    return df


def daily_rows(start: dt.date, n_days: int) -> pd.DataFrame:
    """Return one-day tally rows of attacks on US targets for every day of the horizon."""
    days = pd.date_range(pd.Timestamp(start), periods=n_days, freq="D")
    df = pd.DataFrame({"id": [f"d{k}" for k in range(n_days)], "start": days, "end": days})
    df["weapons"] = [("rocket", "ied", "drone", "small_arms")] * n_days
    df["targets"] = [US_TARGETS] * n_days
    df["measure"] = "attacks"
    return df


def predictive(
    alt: Alternative, draws: np.ndarray, names: tuple[str, ...], scenario: Scenario, budget: Budget
) -> Predictive:
    """Run the posterior predictive of one alternative over the whole episode.

    Parameters
    ----------
    alt : Alternative
        The alternative (its held values are applied).
    draws : ndarray (N, d)
        Pooled posterior draws (natural values) in ``names`` order.
    names : tuple of str
        Parameter names.
    scenario : Scenario
        The episode with its 2019-21 overlay.
    budget : Budget
        Draws and replicates of the predictive.

    Returns
    -------
    Predictive
    """
    world = compile_world(scenario)
    held = held_values(alt, world)
    world = apply_paths(world, tuple(held), np.array(list(held.values())))
    fitted, _ = episode_tallies(scenario)
    spec_t = O.compile_tallies(fitted, world.start)
    spec_w = O.compile_tallies(window_rows(world.start), world.start)
    spec_d = O.compile_tallies(daily_rows(world.start, world.n_days), world.start)
    rng = np.random.default_rng([len(draws), 7])
    pick = np.sort(
        rng.choice(len(draws), size=min(budget.predictive_draws, len(draws)), replace=False)
    )
    n = budget.predictive_reps
    xt, xw, xd = [], [], []
    det = {n_: k for k, n_ in enumerate(names) if n_.startswith("detection.")}
    for j, k in enumerate(pick):
        w = apply_paths(world, names, draws[k])
        start = PREDICTIVE_OFFSET + j * n
        rec, reps = run_kernel(w, start, n)
        x = O.tally_matrix(rec, reps, start, n, spec_t).astype(float)
        for i, c in enumerate(fitted["counter_id"].astype(str)):
            p = det.get(f"detection.{c}")
            if p is not None and fitted["bound"].iloc[i] != "lower":
                x[:, i] = rng.binomial(x[:, i].astype(np.int64), draws[k][p])
        xt.append(x)
        days = len(pd.date_range(*CAMPAIGN)), len(pd.date_range(*PAUSE))
        xw.append(O.tally_matrix(rec, reps, start, n, spec_w) / np.array(days, dtype=float))
        xd.append(O.tally_matrix(rec, reps, start, n, spec_d))
    xt, xw, xd = np.vstack(xt), np.vstack(xw), np.vstack(xd)
    q = np.quantile(xt, [0.05, 0.5, 0.95], axis=0)
    table = pd.DataFrame(
        {
            "id": fitted["id"],
            "count": fitted["count"],
            "bound": fitted["bound"],
            "q05": q[0],
            "median": q[1],
            "q95": q[2],
        }
    )
    dq = np.quantile(xd, [0.05, 0.5, 0.95], axis=0)
    return Predictive(table, xw[:, 0], xw[:, 1], dq[1], dq[[0, 2]])


def compare(
    budget: Budget,
    scenario_path: Path = EPISODE_SCENARIO,
    names: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Fit every alternative with every seed, then run their posterior predictives.

    Parameters
    ----------
    budget : Budget
        Particles, replicates, seeds, predictive size.
    scenario_path : Path
        The episode scenario (with its 2019-21 calibration overlay).
    names : tuple of str, optional
        Alternatives to fit (default: all of ``ALTERNATIVES``).
    progress : callable, optional
        Status lines.

    Returns
    -------
    Comparison
    """
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    scenario = episode_scenario(scenario_path)
    alts = [alternative(n) for n in names] if names else list(ALTERNATIVES)
    fitted, _ = episode_tallies(scenario)
    world = compile_world(scenario)
    fits: dict[str, list[Fit]] = {}
    held: dict[str, dict[str, float]] = {}
    pred: dict[str, Predictive] = {}
    for alt in alts:
        held[alt.name] = held_values(alt, world)
        fits[alt.name] = []
        for s in budget.seeds:
            say(f"{alt.name}, seed {s}: SMC {budget.particles} particles x {budget.runs} runs")
            f = fit(alt, scenario, s, budget, None)
            say(
                f"{alt.name}, seed {s}: log evidence {f.result.log_evidence:.2f} after "
                f"{len(f.result.stages)} stages, {f.result.evaluations} evaluations"
            )
            fits[alt.name].append(f)
        cmp_ = Comparison(budget, Path(scenario_path), (), fits, held, {}, world.start, 0.0)
        nm, draws = cmp_.pooled(alt.name)
        say(f"{alt.name}: posterior predictive")
        pred[alt.name] = predictive(alt, draws, nm, scenario, budget)
    return Comparison(
        budget,
        Path(scenario_path),
        tuple(fitted["id"]),
        fits,
        held,
        pred,
        world.start,
        time.perf_counter() - t0,
    )


# --- alternatives.yaml ---------------------------------------------------------------------------

ALTERNATIVES_HEADER = "# written by escsim {command}; do not edit by hand\n"


def alternatives_doc(cmp_: Comparison) -> dict:
    """Return the alternatives.yaml document (model parameters only: posterior medians).

    ``parameters`` holds the mechanisms the alternatives contrast (deterrence, restraint);
    ``episode_parameters`` the episode's own conditions (``EPISODE_CONDITIONS``).
    """
    out = []
    for alt in ALTERNATIVES:
        if alt.name not in cmp_.fits:
            continue
        med = {k: v for k, v in cmp_.medians(alt.name).items() if not k.startswith("detection.")}
        z, sd = cmp_.evidence(alt.name)
        out.append(
            {
                "name": alt.name,
                "label": alt.label,
                "source": alt.source,
                "parameters": {k: v for k, v in med.items() if k not in EPISODE_CONDITIONS},
                "episode_parameters": {k: v for k, v in med.items() if k in EPISODE_CONDITIONS},
                "log_evidence": P.round_sig(z, 5) if np.isfinite(z) else None,
                "log_evidence_sd": P.round_sig(sd, 3) if np.isfinite(sd) else None,
            }
        )
    return {"alternatives": out}


def alternatives_text(cmp_: Comparison, command: str = "episode") -> str:
    """Return the text of alternatives.yaml."""
    body = yaml.safe_dump(
        alternatives_doc(cmp_), sort_keys=False, default_flow_style=None, width=100
    )
    return ALTERNATIVES_HEADER.format(command=command) + body


def read_alternatives(path: Path) -> list[dict]:
    """Read and check an alternatives.yaml (ValueError naming the file and field otherwise).

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    list of dict
        One entry per alternative: ``name``, ``label``, ``source``, ``parameters`` (schema
        path -> float), ``log_evidence`` and ``log_evidence_sd`` (float or None).
    """
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("alternatives"), list):
        raise ValueError(f"{path}: expected a mapping with a list 'alternatives'")
    out = []
    for k, a in enumerate(doc["alternatives"]):
        where = f"{path}: alternatives[{k}]"
        if not isinstance(a, dict):
            raise ValueError(f"{where}: expected a mapping; found {type(a).__name__}")
        for key in ("name", "label", "source", "parameters", "log_evidence", "log_evidence_sd"):
            if key not in a:
                raise ValueError(f"{where}: field {key!r} missing")
        if not isinstance(a["name"], str) or not a["name"].isidentifier():
            raise ValueError(f"{where}.name: expected an identifier; found {a['name']!r}")
        for field in ("parameters", "episode_parameters"):
            values = a.get(field, {})
            if not isinstance(values, dict):
                raise ValueError(f"{where}.{field}: expected a mapping")
            for p, v in values.items():
                try:
                    L.parameter_path_index(p)
                except KeyError:
                    raise ValueError(f"{where}.{field}: {p!r} is not a schema path") from None
                if not isinstance(v, int | float):
                    raise ValueError(f"{where}.{field}.{p}: expected a number; found {v!r}")
        for key in ("log_evidence", "log_evidence_sd"):
            if a[key] is not None and not isinstance(a[key], int | float):
                raise ValueError(f"{where}.{key}: expected a number or null; found {a[key]!r}")
        out.append(a)
    return out


__all__ = [
    "ALTERNATIVES",
    "DECISIVE",
    "DEFAULT_OUT",
    "EPISODE_SCENARIO",
    "Alternative",
    "Budget",
    "Comparison",
    "alternatives_text",
    "compare",
    "read_alternatives",
    "verdict",
]
