"""Scenario files: YAML in, a frozen and validated ``Scenario`` out.

Errors name the file, the line, the field path, what was expected and what was found. Unknown
keys, duplicate keys, impossible dates and references to factions that do not exist are errors.
``extends:`` and ``calibration:`` overlays keep per-file line provenance.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import reprlib
import stat
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from sim.scenario import compose
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import (
    Inject,
    IranParams,
    LoadedScenario,
    MilitiaParams,
    PMParams,
    Scenario,
    TruceParams,
    USParams,
)

# --- YAML with line numbers and duplicate-key detection -----------------------------------------


def _walk(
    node: yaml.Node,
    path: tuple,
    lines: dict,
    file: str,
    loader: yaml.SafeLoader,
    visited: set[int],
    line: int | None = None,
) -> None:
    """Record the line of every field path under ``node``; refuse duplicate and complex keys.

    A field's line is the line of its key (a block mapping as a value starts on the next line).
    A node reached again through a YAML alias is not walked twice (an alias bomb would take
    exponential time, a recursive alias forever); its fields take the line of the alias.
    """
    lines[path] = line or node.start_mark.line + 1
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(loader, _Loader):
        loader.node_paths[id(node)] = path  # names the field of an impossible date
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(
                    file,
                    line,
                    _fmt(path) + " (a key)",
                    "a plain key",
                    "a list or mapping used as a key",
                )
            key = key_node.value
            if key in seen:
                raise ScenarioError(
                    file,
                    line,
                    _fmt(path + (key,)),
                    "each key once",
                    f"a duplicate of the key on line {seen[key]}",
                )
            seen[key] = line
            if key_node.tag != "tag:yaml.org,2002:str" and key != "<<":
                # the path as the validator will name it: `1:` is the int 1, `null:` is None
                if isinstance(loader, _Loader):
                    loader.node_paths[id(key_node)] = path + (key,)
                key = loader.construct_object(key_node)
                if not isinstance(key, int):
                    lines[path + (repr(key),)] = line  # pydantic names such keys by repr
            _walk(value_node, path + (key,), lines, file, loader, visited, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(child, path + (i,), lines, file, loader, visited)


def _fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def _at(lines: dict, path: tuple, file: str) -> tuple[str, int | None]:
    """Return (file, line) where the field at ``path`` was written."""
    for k in range(len(path), -1, -1):
        if path[:k] in lines:
            v = lines[path[:k]]
            return v if isinstance(v, tuple) else (file, v)
    return file, None


_REPR = reprlib.Repr(
    maxlevel=3, maxdict=4, maxlist=6, maxtuple=6, maxset=6, maxstring=60, maxother=60, maxlong=60
)


def _quote(value: Any) -> str:
    """Return a name as written in YAML, in quotes (no Python repr)."""
    return f"'{value}'" if isinstance(value, str) else _describe(value)


def _describe(value: Any) -> str:
    """Describe a found value as YAML would write it, bounded to 60 characters."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    if value is None:
        return "null (nothing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = "'" + value + "'"
    elif isinstance(value, dict | list | tuple):
        text = _flow(value, 3)
    else:
        text = _REPR.repr(value)  # bounded: a YAML alias bomb must not be printed in full
    return text if len(text) <= 60 else text[:57] + "..."


