"""Scoreboard: tallies and monthly counts reported apart; standing per kind; uncovered targets."""

import json

import numpy as np
import pandas as pd

from sim.analysis.forecast import evaluate as E
from sim.report import scoreboard as SB

METHODS = ("model", "persistence", "climatology", "nb_ingarch", "hawkes_dated", "ensemble")


def _scores(seed=0):
    """Synthetic score rows: the model's CRPS is 5 lower than every baseline's on tallies."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(12):
        origin = f"2020-{i % 12 + 1:02d}-28"
        for kind, bound in (("tally", "exact"), ("monthly", "exact"), ("monthly", "lower")):
            for m in METHODS:
                base = 10.0 + rng.random()
                crps = base - (5.0 if (m == "model" and kind == "tally") else 0.0)
                rows.append(
                    {
                        "origin": origin,
                        "horizon": 1,
                        "target_kind": kind,
                        "target": f"{kind}-{bound}-{i}",
                        "counter_id": "c" if kind == "tally" else f"k_{bound}",
                        "target_end": f"2020-{i % 12 + 1:02d}-28",
                        "bound": bound,
                        "count": 3,
                        "method": m,
                        "mean": 3.0,
                        "log_score": -2.0 - rng.random(),
                        "crps": np.nan if bound == "lower" else crps,
                        "wis": np.nan if bound == "lower" else crps,
                        "pit": np.nan if bound == "lower" else rng.random(),
                        "ess": 10.0,
                    }
                )
    return pd.DataFrame(rows)


def test_scoreboard_reports_tallies_and_monthly_counts_apart(tmp_path):
    scores = _scores()
    paired = E.paired(scores)
    tally = paired[(paired["target_kind"] == "tally") & (paired["method"] == "persistence")]
    assert tally["d_crps"].iloc[0] < -4.0 and tally["d_crps_hi"].iloc[0] < 0
    mon = paired[(paired["target_kind"] == "monthly") & (paired["method"] == "model")]
    assert (mon["n"].iloc[0], mon["n_lower"].iloc[0]) == (12, 12)
    assert mon["d_log_score_lower"].iloc[0] == 0.0
    meta = {"command": "t", "wall_seconds": 1.0, "runs": 10, "draws": 2, "uncovered": ["T26 x"]}
    SB.write_scoreboard(scores, paired, tmp_path, meta)
    st = json.loads((tmp_path / "standing.json").read_text())
    assert {v["verdict"] for v in st["horizons"]["1"]["vs"].values()} == {"beats"}
    assert st["monthly"]["1"]["n"] == 12
    line = SB.standing_line(tmp_path / "standing.json")
    assert "tallies 1 mo (n=12): beats all 5 baselines" in line
    assert "monthly counts (exact) 1 mo" in line
    summary = (tmp_path / "summary.md").read_text()
    assert "## Tallies, horizon 1 month(s)" in summary
    assert "## Monthly counts per counter, horizon 1 month(s)" in summary
    assert "| k_lower | 1 | 12 | lower |" in summary
    assert "## Targets no origin forecasts" in summary and "- T26 x" in summary
    for f in ("pit_h1.png", "pit_monthly_h1.png", "crps.png", "logscore_monthly.png"):
        assert (tmp_path / "figures" / f).stat().st_size > 0
    out = pd.read_csv(tmp_path / "scores.csv")
    assert set(out["target_kind"]) == {"tally", "monthly"}


def test_standing_line_reads_a_scoreboard_without_monthly_counts(tmp_path):
    vs = {"persistence": {"verdict": "ties"}}
    (tmp_path / "standing.json").write_text(
        json.dumps({"quick": False, "horizons": {"1": {"n": 3, "vs": vs}}})
    )
    line = SB.standing_line(tmp_path / "standing.json")
    assert "1 mo (n=3): ties all 1 baselines" in line and "monthly" not in line


def test_inforce_and_pre_start_sections_report_their_origins(tmp_path):
    scores = _scores().assign(scenario="s")
    first = scores["origin"] == "2020-01-28"
    kept = scores[first & (scores["method"] == "model")].assign(
        method="model_inforce", crps=lambda d: d["crps"] + 1.0
    )
    pre = scores[first & (scores["method"] == "model")].assign(origin="2019-12-31")
    scores = pd.concat([scores, kept, pre], ignore_index=True)
    lines = "\n".join(SB._inforce_lines(scores))
    assert "| 2020-01-28 |" in lines and "model_inforce" in lines
    assert SB._inforce_figure(scores, tmp_path).stat().st_size > 0
    pre_lines = SB._prestart_lines(scores)
    assert any(line.startswith("| 2019-12-31 |") for line in pre_lines)
    assert not any(line.startswith("| 2020-01-28 |") for line in pre_lines)
    assert SB._inforce_lines(_scores()) == [] and SB._prestart_lines(_scores()) == []
