"""Figures for the pretrain study: filters after pretraining and after fine-tuning; accuracy vs
the number of labelled images per start."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import new_figure
from .prefilters import mosaic

COLORS = {"random": "tab:gray", "transfer": "tab:orange", "autoencoder": "tab:red", "kmeans": "tab:blue",
          "pca": "tab:green"}
NAMES = {"random": "random (He)", "transfer": "transfer (shapes)", "autoencoder": "denoising autoencoder",
         "kmeans": "k-means of patches", "pca": "PCA of patches"}


def filters(result):
    """One panel per start: the first seed's first-layer filters right after pretraining (top
    row; the random start for random) and after fine-tuning with the fewest labels (bottom row)."""
    starts = [s for s in result["settings"]["starts"] if s in result["filters"]]
    fewest = min(result["labels"])
    fig, axes = new_figure(len(starts), 1, width=6.0, height=1.5 * len(starts) + 0.8,
                           title=f"First-layer filters: after pretraining (top row) and after fine-tuning with "
                                 f"{fewest} labels (bottom row)")
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
        ax.set_title(NAMES[start], fontsize=8)
        ax.set_xlabel(f"filter 1 .. {np.shape(f['pretrained'])[0]} (each scaled to its max |w|)", fontsize=7)
        ax.set_ylabel("before / after", fontsize=7)
    return fig


def labels(result):
    """Left: test accuracy against the number of labelled images, the median over seeds per
    start (fine-tuned: solid; first layer frozen: dotted), each seed a faint dot. Right: the
    per-seed gain over random (same seed, same head, same labels and batches), median and range."""
    seeds = len(result["settings"]["seeds"])
    fig, axes = new_figure(1, 2, width=11.0, height=4.2)
    ax, gap_ax = np.asarray(axes).ravel()
    ax.set_title(f"Test accuracy vs labelled images ({seeds} seeds)")
    gap_ax.set_title("Gain over random filters, seed by seed (fine-tuned)")
    offsets = {s: (i - 2) * 0.015 for i, s in enumerate(COLORS)}
    xs = np.array(result["labels"], dtype=float)
    for run_frozen, style in ((False, "-"), (True, ":")):
        for start in result["settings"]["starts"]:
            runs = [result["runs"].get(f"{start}{'/frozen' if run_frozen else ''}@{n}") for n in result["labels"]]
            if any(r is None for r in runs):
                continue
            medians = [float(np.median(r["accuracy"])) for r in runs]
            label = f"{NAMES[start]}{', first layer frozen' if run_frozen else ''}"
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
                        label=NAMES[start])
            gap_ax.vlines(shifted, [g.min() for g in gaps], [g.max() for g in gaps], color=COLORS[start], alpha=0.4)
    ax.axhline(result["chance"], color="0.6", ls="--", lw=0.8, label="chance (1/10)")
    gap_ax.axhline(0.0, color="0.4", lw=0.8, label="no gain")
    for a in (ax, gap_ax):
        a.set_xscale("log")
        a.set_xticks(result["labels"], [str(n) for n in result["labels"]])
        a.minorticks_off()
        a.set_xlabel("labelled training images (log scale)")
        a.legend(fontsize=7)
    ax.set_ylabel("test accuracy (fraction correct)")
    gap_ax.set_ylabel("accuracy - random's (fraction; median, range)")
    return fig


FIGURES = {"pretrain_filters": filters, "pretrain_labels": labels}
