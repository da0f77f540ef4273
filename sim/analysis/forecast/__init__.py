"""Forecasts from the model and from baselines, proper scores, and rolling-origin evaluation."""
