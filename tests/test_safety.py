"""Safety promises of escsim (issue 15): what it writes, deletes and refuses.

One test (or a few) per item of the issue; faults are made for real where this machine allows:
real symlinks, real signals to real ``escsim`` processes, real bit flips in chunk files, and
read-only or full tmpfs mounts (tests run as root, where file modes do not stop writes; a test
that needs ``mount`` is skipped where ``mount`` fails).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import sim.runner
from sim.cli import app
from sim.results.files import RunError, directory_lock
from sim.runner import run_scenario
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SMALL

ROOT = Path(__file__).resolve().parent.parent
cli = CliRunner()


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


def interrupted(small: Path, out: Path, runs: int = 40, chunk: int = 10, after: int = 20):
    """Leave an unfinished run in ``out``: interrupted after ``after`` replicates."""

    def stop(done, total):
        if done >= after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scenario(load_scenario(small), out, runs, chunk_size=chunk, progress=stop, argv=[])


def escsim(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=ROOT,
        env={**os.environ, "NUMBA_NUM_THREADS": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


@contextlib.contextmanager
def tmpfs(where: Path, options: str = "size=4m"):
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


def read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


# --- 1. never delete or replace a user's files ----------------------------------------------


def test_1_run_into_a_user_folder_deletes_nothing(small, tmp_path):
    out = tmp_path / "thesis"
    (out / "chunks").mkdir(parents=True)
    (out / "chunks" / "chapter3.tex").write_text("my chapter")
    (out / "runs.parquet").write_text("my own runs file")
    res = cli.invoke(app, ["run", str(small), "-n", "5", "-o", str(out), "-q"])
    assert res.exit_code == 2, res.output
    assert "escsim" in res.output and "Traceback" not in res.output
    assert (out / "chunks" / "chapter3.tex").read_text() == "my chapter"
    assert (out / "runs.parquet").read_text() == "my own runs file"
    assert sorted(p.name for p in out.rglob("*")) == ["chapter3.tex", "chunks", "runs.parquet"]


def test_1_overwrite_keeps_what_escsim_did_not_write(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    (out / "plots").mkdir()
    (out / "plots" / "my_figure.png").write_bytes(b"mine")
    (out / "notes.txt").write_text("mine")
    run_scenario(load_scenario(small), out, 6, overwrite=True, argv=[])
    assert (out / "plots" / "my_figure.png").read_bytes() == b"mine"
    assert (out / "notes.txt").read_text() == "mine"
    assert pq.read_table(out / "runs.parquet").num_rows == 6


def test_1_overwrite_refuses_a_manifest_escsim_did_not_write(small, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "manifest.json").write_text('{"my": "own manifest"}')
    with pytest.raises(RunError, match="not written by escsim"):
        run_scenario(load_scenario(small), out, 5, overwrite=True, argv=[])
    assert json.loads((out / "manifest.json").read_text()) == {"my": "own manifest"}


def test_1_overwrite_refuses_a_table_directory_with_foreign_files_before_touching_anything(
    small, tmp_path
):
    # a results table of several chunks is a directory of parts: a file put there is not
    # escsim's, and the refusal must come before the old manifest and tables are removed
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 10, chunk_size=5, argv=[])
    assert (out / "events.parquet").is_dir()
    (out / "events.parquet" / "notes.txt").write_text("mine")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    manifest = (out / "manifest.json").read_bytes()
    with pytest.raises(RunError, match="notes.txt"):
        run_scenario(load_scenario(small), out, 10, chunk_size=5, overwrite=True, argv=[])
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert (out / "manifest.json").read_bytes() == manifest
    assert (out / "events.parquet" / "notes.txt").read_text() == "mine"


# every command that takes --out, with arguments that would run it (for seconds to minutes)
OUT_COMMANDS = {
    "forecast": [
        "forecast",
        "scenarios/historical.yaml",
        "--origin",
        "2020-07-31",
        "--runs",
        "20",
    ],
    "calibrate": ["calibrate", "--quick", "-q"],
    "episode": ["episode", "--quick", "-q"],
    "evaluate": ["evaluate", "--quick"],
    "sensitivity": [
        "sensitivity",
        "scenarios/truce.yaml",
        "scenarios/status_quo.yaml",
        "--outcome",
        "us_killed",
    ],
    "discover": [
        "discover",
        "scenarios/truce.yaml",
        "scenarios/status_quo.yaml",
        "--outcome",
        "attacks_us",
    ],
}


def tree(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root``: a file's bytes, a link's target, a folder's "dir"."""
    found: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        if p.is_symlink():
            found[key] = "-> " + os.readlink(p)
        elif p.is_dir():
            found[key] = "dir"
        else:
            found[key] = p.read_bytes()
    return found


