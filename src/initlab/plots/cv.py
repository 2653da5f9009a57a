"""Figure for the cross-validation study: validation accuracy against the initial weight std."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

MARKERS = ("s", "D", "^", "v", "P", "X", "*", "<", ">", "h")

WORDS = {
    "en": {"title": "{folds}-fold cross-validation of the init std, repeated over {searches} seeds: {dataset}, "
                    "{model}, {epochs} epochs",
           "designed": "{name} (as designed)", "diverged": "diverged (in some fold)", "chance": "chance ({chance:.2f})",
           "best": "best: {label}\nstd {std:.2g}, acc {acc:.3f}",
           "std": "initial weight std (geometric mean over layers; log scale)",
           "search": "one search (mean over its folds)",
           "accuracy": "validation accuracy (fraction; mean +- std over seeds)"},
    "ja": {"title": "初期値の標準偏差の {folds} 分割交差検証、シード {searches} 個で反復: {dataset}、{model}、"
                    "{epochs} エポック",
           "designed": "{name}(設計どおり)", "diverged": "発散(いずれかの分割で)", "chance": "偶然の水準({chance:.2f})",
           "best": "最良: {label}\n標準偏差 {std:.2g}、精度 {acc:.3f}",
           "std": "重みの初期標準偏差(層にわたる幾何平均、対数軸)",
           "search": "探索 1 回(その分割の平均)",
           "accuracy": "検証精度(割合、シードにわたる平均 ± 標準偏差)"},
}
DATASETS = {"en": {}, "ja": {"digits": "手書き数字", "shapes": "図形"}}


def _groups(candidates):
    """{label: candidates sorted by init std}, in the order the labels first appear."""
    groups = {}
    for row in candidates:
        groups.setdefault(row["label"], []).append(row)
    return {k: sorted(v, key=lambda r: r["init_std"]) for k, v in groups.items()}


@drawn
def accuracy_vs_std(result, lang):
    """Validation accuracy (each search's mean over its folds) against the init std on a log
    axis: the mean +- std over the seeds' searches, each search a small dot.

    A candidate's std is the geometric mean over layers of its initial weights' std. A grid over
    init_scale draws a line per initializer; a named scheme tried once is a marker of its own.
    Candidates that diverged in some fold (their mean is undefined) are crosses on the chance
    line, their searches' dots (a diverged fold counted as 0) beside them; std 0 is not drawn.
    """
    w = WORDS[lang]
    s = result["settings"]
    fig, ax = new_figure(width=7.0, height=4.4)
    ax.set_title(w["title"].format(folds=s["folds"], searches=len(result["searches"]),
                                   dataset=DATASETS[lang].get(s["dataset"], s["dataset"]), model=s["model"],
                                   epochs=s["epochs"]), fontsize=9)
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
                        capsize=3, label=w["designed"].format(name=name))
    if diverged:
        ax.scatter([r["init_std"] for r in diverged], [chance] * len(diverged), marker="x", s=60,
                   color="tab:red", zorder=3, label=w["diverged"])
    ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label=w["chance"].format(chance=chance))
    best = result.get("best")
    if best:
        ax.annotate(w["best"].format(label=best["label"], std=best["init_std"], acc=best["mean"]),
                    (best["init_std"], best["mean"]), textcoords="offset points", xytext=(10, -28),
                    fontsize=8, arrowprops=dict(arrowstyle="->", color="gray"))
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(w["std"])
    ax.plot([], [], ".", color="0.5", ms=3, label=w["search"])
    ax.set_ylabel(w["accuracy"])
    ax.legend(fontsize=8, loc="best")
    return fig


FIGURES = {"cv_accuracy_vs_std": accuracy_vs_std}
