"""What a manifest records about the software: package versions and the git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from sim import __version__


def git_commit() -> str | None:
    """Return the git commit of the escsim source tree (suffixed '-dirty' if modified)."""
    here = Path(__file__).resolve().parents[1]  # the sim package
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty.strip() else "")


def versions() -> dict[str, str]:
    """Return the versions of escsim, Python and the libraries results depend on."""
    out = {"escsim": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "numba", "mesa", "scipy", "pandas", "pyarrow", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "missing"
    return out
