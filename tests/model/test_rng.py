import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.model import rng


def test_draws_are_uniform_on_unit_interval():
    key = rng.key_for(123, 0)
    u = np.array([rng.draw(key, d, a, k) for d in range(200) for a in range(5) for k in range(4)])
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_neighbouring_coordinates_are_uncorrelated():
    key = rng.key_for(5, 3)
    x = np.array([rng.draw(key, d, 0, 1) for d in range(4000)])
    y = np.array([rng.draw(key, d, 0, 2) for d in range(4000)])
    z = np.array([rng.draw(key, d + 1, 0, 1) for d in range(4000)])
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.06
    assert abs(np.corrcoef(x, z)[0, 1]) < 0.06


def test_replicates_and_seeds_differ():
    a = [rng.uniform(1, 0, d, 0, 1) for d in range(50)]
    b = [rng.uniform(1, 1, d, 0, 1) for d in range(50)]
    c = [rng.uniform(2, 0, d, 0, 1) for d in range(50)]
    assert a != b and a != c


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**62),
    rep=st.integers(0, 10**7),
    day=st.integers(0, 40000),
    actor=st.integers(0, 200),
    decision=st.integers(0, 30),
)
def test_draw_is_a_pure_function_in_unit_interval(seed, rep, day, actor, decision):
    key = rng.key_for(seed, rep)
    u = rng.draw(key, day, actor, decision)
    assert 0.0 <= u < 1.0
    assert u == rng.draw(key, day, actor, decision)
    assert u == rng.uniform(seed, rep, day, actor, decision)
