"""The Mesa agents: views onto the state arrays, acting through the shared effects and turns."""

import numpy as np
import pytest

from sim import vocab as V
from sim.engines.mesa.model import EscalationModel
from sim.model import effects as E
from sim.model import layout as L
from sim.model import state as S
from sim.model.world import compile_world
from tests.conftest import build


@pytest.fixture()
def model():
    m = EscalationModel(compile_world(build()), 0)
    m.day = 0
    return m


def test_start_of_day_resupplies_and_decays(model):
    f = model.militias[0]
    f.stocks[:] = 0.0
    f.excitation, f.grievance_us, f.blame, f.exposure = 2.0, 3.0, 1.0, 1.0
    f.att_target = V.T_US_BASE
    s = model.state
    E.resupply_and_forget(f.index, model.world.fp, s.fs, s.fi, 0.5, 0.5, 0.5, 0.5)
    resupply = [f.p[L.F_RESUPPLY_ROCKET + w] for w in range(V.N_WEAPONS)]
    assert np.allclose(f.stocks, resupply)
    assert (f.excitation, f.grievance_us, f.blame, f.exposure) == (1.0, 1.5, 0.5, 0.5)
    assert f.att_target == -1  # yesterday's record cleared


def test_agent_properties_are_views_onto_the_state_arrays(model):
    f = model.militias[1]
    f.excitation = 4.25  # written through the agent...
    assert model.state.fs[1, S.FS_EXCITATION] == 4.25  # ...is in the shared array
    model.state.fs[1, S.FS_GRIEVANCE_US] = 1.5  # written in the array...
    model.state.fs[1, S.FS_GRIEVANCE_STATE] = 0.25
    assert f.grievance_us == 1.5 and f.grievance == 1.75  # ...is seen by the agent
    f.stocks[2] = 9.0
    assert model.state.fs[1, S.FS_STOCK_DRONE] == 9.0
    f.detained = 1
    assert model.state.fi[1, S.FI_DETAINED] == 1
    model.pm.pressure = 3.0
    assert model.state.sc[S.SC_PRESSURE] == 3.0
    model.state.af[2, S.AF_DIRECTIVE] = 1.0
    assert model.agencies[2].directive == 1
    assert model.militias[0].excitation == 0.0  # another row is untouched


def test_us_strike_degrades_raises_grievance_and_starts_cooldown(model):
    a, b = model.militias
    a.stocks[:] = 10.0
    a.blame = 3.0
    g = model.g
    model.us.strike(a, 2, 4, 1)  # leadership strike, 4 killed, forced
    frac = g[L.G_US_DEGRADE_LEADERSHIP]
    assert np.allclose(a.stocks, 10.0 * (1 - frac))
    assert a.discipline < a.p[L.F_DISCIPLINE] and a.blame == 0.0
    assert a.grievance_us == g[L.G_US_STRIKE_GRIEVANCE]
    assert b.grievance_us == g[L.G_US_STRIKE_GRIEVANCE_ALLIES]
    assert model.us.cooldown_until == g[L.G_US_COOLDOWN_DAYS]
    ev = model.events[-1]
    assert ev[L.E_KIND] == V.K_US_STRIKE and ev[L.E_SUBJECT] == 0 and ev[L.E_KILLED] == 4
    assert ev[L.E_DETAIL] == V.D_LEADERSHIP and ev[L.E_FORCED] == 1


def test_pm_arrest_holds_detainees_exposes_and_relieves_pressure(model):
    target = model.militias[1]
    model.pm.pressure = 7.0
    model.pm.arrest(target, 0)
    assert target.detained == 1 and target.exposure == 1.0 and model.pm.pressure == 0.0
    assert target.grievance_state == model.g[L.G_PM_ARREST_GRIEVANCE]
    assert model.events[-1][L.E_KIND] == V.K_ARREST


def test_pm_truce_start_and_end(model):
    model.pm.start_truce(-1, 30.0, 1.0, 1)
    assert all(f.truce_until == 30.0 and f.complies == 1 for f in model.militias)
    assert model.truce_active() == 1
    model.pm.end_truce(0, V.D_BREAKDOWN, 0)
    assert model.militias[0].truce_until == -1.0 and model.militias[1].truce_until == 30.0
    kinds = [e[L.E_KIND] for e in model.events]
    assert kinds.count(V.K_TRUCE_START) == 2 and kinds.count(V.K_TRUCE_END) == 1


def test_agency_directive_change_is_logged_once(model):
    agency = model.agencies[1]
    agency.step()  # no standing directive: always issues one
    first = agency.directive
    assert first in (-1, 1) and model.events[-1][L.E_KIND] == V.K_DIRECTIVE
    n = len(model.events)
    agency.step()  # same day, same draws: keeps it, logs nothing new
    assert agency.directive == first and len(model.events) == n
