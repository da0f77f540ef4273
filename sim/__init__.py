"""escsim: agent-based simulator of militia-state escalation in Iraq (2019-2022).

Notebook use::

    from sim import compare, load_results, load_scenario, run
    res = run("scenarios/historical.yaml", runs=100, seed=1)  # res.events, res.outcomes
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

__version__ = "0.1.0"


def source_hash() -> str:
    """Return the SHA-256 of every ``sim/**/*.py`` (relative paths and contents).

    It keys numba's cache and is the ``sources`` part of the code fingerprint recorded in
    ``plan.json`` and ``manifest.json`` (a resume across a change of code is refused).
    """
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        here = Path(__file__).parent
        h = hashlib.sha256()
        for p in sorted(here.rglob("*.py")):
            h.update(p.relative_to(here).as_posix().encode() + b"\0" + p.read_bytes())
        _SOURCE_HASH = h.hexdigest()
    return _SOURCE_HASH


_SOURCE_HASH: str | None = None


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _numba_cache_dir() -> None:
    """Key numba's on-disk cache on the package sources; never let numba choose another place.

    numba invalidates a cached function only when its own file changes, not when a function it
    calls (in ``sim/model/rules/``) does; a directory per hash of every ``sim/**/*.py`` (paths
    and contents) makes a stale kernel impossible. numba would fall back to ``__pycache__``
    next to the sources (keyed per file: stale) when that directory is not writable, so the
    only locator allowed is the keyed directory: ``$NUMBA_CACHE_DIR/escsim-<key>`` or
    ``$XDG_CACHE_HOME/escsim/numba/escsim-<key>`` (default ``~/.cache``), else a keyed
    directory under the temporary directory, else no cache at all (a one-line notice on
    stderr for both).
    """
    key = source_hash()[:16]
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user and Path(user).name == f"escsim-{key}":  # keyed by a parent escsim process
        first = Path(user)
    elif user:
        first = Path(user) / f"escsim-{key}"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        first = base / "escsim" / "numba" / f"escsim-{key}"
    try:
        tmp = Path(tempfile.gettempdir())
    except OSError:  # no usable temporary directory at all
        tmp = Path(os.environ.get("TMPDIR") or "/tmp")
    fallback = tmp / f"escsim-numba-{os.getuid()}" / f"escsim-{key}"
    chosen = next((d for d in (first, fallback) if _writable_dir(d)), None)
    numba = sys.modules.get("numba")
    if chosen is not None:
        if chosen != first:
            print(
                f"escsim: note: numba cache {first} is not writable; using {chosen}",
                file=sys.stderr,
            )
        os.environ["NUMBA_CACHE_DIR"] = str(chosen)
        os.environ["NUMBA_CACHE_LOCATOR_CLASSES"] = "UserProvidedCacheLocator"
        if numba is not None:  # imported before sim: it has read its configuration already
            numba.config.CACHE_DIR = str(chosen)
            numba.config.CACHE_LOCATOR_CLASSES = "UserProvidedCacheLocator"
        return
    print(
        f"escsim: note: no writable numba cache ({first}, {fallback}); compiling without a "
        "cache (slower start)",
        file=sys.stderr,
    )
    from numba.core.dispatcher import Dispatcher

    Dispatcher.enable_caching = lambda self: None  # cache=True: compile in memory only


_numba_cache_dir()

__all__ = ["__version__", "compare", "load_results", "load_scenario", "run", "source_hash"]


def __getattr__(name: str):
    """Import the notebook API lazily, so that ``escsim --version`` stays fast."""
    if name in ("load_scenario", "run", "compare", "load_results"):
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
