"""Executors and lean outputs: Dask gives the local results, replicate for replicate.

* a LocalCluster (threads) gives events, runs and monthly tables identical to the local loop;
* a worker process killed with SIGKILL mid-run: Dask runs its task again, results identical;
* an ``escsim run --executor dask`` killed with SIGKILL (with its workers), then ``--resume``
  (local executor): identical to an uninterrupted run;
* ``--events all|attacks|none`` give identical runs.parquet and monthly.parquet;
* sweeps (design points, posterior draws, a comparison) on a LocalCluster give the local results;
* ``compare``, ``sensitivity`` and ``discover`` take ``--executor/--scheduler/--workers``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from distributed import Client, LocalCluster

from sim.executors import (
    DaskExecutor,
    LocalExecutor,
    current_executor,
    dask_executor,
    make_executor,
    use_executor,
)
from sim.results.files import RunError
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import ROOT, SMALL

RUNS, CHUNK = 40, 5  # 8 chunks


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sc") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(small, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "r"
    run_scenario(load_scenario(small), out, RUNS, chunk_size=CHUNK)
    return out


def tables(out: Path) -> dict:
    return {
        name: pq.read_table(out / f"{name}.parquet")
        for name in ("events", "runs", "monthly")
        if (out / f"{name}.parquet").exists()
    }


def same(a, b) -> bool:
    """Tables equal, NaN equal to NaN in the same place."""
    return a.schema == b.schema and a.to_pandas().equals(b.to_pandas())


def assert_identical(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    assert sorted(ta) == sorted(tb) == ["events", "monthly", "runs"]
    for name in ta:
        assert ta[name].num_rows > 0
        assert same(ta[name], tb[name]), name


def test_local_cluster_gives_the_local_results(small, reference, tmp_path):
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        execute = dask_executor(client=client)
        res = run_scenario(
            load_scenario(small), tmp_path / "d", RUNS, chunk_size=CHUNK, execute=execute
        )
    assert res.manifest["runs"] == RUNS
    assert not (tmp_path / "d" / "chunks").exists()
    assert_identical(reference, tmp_path / "d")


def test_a_killed_worker_has_its_task_run_again(small, reference, tmp_path):
    killed = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)  # worker address -> pid

        def kill_one(done: int, total: int) -> None:
            if done >= 2 * CHUNK and not killed:  # workers are busy with the next chunks
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        execute = dask_executor(client=client)
        run_scenario(
            load_scenario(small),
            tmp_path / "k",
            RUNS,
            chunk_size=CHUNK,
            execute=execute,
            progress=kill_one,
        )
        assert killed and killed[0] not in client.run(os.getpid).values()  # it really died
    assert_identical(reference, tmp_path / "k")


def test_resume_after_killing_a_dask_run(small, reference, tmp_path):
    out = tmp_path / "r"
    script = Path(sys.executable).parent / "escsim"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]
    argv = ["run", str(small), "-n", str(RUNS), "--chunk-size", str(CHUNK), "-o", str(out), "-q"]
    proc = subprocess.Popen(
        [*cmd, *argv, "--executor", "dask", "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the driver and its workers
    )
    t0 = time.monotonic()
    while not list((out / "chunks").glob("*.json")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 300, "timed out"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as a cancelled job
    proc.wait()
    assert not (out / "manifest.json").exists()
    run_scenario(load_scenario(small), out, RUNS, chunk_size=CHUNK, resume=True)
    assert_identical(reference, out)


def test_events_modes_write_the_same_outcomes(small, reference, tmp_path):
    ref = tables(reference)
    for mode in ("attacks", "none"):
        out = tmp_path / mode
        res = run_scenario(load_scenario(small), out, RUNS, chunk_size=CHUNK, events=mode)
        got = tables(out)
        assert res.manifest["events"] == mode
        assert same(got["runs"], ref["runs"])
        assert same(got["monthly"], ref["monthly"])
        if mode == "none":
            assert "events" not in got
        else:
            attacks = ref["events"].filter(pc.equal(ref["events"]["kind"].cast("string"), "attack"))
            assert 0 < got["events"].num_rows < ref["events"].num_rows
            assert got["events"].equals(attacks)


def test_monthly_counts_add_up_to_the_events(reference):
    t = tables(reference)
    ev = t["events"].to_pandas()
    monthly = t["monthly"].to_pandas()
    strikes = ev[ev["kind"] == "us_strike"]
    assert monthly["us_strikes"].sum() == len(strikes) > 0
    attacks = ev[ev["kind"] == "attack"]
    assert monthly["attacks_us"].sum() + monthly["attacks_state"].sum() == len(attacks)
    assert len(monthly) == RUNS * 12  # 2020: twelve months, a row each even when zero


def test_executor_options_are_checked():
    assert isinstance(make_executor("local"), LocalExecutor)
    assert isinstance(make_executor("dask", workers=2), DaskExecutor)  # nothing started yet
    with pytest.raises(RunError, match="--executor"):
        make_executor("slurm")
    with pytest.raises(RunError, match="need --executor dask"):
        make_executor("local", workers=2)


@pytest.fixture(scope="module")
def threads_client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_sweeps_on_dask_give_the_local_results(small, threads_client, tmp_path):
    from sim.analysis.compare import run_comparison
    from sim.analysis.design import DesignScenario, evaluate_design, paired_design
    from sim.analysis.posterior import Posterior, run_posterior

    ls = load_scenario(small)
    pair, _ = paired_design(ls, ls, None, ValueError)
    by = {p.path: p for p in pair[0].catalogue}
    params = [by["militia.beta_grievance"]]
    points = np.array([[0.15], [0.6], [0.3]])
    post = Posterior(
        ("militia.beta_grievance",), np.array([[0.1], [0.5], [0.9]]), np.full(3, 1 / 3)
    )
    draws = np.array([2, 0, 1, 1, 0, 2])
    ds = DesignScenario.of(ls.scenario)

    def sweeps(out: Path) -> tuple:
        design = evaluate_design(pair, params, points, 7)
        posterior = run_posterior(ds, post, draws, per_draw=2)
        comp = run_comparison([ls], out, 10, posterior=None)
        return design, posterior, comp.table

    local = sweeps(tmp_path / "local")
    seen = []
    with use_executor(dask_executor(client=threads_client)) as ex:
        assert current_executor() is ex
        on_dask = sweeps(tmp_path / "dask")
        seen = ex.map(os.getpid, [()] * 4)
    assert isinstance(current_executor(), LocalExecutor)  # the block ends: local again
    assert len(seen) == 4
    np.testing.assert_array_equal(local[0], on_dask[0])
    np.testing.assert_array_equal(local[1], on_dask[1])
    assert local[2].equals(on_dask[2])
    runs = [
        pq.read_table(tmp_path / d / ls.scenario.name / "runs.parquet") for d in ("local", "dask")
    ]
    assert same(*runs)


@pytest.mark.parametrize("command", ["compare", "sensitivity", "discover"])
def test_sweep_commands_take_the_executor_options(small, command, tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    args = {
        "compare": ["compare", str(small), "--reference", str(small)],
        "sensitivity": ["sensitivity", str(small), str(small), "--outcome", "attacks_us"],
        "discover": ["discover", str(small), str(small), "--outcome", "attacks_us"],
    }[command]
    res = CliRunner().invoke(
        app, [*args, "-o", str(tmp_path / "o"), "--executor", "local", "--workers", "2"]
    )
    assert res.exit_code == 2, res.output
    assert "need --executor dask" in res.output
    assert not (tmp_path / "o").exists()
