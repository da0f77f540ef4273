"""Measure "removing Badr" from the status quo: calibrated roster vs the old silent drop.

Before issue 16 a child that copied ``factions:`` without Badr lost the calibration overlay
(its factions ran with the uncalibrated values of historical.yaml). This script runs, with common
random numbers, the status quo, the status quo without Badr (name-keyed removal: calibrated) and
the status quo without Badr with the uncalibrated values the old loader gave (written explicitly),
and prints the mean paired difference in attacks on US targets.

Run: ``uv run python benchmarks/roster_calibration.py --runs 400``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from sim.runner import run_in_memory
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
UNCALIBRATED = {  # scenarios/historical.yaml as written (before calibration/fitted.yaml)
    "KH": (0.035, 0.5),
    "AAH": (0.02, 0.4),
    "KSS": (0.015, 0.5),
    "Nujaba": (0.01, 0.5),
}


def attacks_us(path: Path, runs: int, seed: int) -> np.ndarray:
    """Return attacks on US targets per replicate."""
    _, rt = run_in_memory(load_scenario(path), runs, seed=seed)
    order = np.argsort(rt.column("run").to_numpy())
    return pc.cast(rt.column("attacks_us"), "float64").to_numpy()[order]


def main() -> None:
    """Run the three scenarios and print the paired differences."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20191001)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / "scenarios") as tmp:
        d = Path(tmp)
        base = "extends: ../status_quo.yaml\nname: no_badr\n"
        (d / "calibrated.yaml").write_text(base + "factions: {Badr: null}\n")
        old = "".join(
            f"  {n}: {{base_rate: {r}, targets: {{convoy: {c}}}}}\n"
            for n, (r, c) in UNCALIBRATED.items()
        )
        (d / "old.yaml").write_text(base + "factions:\n  Badr: null\n" + old)
        sq = attacks_us(ROOT / "scenarios" / "status_quo.yaml", args.runs, args.seed)
        for label, name in (("calibrated (now)", "calibrated"), ("old silent drop", "old")):
            diff = attacks_us(d / f"{name}.yaml", args.runs, args.seed) - sq
            se = diff.std(ddof=1) / np.sqrt(len(diff))
            print(
                f"removing Badr, {label}: {diff.mean():+.1f} attacks on US targets "
                f"(MC s.e. {se:.1f}, {args.runs} paired runs)"
            )


if __name__ == "__main__":
    main()
