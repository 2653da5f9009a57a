"""Figures for the signal-propagation study: std per layer (measured and predicted), histograms.

Lines are the geometric mean over seeds; solid = measured, dashed = mean-field prediction.
"""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

ACT_TITLES = {"relu": "ReLU", "tanh": "tanh"}
WORDS = {
    "en": {"layer_depth": "layer (depth)", "prediction": "mean-field prediction",
           "act_std": "std of the layer's output (input std = 1)",
           "act_title": "Forward signal through a {depth}-layer plain conv stack (width {width}, {data}, mean over "
                        "{seeds} seed(s))",
           "within": "within 2x of the input", "grad_std": "std of d loss / d output (loss units per unit)",
           "grad_title": "Backward signal (cross-entropy gradient) through {depth} layers (width {width})",
           "layer": "layer {layer}", "hist_title": "Activation histograms per layer (first seed)",
           "value": "activation value", "scaled": "value / layer std", "fraction": "fraction of outputs",
           "sweep_title": "Finite width: He/ReLU nets drift below mean field", "skipped": "width sweep skipped",
           "one_net": "one net", "measured": "one net (measured - mean field)",
           "fit": "fit -c/width, c = {c:.2f} +- {se:.2f}", "mean_field": "mean field (infinite width)",
           "inverse_width": "1 / width (1 / channels)", "drift": "log-variance drift per layer (nats)",
           "datasets": {}},
    "ja": {"layer_depth": "層(深さ)", "prediction": "平均場理論の予測",
           "act_std": "層の出力の標準偏差(入力の標準偏差 = 1)",
           "act_title": "{depth} 層の素の畳み込みを通る順方向の信号(幅 {width}、{data}、シード {seeds} 個の平均)",
           "within": "入力の 2 倍以内", "grad_std": "d 損失 / d 出力 の標準偏差(出力 1 単位あたりの損失の単位)",
           "grad_title": "{depth} 層を逆向きに通る信号(交差エントロピーの勾配、幅 {width})",
           "layer": "層 {layer}", "hist_title": "層ごとの活性化のヒストグラム(最初のシード)",
           "value": "活性化の値", "scaled": "値 / 層の標準偏差", "fraction": "出力の割合",
           "sweep_title": "有限の幅: He/ReLU のネットは平均場より下にずれる", "skipped": "幅の掃引は省略",
           "one_net": "ネット 1 つ", "measured": "ネット 1 つ(測定値 - 平均場)",
           "fit": "当てはめ -c/幅、c = {c:.2f} ± {se:.2f}", "mean_field": "平均場(無限の幅)",
           "inverse_width": "1 / 幅(1 / チャネル数)", "drift": "1 層あたりの対数分散のずれ(ナット)",
           "datasets": {"digits": "手書き数字", "shapes": "図形", "gaussian": "ガウス雑音"}},
}


