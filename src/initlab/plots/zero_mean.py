"""Figures for the zero-mean study: same variance, different mean: the drift and what it costs."""
from __future__ import annotations

import numpy as np

from ..experiments.zero_mean import random_sign_fraction
from . import drawn, new_figure

COLORS = {"centred": "tab:blue", "shifted": "tab:red"}
WORDS = {
    "en": {"centred": "centred U(-a, a)", "shifted": "shifted U(-a + {shift:g}a, a + {shift:g}a)",
           "shifted_one": "shifted U(0, 2a)",
           "activations_title": "At init: same variance, different mean (deep plain ReLU stack, digits)",
           "predicted": "predicted x{factor:.3g} per layer (s a C lambda)",
           "grows": "mean activation grows geometrically when E[w] > 0", "layer": "conv layer (depth)",
           "mean_relu": "mean ReLU output (input units, log)", "half": "half the units",
           "fire_title": "fraction of units that fire (pre-activation > 0)", "active": "fraction of units active",
           "training_title": "Training a {depth}-layer plain CNN from each init ({seeds} seed(s), SGD lr {lr:g})",
           "chance_ln": "chance: ln {classes}", "loss_title": "training loss (running mean of {window} steps)",
           "step": "training step", "loss_log": "cross-entropy (nats, log)", "chance": "chance",
           "accuracy_title": "test accuracy", "accuracy": "test accuracy (fraction correct)",
           "weights_suptitle": "The two initial weight distributions (second conv layer)",
           "weights_item": "{name}: mean {mean:+.3f}, std {std:.3f}",
           "weights_title": "a = sqrt(6 / fan_in) = {bound:.3f}; variance a^2/3 for both",
           "weight": "weight value", "density": "density (1 / weight unit)",
           "sweep_suptitle": "Where the drift sets in ({layers}-layer plain ReLU stack at init)",
           "measured": "measured (dots: seeds, line: median)", "no_padding": "s sqrt(6 fan_in) (no padding) = s / {value:.3g}",
           "centred_median": "centred (s = 0), median {value:.3g}", "onset": "onset s_c = {value:.3g}",
           "shift": "shift s (mean of the weights in units of a = sqrt(6 / fan_in))",
           "growth": "growth of the mean ReLU output per layer (x)",
           "sweep_title": "the mean is multiplied by s / s_c per layer once s >> s_c",
           "inputs": {"pixels": "pixels in [0, 1]", "centred": "centred pixels", "standardized": "standardized"},
           "inputs_title": "Centred inputs (LeCun et al. 1998): the same centred init and batches, {seeds} seeds",
           "threshold": "threshold {value:.2f}", "loss": "cross-entropy (nats)",
           "sided_title": "first layer at init: how one-sided each unit is",
           "sided": "|mean| / std of a unit's pre-activation",
           "sign_title": "first layer's weight gradient: one sign?",
           "sign": "share of a unit's entries with the majority sign", "input_axis": "inputs",
           "random_signs": "independent random signs ({value:.3f})", "one_sign": "all one sign"},
    "ja": {"centred": "中心化 U(-a, a)", "shifted": "ずらした U(-a + {shift:g}a, a + {shift:g}a)",
           "shifted_one": "ずらした U(0, 2a)",
           "activations_title": "初期化時: 分散は同じで平均が違う(深い素の ReLU の層、手書き数字)",
           "predicted": "予測: 1 層ごとに x{factor:.3g}(s a C lambda)",
           "grows": "E[w] > 0 なら平均の活性化は等比級数的に増える", "layer": "畳み込み層(深さ)",
           "mean_relu": "ReLU の出力の平均(入力の単位、対数)", "half": "ユニットの半分",
           "fire_title": "発火するユニットの割合(活性化前 > 0)", "active": "活性なユニットの割合",
           "training_title": "各初期値から {depth} 層の素の CNN を学習(シード {seeds} 個、SGD 学習率 {lr:g})",
           "chance_ln": "偶然の水準: ln {classes}", "loss_title": "学習損失({window} ステップの移動平均)",
           "step": "学習ステップ", "loss_log": "交差エントロピー(ナット、対数)", "chance": "偶然の水準",
           "accuracy_title": "テスト精度", "accuracy": "テスト精度(正解の割合)",
           "weights_suptitle": "2 つの初期の重みの分布(2 番目の畳み込み層)",
           "weights_item": "{name}: 平均 {mean:+.3f}、標準偏差 {std:.3f}",
           "weights_title": "a = sqrt(6 / fan_in) = {bound:.3f}、分散はどちらも a^2/3",
           "weight": "重みの値", "density": "密度(1 / 重みの単位)",
           "sweep_suptitle": "ずれが始まるところ(初期化時の {layers} 層の素の ReLU の層)",
           "measured": "測定値(点: シード、線: 中央値)", "no_padding": "s sqrt(6 fan_in)(パディングなし)= s / {value:.3g}",
           "centred_median": "中心化(s = 0)、中央値 {value:.3g}", "onset": "始まり s_c = {value:.3g}",
           "shift": "ずらし量 s(重みの平均、a = sqrt(6 / fan_in) 単位)",
           "growth": "1 層あたりの ReLU 出力の平均の増加率(倍)",
           "sweep_title": "s >> s_c になると平均は 1 層ごとに s / s_c 倍になる",
           "inputs": {"pixels": "[0, 1] のピクセル", "centred": "中心化したピクセル", "standardized": "標準化"},
           "inputs_title": "中心化した入力(LeCun ら 1998): 同じ中心化した初期値とバッチ、シード {seeds} 個",
           "threshold": "しきい値 {value:.2f}", "loss": "交差エントロピー(ナット)",
           "sided_title": "初期化時の第 1 層: 各ユニットがどれだけ片側に偏るか",
           "sided": "ユニットの活性化前の |平均| / 標準偏差",
           "sign_title": "第 1 層の重みの勾配: 符号は揃うか?",
           "sign": "ユニットの要素のうち多数派の符号の割合", "input_axis": "入力",
           "random_signs": "独立なランダムな符号({value:.3f})", "one_sign": "すべて同じ符号"},
}


