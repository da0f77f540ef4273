"""Replay a results directory from its manifest and check the results are identical.

``escsim run`` stores in ``manifest.json`` the text of the scenario file and of every file it
includes (``extends``, ``calibration``), the seed, the engine, the number of replicates and the
chunk size. ``replay`` rebuilds those files in a temporary directory, runs them again and
compares the event log and the runs table with the stored ones, window by window of
replicates (memory: one window, as in the run itself).

Replicate k depends only on (seed, k), so a replay may also use another engine, chunk size or
thread count, or only the first N replicates, and must still match.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from sim.results.files import DiskError
from sim.results.manifest import ResultsError, load_manifest, versions
from sim.runner import ENGINES, RunError, run_scenario
from sim.scenario import LoadedScenario, load_scenario

MAX_REPORTED = 10  # differences listed per table before "... and N more"


class ReplayError(RunError):
    """A results directory that cannot be replayed (missing files, unreadable manifest)."""


@dataclass
class ReplayReport:
    """What a replay compared and every difference it found (none: identical)."""

    results: Path
    runs: int
    engine: str
    chunk_size: int
    events_rows: int = 0
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True if the replayed event log and runs table equal the stored ones."""
        return not self.differences


def read_manifest(results: Path) -> dict:
    """Return the manifest of a finished results directory.

    Raises
    ------
    ReplayError
        If the directory is not a finished results directory or its manifest is unusable.
    """
    path = results / "manifest.json"
    if not results.is_dir():
        raise ReplayError(f"{results}: not a results directory")
    if not path.is_file():
        subs = sorted(p.parent.name for p in results.glob("*/manifest.json"))
        hint = (
            "it holds an unfinished run: finish it with `escsim run ... --resume` first"
            if (results / "plan.json").exists()
            else "it is a comparison directory: replay one of its scenario directories, "
            + ", ".join(str(results / s) for s in subs)
            if subs
            else "no manifest.json (not written by `escsim run`?)"
        )
        raise ReplayError(f"{results}: cannot replay: {hint}")
    try:
        manifest = load_manifest(results)
    except ResultsError as exc:
        raise ReplayError(str(exc)) from None
    if manifest["chunk_size"] < 1:
        raise ReplayError(
            f"{path}: field 'chunk_size': expected at least 1; found {manifest['chunk_size']}"
        )
    sc = manifest["scenario"]
    if not isinstance(sc.get("text"), str):
        raise ReplayError(f"{path}: field 'scenario.text': the scenario text is missing")
    files = sc.get("files")
    if files and isinstance(files[0], dict) and files[0].get("text") != sc["text"]:
        raise ReplayError(
            f"{path}: field 'scenario.text' differs from 'scenario.files[0].text' (the manifest "
            "was edited: which scenario was run cannot be told)"
        )
    for name in ("events.parquet", "runs.parquet"):
        if not (results / name).exists():  # a file, or a directory of parts
            raise ReplayError(f"{results}: {name} is missing")
    return manifest


def _scenario_files(manifest: dict) -> list[tuple[str, str]]:
    """Return (path as run, text) of the scenario file and every file it included."""
    sc = manifest["scenario"]
    files = sc.get("files") or [{"path": sc.get("path") or "scenario.yaml", "text": sc["text"]}]
    out = []
    for i, f in enumerate(files):
        if not (isinstance(f, dict) and isinstance(f.get("path"), str)):
            raise ReplayError(f"manifest.json: field 'scenario.files[{i}]': expected a path")
        if not isinstance(f.get("text"), str):
            raise ReplayError(f"manifest.json: field 'scenario.files[{i}].text': missing")
        out.append((f["path"], f["text"]))
    return out