@pytest.mark.parametrize("command", sorted(OUT_COMMANDS))
def test_1_every_out_command_refuses_a_user_folder_before_running(command, tmp_path):
    # a folder escsim did not write (here with a manifest.json of the user's own) is refused
    # with exit 2 before anything runs (seconds): nothing in it is replaced, nothing is created
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "manifest.json").write_text('{"chapter": 3}')
    (out / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    res = cli.invoke(app, [*OUT_COMMANDS[command], "--out", str(out)])
    assert res.exit_code == 2, (res.output, repr(res.exception))
    # refused before the work: the one-line refusal is all it printed (no progress lines)
    assert "escsim did not write" in res.output and res.output.count("\n") <= 2, res.output
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "command, link",
    [
        ("forecast", "plots"),
        ("forecast", "forecast.csv"),
        ("calibrate", "report"),
        ("calibrate", "posterior.parquet"),
        ("evaluate", "figures"),
        ("episode", "report.md"),
        ("sensitivity", "sobol.csv"),
    ],
)
def test_7_links_in_escsim_own_output_folders_are_refused_before_running(command, link, tmp_path):
    # escsim's own earlier results (its marker), with a link where escsim would write: refused
    out = tmp_path / "r"
    marker = {"calibrate": "report/results.json", "evaluate": "standing.json"}.get(
        command, "manifest.json"
    )
    (out / marker).parent.mkdir(parents=True, exist_ok=True)
    (out / marker).write_text(json.dumps({"written_by": "escsim", "command": "escsim x"}))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    if link == "report":  # escsim's marker is in report/: here the linked folder holds it
        (out / marker).rename(victim / "results.json")
        (out / "report").rmdir()
    (out / link).symlink_to(victim if link in ("plots", "report", "figures") else victim / "f")
    before = tree(tmp_path)
    res = cli.invoke(app, [*OUT_COMMANDS[command], "--out", str(out)])
    assert res.exit_code == 2, (res.output, repr(res.exception))
    assert "symbolic link" in res.output and res.output.count("\n") <= 2, res.output
    assert tree(tmp_path) == before


# --- 2. no resume across a change of code ---------------------------------------------------


