"""Process-level timings: the ``escsim`` command end to end, and what its imports cost.

Every figure is the wall time of a subprocess measured from this process, so it includes the
interpreter's start, the imports and (for ``uv run``) uv's own environment check.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    """Run ``cmd`` and return its wall time in seconds (raises if it fails)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return t


def median_wall(make_cmd, repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Return the median and all wall times of ``repeats`` runs of ``make_cmd(i)`` after warm-up.

    ``make_cmd`` gets the run's index (warm-up runs are negative) and returns the command.
    """
    for k in range(warmup):
        wall(make_cmd(-1 - k))
    times = [wall(make_cmd(i)) for i in range(repeats)]
    return statistics.median(times), times


def escsim_commands() -> dict[str, list[str]]:
    """Return the ways to start escsim: through ``uv run`` and the venv's script directly."""
    cmds = {}
    uv = shutil.which("uv")
    if uv:
        cmds["uv"] = [uv, "run", "--quiet", "escsim"]
    script = Path(sys.executable).parent / "escsim"
    if script.exists():
        cmds["venv"] = [str(script)]
    return cmds


def cli_timings(
    scenario: str,
    runs: int,
    repeats: int,
    launchers: tuple[str, ...] = ("uv", "venv"),
    warmup: int = 1,
) -> dict:
    """Time ``escsim run SCENARIO --runs N -q --out TMP`` and ``escsim --version``.

    Parameters
    ----------
    scenario : str
        Scenario path relative to the project root.
    runs : int
        Replicates per ``escsim run``.
    repeats : int
        Timed runs of each command.
    launchers : tuple of str
        Which of ``escsim_commands()`` to time (``uv``: ``uv run escsim``; ``venv``: the
        virtual environment's ``escsim`` script).
    warmup : int
        Untimed runs of each command first.

    Returns
    -------
    dict
        Median seconds per command and launcher (``uv run`` or the venv script), with all
        samples.
    """
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="escsim-bench-cli-") as tmp:
        for launcher, base in escsim_commands().items():
            if launcher not in launchers:
                continue

            def run_cmd(i: int, base=base, launcher=launcher) -> list[str]:
                target = Path(tmp) / f"{launcher}-{i}"
                return base + ["run", scenario, "--runs", str(runs), "-q", "--out", str(target)]

            med, samples = median_wall(run_cmd, repeats, warmup)
            out[f"run_{launcher}_seconds"] = med
            out[f"run_{launcher}_samples"] = samples
            med, samples = median_wall(lambda i, base=base: base + ["--version"], repeats, warmup)
            out[f"version_{launcher}_seconds"] = med
            out[f"version_{launcher}_samples"] = samples
    py = [sys.executable]
    out["python_bare_seconds"], _ = median_wall(lambda i: py + ["-c", "pass"], repeats, warmup)
    out["python_typer_rich_seconds"], _ = median_wall(
        lambda i: py + ["-c", "import typer, rich.console"], repeats, warmup
    )
    return out


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """Parse ``python -X importtime`` output into (module, self_us, cumulative_us, depth) rows."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((name.strip(), int(parts[0]), int(parts[1]), depth))
    return rows


def sim_importers(rows: list[tuple[str, int, int, int]], prefix: str = "sim") -> dict[str, str]:
    """Return, for each top-level package, the innermost ``prefix`` module that first imports it.

    ``-X importtime`` lists a module after everything it imports, one indentation level deeper
    than its importer, so the importer of row i is the first later row with a smaller depth.
    """
    out: dict[str, str] = {}
    for i, (name, _, _, depth) in enumerate(rows):
        pkg = name.split(".")[0]
        if name != pkg or pkg == prefix or pkg in out:
            continue
        d = depth
        for later, _, _, later_depth in rows[i + 1 :]:
            if later_depth < d:
                d = later_depth
                if later == prefix or later.startswith(prefix + "."):
                    out[pkg] = later
                    break
    return out


def import_costs(modules: tuple[str, ...] = ("sim.cli",), top: int = 12) -> dict:
    """Return what importing ``modules`` costs, by top-level package.

    Parameters
    ----------
    modules : tuple of str
        Modules to import, in order, in a fresh interpreter under ``-X importtime``.
    top : int
        Number of packages to list.

    Returns
    -------
    dict
        ``total_seconds`` (cumulative time of ``modules``), ``by_package_seconds`` (sum of the
        self times of every module of each top-level package, largest first; they add up to the
        total), ``first_import_seconds`` (cumulative time of each package's first import,
        including the packages it imports in turn) and ``imported_by`` (the escsim module whose
        import first pulls each of those packages in).
    """
    env = dict(os.environ)
    env.pop("PYTHONIMPORTTIME", None)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import " + ", ".join(modules)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = parse_importtime(proc.stderr)
    by_pkg: dict[str, int] = {}
    first: dict[str, int] = {}
    total = 0
    for name, self_us, cum_us, depth in rows:
        pkg = name.split(".")[0]
        by_pkg[pkg] = by_pkg.get(pkg, 0) + self_us
        if name == pkg:
            first.setdefault(pkg, cum_us)
        if name in modules and depth == 0:
            total += cum_us
    ranked = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:top]
    first_ranked = sorted(first.items(), key=lambda kv: -kv[1])[:top]
    return {
        "modules": list(modules),
        "total_seconds": total / 1e6,
        "self_sum_seconds": sum(by_pkg.values()) / 1e6,
        "by_package_seconds": {k: v / 1e6 for k, v in ranked},
        "first_import_seconds": {k: v / 1e6 for k, v in first_ranked},
        "imported_by": {
            k: v
            for k, v in sim_importers(rows).items()
            if k in dict(ranked) or k in dict(first_ranked)
        },
    }
