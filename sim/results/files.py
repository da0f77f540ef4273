"""Atomic files and directory locks for results: nothing is ever half-written."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class RunError(Exception):
    """A run that cannot start or continue (bad directory, mismatched resume, lock held)."""

    exit_code = 2


# --- files ---------------------------------------------------------------------------------------


# Column statistics (min/max per row group) are kept for the columns readers filter on; the
# others cost a third of the write time and no reader uses them.
STATISTICS = ["run", "date", "day"]


def _statistics(schema: pa.Schema) -> list[str] | bool:
    names = [c for c in STATISTICS if c in schema.names]
    return names or True


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name, fsync it, then rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        pq.write_table(table, tmp, write_statistics=_statistics(table.schema))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or an interrupt leaves no partial file
        raise


def write_text_atomic(text: str, path: Path) -> None:
    """Write a text file atomically (temporary file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _chunk_ok(path: Path, n_rows: int | None = None) -> bool:
    try:
        # decoded in full: a file damaged inside keeps a readable footer but fails here
        table = pq.read_table(path)
    except Exception:  # noqa: BLE001 - any unreadable file is a chunk to redo
        return False
    return n_rows is None or table.num_rows == n_rows


@contextlib.contextmanager
def directory_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on a results directory; refuse if another run holds it."""
    fh = open(out / ".lock", "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{out}: another escsim run is writing to this directory") from None
        yield
    finally:
        fh.close()


# errors of the results directory itself (full, read-only, refused) rather than of escsim
_DIRECTORY_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


@contextlib.contextmanager
def _directory_errors(out: Path) -> Iterator[None]:
    """Turn a full disk or a refused write into a ``RunError`` that names the directory."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _DIRECTORY_ERRNOS:
            raise
        raise RunError(
            f"{out}: cannot write results: {os.strerror(exc.errno)}; nothing partial is left "
            "and finished chunks are kept: free space (or fix the directory) and rerun with "
            "--resume"
        ) from None