def _flow(value: Any, depth: int) -> str:
    """Write a list or mapping in YAML flow style, a few items and levels deep."""
    if depth == 0:
        return "..."
    if isinstance(value, dict):
        items = [f"{k}: {_flow(v, depth - 1)}" for k, v in list(value.items())[:4]]
        return "{" + ", ".join(items) + (", ..." if len(value) > 4 else "") + "}"
    if isinstance(value, list | tuple):
        items = [_flow(v, depth - 1) for v in list(value)[:6]]
        return "[" + ", ".join(items) + (", ..." if len(value) > 6 else "") + "]"
    return _describe(value) if not isinstance(value, str) else value[:30]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose impossible dates (2020-02-30) become errors with a line number."""

    def __init__(self, stream: str, file: str = "<string>") -> None:
        super().__init__(stream)
        self.file = file
        self.node_paths: dict[int, tuple] = {}  # filled by _walk: names an impossible date

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            path = self.node_paths.get(id(node))
            if path is None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"an impossible date {node.value!r} ({exc})", node.start_mark
                ) from None
            raise ScenarioError(
                self.file,
                node.start_mark.line + 1,
                _fmt(path),
                "a real calendar date",
                f"an impossible date {node.value!r} ({exc})",
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def parse_yaml(text: str, file: str) -> tuple[Any, dict]:
    """Parse YAML text; return the data and a map from field path to line number.

    Raises
    ------
    ScenarioError
        On malformed YAML or a duplicate key.
    """
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
            lines: dict = {}
            if node is not None:
                _walk(node, (), lines, file, loader, set())
                data = loader.construct_document(node)
            else:
                data = None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(
            file, line, "(document)", "well-formed YAML", f"{exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        pos = getattr(exc, "position", None)  # a ReaderError (bad character) knows its offset
        line = text.count("\n", 0, pos) + 1 if isinstance(pos, int) else None
        raise ScenarioError(
            file, line, "(document)", "well-formed YAML", str(exc).split("\n")[0]
        ) from None
    except RecursionError:
        raise ScenarioError(
            file, None, "(document)", "YAML nested a few hundred levels at most", "deeper nesting"
        ) from None
    return data, lines


def _expected(err: dict) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "extra_forbidden":
        return _valid_keys(tuple(err["loc"]))
    if kind.startswith("date_"):
        return "a date written YYYY-MM-DD"
    if kind == "missing":
        return "this required field"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _range(tuple(err["loc"])) or f"a value {err['msg'].split('be ', 1)[-1]}"
    if kind == "literal_error":
        return err["msg"].replace("Input should be ", "one of ")
    if kind == "finite_number":
        return "a finite number"
    if ctx.get("error"):
        return str(ctx["error"])
    msg = err["msg"].removeprefix("Input should be ")
    return msg[0].lower() + msg[1:]


def _model_at(loc: tuple) -> Any:
    """Return the pydantic model whose field ``loc`` names (None if it is not a model field)."""
    import typing

    from pydantic import BaseModel

    model: Any = Scenario
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            if not isinstance(part, str) or part not in model.model_fields:
                return None
            model = model.model_fields[part].annotation
        elif typing.get_origin(model) is tuple and isinstance(part, int):
            model = typing.get_args(model)[0]
        elif typing.get_origin(model) is dict and isinstance(part, str):
            model = typing.get_args(model)[1]  # a mapping by name: its values' model
        else:
            return None
        args = [a for a in typing.get_args(model) if a is not type(None)]
        if typing.get_origin(model) not in (tuple, dict, typing.Literal) and len(args) == 1:
            model = args[0]  # Optional[X] -> X
    return model


def _range(loc: tuple) -> str | None:
    """Say the range of a bounded number field, e.g. "a number from 0 to 1"."""
    model = _model_at(loc[:-1])
    field = getattr(model, "model_fields", {}).get(loc[-1]) if loc else None
    if field is None:
        return None
    lo = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), None)
    if lo is not None and hi is not None:
        return f"a number from {lo:g} to {hi:g}"
    return None


def _valid_keys(loc: tuple) -> str:
    """Say which keys are valid where an unknown key ``loc[-1]`` was written."""
    import difflib

    from pydantic import BaseModel

    model = _model_at(loc[:-1])
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return "no such key (unknown field)"
    valid = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"a known key, not an unknown one ({hint}valid keys here: {', '.join(valid)})"


def _check_inject(
    inj: Inject,
    path: tuple,
    lo: dt.date,
    hi: dt.date,
    span: str,
    names: list[str],
    lines: dict,
    file: str,
    fronts: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """Check an inject's date lies in [lo, hi] and that the faction (and front) it names exist."""
    fronts = fronts or {}
    field = _fmt(path)
    if not (lo <= inj.date <= hi):
        raise ScenarioError(
            *_at(lines, path + ("date",), file),
            f"{field}.date",
            f"a date within {span} ({lo}..{hi})",
            str(inj.date),
        )
    if inj.faction is not None and inj.faction not in names:
        raise ScenarioError(
            *_at(lines, path + ("faction",), file),
            f"{field}.faction",
            f"a faction of the roster ({', '.join(names)})",
            _quote(inj.faction),
        )
    own = fronts.get(inj.faction or "", ())
    if inj.kind == "attack" and inj.claim is not None and inj.claim not in own:
        raise ScenarioError(
            *_at(lines, path + ("claim",), file),
            f"{field}.claim",
            f"one of the fronts of {inj.faction} ({', '.join(own) or 'none'})",
            f"'{inj.claim}'",
        )
    if inj.kind in ("us_strike", "arrest") and inj.faction is None:
        raise ScenarioError(
            *_at(lines, path + ("faction",), file),  # its `faction: null` line, else the inject's
            f"{field}.faction",
            f"a faction for a {inj.kind} inject",
            "none",
        )


