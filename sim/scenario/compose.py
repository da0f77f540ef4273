"""Composition of scenario files: ``extends:`` merges and the ``calibration:`` overlay.

Merge rules (also in README.md and docs/ODD.md, "Composing scenarios"):

* mappings merge key by key; a scalar or a list in the child replaces the parent's;
* the three rosters ``factions``, ``iran.agencies`` and ``injects`` can be edited by name in a
  child: a mapping ``name -> fields`` edits the entry of that name (fields merge as above),
  ``name -> null`` removes it, and a name the parent does not have adds an entry (its other
  fields take their defaults). A list still replaces the whole roster;
* an inject's name is its ``name:`` field if it has one, else ``"YYYY-MM-DD kind"`` or
  ``"YYYY-MM-DD kind faction"`` when it names a faction (e.g. ``"2020-06-25 arrest KH"``);
* removing a faction removes it from every agency's ``control`` and removes the injects that name
  it (a warning lists them);
* the calibration overlay is applied to the roster that results from the whole chain: its values
  replace those of the file that names it and of the files it extends, but a child that extends a
  calibrated file and sets a calibrated field by name keeps its own value. A faction the
  calibration does not name keeps its written values, scaled by the fit's multipliers
  ``rate_scale`` (``base_rate``) and ``convoy_scale`` (``targets.convoy``) when the calibration
  records them, with a warning; a calibrated faction absent from the roster is ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sim.scenario.errors import ScenarioError

#: roster paths that can be edited by name, and the field that names an entry
NAMED_ROSTERS: dict[tuple, str] = {("factions",): "name", ("iran", "agencies"): "name"}
INJECT_ROSTERS = (("injects",), ("policy", "injects"))


def inject_key(entry: Any) -> str | None:
    """Return the name by which a child file refers to an inject (see the module docstring)."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("name"), str):
        return entry["name"]
    date, kind = entry.get("date"), entry.get("kind")
    if not isinstance(date, dt.date) or not isinstance(kind, str):
        return None
    key = f"{date.isoformat()} {kind}"
    return f"{key} {entry['faction']}" if isinstance(entry.get("faction"), str) else key


def _entry_key(entry: Any, field: str | None) -> str | None:
    if field is None:
        return inject_key(entry)
    name = entry.get(field) if isinstance(entry, dict) else None
    return name if isinstance(name, str) else None


def _sub(lines: dict, prefix: tuple) -> dict:
    """Return the lines under ``prefix``, keyed by the rest of the path."""
    n = len(prefix)
    return {k[n:]: v for k, v in lines.items() if k[:n] == prefix and len(k) > n}


def merge(base: Any, over: Any, base_lines: dict, over_lines: dict, prefix: tuple) -> Any:
    """Merge ``over`` (a child file) onto ``base``; update ``base_lines`` (path -> (file, line)).

    Mappings merge key by key, named rosters merge by name, anything else is replaced.
    """
    named = prefix in NAMED_ROSTERS or prefix in INJECT_ROSTERS
    if named and isinstance(over, dict) and (base is None or isinstance(base, list)):
        field = NAMED_ROSTERS.get(prefix)
        return merge_named(base or [], over, field, base_lines, over_lines, prefix)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v, base_lines, over_lines, prefix + (k,))
        if prefix in over_lines:
            base_lines.setdefault(prefix, over_lines[prefix])
        return out
    # replaced: drop provenance of the old subtree, take the new one
    for key in [k for k in base_lines if k[: len(prefix)] == prefix]:
        del base_lines[key]
    for key, val in over_lines.items():
        if key[: len(prefix)] == prefix:
            base_lines[key] = val
    return over


