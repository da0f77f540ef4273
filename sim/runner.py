"""Monte Carlo runner: replicates in chunks, written atomically, resumable, with a manifest.

A chunk is a self-describing task (``ChunkTask``: compiled scenario, seed, replicate range,
engine) with no global state: any executor could run it. Replicate k's draws depend only on
(seed, k), so results do not depend on chunk size, thread count or interruption.

Layout of a results directory::

    plan.json                 what is being run (written first; checked by --resume)
    chunks/events-A-B.parquet finished chunks (each renamed into place when complete;
    chunks/runs-A-B.parquet   events only when --events is not "none")
    chunks/monthly-A-B.parquet
    chunks/A-B.json           a chunk's completion record (SHA-256 of its files)
    events.parquet            the event log (--events all|attacks)} made at the end from
    runs.parquet              one row of outcome metrics each   } the chunks, atomically;
    monthly.parquet           counts per replicate and month    } then chunks/ is removed
    manifest.json             how to repeat the run exactly     }

A table of one chunk is that chunk's file, renamed; a table of several is a directory of parts
(``events.parquet/part-A-B.parquet``): the chunk files hard-linked, not rewritten, read as one
Parquet dataset by ``pyarrow.parquet.read_table``, ``pyarrow.dataset``, ``pandas.read_parquet``
and ``sim.results.files.read_parquet``.

Chunks are computed by an executor (``execute_chunks`` here, one after another; ``sim.executors``
farms them out to Dask workers): the chunk files are written by whoever computes them, the
completion record by the driver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.model.world import World, compile_world
from sim.results.events import EVENT_MODES, records_to_table, select_records
from sim.results.files import (
    DiskError,
    RunError,
    _directory_errors,
    _statistics,
    atomic_directory,
    directory_lock,
    is_temp_name,
    link_or_copy,
    parquet_rows,
    read_parquet,
    refuse_if_locked,
    refuse_links,
    sha256_file,
    write_parquet_atomic,
    write_text_atomic,
)
from sim.results.manifest import (
    MAX_RUNS,
    WRITTEN_BY,
    check_tables,
    code_fingerprint,
    git_commit,
    read_own_json,
    versions,
)
from sim.results.outcomes import METRICS, monthly_counts, replicate_metrics
from sim.scenario import LoadedScenario

ENGINES = ("kernel", "mesa")
DEFAULT_CHUNK = {"kernel": 1000, "mesa": 5}
# The kernel holds a chunk's events in one buffer; the default chunk size is capped so that
# the buffer stays within this budget (long horizons and large rosters get smaller chunks).
BUFFER_BUDGET_BYTES = 256 * 2**20


def default_chunk_size(world: World, engine: str) -> int:
    """Return the default replicates per chunk: 1000 (kernel) or 5 (Mesa), memory permitting."""
    if engine != "kernel":
        return DEFAULT_CHUNK[engine]
    from sim.engines.kernel import event_capacity
    from sim.model.layout import N_ECOLS

    per_replicate = event_capacity(world) * N_ECOLS * 4
    return max(1, min(DEFAULT_CHUNK[engine], BUFFER_BUDGET_BYTES // per_replicate))


@dataclass(frozen=True)
class ChunkTask:
    """One unit of work: replicates ``rep_start .. rep_start + n_reps - 1`` of a world."""

    world: World
    rep_start: int
    n_reps: int
    engine: str
    events: str = "all"
    design: object | None = None
    """Per-replicate parameters (None: the world's own): an object whose
    ``chunk(world, rep_start, n_reps)`` returns ``(Design, points)`` for these replicates, e.g.
    ``sim.analysis.posterior.PosteriorRun``."""

    @property
    def name(self) -> str:
        """File-name stem of this chunk."""
        return f"{self.rep_start:09d}-{self.rep_start + self.n_reps - 1:09d}"

    @property
    def kinds(self) -> tuple[str, ...]:
        """The files this chunk writes (``events`` only when its events are kept)."""
        return ("runs", "monthly") if self.events == "none" else ("runs", "monthly", "events")


def simulate_records(task: ChunkTask) -> tuple[np.ndarray, np.ndarray]:
    """Run a chunk and return its raw event records and their replicate indices."""
    if task.design is not None:
        design, points = task.design.chunk(task.world, task.rep_start, task.n_reps)
        reps = np.arange(task.rep_start, task.rep_start + task.n_reps, dtype=np.int64)
        if task.engine == "kernel":
            from sim.engines.kernel import run_kernel_design as run_design
        elif task.engine == "mesa":
            from sim.engines.mesa.model import run_mesa_design as run_design
        else:
            raise ValueError(f"unknown engine {task.engine!r}; expected one of {ENGINES}")
        records, rows = run_design(task.world, design, points, reps)
        return records, reps[rows]
    if task.engine == "kernel":
        from sim.engines.kernel import run_kernel

        return run_kernel(task.world, task.rep_start, task.n_reps)
    if task.engine == "mesa":
        from sim.engines.mesa.model import run_mesa

        return run_mesa(task.world, task.rep_start, task.n_reps)
    raise ValueError(f"unknown engine {task.engine!r}; expected one of {ENGINES}")


def runs_table(
    world: World, records: np.ndarray, reps: np.ndarray, rep_start: int, n_reps: int
) -> pa.Table:
    """Return the outcome metrics of a range of replicates as an Arrow table."""
    m = replicate_metrics(
        records, reps, rep_start, n_reps, world.n_days, world.outcome_day, world.n_factions
    )
    cols = {"run": pa.array(np.arange(rep_start, rep_start + n_reps, dtype=np.int64))}
    for j, name in enumerate(METRICS):
        cols[name] = pa.array(m[:, j])
    return pa.table(cols)


def monthly_table(
    world: World, records: np.ndarray, reps: np.ndarray, rep_start: int, n_reps: int
) -> pa.Table:
    """Return the monthly counts of a range of replicates as an Arrow table."""
    cols = monthly_counts(records, reps, rep_start, n_reps, world.start, world.n_days)
    return pa.table({k: pa.array(v) for k, v in cols.items()})


def execute_chunk(task: ChunkTask) -> dict[str, pa.Table]:
    """Run a chunk; return its tables by kind: ``runs``, ``monthly`` and ``events`` (if kept)."""
    records, reps = simulate_records(task)
    tables = {
        "runs": runs_table(task.world, records, reps, task.rep_start, task.n_reps),
        "monthly": monthly_table(task.world, records, reps, task.rep_start, task.n_reps),
    }
    kept = select_records(records, reps, task.events)
    if kept is not None:
        tables["events"] = records_to_table(task.world, *kept)
    return tables


@dataclass(frozen=True)
class ChunkPlan(Sequence[ChunkTask]):
    """The chunk tasks of a run, made on demand (memory does not grow with ``runs``).

    Picklable; ``len()``, indexing and iteration give ``ChunkTask`` objects in replicate order.
    """

    world: World
    runs: int
    chunk_size: int
    engine: str
    events: str = "all"
    design: object | None = None

    def __len__(self) -> int:
        return -(-self.runs // self.chunk_size)

    def __getitem__(self, i: int) -> ChunkTask:  # type: ignore[override]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        start = i * self.chunk_size
        n = min(self.chunk_size, self.runs - start)
        return ChunkTask(self.world, start, n, self.engine, self.events, self.design)

    def __iter__(self) -> Iterator[ChunkTask]:
        for i in range(len(self)):
            yield self[i]


def plan_chunks(
    world: World,
    runs: int,
    chunk_size: int,
    engine: str,
    events: str = "all",
    design: object | None = None,
) -> ChunkPlan:
    """Split ``runs`` replicates into chunk tasks (lazily: nothing is made in advance)."""
    return ChunkPlan(world, runs, chunk_size, engine, events, design)


# --- what escsim owns in a results directory -----------------------------------------------------

# chunk files and their completion records (``<name>.json``: the SHA-256 of both files)
_CHUNK_FILE = re.compile(
    r"^(?:(?:events|runs|monthly)-\d{9}-\d{9}\.parquet(?:\.tmp)?|\d{9}-\d{9}\.json)$"
)
# the parts of a final table written as a directory (the chunks, hard-linked)
_PART = re.compile(r"^part-\d{9}-\d{9}\.parquet$")
_FINAL = ("events.parquet", "runs.parquet", "monthly.parquet", "manifest.json", "plan.json")
# names refused when they are symbolic links (escsim never writes through a link)
_NO_LINKS = ("chunks", ".lock", *_FINAL)
# a run writing more than this says so first (and refuses more than the free space)
NOTICE_BYTES = 2**30


def _remove_own_temps(directory: Path, finals: tuple[str, ...] | None = None) -> None:
    """Remove escsim's temporary files (left by a killed run) from ``directory``."""
    if not directory.is_dir() or directory.is_symlink():
        return
    for entry in os.scandir(directory):
        name = entry.name
        own = (
            is_temp_name(name)
            if finals is None
            else any(is_temp_name(name, f) or name == f + ".tmp" for f in finals)
        )
        if own and entry.is_dir(follow_symlinks=False):
            _remove_table(Path(entry.path))  # a table's temporary directory
        elif own:
            os.unlink(entry.path)


def _remove_own_chunks(chunk_dir: Path) -> None:
    """Remove the chunk files escsim wrote in ``chunks/``; keep anything else (and the folder)."""
    if chunk_dir.is_symlink() or not chunk_dir.is_dir():
        return
    for entry in os.scandir(chunk_dir):
        if (_CHUNK_FILE.match(entry.name) or is_temp_name(entry.name)) and not entry.is_dir(
            follow_symlinks=False
        ):
            os.unlink(entry.path)
    with contextlib.suppress(OSError):  # not empty: files escsim did not write stay
        chunk_dir.rmdir()


def _leftovers(out: Path) -> bool:
    """Return True if a finished run was killed before removing its chunks and plan."""
    manifest = read_own_json(out / "manifest.json")
    plan = read_own_json(out / "plan.json")
    return manifest is not None and plan is not None and manifest.get("plan") == plan


def _finish_cleanup(out: Path) -> None:
    _remove_own_chunks(out / "chunks")
    (out / "plan.json").unlink(missing_ok=True)  # last: it marks the clean-up as unfinished


def inspect_results_dir(out: Path, plan: dict, resume: bool, overwrite: bool) -> tuple[str, dict]:
    """Decide what a run may do in ``out`` without writing anything.

    Returns
    -------
    state : {"new", "resume", "overwrite", "finished"}
        ``new``: missing or empty; ``resume``: continue the unfinished run; ``overwrite``:
        replace escsim's own results; ``finished``: the same run is already complete.
    existing : dict
        The manifest or plan found ({} when new).

    Raises
    ------
    RunError
        If ``out`` holds files escsim did not write, links, another run, or a mismatch.
    """
    if not out.exists() and not out.is_symlink():
        return "new", {}
    if not out.is_dir():
        raise RunError(f"{out}: cannot create the results directory: it is not a directory")
    refuse_links(out, _NO_LINKS)
    for name in ("events.parquet", "runs.parquet", "monthly.parquet"):
        _refuse_foreign_parts(out / name)
    manifest = read_own_json(out / "manifest.json")
    existing = read_own_json(out / "plan.json")
    if (out / "manifest.json").exists() and manifest is None:
        raise RunError(
            f"{out}: manifest.json is unreadable or was not written by escsim; escsim does "
            "not replace it: choose another --out"
        )
    if (out / "plan.json").exists() and existing is None:
        raise RunError(
            f"{out}: plan.json is unreadable or was not written by escsim; escsim does not "
            "replace it: choose another --out"
        )
    if manifest is not None and (existing is None or manifest.get("plan") == existing):
        if resume:
            _check_resume({**manifest, **(manifest.get("plan") or {})}, plan, out, finished=True)
            return "finished", manifest
        if not overwrite:
            raise RunError(
                f"{out}: already holds finished results; choose another --out or pass --overwrite"
            )
        return "overwrite", manifest
    if existing is not None:
        if resume:
            _check_resume(existing, plan, out)
            return "resume", existing
        if not overwrite:
            raise RunError(
                f"{out}: holds an unfinished run; pass --resume to continue it "
                "or choose another --out"
            )
        return "overwrite", existing
    foreign = sorted(e for e in os.listdir(out) if e != ".lock")
    if foreign:
        shown = ", ".join(repr(f) for f in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise RunError(
            f"{out}: holds files escsim did not write ({shown}); escsim writes only into a new "
            "or empty directory or into its own results: choose another --out"
        )
    return "new", {}


# --- chunks: written, checksummed, verified ------------------------------------------------------


def write_chunk_files(chunk_dir: Path, task: ChunkTask, tables: dict[str, pa.Table]) -> dict:
    """Write a chunk's files atomically (temporary names start with "."); return its record.

    Called by whoever computed the chunk (this process or a Dask worker); the record (the
    SHA-256 of each file, and the code fingerprint of the process that computed it) is written
    by the driver with ``record_chunk``.
    """
    record: dict = {"written_by": WRITTEN_BY, "runs": task.n_reps, "code": code_fingerprint()}
    for kind in task.kinds:
        path = chunk_dir / f"{kind}-{task.name}.parquet"
        write_parquet_atomic(tables[kind], path)
        record[f"{kind}_sha256"] = sha256_file(path)
    return record


def record_chunk(chunk_dir: Path, task: ChunkTask, record: dict) -> None:
    """Write a chunk's completion record (it marks the chunk as finished for ``--resume``).

    Raises
    ------
    RunError
        If the chunk was computed by other code than this process runs (a Dask worker with
        another escsim version, source tree or numba): its replicates would come from another
        model. The chunk is not recorded (a ``--resume`` recomputes it).
    """
    code = record.get("code")
    if code != code_fingerprint():
        changed = sorted(
            k
            for k, v in code_fingerprint().items()
            if not isinstance(code, dict) or code.get(k) != v
        )
        raise RunError(
            f"chunk {task.name} was computed by other escsim code than this process runs "
            f"({', '.join(changed)} differ: a Dask worker with another escsim?); its replicates "
            "would come from another model: give every worker the same escsim"
        )
    write_text_atomic(json.dumps(record), chunk_dir / f"{task.name}.json")


def _write_chunk(chunk_dir: Path, task: ChunkTask, tables: dict[str, pa.Table]) -> None:
    record_chunk(chunk_dir, task, write_chunk_files(chunk_dir, task, tables))


def chunk_verified(chunk_dir: Path, task: ChunkTask) -> bool:
    """Return True if a chunk's completion record exists and its files hash to it."""
    record = read_own_json(chunk_dir / f"{task.name}.json")
    if record is None or record.get("runs") != task.n_reps:
        return False
    try:
        return all(
            not (p := chunk_dir / f"{kind}-{task.name}.parquet").is_symlink()
            and sha256_file(p) == record.get(f"{kind}_sha256")
            for kind in task.kinds
        )
    except OSError:
        return False


def parquet_size(table: pa.Table) -> int:
    """Return the size in bytes of ``table`` written as Parquet (in memory)."""
    buf = pa.BufferOutputStream()
    writer = pq.ParquetWriter(buf, table.schema, write_statistics=_statistics(table.schema))
    writer.write_table(table)
    writer.close()
    return buf.getvalue().size


# rows encoded to estimate a table's Parquet size (the first chunk is not encoded twice)
SIZE_SAMPLE_ROWS = 8192


def estimated_parquet_size(table: pa.Table) -> float:
    """Return the size of ``table`` as Parquet, estimated from its first ``SIZE_SAMPLE_ROWS``."""
    if table.num_rows <= SIZE_SAMPLE_ROWS:
        return float(parquet_size(table))
    return parquet_size(table.slice(0, SIZE_SAMPLE_ROWS)) * table.num_rows / SIZE_SAMPLE_ROWS


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:.0f} B"


def check_space(
    out: Path, per_replicate: float, remaining: int, notice: Callable[[str], None]
) -> None:
    """Refuse a run whose estimated output exceeds the free space; announce a large one.

    The estimate is the first chunk's Parquet size per replicate times the replicates left (the
    final tables are the chunk files themselves, hard-linked: nothing is stored twice; where a
    file system refuses hard links they are copied, and the estimate is short by that much).
    """
    need = per_replicate * remaining
    free = shutil.disk_usage(out).free
    if need > free:
        raise DiskError(
            out,
            f"not enough free space (about {_size(need)} needed, {_size(free)} free)",
            f"{out}: this run would write about {_size(need)} ({remaining:,} replicates at "
            f"about {_size(per_replicate)} each) but only {_size(free)} "
            "is free; nothing was written: use fewer --runs or another --out",
        )
    if need > NOTICE_BYTES:
        notice(f"note: this run will write about {_size(need)} to {out} ({_size(free)} free)")


def execute_chunks(
    tasks: Sequence[ChunkTask],
    chunk_dir: Path,
    reuse_verified: bool,
    progress: Callable[[int, int], None] | None,
    before_first_write: Callable[[ChunkTask, dict[str, pa.Table], int], None],
) -> None:
    """Run every chunk not already finished and write it (the loop an executor replaces).

    Parameters
    ----------
    tasks : sequence of ChunkTask
        All chunks of the run, in order.
    chunk_dir : Path
        Where chunks and their completion records are written.
    reuse_verified : bool
        Skip chunks whose files match their completion record (``--resume``).
    progress : callable, optional
        Called with (replicates done, total) after each chunk.
    before_first_write : callable
        Called with the first computed chunk (task, its tables by kind, replicates already
        done) before anything is written: it checks the free space and prepares the directory.
    """
    total = getattr(tasks, "runs", None) or sum(t.n_reps for t in tasks)
    done = 0
    first = True
    for task in tasks:
        if reuse_verified and chunk_verified(chunk_dir, task):
            done += task.n_reps
            if progress:
                progress(done, total)
            continue
        tables = _interruptible(execute_chunk, task)
        if first:
            before_first_write(task, tables, done)
            first = False
        _write_chunk(chunk_dir, task, tables)
        done += task.n_reps
        if progress:
            progress(done, total)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What a finished run wrote: its directory and manifest."""

    out: Path
    manifest: dict

    @property
    def runs(self) -> pa.Table:
        """The runs table, read from ``runs.parquet`` (not held: a run's memory stays flat)."""
        return read_parquet(self.out / "runs.parquet")


def _plan(
    loaded: LoadedScenario,
    runs: int,
    seed: int,
    engine: str,
    chunk: int,
    events: str,
    parameters: dict | None = None,
) -> dict:
    return {
        "written_by": WRITTEN_BY,
        "run_id": uuid.uuid4().hex,
        "scenario_sha256": loaded.sha256,
        "scenario_path": loaded.path,
        "seed": seed,
        "engine": engine,
        "runs": runs,
        "chunk_size": chunk,
        "events": events,
        "parameters": parameters,
        "code": code_fingerprint(),
    }


def _check_resume(existing: dict, plan: dict, out: Path, finished: bool = False) -> None:
    what = {
        "scenario_sha256": "the scenario (file contents)",
        "seed": "the seed",
        "engine": "the engine",
        "runs": "the number of runs",
        "chunk_size": "the chunk size",
        "events": "--events",
        "parameters": "the parameters (--posterior)",
    }
    run = "finished" if finished else "unfinished"
    for key, label in what.items():
        was = existing.get(key, "all" if key == "events" else None)  # before --events: all
        if was != plan[key]:
            raise RunError(
                f"{out}: cannot resume: {label} differs from the {run} run in this directory "
                f"(was {was!r}, now {plan[key]!r}); use a new --out"
            )
    old = existing.get("code")
    if not isinstance(old, dict):
        raise RunError(
            f"{out}: cannot resume: the {run} run in this directory records no code fingerprint "
            "(written by an older escsim), so its replicates may come from another model; use "
            "a new --out or --overwrite"
        )
    changed = [
        "the escsim source code (sim/**/*.py)"
        if key == "sources"
        else f"{key} ({old.get(key)} then, {now} now)"
        for key, now in plan["code"].items()
        if old.get(key) != now
    ]
    if changed:
        raise RunError(
            f"{out}: cannot resume: {', '.join(changed)} changed since the {run} run in this "
            "directory started; its results would mix two models: use a new --out or --overwrite"
        )


def _stderr_notice(text: str) -> None:
    print(text, file=sys.stderr)


def _setup(
    loaded: LoadedScenario,
    runs: int,
    seed: int | None,
    engine: str,
    chunk_size: int | None,
    events: str = "all",
    parameters: dict | None = None,
) -> tuple[World, int, dict]:
    """Check a run's arguments; return its world, chunk size and plan."""
    if engine not in ENGINES:
        raise RunError(f"--engine: expected one of {', '.join(ENGINES)}; found {engine!r}")
    if events not in EVENT_MODES:
        raise RunError(f"--events: expected one of {', '.join(EVENT_MODES)}; found {events!r}")
    if not 1 <= runs <= MAX_RUNS:
        raise RunError(f"--runs: expected 1 to {MAX_RUNS:,}; found {runs}")
    if chunk_size is not None and chunk_size < 1:  # 0 is an error, not "the default"
        raise RunError(f"--chunk-size: expected at least 1; found {chunk_size}")
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    if not (0 <= seed <= 2**62):
        raise RunError(f"--seed: expected an integer in [0, 2**62]; found {seed}")
    world = dataclasses.replace(compile_world(sc), seed=seed)
    chunk = default_chunk_size(world, engine) if chunk_size is None else chunk_size
    return world, chunk, _plan(loaded, runs, seed, engine, chunk, events, parameters)


def preflight(
    loaded: LoadedScenario,
    out: Path,
    runs: int,
    seed: int | None = None,
    engine: str = "kernel",
    chunk_size: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    events: str = "all",
    design: object | None = None,
) -> str:
    """Check that ``run_scenario`` with these arguments may use ``out``; write nothing.

    Returns
    -------
    str
        What the run would do: "new", "resume", "overwrite" or "finished".

    Raises
    ------
    RunError
        For the reasons ``run_scenario`` would refuse before running anything.
    """
    record = design.record() if design is not None else None
    _, _, plan = _setup(loaded, runs, seed, engine, chunk_size, events, record)
    return inspect_results_dir(Path(out), plan, resume, overwrite)[0]


def run_scenario(
    loaded: LoadedScenario,
    out: Path,
    runs: int,
    seed: int | None = None,
    engine: str = "kernel",
    chunk_size: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    argv: list[str] | None = None,
    notice: Callable[[str], None] | None = None,
    events: str = "all",
    execute: Callable[..., None] | None = None,
    design: object | None = None,
) -> RunResult:
    """Run ``runs`` replicates of a scenario into the results directory ``out``.

    ``out`` must be new, empty, or escsim's own results (a ``plan.json`` or ``manifest.json``
    escsim wrote); escsim deletes or replaces only files it wrote, never follows a link there,
    and refuses (before writing anything) a run whose estimated output exceeds the free space.

    Parameters
    ----------
    loaded : LoadedScenario
        The validated scenario and its text.
    out : Path
        Results directory (created if missing).
    runs : int
        Number of replicates (1 .. 10**9).
    seed : int, optional
        Seed; defaults to the scenario's.
    engine : {"kernel", "mesa"}
        Which engine runs the replicates (same results; the kernel is faster).
    chunk_size : int, optional
        Replicates per chunk (default 1000 for the kernel, 5 for Mesa).
    resume : bool
        Continue an unfinished run in ``out`` (it must have the same scenario, seed, engine,
        runs, chunk size and code fingerprint); finished chunks are reused only if their
        checksums match.
    overwrite : bool
        Replace finished results in ``out`` (only escsim's own files; ``plots/`` is kept).
    progress : callable, optional
        Called with (replicates done, replicates total) after each chunk.
    argv : list of str, optional
        The command line, recorded in the manifest.
    notice : callable, optional
        Called with a one-line notice (a large output); default: printed on stderr.
    events : {"all", "attacks", "none"}
        Which events ``events.parquet`` holds: every event, attacks only, or none (no
        ``events.parquet``); ``runs.parquet`` and ``monthly.parquet`` are always written.
    execute : callable, optional
        The chunk loop, with the signature of ``execute_chunks`` (the default: one chunk after
        another in this process); ``sim.executors`` makes one that farms chunks out to Dask.
    design : object, optional
        Per-replicate parameters (``ChunkTask.design``, e.g. a posterior sample:
        ``sim.analysis.posterior.PosteriorRun``); its ``record()`` (everything needed to
        rebuild it) goes into the plan and the manifest as ``parameters``.

    Returns
    -------
    RunResult
        The manifest and the runs table.

    Raises
    ------
    RunError
        If the directory is in use, holds other results or files escsim did not write, a
        resume does not match, or the output would not fit.
    """
    record = design.record() if design is not None else None
    world, chunk, plan = _setup(loaded, runs, seed, engine, chunk_size, events, record)
    execute = execute or execute_chunks
    sc, seed = loaded.scenario, plan["seed"]
    notice = notice or _stderr_notice
    t0 = time.perf_counter()
    if out.is_dir() and not out.is_symlink() and _leftovers(out):
        refuse_links(out, _NO_LINKS)
        with directory_lock(out), _directory_errors(out):
            if _leftovers(out):
                _finish_cleanup(out)
    if out.is_dir():
        refuse_if_locked(out)
    inspect_results_dir(out, plan, resume, overwrite)  # refuse before writing anything
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{out}: cannot create the results directory: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise RunError(f"{out}: the results directory is not writable")
    had_lock = (out / ".lock").exists()
    touched = False
    try:
        with directory_lock(out), _directory_errors(out):
            state, existing = inspect_results_dir(out, plan, resume, overwrite)
            if state == "finished":
                check_tables(out, existing)  # a table that lost a part is not a finished run
                return RunResult(out, existing)
            chunk_dir = out / "chunks"
            if state == "resume":
                plan = existing

            def before_first_write(task, tables, done) -> None:
                nonlocal touched
                per_rep = sum(estimated_parquet_size(t) for t in tables.values()) / task.n_reps
                check_space(out, per_rep, runs - done, notice)
                touched = True
                _prepare(out, plan, fresh=state != "resume")

            tasks = plan_chunks(world, runs, chunk, engine, events, design)
            if state == "resume":  # nothing to compute when every chunk is verified
                touched = True
                _prepare(out, plan, fresh=False)
            execute(tasks, chunk_dir, state == "resume", progress, before_first_write)
            rows = _consolidate(out, tasks)
            manifest = {
                "written_by": WRITTEN_BY,
                "escsim_version": __version__,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "scenario": {
                    "name": sc.name,
                    "path": loaded.path,
                    "sha256": loaded.sha256,
                    "text": loaded.text,
                    "files": [{"path": p, "text": t} for p, t in loaded.files],
                },
                "seed": seed,
                "engine": engine,
                "runs": runs,
                "chunk_size": chunk,
                "events": events,
                "parameters": record,
                "rows": rows,
                "plan": plan,
                "code": plan["code"],
                "start": sc.start.isoformat(),
                "end": sc.end.isoformat(),
                "outcome_from": sc.outcome_from.isoformat(),
                "policy_start": sc.policy.start.isoformat() if sc.policy else None,
                "factions": list(world.faction_names),
                "versions": versions(),
                "git_commit": git_commit(),
                "command": argv if argv is not None else sys.argv,
                "wall_seconds": round(time.perf_counter() - t0, 3),
                "numba_threads": _numba_threads(),
            }
            write_text_atomic(json.dumps(manifest, indent=2), out / "manifest.json")
            _finish_cleanup(out)  # chunks first, plan.json last (a kill here is finished later)
    except RunError:
        if not touched:  # refused: leave the directory as it was
            if not had_lock:
                (out / ".lock").unlink(missing_ok=True)
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()
        raise
    return RunResult(out, manifest)


def _prepare(out: Path, plan: dict, fresh: bool) -> None:
    """Make ``out`` ready for the chunks: escsim's own stale files go, the plan is written.

    A fresh run writes its plan first (the directory is then marked as escsim's), then removes
    the results it replaces; a resumed run keeps its plan and verified chunks.
    """
    _remove_own_temps(out, _FINAL)
    if fresh:
        write_text_atomic(json.dumps(plan, indent=2), out / "plan.json")
    if read_own_json(out / "manifest.json") is not None:
        (out / "manifest.json").unlink()  # of the run being replaced
    if fresh:
        for name in ("events.parquet", "runs.parquet", "monthly.parquet"):
            _remove_table(out / name)
        _remove_own_chunks(out / "chunks")
    (out / "chunks").mkdir(exist_ok=True)
    _remove_own_temps(out / "chunks")


def _interruptible(fn: Callable, *args: object) -> object:
    """Call ``fn``; turn a Ctrl-C that landed inside compiled code back into KeyboardInterrupt.

    A SIGINT delivered while a numba kernel runs surfaces as ``SystemError: ... returned a
    result with an exception set``, caused (through another SystemError) by the interrupt.
    """
    try:
        return fn(*args)
    except SystemError as exc:
        if interrupted_in_compiled_code(exc):
            raise KeyboardInterrupt from None
        raise


def interrupted_in_compiled_code(exc: BaseException) -> bool:
    """Return whether ``exc`` is a ``SystemError`` that a Ctrl-C inside compiled code caused.

    A SIGINT (or SIGTERM turned into one) delivered while a numba kernel runs surfaces as
    ``SystemError: ... returned a result with an exception set``, caused (through another
    SystemError) by the KeyboardInterrupt.
    """
    cause: BaseException | None = exc if isinstance(exc, SystemError) else None
    for _ in range(10):  # SystemError <- SystemError (numba unpickle) <- KeyboardInterrupt
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
        if isinstance(cause, KeyboardInterrupt):
            return True
    return False


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _consolidate(
    out: Path, tasks: Sequence[ChunkTask], kinds: tuple[str, ...] | None = None
) -> dict[str, int]:
    """Make the final tables from the finished chunks without rewriting them.

    One chunk: its file is renamed into place (``<kind>.parquet``). Several: ``<kind>.parquet``
    is a directory whose parts are the chunk files themselves, hard-linked (``part-A-B.parquet``,
    a multi-file Parquet dataset that ``pyarrow``, ``pandas`` and ``sim.results.files.
    read_parquet`` read as one table), made under a temporary name and renamed into place
    (``atomic_directory``). The chunks stay verified until the manifest is written, so a kill
    at any point resumes. ``kinds`` defaults to the tasks' own (``runs``, ``monthly``, then
    ``events`` if kept). Returns the number of rows of each table.
    """
    chunk_dir = out / "chunks"
    rows = {}
    # events.parquet last: it appears only when all is written
    for kind in kinds if kinds is not None else tasks[0].kinds if len(tasks) else ():
        final = out / f"{kind}.parquet"
        if len(tasks) == 1:  # one chunk: it already is the file (written and fsynced atomically)
            os.replace(chunk_dir / f"{kind}-{tasks[0].name}.parquet", final)
            rows[kind] = parquet_rows(final)
            continue
        rows[kind] = 0
        with atomic_directory(final) as tmp:
            for task in tasks:
                part = tmp / f"part-{task.name}.parquet"
                link_or_copy(chunk_dir / f"{kind}-{task.name}.parquet", part)
                rows[kind] += parquet_rows(part)
            _remove_table(final)  # a resumed run killed after this step left it
    return rows


def _refuse_foreign_parts(path: Path) -> None:
    """Raise ``RunError`` if a table directory holds anything escsim did not write there.

    Checked before a run writes anything, so a run that would have to remove the table does
    not stop half-way (its manifest or other tables already gone).
    """
    if path.is_symlink() or not path.is_dir():
        return
    foreign = sorted(
        entry.name
        for entry in os.scandir(path)
        if not (_PART.match(entry.name) or is_temp_name(entry.name))
        or entry.is_dir(follow_symlinks=False)
    )
    if foreign:
        shown = ", ".join(repr(f) for f in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise RunError(
            f"{path}: holds files escsim did not write ({shown}); escsim does not remove them: "
            "move them or choose another --out"
        )


def _remove_table(path: Path) -> None:
    """Remove a final table escsim wrote: a file, or a directory of its parts (never a link)."""
    if path.is_symlink():
        raise RunError(f"{path}: is a symbolic link; escsim never writes through links")
    if not path.is_dir():
        path.unlink(missing_ok=True)
        return
    for entry in os.scandir(path):
        if (_PART.match(entry.name) or is_temp_name(entry.name)) and not entry.is_dir(
            follow_symlinks=False
        ):
            os.unlink(entry.path)
    try:
        path.rmdir()
    except OSError:
        raise RunError(
            f"{path}: holds files escsim did not write; escsim does not remove them: move them "
            "or choose another --out"
        ) from None


def run_in_memory(
    loaded: LoadedScenario,
    runs: int,
    seed: int | None = None,
    engine: str = "kernel",
    chunk_size: int | None = None,
    design: object | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Run replicates without writing files; return (events table, runs table).

    ``design`` gives each replicate its own parameters (``sim.analysis.posterior.PosteriorRun``),
    as in ``run_scenario``.
    """
    sc = loaded.scenario
    world = dataclasses.replace(compile_world(sc), seed=sc.seed if seed is None else seed)
    events, runs_tabs = [], []
    size = chunk_size or default_chunk_size(world, engine)
    for task in plan_chunks(world, runs, size, engine, design=design):
        tables = execute_chunk(task)
        events.append(tables["events"])
        runs_tabs.append(tables["runs"])
    return pa.concat_tables(events), pa.concat_tables(runs_tabs)
