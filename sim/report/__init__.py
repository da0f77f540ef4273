"""Report layer: workshop figures, the brief, the calibration report and parameter tables."""
