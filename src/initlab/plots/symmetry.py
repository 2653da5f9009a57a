"""Figures for the symmetry study: do the filters of a layer stay identical, and what does it cost?"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.symmetry import LABELS, LABELS_JA
from . import coinciding, drawn, new_figure, overlap_style

WORDS = {
    "en": {"similarity_title": "Pairwise cosine similarity of a layer's filters during training",
           "layer": "layer {layer}", "step": "training step",
           "similarity": "mean cosine similarity (1 = identical)",
           "float32": "{name}, float32", "same_as": "{name} (= {other}: the lines coincide)",
           "split_suptitle": "Do identical filters stay identical? (symmetric starts)",
           "split_series": "{name} ({precision}, worst seed)", "tolerance": "tolerance {tol:g}",
           "gap": "1 - lowest cosine similarity (0 drawn at 1e-17)",
           "split_title": "filters split when this reaches ~1", "no_symmetric": "no symmetric start in this run",
           "accuracy_suptitle": "Test accuracy: identical filters cannot learn much",
           "chance": "chance (10 classes)", "accuracy": "test accuracy (fraction correct)",
           "accuracy_title": "digits, small_cnn, {seeds} seed(s)",
           "filters_suptitle": "First-layer filters after training (first seed)",
           "tiles": "filter 1 .. {n} (3x3 weights, scaled by the row's max |w|)", "weights": "weights",
           "positive": "positive", "negative": "negative"},
    "ja": {"similarity_title": "学習中のフィルター同士のコサイン類似度(層ごと)",
           "layer": "層 {layer}", "step": "学習ステップ",
           "similarity": "平均コサイン類似度(1 = 同一)",
           "float32": "{name}(float32)", "same_as": "{name}(= {other}: 線が重なる)",
           "split_suptitle": "同一のフィルターは同一のままか?(対称な初期値)",
           "split_series": "{name}({precision}、最悪のシード)", "tolerance": "許容誤差 {tol:g}",
           "gap": "1 - 最小のコサイン類似度(0 は 1e-17 に描く)",
           "split_title": "これが ~1 に達するとフィルターは分かれる", "no_symmetric": "この実行に対称な初期値はない",
           "accuracy_suptitle": "テスト精度: 同一のフィルターはほとんど学習できない",
           "chance": "偶然の水準(10 クラス)", "accuracy": "テスト精度(正解の割合)",
           "accuracy_title": "手書き数字、small_cnn、シード {seeds} 個",
           "filters_suptitle": "学習後の第 1 層のフィルター(最初のシード)",
           "tiles": "フィルター 1 .. {n}(3x3 の重み、行の最大 |w| で割った値)", "weights": "重み",
           "positive": "正", "negative": "負"},
}
NAMES = {"en": LABELS, "ja": LABELS_JA}

COLORS = {"zeros": "tab:gray", "constant": "tab:orange", "he_normal": "tab:blue"}
FLOOR = 1e-17   # where "1 - similarity = 0" is drawn on a log axis


def _color(name, index):
    return COLORS.get(name, f"C{(index + 3) % 10}")


def _label(result, name, lang="en"):
    return NAMES[lang].get(name) or result.get("labels", {}).get(name, name)


@drawn
def similarity(result, lang):
    """One panel per measured layer: the filters' mean pairwise cosine similarity against the
    training step (mean over seeds; 1.0 = every filter identical). Curves that coincide (zeros
    and constant both stay at 1.0) are drawn in distinct styles, and the legend says so."""
    w = WORDS[lang]
    layers, steps = result["layers"], np.asarray(result["steps"])
    fig, axes = new_figure(1, len(layers), width=3.8 * len(layers), height=3.6, title=w["similarity_title"])
    axes = np.atleast_1d(axes).ravel()
    for j, (ax, layer) in enumerate(zip(axes, layers)):
        series = [(_label(result, name, lang), _color(name, i), run["similarity_mean"])
                  for i, (name, run) in enumerate((n, result["runs"][n]) for n in result["inits"])]
        series += [(w["float32"].format(name=_label(result, name, lang)), _color(name, 0), run["similarity_mean"])
                   for name, run in result.get("float32_control", {}).items()]
        _coinciding_lines(ax, steps, [(label, color, np.asarray(values, dtype=float)[:, :, j].mean(axis=0))
                                      for label, color, values in series], lang)
        ax.set_title(w["layer"].format(layer=layer))
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["similarity"])
        ax.set_ylim(-0.15, 1.08)
    axes[0].legend(fontsize=7, loc="center right")
    return fig


def _coinciding_lines(ax, steps, series, lang):
    """One line per (label, color, values), each in its own style (see `overlap_style`); a curve
    equal to an earlier one says so in the legend."""
    same = coinciding({label: values for label, _, values in series})
    for i, (label, color, values) in enumerate(series):
        if label in same:
            label = WORDS[lang]["same_as"].format(name=label, other=same[label])
        ax.plot(steps, values, color=color, label=label, **overlap_style(i, len(steps)))


@drawn
def split(result, lang):
    """How far the symmetric starts are from identical filters, 1 - lowest pairwise similarity
    over all measured layers, on a log axis (0 drawn at 1e-17), float64 and the float32 control."""
    w = WORDS[lang]
    steps = np.asarray(result["steps"])
    fig, ax = new_figure(title=w["split_suptitle"])
    any_drawn = False
    series = [(n, r, "-", "float64") for n, r in result["runs"].items() if result["summary"][n]["symmetric_start"]]
    series += [(n, r, ":", "float32") for n, r in result.get("float32_control", {}).items()]
    curves = {}
    for name, run, style, precision in series:
        gap = 1 - np.asarray(run["similarity_min"], dtype=float).min(axis=2)    # seeds x snapshots
        curves[(name, precision)] = np.maximum(gap.max(axis=0), FLOOR)
    same = coinciding(curves, atol=0)     # a log axis: only relative differences count
    for i, ((name, run, style, precision), values) in enumerate(zip(series, curves.values())):
        label = w["split_series"].format(name=_label(result, name, lang), precision=precision)
        if (name, precision) in same:     # both symmetric starts at 0 (drawn at the floor): say so
            label = w["same_as"].format(name=label, other=_label(result, same[name, precision][0], lang))
        look = {"marker": "o", "ms": 3, **overlap_style(i, len(steps))}
        if style != "-":
            look["ls"] = style
        ax.plot(steps, values, color=_color(name, i), label=label, **look)
        any_drawn = True
    tol = result.get("settings", {}).get("identical_tolerance", 1e-6)
    ax.axhline(tol, color="black", linewidth=0.8, linestyle="--", label=w["tolerance"].format(tol=tol))
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 3, 3)
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["gap"])
    ax.set_title(w["split_title"] if any_drawn else w["no_symmetric"])
    ax.legend(fontsize=7)
    return fig


@drawn
def accuracy(result, lang):
    """Test accuracy against the training step for each init (mean over seeds, band = min..max)."""
    w = WORDS[lang]
    steps = np.asarray(result["steps"])
    fig, ax = new_figure(title=w["accuracy_suptitle"])
    accs = {name: np.asarray(result["runs"][name]["test_acc"], dtype=float) for name in result["inits"]}
    series = [(_label(result, name, lang), _color(name, i), acc.mean(axis=0)) for i, (name, acc) in enumerate(accs.items())]
    series += [(w["float32"].format(name=_label(result, name, lang)), _color(name, 0),
                np.asarray(run["test_acc"], dtype=float).mean(axis=0))
               for name, run in result.get("float32_control", {}).items()]
    _coinciding_lines(ax, steps, series, lang)
    for i, (name, acc) in enumerate(accs.items()):
        if len(acc) > 1:
            ax.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=_color(name, i), alpha=0.15)
    ax.axhline(0.1, color="black", linewidth=0.8, linestyle="--", label=w["chance"])
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["accuracy"])
    ax.set_title(w["accuracy_title"].format(seeds=len(result["settings"]["seeds"])))
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    return fig


@drawn
def final_filters(result, lang):
    """The first layer's 3x3 filters after training, one row per init (first seed). Image grid:
    each row panel has a title, the axes say what the tiles are, the legend says what the colors mean."""
    w = WORDS[lang]
    inits = result["inits"]
    fig, axes = new_figure(len(inits), 1, width=6.4, height=0.8 * len(inits) + 1.0, title=w["filters_suptitle"])
    axes = np.atleast_1d(axes).ravel()
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="white")
    for ax, name in zip(axes, inits):
        weight = np.asarray(result["runs"][name]["final_filters"], dtype=float)[:, 0]
        ax.imshow(_tiles(weight), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_label(result, name, lang), fontsize=8)
        ax.set_xlabel(w["tiles"].format(n=len(weight)), fontsize=7)
        ax.set_ylabel(w["weights"], fontsize=7)
    handles = [plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap("RdBu_r")(1.0), label=w["positive"]),
               plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap("RdBu_r")(0.0), label=w["negative"])]
    axes[-1].legend(handles=handles, fontsize=7, loc="upper right", bbox_to_anchor=(1.0, -0.35), ncol=2)
    return fig


def _tiles(kernels, gap=1):
    """(n, k, k) kernels side by side, all scaled by the largest |w| (so equal ones look equal);
    NaN between tiles."""
    n, kh, kw = kernels.shape
    peak = np.abs(kernels).max()
    image = np.full((kh, n * (kw + gap) - gap), np.nan)
    for j in range(n):
        image[:, j * (kw + gap): j * (kw + gap) + kw] = kernels[j] / peak if peak > 0 else kernels[j]
    return image


FIGURES = {"symmetry_similarity": similarity, "symmetry_split": split, "symmetry_accuracy": accuracy,
           "symmetry_filters": final_filters}
