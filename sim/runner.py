"""Monte Carlo runner: replicates in chunks, written atomically, resumable, with a manifest.

A chunk is a self-describing task (``ChunkTask``: compiled scenario, seed, replicate range,
engine) with no global state: any executor could run it. Replicate k's draws depend only on
(seed, k), so results do not depend on chunk size, thread count or interruption.

Layout of a results directory::

    plan.json                 what is being run (written first; checked by --resume)
    chunks/events-A-B.parquet finished chunks (each renamed into place when complete)
    chunks/runs-A-B.parquet
    events.parquet            the event log of all replicates   } written at the end,
    runs.parquet              one row of outcome metrics each   } atomically, then
    manifest.json             how to repeat the run exactly     } chunks/ is removed
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.model.world import World, compile_world
from sim.results.events import SCHEMA, records_to_table
from sim.results.files import (
    RunError,
    _chunk_ok,
    _directory_errors,
    _statistics,
    directory_lock,
    write_parquet_atomic,
    write_text_atomic,
)
from sim.results.manifest import git_commit, versions
from sim.results.outcomes import METRICS, replicate_metrics
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

    @property
    def name(self) -> str:
        """File-name stem of this chunk."""
        return f"{self.rep_start:09d}-{self.rep_start + self.n_reps - 1:09d}"


def simulate_records(task: ChunkTask) -> tuple[np.ndarray, np.ndarray]:
    """Run a chunk and return its raw event records and their replicate indices."""
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


def execute_chunk(task: ChunkTask) -> tuple[pa.Table, pa.Table]:
    """Run a chunk; return (events table, runs table)."""
    records, reps = simulate_records(task)
    events = records_to_table(task.world, records, reps)
    return events, runs_table(task.world, records, reps, task.rep_start, task.n_reps)


def plan_chunks(world: World, runs: int, chunk_size: int, engine: str) -> list[ChunkTask]:
    """Split ``runs`` replicates into chunk tasks."""
    return [
        ChunkTask(world, start, min(chunk_size, runs - start), engine)
        for start in range(0, runs, chunk_size)
    ]


# --- the run -------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What a finished run wrote: its directory and manifest."""

    out: Path
    manifest: dict

    @property
    def runs(self) -> pa.Table:
        """The runs table, read from ``runs.parquet`` (not held: a run's memory stays flat)."""
        return pq.read_table(self.out / "runs.parquet")


def _plan(loaded: LoadedScenario, runs: int, seed: int, engine: str, chunk: int) -> dict:
    return {
        "scenario_sha256": loaded.sha256,
        "scenario_path": loaded.path,
        "seed": seed,
        "engine": engine,
        "runs": runs,
        "chunk_size": chunk,
    }


