"""The event log: one row per event, the same columns for simulated and observed data.

Columns (the contract of DESIGN.md, plus additions): ``run`` (int), ``date`` (date), ``actor``,
``kind``, ``weapon``, ``target``, ``claimed_as`` (front name or null), ``killed`` (int); added:
``day`` (days since the scenario start), ``subject`` (faction acted on by a strike, arrest,
release or attribution), ``detail`` (directive stance, strike type, truce compliance or how a
truce ended), ``forced`` (a documented inject), ``intercepted`` and ``us_killed``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sim import vocab as V
from sim.model import layout as L
from sim.model.world import World

if TYPE_CHECKING:
    import pandas as pd

EPOCH = dt.date(1970, 1, 1)

SCHEMA = pa.schema(
    [
        ("run", pa.int64()),
        ("date", pa.date32()),
        ("actor", pa.dictionary(pa.int32(), pa.string())),
        ("kind", pa.dictionary(pa.int32(), pa.string())),
        ("weapon", pa.dictionary(pa.int32(), pa.string())),
        ("target", pa.dictionary(pa.int32(), pa.string())),
        ("claimed_as", pa.dictionary(pa.int32(), pa.string())),
        ("killed", pa.int32()),
        ("day", pa.int32()),
        ("subject", pa.dictionary(pa.int32(), pa.string())),
        ("detail", pa.dictionary(pa.int32(), pa.string())),
        ("forced", pa.bool_()),
        ("intercepted", pa.bool_()),
        ("us_killed", pa.int32()),
    ]
)


def _dict_col(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    codes = codes.astype(np.int32, copy=False)
    mask = codes < 0
    idx = pa.array(np.where(mask, 0, codes), type=pa.int32(), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(names, type=pa.string()))


def records_to_table(world: World, records: np.ndarray, reps: np.ndarray) -> pa.Table:
    """Turn engine records (``sim.model.layout`` E_* columns) into an Arrow table with ``SCHEMA``.

    Parameters
    ----------
    world : World
        The compiled scenario (for names and the start date).
    records : ndarray (N, N_ECOLS) int32
        Event records.
    reps : ndarray (N,) int64
        Replicate index of each record.

    Returns
    -------
    pyarrow.Table
        The event log.
    """
    r = records
    day = r[:, L.E_DAY].astype(np.int32)
    epoch_day = (world.start - EPOCH).days
    fronts = [name for group in world.front_names for name in group]
    offsets = np.cumsum([0] + [len(g) for g in world.front_names])[:-1]
    actor = r[:, L.E_ACTOR]
    claimed = r[:, L.E_CLAIMED]
    is_faction = (actor >= 0) & (actor < world.n_factions)
    claim_code = np.where(
        (claimed >= 0) & is_faction,
        offsets[np.clip(actor, 0, max(world.n_factions - 1, 0))] + claimed
        if world.n_factions
        else -1,
        -1,
    )
    # an umbrella front shared by several factions (e.g. the Islamic Resistance in Iraq) is one
    # category: map each faction's front slot onto the first slot with that name
    unique = list(dict.fromkeys(fronts))
    if len(unique) < len(fronts):
        slot = np.array([unique.index(name) for name in fronts], dtype=np.int64)
        claim_code = np.where(claim_code >= 0, slot[np.clip(claim_code, 0, None)], -1)
        fronts = unique
    detail = r[:, L.E_DETAIL].astype(np.int32)
    detail = np.where(detail == V.D_NONE, -1, detail)
    columns = [
        pa.array(reps.astype(np.int64)),
        pa.array(day + epoch_day, type=pa.int32()).cast(pa.date32()),
        _dict_col(actor, world.actor_names()),
        _dict_col(r[:, L.E_KIND], list(V.KINDS)),
        _dict_col(r[:, L.E_WEAPON], list(V.WEAPONS)),
        _dict_col(r[:, L.E_TARGET], list(V.TARGETS)),
        _dict_col(claim_code, fronts),
        pa.array(r[:, L.E_KILLED].astype(np.int32)),
        pa.array(day),
        _dict_col(r[:, L.E_SUBJECT], list(world.faction_names)),
        _dict_col(detail, list(V.DETAILS)),
        pa.array(r[:, L.E_FORCED] == 1),
        pa.array(r[:, L.E_INTERCEPTED] == 1),
        pa.array(r[:, L.E_US_KILLED].astype(np.int32)),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


EVENT_MODES = ("all", "attacks", "none")
"""What a run writes of its event log: every event, attacks only, or nothing (``--events``)."""


def select_records(
    records: np.ndarray, reps: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the records an ``--events`` mode writes (None for ``none``).

    Parameters
    ----------
    records : ndarray (N, N_ECOLS) int32
        Event records.
    reps : ndarray (N,) int64
        Replicate index of each record.
    mode : {"all", "attacks", "none"}
        Every event, the attacks only (kind ``attack``), or none.
    """
    if mode == "all":
        return records, reps
    if mode == "attacks":
        keep = records[:, L.E_KIND] == V.K_ATTACK
        return records[keep], reps[keep]
    if mode == "none":
        return None
    raise ValueError(f"unknown events mode {mode!r}; expected one of {EVENT_MODES}")


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Return the event log as a pandas DataFrame (categorical string columns, dates as dates)."""
    import pandas as pd

    df = table.to_pandas()
    df["date"] = pd.to_datetime(df["date"])
    return df
