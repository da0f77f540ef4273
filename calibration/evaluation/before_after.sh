#!/bin/sh
# Before/after of the particle filter's observation model (README "How well does it forecast?",
# filter collapse bullet): the PREVIOUS filter (commit aa3f2b0: NB kernel of size 20 around each
# trajectory, no detection, no discrepancy; in-force injects kept whole) run by its own
# `evaluate` on the CURRENT model, scenarios and refits, compared with the committed
# scores.csv (model_inforce where present, else model: the same inject treatment).
# Run from the repository root after `escsim evaluate`:  sh calibration/evaluation/before_after.sh
set -e
dir=$(mktemp -d)
git archive aa3f2b0 sim | tar -x -C "$dir"
cp -r calibration scenarios "$dir"/
(cd "$dir" && PYTHONPATH="$dir" NUMBA_NUM_THREADS=1 nice -n 10 "$OLDPWD/.venv/bin/python" -c '
import sim
from sim.analysis.forecast import evaluate as E
from sim.analysis.calibrate import parameters as P
from sim.api import load_scenario
assert sim.__file__.startswith("'"$dir"'")
pairs = [(load_scenario(f"scenarios/{n}").scenario, P.base_scenario(f"scenarios/{n}")) for n in E.SCENARIOS]
E.evaluate(pairs, E.Settings()).to_csv("old_scores.csv", index=False)
')
uv run python - "$dir/old_scores.csv" <<'PY'
import sys
import pandas as pd
old = pd.read_csv(sys.argv[1])
new = pd.read_csv("calibration/evaluation/scores.csv")
key = ["origin", "target", "horizon"]
o = old[old.method == "model"].set_index(key)
b = new[new.method == "model"].set_index(key)
kept = new[new.method == "model_inforce"].set_index(key)
b.loc[kept.index.intersection(b.index), ["crps", "log_score"]] = kept[["crps", "log_score"]]
c = o.index.intersection(b.index)
a, b = o.loc[c], b.loc[c]
for kind in ("tally", "monthly"):
    for h in (1, 3):
        sel = (a.target_kind == kind) & (a.index.get_level_values("horizon") == h)
        unc, low = sel & (a.bound != "lower"), sel & (a.bound == "lower")
        print(f"{kind} h{h}: n {int(unc.sum())} CRPS {a[unc].crps.mean():.2f} -> {b[unc].crps.mean():.2f}, "
              f"log score {a[unc].log_score.mean():.2f} -> {b[unc].log_score.mean():.2f}; lower bounds "
              f"n {int(low.sum())} {a[low].log_score.mean():.2f} -> {b[low].log_score.mean():.2f}")
for lab, s in (("previous", old), ("current", new)):
    g = s[s.method == "model"].groupby("origin").first()
    e = g[g.scenario == "episode_2023_2024"]
    print(f"{lab} filter: median roots {g.roots.median():.0f}, draws left {g.draws_left.median():.1f}, "
          f"lowest stage ESS median {g.stage_ess_min.median():.1f} (min {g.stage_ess_min.min():.1f}); "
          f"2023-24 from 2023-11-30: roots {e.roots[e.index >= '2023-11-30'].min():.0f}-{e.roots[e.index >= '2023-11-30'].max():.0f}, "
          f"draws {e.draws_left[e.index >= '2023-11-30'].min():.0f}-{e.draws_left[e.index >= '2023-11-30'].max():.0f}")
PY
rm -rf "$dir"
