"""The chain of action and reaction behind one replicate's largest escalation.

The largest escalation of a replicate is the 30-day window of its outcome window with the most
attacks on US targets (the window behind ``peak_30d_us_attacks`` in ``sim.results.outcomes``; the
earliest such window on ties; windows near the end are truncated at the horizon). The chain is
every event of the 30 days before it (the lead-up), of the window itself, and of the 30 days
after it (what followed): Iranian directives, raids and releases, attacks with their claims and
US attributions, US strikes, truces and threats, with dates. Attacks on US targets are merged
with the US attribution of the same faction on the same day (a faction attacks at most once a
day), so a line reads "KH: rocket on us_base, claimed as ..., attributed by the US".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.vocab import US_TARGET_NAMES

WINDOW_DAYS = 30
LEAD_DAYS = 30
FOLLOW_DAYS = 30


@dataclass(frozen=True)
class Escalation:
    """The densest window of attacks on US targets in a replicate (dates inclusive)."""

    start: pd.Timestamp
    end: pd.Timestamp
    attacks_us: int


@dataclass(frozen=True)
class Step:
    """One line of the chain: a date, its phase (lead-up, escalation, after) and its text."""

    date: pd.Timestamp
    phase: str
    kind: str
    text: str


@dataclass(frozen=True)
class Explanation:
    """A replicate's largest escalation and the chain of events around it."""

    run: int
    escalation: Escalation | None
    steps: tuple[Step, ...]
    summary: dict[str, dict[str, int]]
    searched_from: pd.Timestamp
    searched_to: pd.Timestamp
    window: int = WINDOW_DAYS
    lead: int = LEAD_DAYS
    follow: int = FOLLOW_DAYS


def read_run_events(results_dir: Path, run: int) -> pd.DataFrame:
    """Read one replicate's events from ``events.parquet`` (a pyarrow filter on ``run``).

    Returns
    -------
    pandas.DataFrame
        The event log rows of that replicate, string columns as objects, ``date`` as datetime64.
    """
    tab = pq.read_table(Path(results_dir) / "events.parquet", filters=[("run", "=", int(run))])
    df = pd.DataFrame({name: tab.column(name).to_pylist() for name in tab.column_names})
    if len(df):
        df["date"] = pd.to_datetime(df["date"])
    else:
        df = pd.DataFrame(columns=tab.column_names)
        df["date"] = pd.to_datetime(df["date"])
    return df


def _is_us_attack(events: pd.DataFrame) -> np.ndarray:
    return ((events["kind"] == "attack") & events["target"].isin(US_TARGET_NAMES)).to_numpy(bool)


