import numpy as np

from sim import state as S
from sim.world import J_DAY, J_KIND, compile_world

from .conftest import build


def test_dates_become_days_and_injects_are_sorted():
    w = compile_world(build())
    assert w.n_days == 366 and w.switch_day == w.n_days
    assert (np.diff(w.injects[:, J_DAY]) >= 0).all()
    assert w.injects[0, J_DAY] == 31  # 2020-02-01
    assert w.fp[0, S.F_DRONES_FROM_DAY] == 60
    assert list(w.negotiation_days) == [274.0]


def test_policy_switch_and_dropped_injects():
    w = compile_world(
        build(
            {
                "policy": {
                    "start": "2020-04-01",
                    "us": {"doctrine": "leadership"},
                    "drop_injects": ["truce", "arrest"],
                }
            }
        )
    )
    assert w.switch_day == 91 and w.outcome_day == 91
    assert w.g_before[S.G_US_DOCTRINE] == S.DOC_PROPORTIONAL
    assert w.g_after[S.G_US_DOCTRINE] == S.DOC_LEADERSHIP
    kinds = set(w.injects[:, J_KIND].astype(int))
    assert S.I_TRUCE not in kinds and S.I_ARREST not in kinds and S.I_US_STRIKE in kinds
    # only the differing parameter differs
    assert (w.g_before != w.g_after).sum() == 1


def test_control_matrix_and_actor_names():
    w = compile_world(build())
    assert w.control[S.AGENCIES.index("IRGC-QF"), 0] == 0.8
    assert w.actor_names()[-2:] == ["US", "PM"] and len(w.actor_names()) == 2 + 4 + 2
