"""Figures for the symmetry study: do the filters of a layer stay identical, and what does it cost?"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import new_figure

COLORS = {"zeros": "tab:gray", "constant": "tab:orange", "he_normal": "tab:blue"}
FLOOR = 1e-17   # where "1 - similarity = 0" is drawn on a log axis


def _color(name, index):
    return COLORS.get(name, f"C{(index + 3) % 10}")


def _label(result, name):
    return result.get("labels", {}).get(name, name)


def similarity(result):
    """One panel per measured layer: the filters' mean pairwise cosine similarity against the
    training step (mean over seeds; 1.0 = every filter identical)."""
    layers, steps = result["layers"], np.asarray(result["steps"])
    fig, axes = new_figure(1, len(layers), width=3.8 * len(layers), height=3.6,
                           title="Pairwise cosine similarity of a layer's filters during training")
    axes = np.atleast_1d(axes).ravel()
    for j, (ax, layer) in enumerate(zip(axes, layers)):
        for i, name in enumerate(result["inits"]):
            mean = np.asarray(result["runs"][name]["similarity_mean"], dtype=float)[:, :, j].mean(axis=0)
            ax.plot(steps, mean, color=_color(name, i), label=_label(result, name))
        for name, run in result.get("float32_control", {}).items():
            mean = np.asarray(run["similarity_mean"], dtype=float)[:, :, j].mean(axis=0)
            ax.plot(steps, mean, color=_color(name, 0), linestyle=":", label=f"{_label(result, name)}, float32")
        ax.set_title(f"layer {layer}")
        ax.set_xlabel("training step")
        ax.set_ylabel("mean cosine similarity (1 = identical)")
        ax.set_ylim(-0.15, 1.08)
    axes[0].legend(fontsize=7, loc="center right")
    return fig


def split(result):
    """How far the symmetric starts are from identical filters, 1 - lowest pairwise similarity
    over all measured layers, on a log axis (0 drawn at 1e-17), float64 and the float32 control."""
    steps = np.asarray(result["steps"])
    fig, ax = new_figure(title="Do identical filters stay identical? (symmetric starts)")
    drawn = False
    series = [(n, r, "-", "float64") for n, r in result["runs"].items() if result["summary"][n]["symmetric_start"]]
    series += [(n, r, ":", "float32") for n, r in result.get("float32_control", {}).items()]
    for i, (name, run, style, precision) in enumerate(series):
        gap = 1 - np.asarray(run["similarity_min"], dtype=float).min(axis=2)    # seeds x snapshots
        ax.plot(steps, np.maximum(gap.max(axis=0), FLOOR), color=_color(name, i), linestyle=style,
                marker="o", markersize=3, label=f"{_label(result, name)} ({precision}, worst seed)")
        drawn = True
    tol = result.get("settings", {}).get("identical_tolerance", 1e-6)
    ax.axhline(tol, color="black", linewidth=0.8, linestyle="--", label=f"tolerance {tol:g}")
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 3, 3)
    ax.set_xlabel("training step")
    ax.set_ylabel("1 - lowest cosine similarity (0 drawn at 1e-17)")
    ax.set_title("filters split when this reaches ~1" if drawn else "no symmetric start in this run")
    ax.legend(fontsize=7)
    return fig


def accuracy(result):
    """Test accuracy against the training step for each init (mean over seeds, band = min..max)."""
    steps = np.asarray(result["steps"])
    fig, ax = new_figure(title="Test accuracy: identical filters cannot learn much")
    for i, name in enumerate(result["inits"]):
        acc = np.asarray(result["runs"][name]["test_acc"], dtype=float)
        ax.plot(steps, acc.mean(axis=0), color=_color(name, i), label=_label(result, name))
        if len(acc) > 1:
            ax.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=_color(name, i), alpha=0.15)
    for name, run in result.get("float32_control", {}).items():
        acc = np.asarray(run["test_acc"], dtype=float)
        ax.plot(steps, acc.mean(axis=0), color=_color(name, 0), linestyle=":", label=f"{_label(result, name)}, float32")
    ax.axhline(0.1, color="black", linewidth=0.8, linestyle="--", label="chance (10 classes)")
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (fraction correct)")
    ax.set_title(f"digits, small_cnn, {len(result['settings']['seeds'])} seed(s)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    return fig


def final_filters(result):
    """The first layer's 3x3 filters after training, one row per init (first seed). Image grid:
    each row panel has a title, the axes say what the tiles are, the legend says what the colors mean."""
    inits = result["inits"]
    fig, axes = new_figure(len(inits), 1, width=6.4, height=0.8 * len(inits) + 1.0,
                           title="First-layer filters after training (first seed)")
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
        ax.set_title(_label(result, name), fontsize=8)
        ax.set_xlabel(f"filter 1 .. {len(weight)} (3x3 weights, scaled by the row's max |w|)", fontsize=7)
        ax.set_ylabel("weights", fontsize=7)
    handles = [plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap("RdBu_r")(1.0), label="positive"),
               plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap("RdBu_r")(0.0), label="negative")]
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
