"""Timestamps of a lever change's way through the server, for ``benchmarks/app_latency.py``.

When ``ESCSIM_APP_TIMING`` names a file, ``stamp(event)`` appends ``<unix time> <event>`` to it
(one line per event; the server's threads write whole lines). Otherwise it does nothing.
"""

from __future__ import annotations

import os
import threading
import time

_PATH = os.environ.get("ESCSIM_APP_TIMING", "")
_lock = threading.Lock()


def stamp(event: str) -> None:
    """Record that ``event`` happened now (if ``ESCSIM_APP_TIMING`` is set)."""
    if not _PATH:
        return
    line = f"{time.time():.4f} {event}\n"
    with _lock, open(_PATH, "a") as f:
        f.write(line)
