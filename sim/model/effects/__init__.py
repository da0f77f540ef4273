"""Effects of the escalation model: every state transition, as a small jitted function.

A rule (``sim.model.rules``) decides; an effect changes the replicate's state arrays
(``sim.model.state``) and logs the event. Both engines reach these functions only through the
actors' turns in ``sim.model.phases``, so what a US strike does is written once
(``sim.model.effects.us.strike``). Each effect names its source in its docstring. Effects are
compiled without reference counting and inlined into the kernel, like the turns: see
``sim.model.phases``.
"""

from sim.model.effects.common import emit, forget_scalars
from sim.model.effects.iran import (
    pressure_campaign,
    refresh_signals,
    regional_war,
    restrain,
    set_control_multiplier,
    set_directive,
    set_voice,
)
from sim.model.effects.militia import attack, faction_policy, resupply_and_forget
from sim.model.effects.pm import (
    add_attack_pressure,
    add_evidence,
    arrest,
    convict,
    election,
    forget_evidence,
    new_pm,
    pm_policy,
    release,
)
from sim.model.effects.truce import end_truce, expire_truces, start_truce
from sim.model.effects.us import attribute, decapitation, negotiation, strike, threat

__all__ = [
    "add_attack_pressure",
    "add_evidence",
    "arrest",
    "attack",
    "attribute",
    "convict",
    "decapitation",
    "election",
    "emit",
    "end_truce",
    "expire_truces",
    "faction_policy",
    "forget_evidence",
    "forget_scalars",
    "negotiation",
    "new_pm",
    "pm_policy",
    "pressure_campaign",
    "refresh_signals",
    "regional_war",
    "release",
    "restrain",
    "resupply_and_forget",
    "set_control_multiplier",
    "set_directive",
    "set_voice",
    "start_truce",
    "strike",
    "threat",
]

MODULES = (
    "sim.model.effects.common",
    "sim.model.effects.iran",
    "sim.model.effects.militia",
    "sim.model.effects.pm",
    "sim.model.effects.truce",
    "sim.model.effects.us",
)