def _check_references(sc: Scenario, lines: dict, file: str) -> None:
    names = [f.name for f in sc.factions]
    fronts = {f.name: f.fronts for f in sc.factions}
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise ScenarioError(
                *_at(lines, ("factions", i, "name"), file),
                f"factions[{i}].name",
                "unique faction names",
                f"a second faction named '{n}'",
            )
        seen.add(n)
    if sc.end < sc.start:
        raise ScenarioError(
            *_at(lines, ("end",), file),
            "end",
            f"a date on or after start ({sc.start})",
            str(sc.end),
        )
    if sc.n_days > 366 * 50:
        raise ScenarioError(
            *_at(lines, ("end",), file), "end", "a horizon of at most 50 years", f"{sc.n_days} days"
        )
    agency_names = [a.name for a in sc.iran.agencies]
    for i, a in enumerate(sc.iran.agencies):
        if a.name in agency_names[:i]:
            raise ScenarioError(
                *_at(lines, ("iran", "agencies", i, "name"), file),
                f"iran.agencies[{i}].name",
                "each agency once",
                f"a second '{a.name}'",
            )
        for fname in a.control:
            if fname not in seen:
                raise ScenarioError(
                    *_at(lines, ("iran", "agencies", i, "control", fname), file),
                    f"iran.agencies[{i}].control.{fname}",
                    f"a faction of the roster ({', '.join(names)})",
                    _quote(fname),
                )
    for i, inj in enumerate(sc.injects):
        _check_inject(
            inj, ("injects", i), sc.start, sc.end, "the horizon", names, lines, file, fronts
        )
    for i, f in enumerate(sc.factions):
        if f.drones_from is not None and (f.drones_from - sc.end).days > 36500:
            raise ScenarioError(
                *_at(lines, ("factions", i, "drones_from"), file),
                f"factions[{i}].drones_from",
                "a plausible date",
                str(f.drones_from),
            )
    if sc.policy is not None:
        pol = sc.policy
        if not (sc.start <= pol.start <= sc.end):
            raise ScenarioError(
                *_at(lines, ("policy", "start"), file),
                "policy.start",
                f"a date within the horizon {sc.start}..{sc.end}",
                str(pol.start),
            )
        for i, inj in enumerate(pol.injects):
            where = ("policy", "injects", i)
            span = "the policy start to the end"
            _check_inject(inj, where, pol.start, sc.end, span, names, lines, file, fronts)
        for fname in pol.factions:
            if fname not in names:
                raise ScenarioError(
                    *_at(lines, ("policy", "factions", fname), file),
                    f"policy.factions.{fname}",
                    f"a faction of the roster ({', '.join(names) or 'none'})",
                    _quote(fname),
                )
        sections = {
            "us": USParams,
            "pm": PMParams,
            "iran": IranParams,
            "militia": MilitiaParams,
            "truce": TruceParams,
        }
        for sec, model in sections.items():
            overrides = getattr(pol, sec)
            base = getattr(sc, sec)
            for key in overrides:
                if key not in model.model_fields or key in ("agencies", "lethality"):
                    raise ScenarioError(
                        *_at(lines, ("policy", sec, key), file),
                        f"policy.{sec}.{key}",
                        f"a scalar parameter of '{sec}'",
                        _quote(key),
                    )
            try:
                model.model_validate({**base.model_dump(), **overrides})
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = tuple(err["loc"])
                raise ScenarioError(
                    *_at(lines, ("policy", sec) + loc, file),
                    "policy." + _fmt((sec,) + loc),
                    _expected(err),
                    _describe(err.get("input")),
                ) from None
    if sc.outcome_start is not None and not (sc.start <= sc.outcome_start <= sc.end):
        raise ScenarioError(
            *_at(lines, ("outcome_start",), file),
            "outcome_start",
            f"a date within the horizon {sc.start}..{sc.end}",
            str(sc.outcome_start),
        )


