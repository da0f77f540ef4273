"""Results directories: contents, chunk-size invariance, interruption and resume, locking."""

import json

import pyarrow.parquet as pq
import pytest
import yaml

from sim.results.files import directory_lock
from sim.runner import RunError, run_in_memory, run_scenario
from sim.scenario import LoadedScenario
from tests.conftest import SMALL, build


def loaded(overrides=None) -> LoadedScenario:
    text = yaml.safe_dump({**SMALL, **(overrides or {})}, sort_keys=False)
    return LoadedScenario(build(overrides), "small.yaml", text, (("small.yaml", text),))


def same(a, b) -> bool:
    """Tables equal, NaN equal to NaN in the same place."""
    return a.schema == b.schema and a.to_pandas().equals(b.to_pandas())


def read(out):
    return pq.read_table(out / "events.parquet"), pq.read_table(out / "runs.parquet")


def test_results_directory_contents(tmp_path):
    res = run_scenario(loaded(), tmp_path / "r", 25, seed=3, chunk_size=10, argv=["escsim"])
    out = tmp_path / "r"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "events.parquet",
        "manifest.json",
        "monthly.parquet",
        "runs.parquet",
    ]
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 3 and m["engine"] == "kernel" and m["runs"] == 25
    assert m["scenario"]["text"] == loaded().text and len(m["scenario"]["sha256"]) == 64
    assert {"numpy", "numba", "mesa", "python", "escsim"} <= set(m["versions"])
    recorded_time = m["wall_seconds"]  # the manifest records how long the run took
    assert "git_commit" in m and recorded_time > 0
    events, runs = read(out)
    assert runs.num_rows == 25 and res.runs.num_rows == 25
    mem_events, mem_runs = run_in_memory(loaded(), 25, seed=3)
    assert same(events, mem_events) and same(runs, mem_runs)


def test_chunk_size_does_not_change_results(tmp_path):
    run_scenario(loaded(), tmp_path / "a", 30, chunk_size=30)
    run_scenario(loaded(), tmp_path / "b", 30, chunk_size=4)
    ea, ra = read(tmp_path / "a")
    eb, rb = read(tmp_path / "b")
    assert same(ea, eb) and same(ra, rb)


def test_mesa_engine_writes_the_same_results(tmp_path):
    run_scenario(loaded(), tmp_path / "k", 4, engine="kernel")
    run_scenario(loaded(), tmp_path / "m", 4, engine="mesa")
    assert same(read(tmp_path / "k")[0], read(tmp_path / "m")[0])


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    run_scenario(loaded(), tmp_path / "full", 40, chunk_size=10)

    def interrupt(done, total):
        if done >= 20:
            raise KeyboardInterrupt

    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(loaded(), out, 40, chunk_size=10, progress=interrupt)
    assert not (out / "manifest.json").exists()
    assert len(list((out / "chunks").glob("runs-*.parquet"))) == 2
    with pytest.raises(RunError, match="--resume"):
        run_scenario(loaded(), out, 40, chunk_size=10)
    seen = []
    run_scenario(
        loaded(), out, 40, chunk_size=10, resume=True, progress=lambda d, t: seen.append(d)
    )
    assert seen[:2] == [10, 20]  # finished chunks are not recomputed, only counted
    for a, b in zip(read(tmp_path / "full"), read(out), strict=True):
        assert same(a, b)
    assert not (out / "chunks").exists() and not (out / "plan.json").exists()


def test_resume_with_other_seed_or_scenario_is_refused(tmp_path):
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            loaded(),
            out,
            20,
            chunk_size=5,
            progress=lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt),
        )
    with pytest.raises(RunError, match="seed"):
        run_scenario(loaded(), out, 20, seed=99, chunk_size=5, resume=True)
    with pytest.raises(RunError, match="scenario"):
        run_scenario(loaded({"name": "other"}), out, 20, chunk_size=5, resume=True)


def test_finished_results_are_not_overwritten_without_asking(tmp_path):
    out = tmp_path / "r"
    run_scenario(loaded(), out, 5)
    with pytest.raises(RunError, match="--overwrite"):
        run_scenario(loaded(), out, 5)
    run_scenario(loaded(), out, 6, overwrite=True)
    assert read(out)[1].num_rows == 6


def test_a_second_writer_is_refused(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    with directory_lock(out), pytest.raises(RunError, match="another escsim run"):
        run_scenario(loaded(), out, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"runs": 0}, "--runs"), ({"engine": "gpu"}, "--engine"), ({"seed": -1}, "--seed")],
)
def test_bad_arguments_write_nothing(tmp_path, kwargs, match):
    args = {"runs": 5, **kwargs}
    with pytest.raises(RunError, match=match):
        run_scenario(loaded(), tmp_path / "r", **args)
    assert not (tmp_path / "r").exists()


def test_default_chunk_size_keeps_the_event_buffer_within_budget():
    from sim.engines.kernel import event_capacity
    from sim.model.layout import N_ECOLS
    from sim.model.world import compile_world
    from sim.runner import BUFFER_BUDGET_BYTES, default_chunk_size

    small = compile_world(build())
    assert default_chunk_size(small, "kernel") == 1000
    assert default_chunk_size(small, "mesa") == 5
    many = [dict(SMALL["factions"][0], name=f"F{i}", fronts=[f"front {i}"]) for i in range(100)]
    big = compile_world(
        build({"factions": many, "end": "2029-12-31", "injects": [], "iran": {"agencies": []}})
    )
    chunk = default_chunk_size(big, "kernel")
    assert 1 <= chunk < 1000
    assert chunk * event_capacity(big) * N_ECOLS * 4 <= BUFFER_BUDGET_BYTES
