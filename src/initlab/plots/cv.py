"""Figure for the cross-validation study: validation accuracy against the initial weight std."""
from __future__ import annotations

import numpy as np

from . import new_figure

MARKERS = ("s", "D", "^", "v", "P", "X", "*", "<", ">", "h")


def _groups(candidates):
    """{label: candidates sorted by init std}, in the order the labels first appear."""
    groups = {}
    for row in candidates:
        groups.setdefault(row["label"], []).append(row)
    return {k: sorted(v, key=lambda r: r["init_std"]) for k, v in groups.items()}


def accuracy_vs_std(result):
    """Validation accuracy (each search's mean over its folds) against the init std on a log
    axis: the mean +- std over the seeds' searches, each search a small dot.

    A candidate's std is the geometric mean over layers of its initial weights' std. A grid over
    init_scale draws a line per initializer; a named scheme tried once is a marker of its own.
    Candidates that diverged in some fold (their mean is undefined) are crosses on the chance
    line, their searches' dots (a diverged fold counted as 0) beside them; std 0 is not drawn.
    """
    s = result["settings"]
    fig, ax = new_figure(width=7.0, height=4.4)
    ax.set_title(f"{s['folds']}-fold cross-validation of the init std, repeated over {len(result['searches'])} "
                 f"seeds: {s['dataset']}, {s['model']}, {s['epochs']} epochs", fontsize=9)
    chance = result["chance"]
    markers = iter(MARKERS)
    diverged = []
    for name, rows in _groups(result["candidates"]).items():
        rows = [r for r in rows if r["init_std"] > 0]
        for r in rows:
            ax.plot([r["init_std"]] * len(r["scores"]), r["scores"], ".", color="0.5", ms=3, alpha=0.6)
        diverged += [r for r in rows if r["mean"] is None]
        rows = [r for r in rows if r["mean"] is not None]
        if not rows:
            continue
        x = np.array([r["init_std"] for r in rows])
        y = np.array([r["mean"] for r in rows])
        err = np.array([r["std"] for r in rows])
        if len(rows) > 1:
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=name)
        else:
            ax.errorbar(x, y, yerr=err, marker=next(markers, "o"), markersize=8, linestyle="none",
                        capsize=3, label=f"{name} (as designed)")
    if diverged:
        ax.scatter([r["init_std"] for r in diverged], [chance] * len(diverged), marker="x", s=60,
                   color="tab:red", zorder=3, label="diverged (in some fold)")
    ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
    best = result.get("best")
    if best:
        ax.annotate(f"best: {best['label']}\nstd {best['init_std']:.2g}, acc {best['mean']:.3f}",
                    (best["init_std"], best["mean"]), textcoords="offset points", xytext=(10, -28),
                    fontsize=8, arrowprops=dict(arrowstyle="->", color="gray"))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("initial weight std (geometric mean over layers; log scale)")
    ax.plot([], [], ".", color="0.5", ms=3, label="one search (mean over its folds)")
    ax.set_ylabel("validation accuracy (fraction; mean +- std over seeds)")
    ax.legend(fontsize=8, loc="best")
    return fig


FIGURES = {"cv_accuracy_vs_std": accuracy_vs_std}
