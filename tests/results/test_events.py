import datetime as dt

from sim.engines.kernel import run_kernel
from sim.model.world import compile_world
from sim.results.events import SCHEMA, records_to_table, to_frame
from tests.conftest import build

CONTRACT = ["run", "date", "actor", "kind", "weapon", "target", "claimed_as", "killed"]


def test_event_log_columns_and_values():
    world = compile_world(build())
    rec, reps = run_kernel(world, 0, 20)
    table = records_to_table(world, rec, reps)
    assert table.schema == SCHEMA
    df = to_frame(table)
    assert list(df.columns[: len(CONTRACT)]) == CONTRACT
    assert len(df) == len(rec) and set(df.run) == set(range(20))
    assert df.date.min() >= dt.datetime(2020, 1, 1) and df.date.max() <= dt.datetime(2020, 12, 31)
    att = df[df.kind == "attack"]
    assert set(att.weapon.dropna()) <= {"rocket", "ied", "drone", "small_arms"}
    assert att.weapon.notna().all() and att.target.notna().all()
    assert set(att.claimed_as.dropna()) == {"Front A"}
    assert set(att[att.claimed_as.notna()].actor) == {"A"}
    strikes = df[df.kind == "us_strike"]
    assert (strikes.actor == "US").all() and strikes.subject.notna().all()
    assert df[df.kind == "directive"].detail.isin(["calm", "escalate"]).all()
    assert (df[df.kind != "attack"].weapon.isna()).all()