def rosters_as_lists(data: dict, lines: dict) -> dict:
    """Turn name-keyed rosters of a file that extends nothing into lists (all entries added)."""
    out = dict(data)
    for path in list(NAMED_ROSTERS) + list(INJECT_ROSTERS):
        holder = out if len(path) == 1 else out.get(path[0])
        if isinstance(holder, dict) and isinstance(holder.get(path[-1]), dict):
            value = merge_named([], holder[path[-1]], NAMED_ROSTERS.get(path), lines, lines, path)
            if len(path) == 1:
                out[path[0]] = value
            else:
                out[path[0]] = {**holder, path[-1]: value}
    return out


def merge_named(
    base: list,
    edits: dict,
    field: str | None,
    base_lines: dict,
    over_lines: dict,
    prefix: tuple,
) -> list:
    """Edit, remove and add roster entries by name (``field`` names them; None: injects)."""
    out: list = []
    new_lines: dict = {}
    used: set = set()
    for i, entry in enumerate(base):
        key = _entry_key(entry, field)
        sub = _sub(base_lines, prefix + (i,))
        if key in edits:
            used.add(key)
            change = edits[key]
            if change is None:
                continue
            if not isinstance(change, dict):
                where = over_lines.get(prefix + (key,), (None, None))
                raise ScenarioError(
                    where[0] or "<string>",
                    where[1],
                    ".".join(map(str, prefix + (key,))),
                    "a mapping of fields to change, or null to remove it",
                    type(change).__name__,
                )
            entry = merge(dict(entry), change, sub, _sub(over_lines, prefix + (key,)), ())
        j = len(out)
        out.append(entry)
        new_lines[prefix + (j,)] = base_lines.get(prefix + (i,))
        new_lines.update({prefix + (j,) + k: v for k, v in sub.items()})
    for key, change in edits.items():
        if key in used or change is None:
            continue  # removing a name the parent lacks is harmless
        j = len(out)
        entry = dict(change) if isinstance(change, dict) else change
        if isinstance(entry, dict) and field is not None:
            entry.setdefault(field, key)
        elif isinstance(entry, dict):
            entry.setdefault("name", key)
        out.append(entry)
        new_lines[prefix + (j,)] = over_lines.get(prefix + (key,))
        new_lines.update(
            {prefix + (j,) + k: v for k, v in _sub(over_lines, prefix + (key,)).items()}
        )
    for k in [k for k in base_lines if k[: len(prefix)] == prefix and len(k) > len(prefix)]:
        del base_lines[k]
    base_lines.update({k: v for k, v in new_lines.items() if v is not None})
    if prefix in over_lines:
        base_lines[prefix] = over_lines[prefix]
    return out


def drop_removed_factions(data: dict, before: list[str], warnings: list[str], file: str) -> dict:
    """Remove factions no longer on the roster from agencies' control and from injects."""
    roster = data.get("factions")
    if not isinstance(roster, list):
        return data
    now = {f.get("name") for f in roster if isinstance(f, dict)}
    gone = [n for n in before if n not in now]
    if not gone:
        return data
    data = dict(data)
    iran = data.get("iran")
    if isinstance(iran, dict) and isinstance(iran.get("agencies"), list):
        agencies = []
        for a in iran["agencies"]:
            if isinstance(a, dict) and isinstance(a.get("control"), dict):
                a = {**a, "control": {k: v for k, v in a["control"].items() if k not in gone}}
            agencies.append(a)
        data["iran"] = {**iran, "agencies": agencies}
    policy = data.get("policy")
    levers = policy.get("factions") if isinstance(policy, dict) else None
    if isinstance(levers, dict) and any(n in levers for n in gone):
        dropped = [n for n in levers if n in gone]
        warnings.append(
            f"{file}: warning: removing {', '.join(dropped)} also removes the policy's "
            f"changes to it (policy.factions)"
        )
        kept_levers = {k: v for k, v in levers.items() if k not in gone}
        data["policy"] = {**policy, "factions": kept_levers}
    for path in INJECT_ROSTERS:
        holder = data if len(path) == 1 else data.get(path[0])
        if not isinstance(holder, dict) or not isinstance(holder.get(path[-1]), list):
            continue
        kept, dropped = [], []
        for inj in holder[path[-1]]:
            named = isinstance(inj, dict) and inj.get("faction") in gone
            (dropped if named else kept).append(inj)
        if dropped:
            names = ", ".join(inject_key(d) or "?" for d in dropped)
            warnings.append(
                f"{file}: warning: removing {', '.join(gone)} also removes the injects "
                f"that name it: {names}"
            )
            if len(path) == 1:
                data[path[0]] = kept
            else:
                data[path[0]] = {**holder, path[-1]: kept}
    return data


