"""The scenario schema: the catalogue of every parameter, with default, bounds, units and source.

Each pydantic model below is one block of a scenario file; the model's fields are the
parameters. ``sim.report.paramdoc`` renders this catalogue as the ODD's parameter table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim import vocab as V


def _f(default: float, lo: float | None, hi: float | None, desc: str, units: str, source: str):
    """Return a pydantic Field for a bounded float parameter with units and source."""
    kw: dict[str, Any] = {}
    if lo is not None:
        kw["ge"] = lo
    if hi is not None:
        kw["le"] = hi
    return Field(
        default, description=desc, json_schema_extra={"units": units, "source": source}, **kw
    )


def _plain_types(annotation: Any) -> set:
    """Return the types a field annotation admits (``float | None`` -> {float})."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set(typing.get_args(annotation)) - {type(None)}
    return {annotation}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_silent_conversions(cls, v: Any, info: ValidationInfo) -> Any:
        """Refuse YAML booleans (yes/no/on/off) as numbers and numbers as dates.

        pydantic would read ``discipline: yes`` as 1.0 and ``start: 0`` as 1970-01-01.
        """
        kinds = _plain_types(cls.model_fields[info.field_name].annotation)
        if isinstance(v, bool) and kinds & {int, float}:
            raise ValueError("a number, not true/false")
        if isinstance(v, int | float) and not isinstance(v, bool) and dt.date in kinds:
            raise ValueError("a date written YYYY-MM-DD, not a number")
        return v


Prob = Annotated[float, Field(ge=0.0, le=1.0)]


