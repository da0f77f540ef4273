"""Atomic files and directory locks for results: nothing is ever half-written.

Every file is written under a unique temporary name in its own directory (created with
``O_EXCL``, so never through a symbolic link), fsynced, then renamed into place (a rename
replaces a link itself, never its target). The lock file is opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class RunError(Exception):
    """A run that cannot start or continue (bad directory, mismatched resume, lock held)."""

    exit_code = 2


class DiskError(RunError):
    """The results directory refused a write (full disk, read-only, permission)."""

    def __init__(self, directory: Path, reason: str, message: str) -> None:
        super().__init__(message)
        self.directory, self.reason = directory, reason


# --- files ---------------------------------------------------------------------------------------


# Column statistics (min/max per row group) are kept for the columns readers filter on; the
# others cost a third of the write time and no reader uses them.
STATISTICS = ["run", "date", "day"]
# temporary names made by `atomic_file`: ".<final name>.<random>.tmp"
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def _statistics(schema: pa.Schema) -> list[str] | bool:
    names = [c for c in STATISTICS if c in schema.names]
    return names or True


def is_temp_name(name: str, final: str | None = None) -> bool:
    """Return True if ``name`` is a temporary file escsim makes (for ``final``, if given)."""
    if final is not None and not name.startswith(f".{final}."):
        return False
    return bool(_TEMP.match(name))


def _fsync(path: Path, flags: int = 0) -> None:
    """Flush a file (or, with ``os.O_DIRECTORY``, a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path, fsync: bool = True) -> Iterator[Path]:
    """Yield a new temporary file beside ``path``; when the block ends well, rename it into place.

    The temporary name (``.<name>.<random>.tmp``) is chosen before the file is created
    (``O_EXCL``: never through a link, never shared by two writers), so whatever stops the block
    (an error, a full disk, Ctrl-C or SIGTERM landing at any bytecode, even just after the file
    was created) removes it: nothing half-written is ever left. ``fsync`` flushes the finished
    file to disk before the rename.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
        yield tmp
        if fsync:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # 48 random bits: the name is ours
        raise


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a new temporary directory beside ``path``; when the block ends well, rename it there.

    The block fills the directory (with files already on disk, e.g. hard links); its entries are
    fsynced, then it is renamed into place in one step (``path`` must not exist). Named like
    ``atomic_file``'s temporaries (``.<name>.<random>.tmp``, chosen before it is created);
    whatever stops the block, the temporary directory and what is in it go.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.mkdir(tmp)
        yield tmp
        _fsync(tmp, os.O_DIRECTORY)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # 48 random bits: the name is ours
        raise


def link_or_copy(src: Path, dst: Path) -> None:
    """Make ``dst`` a hard link to ``src`` (no bytes rewritten); copy where links are refused."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        shutil.copyfile(src, dst, follow_symlinks=False)
        fd = os.open(dst, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name, fsync it, then rename it into place."""
    with atomic_file(path) as tmp, open(tmp, "wb") as fh:
        # opened here: pyarrow cannot open a non-UTF-8 path
        pq.write_table(table, fh, write_statistics=_statistics(table.schema))


def write_text_atomic(text: str, path: Path) -> None:
    """Write a text file atomically (temporary file, fsync, rename)."""
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)


def dataset_parts(path: Path) -> list[Path]:
    """Return the parts of a results table, in replicate order.

    A table is one Parquet file, or a directory of part files (``part-<first>-<last>.parquet``,
    the run's finished chunks, read as one ``pyarrow.dataset``); names starting with "." or "_"
    are not parts (pyarrow skips them too).
    """
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(
        p for p in path.iterdir() if p.name.endswith(".parquet") and p.name[0] not in "._"
    )


def read_parquet(path: Path, **kwargs: object) -> pa.Table:
    """Read a results table (a Parquet file or a directory of parts) opened by Python.

    Each part is opened by Python, so a path that is not UTF-8 works too; ``kwargs`` (e.g.
    ``columns``, ``filters``) apply to every part.
    """
    tables = []
    for part in dataset_parts(path):
        with open(part, "rb") as fh:
            tables.append(pq.read_table(fh, **kwargs))
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables)


def parquet_rows(path: Path) -> int:
    """Return the number of rows of a results table (from the Parquet footers only)."""
    rows = 0
    for part in dataset_parts(path):
        with open(part, "rb") as fh:
            rows += pq.ParquetFile(fh).metadata.num_rows
    return rows


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def refuse_links(directory: Path, names: tuple[str, ...]) -> None:
    """Raise ``RunError`` if any of ``directory/name`` is a symbolic link."""
    for name in names:
        if (directory / name).is_symlink():
            raise RunError(
                f"{directory / name}: is a symbolic link; escsim never writes through links "
                "(remove it or choose another --out)"
            )


def refuse_if_locked(out: Path) -> None:
    """Raise ``RunError`` if another escsim holds the lock of ``out`` (creates nothing)."""
    try:
        fd = os.open(out / ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # no lock file (or a link: refused when the lock is taken)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RunError(f"{out}: another escsim run is writing to this directory") from None
    finally:
        os.close(fd)


@contextlib.contextmanager
def directory_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on a results directory; refuse if another run holds it.

    The lock file ``.lock`` is opened without following links (a link there is refused).
    """
    path = out / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_links(out, (".lock",))
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{out}: another escsim run is writing to this directory") from None
        yield
    finally:
        os.close(fd)


# errors of the results directory itself (full, read-only, refused) rather than of escsim
_DIRECTORY_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


@contextlib.contextmanager
def _directory_errors(out: Path) -> Iterator[None]:
    """Turn a full disk or a refused write into a ``DiskError`` that names the directory."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _DIRECTORY_ERRNOS:
            raise
        reason = os.strerror(exc.errno)
        raise DiskError(
            out,
            reason,
            f"{out}: cannot write results: {reason}; nothing partial is left "
            "and finished chunks are kept: free space (or fix the directory) and rerun with "
            "--resume",
        ) from None


# --- output directories of the analysis commands (calibrate, episode, forecast, ...) ------------


def read_json_object(path: Path, max_bytes: int = 2**26) -> dict | None:
    """Return the JSON object in the regular file ``path``, or None.

    None for a link, a missing, oversized or unreadable file, or JSON that is not an object:
    what escsim may treat as one of its records is read without following links.
    """
    import json

    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > max_bytes:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def written_by_escsim(path: Path) -> bool:
    """Return True if ``path`` is a JSON object escsim wrote (its manifest or results record).

    escsim's records carry ``"written_by": "escsim"``, an ``escsim_version`` or a ``command``
    that starts with ``escsim``; a link, a missing or an unreadable file is not escsim's.
    """
    data = read_json_object(path)
    if data is None:
        return False
    command = data.get("command")
    return (
        data.get("written_by") == "escsim"
        or "escsim_version" in data
        or (isinstance(command, str) and command.startswith("escsim "))
    )


def claim_output_dir(target: Path, marker: str, outputs: tuple[str, ...] = ()) -> None:
    """Refuse, before anything runs, an output directory escsim may not write into.

    escsim writes into ``target`` only if it is missing, empty, or holds escsim's own results
    of the command (its ``marker``, a JSON record escsim wrote, e.g. ``manifest.json``): it
    then replaces only the files it writes. None of ``marker`` and ``outputs`` (paths
    relative to ``target``), nor any folder on the way to them, may be a symbolic link.
    Nothing is created here.

    Raises
    ------
    RunError
        Naming the directory and what escsim did not write, or the link.
    """
    target = Path(target)
    if target.is_symlink() and not target.exists():
        raise RunError(f"{target}: is a dangling symbolic link; choose another --out")
    if not target.exists():
        return
    if not target.is_dir():
        raise RunError(f"{target}: cannot write the results there: it is not a directory")
    entries = sorted(e for e in os.listdir(target) if e != ".lock")
    if entries and not written_by_escsim(target / marker):
        shown = ", ".join(repr(e) for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise RunError(
            f"{target}: holds files escsim did not write ({shown}); escsim writes only into a "
            f"new or empty directory or into its own results (its {marker}): choose another --out"
        )
    for name in (marker, *outputs):
        path = target
        parts = Path(name).parts
        for i, part in enumerate(parts):
            path = path / part
            if path.is_symlink():
                raise RunError(
                    f"{path}: is a symbolic link; escsim never writes through links "
                    "(remove it or choose another --out)"
                )
            if i < len(parts) - 1 and path.exists() and not path.is_dir():
                raise RunError(f"{path}: escsim writes a folder there; it is a file")


# input files other than scenarios (a posterior sample): at most this many bytes
MAX_INPUT_BYTES = 256 * 2**20


def check_input_file(path: Path, option: str, max_bytes: int = MAX_INPUT_BYTES) -> None:
    """Refuse an input file that is missing, not a regular file (a FIFO, a device) or too large.

    Raises
    ------
    RunError
        Naming the option, the file, what was expected and what was found.
    """
    import stat

    expected = f"a regular file of at most {max_bytes // 2**20} MiB"
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RunError(f"{option}: {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise RunError(f"{option}: {path}: expected {expected}; found not a regular file")
    if st.st_size > max_bytes:
        raise RunError(f"{option}: {path}: expected {expected}; found {st.st_size:,} bytes")