# a scenario (or an included file) is read only if it is a regular file of at most this size:
# the largest allowed scenario (1000 factions with every field) is well under 1 MiB
MAX_FILE_BYTES = 4 * 2**20


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _read_text(p: Path) -> str:
    """Read a scenario file: a regular file of at most ``MAX_FILE_BYTES``, UTF-8, no NUL."""
    limit = f"a regular file of at most {MAX_FILE_BYTES // 2**20} MiB"
    try:
        st = os.stat(p)  # before opening: opening a FIFO would wait for a writer
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(str(p), None, "(file)", limit, _kind(st.st_mode))
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(str(p), None, "(file)", limit, f"{st.st_size:,} bytes")
        with open(p, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # a file that grew since: still bounded
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ScenarioError(
            str(p), None, "(file)", "a readable file", getattr(exc, "strerror", None) or str(exc)
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(str(p), None, "(file)", limit, "a larger file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(p), None, "(file)", "UTF-8 text", f"undecodable byte at offset {exc.start}"
        ) from None
    if "\x00" in text:
        raise ScenarioError(str(p), None, "(file)", "text", "binary data (NUL bytes)")
    return text


def _read_referenced(path: Path, file: str, line: int | None, key: str) -> str:
    """Read a file named by ``extends``/``calibration``; a missing one is the referrer's error."""
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        is_file = False
    if not is_file:
        raise ScenarioError(
            file,
            line,
            key,
            "a path (relative to this file) to a readable file",
            f"{_describe(str(path))}, which does not exist or is not a file",
        )
    return _read_text(path)


@dataclass
class _Calibration:
    """A calibration overlay waiting for the end of the ``extends:`` chain."""

    data: dict
    lines: dict  # field path -> line in the calibration file
    file: str
    protected: set = _field(default_factory=set)  # paths set by files extending its declarer


@dataclass
class _Resolved:
    """A file merged with the files it extends, before the calibration overlay."""

    data: Any
    lines: dict  # field path -> (file, line)
    texts: list[tuple[str, str]]
    calibration: _Calibration | None = None
    warnings: list[str] = _field(default_factory=list)
    calibrated_to: dt.date | None = None  # end of the applied calibration's fitting window


def _check_references_key(data: dict, raw_lines: dict, file: str, depth: int) -> None:
    for key in ("extends", "calibration"):
        ref = data.get(key)
        if ref is None:
            continue
        if not isinstance(ref, str) or not ref.strip():
            raise ScenarioError(
                file, raw_lines.get((key,)), key, "a relative file path", _describe(ref)
            )
        if depth > 8:
            raise ScenarioError(
                file,
                raw_lines.get((key,)),
                key,
                "at most 8 nested files",
                "a deeper (or circular) chain",
            )


def _read_calibration(path: Path, file: str, line: int | None) -> tuple[_Calibration, str]:
    ctext = _read_referenced(path, file, line, "calibration")
    cdata, craw = parse_yaml(ctext, str(path))
    if not isinstance(cdata, dict):
        raise ScenarioError(
            str(path), 1, "(document)", "a mapping of fitted parameters", type(cdata).__name__
        )
    return _Calibration(cdata, craw, str(path)), ctext


def _resolve(text: str, file: str, depth: int = 0) -> _Resolved:
    """Parse a file and merge it onto the file it ``extends`` (see ``sim.scenario.compose``).

    The calibration overlay is not applied here but carried up the chain: it applies to the
    roster that results from the whole chain (``_finish``).
    """
    data, raw_lines = parse_yaml(text, file)
    lines = {k: (file, v) for k, v in raw_lines.items()}
    if not isinstance(data, dict):
        return _Resolved(data, lines, [(file, text)])
    _check_references_key(data, raw_lines, file, depth)
    here = Path(file).parent
    base_ref = data.pop("extends", None)
    cal_ref = data.pop("calibration", None)
    if base_ref is not None:
        bpath = here / base_ref
        btext = _read_referenced(bpath, file, raw_lines.get(("extends",)), "extends")
        res = _resolve(btext, str(bpath), depth + 1)
        if not isinstance(res.data, dict):
            raise ScenarioError(
                str(bpath), 1, "(document)", "a mapping of scenario fields", type(res.data).__name__
            )
        before = compose.faction_names(res.data)
        merged_lines = dict(res.lines)
        merged = compose.merge(res.data, data, merged_lines, lines, ())
        merged = compose.drop_removed_factions(merged, before, res.warnings, file)
        res = _Resolved(
            merged, merged_lines, [(file, text)] + res.texts, res.calibration, res.warnings
        )
        if res.calibration is not None:
            res.calibration.protected |= compose.leaf_paths(data)
    else:
        merged = compose.rosters_as_lists(data, lines)
        res = _Resolved(merged, lines, [(file, text)])
    if cal_ref is not None:
        cpath = here / cal_ref
        res.calibration, ctext = _read_calibration(cpath, file, raw_lines.get(("calibration",)))
        res.texts.append((str(cpath), ctext))
    return res


def _finish(res: _Resolved) -> _Resolved:
    """Apply the calibration overlay carried up the chain to the merged scenario."""
    cal = res.calibration
    if cal is None or not isinstance(res.data, dict):
        return res
    data = compose.apply_calibration(
        res.data, cal.data, cal.protected, cal.file, cal.lines, res.lines, res.warnings
    )
    fit = cal.data.get("fit")
    window = fit.get("date_range") if isinstance(fit, dict) else None
    window = window[-1] if isinstance(window, list) and window else None
    try:
        end = dt.date.fromisoformat(str(window)) if window else None
    except ValueError:
        end = None
    return _Resolved(data, res.lines, res.texts, None, res.warnings, end)


def _all_errors(errors: list[dict], where) -> ScenarioError:
    """Return one ScenarioError holding every validation error, sorted by file and line."""
    found, missing = [], set()
    for err in errors:
        loc = tuple(err["loc"])
        f, line = where(loc)
        what = _describe(err.get("input"))
        if err["type"] == "extra_forbidden":
            what = f"the key '{loc[-1]}'"
        found.append(ScenarioError(f, line, _fmt(loc), _expected(err), what))
        if err["type"] == "missing":
            missing.add(id(found[-1]))
    # a missing field (often the other half of a typo) has no line of its own: it goes last
    found.sort(key=lambda e: (id(e) in missing, e.file, e.line or 0))
    first = found[0]
    return ScenarioError(
        first.file, first.line, first.field, first.expected, first.found, tuple(found[1:])
    )


def _validate(data: Any, lines: dict, file: str) -> Scenario:
    def where(path: tuple) -> tuple[str, int | None]:
        for k in range(len(path), -1, -1):
            if path[:k] in lines:
                return lines[path[:k]]
        return file, None

    if not isinstance(data, dict):
        raise ScenarioError(
            file,
            None,
            "(document)",
            "a mapping of scenario fields",
            type(data).__name__ if data is not None else "an empty document",
        )
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _all_errors(exc.errors(), where) from None
    _check_references(sc, lines, file)
    return sc


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML text and return the frozen ``Scenario``.

    Raises
    ------
    ScenarioError
        For any invalid input, naming the file, line and field.
    """
    res = _finish(_resolve(text, file))
    return _validate(res.data, res.lines, file)


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file (with the files it extends).

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    LoadedScenario
        The scenario with its text, the texts of the files it includes, and its hash.

    Raises
    ------
    ScenarioError
        If the file cannot be read or is invalid.
    """
    p = Path(path)
    text = _read_text(p)
    res = _finish(_resolve(text, str(p)))
    sc = _validate(res.data, res.lines, str(p))
    res.warnings += compose.trap_warnings(sc, res.calibrated_to, str(p), res.lines)
    return LoadedScenario(sc, str(p), text, tuple(res.texts), tuple(res.warnings))
