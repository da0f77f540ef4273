"""Policy levers of the workshop page: read from a scenario, written back as a scenario file.

A lever is one parameter of a scenario's ``policy:`` block (``sim.scenario.schema.Policy``): the
US doctrine, strike rate, red line and posture, the Iranian command (unified or not), the PM's
crackdown, and a truce (on or off, from a date). The page shows each scenario's own values; when
a participant moves a lever, ``apply_levers`` writes a small scenario file that ``extends:`` a
copy of the original and overrides only the moved levers, and loads it with the ordinary loader
(``sim.scenario.load_scenario``). So every lever value is checked by the scenario schema itself,
and the results of a workshop carry, in their manifest, the exact files that produced them
(``escsim replay`` repeats them).

The copy of the original (with the files it includes) is rebuilt in the page's workspace by
``sim.replay.rebuild_scenario``, the same code that rebuilds a run from its manifest: the user's
scenario files are never written to.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from sim import vocab as V
from sim.replay import rebuild_scenario
from sim.results.files import write_text_atomic
from sim.scenario import LoadedScenario, ScenarioError, load_scenario

Kind = Literal["choice", "number", "flag", "date"]


@dataclass(frozen=True)
class Lever:
    """One policy lever: the ``policy:`` field it sets and how the page shows it."""

    key: str
    label: str
    kind: Kind
    help: str
    choices: tuple[str, ...] = ()


LEVERS: tuple[Lever, ...] = (
    Lever(
        "us.doctrine",
        "US doctrine",
        "choice",
        "retaliation doctrine from the policy start (S3)",
        V.DOCTRINES,
    ),
    Lever("us.strike_rate", "US strike rate", "number", "strike hazard per unit attributed blame"),
    Lever("us.red_line", "US red line", "number", "US deaths in one attack that force a strike"),
    Lever("us.posture", "US posture", "number", "1 = bases and convoys, 0 = embassy only"),
    Lever("iran.unified", "Unified Iranian command", "flag", "one command directs every faction"),
    Lever("pm.crackdown", "PM crackdown", "number", "crackdown disposition of the PM (0..1)"),
    Lever("truce", "Truce", "flag", "a truce brokered from the truce date to the end"),
    Lever("truce_start", "Truce from", "date", "first day of the truce (YYYY-MM-DD)"),
)
LEVER_BY_KEY = {lv.key: lv for lv in LEVERS}
FIELD_TO_LEVER = {f"policy.{lv.key}": lv.key for lv in LEVERS if "." in lv.key}
EDITED_SUFFIX = "_edited"


class LeverError(ValueError):
    """A lever value that cannot be used; the message names the lever, expected and found."""


def has_policy(loaded: LoadedScenario) -> bool:
    """Return True if the scenario has a ``policy:`` block (levers act from its start)."""
    return loaded.scenario.policy is not None


def lever_values(loaded: LoadedScenario) -> dict[str, Any]:
    """Return the value of every lever in force after the scenario's policy start.

    Parameters
    ----------
    loaded : LoadedScenario
        A scenario with a ``policy:`` block.

    Returns
    -------
    dict
        Lever key -> value: the policy's override if it sets one, else the scenario's value;
        ``truce`` is True when the policy forces a truce, ``truce_start`` that truce's date (else
        the policy start); ``pm.crackdown`` is that of the last new PM before the policy start
        when the scenario forces one and the policy does not set it.

    Raises
    ------
    LeverError
        If the scenario has no policy block.
    """
    sc = loaded.scenario
    if sc.policy is None:
        raise LeverError(f"{sc.name}: no policy block, so no lever applies")
    pol = sc.policy
    out: dict[str, Any] = {}
    for lv in LEVERS:
        if "." in lv.key:
            block, name = lv.key.split(".")
            out[lv.key] = getattr(pol, block).get(name, getattr(getattr(sc, block), name))
    if "crackdown" not in pol.pm:  # a new PM before the policy start brings its own crackdown
        new_pms = [i for i in sc.injects if i.kind == "new_pm" and i.date < pol.start]
        if new_pms:
            out["pm.crackdown"] = max(new_pms, key=lambda i: i.date).crackdown
    truces = [inj for inj in pol.injects if inj.kind == "truce"]
    out["truce"] = bool(truces)
    out["truce_start"] = truces[0].date if truces else pol.start
    return out


def parse_value(key: str, raw: Any) -> Any:
    """Return a lever value typed as the scenario expects, from what the page holds.

    Numbers and dates may arrive as text (typed by a participant); choices and flags as given.

    Raises
    ------
    LeverError
        If the text is not a number or a date, naming the lever, what was expected and found.
    """
    lv = LEVER_BY_KEY[key]
    if lv.kind == "number":
        if isinstance(raw, bool):
            raise LeverError(f"{lv.label}: expected a number; found {raw!r}")
        if isinstance(raw, int | float):
            return float(raw)
        try:
            return float(str(raw).strip())
        except ValueError:
            raise LeverError(f"{lv.label}: expected a number; found {str(raw)!r}") from None
    if lv.kind == "date":
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise LeverError(
                f"{lv.label}: expected a date written YYYY-MM-DD; found {str(raw)!r}"
            ) from None
    if lv.kind == "flag":
        return bool(raw)
    if raw not in lv.choices:
        raise LeverError(f"{lv.label}: expected one of {', '.join(lv.choices)}; found {raw!r}")
    return raw


def changed_levers(loaded: LoadedScenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the levers whose (parsed) value differs from the scenario's own.

    Raises
    ------
    LeverError
        If a value cannot be parsed (``parse_value``).
    """
    own = lever_values(loaded)
    try:
        parsed = {k: parse_value(k, v) for k, v in values.items() if k in LEVER_BY_KEY}
    except LeverError as exc:
        raise LeverError(f"{loaded.scenario.name}: {exc}") from None
    changed = {k: v for k, v in parsed.items() if v != own[k]}
    if "truce_start" in changed and not parsed.get("truce", own["truce"]):
        del changed["truce_start"]  # the date of a truce that is off changes nothing
    if changed.keys() & {"truce", "truce_start"}:
        changed["truce"] = parsed.get("truce", own["truce"])
        changed["truce_start"] = parsed.get("truce_start", own["truce_start"])
    return changed


