"""An experimental design: parameter points x replicates, run in one call by either engine.

A ``Design`` stacks P parameter points of one world (the arrays that can differ between points:
``g_before``, ``g_after``, ``fp``, ``ap``); a run is a list of rows, row r running replicate
``reps[r]`` at point ``points[r]``. The replicate alone keys the random draws, so the same
replicate at two points sees the same draws (common random numbers): differences between points
are the parameters' doing, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.model.world import World


@dataclass(frozen=True)
class Design:
    """P parameter points of one world.

    Attributes
    ----------
    g_before, g_after : ndarray (P, N_G)
        Global parameters before and from the policy's start day, per point.
    fp : ndarray (P, F, N_FP)
        Per-faction parameters, per point.
    ap : ndarray (P, N_AGENCIES, N_AP)
        Agency parameters, per point.
    """

    g_before: np.ndarray
    g_after: np.ndarray
    fp: np.ndarray
    ap: np.ndarray

    @classmethod
    def repeat(cls, world: World, n_points: int) -> Design:
        """Return ``n_points`` copies of the world's parameters (to be changed point by point)."""

        def stack(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(np.repeat(a[None], n_points, axis=0))

        return cls(stack(world.g_before), stack(world.g_after), stack(world.fp), stack(world.ap))

    @property
    def n_points(self) -> int:
        """Number of parameter points."""
        return int(self.g_before.shape[0])

    def check(self, world: World, points: np.ndarray, reps: np.ndarray) -> None:
        """Raise ``ValueError`` unless the design fits ``world`` and the rows fit the design."""
        p = self.n_points
        want = {
            "g_before": (p, *world.g_before.shape),
            "g_after": (p, *world.g_after.shape),
            "fp": (p, *world.fp.shape),
            "ap": (p, *world.ap.shape),
        }
        for name, shape in want.items():
            found = getattr(self, name).shape
            if found != shape:
                raise ValueError(f"design.{name}: expected shape {shape}; found {found}")
        if points.shape != reps.shape or points.ndim != 1:
            raise ValueError(
                f"points and reps: expected equal 1-d shapes; found {points.shape}, {reps.shape}"
            )
        if points.size and (points.min() < 0 or points.max() >= p):
            raise ValueError(
                f"points: expected indices in 0..{p - 1}; found {points.min()}..{points.max()}"
            )
        if reps.size and reps.min() < 0:
            raise ValueError(f"reps: expected non-negative replicate indices; found {reps.min()}")

    def world_at(self, world: World, point: int) -> World:
        """Return ``world`` with the parameters of one point (for the Mesa engine)."""
        return replace(
            world,
            g_before=self.g_before[point],
            g_after=self.g_after[point],
            fp=self.fp[point],
            ap=self.ap[point],
        )


def grid(n_points: int, n_reps: int, rep_start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows ``(points, reps)`` of every point crossed with replicates.

    Row ``r`` runs point ``r // n_reps`` with replicate ``rep_start + r % n_reps``: replicate k
    is the same replicate (the same draws) at every point.
    """
    points = np.repeat(np.arange(n_points, dtype=np.int64), n_reps)
    reps = np.tile(np.arange(rep_start, rep_start + n_reps, dtype=np.int64), n_points)
    return points, reps
