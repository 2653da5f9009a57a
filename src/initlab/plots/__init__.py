"""Figures for the lab's results (floor 7): one module per study, mirroring `experiments/`.

Every figure function takes a study's result dict and a language ("en" or "ja") and returns a
matplotlib Figure whose axes have a title, labelled axes (with units where there are any) and a
legend where more than one thing is drawn; tests check that. Each module keeps its words in one
`WORDS = {"en": {...}, "ja": {...}}` (same keys in both); `@drawn` hands the function the
language it can draw: Japanese needs IPAexGothic from the `ja` extra (matplotlib-fontja), and
without it the figures stay in English (`report.japanese_font_file` is None). matplotlib is
imported only under this package and in report.
"""
from __future__ import annotations

import functools

import matplotlib
import numpy as np

matplotlib.use("Agg")   # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from ..errors import UnknownNameError  # noqa: E402
from ..report import LANGS, japanese_font_file  # noqa: E402  (no matplotlib there: the CLI starts fast)

STYLE = {"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9}

JA_FONT = "IPAexGothic"
# Latin letters, digits and symbols keep matplotlib's own font; a glyph it lacks (kana, kanji)
# falls back to the next family, per character (matplotlib >= 3.6)
FAMILIES = {"en": ["DejaVu Sans"], "ja": ["DejaVu Sans", JA_FONT]}


@functools.cache
def _registered_japanese_font() -> bool:
    path = japanese_font_file()
    if path is None:
        return False
    font_manager.fontManager.addfont(str(path))
    return True


def drawing_language(lang: str) -> str:
    """The language the figures can be drawn in: `lang`, or "en" for "ja" without its font."""
    if lang not in LANGS:
        raise UnknownNameError(f"figure language {lang!r} is not available (valid: {', '.join(LANGS)})")
    return lang if lang == "en" or _registered_japanese_font() else "en"


def fonts(lang: str) -> dict:
    """The rcParams that draw `lang`'s text (see `drawing_language`)."""
    return {"font.family": FAMILIES[drawing_language(lang)]}


def drawn(figure_function):
    """Decorate `figure_function(result, lang)`: called as `f(result, lang="en")`, it gets the
    language it can draw in, and every text it creates uses that language's fonts."""
    @functools.wraps(figure_function)
    def draw(result, lang="en"):
        lang = drawing_language(lang)
        with plt.rc_context(fonts(lang)):
            fig = figure_function(result, lang)
        fig._initlab_lang = lang     # tick labels made at save time use the same fonts
        return fig
    return draw


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
    with plt.rc_context(fonts(getattr(fig, "_initlab_lang", "en"))):
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def close(fig):
    plt.close(fig)


# Curves that may lie exactly on one another (two symmetric starts at similarity 1, both at
# chance): the first is drawn wide and pale, the later ones narrower, dashed and with markers
# at staggered points, so every one stays visible where they coincide.
OVERLAP_STYLES = ({"lw": 3.4, "alpha": 0.45}, {"lw": 1.6, "ls": "--", "marker": "o", "mfc": "none", "ms": 5},
                  {"lw": 1.2, "ls": ":", "marker": "x", "ms": 5}, {"lw": 1.0, "ls": "-.", "marker": "+", "ms": 6})


def overlap_style(index: int, points: int) -> dict:
    """Line keywords for the `index`-th of curves that may coincide (see OVERLAP_STYLES); markers
    every few of `points` points, starting at a different one per curve."""
    style = dict(OVERLAP_STYLES[index % len(OVERLAP_STYLES)])
    if "marker" in style:
        every = max(1, points // 6)
        style["markevery"] = (index * max(1, every // 3) % every, every)
    return style


def coinciding(curves: dict, rtol=1e-6, atol=1e-9) -> dict:
    """{name: earlier name it coincides with} for the curves (name -> values) equal to an earlier one."""
    same = {}
    names = list(curves)
    for i, name in enumerate(names):
        for other in names[:i]:
            a, b = np.asarray(curves[name], dtype=float), np.asarray(curves[other], dtype=float)
            if a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                same[name] = other
                break
    return same