def _check_resume(existing: dict, plan: dict, out: Path, finished: bool = False) -> None:
    what = {
        "scenario_sha256": "the scenario (file contents)",
        "seed": "the seed",
        "engine": "the engine",
        "runs": "the number of runs",
        "chunk_size": "the chunk size",
    }
    for key, label in what.items():
        if existing.get(key) != plan[key]:
            run = "finished" if finished else "unfinished"
            raise RunError(
                f"{out}: cannot resume: {label} differs from the {run} run in this directory "
                f"(was {existing.get(key)!r}, now {plan[key]!r}); use a new --out"
            )


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
) -> RunResult:
    """Run ``runs`` replicates of a scenario into the results directory ``out``.

    Parameters
    ----------
    loaded : LoadedScenario
        The validated scenario and its text.
    out : Path
        Results directory (created if missing).
    runs : int
        Number of replicates (>= 1).
    seed : int, optional
        Seed; defaults to the scenario's.
    engine : {"kernel", "mesa"}
        Which engine runs the replicates (same results; the kernel is faster).
    chunk_size : int, optional
        Replicates per chunk (default 1000 for the kernel, 5 for Mesa).
    resume : bool
        Continue an unfinished run in ``out`` (it must have the same scenario, seed, engine,
        runs and chunk size).
    overwrite : bool
        Replace finished results in ``out``.
    progress : callable, optional
        Called with (replicates done, replicates total) after each chunk.
    argv : list of str, optional
        The command line, recorded in the manifest.

    Returns
    -------
    RunResult
        The manifest and the runs table.

    Raises
    ------
    RunError
        If the directory is in use, holds other results, or a resume does not match.
    """
    if engine not in ENGINES:
        raise RunError(f"--engine: expected one of {', '.join(ENGINES)}; found {engine!r}")
    if runs < 1:
        raise RunError(f"--runs: expected at least 1; found {runs}")
    if chunk_size is not None and chunk_size < 1:  # 0 is an error, not "the default"
        raise RunError(f"--chunk-size: expected at least 1; found {chunk_size}")
    sc = loaded.scenario
    seed = sc.seed if seed is None else seed
    if not (0 <= seed <= 2**62):
        raise RunError(f"--seed: expected an integer in [0, 2**62]; found {seed}")
    world = dataclasses.replace(compile_world(sc), seed=seed)
    chunk = default_chunk_size(world, engine) if chunk_size is None else chunk_size
    plan = _plan(loaded, runs, seed, engine, chunk)
    t0 = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{out}: cannot create the results directory: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise RunError(f"{out}: the results directory is not writable")
    with directory_lock(out), _directory_errors(out):
        plan_path = out / "plan.json"
        manifest_path = out / "manifest.json"
        for name in ("events.parquet", "runs.parquet", "manifest.json", "plan.json"):
            (out / (name + ".tmp")).unlink(missing_ok=True)  # left by a killed run
        if manifest_path.exists():
            if resume:
                try:
                    old = json.loads(manifest_path.read_text())
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise RunError(
                        f"{out}: manifest.json is unreadable; pass --overwrite to redo the run"
                    ) from None
                _check_resume({**old, **old.get("plan", {})}, plan, out, finished=True)
                return RunResult(out, old)
            if not overwrite:
                raise RunError(
                    f"{out}: already holds finished results; choose another --out "
                    "or pass --overwrite"
                )
            for name in ("manifest.json", "events.parquet", "runs.parquet", "plan.json"):
                (out / name).unlink(missing_ok=True)
            shutil.rmtree(out / "chunks", ignore_errors=True)
            shutil.rmtree(out / "plots", ignore_errors=True)
        if not plan_path.exists():
            shutil.rmtree(out / "chunks", ignore_errors=True)  # no plan vouches for them
        if plan_path.exists():
            try:
                existing = json.loads(plan_path.read_text())
            except (OSError, json.JSONDecodeError):
                existing = {}
            if not resume and not overwrite:
                raise RunError(
                    f"{out}: holds an unfinished run; pass --resume to continue it "
                    "or choose another --out"
                )
            if resume:
                _check_resume(existing, plan, out)
            else:
                shutil.rmtree(out / "chunks", ignore_errors=True)
        write_text_atomic(json.dumps(plan, indent=2), plan_path)
        chunk_dir = out / "chunks"
        chunk_dir.mkdir(exist_ok=True)
        for stale in chunk_dir.glob("*.tmp"):
            stale.unlink()  # a chunk half-written when the run was killed
        tasks = plan_chunks(world, runs, chunk, engine)
        done = 0
        for task in tasks:
            ev_path = chunk_dir / f"events-{task.name}.parquet"
            runs_path = chunk_dir / f"runs-{task.name}.parquet"
            if _chunk_ok(runs_path, task.n_reps) and _chunk_ok(ev_path):
                done += task.n_reps
                if progress:
                    progress(done, runs)
                continue
            events, runs_tab = _interruptible(execute_chunk, task)
            write_parquet_atomic(events, ev_path)
            write_parquet_atomic(runs_tab, runs_path)  # written last: marks the chunk complete
            done += task.n_reps
            if progress:
                progress(done, runs)
        _consolidate(out, tasks)
        manifest = {
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
            "plan": plan,
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
        write_text_atomic(json.dumps(manifest, indent=2), manifest_path)
        shutil.rmtree(chunk_dir, ignore_errors=True)
        plan_path.unlink(missing_ok=True)
    return RunResult(out, manifest)


def _interruptible(fn: Callable, *args: object) -> object:
    """Call ``fn``; turn a Ctrl-C that landed inside compiled code back into KeyboardInterrupt.

    A SIGINT delivered while a numba kernel runs surfaces as ``SystemError: ... returned a
    result with an exception set``, caused (through another SystemError) by the interrupt.
    """
    try:
        return fn(*args)
    except SystemError as exc:
        cause: BaseException | None = exc
        for _ in range(10):  # SystemError <- SystemError (numba unpickle) <- KeyboardInterrupt
            cause = cause.__cause__ or cause.__context__ if cause is not None else None
            if isinstance(cause, KeyboardInterrupt):
                raise KeyboardInterrupt from None
        raise


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _consolidate(out: Path, tasks: list[ChunkTask]) -> None:
    """Stream the chunk files into events.parquet and runs.parquet (memory: one chunk)."""
    chunk_dir = out / "chunks"
    for kind in ("runs", "events"):  # events.parquet last: it appears only when all is written
        if len(tasks) == 1:  # one chunk: it already is the file (written and fsynced atomically)
            os.replace(chunk_dir / f"{kind}-{tasks[0].name}.parquet", out / f"{kind}.parquet")
            continue
        tmp = out / f"{kind}.parquet.tmp"
        writer = None
        try:
            for task in tasks:
                table = pq.read_table(chunk_dir / f"{kind}-{task.name}.parquet")
                if writer is None:
                    schema = SCHEMA if kind == "events" else table.schema
                    writer = pq.ParquetWriter(tmp, schema, write_statistics=_statistics(schema))
                writer.write_table(table)
            writer.close()
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, out / f"{kind}.parquet")
        except BaseException:
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
            tmp.unlink(missing_ok=True)
            raise


def run_in_memory(
    loaded: LoadedScenario,
    runs: int,
    seed: int | None = None,
    engine: str = "kernel",
    chunk_size: int | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Run replicates without writing files; return (events table, runs table)."""
    sc = loaded.scenario
    world = dataclasses.replace(compile_world(sc), seed=sc.seed if seed is None else seed)
    events, runs_tabs = [], []
    for task in plan_chunks(world, runs, chunk_size or default_chunk_size(world, engine), engine):
        ev, rt = execute_chunk(task)
        events.append(ev)
        runs_tabs.append(rt)
    return pa.concat_tables(events), pa.concat_tables(runs_tabs)
