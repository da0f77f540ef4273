"""Workshop style: the Okabe-Ito palette, large type, and saving a figure as PNG, SVG and PDF."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

FORMATS = ("png", "svg", "pdf")
WIDE = (16.0, 9.0)
STYLE = {
    "font.size": 17,
    "axes.titlesize": 21,
    "axes.titleweight": "bold",
    "axes.labelsize": 19,
    "xtick.labelsize": 16,
    "ytick.labelsize": 16,
    "legend.fontsize": 15,
    "legend.title_fontsize": 15,
    "lines.linewidth": 3.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "savefig.dpi": 110,
}
Y_MONTHLY = "Attacks on US targets per month"


def colour(i: int) -> str:
    """Return the Okabe-Ito colour of the i-th scenario."""
    return OKABE_ITO[i % len(OKABE_ITO)]


TEXT_ON_WHITE = {"#F0E442": "#8C7E00", "#56B4E9": "#1F78B4", "#E69F00": "#A86F00"}
"""Darker shades for text of the light Okabe-Ito colours (yellow, sky blue, orange), which are
illegible as text on white; lines and bands keep the palette colour."""


def text_colour(i: int) -> str:
    """Return a legible text colour for the i-th scenario (its palette colour, darkened)."""
    c = colour(i)
    return TEXT_ON_WHITE.get(c, c)


@contextmanager
def workshop_style() -> Iterator[None]:
    """Apply the projector style (large type, thick lines) inside the block."""
    with matplotlib.rc_context(STYLE):
        yield


# --- saving ------------------------------------------------------------------------------------


def save_figure(
    fig: Figure, directory: Path, stem: str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Save a figure as PNG, SVG and PDF, each written atomically; return the paths.

    Each file is drawn into a new temporary file of a unique name (made with ``O_EXCL``: never
    through a link, never shared by two ``escsim plot`` at once), then renamed into place.
    """
    from sim.results.files import atomic_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with workshop_style():
        for i, fmt in enumerate(formats):
            path = directory / f"{stem}.{fmt}"
            with atomic_file(path, fsync=False) as tmp:
                fig.savefig(tmp, format=fmt)
            paths.append(path)
            if i == 0 and fig.get_layout_engine() is not None:
                fig.set_layout_engine("none")  # laid out once: the other formats reuse it
    return paths
