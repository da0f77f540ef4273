"""Scenario files: YAML in, a frozen and validated ``Scenario`` out.

Errors name the file, the line, the field path, what was expected and what was found. Unknown
keys, duplicate keys, impossible dates and references to factions that do not exist are errors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import reprlib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim import state as S


class ScenarioError(ValueError):
    """An invalid scenario: carries the file, line, field path, expectation and finding."""

    def __init__(self, file: str, line: int | None, field: str, expected: str, found: str) -> None:
        self.file, self.line, self.field = file, line, field
        self.expected, self.found = expected, found
        where = f"{file}:{line}" if line else file
        super().__init__(_one_line(f"{where}: field '{field}': expected {expected}; found {found}"))


def _one_line(text: str) -> str:
    """Escape newlines and other control characters so a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


class Faction(_Strict):
    """One Iran-backed militia faction (S1, S2, S4; see docs/ODD.md for every parameter)."""

    name: str = Field(min_length=1, max_length=60)
    base_rate: float = _f(
        0.03, 0.0, 5.0, "baseline attack intensity", "attacks/day", "calibrated to tallies T01-T17"
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
        return v

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

    @field_validator("lethality")
    @classmethod
    def _lethality_prob(cls, v: WeaponValues) -> WeaponValues:
        for name in S.WEAPONS:
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
]


class Inject(_Strict):
    """A documented event forced at its date in every replicate."""

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
        description="duration of a truce or threat",
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
    note: str = Field("", description="free text")
    source: str = Field("", description="where the event is documented")


class Overrides(_Strict):
    """Parameters that change at the policy date (any subset of us, pm, iran, militia, truce)."""

    us: dict[str, Any] = Field(default_factory=dict)
    pm: dict[str, Any] = Field(default_factory=dict)
    iran: dict[str, Any] = Field(default_factory=dict)
    militia: dict[str, Any] = Field(default_factory=dict)
    truce: dict[str, Any] = Field(default_factory=dict)


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

    @property
    def sha256(self) -> str:
        """SHA-256 over the texts of the scenario file and every file it includes."""
        h = hashlib.sha256()
        for name, text in self.files or ((self.path, self.text),):
            h.update(Path(name).name.encode() + b"\0" + text.encode("utf-8") + b"\0")
        return h.hexdigest()


# --- YAML with line numbers and duplicate-key detection -----------------------------------------


