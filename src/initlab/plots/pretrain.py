"""Figures for the pretrain study: filters after pretraining and after fine-tuning; accuracy vs
the number of labelled images per start."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..claims.pretrain import NAMES as NAMES_EN, NAMES_JA
from . import drawn, new_figure
from .prefilters import mosaic

COLORS = {"random": "tab:gray", "transfer": "tab:orange", "autoencoder": "tab:red", "kmeans": "tab:blue",
          "pca": "tab:green"}
WORDS = {
    "en": {"starts": NAMES_EN,
           "filters_title": "First-layer filters: after pretraining (top row) and after fine-tuning with {fewest} labels "
                            "(bottom row)",
           "filters": "filter 1 .. {n} (each scaled to its max |w|)", "before_after": "before / after",
           "accuracy_title": "Test accuracy vs labelled images ({seeds} seeds)",
           "gain_title": "Gain over random filters, seed by seed (fine-tuned)", "frozen": "{start}, first layer frozen",
           "chance": "chance (1/10)", "no_gain": "no gain", "labelled": "labelled training images (log scale)",
           "accuracy": "test accuracy (fraction correct)", "gain": "accuracy - random's (fraction; median, range)"},
    "ja": {"starts": NAMES_JA,
           "filters_title": "第 1 層のフィルター: 事前学習の後(上の行)と、ラベル {fewest} 枚での微調整の後(下の行)",
           "filters": "フィルター 1 .. {n}(それぞれ最大 |w| で割った値)", "before_after": "前 / 後",
           "accuracy_title": "テスト精度とラベル付き画像の枚数(シード {seeds} 個)",
           "gain_title": "ランダムなフィルターに対する上積み、シードごと(微調整)", "frozen": "{start}、第 1 層を固定",
           "chance": "偶然の水準(1/10)", "no_gain": "上積みなし", "labelled": "ラベル付きの学習画像の枚数(対数軸)",
           "accuracy": "テスト精度(正解の割合)", "gain": "精度 - ランダムの精度(割合、中央値と範囲)"},
}


@drawn
def filters(result, lang):
    """One panel per start: the first seed's first-layer filters right after pretraining (top
    row; the random start for random) and after fine-tuning with the fewest labels (bottom row)."""
    w = WORDS[lang]
    starts = [s for s in result["settings"]["starts"] if s in result["filters"]]
    fewest = min(result["labels"])
    fig, axes = new_figure(len(starts), 1, width=6.0, height=1.5 * len(starts) + 0.8,
                           title=w["filters_title"].format(fewest=fewest))
    axes = np.asarray(axes).reshape(-1)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="white")
    for ax, start in zip(axes, starts):
        f = result["filters"][start]
        ax.imshow(mosaic(f["pretrained"], f["finetuned"]), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(w["starts"][start], fontsize=8)
        ax.set_xlabel(w["filters"].format(n=np.shape(f["pretrained"])[0]), fontsize=7)
        ax.set_ylabel(w["before_after"], fontsize=7)
    return fig


@drawn
def labels(result, lang):
    """Left: test accuracy against the number of labelled images, the median over seeds per
    start (fine-tuned: solid; first layer frozen: dotted), each seed a faint dot. Right: the
    per-seed gain over random (same seed, same head, same labels and batches), median and range."""
    w = WORDS[lang]
    seeds = len(result["settings"]["seeds"])
    fig, axes = new_figure(1, 2, width=11.0, height=4.2)
    ax, gap_ax = np.asarray(axes).ravel()
    ax.set_title(w["accuracy_title"].format(seeds=seeds))
    gap_ax.set_title(w["gain_title"])
    offsets = {s: (i - 2) * 0.015 for i, s in enumerate(COLORS)}
    xs = np.array(result["labels"], dtype=float)
    for run_frozen, style in ((False, "-"), (True, ":")):
        for start in result["settings"]["starts"]:
            runs = [result["runs"].get(f"{start}{'/frozen' if run_frozen else ''}@{n}") for n in result["labels"]]
            if any(r is None for r in runs):
                continue
            medians = [float(np.median(r["accuracy"])) for r in runs]
            label = w["frozen"].format(start=w["starts"][start]) if run_frozen else w["starts"][start]
            ax.plot(xs, medians, style, color=COLORS[start], marker="o", ms=3, lw=1.6, label=label)
            if run_frozen:
                continue
            for x, r in zip(xs, runs):
                ax.plot([x * 10 ** offsets[start]] * len(r["accuracy"]), r["accuracy"], ".", color=COLORS[start],
                        ms=3, alpha=0.35)
            if start == "random":
                continue
            base = [result["runs"][f"random@{n}"]["accuracy"] for n in result["labels"]]
            gaps = [np.subtract(r["accuracy"], b) for r, b in zip(runs, base)]
            shifted = xs * 10 ** offsets[start]
            gap_ax.plot(shifted, [float(np.median(g)) for g in gaps], "-o", color=COLORS[start], ms=3,
                        label=w["starts"][start])
            gap_ax.vlines(shifted, [g.min() for g in gaps], [g.max() for g in gaps], color=COLORS[start], alpha=0.4)
    ax.axhline(result["chance"], color="0.6", ls="--", lw=0.8, label=w["chance"])
    gap_ax.axhline(0.0, color="0.4", lw=0.8, label=w["no_gain"])
    for a in (ax, gap_ax):
        a.set_xscale("log")
        a.set_xticks(result["labels"], [str(n) for n in result["labels"]])
        a.minorticks_off()
        a.set_xlabel(w["labelled"])
        a.legend(fontsize=7)
    ax.set_ylabel(w["accuracy"])
    gap_ax.set_ylabel(w["gain"])
    return fig


FIGURES = {"pretrain_filters": filters, "pretrain_labels": labels}
