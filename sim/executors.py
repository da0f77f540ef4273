"""Executors: who computes a run's chunks (this process, or Dask workers on one or many machines).

An executor is a chunk loop with the signature of ``sim.runner.execute_chunks``; ``run_scenario``
takes it as ``execute``. ``local`` is that loop itself. ``dask`` sends each chunk task (a
picklable ``ChunkTask``) to a ``dask.distributed`` worker, which simulates the chunk and writes
its files atomically into ``chunks/`` (temporary names start with ".", so readers of the
directory skip them) and returns the chunk's completion record; the driver writes the record
(``chunks/<range>.json``, as the local loop does), so ``--resume`` works across executors.
Replicate k's draws depend only on (seed, k): the results are the local executor's, replicate
for replicate. A task whose worker dies is run again by Dask on another worker; the files it
half-wrote are temporary files, removed when the run finishes.

Sweeps (``compare``, ``sensitivity``, ``discover``) compute through ``Executor.map``: their design
rows (parameter points x replicates, or posterior draws x replicates) go out as tasks of about a
chunk each, and come back as per-replicate outcome metrics, in order (identical to local). A
command sets the executor once with ``use_executor``; analyses ask ``current_executor()``.

Each worker's numba threads are capped (one per task by default: Dask's workers are the
parallelism) and its numba cache is the package's keyed cache directory of the worker's own
environment (``sim._numba_cache_dir``): on a cluster, point ``NUMBA_CACHE_DIR`` at a node-local
disk in the job script (docs/cluster.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from sim.results.files import RunError
from sim.runner import (
    ChunkTask,
    chunk_verified,
    execute_chunk,
    execute_chunks,
    record_chunk,
    write_chunk_files,
)

EXECUTORS = ("local", "dask")
# tasks in flight per worker: enough to keep a worker busy while the driver records a chunk
IN_FLIGHT_PER_WORKER = 2


def cap_numba_threads(threads: int) -> int:
    """Limit numba's threads in the calling thread to ``threads`` (at most numba's pool size).

    Returns
    -------
    int
        The number of threads now in use.
    """
    import numba

    n = max(1, min(int(threads), int(numba.config.NUMBA_NUM_THREADS)))
    numba.set_num_threads(n)
    return n


def compute_chunk_on_worker(task: ChunkTask, threads: int) -> dict[str, pa.Table]:
    """Simulate a chunk (a Dask task) and return its tables (for the driver's first chunk)."""
    cap_numba_threads(threads)
    return execute_chunk(task)


def write_chunk_on_worker(task: ChunkTask, chunk_dir: str, threads: int) -> dict:
    """Simulate a chunk and write its files atomically (a Dask task); return its record."""
    cap_numba_threads(threads)
    return write_chunk_files(Path(chunk_dir), task, execute_chunk(task))


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None, workers: int | None = None, processes: bool = True
) -> Iterator[object]:
    """Connect to a Dask scheduler, or start a ``LocalCluster`` of ``workers`` workers.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); None starts a local cluster.
    workers : int, optional
        Local cluster: its number of workers (default: one per core). With a scheduler: wait
        until that many workers have joined.
    processes : bool
        Local cluster: workers in processes (True) or threads of this process (False).
    """
    from distributed import Client, LocalCluster

    if workers is not None and workers < 1:
        raise RunError(f"--workers: expected at least 1; found {workers}")
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise RunError(f"--scheduler: cannot connect to {scheduler}: {exc}") from None
        with client:
            if workers:
                client.wait_for_workers(workers)
            yield client
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env={"NUMBA_NUM_THREADS": "1"} if processes else None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


