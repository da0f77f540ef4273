"""Faults: unwritable or full output directories, two writers, damaged chunks, kills.

What is used to make each fault (tests run as root, where file modes do not stop writes):

* not writable: a path under a regular FILE (always); a read-only tmpfs mount, and a tmpfs
  remounted read-only under an existing results directory (when ``mount`` works here);
* full disk: ``pyarrow.parquet.write_table`` / ``ParquetWriter`` replaced by writers that leave
  a partial file and raise ``OSError(ENOSPC)`` part-way (always); a 256 KiB tmpfs that really
  fills up mid-run, then is grown and the run resumed (when ``mount`` works here);
* two writers: the lock held by this process, and two real ``escsim run`` processes;
* half-written chunks: chunk files truncated, emptied, overwritten with garbage, damaged in the
  middle, given the wrong number of rows, and stray ``.tmp`` files;
* interruption: SIGINT and SIGKILL sent to a real ``escsim run`` process after 3 chunks.

After every fault the final files (events.parquet, runs.parquet, manifest.json) are either
absent or complete, and ``--resume`` gives results identical to an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import sim.runner
from sim.cli import app
from sim.results.files import directory_lock, is_temp_name
from sim.scenario import load_scenario
from tests.conftest import SMALL

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
RUNS, CHUNK = 600, 25  # 24 chunks


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(small, tmp_path_factory) -> Path:
    """An uninterrupted run of the small scenario: the results every fault must end with."""
    out = tmp_path_factory.mktemp("ref") / "r"
    sim.runner.run_scenario(load_scenario(small), out, RUNS, chunk_size=CHUNK, argv=[])
    return out


def plain(table: pa.Table) -> pd.DataFrame:
    """A table as a DataFrame with dictionary columns decoded (compared by value)."""
    cols = {
        n: c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c
        for n, c in zip(table.column_names, table.columns, strict=True)
    }
    return pa.table(cols).to_pandas()


def assert_identical(a: Path, b: Path) -> None:
    for name in ("events.parquet", "runs.parquet"):
        ta, tb = pq.read_table(a / name), pq.read_table(b / name)
        assert ta.schema.names == tb.schema.names and ta.num_rows == tb.num_rows, name
        pd.testing.assert_frame_equal(plain(ta), plain(tb))
    assert json.loads((b / "manifest.json").read_text())["runs"] == RUNS


def assert_nothing_corrupt(out: Path, runs: int = RUNS) -> None:
    """Final files are absent or complete; no partial (.tmp) file is left anywhere."""
    assert not list(out.rglob("*.tmp")), sorted(out.rglob("*.tmp"))
    if (out / "runs.parquet").exists():
        assert pq.read_table(out / "runs.parquet").num_rows == runs
    if (out / "events.parquet").exists():
        assert pq.read_table(out / "events.parquet").num_rows > 0
    if (out / "manifest.json").exists():
        assert json.loads((out / "manifest.json").read_text())["runs"] == runs
    for chunk in (out / "chunks").glob("*.parquet") if (out / "chunks").exists() else []:
        pq.read_table(chunk)  # every finished chunk reads in full


def run_cli(small: Path, out: Path, *extra: str, runs: int = RUNS):
    return runner.invoke(
        app,
        ["run", str(small), "-n", str(runs), "--chunk-size", str(CHUNK), "-o", str(out), "-q"]
        + list(extra),
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


# --- an output directory that is not writable -------------------------------------------------


def test_output_under_a_regular_file_is_refused(small, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    for out in (blocker / "sub", blocker):
        res = run_cli(small, out)
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert "cannot create the results directory" in res.output and str(out) in res.output
    assert blocker.read_text() == "a file, not a directory"


@contextlib.contextmanager
def tmpfs(where: Path, options: str):
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


@pytest.mark.skipif(shutil.which("mount") is None, reason="no mount command")
def test_read_only_file_system(small, tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as mnt:
        res = run_cli(small, mnt / "results")
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert "Read-only file system" in res.output and str(mnt / "results") in res.output
    with tmpfs(tmp_path / "rw", "size=1m") as mnt:
        (mnt / "results").mkdir()
        remount(mnt, "ro")
        res = run_cli(small, mnt / "results")
        assert res.exit_code == 2 and "not writable" in res.output, res.output
        assert list((mnt / "results").iterdir()) == []


# --- a full disk ------------------------------------------------------------------------------


class FillsUp:
    """``pq.write_table`` that fails with ENOSPC on call ``fail_at`` after a partial write."""

    def __init__(self, fail_at: int):
        self.fail_at, self.calls, self.real = fail_at, 0, pq.write_table

    def __call__(self, table, where, **kw):
        self.calls += 1
        if self.calls == self.fail_at:
            if hasattr(where, "write"):  # escsim opens the file itself
                where.write(b"PAR1 partial")
            else:
                Path(where).write_bytes(b"PAR1 partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real(table, where, **kw)


def test_disk_full_mid_run_then_resume(small, reference, tmp_path, monkeypatch):
    out = tmp_path / "r"
    fill = FillsUp(fail_at=5)  # chunk 0 and 1 written (events + runs each), chunk 2 fails
    monkeypatch.setattr(pq, "write_table", fill)
    res = run_cli(small, out)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "No space left on device" in res.output and str(out) in res.output
    assert "--resume" in res.output
    assert_nothing_corrupt(out)
    assert not any((out / n).exists() for n in ("events.parquet", "runs.parquet", "manifest.json"))
    assert len(list((out / "chunks").glob("runs-*.parquet"))) == 2
    monkeypatch.undo()
    res = run_cli(small, out, "--resume")
    assert res.exit_code == 0, res.output
    assert_nothing_corrupt(out)
    assert_identical(reference, out)


def test_disk_full_while_consolidating_then_resume(small, reference, tmp_path, monkeypatch):
    # the final tables link the chunk files into a temporary directory: the disk fills up
    # part-way through linking the events parts
    real = os.link
    linked: list[str] = []

    def full_link(src, dst, *a, **kw):
        if is_temp_name(Path(dst).parent.name, "events.parquet"):
            linked.append(str(dst))
            if len(linked) == RUNS // CHUNK // 2:  # part-way through
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "link", full_link)
    out = tmp_path / "r"
    res = run_cli(small, out)
    assert res.exit_code == 2 and "No space left on device" in res.output, res.output
    assert_nothing_corrupt(out)
    assert (out / "runs.parquet").exists()  # finished before events.parquet: complete
    assert not (out / "events.parquet").exists() and not (out / "manifest.json").exists()
    monkeypatch.undo()
    assert run_cli(small, out, "--resume").exit_code == 0
    assert_identical(reference, out)


@pytest.mark.skipif(shutil.which("mount") is None, reason="no mount command")
def test_a_real_tmpfs_fills_up_mid_run_then_resume(small, reference, tmp_path, monkeypatch):
    with tmpfs(tmp_path / "small_disk", "size=256k") as mnt:
        out = mnt / "r"
        res = run_cli(small, out)  # the space check refuses before writing anything
        assert res.exit_code == 2 and "free" in res.output and not out.exists(), res.output
        monkeypatch.setattr(sim.runner, "check_space", lambda *a: None)  # now fill it for real
        res = run_cli(small, out)
        monkeypatch.undo()
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
        assert "No space left on device" in res.output and "--resume" in res.output
        assert_nothing_corrupt(out)
        assert not (out / "manifest.json").exists()
        done = len(list((out / "chunks").glob("runs-*.parquet")))
        assert 0 < done < RUNS // CHUNK  # it really filled up part-way
        remount(mnt, "size=64m")
        res = run_cli(small, out, "--resume")
        assert res.exit_code == 0, res.output
        assert_identical(reference, out)


# --- two runs pointed at the same directory -----------------------------------------------------


def test_a_second_run_is_refused_while_the_directory_is_locked(small, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    with directory_lock(out):
        res = run_cli(small, out)
    assert res.exit_code == 2 and "another escsim run is writing" in res.output, res.output
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written


def escsim_cmd() -> list[str]:
    """The installed ``escsim`` script (signals go to it directly, not to a ``uv`` parent)."""
    script = Path(sys.executable).parent / "escsim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def spawn(small: Path, out: Path, runs: int, *extra: str) -> subprocess.Popen:
    argv = ["run", str(small), "-n", str(runs), "--chunk-size", str(CHUNK), "-o", str(out), "-q"]
    return subprocess.Popen(
        escsim_cmd() + argv + list(extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 240.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.005)


def test_two_processes_on_one_directory_one_refuses_no_interleaving(small, reference, tmp_path):
    out = tmp_path / "r"
    first = spawn(small, out, RUNS)
    wait_for(lambda: (out / "plan.json").exists(), first)  # the first holds the lock
    first.send_signal(signal.SIGSTOP)  # and keeps it, however slowly the second one starts
    try:
        second = subprocess.run(
            escsim_cmd()
            + ["run", str(small), "-n", str(RUNS), "--seed", "999", "-o", str(out), "-q"]
            + ["--chunk-size", str(CHUNK), "--resume"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 2, second.stderr
    assert "another escsim run is writing" in second.stderr and "Traceback" not in second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads((out / "manifest.json").read_text())["seed"] == SMALL["seed"]
    assert_identical(reference, out)  # all of it from the first run


# --- half-written chunks are detected and redone ---------------------------------------------


def interrupted(small: Path, out: Path, after_chunks: int) -> None:
    def stop(done, total):
        if done >= after_chunks * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.runner.run_scenario(load_scenario(small), out, RUNS, chunk_size=CHUNK, progress=stop)


def chunk(out: Path, kind: str, k: int) -> Path:
    return out / "chunks" / f"{kind}-{k * CHUNK:09d}-{(k + 1) * CHUNK - 1:09d}.parquet"


def truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def damage_middle(p: Path) -> None:
    b = bytearray(p.read_bytes())
    for i in range(len(b) // 3, len(b) // 3 + 64):
        b[i] ^= 0xFF
    p.write_bytes(bytes(b))


def wrong_rows(p: Path) -> None:
    t = pq.read_table(p)
    pq.write_table(t.slice(0, t.num_rows - 1), p)


DAMAGE = {
    "events truncated": ("events", truncate),
    "runs truncated": ("runs", truncate),
    "events emptied": ("events", lambda p: p.write_bytes(b"")),
    "runs garbage": ("runs", lambda p: p.write_bytes(os.urandom(500))),
    "events damaged in the middle": ("events", damage_middle),
    "runs with a row missing": ("runs", wrong_rows),
    "events missing": ("events", lambda p: p.unlink()),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_half_written_last_chunk_is_detected_and_redone(
    small, reference, tmp_path, monkeypatch, damage
):
    out = tmp_path / "r"
    interrupted(small, out, after_chunks=4)
    kind, hurt = DAMAGE[damage]
    hurt(chunk(out, kind, 3))  # the last finished chunk
    (out / "chunks" / (chunk(out, "events", 4).name + ".tmp")).write_bytes(b"PAR1 half")
    (out / "events.parquet.tmp").write_bytes(b"PAR1 half")
    redone = []
    real = sim.runner.execute_chunk

    def record(task):
        redone.append(task.rep_start // CHUNK)
        return real(task)

    monkeypatch.setattr(sim.runner, "execute_chunk", record)
    res = run_cli(small, out, "--resume")
    assert res.exit_code == 0, res.output
    assert redone == list(range(3, RUNS // CHUNK))  # chunks 0-2 kept, 3 redone, rest run
    assert_nothing_corrupt(out)
    assert not (out / "chunks").exists()
    assert_identical(reference, out)


# --- --resume with another scenario, seed, ... is refused with the reason ---------------------


def test_resume_with_different_parameters_is_refused_with_the_reason(small, reference, tmp_path):
    out = tmp_path / "r"
    interrupted(small, out, after_chunks=2)
    other = tmp_path / "other.yaml"
    other.write_text(small.read_text().replace("base_rate: 0.08", "base_rate: 0.09"))
    before = snapshot(out)
    cases = {
        "seed": (
            small,
            ["--seed", "12"],
            f"the seed differs from the unfinished run in this directory "
            f"(was {SMALL['seed']}, now 12)",
        ),
        "scenario": (other, [], "the scenario (file contents) differs"),
        "runs": (
            small,
            ["-n", str(RUNS + 1)],
            f"the number of runs differs from the unfinished run in this directory "
            f"(was {RUNS}, now {RUNS + 1})",
        ),
        "chunk": (small, ["--chunk-size", "7"], "the chunk size differs"),
        "engine": (small, ["--engine", "mesa"], "the engine differs"),
    }
    for name, (scenario, extra, reason) in cases.items():
        argv = ["run", str(scenario), "-n", str(RUNS), "--chunk-size", str(CHUNK), "-o", str(out)]
        res = runner.invoke(app, argv + ["-q", "--resume"] + extra)
        assert res.exit_code == 2 and "Traceback" not in res.output, (name, res.output)
        assert "cannot resume" in res.output and reason in res.output, (name, res.output)
        assert snapshot(out) == before, name  # refused before touching anything
    assert run_cli(small, out, "--resume").exit_code == 0
    assert_identical(reference, out)
    res = run_cli(small, out, "--resume", "--seed", "12")  # a finished run, another seed
    assert res.exit_code == 2 and "seed" in res.output, res.output


# --- a real escsim run killed by SIGINT or SIGKILL, then resumed ------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_process_then_resume_gives_identical_results(small, reference, tmp_path, sig):
    for _attempt in range(5):  # a run may finish before the signal lands (a loaded machine)
        out = tmp_path / f"r-{uuid.uuid4().hex[:6]}"
        proc = spawn(small, out, RUNS)
        wait_for(lambda o=out: len(list((o / "chunks").glob("runs-*.parquet"))) >= 3, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            break
    else:
        pytest.fail("every run finished before the signal landed")
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err, err
        assert_nothing_corrupt(out)
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists()  # it was stopped mid-run
    assert RUNS // CHUNK > len(list((out / "chunks").glob("runs-*.parquet"))) >= 3
    resumed = spawn(small, out, RUNS, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert_nothing_corrupt(out)
    assert_identical(reference, out)


# --- regressions found while injecting these faults -------------------------------------------


def test_ctrl_c_inside_compiled_code_is_an_interrupt_not_a_crash():
    """numba reports a SIGINT during a kernel as SystemError caused by KeyboardInterrupt."""

    def kernel_hit_by_ctrl_c():
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as ki:
                raise SystemError("_numba_unpickle returned a result with an exception") from ki
        except SystemError as inner:
            raise SystemError("CPUDispatcher returned a result with an exception set") from inner

    with pytest.raises(KeyboardInterrupt):
        sim.runner._interruptible(kernel_hit_by_ctrl_c)
    with pytest.raises(SystemError):  # any other SystemError is left alone
        sim.runner._interruptible(lambda: (_ for _ in ()).throw(SystemError("other")))


def test_chunks_that_no_plan_vouches_for_are_not_reused(small, tmp_path):
    """Chunks left without plan.json were silently mixed into a new run with another seed.

    No plan proves escsim wrote them, so they are neither reused nor deleted: the run is
    refused (exit 2) and the directory is left as it was.
    """
    out = tmp_path / "r"
    interrupted(small, out, after_chunks=3)
    (out / "plan.json").unlink()
    before = snapshot(out)
    res = run_cli(small, out, "--seed", "12")
    assert res.exit_code == 2 and "did not write" in res.output, res.output
    assert snapshot(out) == before


def test_resume_over_an_unreadable_manifest_is_a_clear_error(small, reference, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(reference, out)
    (out / "manifest.json").write_text('{"runs": 6')  # damaged by hand
    res = run_cli(small, out, "--resume")
    assert res.exit_code == 2 and "manifest.json is unreadable" in res.output, res.output
    assert "Traceback" not in res.output