def _a_number(v: Any) -> Any:
    """Refuse anything but a number (pydantic would read ``yes`` as 1.0 and "0.5" as 0.5)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError("a number")
    return v


ControlStrength = Annotated[float, BeforeValidator(_a_number), Field(ge=0.0, le=1.0)]


class WeaponValues(_Strict):
    """One value per weapon (rocket, ied, drone, small_arms)."""

    rocket: float = Field(0.0, ge=0.0, le=1e6)
    ied: float = Field(0.0, ge=0.0, le=1e6)
    drone: float = Field(0.0, ge=0.0, le=1e6)
    small_arms: float = Field(0.0, ge=0.0, le=1e6)


class TargetWeights(_Strict):
    """Relative preference of a faction for each target (non-negative weights)."""

    us_base: float = Field(
        1.0,
        ge=0.0,
        le=1e3,
        description="weight on bases hosting US forces",
        json_schema_extra={"units": "weight", "source": "events.csv 2019-11-08 .. 2021-07-07"},
    )
    us_embassy: float = Field(
        0.3,
        ge=0.0,
        le=1e3,
        description="weight on the US embassy / Green Zone",
        json_schema_extra={"units": "weight", "source": "events.csv 2020-01-26, 2020-12-20; T16"},
    )
    convoy: float = Field(
        0.5,
        ge=0.0,
        le=1e3,
        description="weight on coalition logistics convoys",
        json_schema_extra={"units": "weight", "source": "tallies T10, T11"},
    )
    iraqi_state: float = Field(
        0.1,
        ge=0.0,
        le=1e3,
        description="weight on Iraqi state targets (INIS, officers)",
        json_schema_extra={"units": "weight", "source": "S0; events.csv 2021-06-07, 2021-10-31"},
    )
    pm: float = Field(
        0.0,
        ge=0.0,
        le=1e3,
        description="weight on the prime minister",
        json_schema_extra={"units": "weight", "source": "S3; events.csv 2021-11-07"},
    )
    activist: float = Field(
        0.05,
        ge=0.0,
        le=1e3,
        description="weight on activists and analysts",
        json_schema_extra={"units": "weight", "source": "S2; events.csv 2020-07-06"},
    )


def _printable_name(v: str) -> str:
    """Accept a faction or front name only if it is printable text (no escapes, no NUL)."""
    if not v.isprintable() or not v.strip():
        raise ValueError(
            "a name of printable text (no control characters such as escape sequences or NUL)"
        )
    return v


class Faction(_Strict):
    """One Iran-backed militia faction (S1, S2, S4; see docs/ODD.md for every parameter)."""

    name: str = Field(min_length=1, max_length=60)
    base_rate: float = _f(
        0.03,
        0.0,
        5.0,
        "baseline attack intensity",
        "attacks/day",
        "tallies T01-T02; scaled by the calibration",
    )
    stocks: WeaponValues = Field(
        default_factory=lambda: WeaponValues(rocket=20, ied=10, drone=0, small_arms=5),
        description="initial capability in attack loads (units: loads; source: S3, events.csv)",
    )
    resupply: WeaponValues = Field(
        default_factory=lambda: WeaponValues(rocket=0.2, ied=0.1, drone=0.05, small_arms=0.05),
        description="loads added per day (units: loads/day; source: S3 border smuggling)",
    )
    max_stock: WeaponValues = Field(
        default_factory=lambda: WeaponValues(rocket=60, ied=30, drone=15, small_arms=10),
        description="cap on each stock",
        json_schema_extra={
            "units": "loads",
            "source": "assumption (storage capacity; S3, events.csv 2020-03-12 storage sites)",
        },
    )
    drones_from: dt.date | None = Field(
        dt.date(2021, 4, 14),
        description="first day drones can be used; null = from the start",
        json_schema_extra={"units": "date", "source": "events.csv 2021-04-14"},
    )
    discipline: float = _f(
        0.6, 0.0, 1.0, "obedience to directives, 1 = none of its own noise", "share", "S0, S2"
    )
    fronts: tuple[str, ...] = Field(
        default=(),
        description="front groups that claim its attacks",
        json_schema_extra={"units": "names", "source": "S1; events.csv 2020-11-17, 2021-02-15"},
    )
    front_share: float = _f(
        0.0,
        0.0,
        1.0,
        "share of attacks claimed through one of the faction's named fronts (needs fronts)",
        "share",
        "S1, S2",
    )
    truce_compliance: float = _f(
        0.8,
        0.0,
        1.0,
        "probability of complying with a truce",
        "prob",
        "events.csv 2020-10-10, 2020-11-17",
    )
    grievance_us: float = _f(0.0, 0.0, 20.0, "initial grievance against the US", "index", "S4")
    grievance_state: float = _f(
        0.0, 0.0, 20.0, "initial grievance against the government", "index", "S2"
    )
    strength: float = _f(
        1.0,
        0.0,
        10.0,
        "armed and political weight (forces releases)",
        "index",
        "S4 (Green Zone standoff)",
    )
    election_loss: float = _f(
        0.0, 0.0, 20.0, "grievance added by an election loss", "index", "S0, S3 (Oct 2021 election)"
    )
    targets: TargetWeights = Field(default_factory=TargetWeights)
    weapons: WeaponValues = Field(
        default_factory=lambda: WeaponValues(rocket=1.0, ied=1.0, drone=1.0, small_arms=1.0),
        description="relative preference among weapons available for a target",
        json_schema_extra={
            "units": "weight",
            "source": "events.csv (weapons of documented attacks)",
        },
    )

    @field_validator("fronts")
    @classmethod
    def _fronts_unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("front names must be unique within a faction")
        for name in v:
            _printable_name(name)
        return v

    @field_validator("name")
    @classmethod
    def _name_printable(cls, v: str) -> str:
        return _printable_name(v)

    @model_validator(mode="after")
    def _front_share_needs_fronts(self) -> Faction:
        if self.front_share > 0.0 and not self.fronts:
            raise ValueError(
                f"front_share {self.front_share} > 0 needs at least one name in 'fronts' "
                "(claims are made through named fronts; use front_share: 0 otherwise)"
            )
        return self


class Agency(_Strict):
    """One Iranian agency: its name (one of the four of S1) and its leaning."""

    name: Literal["MOIS", "IRGC-QF", "Beit Rahbari", "SL Office"]
    hawkishness: float = _f(
        0.0,
        -10.0,
        10.0,
        "log-odds of an escalate directive",
        "log-odds",
        "S1 (MOIS urges calm; Khamenei's lines stir the pot)",
    )
    control: dict[str, ControlStrength] = Field(
        default_factory=dict,
        description="faction name -> control strength in [0, 1]",
        json_schema_extra={
            "units": "share",
            "source": "S1 (each agency controls dozens of "
            "factions; Hejazi responsible for KH and AAH)",
        },
    )
    voice: float = _f(
        1.0,
        0.0,
        10.0,
        "loudness of the agency's line when lines conflict (see iran.dominance)",
        "weight",
        "S1 (the voice of Khamenei's office 'the loudest and most influential')",
    )


class IranParams(_Strict):
    """Iranian command: agencies, fragmentation after January 2020, appetite before talks."""

    agencies: tuple[Agency, ...] = Field(default=())
    unified: bool = Field(
        False,
        description="one unified command (policy lever)",
        json_schema_extra={
            "units": "flag",
            "source": "S1 (Soleimani's single command, lost after Jan 2020)",
        },
    )
    qf_control_after: float = _f(
        0.35,
        0.0,
        1.0,
        "IRGC-QF control factor after decapitation",
        "share",
        "S1 (Qaani 'the weakest link')",
    )
    fragmentation_noise: float = _f(
        1.0,
        0.0,
        10.0,
        "extra discipline noise after decapitation",
        "share",
        "S2 ('increasingly rogue groups')",
    )
    appetite: float = _f(
        1.0, 0.0, 10.0, "escalation log-odds added before negotiations", "log-odds", "S1, S3"
    )
    appetite_lead_days: float = _f(45.0, 0.0, 365.0, "run-up to a negotiation round", "days", "S1")
    directive_days: float = _f(
        14.0, 1.0, 365.0, "mean persistence of a directive", "days", "S1 (28 Feb -> 3 Mar 2021)"
    )
    revenge: float = _f(1.0, 0.0, 10.0, "escalation log-odds per unit revenge", "log-odds", "S4")
    revenge_tau: float = _f(60.0, 1.0, 3650.0, "decay of revenge after US strikes", "days", "S4")
    truce_calm: float = _f(1.5, 0.0, 10.0, "calm log-odds while a truce stands", "log-odds", "S1")
    dominance: float = _f(
        0.0,
        0.0,
        1.0,
        "weight of the loudest line in a faction's signal (0 = conflicting lines average out)",
        "share",
        "S1 ('the Tehran commands won over', 28 Feb 2021)",
    )
    coordination: float = _f(
        0.0,
        0.0,
        1.0,
        "share of US attribution lost while a faction's lines conflict (good cop, bad cop)",
        "share",
        "S1 ('a game of good cop, bad cop ... This tactic always pays off')",
    )
    event_reconsider: float = _f(
        0.0,
        0.0,
        1.0,
        "P(an agency reissues its directive event_lag_days after a US strike or red line)",
        "prob",
        "S1 (strike 26 Feb 2021, meetings 28 Feb, attack 3 Mar)",
    )
    event_lag_days: float = _f(
        2.0, 0.0, 60.0, "days from an event to the agencies' reaction", "days", "S1 (26 -> 28 Feb)"
    )
    soleimani_exclusive: float = _f(
        0.0,
        0.0,
        1.0,
        "share of the other agencies' control held by IRGC-QF before the decapitation",
        "share",
        "S1 ('All Iran-backed ... factions answered to him')",
    )
    takeover_days: float = _f(
        0.0,
        0.0,
        3650.0,
        "days for the other agencies to regain control after the decapitation (0 = at once)",
        "days",
        "S1 (Beit Rahbari took KH and AAH as control slipped from Qaani 'over recent months')",
    )
    restraint: float = _f(
        0.0,
        0.0,
        30.0,
        "calm log-odds per unit restraint after a red line (0 = no restraint)",
        "log-odds",
        "S0, S3 (Qaani's visit, 7 Nov 2021); R2 (KH suspension, 30 Jan 2024)",
    )
    restraint_tau: float = _f(
        30.0, 1.0, 3650.0, "decay of Iranian restraint", "days", "R2 (pause Feb-Apr 2024)"
    )
    restraint_us_deaths: float = _f(
        3.0,
        0.0,
        100.0,
        "US deaths in one attack that make Iran restrain its proxies (0 = PM line only)",
        "deaths",
        "R2 (3 killed at Tower 22); events.csv 2020-03-11 (2 US killed, attacks on 14 Mar)",
    )
    war_appetite: float = _f(
        0.0,
        0.0,
        10.0,
        "escalation log-odds added while a regional_war inject runs",
        "log-odds",
        "R1 (Islamic Resistance in Iraq campaign from 17 Oct 2023); S1",
    )
    campaign_appetite: float = _f(
        0.0,
        0.0,
        10.0,
        "escalation log-odds added while a pressure_campaign inject runs",
        "log-odds",
        "R3 (ISW: pressure campaign ahead of the US-Iraq Strategic Dialogue, Aug 2020)",
    )


class MilitiaParams(_Strict):
    """Behaviour shared by all factions."""

    beta_grievance: float = _f(0.15, 0.0, 5.0, "log-intensity per unit grievance", "1/index", "S4")
    beta_directive: float = _f(
        1.0, 0.0, 10.0, "log-intensity of a full escalate directive", "log-intensity", "S1"
    )
    beta_deterrence: float = _f(
        1.0, 0.0, 20.0, "log-intensity per unit expected retaliation", "1/index", "S3"
    )
    excitation_jump: float = _f(
        0.3, 0.0, 10.0, "excitation added by each own attack", "share", "Hawkes; tallies T09-T12"
    )
    excitation_tau: float = _f(14.0, 0.5, 365.0, "decay of excitation", "days", "events.csv")
    grievance_tau: float = _f(90.0, 1.0, 3650.0, "decay of grievance", "days", "S4")
    noise: float = _f(
        0.5,
        0.0,
        5.0,
        "sd of a faction's own deviation at zero discipline",
        "log-intensity",
        "S0, S2",
    )
    lethality: WeaponValues = Field(
        default_factory=lambda: WeaponValues(rocket=0.04, ied=0.03, drone=0.05, small_arms=0.7),
        description="probability an attack kills anyone, per weapon",
        json_schema_extra={"units": "prob", "source": "T18; events.csv 2019-12-27, 2020-03-11"},
    )
    state_targeting: float = _f(
        0.5, 0.0, 10.0, "weight on state targets per unit state grievance", "1/index", "S0, S2"
    )
    deniability: float = _f(
        1.0,
        0.0,
        20.0,
        "shift of an exposed faction's attacks toward deniable convoy IEDs, per unit exposure",
        "1/exposure",
        "S1 (fronts 'to carry out attacks without bearing the consequences'); S2; T10, T11",
    )
    exposure_tau: float = _f(
        60.0,
        1.0,
        3650.0,
        "decay of a faction's exposure after a raid on it",
        "days",
        "events.csv 2020-06-25 -> T10, T11 (Aug-Sep 2020)",
    )
    front_shift: float = _f(
        0.0,
        0.0,
        20.0,
        "shift of a raided faction's claims to its fronts, per unit exposure (0 = none)",
        "1/exposure",
        "S2 ('rocket attacks resumed, this time claimed by shadowy new groups')",
    )
    hiatus: float = _f(
        0.0,
        0.0,
        20.0,
        "log-intensity lost per unit exposure right after a raid (0 = no pause)",
        "1/exposure",
        "S2 ('after a brief hiatus, rocket attacks resumed')",
    )
    pm_before_election: float = _f(
        1.0,
        0.0,
        1.0,
        "factor on the PM's target weight before the first election of the run (1 = no change)",
        "share",
        "S3 ('never sought to use lethal force against ... the prime minister')",
    )
    state_turn: float = _f(
        0.0,
        0.0,
        10.0,
        "after an election: rise of state and PM target weights per unit election loss",
        "1/index",
        "S0 (INIS HQ rockets 29 Jul and 31 Oct 2021; AAH 'the main loser')",
    )

    @field_validator("lethality")
    @classmethod
    def _lethality_prob(cls, v: WeaponValues) -> WeaponValues:
        for name in V.WEAPONS:
            if getattr(v, name) > 1.0:
                raise ValueError(f"lethality.{name} is a probability and must be <= 1")
        return v


Doctrine = Literal["none", "proportional", "infrastructure", "leadership"]


class USParams(_Strict):
    """US forces: retaliation doctrine, attribution, air defence, posture."""

    doctrine: Doctrine = Field(
        "proportional",
        description="retaliation doctrine (policy lever)",
        json_schema_extra={"units": "choice", "source": "S3; events.csv US strikes"},
    )
    attribution: float = _f(0.5, 0.0, 1.0, "P(attributed) of an unclaimed attack", "prob", "S1")
    attribution_front: float = _f(
        0.15, 0.0, 1.0, "P(attributed) of a front-claimed attack", "prob", "S1, S2"
    )
    strike_rate: float = _f(
        0.01,
        0.0,
        10.0,
        "strike hazard per unit attributed blame",
        "1/blame",
        "events.csv US strikes",
    )
    red_line: float = _f(
        1.0,
        0.0,
        100.0,
        "US deaths in one attributed attack that cross the red line (0 = none)",
        "deaths",
        "events.csv 2019-12-27, 2020-03-11",
    )
    red_line_strike: float = _f(
        0.8,
        0.0,
        1.0,
        "P(strike) when the red line is crossed",
        "prob",
        "events.csv 2019-12-29, 2020-03-12",
    )
    cooldown_days: float = _f(
        45.0,
        0.0,
        3650.0,
        "days without a strike after one",
        "days",
        "events.csv: retaliatory strikes 29 Dec 2019, 12 Mar 2020, 25 Feb 2021, 27 Jun 2021",
    )
    air_defence_rocket: float = _f(
        0.1, 0.0, 1.0, "share of rockets intercepted (C-RAM)", "share", "events.csv 2021-06-06"
    )
    air_defence_drone: float = _f(
        0.4, 0.0, 1.0, "share of drones intercepted", "share", "events.csv 2021-06-06, 2022-01-03"
    )
    posture: float = _f(
        1.0,
        0.0,
        1.0,
        "US presence (1 = bases and convoys, 0 = embassy only)",
        "share",
        "events.csv 2021-07-26",
    )
    degrade_infrastructure: float = _f(
        0.3,
        0.0,
        1.0,
        "stock share destroyed by an infrastructure strike",
        "share",
        "events.csv 2020-03-12",
    )
    degrade_leadership: float = _f(
        0.4, 0.0, 1.0, "stock share destroyed by a leadership strike", "share", "S3"
    )
    leadership_discipline_hit: float = _f(
        0.3, 0.0, 1.0, "discipline share lost by a leadership strike", "share", "S2"
    )
    strike_grievance: float = _f(
        2.0, 0.0, 20.0, "grievance a strike adds to its target", "index", "S4"
    )
    strike_grievance_allies: float = _f(
        0.5, 0.0, 20.0, "grievance a strike adds to other factions", "index", "S4"
    )
    credibility_jump: float = _f(0.5, 0.0, 10.0, "credibility added by a strike", "index", "S3")
    credibility_tau: float = _f(45.0, 1.0, 3650.0, "decay of credibility", "days", "S3")
    threat_deterrence: float = _f(
        1.0,
        0.0,
        20.0,
        "deterrence while a coercive threat stands",
        "index",
        "S4, events.csv 2020-09-20",
    )
    victim_share: float = _f(
        0.25,
        0.0,
        1.0,
        "P(deaths in an attack on US targets are US personnel or contractors)",
        "prob",
        "events.csv 2019-12-27 (US contractor), 2020-03-11 (2 US of 3 killed); T18: none of 11",
    )
    blame_tau: float = _f(14.0, 0.5, 365.0, "decay of attributed blame", "days", "events.csv")


class PMParams(_Strict):
    """The prime minister: crackdowns, releases, legitimacy, mediation."""

    crackdown: float = _f(
        0.0,
        0.0,
        1.0,
        "crackdown disposition at the start (0 = caretaker)",
        "prob/day",
        "S4 (Abdul-Mahdi caretaker until May 2020)",
    )
    pressure_tau: float = _f(21.0, 0.5, 365.0, "decay of pressure from attacks", "days", "S4")
    release: float = _f(0.3, 0.0, 1.0, "release hazard scale", "prob/day", "S4, events.csv")
    legitimacy: float = _f(0.8, 0.0, 1.0, "initial legitimacy", "share", "S4")
    legitimacy_loss: float = _f(
        0.15, 0.0, 1.0, "legitimacy lost by a forced release", "share", "S2"
    )
    backfire_grievance: float = _f(
        1.0,
        0.0,
        20.0,
        "state grievance added by a forced release",
        "index",
        "S2 ('emboldened the militias')",
    )
    backfire_excitation: float = _f(
        0.5, 0.0, 10.0, "excitation added by a forced release", "share", "S2"
    )
    arrest_grievance: float = _f(
        1.0, 0.0, 20.0, "state grievance added by an arrest", "index", "S2, S4"
    )
    mediation: float = _f(0.02, 0.0, 1.0, "truce brokering hazard scale", "prob/day", "S1, S4")
    air_defence_drone: float = _f(
        0.6,
        0.0,
        1.0,
        "share of drones on the PM intercepted",
        "share",
        "events.csv 2021-11-07 (2 of 3 downed)",
    )
    own_evidence: float = _f(
        0.0,
        0.0,
        1.0,
        "weight of the PM's own evidence, against US blame, in choosing whom to raid",
        "share",
        "S4 (the June 2020 raid was ordered by the PM); events.csv 2020-12-25, 2021-05-26",
    )
    investigation: float = _f(
        0.5,
        0.0,
        1.0,
        "P(the PM's investigation links an unclaimed attack to its faction)",
        "prob",
        "S2 ('promising to investigate rocket attacks when they occur')",
    )
    evidence_tau: float = _f(
        30.0, 0.5, 3650.0, "decay of the PM's evidence", "days", "S2 (investigations stall)"
    )
    raid_seizure: float = _f(
        0.0,
        0.0,
        1.0,
        "share of the raided faction's weapon stocks seized by a raid",
        "share",
        "events.csv 2020-06-25 ('rocket launchers seized')",
    )
    conviction_days: float = _f(
        0.0,
        0.0,
        3650.0,
        "days detainees must be held to be convicted (0 = never)",
        "days",
        "S3 (death sentences of 31 Oct and 1 Nov 2021); S4 (no prosecutions in 2020)",
    )
    conviction_legitimacy: float = _f(
        0.0, 0.0, 1.0, "legitimacy gained by a conviction", "share", "S3, S4"
    )
    legitimacy_recovery_tau: float = _f(
        0.0,
        0.0,
        3650.0,
        "time constant of legitimacy recovery towards its initial level (0 = none)",
        "days",
        "S4 (purge and appointments after the June 2020 climb-down)",
    )


class TruceParams(_Strict):
    """Truces: duration, suppression, leaks and breakdown."""

    days: float = _f(
        60.0,
        1.0,
        3650.0,
        "duration of a brokered truce",
        "days",
        "events.csv 2020-10-10 -> 2020-11-17",
    )
    suppression: float = _f(
        0.95, 0.0, 1.0, "share of a complier's attacks suppressed", "share", "T16"
    )
    convoy_leak: float = _f(
        0.6,
        0.0,
        1.0,
        "share of suppression convoy IEDs escape",
        "share",
        "events.csv 2020-10-10 ('convoy IEDs continue')",
    )
    breakdown: float = _f(
        0.3,
        0.0,
        1.0,
        "P(truce collapses) per spoiler attack on US targets",
        "prob",
        "events.csv 2020-11-17",
    )


InjectKind = Literal[
    "us_strike",
    "decapitation",
    "truce",
    "truce_end",
    "arrest",
    "threat",
    "election",
    "new_pm",
    "negotiation",
    "regional_war",
    "attack",
    "pressure_campaign",
]


class Inject(_Strict):
    """A documented event forced at its date in every replicate."""

    name: str | None = Field(
        None,
        max_length=80,
        description="a name by which a child file edits or removes the inject (optional)",
        json_schema_extra={"units": "name", "source": "scenario composition (extends:)"},
    )
    label: str | None = Field(
        None,
        max_length=60,
        description=(
            "what figures and the brief call the event, e.g. 'Soleimani and Muhandis killed' "
            "(default: its kind)"
        ),
        json_schema_extra={"units": "text", "source": "events.csv label of the source row"},
    )
    date: dt.date = Field(
        description="the day the event is forced",
        json_schema_extra={"units": "date", "source": "the inject's source"},
    )
    kind: InjectKind = Field(
        description="what is forced",
        json_schema_extra={"units": "choice", "source": "events.csv kinds"},
    )
    faction: str | None = Field(
        None,
        description="faction acted on (us_strike, arrest, truce)",
        json_schema_extra={"units": "name", "source": "the inject's source"},
    )
    strike: Literal["proportional", "infrastructure", "leadership"] = Field(
        "infrastructure",
        description="type of a forced US strike",
        json_schema_extra={"units": "choice", "source": "S3; events.csv"},
    )
    killed: int = Field(
        0,
        ge=0,
        le=10000,
        description="people killed by a forced US strike",
        json_schema_extra={"units": "people", "source": "the inject's source"},
    )
    days: int = Field(
        30,
        ge=1,
        le=3650,
        description="duration of a truce, threat, regional war or pressure campaign",
        json_schema_extra={"units": "days", "source": "the inject's source"},
    )
    compliance: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="override every party's truce compliance",
        json_schema_extra={"units": "prob", "source": "the inject's source"},
    )
    crackdown: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="crackdown disposition of a new PM",
        json_schema_extra={"units": "prob/day", "source": "S4"},
    )
    weapon: Literal["rocket", "ied", "drone", "small_arms"] | None = Field(
        None,
        description="weapon of a forced attack",
        json_schema_extra={"units": "choice", "source": "the inject's source"},
    )
    target: Literal["us_base", "us_embassy", "convoy", "iraqi_state", "pm", "activist"] | None = (
        Field(
            None,
            description="target of a forced attack",
            json_schema_extra={"units": "choice", "source": "the inject's source"},
        )
    )
    claim: str | None = Field(
        None,
        description="front that claims a forced attack (one of the faction's fronts; null: none)",
        json_schema_extra={"units": "name", "source": "the inject's source"},
    )
    note: str = Field("", description="free text")
    source: str = Field("", description="where the event is documented")

    @model_validator(mode="after")
    def _attack_fields(self) -> Inject:
        if self.kind == "attack":
            missing = [k for k in ("faction", "weapon", "target") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"an attack inject needs {', '.join(missing)}")
            w, t = V.WEAPONS.index(self.weapon), V.TARGETS.index(self.target)
            if not V.COMPAT[t][w]:
                usable = [x for i, x in enumerate(V.WEAPONS) if V.COMPAT[t][i]]
                raise ValueError(
                    f"a weapon usable on {self.target} ({', '.join(usable)}), not {self.weapon}"
                )
        elif self.weapon is not None or self.target is not None or self.claim is not None:
            raise ValueError("weapon, target and claim only for an attack inject")
        return self


class Overrides(_Strict):
    """Parameters that change at the policy date (any subset of us, pm, iran, militia, truce)."""

    us: dict[str, Any] = Field(default_factory=dict)
    pm: dict[str, Any] = Field(default_factory=dict)
    iran: dict[str, Any] = Field(default_factory=dict)
    militia: dict[str, Any] = Field(default_factory=dict)
    truce: dict[str, Any] = Field(default_factory=dict)


class StockLevels(_Strict):
    """Stocks a policy sets, weapon by weapon (a weapon left out keeps its stock)."""

    rocket: float | None = Field(None, ge=0.0, le=1e6)
    ied: float | None = Field(None, ge=0.0, le=1e6)
    drone: float | None = Field(None, ge=0.0, le=1e6)
    small_arms: float | None = Field(None, ge=0.0, le=1e6)


class FactionLever(_Strict):
    """What a policy changes in one faction at its start (a field left out is unchanged).

    Each value is set on the policy's start day; from then on the model's rules move it as before
    (a leadership strike still lowers discipline, resupply refills stocks, grievances decay).
    """

    base_rate: float | None = Field(
        None,
        ge=0.0,
        le=5.0,
        description="baseline attack intensity from the start (0: the faction stands down)",
        json_schema_extra={"units": "attacks/day", "source": "the policy's rationale"},
    )
    discipline: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="obedience to directives, set at the start",
        json_schema_extra={"units": "share", "source": "the policy's rationale"},
    )
    grievance_us: float | None = Field(
        None,
        ge=0.0,
        le=20.0,
        description="grievance against the US, set at the start",
        json_schema_extra={"units": "index", "source": "the policy's rationale"},
    )
    grievance_state: float | None = Field(
        None,
        ge=0.0,
        le=20.0,
        description="grievance against the government, set at the start",
        json_schema_extra={"units": "index", "source": "the policy's rationale"},
    )
    stocks: StockLevels | None = Field(
        None,
        description="weapon stocks set at the start (e.g. 0 after a disarmament)",
        json_schema_extra={"units": "loads", "source": "the policy's rationale"},
    )


class Policy(Overrides):
    """A policy that branches from the baseline at ``start`` (common random numbers before it)."""

    start: dt.date = Field(
        description="the intervention date: the policy's values apply from this day on",
        json_schema_extra={"units": "date", "source": "the policy's rationale"},
    )
    drop_injects: tuple[InjectKind, ...] = Field(
        default=(), description="inject kinds dated on or after start that the policy replaces"
    )
    injects: tuple[Inject, ...] = Field(
        default=(),
        description="events the policy forces, dated on or after start (never dropped)",
    )
    factions: dict[str, FactionLever | None] = Field(
        default_factory=dict,
        description=(
            "factions the policy changes at its start, by name: fields to set, or null for a "
            "faction that stands down (base rate 0)"
        ),
    )


class Scenario(_Strict):
    """A validated scenario: roster, parameters, timeline injects and policy."""

    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    start: dt.date
    end: dt.date
    seed: int = Field(20191001, ge=0, le=2**62)
    factions: tuple[Faction, ...] = Field(default=(), max_length=1000)
    iran: IranParams = Field(default_factory=IranParams)
    militia: MilitiaParams = Field(default_factory=MilitiaParams)
    us: USParams = Field(default_factory=USParams)
    pm: PMParams = Field(default_factory=PMParams)
    truce: TruceParams = Field(default_factory=TruceParams)
    injects: tuple[Inject, ...] = ()
    policy: Policy | None = None
    outcome_start: dt.date | None = Field(
        None, description="first day of the outcome window (default: policy start, else start)"
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_directory_name(cls, v: str) -> str:
        # `escsim run` writes to results/<name> when no --out is given
        if v.strip() in (".", "..") or any(c in v for c in "/\\") or not v.isprintable():
            raise ValueError(
                "a name usable as a directory name (no '/', '\\' or control characters)"
            )
        return v

    @property
    def n_days(self) -> int:
        """Number of simulated days (start and end inclusive)."""
        return (self.end - self.start).days + 1

    @property
    def outcome_from(self) -> dt.date:
        """First day of the window in which outcome metrics are counted."""
        if self.outcome_start is not None:
            return self.outcome_start
        if self.policy is not None:
            return self.policy.start
        return self.start


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with the text and hash of the file it came from."""

    scenario: Scenario
    path: str
    text: str
    files: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()  # composition notes: uncalibrated factions, removed injects

    @property
    def sha256(self) -> str:
        """SHA-256 over the texts of the scenario file and every file it includes."""
        h = hashlib.sha256()
        for name, text in self.files or ((self.path, self.text),):
            # a file name that is not UTF-8 keeps its bytes (surrogateescape)
            base = Path(name).name.encode("utf-8", "surrogateescape")
            h.update(base + b"\0" + text.encode("utf-8") + b"\0")
        return h.hexdigest()