def _label(result, name, lang="en"):
    w = WORDS[lang]
    shift = result["settings"]["shift"]
    if name == "centred":
        return w["centred"]
    if name == "shifted":
        return w["shifted_one"] if shift == 1 else w["shifted"].format(shift=shift)
    return result.get("labels", {}).get(name, name)


def _running_mean(values, window):
    """Mean over the last `window` steps (fewer at the start), NaN/inf ignored."""
    values = np.where(np.isfinite(values), values, np.nan)
    out = np.empty_like(values)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1): i + 1]
        out[i] = np.nanmean(chunk) if np.isfinite(chunk).any() else np.nan
    return out


@drawn
def activations(result, lang):
    """Left: the mean ReLU output per layer at init (log axis; mean over seeds, band = min..max),
    with the predicted growth for the shifted init. Right: the fraction of units that fire."""
    w = WORDS[lang]
    layers = np.asarray(result["layers"])
    fig, axes = new_figure(1, 2, width=10.5, height=3.8, title=w["activations_title"])
    ax, ax2 = axes[0]
    for name in [n for n in ("centred", "shifted") if n in result["propagation"]]:
        p = result["propagation"][name]
        post = np.abs(np.asarray(p["post_mean"], dtype=float))
        color = COLORS.get(name)
        ax.plot(layers, post.mean(axis=0), marker="o", markersize=3, color=color, label=_label(result, name, lang))
        if len(post) > 1:
            ax.fill_between(layers, post.min(axis=0), post.max(axis=0), color=color, alpha=0.15)
        active = np.asarray(p["active"], dtype=float)
        ax2.plot(layers, active.mean(axis=0), marker="o", markersize=3, color=color,
                 label=_label(result, name, lang))
        if name == "shifted" and np.all(post > 0):
            start = post.mean(axis=0)[0]
            factor = result["settings"]["shift"] * result["theory"]["factor_per_unit_shift"]
            # black and on top: where the measurement follows the prediction, both stay visible
            ax.plot(layers, start * factor ** (layers - 1.0), color="black", linestyle="--", linewidth=1.0,
                    zorder=3, label=w["predicted"].format(factor=factor))
    ax.set_yscale("log")
    ax.set_title(w["grows"])
    ax.set_xlabel(w["layer"])
    ax.set_ylabel(w["mean_relu"])
    ax.legend(fontsize=7)
    ax2.axhline(0.5, color="black", linewidth=0.8, linestyle=":", label=w["half"])
    ax2.set_ylim(0, 1.05)
    ax2.set_title(w["fire_title"])
    ax2.set_xlabel(w["layer"])
    ax2.set_ylabel(w["active"])
    ax2.legend(fontsize=7)
    return fig