def test_2_resume_across_a_code_change_is_refused_naming_it(small, tmp_path):
    out = tmp_path / "r"
    interrupted(small, out)
    plan = json.loads((out / "plan.json").read_text())
    assert "code" in plan and "sources" in plan["code"] and "numba" in plan["code"]
    plan["code"]["sources"] = "0" * 64  # the plan was written by other escsim sources
    (out / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(RunError, match="source code"):
        run_scenario(load_scenario(small), out, 40, chunk_size=10, resume=True, argv=[])
    plan["code"] = {**json.loads((out / "plan.json").read_text())["code"], "numba": "0.1"}
    (out / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(RunError, match="numba"):
        run_scenario(load_scenario(small), out, 40, chunk_size=10, resume=True, argv=[])


def test_2_a_chunk_computed_by_other_code_is_refused(small, tmp_path):
    # an executor (Dask) computes chunks in other processes, perhaps on machines with another
    # escsim: each chunk's record carries the fingerprint of the code that computed it, and
    # the driver refuses one that differs from its own (here: what such a worker reports)
    from sim.runner import execute_chunk, record_chunk, write_chunk_files

    def other_worker(tasks, chunk_dir, reuse, progress, before_first_write):
        for i, task in enumerate(tasks):
            tables = execute_chunk(task)
            if i == 0:
                before_first_write(task, tables, 0)
            record = write_chunk_files(chunk_dir, task, tables)
            if i == 1:
                record["code"] = {**record["code"], "sources": "0" * 64}
            record_chunk(chunk_dir, task, record)

    out = tmp_path / "r"
    with pytest.raises(RunError, match="other escsim code.*sources"):
        run_scenario(load_scenario(small), out, 15, chunk_size=5, execute=other_worker, argv=[])
    assert not (out / "manifest.json").exists()
    assert sorted(p.name for p in (out / "chunks").glob("*.json")) == ["000000000-000000004.json"]


def test_2_manifest_records_the_code_fingerprint(small, tmp_path):
    res = run_scenario(load_scenario(small), tmp_path / "r", 5, argv=[])
    code = res.manifest["code"]
    assert len(code["sources"]) == 64 and {"numpy", "numba", "mesa"} <= set(code)


# --- 3. numba never caches where escsim did not key it ---------------------------------------

LOCATOR = (
    "import sim, numba; from numba.core.caching import FunctionCache; "
    "from sim.model.rules import common; "
    "f = [getattr(common, n) for n in dir(common) if hasattr(getattr(common, n), 'py_func')][0]; "
    "d = f._cache; "
    "print(type(d).__name__, getattr(getattr(d, '_cache_path', None), 'strip', lambda: '')())"
)


def fresh_env(**extra: str) -> dict[str, str]:
    """This process's environment without the numba settings escsim made at import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    return {**env, **extra}


def test_3_unwritable_cache_dir_falls_back_to_a_keyed_temp_dir(tmp_path):
    ro, tmp = tmp_path / "ro", tmp_path / "tmp"
    tmp.mkdir()
    with tmpfs(ro):
        read_only(ro)
        proc = subprocess.run(
            [sys.executable, "-c", LOCATOR],
            cwd=ROOT,
            env=fresh_env(XDG_CACHE_HOME=str(ro), TMPDIR=str(tmp)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    kind, path = proc.stdout.split()
    assert kind == "FunctionCache" and path.startswith(str(tmp)), proc.stdout
    assert "sim/__pycache__" not in path and str(ROOT) not in path
    assert "numba cache" in proc.stderr and proc.stderr.count("\n") == 1


def test_3_no_writable_location_runs_without_a_cache(tmp_path):
    """Read-only package, HOME cache, TMPDIR, /tmp and /var/tmp (a private mount namespace)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "sim", pkg / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    ro = tmp_path / "ro"
    ro.mkdir()
    script = (
        "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp && "
        "mount --bind /var/tmp /var/tmp && mount -o remount,bind,ro /var/tmp && "
        f'exec "{sys.executable}" -c "$0"'
    )
    proc = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, LOCATOR],
        cwd=tmp_path,
        env=fresh_env(
            PYTHONPATH=str(pkg),
            HOME=str(ro),
            XDG_CACHE_HOME=str(ro),
            TMPDIR=str(ro),
            PYTHONDONTWRITEBYTECODE="1",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "unshare" in proc.stderr and "Operation not permitted" in proc.stderr:
        pytest.skip("no private mount namespace here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == "NullCache", proc.stdout
    assert "without a cache" in proc.stderr


# --- 4. compare: every name checked before anything runs --------------------------------------


def _scenario(tmp_path: Path, name: str, file: str) -> Path:
    p = tmp_path / file
    p.write_text(yaml.safe_dump({**SMALL, "name": name}, sort_keys=False))
    return p


def test_4_compare_names_never_collide(tmp_path):
    from sim.analysis.compare import directory_names

    loaded = [load_scenario(_scenario(tmp_path, n, f"{i}.yaml")) for i, n in enumerate("abc")]
    object.__setattr__(loaded[0].scenario, "name", "x_2")
    object.__setattr__(loaded[1].scenario, "name", "x")
    object.__setattr__(loaded[2].scenario, "name", "x")
    names = directory_names(loaded)
    assert len(set(names)) == 3 and names[:2] == ["x_2", "x"], names


@pytest.mark.parametrize("name", ["comparison.json", "brief.pdf", "plots"])
def test_4_compare_refuses_names_of_its_own_files_before_running(tmp_path, name):
    a = _scenario(tmp_path, "base", "a.yaml")
    b = _scenario(tmp_path, name, "b.yaml")
    out = tmp_path / "cmp"
    res = cli.invoke(app, ["compare", str(a), str(b), "-n", "5", "-o", str(out), "-q"])
    assert res.exit_code == 2, res.output
    assert name in res.output and "Traceback" not in res.output
    assert not (out / "base").exists()


def test_4_compare_refuses_before_running_anything(tmp_path):
    a, b = _scenario(tmp_path, "a", "a.yaml"), _scenario(tmp_path, "b", "b.yaml")
    out = tmp_path / "cmp"
    (out / "b").mkdir(parents=True)
    (out / "b" / "mine.txt").write_text("user file")
    res = cli.invoke(app, ["compare", str(a), str(b), "-n", "5", "-o", str(out), "--overwrite"])
    assert res.exit_code == 2, res.output
    assert not (out / "a").exists(), "the first scenario ran before the refusal"
    assert (out / "b" / "mine.txt").read_text() == "user file"


# --- 5. corrupt chunks are redone on resume ---------------------------------------------------


def _flip_a_bit_that_still_decodes(path: Path) -> None:
    """Flip one bit of a Parquet file so that it still decodes, to different values."""
    data = bytearray(path.read_bytes())
    original = pq.read_table(path)
    for pos in range(len(data) // 3, len(data) - 200):
        for bit in (0, 3):
            data[pos] ^= 1 << bit
            path.write_bytes(bytes(data))
            try:
                table = pq.read_table(path)
                if table.num_rows == original.num_rows and not table.equals(original):
                    return
            except Exception:  # noqa: BLE001, S110 - this flip does not decode; try the next
                pass
            data[pos] ^= 1 << bit
    raise AssertionError("no decodable bit flip found")


def test_5_a_bit_flip_in_a_chunk_is_detected_on_resume(small, tmp_path):
    full = run_scenario(load_scenario(small), tmp_path / "full", 40, chunk_size=10, argv=[])
    out = tmp_path / "cut"
    interrupted(small, out)
    chunk = sorted((out / "chunks").glob("events-*.parquet"))[0]
    _flip_a_bit_that_still_decodes(chunk)
    run_scenario(load_scenario(small), out, 40, chunk_size=10, resume=True, argv=[])
    for name in ("events.parquet", "runs.parquet"):
        a, b = pq.read_table(out / name), pq.read_table(full.out / name)
        pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas())  # NaN == NaN here


# --- 6. a refused compare --resume keeps the comparison ---------------------------------------


def test_6_refused_compare_resume_keeps_the_comparison(tmp_path):
    a, b = _scenario(tmp_path, "a", "a.yaml"), _scenario(tmp_path, "b", "b.yaml")
    out = tmp_path / "cmp"
    assert cli.invoke(app, ["compare", str(a), str(b), "-n", "5", "-o", str(out)]).exit_code == 0
    before = (out / "comparison.json").read_text()
    res = cli.invoke(app, ["compare", str(a), str(b), "-n", "6", "-o", str(out), "--resume"])
    assert res.exit_code == 2, res.output
    assert (out / "comparison.json").read_text() == before


# --- 7. symlinks are never written through; unique temp names; compare lock -------------------


def test_7_symlinked_chunks_dir_is_refused(small, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.tmp").write_text("user temp file")
    out = tmp_path / "r"
    interrupted(small, out)
    shutil.rmtree(out / "chunks")
    (out / "chunks").symlink_to(elsewhere)
    with pytest.raises(RunError, match="symbolic link"):
        run_scenario(load_scenario(small), out, 40, chunk_size=10, resume=True, argv=[])
    assert [p.name for p in elsewhere.iterdir()] == ["keep.tmp"]


def test_7_dangling_lock_link_is_refused(small, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    target = tmp_path / "created-through-link"
    (out / ".lock").symlink_to(target)
    with pytest.raises(RunError, match="symbolic link"):
        run_scenario(load_scenario(small), out, 5, argv=[])
    assert not target.exists()


def test_7_figure_temp_link_is_not_written_through(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.style import save_figure

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / ".fan.png.tmp").symlink_to(victim)
    fig = plt.figure()
    save_figure(fig, plots, "fan", formats=("png",))
    plt.close(fig)
    assert victim.read_text() == "precious"
    assert (plots / "fan.png").read_bytes().startswith(b"\x89PNG")


def test_7_plot_does_not_write_through_a_linked_plots_folder(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "plots").symlink_to(elsewhere)
    res = cli.invoke(app, ["plot", str(out)])
    assert res.exit_code == 2 and "symbolic link" in res.output, res.output
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("mine", ["brief.pdf", "plots/fans.png", "posterior_outcomes.parquet"])
def test_1_compare_into_a_user_folder_replaces_none_of_its_files(small, tmp_path, mine):
    # comparison.json/.csv/.md were checked; the brief, plots and tables it writes at the end
    # were replaced in a folder escsim did not write (after minutes of running)
    other = tmp_path / "other.yaml"
    other.write_text(small.read_text().replace("name: small", "name: other"))
    out = tmp_path / "folder"
    (out / mine).parent.mkdir(parents=True, exist_ok=True)
    (out / mine).write_bytes(b"mine")
    before = tree(tmp_path)
    args = ["compare", str(small), str(other), "-n", "5", "-o", str(out), "-q"]
    res = cli.invoke(app, [*args, "--fixed-parameters"])
    assert res.exit_code == 2, (res.output, repr(res.exception))
    assert "not written by escsim" in res.output, res.output
    assert tree(tmp_path) == before


def test_7_comparison_directory_is_locked(tmp_path):
    from sim.analysis.compare import run_comparison

    a = load_scenario(_scenario(tmp_path, "a", "a.yaml"))
    out = tmp_path / "cmp"
    out.mkdir()
    with directory_lock(out), pytest.raises(RunError, match="another escsim"):
        run_comparison([a], out, 5, overwrite=True)
    assert not (out / "a").exists()


# --- 8. bounded inputs ------------------------------------------------------------------------


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))  # the old code read /dev/zero


def test_8_validate_refuses_devices_fifos_and_huge_files(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as fh:
        fh.truncate(64 * 2**20)  # sparse: 64 MiB of NULs
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", "/dev/zero", str(fifo), str(huge)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a FIFO hangs the old code, /dev/zero fills memory
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "/dev/zero" in proc.stderr and "a regular file" in proc.stderr
    for path in (fifo, huge):
        with pytest.raises(ScenarioError, match="regular file|at most"):
            load_scenario(path)


def test_8_chunks_are_planned_lazily():
    world = sim.runner.compile_world(load_scenario(ROOT / "scenarios" / "historical.yaml").scenario)
    small_plan = sim.runner.plan_chunks(world, 10, 1, "kernel")
    assert not isinstance(small_plan, list), "chunk tasks are made in advance"  # (10**12: OOM)
    tasks = sim.runner.plan_chunks(world, 10**12, 1, "kernel")
    assert len(tasks) == 10**12
    first = next(iter(tasks))
    assert (first.rep_start, first.n_reps) == (0, 1)


def test_8_replay_of_a_manifest_with_absurd_runs_is_refused(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    m = json.loads((out / "manifest.json").read_text())
    m["runs"] = 10**12
    (out / "manifest.json").write_text(json.dumps(m))
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "replay", str(out), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,  # the old code built 10**9 chunk tasks
    )
    assert proc.returncode == 2 and "runs" in proc.stderr, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, option",
    [
        (OUT_COMMANDS["forecast"][:-1] + [str(10**12)], "--runs"),
        (OUT_COMMANDS["forecast"] + ["--posterior", "FIFO"], "--posterior"),
        (OUT_COMMANDS["forecast"] + ["--posterior", "/dev/zero"], "--posterior"),
        (["calibrate", "--quick", "--particles", str(10**9)], "--particles"),
        (["episode", "--quick", "--runs", str(10**9)], "--runs"),
        (["evaluate", "--quick", "--runs", str(10**12)], "--runs"),
    ],
)
def test_8_new_commands_bound_their_inputs(args, option, tmp_path):
    # a FIFO would hang, 10**12 trajectories would fill the memory: one line, exit 2, at once
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = [str(fifo) if a == "FIFO" else a for a in args]
    res = cli.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, (res.output, repr(res.exception))
    assert option in res.output and res.output.count("\n") <= 2, res.output
    assert not (tmp_path / "out").exists()


# --- 9. SIGTERM is an interrupt ---------------------------------------------------------------


def _wait_for(pred, proc, timeout=240.0):
    t0 = time.time()
    while not pred():
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode()[-2000:])
        if time.time() - t0 > timeout:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_9_sigterm_stops_a_run_like_ctrl_c(small, tmp_path):
    out = tmp_path / "r"
    proc = escsim("run", str(small), "-n", "400000", "--chunk-size", "200", "-o", str(out), "-q")
    _wait_for(lambda: len(list((out / "chunks").glob("runs-*.parquet"))) >= 1, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode() and "Traceback" not in stderr.decode()


def test_9_sigterm_stops_calibrate_like_ctrl_c_and_leaves_nothing(tmp_path):
    # the long analysis commands (calibrate, episode, evaluate, forecast) share the handling:
    # SIGTERM once the sampler is running gives exit 130, the message, no --out and no temp
    out = tmp_path / "cal"
    proc = escsim("calibrate", "--quick", "--out", str(out), env={"TMPDIR": str(tmp_path)})
    line = proc.stderr.readline()  # the first progress line: the sampler has started
    assert line, proc.communicate(timeout=60)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_9_sigterm_during_replay_removes_its_temp_dir(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 3000, chunk_size=100, argv=[])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = escsim("replay", str(out), "-q", env={"TMPDIR": str(tmp)})
    _wait_for(lambda: any(tmp.glob("*/results/chunks/runs-*.parquet")), proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert list(tmp.iterdir()) == []


# --- 10. overlay errors are located in the overlay --------------------------------------------


def test_10_calibration_overlay_error_names_the_overlay_line(tmp_path):
    cal = tmp_path / "fitted.yaml"
    cal.write_text("fit: {method: test}\nfactions:\n  A:\n    base_rate: 0.1\n    discipline: 7\n")
    doc = {**SMALL, "calibration": "fitted.yaml"}
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(sc)
    assert str(cal) in str(info.value) and ":5" in str(info.value), str(info.value)


# --- 11. names are printable; explain escapes what it prints ----------------------------------


@pytest.mark.parametrize("field", ["name", "fronts"])
def test_11_control_characters_in_names_are_refused(tmp_path, field):
    doc = json.loads(json.dumps(SMALL))
    bad = "KH\x1b]0;pwned\x07\x00"
    doc["factions"][0][field] = bad if field == "name" else [bad]
    sc = tmp_path / "s.yaml"
    sc.write_text(json.dumps(doc))  # JSON is YAML and carries the control characters
    with pytest.raises(ScenarioError, match="printable"):
        load_scenario(sc)


def test_11_explain_escapes_names_from_a_results_directory(small, tmp_path):
    from sim.analysis.explain import explain_events, format_explanation, read_run_events

    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 3, argv=[])
    events = read_run_events(out, 0)
    assert (events["kind"] == "attack").any()
    events["actor"] = events["actor"].where(events["kind"] != "attack", "A\x1b[2J\x00")
    events["claimed_as"] = events["claimed_as"].map(lambda x: x and "Front\x1b]0;x\x07")
    ex = explain_events(events, 0, pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31"))
    text = "\n".join(t for t, _ in format_explanation(ex, "small\x1b[31m"))
    assert not any(ord(c) < 32 and c != "\n" for c in text), repr(text)
    assert "\\x1b" in text


# --- 12. damaged results directories: one line, exit 2 ----------------------------------------


DAMAGES = ["manifest-list", "manifest-no-end", "runs-garbage", "outcome_from"]


@pytest.mark.parametrize(
    "command, damage",
    [(c, d) for c in ("plot", "explain", "replay") for d in DAMAGES]
    + [("resume", "manifest-list")],  # the others keep a matching plan: a finished run
)
def test_12_damaged_results_give_one_line_and_exit_2(small, tmp_path, damage, command):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    m = json.loads((out / "manifest.json").read_text())
    if damage == "manifest-list":
        (out / "manifest.json").write_text("[1, 2]")
    elif damage == "manifest-no-end":
        del m["end"]
        (out / "manifest.json").write_text(json.dumps(m))
    elif damage == "outcome_from":
        m["outcome_from"] = "soon"
        (out / "manifest.json").write_text(json.dumps(m))
    else:
        (out / "runs.parquet").write_bytes(b"PAR1 garbage PAR1")
    args = {
        "plot": ["plot", str(out)],
        "explain": ["explain", str(out)],
        "replay": ["replay", str(out), "-q"],
        "resume": ["run", str(small), "-n", "5", "-o", str(out), "--resume", "-q"],
    }[command]
    res = cli.invoke(app, args)
    assert res.exit_code == 2, (res.output, repr(res.exception))
    assert "Traceback" not in res.output and res.output.count("\n") <= 2, res.output
    if damage == "outcome_from":
        assert "outcome_from" in res.output and "date" in res.output, res.output


@pytest.mark.parametrize("command", ["plot", "explain"])
@pytest.mark.parametrize("damage", ["part-missing", "part-is-a-directory", "part-added"])
def test_12_a_table_directory_that_lost_or_gained_a_part_is_refused(
    small, tmp_path, damage, command
):
    # a table of several chunks is a directory of parts; drawing or explaining from one that
    # lost a part (or gained one) would show part of a run, or another run's replicates
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 10, chunk_size=5, argv=[])
    table = out / ("runs.parquet" if command == "plot" else "events.parquet")
    part = table / "part-000000005-000000009.parquet"
    if damage == "part-missing":
        part.unlink()
    elif damage == "part-is-a-directory":
        part.unlink()
        part.mkdir()
    else:
        shutil.copyfile(part, table / "part-000000010-000000014.parquet")
    res = cli.invoke(app, [command, str(out)])
    assert res.exit_code == 2, (res.output, repr(res.exception))
    assert "damaged results table" in res.output and res.output.count("\n") <= 2, res.output
    assert not (out / "plots").exists()


def test_12_resuming_a_finished_run_whose_table_lost_a_part_is_refused(small, tmp_path):
    # compare --resume and run --resume reuse finished results: not when a part is gone
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 10, chunk_size=5, argv=[])
    (out / "runs.parquet" / "part-000000005-000000009.parquet").unlink()
    with pytest.raises(RunError, match="damaged results table"):
        run_scenario(load_scenario(small), out, 10, chunk_size=5, resume=True, argv=[])


# --- 13. replay checks the scenario text and foreign rows -------------------------------------


def test_13_replay_notices_an_edited_scenario_text(small, tmp_path):
    from sim.replay import ReplayError, replay

    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    m = json.loads((out / "manifest.json").read_text())
    m["scenario"]["text"] = m["scenario"]["text"].replace("base_rate: 0.08", "base_rate: 0.9")
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ReplayError, match="scenario.text"):
        replay(out)


def test_13_replay_notices_foreign_replicates(small, tmp_path):
    from sim.replay import replay

    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 5, argv=[])
    for name in ("runs.parquet", "events.parquet"):
        t = pq.read_table(out / name)
        extra = t.slice(0, 1).set_column(
            t.schema.get_field_index("run"), "run", pa.array([5000], t.schema.field("run").type)
        )
        pq.write_table(pa.concat_tables([t, extra]), out / name)
    assert not replay(out).identical