def rebuild_scenario(manifest: dict, workdir: Path) -> LoadedScenario:
    """Write the manifest's scenario files under ``workdir`` and load them.

    The files keep their relative layout (a ``calibration: ../calibration/fitted.yaml`` written
    in the scenario still finds its file); absolute paths are rebuilt under ``workdir`` too.

    Raises
    ------
    ReplayError
        If the rebuilt files do not hash to the manifest's scenario hash (a file was included
        by an absolute path and has changed since, say).
    """
    files = _scenario_files(manifest)
    parts = [PurePosixPath(os.path.normpath(p)).parts for p, _ in files]
    ups = max((sum(1 for x in pp if x == "..") for pp in parts), default=0)
    base = workdir.joinpath(*(["up"] * ups)) if ups else workdir
    targets = []
    for pp, (_, text) in zip(parts, files, strict=True):
        rel = [x for x in pp if x not in ("/", "..")] or ["scenario.yaml"]
        target = base.joinpath(*rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        targets.append(target)
    loaded = load_scenario(targets[0])
    want = manifest["scenario"].get("sha256")
    if want is not None and loaded.sha256 != want:
        raise ReplayError(
            "cannot replay faithfully: the scenario files rebuilt from the manifest hash to "
            f"{loaded.sha256[:12]}..., the manifest records {str(want)[:12]}... (a file it "
            "includes by absolute path has changed?)"
        )
    return loaded


def _plain(table: pa.Table) -> pd.DataFrame:
    """Return a table as a DataFrame with dictionary columns decoded (comparable by value)."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols[name] = col
    return pa.table(cols).to_pandas()


def _show(value: object) -> str:
    """Return a short repr of a table cell (numpy scalars as plain Python values)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


def _diff_frames(what: str, a: pd.DataFrame, b: pd.DataFrame, lo: int) -> list[str]:
    """Describe how replayed rows ``b`` differ from stored rows ``a`` (same columns)."""
    if len(a) != len(b):
        ca, cb = a["run"].value_counts(), b["run"].value_counts()
        counts = pd.concat([ca, cb], axis=1).fillna(0).sort_index()
        bad = counts[counts.iloc[:, 0] != counts.iloc[:, 1]]
        run, (x, y) = bad.index[0], bad.iloc[0]
        return [
            f"{what}: {len(a):,} rows stored, {len(b):,} replayed for runs from {lo}; first "
            f"in run {run} ({int(x)} stored, {int(y)} replayed)"
        ]
    out = []
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    for name in a.columns:
        x, y = a[name], b[name]
        differ = ~((x == y).fillna(False).astype(bool) | (x.isna() & y.isna()))
        if differ.any():
            i = int(differ.to_numpy().argmax())
            out.append(
                f"{what}: column '{name}' differs in {int(differ.sum()):,} rows; first in run "
                f"{a['run'].iloc[i]} (stored {_show(x.iloc[i])}, replayed {_show(y.iloc[i])})"
            )
    return out


def _check_runs(what: str, path: Path, total: int) -> list[str]:
    """Describe rows of a stored table whose replicate is not one of ``0 .. total - 1``.

    The runs table must hold each replicate once; the event log no other replicate. Reads
    only the ``run`` column, one row group at a time.
    """
    foreign, seen = 0, 0
    first = None
    for batch in pads.dataset(path, format="parquet").to_batches(columns=["run"]):
        run = batch.column(0).to_numpy(zero_copy_only=False)
        bad = (run < 0) | (run >= total)
        foreign += int(bad.sum())
        if first is None and bad.any():
            first = int(run[bad][0])
        seen += len(run)
    out = []
    if foreign:
        out.append(
            f"{what}: {foreign:,} rows of replicates outside 0..{total - 1} (first: {first})"
        )
    if what == "runs" and seen != total:
        out.append(f"{what}: {seen:,} rows stored for {total:,} replicates")
    return out


def compare_results(
    stored: Path, replayed: Path, runs: int, window: int, total: int | None = None
) -> tuple[list[str], int]:
    """Compare the event logs and runs tables of two results directories on runs ``0..runs-1``.

    Parameters
    ----------
    stored, replayed : Path
        Results directories (``events.parquet``, ``runs.parquet``).
    runs : int
        Compare replicates ``0 .. runs - 1`` (the stored directory may hold more).
    window : int
        Replicates compared at a time (bounds memory).
    total : int, optional
        Replicates the stored directory holds (default ``runs``): rows of any other replicate
        are a difference.

    Returns
    -------
    differences : list of str
        One line per difference; empty if identical.
    events_rows : int
        Event rows compared.
    """
    diffs: list[str] = []
    n_rows = 0
    total = runs if total is None else total
    for name in ("runs", "events"):
        a_file, b_file = (  # a file, or a directory of parts (sim.runner)
            pads.dataset(stored / f"{name}.parquet", format="parquet"),
            pads.dataset(replayed / f"{name}.parquet", format="parquet"),
        )
        a_cols, b_cols = set(a_file.schema.names), set(b_file.schema.names)
        if a_cols != b_cols:
            diffs.append(
                f"{name}: columns differ (only stored: {sorted(a_cols - b_cols)}, only "
                f"replayed: {sorted(b_cols - a_cols)}); comparing the shared ones"
            )
        cols = [c for c in a_file.schema.names if c in b_cols]
        found: list[str] = _check_runs(name, stored / f"{name}.parquet", total)
        for lo in range(0, runs, window):
            hi = min(lo + window, runs)
            filt = [("run", ">=", lo), ("run", "<", hi)]
            a = _plain(pq.read_table(stored / f"{name}.parquet", columns=cols, filters=filt))
            b = _plain(pq.read_table(replayed / f"{name}.parquet", columns=cols, filters=filt))
            if name == "events":
                n_rows += len(a)
            found += _diff_frames(name, a, b, lo)
            if len(found) > MAX_REPORTED:
                break
        if len(found) > MAX_REPORTED:
            found = found[:MAX_REPORTED] + [f"{name}: ... (stopped after {MAX_REPORTED})"]
        diffs += found
    return diffs, n_rows


def _version_notes(manifest: dict) -> list[str]:
    """Return a note for each package whose version differs from the manifest's."""
    then = manifest.get("versions") or {}
    now = versions()
    return [
        f"{pkg} {then[pkg]} when run, {now.get(pkg)} now"
        for pkg in sorted(then)
        if pkg in now and then[pkg] != now[pkg]
    ]


def replay(
    results: Path,
    runs: int | None = None,
    engine: str | None = None,
    chunk_size: int | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
    make_design: Callable[[dict], object] | None = None,
) -> ReplayReport:
    """Re-run a results directory from its manifest and compare the results.

    Parameters
    ----------
    results : Path
        A finished results directory of ``escsim run``.
    runs : int, optional
        Replay only replicates ``0 .. runs - 1`` (default: all of them).
    engine : {"kernel", "mesa"}, optional
        Engine of the replay (default: the manifest's; both must give the same results).
    chunk_size : int, optional
        Chunk size of the replay (default: the manifest's; results must not depend on it).
    threads : int, optional
        numba threads of the replay (default: unchanged; results must not depend on it).
    progress : callable, optional
        Called with (replicates done, total) after each chunk.
    workdir : Path, optional
        Where to rebuild the scenario and write the replay (default: a temporary directory,
        removed afterwards).
    make_design : callable, optional
        Rebuilds the per-replicate parameters of a run over a posterior from the manifest's
        ``parameters`` record (``sim.analysis.posterior.PosteriorRun.from_record``; the CLI
        passes it: this layer does not import the analyses).

    Returns
    -------
    ReplayReport
        The differences found (none if identical) and notes on changed package versions.

    Raises
    ------
    ReplayError
        If the directory cannot be replayed.
    """
    manifest = read_manifest(results)
    total = manifest["runs"]
    n = total if runs is None else runs
    if not 1 <= n <= total:
        raise ReplayError(f"--runs: expected 1..{total} (the replicates stored); found {n}")
    engine = engine or manifest["engine"]
    if engine not in ENGINES:
        raise ReplayError(f"--engine: expected one of {', '.join(ENGINES)}; found {engine!r}")
    chunk = chunk_size or manifest["chunk_size"]
    design = None
    if manifest.get("parameters"):
        if make_design is None:
            raise ReplayError(
                f"{results}: ran over posterior draws (manifest 'parameters'); replay it with "
                "`escsim replay`, which rebuilds them"
            )
        try:
            design = make_design(manifest["parameters"])
        except ValueError as exc:
            raise ReplayError(f"{results / 'manifest.json'}: {exc}") from None
    report = ReplayReport(results, n, engine, chunk, notes=_version_notes(manifest))
    if threads is not None:
        import numba

        if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
            raise ReplayError(
                f"--threads: expected 1..{numba.config.NUMBA_NUM_THREADS}; found {threads}"
            )
    with tempfile.TemporaryDirectory(prefix="escsim-replay-", dir=workdir) as tmp:
        loaded = rebuild_scenario(manifest, Path(tmp) / "scenario")
        out = Path(tmp) / "results"
        previous = None
        if threads is not None:
            import numba

            previous = numba.get_num_threads()
            numba.set_num_threads(threads)
        try:
            run_scenario(
                loaded,
                out,
                n,
                seed=manifest["seed"],
                engine=engine,
                chunk_size=chunk,
                progress=progress,
                argv=["escsim", "replay", str(results)],
                design=design,
            )
        except DiskError as exc:
            raise ReplayError(
                f"{tmp}: cannot write the replay: {exc.reason}; nothing of it is kept: free "
                "space there (or set TMPDIR to a directory with room) and replay again"
            ) from None
        finally:
            if previous is not None:
                numba.set_num_threads(previous)
        report.differences, report.events_rows = compare_results(
            results, out, n, chunk, total=total
        )
    return report
