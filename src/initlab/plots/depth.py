"""Figures for the depth study: loss curves per depth, steps to the threshold, gradient at init."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

COLORS = {"glorot": "tab:red", "he": "tab:blue", "orthogonal": "tab:green", "delta_orthogonal": "tab:purple"}
WORDS = {
    "en": {"inits": {"glorot": "Glorot (ReLU)", "he": "He (ReLU)", "orthogonal": "orthogonal x sqrt2 (ReLU)",
                     "delta_orthogonal": "delta-orthogonal (tanh, critical)"},
           "curves_title": "Deep plain ConvNets on digits (width {width}, SGD + momentum, {seeds} seeds): training loss",
           "threshold": "threshold {value:.2f}", "chance": "chance (ln 10 = {value:.2f})",
           "panel": "{depth} layers (lr {rates})", "step": "step (SGD updates)",
           "loss": "training loss (cross-entropy, nats)",
           "steps_title": "Steps until the loss is halfway from chance to the best reached",
           "budget": "budget ({cap} steps): triangles above = never", "depth": "depth (conv layers)",
           "steps": "steps to the threshold (SGD updates)",
           "gradients_title": "Gradient reaching the first layer at init: Glorot / He",
           "theory": "theory 2^(-(L-1)/2)", "first": "first layer's weight gradient",
           "normalized": "divided by the top layer's (head and loss removed)", "depth_l": "depth L (conv layers)",
           "ratio": "std ratio Glorot / He (dimensionless)"},
    "ja": {"inits": {"glorot": "Glorot(ReLU)", "he": "He(ReLU)", "orthogonal": "直交行列 x sqrt2(ReLU)",
                     "delta_orthogonal": "デルタ直交(tanh、臨界)"},
           "curves_title": "深い素の畳み込みネット、手書き数字(幅 {width}、SGD + モーメンタム、シード {seeds} 個): 学習損失",
           "threshold": "しきい値 {value:.2f}", "chance": "偶然の水準(ln 10 = {value:.2f})",
           "panel": "{depth} 層(学習率 {rates})", "step": "ステップ(SGD の更新回数)",
           "loss": "学習損失(交差エントロピー、ナット)",
           "steps_title": "損失が偶然の水準と最良値の中間に達するまでのステップ数",
           "budget": "上限({cap} ステップ): 上の三角 = 到達せず", "depth": "深さ(畳み込み層の数)",
           "steps": "しきい値までのステップ数(SGD の更新回数)",
           "gradients_title": "初期化時に第 1 層に届く勾配: Glorot / He",
           "theory": "理論 2^(-(L-1)/2)", "first": "第 1 層の重みの勾配",
           "normalized": "最上層の勾配で割った値(出力層と損失を除く)", "depth_l": "深さ L(畳み込み層の数)",
           "ratio": "標準偏差の比 Glorot / He(無次元)"},
}


def _smooth(losses, window):
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < window:
        return np.arange(1, len(losses) + 1), losses
    return np.arange(window, len(losses) + 1), np.convolve(losses, np.ones(window) / window, mode="valid")


@drawn
def curves(result, lang):
    """Training loss (trailing mean of `window` steps) per step over the whole budget, one panel
    per depth: each seed a thin line, the median over seeds bold, the depth's threshold dotted."""
    w = WORDS[lang]
    s = result["settings"]
    depths = result["depths"]
    fig, axes = new_figure(1, len(depths), width=4.6 * len(depths), height=3.8,
                           title=w["curves_title"].format(width=s["width"], seeds=len(s["seeds"])))
    axes = np.atleast_1d(axes).ravel()
    for ax, depth in zip(axes, depths):
        for r in result["runs"].values():
            if r["depth"] != depth:
                continue
            color = COLORS.get(r["init"], "0.3")
            curves = [_smooth(ls, s["window"]) for ls in r["losses"]]
            for steps, smooth in curves:
                ax.plot(steps, smooth, color=color, lw=0.6, alpha=0.35)
            full = [smooth for steps, smooth in curves if len(smooth) == len(curves[0][1])]
            if full:
                ax.plot(curves[0][0], np.median(full, axis=0), color=color, lw=2, label=w["inits"].get(r["init"], r["init"]))
        threshold = result["thresholds"][str(depth)]
        if threshold is not None:
            ax.axhline(threshold, color="0.3", ls=":", lw=1, label=w["threshold"].format(value=threshold))
        ax.axhline(result["chance_loss"], color="0.6", ls="--", lw=0.8, label=w["chance"].format(value=result["chance_loss"]))
        rates = sorted({r["lr"] for r in result["runs"].values() if r["depth"] == depth})
        ax.set_title(w["panel"].format(depth=depth, rates=", ".join(f"{v:.2g}" for v in rates)))
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["loss"])
    axes[-1].legend(fontsize=7)
    return fig


@drawn
def steps(result, lang):
    """Steps to reach the depth's threshold against depth, per init and seed; never = triangle."""
    w = WORDS[lang]
    s = result["settings"]
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title(w["steps_title"])
    cap = s["steps"]
    names = list(dict.fromkeys(r["init"] for r in result["runs"].values()))
    spread = 0.08 * (max(result["depths"]) - min(result["depths"]) or 4)
    for offset, name in zip(np.linspace(-spread, spread, len(names)), names):
        xs, medians = [], []
        for depth in result["depths"]:
            r = result["runs"].get(f"{name}@{depth}")
            if r is None:
                continue
            values = r["steps_to_threshold"]
            for value in values:
                ax.plot(depth + offset, cap * 1.05 if value is None else value, "^" if value is None else "o",
                        color=COLORS.get(name), ms=5 if value is None else 4, alpha=0.7)
            xs.append(depth + offset)
            medians.append(float(np.median([cap * 1.05 if v is None else v for v in values])))
        ax.plot(xs, medians, "-", color=COLORS.get(name), label=w["inits"].get(name, name))
    ax.axhline(cap, color="0.5", ls=":", lw=1, label=w["budget"].format(cap=cap))
    ax.set_xlabel(w["depth"])
    ax.set_ylabel(w["steps"])
    ax.legend(fontsize=7)
    return fig


@drawn
def gradients(result, lang):
    """Glorot/He ratio of the first layer's gradient at init vs depth (independent draws, each
    seed a dot), with 2^(-(L-1)/2)."""
    w = WORDS[lang]
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title(w["gradients_title"])
    ratios = result["grad_ratio"]
    depths = sorted(int(d) for d in ratios)
    line = np.linspace(min(depths), max(depths), 100)
    ax.plot(line, 2.0 ** (-(line - 1) / 2), "k--", lw=1, label=w["theory"])
    for d in depths:
        r = ratios[str(d)]
        ax.plot([d - 0.15] * len(r["ratio"]), r["ratio"], "o", color="tab:red", ms=4, alpha=0.7,
                label=w["first"] if d == depths[0] else None)
        ax.plot([d + 0.15] * len(r["ratio_normalized"]), r["ratio_normalized"], "x", color="tab:blue", ms=6,
                label=w["normalized"] if d == depths[0] else None)
    ax.set_yscale("log")
    ax.set_xlabel(w["depth_l"])
    ax.set_ylabel(w["ratio"])
    ax.legend(fontsize=7)
    return fig


FIGURES = {"depth_curves": curves, "depth_steps": steps, "depth_gradients": gradients}
