"""Figures for the lab's results (floor 7): one module per study, mirroring `experiments/`.

Every figure function takes a study's result dict and returns a matplotlib Figure whose axes
have a title, labelled axes (with units where there are any) and a legend where more than one
thing is drawn; tests check that. matplotlib is imported only under this package and in report.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")   # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9}


def new_figure(nrows=1, ncols=1, *, width=6.4, height=4.0, title=None):
    """(figure, axes) with the lab's style; axes is one Axes, or a 2-D array (nrows, ncols) of them."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=(nrows * ncols == 1),
                                 layout="constrained")
    if title:
        fig.suptitle(title)
    return fig, axes


def save(fig, path, dpi=110):
    """Write the figure to `path` (PNG) and close it."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def close(fig):
    plt.close(fig)