class LocalExecutor:
    """Compute everything in this process, one chunk (or design task) after another.

    Called with the signature of ``sim.runner.execute_chunks``, it is that chunk loop;
    ``map`` runs design tasks in order. A context manager that holds nothing.
    """

    name = "local"

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, *args: object) -> None:
        """Run the chunk loop (``sim.runner.execute_chunks``)."""
        execute_chunks(*args)

    def map[T](
        self,
        fn: Callable[..., T],
        arguments: Sequence[tuple],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[T]:
        """Return ``[fn(*a) for a in arguments]``; ``progress(done, total)`` after each."""
        results = []
        for i, args in enumerate(arguments):
            results.append(fn(*args))
            if progress is not None:
                progress(i + 1, len(arguments))
        return results


class DaskExecutor:
    """Compute chunks and design tasks on ``dask.distributed`` workers.

    Used as a context manager, it connects on first use (``dask_client``) and every later call
    inside reuses the connection (a comparison runs several scenarios on one cluster), closed at
    the end; called outside one, each call connects and disconnects.

    Parameters
    ----------
    scheduler, workers, processes
        Where to run (see ``dask_client``); ignored when ``client`` is given.
    threads : int
        numba threads per task.
    client : distributed.Client, optional
        A client to use (kept open afterwards).
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        threads: int = 1,
        processes: bool = True,
        client: object | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise RunError(f"--workers: expected at least 1; found {workers}")
        self.scheduler, self.workers, self.threads, self.processes = (
            scheduler,
            workers,
            threads,
            processes,
        )
        self.client = client
        self._own_client: object | None = None
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> DaskExecutor:
        self._stack = contextlib.ExitStack()  # the connection is made on first use
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            if self._own_client is not None:
                self._own_client = None
            stack.close()

    @contextlib.contextmanager
    def _connected(self) -> Iterator[object]:
        if self.client is not None:
            yield self.client
        elif self._stack is not None:  # inside ``with``: connect once, keep until the end
            if self._own_client is None:
                self._own_client = self._stack.enter_context(
                    dask_client(self.scheduler, self.workers, self.processes)
                )
            yield self._own_client
        else:
            with dask_client(self.scheduler, self.workers, self.processes) as c:
                yield c

    def __call__(
        self,
        tasks: Sequence[ChunkTask],
        chunk_dir: Path,
        reuse_verified: bool,
        progress: Callable[[int, int], None] | None,
        before_first_write: Callable[[ChunkTask, dict[str, pa.Table], int], None],
    ) -> None:
        """Run the chunk loop on the workers (the signature of ``sim.runner.execute_chunks``)."""
        with self._connected() as c:
            _run_on_dask(
                c, tasks, chunk_dir, reuse_verified, progress, before_first_write, self.threads
            )

    def map[T](
        self,
        fn: Callable[..., T],
        arguments: Sequence[tuple],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[T]:
        """Return ``[fn(*a) for a in arguments]``, each call a task on a worker (results in order).

        At most ``IN_FLIGHT_PER_WORKER`` tasks per worker are submitted at a time, so that the
        driver's memory holds a bounded number of results in flight.
        """
        from distributed import as_completed

        if not arguments:
            return []
        results: list = [None] * len(arguments)
        with self._connected() as client:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            pending = iter(enumerate(arguments))
            in_flight: dict[str, tuple[int, object]] = {}

            def submit(item: tuple[int, tuple]):
                i, args = item
                fut = client.submit(_call_capped, fn, args, self.threads, pure=False)
                in_flight[fut.key] = (i, fut)
                return fut

            window = IN_FLIGHT_PER_WORKER * n_workers
            running = as_completed([submit(x) for x in itertools.islice(pending, window)])
            done = 0
            try:
                for fut in running:
                    i, _ = in_flight.pop(fut.key)
                    results[i] = fut.result()
                    fut.release()
                    done += 1
                    if progress is not None:
                        progress(done, len(arguments))
                    nxt = next(pending, None)
                    if nxt is not None:
                        running.add(submit(nxt))
            finally:
                client.cancel([f for _, f in in_flight.values()])
        return results


Executor = LocalExecutor | DaskExecutor


def _call_capped[T](fn: Callable[..., T], args: tuple, threads: int) -> T:
    """Call ``fn(*args)`` on a worker with numba capped at ``threads`` threads."""
    cap_numba_threads(threads)
    return fn(*args)


def dask_executor(
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int = 1,
    processes: bool = True,
    client: object | None = None,
) -> DaskExecutor:
    """Return a ``DaskExecutor`` (a chunk loop for ``run_scenario(..., execute=...)``)."""
    return DaskExecutor(scheduler, workers, threads, processes, client)


# the executor commands run their chunks and design tasks on (``use_executor``)
_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "escsim_executor", default=None
)


def current_executor() -> Executor:
    """Return the executor set by the innermost ``use_executor`` (default: local)."""
    return _CURRENT.get() or LocalExecutor()


@contextlib.contextmanager
def use_executor(executor: Executor) -> Iterator[Executor]:
    """Open ``executor`` and make it the one analyses run on (``current_executor``) in the block.

    Analyses (comparisons, sensitivity and discovery designs, posterior runs) ask for the current
    executor where they compute, so a command sets it once, as ``dask.config.set`` does for Dask.
    """
    with executor as ex:
        token = _CURRENT.set(ex)
        try:
            yield ex
        finally:
            _CURRENT.reset(token)


def _run_on_dask(
    client,
    tasks: Sequence[ChunkTask],
    chunk_dir: Path,
    reuse_verified: bool,
    progress: Callable[[int, int], None] | None,
    before_first_write: Callable[[ChunkTask, dict[str, pa.Table], int], None],
    threads: int,
) -> None:
    from distributed import as_completed

    total = getattr(tasks, "runs", None) or sum(t.n_reps for t in tasks)
    done = 0
    todo: list[ChunkTask] = []
    for task in tasks:
        if reuse_verified and chunk_verified(chunk_dir, task):
            done += task.n_reps
            if progress:
                progress(done, total)
        else:
            todo.append(task)
    if not todo:
        return
    # the first chunk comes back to the driver: the free space is checked and the directory
    # prepared before any worker writes
    first = todo.pop(0)
    tables = client.submit(compute_chunk_on_worker, first, threads, pure=False).result()
    before_first_write(first, tables, done)
    record_chunk(chunk_dir, first, write_chunk_files(chunk_dir, first, tables))
    done += first.n_reps
    if progress:
        progress(done, total)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = IN_FLIGHT_PER_WORKER * n_workers
    pending = iter(todo)

    in_flight: dict[str, tuple[ChunkTask, object]] = {}

    def submit(task: ChunkTask):
        fut = client.submit(write_chunk_on_worker, task, str(chunk_dir), threads, pure=False)
        in_flight[fut.key] = (task, fut)
        return fut

    running = as_completed([submit(t) for t in itertools.islice(pending, window)])
    try:
        for fut in running:
            task, _ = in_flight.pop(fut.key)
            record_chunk(chunk_dir, task, fut.result())  # the driver marks it finished
            fut.release()
            done += task.n_reps
            if progress:
                progress(done, total)
            nxt = next(pending, None)
            if nxt is not None:
                running.add(submit(nxt))
    finally:
        client.cancel([f for _, f in in_flight.values()])


def make_executor(
    executor: str, scheduler: str | None = None, workers: int | None = None
) -> Executor:
    """Return the executor an ``--executor`` name stands for (it is also a chunk loop).

    Raises
    ------
    RunError
        For an unknown executor, or ``--scheduler``/``--workers`` given with ``local``.
    """
    if executor == "local":
        if scheduler or workers:
            raise RunError("--scheduler and --workers need --executor dask; found --executor local")
        return LocalExecutor()
    if executor == "dask":
        return DaskExecutor(scheduler, workers)
    raise RunError(f"--executor: expected one of {', '.join(EXECUTORS)}; found {executor!r}")
