"""Figures for the prefilters study: where random, hand-made and data-driven first layers go."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import new_figure

COLORS = {"he": "tab:gray", "he_unit": "tab:brown", "hand": "tab:orange", "kmeans": "tab:blue",
          "pca": "tab:green"}


def _color(start):
    return COLORS.get(start, None)


def _label(result, start):
    return result.get("labels", {}).get(start, start)


def mosaic(before, after, gap=1, row_gap=2):
    """Two rows of kernels (input channel 0), each scaled to its own max |w|: before on top,
    after below; NaN pixels between tiles (`gap`) and between the rows (`row_gap`) -> 2-D image."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    out, _, kh, kw = before.shape
    image = np.full((2 * kh + row_gap, out * (kw + gap) - gap), np.nan)
    for row, weight in enumerate((before, after)):
        for j in range(out):
            k = weight[j, 0]
            peak = np.abs(k).max()
            top, left = row * (kh + row_gap), j * (kw + gap)
            image[top:top + kh, left:left + kw] = k / peak if peak > 0 else k
    return image


def filter_grid(result):
    """One panel per (start, dataset): the first-layer filters before (top row) and after
    (bottom row) training, first seed."""
    seed = result["settings"]["seeds"][0]
    datasets = list(result["datasets"])
    starts = list(result["starts"])
    fig, axes = new_figure(len(starts), len(datasets), width=5.2 * len(datasets), height=1.9 * len(starts) + 1,
                           title=f"First-layer filters before (top row) and after (bottom row) training (seed {seed})")
    axes = np.asarray(axes).reshape(len(starts), len(datasets))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="white")
    for j, name in enumerate(datasets):
        ds = result["datasets"][name]
        for i, start in enumerate(starts):
            r, ax = ds["starts"][start], axes[i, j]
            image = mosaic(r["filters_before"][0], r["filters_after"][0])
            ax.imshow(image, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}: {_label(result, start)}", fontsize=8)
            ax.set_xlabel(f"filter 1 .. {np.shape(r['filters_before'])[1]} (each scaled to its max |w|)", fontsize=7)
            ax.set_ylabel("before / after", fontsize=7)
    steps = result["datasets"][datasets[0]]["steps"][-1]
    handles = [plt.Line2D([], [], linestyle="none", label="top row: step 0 (the start)"),
               plt.Line2D([], [], linestyle="none", label=f"bottom row: after training ({steps} steps)")]
    axes[0, 0].legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.12), ncol=2, fontsize=7,
                      handlelength=0, frameon=False)
    return fig


def learning_curves(result):
    """Validation accuracy against training step for each start (mean over seeds, band = min..max)."""
    datasets = list(result["datasets"])
    fig, axes = new_figure(1, len(datasets), width=5.2 * len(datasets), height=4,
                           title="Learning curves from each first-layer start")
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, datasets):
        ds = result["datasets"][name]
        steps = np.asarray(ds["steps"])
        for start, r in ds["starts"].items():
            acc = np.asarray(r["val_acc"], dtype=float)
            ax.plot(steps, acc.mean(axis=0), color=_color(start), label=_label(result, start))
            if len(acc) > 1:
                ax.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=_color(start), alpha=0.15)
        ax.axhline(ds["threshold"], color="k", linestyle="--", linewidth=0.8,
                   label=f"threshold {ds['threshold']:.0%}")
        ax.set_title(f"{name} (mean over {len(acc)} seed(s), band = min..max)")
        ax.set_xlabel("training step (mini-batches)")
        ax.set_ylabel("validation accuracy (fraction)")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right", fontsize=7)
    return fig


def _bars(ax, result, values_by_dataset, *, per_seed=None, never=None):
    """Grouped bars: one group per dataset, one bar per start; dots for per-seed values, and
    triangles for the seeds `never` marks (never reached the threshold)."""
    datasets = list(values_by_dataset)
    starts = list(result["starts"])
    width = 0.8 / len(starts)
    for k, start in enumerate(starts):
        xs = np.arange(len(datasets)) + (k - (len(starts) - 1) / 2) * width
        ax.bar(xs, [values_by_dataset[d][start] for d in datasets], width, color=_color(start),
               label=_label(result, start))
        if per_seed:
            for x, d in zip(xs, datasets):
                seeds = np.asarray(per_seed[d][start], dtype=float)
                missed = np.asarray(never[d][start], dtype=bool) if never else np.zeros(len(seeds), bool)
                ax.plot(np.full((~missed).sum(), x), seeds[~missed], "k.", markersize=3)
                ax.plot(np.full(missed.sum(), x), seeds[missed], "k^", markersize=5)
    ax.set_xticks(np.arange(len(datasets)))
    ax.set_xticklabels(datasets)