def _colors(names):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def _finite(values):
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def _profile_panel(ax, result, act, measured, predicted, colors, lang):
    layers = result["layers"]
    for name, c in result["configs"][act].items():
        ax.plot(layers, _finite(c[measured]), "-", color=colors[name], lw=1.6, label=name)
        if predicted in c and name != "lsuv":   # LSUV's weights are fitted to the data: no prior prediction
            ax.plot(layers, _finite(c[predicted]), "--", color=colors[name], lw=1.0, alpha=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(WORDS[lang]["layer_depth"])
    ax.set_title(ACT_TITLES.get(act, act))


def _profiles(result, measured, predicted, ylabel, title, lang):
    acts = list(result["configs"])
    names = list(result["configs"][acts[0]])
    colors = _colors(names)
    fig, axes = new_figure(1, len(acts), width=5.2 * len(acts), height=4.2, title=title)
    axes = np.atleast_1d(axes).ravel()
    for ax, act in zip(axes, acts):
        _profile_panel(ax, result, act, measured, predicted, colors, lang)
        ax.set_ylabel(ylabel)
    ax = axes[0]
    ax.plot([], [], "k--", lw=1.0, label=WORDS[lang]["prediction"])
    ax.legend(fontsize=7, ncol=2, loc="best")
    return fig, axes


@drawn
def activations(result, lang):
    """Std of each block's activation output vs depth, log axis, per activation; theory dashed."""
    w = WORDS[lang]
    s = result["settings"]
    fig, axes = _profiles(result, "act_std_gmean", "theory_act_std_gmean", w["act_std"],
                          w["act_title"].format(depth=s["depth"], width=s["width"],
                                                data=w["datasets"].get(s["data"], s["data"]), seeds=len(s["seeds"])),
                          lang)
    x0 = result["input_std"]
    for ax in axes:
        ax.axhspan(x0 / 2, x0 * 2, color="0.85", alpha=0.5, zorder=0, label=w["within"])
    axes[-1].legend(handles=axes[-1].get_legend_handles_labels()[0][-1:], fontsize=7, loc="lower left")
    return fig


@drawn
def gradients(result, lang):
    """Std of the loss gradient reaching each block's output vs depth; theory dashed (anchored at the top)."""
    w = WORDS[lang]
    s = result["settings"]
    fig, axes = _profiles(result, "grad_std_gmean", "theory_grad_std_gmean", w["grad_std"],
                          w["grad_title"].format(depth=s["depth"], width=s["width"]), lang)
    return fig


def _hist_panel(ax, c, act, layer_colors, lang):
    hist = c["hist"]
    for layer, counts, edges, std in zip(hist["layers"], hist["counts"], hist["edges"], hist["std"]):
        counts, edges = np.asarray(counts, dtype=np.float64), np.asarray(edges, dtype=np.float64)
        total = counts.sum()
        if total == 0 or not np.all(np.isfinite(edges)):
            continue
        centres = (edges[:-1] + edges[1:]) / 2
        if act != "tanh" and np.isfinite(std) and std > 0:
            centres = centres / std
        ax.plot(centres, counts / total, color=layer_colors[layer], lw=1.2,
                label=WORDS[lang]["layer"].format(layer=layer))


@drawn
def histograms(result, lang):
    """Histograms of the activation values at a few depths (Glorot & Bengio 2010, Figure 6)."""
    w = WORDS[lang]
    acts = list(result["configs"])
    names = list(result["configs"][acts[0]])
    layers = result["hist_layers"]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    layer_colors = {layer: cmap(i / max(1, len(layers) - 1)) for i, layer in enumerate(layers)}
    fig, axes = new_figure(len(acts), len(names), width=2.6 * len(names), height=2.6 * len(acts),
                           title=w["hist_title"])
    axes = np.asarray(axes).reshape(len(acts), len(names))
    for row, act in enumerate(acts):
        for col, name in enumerate(names):
            ax = axes[row, col]
            _hist_panel(ax, result["configs"][act][name], act, layer_colors, lang)
            ax.set_title(f"{ACT_TITLES.get(act, act)}, {name}", fontsize=8)
            ax.set_xlabel(w["value"] if act == "tanh" else w["scaled"])
            ax.set_ylabel(w["fraction"])
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=6)
    return fig


@drawn
def sweep(result, lang):
    """The width sweep: each He/ReLU net's log-variance drift per layer below mean field against
    1/width, with the fitted line -c/width (Hanin & Rolnick 2018)."""
    w = WORDS[lang]
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title(w["sweep_title"])
    sweep = result.get("sweep")
    if not sweep:
        ax.text(0.5, 0.5, w["skipped"], ha="center", transform=ax.transAxes)
        ax.plot([], [], "o", color="tab:blue", label=w["one_net"])
    else:
        layers = result["settings"]["depth"] - 1
        widths = np.asarray(sweep["widths"], dtype=np.float64)
        per_layer = np.asarray(sweep["deviation"], dtype=np.float64) / layers
        ax.plot(1 / widths, per_layer, "o", color="tab:blue", alpha=0.6, label=w["measured"])
        fit = sweep["fit"]
        line = np.linspace(0, 1.1 / widths.min(), 50)
        ax.plot(line, -fit["c"] * line, "k-", lw=1.2, label=w["fit"].format(c=fit["c"], se=fit["c_se"]))
        ax.axhline(0, color="0.5", ls="--", lw=0.8, label=w["mean_field"])
    ax.set_xlabel(w["inverse_width"])
    ax.set_ylabel(w["drift"])
    ax.legend(fontsize=7)
    return fig


FIGURES = {"propagate_activations": activations, "propagate_gradients": gradients,
           "propagate_histograms": histograms, "propagate_sweep": sweep}
