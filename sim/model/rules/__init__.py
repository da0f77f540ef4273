"""Decision rules of the escalation model: small pure numba functions, one module per actor.

Both engines (the Mesa agents in ``sim.engines.mesa`` and the batch kernel in
``sim.engines.kernel``) call these functions, in the same phase order, with the same
counter-based draws (``sim.model.rng``). Every rule names, in its docstring, the documented
event (seed article in ``docs/sources.md``, row of ``calibration/data/events.csv`` or
``tallies.csv``) or published finding it rests on.

Seeds: S0 Intelligence Online on INIS (Nov 2021); S1 Middle East Eye on four Iranian agencies
(Mar 2021); S2 Washington Post on the Hashimi killing (Jul 2020); S3 JINSA brief on the drone
strike on the PM (Nov 2021); S4 Reuters on Kadhimi's crackdown (autumn 2020).
"""

from sim.model.rules.common import choose_index, decay, decay_by, decay_factor, resupply
from sim.model.rules.iran import (
    appetite_on,
    control_multiplier,
    directive_signal,
    escalation_probability,
    mean_directive,
    next_directive,
    reconsiders_directive,
)
from sim.model.rules.militia import (
    COMPAT,
    DOCTRINE_SEVERITY,
    attack_intensity,
    attack_probability,
    casualties,
    choose_claim,
    choose_weapon,
    deniable_shift,
    deterrence,
    discipline_noise,
    open_share,
    shift_to_deniable,
    target_weights,
    truce_target_multiplier,
    use_weapon,
    weapon_available,
)
from sim.model.rules.pm import (
    complies_with_truce,
    crackdown_probability,
    legitimacy_after_release,
    mediation_probability,
    pressure_from_attack,
    prime_suspect,
    release_probability,
    truce_breaks,
)
from sim.model.rules.us import (
    DOCTRINE_RATE,
    STRIKE_KILLED,
    attribution_probability,
    degrade,
    discipline_after_strike,
    is_intercepted,
    strike_casualties,
    strike_degrade_fraction,
    strike_probability,
    strike_type_of,
    us_victims,
)

__all__ = [
    "COMPAT",
    "DOCTRINE_RATE",
    "DOCTRINE_SEVERITY",
    "STRIKE_KILLED",
    "appetite_on",
    "attack_intensity",
    "attack_probability",
    "attribution_probability",
    "casualties",
    "choose_claim",
    "choose_index",
    "choose_weapon",
    "complies_with_truce",
    "control_multiplier",
    "crackdown_probability",
    "decay",
    "decay_by",
    "decay_factor",
    "degrade",
    "deniable_shift",
    "deterrence",
    "directive_signal",
    "discipline_after_strike",
    "discipline_noise",
    "escalation_probability",
    "is_intercepted",
    "legitimacy_after_release",
    "mean_directive",
    "mediation_probability",
    "next_directive",
    "open_share",
    "pressure_from_attack",
    "prime_suspect",
    "reconsiders_directive",
    "release_probability",
    "resupply",
    "shift_to_deniable",
    "strike_casualties",
    "strike_degrade_fraction",
    "strike_probability",
    "strike_type_of",
    "target_weights",
    "truce_breaks",
    "truce_target_multiplier",
    "us_victims",
    "use_weapon",
    "weapon_available",
]

MODULES = (
    "sim.model.rules.common",
    "sim.model.rules.iran",
    "sim.model.rules.militia",
    "sim.model.rules.us",
    "sim.model.rules.pm",
)