def steps_to_threshold(result):
    """Steps to reach the threshold accuracy per start (bar: median over seeds, a seed that never
    reached it counted as slower than all; dots: seeds; a seed that never reached it is a
    triangle one step past the end of training)."""
    fig, ax = new_figure(width=6.4, height=4, title="How soon does each start reach the threshold accuracy?")
    medians, seeds, never = {}, {}, {}
    for name, ds in result["datasets"].items():
        last = ds["budget"]
        seeds[name] = {s: [last + 1 if v is None else v for v in r["steps_to_threshold"]]
                       for s, r in ds["starts"].items()}
        never[name] = {s: [v is None for v in r["steps_to_threshold"]] for s, r in ds["starts"].items()}
        medians[name] = {s: float(np.median(v)) for s, v in seeds[name].items()}
    _bars(ax, result, medians, per_seed=seeds, never=never)
    if any(any(flags) for by_start in never.values() for flags in by_start.values()):
        ax.plot([], [], "k^", markersize=5, label="a seed that never got there (at the end + 1)")
    thresholds = ", ".join(f"{n} {ds['threshold']:.0%}" for n, ds in result["datasets"].items())
    ax.set_title(f"steps to validation accuracy >= threshold ({thresholds}); bars: median over "
                 f"{len(result['settings']['seeds'])} seeds; fewer is faster", fontsize=8)
    ax.set_xlabel("dataset")
    ax.set_ylabel("training steps (mini-batches)")
    ax.legend(fontsize=7)
    return fig


def movement(result):
    """How far the first-layer filters move: ||W_end - W_0|| / ||W_0|| and the mean cosine of
    each filter to its start (1 = same direction); bars: mean over seeds, dots: seeds."""
    fig, axes = new_figure(1, 2, width=10, height=4, title="How far do the first-layer filters move in training?")
    axes = axes.ravel()
    for ax, key, seed_key, title, ylabel in (
        (axes[0], "mean_relative_change", "relative_change", "relative change of the layer",
         "||W_end - W_0|| / ||W_0|| (ratio)"),
        (axes[1], "mean_cosine_to_start", "mean_cosine", "direction kept by each filter",
         "cosine(filter at end, filter at start)"),
    ):
        means = {n: {s: r[key] for s, r in ds["starts"].items()} for n, ds in result["datasets"].items()}
        per_seed = {n: {s: r[seed_key] for s, r in ds["starts"].items()} for n, ds in result["datasets"].items()}
        _bars(ax, result, means, per_seed=per_seed)
        ax.set_title(title)
        ax.set_xlabel("dataset")
        ax.set_ylabel(ylabel)
    axes[1].set_ylim(0, 1.3)
    axes[1].legend(fontsize=7, loc="upper center", ncol=2)
    return fig


def templates(result):
    """Each start's mean best template score (|correlation| with X, plus, lines, edges), before
    and after training."""
    datasets = list(result["datasets"])
    fig, axes = new_figure(1, len(datasets), width=5.2 * len(datasets), height=4,
                           title="Do the filters look like hand-made templates?")
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, datasets):
        starts = result["datasets"][name]["starts"]
        xs = np.arange(len(starts))
        before = [r["mean_best_score_before"] for r in starts.values()]
        after = [r["mean_best_score_after"] for r in starts.values()]
        ax.bar(xs - 0.2, before, 0.4, color="tab:blue", alpha=0.45, label="before training")
        ax.bar(xs + 0.2, after, 0.4, color="tab:blue", label="after training")
        ax.set_xticks(xs)
        ax.set_xticklabels([s for s in starts], fontsize=8)
        ax.set_ylim(0, 1.2)
        ax.set_title(f"{name}: best |correlation| with a template, mean over filters", fontsize=9)
        ax.set_xlabel("first-layer start")
        ax.set_ylabel("template score (|Pearson r|)")
        ax.legend(fontsize=7, loc="upper right", ncol=2)
    return fig


FIGURES = {
    "prefilters_filters": filter_grid,
    "prefilters_curves": learning_curves,
    "prefilters_steps": steps_to_threshold,
    "prefilters_movement": movement,
    "prefilters_templates": templates,
}
