"""Analysis layer: paired comparison, explanation, observed data and calibration."""
