"""Figures for the signal-propagation study: std per layer (measured and predicted), histograms.

Lines are the geometric mean over seeds; solid = measured, dashed = mean-field prediction.
"""
from __future__ import annotations

import numpy as np

from . import new_figure

ACT_TITLES = {"relu": "ReLU", "tanh": "tanh"}


def _colors(names):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _finite(values):
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def _profile_panel(ax, result, act, measured, predicted, colors):
    layers = result["layers"]
    for name, c in result["configs"][act].items():
        ax.plot(layers, _finite(c[measured]), "-", color=colors[name], lw=1.6, label=name)
        if predicted in c and name != "lsuv":   # LSUV's weights are fitted to the data: no prior prediction
            ax.plot(layers, _finite(c[predicted]), "--", color=colors[name], lw=1.0, alpha=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("layer (depth)")
    ax.set_title(ACT_TITLES.get(act, act))


def _profiles(result, measured, predicted, ylabel, title):
    acts = list(result["configs"])
    names = list(result["configs"][acts[0]])
    colors = _colors(names)
    fig, axes = new_figure(1, len(acts), width=5.2 * len(acts), height=4.2, title=title)
    axes = np.atleast_1d(axes).ravel()
    for ax, act in zip(axes, acts):
        _profile_panel(ax, result, act, measured, predicted, colors)
        ax.set_ylabel(ylabel)
    ax = axes[0]
    ax.plot([], [], "k--", lw=1.0, label="mean-field prediction")
    ax.legend(fontsize=7, ncol=2, loc="best")
    return fig, axes


def activations(result):
    """Std of each block's activation output vs depth, log axis, per activation; theory dashed."""
    s = result["settings"]
    fig, axes = _profiles(result, "act_std_gmean", "theory_act_std_gmean",
                          "std of the layer's output (input std = 1)",
                          f"Forward signal through a {s['depth']}-layer plain conv stack "
                          f"(width {s['width']}, {s['data']}, mean over {len(s['seeds'])} seed(s))")
    x0 = result["input_std"]
    for ax in axes:
        ax.axhspan(x0 / 2, x0 * 2, color="0.85", alpha=0.5, zorder=0, label="within 2x of the input")
    axes[-1].legend(handles=axes[-1].get_legend_handles_labels()[0][-1:], fontsize=7, loc="lower left")
    return fig


def gradients(result):
    """Std of the loss gradient reaching each block's output vs depth; theory dashed (anchored at the top)."""
    s = result["settings"]
    fig, axes = _profiles(result, "grad_std_gmean", "theory_grad_std_gmean",
                          "std of d loss / d output (loss units per unit)",
                          f"Backward signal (cross-entropy gradient) through {s['depth']} layers "
                          f"(width {s['width']})")
    return fig


def _hist_panel(ax, c, act, layer_colors):
    hist = c["hist"]
    for layer, counts, edges, std in zip(hist["layers"], hist["counts"], hist["edges"], hist["std"]):
        counts, edges = np.asarray(counts, dtype=np.float64), np.asarray(edges, dtype=np.float64)
        total = counts.sum()
        if total == 0 or not np.all(np.isfinite(edges)):
            continue
        centres = (edges[:-1] + edges[1:]) / 2
        if act != "tanh" and np.isfinite(std) and std > 0:
            centres = centres / std
        ax.plot(centres, counts / total, color=layer_colors[layer], lw=1.2, label=f"layer {layer}")


def histograms(result):
    """Histograms of the activation values at a few depths (Glorot & Bengio 2010, Figure 6)."""
    acts = list(result["configs"])
    names = list(result["configs"][acts[0]])
    layers = result["hist_layers"]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    layer_colors = {layer: cmap(i / max(1, len(layers) - 1)) for i, layer in enumerate(layers)}
    fig, axes = new_figure(len(acts), len(names), width=2.6 * len(names), height=2.6 * len(acts),
                           title="Activation histograms per layer (first seed)")
    axes = np.asarray(axes).reshape(len(acts), len(names))
    for row, act in enumerate(acts):
        for col, name in enumerate(names):
            ax = axes[row, col]
            _hist_panel(ax, result["configs"][act][name], act, layer_colors)
            ax.set_title(f"{ACT_TITLES.get(act, act)}, {name}", fontsize=8)
            ax.set_xlabel("activation value" if act == "tanh" else "value / layer std")
            ax.set_ylabel("fraction of outputs")
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=6)
    return fig


def sweep(result):
    """The width sweep: each He/ReLU net's log-variance drift per layer below mean field against
    1/width, with the fitted line -c/width (Hanin & Rolnick 2018)."""
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title("Finite width: He/ReLU nets drift below mean field")
    sweep = result.get("sweep")
    if not sweep:
        ax.text(0.5, 0.5, "width sweep skipped", ha="center", transform=ax.transAxes)
        ax.plot([], [], "o", color="tab:blue", label="one net")
    else:
        layers = result["settings"]["depth"] - 1
        widths = np.asarray(sweep["widths"], dtype=np.float64)
        per_layer = np.asarray(sweep["deviation"], dtype=np.float64) / layers
        ax.plot(1 / widths, per_layer, "o", color="tab:blue", alpha=0.6, label="one net (measured - mean field)")
        fit = sweep["fit"]
        line = np.linspace(0, 1.1 / widths.min(), 50)
        ax.plot(line, -fit["c"] * line, "k-", lw=1.2, label=f"fit -c/width, c = {fit['c']:.2f} +- {fit['c_se']:.2f}")
        ax.axhline(0, color="0.5", ls="--", lw=0.8, label="mean field (infinite width)")
    ax.set_xlabel("1 / width (1 / channels)")
    ax.set_ylabel("log-variance drift per layer (nats)")
    ax.legend(fontsize=7)
    return fig


FIGURES = {"propagate_activations": activations, "propagate_gradients": gradients,
           "propagate_histograms": histograms, "propagate_sweep": sweep}
