"""The Mesa engine: readable agents and model over the shared rules (see Readme.md)."""
