"""Figures for the prefilters study: where random, hand-made and data-driven first layers go."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..claims.prefilters import LABELS_JA
from . import drawn, new_figure

COLORS = {"he": "tab:gray", "he_unit": "tab:brown", "hand": "tab:orange", "kmeans": "tab:blue",
          "pca": "tab:green"}


WORDS = {
    "en": {"starts": {}, "datasets": {}, "short": {},
           "grid_title": "First-layer filters before (top row) and after (bottom row) training (seed {seed})",
           "panel": "{data}: {start}", "filters": "filter 1 .. {n} (each scaled to its max |w|)",
           "before_after": "before / after", "top": "top row: step 0 (the start)",
           "bottom": "bottom row: after training ({steps} steps)",
           "curves_title": "Learning curves from each first-layer start", "threshold": "threshold {value:.0%}",
           "curves_panel": "{data} (mean over {seeds} seed(s), band = min..max)",
           "step": "training step (mini-batches)", "val_acc": "validation accuracy (fraction)",
           "steps_suptitle": "How soon does each start reach the threshold accuracy?",
           "never": "a seed that never got there (at the end + 1)", "threshold_item": "{data} {value:.0%}",
           "steps_title": "steps to validation accuracy >= threshold ({thresholds}); bars: median over {seeds} seeds; "
                          "fewer is faster",
           "dataset": "dataset", "train_steps": "training steps (mini-batches)",
           "movement_title": "How far do the first-layer filters move in training?",
           "change_title": "relative change of the layer", "change": "||W_end - W_0|| / ||W_0|| (ratio)",
           "kept_title": "direction kept by each filter", "kept": "cosine(filter at end, filter at start)",
           "templates_title": "Do the filters look like hand-made templates?",
           "before": "before training", "after": "after training",
           "templates_panel": "{data}: best |correlation| with a template, mean over filters",
           "start": "first-layer start", "score": "template score (|Pearson r|)"},
    "ja": {"starts": LABELS_JA, "datasets": {"shapes": "図形", "digits": "手書き数字"},
           "short": {"he": "He", "hand": "手作り", "kmeans": "k-means", "pca": "PCA"},
           "grid_title": "学習前(上の行)と学習後(下の行)の第 1 層のフィルター(シード {seed})",
           "panel": "{data}: {start}", "filters": "フィルター 1 .. {n}(それぞれ最大 |w| で割った値)",
           "before_after": "学習前 / 学習後", "top": "上の行: ステップ 0(初期値)",
           "bottom": "下の行: 学習後({steps} ステップ)",
           "curves_title": "第 1 層の初期値ごとの学習曲線", "threshold": "しきい値 {value:.0%}",
           "curves_panel": "{data}(シード {seeds} 個の平均、帯 = 最小〜最大)",
           "step": "学習ステップ(ミニバッチ)", "val_acc": "検証精度(割合)",
           "steps_suptitle": "各初期値はどれだけ早くしきい値の精度に達するか?",
           "never": "到達しなかったシード(最後 + 1 に描く)", "threshold_item": "{data} {value:.0%}",
           "steps_title": "検証精度がしきい値に達するまでのステップ数({thresholds})。棒: シード {seeds} 個の中央値。"
                          "少ないほど速い",
           "dataset": "データセット", "train_steps": "学習ステップ数(ミニバッチ)",
           "movement_title": "第 1 層のフィルターは学習でどれだけ動くか?",
           "change_title": "層の相対変化", "change": "||W_end - W_0|| / ||W_0||(比)",
           "kept_title": "各フィルターが保った向き", "kept": "コサイン(学習後のフィルター, 初期のフィルター)",
           "templates_title": "フィルターは手作りのテンプレートに似ているか?",
           "before": "学習前", "after": "学習後",
           "templates_panel": "{data}: テンプレートとの最大の |相関|(フィルターの平均)",
           "start": "第 1 層の初期値", "score": "テンプレートとの一致度(|ピアソンの r|)"},
}


def _color(start):
    return COLORS.get(start, None)


def _label(result, start, lang="en"):
    return WORDS[lang]["starts"].get(start) or result.get("labels", {}).get(start, start)


def _data(name, lang):
    return WORDS[lang]["datasets"].get(name, name)


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


@drawn
def filter_grid(result, lang):
    """One panel per (start, dataset): the first-layer filters before (top row) and after
    (bottom row) training, first seed."""
    w = WORDS[lang]
    seed = result["settings"]["seeds"][0]
    datasets = list(result["datasets"])
    starts = list(result["starts"])
    fig, axes = new_figure(len(starts), len(datasets), width=5.2 * len(datasets), height=1.9 * len(starts) + 1,
                           title=w["grid_title"].format(seed=seed))
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
            ax.set_title(w["panel"].format(data=_data(name, lang), start=_label(result, start, lang)), fontsize=8)
            ax.set_xlabel(w["filters"].format(n=np.shape(r["filters_before"])[1]), fontsize=7)
            ax.set_ylabel(w["before_after"], fontsize=7)
    steps = result["datasets"][datasets[0]]["steps"][-1]
    handles = [plt.Line2D([], [], linestyle="none", label=w["top"]),
               plt.Line2D([], [], linestyle="none", label=w["bottom"].format(steps=steps))]
    axes[0, 0].legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.12), ncol=2, fontsize=7,
                      handlelength=0, frameon=False)
    return fig


@drawn
def learning_curves(result, lang):
    """Validation accuracy against training step for each start (mean over seeds, band = min..max)."""
    w = WORDS[lang]
    datasets = list(result["datasets"])
    fig, axes = new_figure(1, len(datasets), width=5.2 * len(datasets), height=4, title=w["curves_title"])
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, datasets):
        ds = result["datasets"][name]
        steps = np.asarray(ds["steps"])
        for start, r in ds["starts"].items():
            acc = np.asarray(r["val_acc"], dtype=float)
            ax.plot(steps, acc.mean(axis=0), color=_color(start), label=_label(result, start, lang))
            if len(acc) > 1:
                ax.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=_color(start), alpha=0.15)
        ax.axhline(ds["threshold"], color="k", linestyle="--", linewidth=0.8,
                   label=w["threshold"].format(value=ds["threshold"]))
        ax.set_title(w["curves_panel"].format(data=_data(name, lang), seeds=len(acc)))
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["val_acc"])
        ax.set_ylim(0, 1.02)
        ax.legend(loc="lower right", fontsize=7)
    return fig


def _bars(ax, result, values_by_dataset, lang, *, per_seed=None, never=None):
    """Grouped bars: one group per dataset, one bar per start; dots for per-seed values, and
    triangles for the seeds `never` marks (never reached the threshold)."""
    datasets = list(values_by_dataset)
    starts = list(result["starts"])
    width = 0.8 / len(starts)
    for k, start in enumerate(starts):
        xs = np.arange(len(datasets)) + (k - (len(starts) - 1) / 2) * width
        ax.bar(xs, [values_by_dataset[d][start] for d in datasets], width, color=_color(start),
               label=_label(result, start, lang))
        if per_seed:
            for x, d in zip(xs, datasets):
                seeds = np.asarray(per_seed[d][start], dtype=float)
                missed = np.asarray(never[d][start], dtype=bool) if never else np.zeros(len(seeds), bool)
                ax.plot(np.full((~missed).sum(), x), seeds[~missed], "k.", markersize=3)
                ax.plot(np.full(missed.sum(), x), seeds[missed], "k^", markersize=5)
    ax.set_xticks(np.arange(len(datasets)))
    ax.set_xticklabels([_data(d, lang) for d in datasets])


@drawn
def steps_to_threshold(result, lang):
    """Steps to reach the threshold accuracy per start (bar: median over seeds, a seed that never
    reached it counted as slower than all; dots: seeds; a seed that never reached it is a
    triangle one step past the end of training)."""
    w = WORDS[lang]
    fig, ax = new_figure(width=6.4, height=4, title=w["steps_suptitle"])
    medians, seeds, never = {}, {}, {}
    for name, ds in result["datasets"].items():
        last = ds["budget"]
        seeds[name] = {s: [last + 1 if v is None else v for v in r["steps_to_threshold"]]
                       for s, r in ds["starts"].items()}
        never[name] = {s: [v is None for v in r["steps_to_threshold"]] for s, r in ds["starts"].items()}
        medians[name] = {s: float(np.median(v)) for s, v in seeds[name].items()}
    _bars(ax, result, medians, lang, per_seed=seeds, never=never)
    if any(any(flags) for by_start in never.values() for flags in by_start.values()):
        ax.plot([], [], "k^", markersize=5, label=w["never"])
    thresholds = ", ".join(w["threshold_item"].format(data=_data(n, lang), value=ds["threshold"])
                           for n, ds in result["datasets"].items())
    ax.set_title(w["steps_title"].format(thresholds=thresholds, seeds=len(result["settings"]["seeds"])), fontsize=8)
    ax.set_xlabel(w["dataset"])
    ax.set_ylabel(w["train_steps"])
    ax.legend(fontsize=7)
    return fig


@drawn
def movement(result, lang):
    """How far the first-layer filters move: ||W_end - W_0|| / ||W_0|| and the mean cosine of
    each filter to its start (1 = same direction); bars: mean over seeds, dots: seeds."""
    w = WORDS[lang]
    fig, axes = new_figure(1, 2, width=10, height=4, title=w["movement_title"])
    axes = axes.ravel()
    for ax, key, seed_key, title, ylabel in (
        (axes[0], "mean_relative_change", "relative_change", w["change_title"], w["change"]),
        (axes[1], "mean_cosine_to_start", "mean_cosine", w["kept_title"], w["kept"]),
    ):
        means = {n: {s: r[key] for s, r in ds["starts"].items()} for n, ds in result["datasets"].items()}
        per_seed = {n: {s: r[seed_key] for s, r in ds["starts"].items()} for n, ds in result["datasets"].items()}
        _bars(ax, result, means, lang, per_seed=per_seed)
        ax.set_title(title)
        ax.set_xlabel(w["dataset"])
        ax.set_ylabel(ylabel)
    axes[1].set_ylim(0, 1.3)
    axes[1].legend(fontsize=7, loc="upper center", ncol=2)
    return fig


@drawn
def templates(result, lang):
    """Each start's mean best template score (|correlation| with X, plus, lines, edges), before
    and after training."""
    w = WORDS[lang]
    datasets = list(result["datasets"])
    fig, axes = new_figure(1, len(datasets), width=5.2 * len(datasets), height=4, title=w["templates_title"])
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, datasets):
        starts = result["datasets"][name]["starts"]
        xs = np.arange(len(starts))
        before = [r["mean_best_score_before"] for r in starts.values()]
        after = [r["mean_best_score_after"] for r in starts.values()]
        ax.bar(xs - 0.2, before, 0.4, color="tab:blue", alpha=0.45, label=w["before"])
        ax.bar(xs + 0.2, after, 0.4, color="tab:blue", label=w["after"])
        ax.set_xticks(xs)
        ax.set_xticklabels([w["short"].get(s, s) for s in starts], fontsize=8)
        ax.set_ylim(0, 1.2)
        ax.set_title(w["templates_panel"].format(data=_data(name, lang)), fontsize=9)
        ax.set_xlabel(w["start"])
        ax.set_ylabel(w["score"])
        ax.legend(fontsize=7, loc="upper right", ncol=2)
    return fig


FIGURES = {
    "prefilters_filters": filter_grid,
    "prefilters_curves": learning_curves,
    "prefilters_steps": steps_to_threshold,
    "prefilters_movement": movement,
    "prefilters_templates": templates,
}