@drawn
def training(result, lang):
    """Left: the training loss per step (running mean over 10 steps, log axis; mean over seeds).
    Right: the test accuracy every few steps (mean over seeds, band = min..max)."""
    w = WORDS[lang]
    settings = result["settings"]
    fig, axes = new_figure(1, 2, width=10.5, height=3.8,
                           title=w["training_title"].format(depth=settings["train_depth"], seeds=len(settings["seeds"]),
                                                            lr=settings["lr"]))
    ax, ax2 = axes[0]
    steps = np.asarray(result["steps"])
    classes = settings.get("num_classes", 10)
    chance = np.log(classes)
    for name in result["training"]:
        t = result["training"][name]
        loss = np.asarray(t["loss"], dtype=float)
        with np.errstate(all="ignore"):
            curve = np.nanmean(np.where(np.isfinite(loss), loss, np.nan), axis=0)
        ax.plot(np.arange(1, len(curve) + 1), _running_mean(curve, 10), color=COLORS.get(name),
                label=_label(result, name, lang))
        acc = np.asarray(t["test_acc"], dtype=float)
        ax2.plot(steps, acc.mean(axis=0), color=COLORS.get(name), label=_label(result, name, lang))
        if len(acc) > 1:
            ax2.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=COLORS.get(name), alpha=0.15)
    ax.axhline(chance, color="black", linewidth=0.8, linestyle=":", label=w["chance_ln"].format(classes=classes))
    ax.set_yscale("log")
    ax.set_title(w["loss_title"].format(window=10))
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["loss_log"])
    ax.legend(fontsize=7)
    ax2.axhline(1 / classes, color="black", linewidth=0.8, linestyle=":", label=w["chance"])
    ax2.set_ylim(0, 1.02)
    ax2.set_title(w["accuracy_title"])
    ax2.set_xlabel(w["step"])
    ax2.set_ylabel(w["accuracy"])
    ax2.legend(fontsize=7)
    return fig


@drawn
def weights(result, lang):
    """Histograms of one layer's initial weights (the second conv layer, first seed): the same
    width (variance), the means 0 and a."""
    w = WORDS[lang]
    fig, ax = new_figure(title=w["weights_suptitle"])
    samples = {n: np.asarray(w["sample"], dtype=float) for n, w in result["weights"].items()}
    lo = min(s.min() for s in samples.values())
    hi = max(s.max() for s in samples.values())
    bins = np.linspace(lo, hi, 41)
    for name, sample in samples.items():
        stats = result["weights"][name]
        ax.hist(sample, bins=bins, color=COLORS.get(name), alpha=0.5, density=True,
                label=w["weights_item"].format(name=_label(result, name, lang), mean=stats["mean"], std=stats["std"]))
        ax.axvline(stats["mean"], color=COLORS.get(name), linestyle="--", linewidth=1)
    bound = next(iter(result["weights"].values()))["bound"]
    ax.set_title(w["weights_title"].format(bound=bound))
    ax.set_xlabel(w["weight"])
    ax.set_ylabel(w["density"])
    ax.legend(fontsize=7, loc="lower center")
    return fig


