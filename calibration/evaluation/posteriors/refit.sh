#!/bin/sh
# Per-origin posteriors of the rolling-origin evaluation (escsim evaluate): one calibration
# per refit date, each fitted only on tallies whose window ends on or before that date.
# The origins from 2021-07-31 (and the 2023-24 episode) use calibration/posterior.parquet
# (its last fitted tally ends 2021-07-06). Budget 64 particles x 20 replicates per refit
# (the full calibration uses 128 x 40); the CPU of a shared 2-core machine was the limit.
# Run from the repository root:  sh calibration/evaluation/posteriors/refit.sh
set -e
for d in 2020-01-31 2020-06-30 2020-09-30 2020-12-31 2021-04-30; do
  NUMBA_NUM_THREADS=1 nice -n 10 uv run escsim calibrate --data-until "$d" \
    --particles 64 --runs 20 --check-draws 20 --out "calibration/evaluation/posteriors/$d" -q
done
