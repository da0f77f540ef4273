"""Structural alternatives: the policy answer under each competing account of how the world works.

``calibration/episode/alternatives.yaml`` lists alternatives, each a named set of parameter
values that the data cannot tell apart from the posterior (e.g. "US strikes deter attacks" vs
"US strikes provoke them")::

    alternatives:
      - name: deterrence
        label: "US strikes deter attacks"
        source: "events.csv 2024-02-02"
        parameters: {militia.beta_deterrence: 1.04, us.strike_grievance: 0.42}
        episode_parameters: {iran.war_appetite: 1.6}   # optional; recorded, not applied
        log_evidence: null          # or a float
        log_evidence_sd: null

Under an alternative every posterior draw keeps its other values, and the alternative's values
replace the drawn (or scenario) ones (``Alternative.apply``): a name of the posterior sample
(``sim.analysis.calibrate.parameters.TARGETS``) replaces that column of every draw; any other
global parameter path of the scenario schema (``sim.analysis.design.parameter_catalogue``,
e.g. ``iran.appetite``) is written into the world before and after the policy date, except that
a value the scenario's policy sets itself stays the policy's after its start (as for draws). The
paired differences are then recomputed on the same replicates and draws (``sign_table`` says
whether a pair's sign differs between the posterior and the alternatives).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from sim.analysis.calibrate.parameters import TARGETS
from sim.analysis.design import Parameter

DEFAULT_ALTERNATIVES = Path("calibration") / "episode" / "alternatives.yaml"
POSTERIOR = "posterior"
"""Name of the answer with no alternative applied (the posterior as calibrated)."""
DEPENDS = "the answer depends on which structure is true"
HOLDS = "same sign under every structure"
HOLDS_LEFT = "same sign under every structure the evidence leaves"
RULED_OUT_MARGIN = 1.0
"""An alternative is ruled out when its log evidence falls below the best alternative's by more
than this and by more than 2 standard deviations of the difference's Monte Carlo noise (the
rule of ``sim.analysis.calibrate.episode``: within that, the data cannot tell them apart)."""
FIELDS = (
    "name",
    "label",
    "source",
    "parameters",
    "episode_parameters",
    "log_evidence",
    "log_evidence_sd",
)
"""Fields of an alternative. ``episode_parameters`` are values fitted to the conditions of the
episode that discriminated the alternatives (``escsim episode``: the regional war's appetite,
the directives' reach); they are recorded, not applied to the scenarios compared."""


class AlternativesError(ValueError):
    """An alternatives file that cannot be used (one line naming file, line, field)."""


@dataclass(frozen=True)
class Alternative:
    """One structural alternative: a name, its label and source, and the values it fixes."""

    name: str
    label: str
    source: str
    parameters: Mapping[str, float | str] = field(default_factory=dict)
    log_evidence: float | None = None
    log_evidence_sd: float | None = None

    def split(self) -> tuple[dict[str, float], dict[str, float | str]]:
        """Return (posterior-sample names -> value, other schema paths -> value)."""
        sample = {k: float(v) for k, v in self.parameters.items() if k in TARGETS}
        world = {k: v for k, v in self.parameters.items() if k not in TARGETS}
        return sample, world

    def to_json(self) -> dict:
        """Return the alternative as a JSON-ready dict."""
        return {
            "name": self.name,
            "label": self.label,
            "source": self.source,
            "parameters": dict(self.parameters),
            "log_evidence": self.log_evidence,
            "log_evidence_sd": self.log_evidence_sd,
        }


@dataclass(frozen=True)
class AlternativeSet:
    """The alternatives of one file, with where they were read."""

    path: str
    items: tuple[Alternative, ...]


def _line_of(path: Path, text: str, keys: Sequence[object]) -> int:
    """Return the 1-based line of the YAML node at ``keys`` (the closest found), else 1."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return 1
    line = 1
    for key in keys:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if k.value == key]
            if not found:
                break
            line = next(k for k, v in node.value if k.value == key).start_mark.line + 1
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
        else:
            break
    if node is not None:
        line = node.start_mark.line + 1
    return line


def read_alternatives(path: Path, catalogue: Sequence[Parameter]) -> tuple[Alternative, ...]:
    """Read and check an alternatives file.

    Parameters
    ----------
    path : Path
        The YAML file (format in the module docstring).
    catalogue : sequence of Parameter
        The scenario's global parameters (``parameter_catalogue``): the paths an alternative
        may set besides the posterior sample's names.

    Returns
    -------
    tuple of Alternative
        In file order (none when the list is empty).

    Raises
    ------
    AlternativesError
        One line naming the file, line, field, what was expected and what was found.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise AlternativesError(f"{path}: cannot read the alternatives ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise AlternativesError(f"{path}:{line}: not valid YAML") from None

    def fail(keys: Sequence[object], what: str, found: object) -> AlternativesError:
        where = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in keys)
        where = where.replace(".[", "[")
        return AlternativesError(
            f"{path}:{_line_of(path, text, keys)}: field '{where}': expected {what}; "
            f"found {found!r}"
        )

    if not isinstance(doc, dict) or not isinstance(doc.get("alternatives"), list):
        raise fail(["alternatives"], "a list of alternatives", type(doc).__name__)
    paths = {p.path: p for p in catalogue if not p.path.startswith("policy.")}
    out: list[Alternative] = []
    for i, entry in enumerate(doc["alternatives"]):
        at = ["alternatives", i]
        if not isinstance(entry, dict):
            raise fail(at, "a mapping", entry)
        extra = sorted(set(entry) - set(FIELDS))
        if extra:
            raise fail([*at, extra[0]], f"one of {', '.join(FIELDS)}", extra[0])
        name = entry.get("name")
        if not isinstance(name, str) or not name.isidentifier() or name == POSTERIOR:
            raise fail([*at, "name"], f"an identifier other than '{POSTERIOR}'", name)
        if name in {a.name for a in out}:
            raise fail([*at, "name"], "a name not used by another alternative", name)
        for key in ("label", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise fail([*at, key], "a non-empty text", entry.get(key))
        params = entry.get("parameters")
        if not isinstance(params, dict) or not params:
            raise fail([*at, "parameters"], "a mapping of parameter path to value", params)
        for key, value in params.items():
            where = [*at, "parameters", key]
            p = paths.get(key)
            if key not in TARGETS and p is None:
                raise fail(where, "a posterior parameter or a global schema path", key)
            if p is not None and p.kind == "categorical":
                if value not in p.categories:
                    raise fail(where, f"one of {', '.join(map(str, p.categories))}", value)
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(where, "a number", value)
            lo, hi = p.bounds if p is not None else (0.0, math.inf)
            lo = -math.inf if lo is None else lo
            hi = math.inf if hi is None else hi
            if not (math.isfinite(value) and lo <= value <= hi):
                raise fail(where, f"a finite number in [{lo:g}, {hi:g}]", value)
        evidence = []
        for key in ("log_evidence", "log_evidence_sd"):
            v = entry.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise fail([*at, key], "a number or null", v)
            evidence.append(None if v is None else float(v))
        out.append(Alternative(name, entry["label"], entry["source"], dict(params), *evidence))
    return tuple(out)


def world_overrides(
    values: Mapping[str, float | str], catalogue: Sequence[Parameter]
) -> list[tuple[Parameter, float]]:
    """Return (parameter, coded value) for an alternative's schema paths (categories coded)."""
    paths = {p.path: p for p in catalogue}
    out = []
    for key, v in values.items():
        p = paths[key]
        out.append((p, float(p.categories.index(v)) if p.kind == "categorical" else float(v)))
    return out


def sign_of(x: float | None) -> int | None:
    """Return -1, 0 or +1 (None for a missing value)."""
    if x is None or not np.isfinite(x):
        return None
    return int(np.sign(x))


def ruled_out(items: Sequence[Alternative]) -> dict[str, float]:
    """Return the alternatives the evidence rules out, each with its log Bayes factor vs the best.

    Only alternatives with a ``log_evidence`` take part; one is ruled out when its log Bayes
    factor against the best is below ``-RULED_OUT_MARGIN`` and below -2 standard deviations
    of its noise (``log_evidence_sd`` of both, added in quadrature; 0 when not given).
    """
    scored = [a for a in items if a.log_evidence is not None]
    if len(scored) < 2:
        return {}
    best = max(scored, key=lambda a: a.log_evidence)
    out = {}
    for a in scored:
        bf = a.log_evidence - best.log_evidence
        sd = math.hypot(a.log_evidence_sd or 0.0, best.log_evidence_sd or 0.0)
        if bf < -max(RULED_OUT_MARGIN, 2.0 * sd):
            out[a.name] = round(bf, 2)
    return out


def sign_table(
    answers: Mapping[str, Sequence[dict]], outcome: str, excluded: Sequence[str] = ()
) -> list[dict]:
    """Return, per scenario pair, its mean difference on ``outcome`` under each structure.

    Parameters
    ----------
    answers : mapping of str to list of dict
        Structure name (``POSTERIOR`` first, then each alternative) -> its pair rows (``a``,
        ``b``, ``outcome``, ``difference_mean`` = mean over replicates of b - a, ...).
    outcome : str
        The outcome whose sign is compared.
    excluded : sequence of str
        Structures the evidence rules out (``ruled_out``): shown, but a flip they alone cause
        does not make the answer depend on the structure.

    Returns
    -------
    list of dict
        One per pair: ``a``, ``b``, ``outcome``, ``difference_mean`` (structure -> value),
        ``flips`` (True when the signs differ between the structures the evidence leaves),
        ``flips_with_excluded`` (True when they differ between all structures) and
        ``verdict`` (``DEPENDS``, ``HOLDS_LEFT`` or ``HOLDS``).
    """
    pairs: dict[tuple[str, str], dict[str, float | None]] = {}
    for structure, rows in answers.items():
        for r in rows:
            if r["outcome"] == outcome:
                pairs.setdefault((r["a"], r["b"]), {})[structure] = r["difference_mean"]
    out = []
    for (a, b), means in pairs.items():
        every = {sign_of(v) for v in means.values()} - {None}
        left = {sign_of(v) for k, v in means.items() if k not in excluded} - {None}
        flips, flips_any = len(left) > 1, len(every) > 1
        out.append(
            {
                "a": a,
                "b": b,
                "outcome": outcome,
                "difference_mean": means,
                "flips": flips,
                "flips_with_excluded": flips_any,
                "verdict": DEPENDS if flips else HOLDS_LEFT if flips_any else HOLDS,
            }
        )
    return out