def _walk(
    node: yaml.Node,
    path: tuple,
    lines: dict,
    file: str,
    loader: yaml.SafeLoader,
    visited: set[int],
    line: int | None = None,
) -> None:
    """Record the line of every field path under ``node``; refuse duplicate and complex keys.

    A field's line is the line of its key (a block mapping as a value starts on the next line).
    A node reached again through a YAML alias is not walked twice (an alias bomb would take
    exponential time, a recursive alias forever); its fields take the line of the alias.
    """
    lines[path] = line or node.start_mark.line + 1
    if id(node) in visited:
        return
    visited.add(id(node))
    if isinstance(loader, _Loader):
        loader.node_paths[id(node)] = path  # names the field of an impossible date
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(
                    file,
                    line,
                    _fmt(path) + " (a key)",
                    "a plain key",
                    "a list or mapping used as a key",
                )
            key = key_node.value
            if key in seen:
                raise ScenarioError(
                    file,
                    line,
                    _fmt(path + (key,)),
                    "each key once",
                    f"a duplicate of the key on line {seen[key]}",
                )
            seen[key] = line
            if key_node.tag != "tag:yaml.org,2002:str" and key != "<<":
                # the path as the validator will name it: `1:` is the int 1, `null:` is None
                if isinstance(loader, _Loader):
                    loader.node_paths[id(key_node)] = path + (key,)
                key = loader.construct_object(key_node)
                if not isinstance(key, int):
                    lines[path + (repr(key),)] = line  # pydantic names such keys by repr
            _walk(value_node, path + (key,), lines, file, loader, visited, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(child, path + (i,), lines, file, loader, visited)


def _fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def _at(lines: dict, path: tuple, file: str) -> tuple[str, int | None]:
    """Return (file, line) where the field at ``path`` was written."""
    for k in range(len(path), -1, -1):
        if path[:k] in lines:
            v = lines[path[:k]]
            return v if isinstance(v, tuple) else (file, v)
    return file, None


_REPR = reprlib.Repr(
    maxlevel=3, maxdict=4, maxlist=6, maxtuple=6, maxset=6, maxstring=60, maxother=60, maxlong=60
)


def _describe(value: Any) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return repr(value)
    text = _REPR.repr(value)  # bounded: a YAML alias bomb must not be printed in full
    return text if len(text) <= 60 else text[:57] + "..."


class _Loader(yaml.SafeLoader):
    """SafeLoader whose impossible dates (2020-02-30) become errors with a line number."""

    def __init__(self, stream: str, file: str = "<string>") -> None:
        super().__init__(stream)
        self.file = file
        self.node_paths: dict[int, tuple] = {}  # filled by _walk: names an impossible date

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            path = self.node_paths.get(id(node))
            if path is None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"an impossible date {node.value!r} ({exc})", node.start_mark
                ) from None
            raise ScenarioError(
                self.file,
                node.start_mark.line + 1,
                _fmt(path),
                "a real calendar date",
                f"an impossible date {node.value!r} ({exc})",
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def parse_yaml(text: str, file: str) -> tuple[Any, dict]:
    """Parse YAML text; return the data and a map from field path to line number.

    Raises
    ------
    ScenarioError
        On malformed YAML or a duplicate key.
    """
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
            lines: dict = {}
            if node is not None:
                _walk(node, (), lines, file, loader, set())
                data = loader.construct_document(node)
            else:
                data = None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError(
            file, line, "(document)", "well-formed YAML", f"{exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        pos = getattr(exc, "position", None)  # a ReaderError (bad character) knows its offset
        line = text.count("\n", 0, pos) + 1 if isinstance(pos, int) else None
        raise ScenarioError(
            file, line, "(document)", "well-formed YAML", str(exc).split("\n")[0]
        ) from None
    except RecursionError:
        raise ScenarioError(
            file, None, "(document)", "YAML nested a few hundred levels at most", "deeper nesting"
        ) from None
    return data, lines


def _expected(err: dict) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "extra_forbidden":
        return "no such key (unknown field)"
    if kind == "missing":
        return "this required field"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"a value {err['msg'].split('be ', 1)[-1]}"
    if kind == "literal_error":
        return err["msg"].replace("Input should be ", "one of ")
    if kind == "finite_number":
        return "a finite number"
    if ctx.get("error"):
        return str(ctx["error"])
    msg = err["msg"].removeprefix("Input should be ")
    return msg[0].lower() + msg[1:]


def _check_inject(
    inj: Inject,
    path: tuple,
    lo: dt.date,
    hi: dt.date,
    span: str,
    names: list[str],
    lines: dict,
    file: str,
) -> None:
    """Check an inject's date lies in [lo, hi] and that the faction it names exists."""
    field = _fmt(path)
    if not (lo <= inj.date <= hi):
        raise ScenarioError(
            *_at(lines, path + ("date",), file),
            f"{field}.date",
            f"a date within {span} ({lo}..{hi})",
            str(inj.date),
        )
    if inj.faction is not None and inj.faction not in names:
        raise ScenarioError(
            *_at(lines, path + ("faction",), file),
            f"{field}.faction",
            f"a faction of the roster {names}",
            repr(inj.faction),
        )
    if inj.kind in ("us_strike", "arrest") and inj.faction is None:
        raise ScenarioError(
            *_at(lines, path, file),
            f"{field}.faction",
            f"a faction for a {inj.kind} inject",
            "none",
        )


def _check_references(sc: Scenario, lines: dict, file: str) -> None:
    names = [f.name for f in sc.factions]
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise ScenarioError(
                *_at(lines, ("factions", i, "name"), file),
                f"factions[{i}].name",
                "unique faction names",
                f"a second faction named {n!r}",
            )
        seen.add(n)
    if sc.end < sc.start:
        raise ScenarioError(
            *_at(lines, ("end",), file),
            "end",
            f"a date on or after start ({sc.start})",
            str(sc.end),
        )
    if sc.n_days > 366 * 50:
        raise ScenarioError(
            *_at(lines, ("end",), file), "end", "a horizon of at most 50 years", f"{sc.n_days} days"
        )
    agency_names = [a.name for a in sc.iran.agencies]
    for i, a in enumerate(sc.iran.agencies):
        if a.name in agency_names[:i]:
            raise ScenarioError(
                *_at(lines, ("iran", "agencies", i, "name"), file),
                f"iran.agencies[{i}].name",
                "each agency once",
                f"a second {a.name!r}",
            )
        for fname in a.control:
            if fname not in seen:
                raise ScenarioError(
                    *_at(lines, ("iran", "agencies", i, "control", fname), file),
                    f"iran.agencies[{i}].control.{fname}",
                    f"a faction of the roster {names}",
                    repr(fname),
                )
    for i, inj in enumerate(sc.injects):
        _check_inject(inj, ("injects", i), sc.start, sc.end, "the horizon", names, lines, file)
    for i, f in enumerate(sc.factions):
        if f.drones_from is not None and (f.drones_from - sc.end).days > 36500:
            raise ScenarioError(
                *_at(lines, ("factions", i, "drones_from"), file),
                f"factions[{i}].drones_from",
                "a plausible date",
                str(f.drones_from),
            )
    if sc.policy is not None:
        pol = sc.policy
        if not (sc.start <= pol.start <= sc.end):
            raise ScenarioError(
                *_at(lines, ("policy", "start"), file),
                "policy.start",
                f"a date within the horizon {sc.start}..{sc.end}",
                str(pol.start),
            )
        for i, inj in enumerate(pol.injects):
            where = ("policy", "injects", i)
            span = "the policy start to the end"
            _check_inject(inj, where, pol.start, sc.end, span, names, lines, file)
        sections = {
            "us": USParams,
            "pm": PMParams,
            "iran": IranParams,
            "militia": MilitiaParams,
            "truce": TruceParams,
        }
        for sec, model in sections.items():
            overrides = getattr(pol, sec)
            base = getattr(sc, sec)
            for key in overrides:
                if key not in model.model_fields or key in ("agencies", "lethality"):
                    raise ScenarioError(
                        *_at(lines, ("policy", sec, key), file),
                        f"policy.{sec}.{key}",
                        f"a scalar parameter of '{sec}'",
                        repr(key),
                    )
            try:
                model.model_validate({**base.model_dump(), **overrides})
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = tuple(err["loc"])
                raise ScenarioError(
                    *_at(lines, ("policy", sec) + loc, file),
                    "policy." + _fmt((sec,) + loc),
                    _expected(err),
                    _describe(err.get("input")),
                ) from None
    if sc.outcome_start is not None and not (sc.start <= sc.outcome_start <= sc.end):
        raise ScenarioError(
            *_at(lines, ("outcome_start",), file),
            "outcome_start",
            f"a date within the horizon {sc.start}..{sc.end}",
            str(sc.outcome_start),
        )


def _merge(base: Any, over: Any, base_lines: dict, over_lines: dict, prefix: tuple) -> Any:
    """Deep-merge ``over`` onto ``base`` (mappings merge, everything else is replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v, base_lines, over_lines, prefix + (k,))
        return out
    # replaced: drop provenance of the old subtree, take the new one
    for key in [k for k in base_lines if k[: len(prefix)] == prefix]:
        del base_lines[key]
    for key, val in over_lines.items():
        if key[: len(prefix)] == prefix:
            base_lines[key] = val
    return over


def _read_text(p: Path) -> str:
    try:
        raw = p.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ScenarioError(
            str(p), None, "(file)", "a readable file", getattr(exc, "strerror", None) or str(exc)
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(p), None, "(file)", "UTF-8 text", f"undecodable byte at offset {exc.start}"
        ) from None
    if "\x00" in text:
        raise ScenarioError(str(p), None, "(file)", "text", "binary data (NUL bytes)")
    return text


def _read_referenced(path: Path, file: str, line: int | None, key: str) -> str:
    """Read a file named by ``extends``/``calibration``; a missing one is the referrer's error."""
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        is_file = False
    if not is_file:
        raise ScenarioError(
            file,
            line,
            key,
            "a path (relative to this file) to a readable file",
            f"{_describe(str(path))}, which does not exist or is not a file",
        )
    return _read_text(path)


def _resolve(text: str, file: str, depth: int = 0) -> tuple[Any, dict, list[tuple[str, str]]]:
    """Parse a file and the files it names in ``extends`` and ``calibration``.

    Returns the merged data, a map from field path to (file, line), and every file read with its
    text (for the manifest).
    """
    data, raw_lines = parse_yaml(text, file)
    lines = {k: (file, v) for k, v in raw_lines.items()}
    texts = [(file, text)]
    if not isinstance(data, dict):
        return data, lines, texts
    here = Path(file).parent
    for key in ("extends", "calibration"):
        ref = data.get(key)
        if ref is None:
            continue
        if not isinstance(ref, str) or not ref.strip():
            raise ScenarioError(
                file, raw_lines.get((key,)), key, "a relative file path", _describe(ref)
            )
        if depth > 8:
            raise ScenarioError(
                file,
                raw_lines.get((key,)),
                key,
                "at most 8 nested files",
                "a deeper (or circular) chain",
            )
    base_ref = data.pop("extends", None)
    cal_ref = data.pop("calibration", None)
    merged, merged_lines = data, lines
    if base_ref is not None:
        bpath = here / base_ref
        btext = _read_referenced(bpath, file, raw_lines.get(("extends",)), "extends")
        bdata, blines, btexts = _resolve(btext, str(bpath), depth + 1)
        if not isinstance(bdata, dict):
            raise ScenarioError(
                str(bpath), 1, "(document)", "a mapping of scenario fields", type(bdata).__name__
            )
        merged_lines = dict(blines)
        merged = _merge(bdata, data, merged_lines, lines, ())
        texts += btexts
    if cal_ref is not None:
        cpath = here / cal_ref
        ctext = _read_referenced(cpath, file, raw_lines.get(("calibration",)), "calibration")
        cdata, craw = parse_yaml(ctext, str(cpath))
        clines = {k: (str(cpath), v) for k, v in craw.items()}
        if not isinstance(cdata, dict):
            raise ScenarioError(
                str(cpath), 1, "(document)", "a mapping of fitted parameters", type(cdata).__name__
            )
        cdata = dict(cdata)
        cdata.pop("fit", None)  # provenance block of the calibration, not a parameter
        clines = {k: v for k, v in clines.items() if not (k and k[0] == "fit")}
        factions = cdata.pop("factions", None)
        merged = _merge(merged, cdata, merged_lines, clines, ())
        if factions is not None:
            merged = _overlay_factions(merged, factions, str(cpath), craw)
        texts.append((str(cpath), ctext))
    return merged, merged_lines, texts


def _overlay_factions(data: dict, overlay: Any, file: str, lines: dict) -> dict:
    """Apply a calibration's per-faction values (a mapping name -> fields) onto the roster."""
    line = lines.get(("factions",))
    if not isinstance(overlay, dict):
        raise ScenarioError(
            file, line, "factions", "a mapping of faction name to fields", type(overlay).__name__
        )
    roster = data.get("factions")
    if not isinstance(roster, list):
        raise ScenarioError(file, line, "factions", "a scenario with a faction roster", "no roster")
    names = [f.get("name") if isinstance(f, dict) else None for f in roster]
    out = []
    for f in roster:
        name = f.get("name") if isinstance(f, dict) else None
        if isinstance(name, str) and name in overlay:  # a bad name is reported by validation
            f = _merge(f, overlay[name], {}, {}, ())
        out.append(f)
    for name in overlay:
        if name not in names:
            raise ScenarioError(
                file,
                lines.get(("factions", name), line),
                f"factions.{name}",
                f"a faction of the roster {names}",
                repr(name),
            )
    data = dict(data)
    data["factions"] = out
    return data


def _validate(data: Any, lines: dict, file: str) -> Scenario:
    def where(path: tuple) -> tuple[str, int | None]:
        for k in range(len(path), -1, -1):
            if path[:k] in lines:
                return lines[path[:k]]
        return file, None

    if not isinstance(data, dict):
        raise ScenarioError(
            file,
            None,
            "(document)",
            "a mapping of scenario fields",
            type(data).__name__ if data is not None else "an empty document",
        )
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown key is usually the typo of a missing one: name it, at its own line
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(err["loc"])
        f, line = where(loc)
        raise ScenarioError(
            f, line, _fmt(loc), _expected(err), _describe(err.get("input"))
        ) from None
    _check_references(sc, lines, file)
    return sc


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML text and return the frozen ``Scenario``.

    Raises
    ------
    ScenarioError
        For any invalid input, naming the file, line and field.
    """
    data, lines, _ = _resolve(text, file)
    return _validate(data, lines, file)


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file (with the files it extends).

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    LoadedScenario
        The scenario with its text, the texts of the files it includes, and its hash.

    Raises
    ------
    ScenarioError
        If the file cannot be read or is invalid.
    """
    p = Path(path)
    text = _read_text(p)
    data, lines, texts = _resolve(text, str(p))
    return LoadedScenario(_validate(data, lines, str(p)), str(p), text, tuple(texts))