def faction_names(data: Any) -> list[str]:
    """Return the names on a (raw) roster."""
    roster = data.get("factions") if isinstance(data, dict) else None
    if not isinstance(roster, list):
        return []
    return [f["name"] for f in roster if isinstance(f, dict) and isinstance(f.get("name"), str)]


def fit_multipliers(cdata: dict) -> dict[str, float]:
    """Return the fit's ``rate_scale`` and ``convoy_scale`` recorded in a calibration file."""
    params = (cdata.get("fit") or {}).get("parameters") if isinstance(cdata, dict) else None
    out: dict[str, float] = {}
    if isinstance(params, dict):
        # the posterior summary names them by what they scale (median); older fits by
        # rate_scale / convoy_scale (value)
        names = {
            "rate_scale": ("scale.factions.base_rate", "rate_scale"),
            "convoy_scale": ("scale.factions.targets.convoy", "convoy_scale"),
        }
        for name, keys in names.items():
            for key in keys:
                entry = params.get(key)
                value = None
                if isinstance(entry, dict):
                    value = entry.get("median", entry.get("value"))
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out[name] = float(value)
                    break
    return out


def leaf_paths(data: Any, prefix: tuple = ()) -> set[tuple]:
    """Return the field paths a child file sets (a faction edited by name: by its name)."""
    out: set[tuple] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, dict) and v:
                out |= leaf_paths(v, prefix + (k,))
            else:
                out.add(prefix + (k,))
    return out


def apply_calibration(
    data: dict,
    cdata: dict,
    protected: set[tuple],
    cfile: str,
    clines: dict,
    lines: dict,
    warnings: list[str],
) -> dict:
    """Apply a calibration overlay onto the merged scenario ``data``.

    ``protected`` holds the field paths set by files that extend the file naming the
    calibration (factions by name: ``("factions", "KH", "base_rate")``); those keep their value.
    ``lines`` (path -> (file, line)) is updated so a bad calibrated value is blamed on ``cfile``.
    """
    cdata = dict(cdata)
    multipliers = fit_multipliers(cdata)
    cdata.pop("fit", None)  # provenance block of the calibration, not a parameter
    overlay = cdata.pop("factions", None)
    out = _apply(data, cdata, (), protected, cfile, clines, lines, ())
    if overlay is None:
        return out
    if not isinstance(overlay, dict):
        raise ScenarioError(
            cfile,
            clines.get(("factions",)),
            "factions",
            "a mapping of faction name to fields",
            type(overlay).__name__,
        )
    roster = out.get("factions")
    if not isinstance(roster, list):
        return out
    factions = []
    for i, f in enumerate(roster):
        name = f.get("name") if isinstance(f, dict) else None
        if not isinstance(name, str):  # reported by validation
            factions.append(f)
        elif name in overlay:
            where = ("factions", name)
            factions.append(
                _apply(f, overlay[name], where, protected, cfile, clines, lines, ("factions", i))
            )
        else:
            factions.append(_scaled(f, multipliers))
            scaled = ", ".join(
                f"{field} x {multipliers[m]:g}"
                for m, field in (("rate_scale", "base_rate"), ("convoy_scale", "targets.convoy"))
                if m in multipliers
            )
            how = f"its values scaled by the fit ({scaled})" if scaled else "its written values"
            file, line = lines.get(("factions", i), (cfile, None))
            where = f"{file}:{line}" if line else file
            warnings.append(
                f"{where}: warning: faction '{name}' is not in {cfile}; it runs with {how}"
            )
    return {**out, "factions": factions}