@drawn
def sweep(result, lang):
    """The per-layer growth of the mean ReLU output at init against the shift (log-log; each
    seed a dot, the median a line), with the mean-dominated line s / s_c, He's centred factor
    and the onset s_c."""
    w = WORDS[lang]
    sw, theory = result["sweep"], result["theory"]
    shifts = [s for s in sw["shifts"] if s > 0]
    fig, ax = new_figure(width=6.4, height=4.2, title=w["sweep_suptitle"].format(layers=len(result["layers"])))
    medians = []
    for s in shifts:
        values = np.asarray(sw["growth"][f"{s:g}"], dtype=float)
        ax.plot([s] * len(values), values, "o", color="tab:red", ms=3, alpha=0.6)
        medians.append(np.nanmedian(values) if np.isfinite(values).any() else np.nan)
    ax.plot(shifts, medians, "-", color="tab:red", label=w["measured"])
    line = np.geomspace(min(shifts), max(shifts), 100)
    ax.plot(line, line / theory["onset"], "k--", lw=1, label=f"s a C lambda = s / {theory['onset']:.3g}")
    ax.plot(line, line / theory["onset_no_padding"], ":", color="0.5", lw=1,
            label=w["no_padding"].format(value=theory["onset_no_padding"]))
    centred = np.asarray(sw["growth"]["0"], dtype=float)
    ax.axhline(np.nanmedian(centred), color="tab:blue", lw=1,
               label=w["centred_median"].format(value=np.nanmedian(centred)))
    ax.axvline(theory["onset"], color="0.3", lw=0.8, ls="-.", label=w["onset"].format(value=theory["onset"]))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(w["shift"])
    ax.set_ylabel(w["growth"])
    ax.set_title(w["sweep_title"])
    ax.legend(fontsize=7)
    return fig


INPUT_COLORS = {"pixels": "tab:orange", "centred": "tab:green", "standardized": "tab:blue"}


@drawn
def inputs(result, lang):
    """Left: training loss per input form (trailing mean; median over seeds bold, seeds thin),
    with the threshold. Middle: each first-layer unit's |mean| / std at init. Right: the share
    of each unit's weight-gradient entries with one sign over the first steps (seeds as dots)."""
    w = WORDS[lang]
    named = w["inputs"]
    runs = result["input_runs"]
    fig, axes = new_figure(1, 3, width=13.5, height=3.8,
                           title=w["inputs_title"].format(seeds=len(result["settings"]["seeds"])))
    ax, ax2, ax3 = axes[0]
    window = result["settings"]["window"]
    names = list(runs)
    for name in names:
        color = INPUT_COLORS.get(name)
        curves = [_running_mean(np.asarray([np.nan if v is None else v for v in loss], dtype=float), window)
                  for loss in runs[name]["loss"]]
        for curve in curves:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=color, lw=0.5, alpha=0.3)
        ax.plot(np.arange(1, len(curves[0]) + 1), np.nanmedian(curves, axis=0), color=color, lw=2,
                label=named.get(name, name))
    if result.get("inputs_threshold") is not None:
        ax.axhline(result["inputs_threshold"], color="0.3", ls=":", lw=1,
                   label=w["threshold"].format(value=result["inputs_threshold"]))
    ax.set_title(w["loss_title"].format(window=window))
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["loss"])
    ax.legend(fontsize=7)
    for axis, key, title, ylabel in ((ax2, "one_sidedness", w["sided_title"], w["sided"]),
                                     (ax3, "sign_fraction", w["sign_title"], w["sign"])):
        for i, name in enumerate(names):
            values = np.asarray(runs[name][key], dtype=float)
            axis.plot(np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)), values, "o",
                      color=INPUT_COLORS.get(name), ms=4, label=named.get(name, name))
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels([named.get(n, n) for n in names], fontsize=7)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel(w["input_axis"])
        axis.set_ylabel(ylabel)
    chance = random_sign_fraction(9)          # one input channel, 3x3 kernels (the digits)
    ax3.axhline(chance, color="0.5", ls=":", lw=1, label=w["random_signs"].format(value=chance))
    ax3.axhline(1.0, color="0.3", ls="--", lw=1, label=w["one_sign"])
    ax3.legend(fontsize=7)
    return fig


FIGURES = {"zero_mean_activations": activations, "zero_mean_sweep": sweep, "zero_mean_training": training,
           "zero_mean_weights": weights, "zero_mean_inputs": inputs}
