"""What a manifest records about the software: package versions and the git commit."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from sim import __version__
from sim.results.files import RunError, read_json_object


def git_commit() -> str | None:
    """Return the git commit of the escsim source tree (suffixed '-dirty' if modified)."""
    here = Path(__file__).resolve().parents[1]  # the sim package
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty.strip() else "")


def versions() -> dict[str, str]:
    """Return the versions of escsim, Python and the libraries results depend on."""
    out = {"escsim": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "numba", "mesa", "scipy", "pandas", "pyarrow", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


# --- what escsim wrote: markers, the code fingerprint, validated reading --------------------------

WRITTEN_BY = "escsim"  # value of the "written_by" field of every plan.json and manifest.json
PLAN_KEYS = ("scenario_sha256", "seed", "engine", "runs", "chunk_size")
MAX_RUNS = 10**9  # replicates per run (a run's plan, a replay's manifest)


def code_fingerprint() -> dict[str, str]:
    """Return what the results depend on besides the scenario: escsim's sources and libraries.

    ``sources`` is the SHA-256 of every ``sim/**/*.py``; numpy, numba and mesa versions follow.
    """
    from sim import source_hash

    out = {"sources": source_hash()}
    for pkg in ("numpy", "numba", "mesa"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out


def read_own_json(path: Path) -> dict | None:
    """Return the JSON object at ``path`` if escsim wrote it, else None.

    escsim's plan.json and manifest.json carry ``"written_by": "escsim"``; older ones are
    recognised by their plan fields. A link, a missing or an unreadable file is not escsim's.
    """
    data = read_json_object(path)
    if data is None:
        return None
    if data.get("written_by") == WRITTEN_BY:
        return data
    legacy = data.get("plan") if "escsim_version" in data else data
    if isinstance(legacy, dict) and all(k in legacy for k in PLAN_KEYS):
        return data
    return None


class ResultsError(RunError):
    """A results directory that is damaged or was not written by escsim (exit code 2)."""


_FIELDS = {
    "seed": int,
    "engine": str,
    "runs": int,
    "chunk_size": int,
    "start": "date",
    "end": "date",
    "outcome_from": "date",
    "scenario": dict,
}


def load_manifest(results: Path) -> dict:
    """Read and check a finished results directory's ``manifest.json``.

    Raises
    ------
    ResultsError
        Naming the file and field, if the manifest is missing, unreadable or damaged.
    """
    import datetime as dt

    path = Path(results) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing (not a finished escsim results directory)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object; found {type(data).__name__}")
    for key, kind in _FIELDS.items():
        value = data.get(key)
        if kind == "date":
            try:
                dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise ResultsError(
                    f"{path}: field '{key}': expected a date (YYYY-MM-DD); found {value!r}"
                ) from None
        elif not isinstance(value, kind) or isinstance(value, bool):
            raise ResultsError(f"{path}: field '{key}': expected {kind.__name__}; found {value!r}")
    if not 1 <= data["runs"] <= MAX_RUNS:
        raise ResultsError(f"{path}: field 'runs': expected 1..{MAX_RUNS:,}; found {data['runs']}")
    if not isinstance(data["scenario"].get("name"), str):
        raise ResultsError(f"{path}: field 'scenario.name': expected a string")
    return data


def check_tables(results: Path, manifest: dict | None = None) -> None:
    """Check that a finished run's tables hold the rows its manifest records.

    Only the Parquet footers are read. A table written as a directory of parts that lost a part
    (or gained one), or whose part is not a regular file, no longer holds the rows the run
    wrote; commands that draw or explain from it refuse rather than show part of a run.

    Raises
    ------
    ResultsError
        Naming the table, the rows found and the rows the manifest records.
    """
    import stat

    from sim.results.files import parquet_rows

    results = Path(results)
    manifest = load_manifest(results) if manifest is None else manifest
    expected = dict(manifest.get("rows") or {})
    expected.setdefault("runs", manifest.get("runs"))
    for kind, rows in expected.items():
        path = results / f"{kind}.parquet"
        if not isinstance(rows, int) or not (path.exists() or path.is_symlink()):
            continue
        entries = [p for p in path.iterdir() if p.name[0] not in "._"] if path.is_dir() else [path]
        for part in entries:  # pyarrow would read a sub-directory's files as parts too
            if not stat.S_ISREG(part.stat().st_mode):
                raise ResultsError(f"{part}: damaged results table: not a regular file")
        found = parquet_rows(path)
        if found != rows:
            raise ResultsError(
                f"{path}: damaged results table: {found:,} rows, the manifest records "
                f"{rows:,} (a part missing or added?); rerun or replay this run"
            )