# --- 14. replay on a full disk gives replay's advice ------------------------------------------


def test_14_replay_on_a_full_disk_does_not_advise_resume(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 2000, chunk_size=500, argv=[])
    with tmpfs(tmp_path / "full", "size=256k") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "sim.cli", "replay", str(out), "-q"],
            cwd=ROOT,
            env={**os.environ, "TMPDIR": str(full), "NUMBA_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        leftover = list(full.iterdir())
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert "--resume" not in proc.stderr and "space" in proc.stderr, proc.stderr
    assert leftover == []


# --- 15. a kill after the manifest leaves no second copy --------------------------------------


def test_15_kill_after_the_manifest_is_cleaned_up(small, tmp_path, monkeypatch):
    out = tmp_path / "r"
    real = sim.runner.write_text_atomic

    def killed_after_the_manifest(text, path):
        real(text, path)
        if Path(path).name == "manifest.json":
            raise KeyboardInterrupt  # killed after manifest.json, before the clean-up

    monkeypatch.setattr(sim.runner, "write_text_atomic", killed_after_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(load_scenario(small), out, 40, chunk_size=10, argv=[])
    monkeypatch.undo()
    assert (out / "manifest.json").exists() and (out / "chunks").exists()
    res = cli.invoke(app, ["run", str(small), "-n", "40", "--chunk-size", "10", "-o", str(out)])
    assert res.exit_code == 2  # finished results: not overwritten without asking
    assert not (out / "chunks").exists() and not (out / "plan.json").exists()
    assert pq.read_table(out / "runs.parquet").num_rows == 40


# --- 16. encodings --------------------------------------------------------------------------


def test_16_non_utf8_file_name_runs(tmp_path):
    src = tmp_path / "s.yaml"
    src.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/sc\xff.yaml"))
    shutil.copy(src, odd)
    out = Path(os.fsdecode(bytes(tmp_path) + b"/out\xfe"))
    res = cli.invoke(app, ["run", str(odd), "-n", "3", "-o", str(out), "-q"])
    assert res.exit_code == 0, (res.output, repr(res.exception))
    assert (out / "manifest.json").exists() and not (out / "plan.json").exists()


def test_16_ascii_locale_prints_non_ascii_names(tmp_path):
    doc = {**SMALL, "name": "Kataib-\u062d\u0632\u0628"}
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "validate", str(sc)],
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-1500:]
    assert b"ok" in proc.stdout