def largest_escalation(
    events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, window: int = WINDOW_DAYS
) -> Escalation | None:
    """Return the window of ``window`` days in [start, end] with the most attacks on US targets.

    Parameters
    ----------
    events : DataFrame
        One replicate's event log (``date``, ``kind``, ``target``).
    start, end : Timestamp
        The days searched (inclusive): the outcome window.
    window : int
        Window length in days.

    Returns
    -------
    Escalation or None
        The earliest densest window (truncated at ``end``), or None if no attack on US targets
        falls in [start, end].
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    n = (end - start).days + 1
    us = events[_is_us_attack(events)]
    days = (us["date"] - start).dt.days.to_numpy()
    days = days[(days >= 0) & (days < n)]
    if days.size == 0 or n <= 0:
        return None
    cum = np.concatenate([[0], np.cumsum(np.bincount(days, minlength=n))])
    lo = np.arange(n)
    hi = np.minimum(lo + window, n)
    counts = cum[hi] - cum[lo]
    d = int(np.argmax(counts))
    return Escalation(
        start + pd.Timedelta(days=d), start + pd.Timedelta(days=int(hi[d]) - 1), int(counts[d])
    )


def _s(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)


def describe_attack(row: pd.Series, attributed: bool) -> str:
    """Return the text of one attack: who, weapon, target, claim, interception, toll, blame."""
    text = f"{_s(row['actor'])} attack: {_s(row['weapon'])} on {_s(row['target'])}"
    if _s(row.get("claimed_as")):
        text += f", claimed as {row['claimed_as']}"
    if bool(row.get("intercepted")):
        text += ", intercepted"
    killed = int(row.get("killed") or 0)
    if killed:
        us = int(row.get("us_killed") or 0)
        text += f", {killed} killed" + (f" ({us} US)" if us else "")
    if attributed:
        text += f"; the US attributes it to {row['actor']}"
    elif row["target"] in US_TARGET_NAMES:
        text += "; not attributed"
    return text


def _single(row: pd.Series) -> str:
    kind = row["kind"]
    subject, detail, actor = _s(row.get("subject")), _s(row.get("detail")), _s(row["actor"])
    forced = " (documented)" if bool(row.get("forced")) else ""
    if kind == "us_strike":
        return (
            f"US {detail or ''} strike on {subject}: {int(row.get('killed') or 0)} killed{forced}"
        ).replace("  ", " ")
    if kind == "directive":
        return f"{actor} directs its factions: {detail}"
    if kind == "arrest":
        return f"PM raids {subject}, detainees held{forced}"
    if kind == "release":
        return f"PM releases the {subject} detainees under pressure"
    if kind == "threat":
        return f"US coercive threat (embassy closure, strikes){forced}"
    if kind == "decapitation":
        return f"decapitation of the Iranian/PMF command{forced}"
    if kind == "election":
        return f"parliamentary election{forced}"
    if kind == "new_pm":
        return f"new prime minister{forced}"
    if kind == "negotiation":
        return f"US-Iran negotiation round{forced}"
    if kind == "attribution":
        return f"US attributes an attack to {subject}"
    return f"{actor} {kind} {subject} {detail}".strip()


def describe_day(day_events: pd.DataFrame) -> list[tuple[str, str]]:
    """Return (kind, text) lines for one day's events, merging attributions and truce rows."""
    out: list[tuple[str, str]] = []
    attributed = set(day_events.loc[day_events["kind"] == "attribution", "subject"].dropna())
    attackers = set(day_events.loc[day_events["kind"] == "attack", "actor"].dropna())
    starts = day_events[day_events["kind"] == "truce_start"]
    ends = day_events[day_events["kind"] == "truce_end"]
    for _, row in day_events.iterrows():
        kind = row["kind"]
        if kind == "attack":
            out.append(("attack", describe_attack(row, row["actor"] in attributed)))
        elif kind == "attribution":
            if row["subject"] not in attackers:
                out.append(("attribution", _single(row)))
        elif kind in ("truce_start", "truce_end"):
            continue
        else:
            out.append((kind, _single(row)))
    if len(starts):
        comply = [
            a for a, d in zip(starts["actor"], starts["detail"], strict=True) if d == "comply"
        ]
        spoil = [
            a for a, d in zip(starts["actor"], starts["detail"], strict=True) if d == "spoiler"
        ]
        forced = " (documented)" if starts["forced"].astype(bool).any() else ""
        text = f"truce starts{forced}: complying {', '.join(comply) or 'none'}"
        text += f"; spoilers {', '.join(spoil) or 'none'}"
        out.append(("truce_start", text))
    if len(ends):
        for detail, grp in ends.groupby(ends["detail"].fillna(""), sort=False):
            how = {
                "breakdown": "collapses (a spoiler attacked US sites)",
                "expired": "expires",
            }.get(detail, "ends")
            out.append(("truce_end", f"truce {how} for {', '.join(map(str, grp['actor']))}"))
    return out


def build_chain(
    events: pd.DataFrame, esc: Escalation, lead: int = LEAD_DAYS, follow: int = FOLLOW_DAYS
) -> tuple[list[Step], dict[str, dict[str, int]]]:
    """Return the chain of steps around an escalation and counts per phase.

    Parameters
    ----------
    events : DataFrame
        One replicate's event log.
    esc : Escalation
        The escalation window.
    lead, follow : int
        Days before and after the window included.

    Returns
    -------
    (list of Step, dict)
        Steps in date order (phases "lead-up", "escalation", "after"); per phase the number of
        attacks on US targets, attacks on other targets, US strikes and US deaths.
    """
    lo = esc.start - pd.Timedelta(days=lead)
    hi = esc.end + pd.Timedelta(days=follow)
    sel = events[(events["date"] >= lo) & (events["date"] <= hi)]
    steps: list[Step] = []
    summary: dict[str, dict[str, int]] = {}
    for phase, a, b in (
        ("lead-up", lo, esc.start - pd.Timedelta(days=1)),
        ("escalation", esc.start, esc.end),
        ("after", esc.end + pd.Timedelta(days=1), hi),
    ):
        part = sel[(sel["date"] >= a) & (sel["date"] <= b)]
        us = _is_us_attack(part)
        att = (part["kind"] == "attack").to_numpy(bool)
        summary[phase] = {
            "attacks_us": int(us.sum()),
            "attacks_other": int((att & ~us).sum()),
            "us_strikes": int((part["kind"] == "us_strike").sum()),
            "us_killed": int(pd.to_numeric(part.loc[att, "us_killed"]).fillna(0).sum()),
        }
        for date, day in part.groupby("date", sort=True):
            for kind, text in describe_day(day):
                steps.append(Step(pd.Timestamp(date), phase, kind, text))
    return steps, summary


