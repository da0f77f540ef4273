"""Engines layer: the numba batch kernel and the Mesa model, running the same rules and effects."""