# --- 17. small things -----------------------------------------------------------------------


def test_17_numba_num_threads_zero_is_one_line(small, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(small), "-n", "2", "-o", str(tmp_path / "r")],
        cwd=ROOT,
        env={**os.environ, "NUMBA_NUM_THREADS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "NUMBA_NUM_THREADS" in proc.stderr, proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr


def test_17_explain_into_a_closed_pipe_exits_0(small, tmp_path):
    out = tmp_path / "r"
    run_scenario(load_scenario(small), out, 3, argv=[])
    r, w = os.pipe()
    os.close(r)  # the reader (`head`) is gone before escsim writes
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "explain", str(out)],
        cwd=ROOT,
        stdout=w,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(w)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-1500:]


def test_17_refused_run_writes_no_lock(small, tmp_path):
    out = tmp_path / "r"
    interrupted(small, out)
    (out / ".lock").unlink()
    with pytest.raises(RunError, match="--resume"):
        run_scenario(load_scenario(small), out, 40, chunk_size=10, argv=[])
    assert not (out / ".lock").exists()


def test_17_a_run_larger_than_the_free_space_is_refused_before_simulating(small, tmp_path):
    out = tmp_path / "r"
    proc = escsim("run", str(small), "-n", "100000000", "-o", str(out), "-q")
    try:
        _, stderr = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the run started simulating 10**8 replicates") from None
    assert proc.returncode == 2, stderr.decode()[-1500:]
    assert "free" in stderr.decode() and "GB" in stderr.decode()
    assert not out.exists()
