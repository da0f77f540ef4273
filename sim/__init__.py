"""escsim: agent-based simulator of militia-state escalation in Iraq (2019-2022).

Notebook use::

    from sim import compare, load_results, load_scenario, run
    res = run("scenarios/historical.yaml", runs=100, seed=1)  # res.events, res.outcomes
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> None:
    """Key numba's on-disk cache on the package sources.

    numba invalidates a cached function only when its own file changes, not when a function it
    calls (in ``sim/model/rules/``) does; a directory per hash of every ``sim/**/*.py`` (paths
    and contents) makes a stale kernel impossible.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted(here.rglob("*.py")):
        h.update(p.relative_to(here).as_posix().encode() + b"\0" + p.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "escsim" / "numba"
    os.environ["NUMBA_CACHE_DIR"] = str(base / h.hexdigest()[:16])
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before sim: it has read its configuration already
        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


_numba_cache_dir()

__all__ = ["__version__", "compare", "load_results", "load_scenario", "run"]


def __getattr__(name: str):
    """Import the notebook API lazily, so that ``escsim --version`` stays fast."""
    if name in ("load_scenario", "run", "compare", "load_results"):
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
