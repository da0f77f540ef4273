"""Calibration against observed tallies, with baselines for out-of-sample checks."""