def explain_events(
    events: pd.DataFrame,
    run: int,
    start: pd.Timestamp,
    end: pd.Timestamp,
    window: int = WINDOW_DAYS,
    lead: int = LEAD_DAYS,
    follow: int = FOLLOW_DAYS,
) -> Explanation:
    """Explain one replicate's largest escalation from its event log.

    Parameters
    ----------
    events : DataFrame
        The replicate's event log.
    run : int
        Its replicate index (for the report).
    start, end : Timestamp
        The window searched for the escalation (the outcome window).
    window, lead, follow : int
        Escalation window length, lead-up and follow-up in days.

    Returns
    -------
    Explanation
        The escalation (None if no attack on US targets) and the chain around it.
    """
    esc = largest_escalation(events, start, end, window)
    if esc is None:
        return Explanation(
            int(run), None, (), {}, pd.Timestamp(start), pd.Timestamp(end), window, lead, follow
        )
    steps, summary = build_chain(events, esc, lead, follow)
    return Explanation(
        int(run),
        esc,
        tuple(steps),
        summary,
        pd.Timestamp(start),
        pd.Timestamp(end),
        window,
        lead,
        follow,
    )


def explain_run(
    results_dir: Path,
    run: int,
    window: int = WINDOW_DAYS,
    lead: int = LEAD_DAYS,
    follow: int = FOLLOW_DAYS,
) -> Explanation:
    """Explain replicate ``run`` of a results directory (searching its outcome window).

    Raises
    ------
    KeyError
        If the directory does not hold replicate ``run``.
    """
    from sim.results.manifest import load_manifest

    results_dir = Path(results_dir)
    manifest = load_manifest(results_dir)  # a damaged manifest: ResultsError naming the field
    runs = pq.read_table(results_dir / "runs.parquet", columns=["run"]).column("run").to_numpy()
    if int(run) not in set(runs.tolist()):
        raise KeyError(
            f"replicate {run} is not in {results_dir} (it holds {runs.min()}..{runs.max()})"
        )
    events = read_run_events(results_dir, run)
    return explain_events(
        events,
        run,
        pd.Timestamp(manifest["outcome_from"]),
        pd.Timestamp(manifest["end"]),
        window,
        lead,
        follow,
    )


STYLES = {
    "attack": "red",
    "us_strike": "bold blue",
    "directive": "magenta",
    "arrest": "yellow",
    "release": "yellow",
    "truce_start": "green",
    "truce_end": "green",
    "threat": "cyan",
}
PHASE_TITLES = {"lead-up": "Lead-up", "escalation": "Escalation", "after": "What followed"}


def printable(text: str) -> str:
    """Return ``text`` with every non-printable character (escapes, NUL) shown escaped.

    Names in a results directory come from a scenario someone else may have written; they
    must not reach a terminal as control sequences.
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def format_explanation(ex: Explanation, name: str = "") -> list[tuple[str, str]]:
    """Return the explanation as (text, rich style) lines for a terminal.

    Parameters
    ----------
    ex : Explanation
        From ``explain_run`` or ``explain_events``.
    name : str
        Scenario name for the heading.

    Returns
    -------
    list of (str, str)
        Lines and their styles ("" for plain).
    """
    head = f"Replicate {ex.run}" + (f" of {printable(name)}" if name else "")
    if ex.escalation is None:
        return [
            (head, "bold"),
            (
                f"No attack on US targets from {ex.searched_from:%Y-%m-%d} to "
                f"{ex.searched_to:%Y-%m-%d}: nothing escalated.",
                "",
            ),
        ]
    e = ex.escalation
    lines = [
        (head, "bold"),
        (
            f"Largest escalation: {_n(e.attacks_us, 'attack')} on US targets from "
            f"{e.start:%Y-%m-%d} to {e.end:%Y-%m-%d} (the densest {ex.window}-day window of "
            f"{ex.searched_from:%Y-%m-%d}.."
            f"{ex.searched_to:%Y-%m-%d}).",
            "bold",
        ),
    ]
    for phase in ("lead-up", "escalation", "after"):
        s = ex.summary.get(phase, {})
        steps = [st for st in ex.steps if st.phase == phase]
        if phase == "lead-up":
            span = f"{ex.lead} days before {e.start:%Y-%m-%d}"
        elif phase == "escalation":
            span = f"{e.start:%Y-%m-%d} to {e.end:%Y-%m-%d}"
        else:
            span = f"{ex.follow} days after {e.end:%Y-%m-%d}"
        lines.append(("", ""))
        counts = (
            f"{_n(s.get('attacks_us', 0), 'attack')} on US targets, "
            f"{s.get('attacks_other', 0)} on other targets, "
            f"{_n(s.get('us_strikes', 0), 'US strike')}, {_n(s.get('us_killed', 0), 'US death')}"
        )
        lines.append((f"{PHASE_TITLES[phase]} ({span}): {counts}", "bold underline"))
        if not steps:
            lines.append(("  (no events)", "dim"))
        last = None
        for st in steps:
            date = f"{st.date:%Y-%m-%d}" if st.date != last else " " * 10
            last = st.date
            lines.append((f"  {date}  {printable(st.text)}", STYLES.get(st.kind, "")))
    return lines