def _apply(
    entry: dict,
    values: Any,
    path: tuple,
    protected: set,
    cfile: str,
    clines: dict,
    lines: dict,
    at: tuple,
) -> dict:
    """Set ``values`` into ``entry`` except protected paths; ``at`` is the entry's line path."""
    if not isinstance(values, dict) or not isinstance(entry, dict):
        return entry
    out = dict(entry)
    for k, v in values.items():
        if path + (k,) in protected:
            continue
        if isinstance(v, dict) and isinstance(out.get(k), dict | None):
            sub = _apply(
                out.get(k) or {}, v, path + (k,), protected, cfile, clines, lines, at + (k,)
            )
            out[k] = sub
        else:
            out[k] = v
            if path + (k,) in clines:
                lines[at + (k,)] = (cfile, clines[path + (k,)])
    return out


def _scaled(entry: dict, multipliers: dict[str, float]) -> dict:
    """Scale an uncalibrated faction's base rate and convoy weight by the fit's multipliers."""
    from sim.scenario.schema import Faction, TargetWeights

    out = dict(entry)
    if "rate_scale" in multipliers:
        rate = out.get("base_rate", Faction.model_fields["base_rate"].default)
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            out["base_rate"] = round(rate * multipliers["rate_scale"], 8)
    if "convoy_scale" in multipliers:
        targets = out.get("targets")
        targets = dict(targets) if isinstance(targets, dict) else {}
        convoy = targets.get("convoy", TargetWeights.model_fields["convoy"].default)
        if isinstance(convoy, int | float) and not isinstance(convoy, bool):
            targets["convoy"] = round(convoy * multipliers["convoy_scale"], 8)
            out["targets"] = targets
    return out


#: last dated event of calibration/data/events.csv (the documented period; a test keeps it true)
DOCUMENTED_END = dt.date(2024, 12, 23)
#: the kinds of forced injects that a policy lever of each section otherwise decides
LEVER_INJECTS = {"us": "us_strike", "pm": "arrest", "truce": "truce"}


def trap_warnings(sc: Any, calibrated_to: dt.date | None, file: str, lines: dict) -> list[str]:
    """Return warnings for valid but suspicious scenarios (issue 16, item 3).

    * a horizon past the documented period (and past the calibration's fitting window);
    * a policy that changes ``us.*`` (``pm.*``, ``truce.*``) but keeps forced ``us_strike``
      (``arrest``, ``truce``) injects dated on or after its start: the dated events then decide,
      not the policy's lever.
    """
    out = []

    def at(path: tuple) -> str:
        f, line = lines.get(path, (file, None))
        return f"{f}:{line}" if line else f

    if sc.end > DOCUMENTED_END:
        fitted = f"; the calibration was fitted up to {calibrated_to}" if calibrated_to else ""
        out.append(
            f"{at(('end',))}: warning: the horizon ends {sc.end}, after the last documented "
            f"event ({DOCUMENTED_END}, calibration/data/events.csv){fitted}: results after that "
            "date are extrapolation"
        )
    pol = sc.policy
    if pol is None:
        return out
    for section, kind in LEVER_INJECTS.items():
        levers = getattr(pol, section)
        if not levers or kind in pol.drop_injects:
            continue
        kept = [str(i.date) for i in sc.injects if i.kind == kind and i.date >= pol.start]
        if kept:
            names = ", ".join(f"{section}.{k}" for k in levers)
            out.append(
                f"{at(('policy', section))}: warning: the policy changes {names} but keeps "
                f"{len(kept)} forced {kind} inject(s) on or after its start ({', '.join(kept)}); "
                f"add drop_injects: [{kind}] to let the policy decide them"
            )
    return out