def policy_overlay(loaded: LoadedScenario, changed: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``policy:`` mapping that sets the changed levers over the scenario's policy.

    Parameter blocks are merged by the loader (only the keys written here change); the list of
    policy injects is replaced, so it is written whole: the policy's own injects without its
    truces, plus the truce of the lever when it is on (to the end of the horizon; each faction's
    compliance from its roster).
    """
    sc = loaded.scenario
    assert sc.policy is not None
    policy: dict[str, Any] = {}
    for key, value in changed.items():
        if "." in key:
            block, name = key.split(".")
            policy.setdefault(block, {})[name] = value
    if "truce" in changed:
        injects = [
            inj.model_dump(exclude_defaults=True)
            for inj in sc.policy.injects
            if inj.kind != "truce"
        ]
        if changed["truce"]:
            start = changed["truce_start"]
            injects.append(
                {
                    "date": start,
                    "kind": "truce",
                    "days": max((sc.end - start).days + 1, 1),
                    "source": "workshop page lever: truce to the end of the horizon",
                }
            )
        policy["injects"] = injects
    return policy


def _describe_change(key: str, old: Any, new: Any) -> str:
    label = LEVER_BY_KEY[key].label
    if key == "truce":
        return f"{label} {'on' if new else 'off'}"
    return f"{label} {old} -> {new}"


def edited_text(loaded: LoadedScenario, changed: Mapping[str, Any], extends: str) -> str:
    """Return the text of the scenario file that applies ``changed`` levers to ``extends``."""
    sc = loaded.scenario
    own = lever_values(loaded)
    what = "; ".join(_describe_change(k, own[k], v) for k, v in changed.items())
    doc = {
        "name": f"{sc.name}{EDITED_SUFFIX}",
        "description": f"{sc.description} Levers moved on the workshop page: {what}.".strip(),
        "extends": extends,
        "policy": policy_overlay(loaded, changed),
    }
    head = (
        f"# Written by the escsim workshop page: {sc.name} ({Path(loaded.path).name}) with the\n"
        "# levers moved on the page. Everything else comes from the file it extends.\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@functools.lru_cache(maxsize=32)
def _load_copy(path: str) -> LoadedScenario:
    """Load a finished workspace copy (its files are written once and never changed)."""
    return load_scenario(Path(path))


def workspace_copy(
    loaded: LoadedScenario | Sequence[LoadedScenario], workspace: Path
) -> LoadedScenario:
    """Return a copy of the scenario(s) and their included files, rebuilt under ``workspace``.

    The copy keeps the files' relative layout, so a scenario written next to it can ``extends:``
    it (or, given several scenarios of one directory, any of them) and name the same
    ``calibration:`` file. Returns the copy of the first scenario, loaded.
    """
    group = [loaded] if isinstance(loaded, LoadedScenario) else list(loaded)
    key = hashlib.sha256("".join(ls.sha256 for ls in group).encode()).hexdigest()[:16]
    where = Path(workspace) / "scenarios" / key
    ready = where / "ready"
    if ready.exists():
        return _load_copy(ready.read_text())
    files: dict[str, str] = {}
    for ls in group:
        for p, t in ls.files or ((ls.path, ls.text),):
            files.setdefault(p, t)
    manifest = {"scenario": {"files": [{"path": p, "text": t} for p, t in files.items()]}}
    copy = rebuild_scenario(manifest, where)
    write_text_atomic(copy.path, ready)
    return copy


def apply_levers(
    loaded: LoadedScenario, values: Mapping[str, Any], workspace: Path
) -> LoadedScenario:
    """Return the scenario with the page's lever values (itself if no lever moved).

    Parameters
    ----------
    loaded : LoadedScenario
        The scenario as read from its file (with a ``policy:`` block).
    values : mapping
        Lever key -> value as held by the page (text for numbers and dates is parsed).
    workspace : Path
        Directory of the page's files: the edited scenario and a copy of the files it extends
        are written there.

    Returns
    -------
    LoadedScenario
        The edited scenario, loaded by ``sim.scenario.load_scenario`` (named ``<name>_edited``).

    Raises
    ------
    LeverError
        If a value cannot be parsed or the scenario schema refuses it; the message names the
        lever, what was expected and what was found.
    """
    changed = changed_levers(loaded, values)
    if not changed:
        return loaded
    copy = workspace_copy(loaded, workspace)
    base = Path(copy.path)
    text = edited_text(loaded, changed, base.name)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = base.with_name(f"{base.stem}{EDITED_SUFFIX}-{digest}.yaml")
    if not path.exists():
        write_text_atomic(text, path)
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise LeverError(lever_message(exc, loaded.scenario.name)) from None


def add_scenario_text(
    text: str,
    beside: LoadedScenario | Sequence[LoadedScenario],
    workspace: Path,
    label: str = "edited scenario",
) -> LoadedScenario:
    """Validate scenario YAML typed or uploaded on the page and return it loaded.

    The text is written next to a workspace copy of the scenario files ``beside``
    (``workspace_copy``), so ``extends: historical.yaml`` and relative ``calibration:`` paths
    resolve as they do in ``scenarios/``.

    Raises
    ------
    LeverError
        If the scenario is invalid: the loader's message (line, field, expected, found), with
        the workspace path replaced by ``label``.
    """
    copy = workspace_copy(beside, workspace)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = Path(copy.path).with_name(f"page-{digest}.yaml")
    if not path.exists():
        write_text_atomic(text, path)
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise LeverError(str(exc).replace(str(path), label)) from None


def lever_message(exc: ScenarioError, name: str) -> str:
    """Return a scenario error of an edited scenario as a message about the lever."""
    field = exc.field
    if field.startswith("policy.injects"):
        label = LEVER_BY_KEY["truce_start"].label
    else:
        key = FIELD_TO_LEVER.get(field)
        label = LEVER_BY_KEY[key].label if key else field
    return f"{name}: {label}: expected {exc.expected}; found {exc.found}"
