"""Figures for the deep study: test accuracy and the Jacobian's condition number against depth."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

COLORS = {"delta_orthogonal": "tab:purple", "gaussian": "tab:orange", "orthogonal": "tab:green",
          "he_relu": "tab:blue", "orthogonal_relu": "tab:cyan"}
WORDS = {
    "en": {"inits": {"delta_orthogonal": "delta-orthogonal (tanh, critical)", "gaussian": "Gaussian (tanh, critical)",
                     "orthogonal": "flattened orthogonal (tanh, critical)", "he_relu": "He (ReLU)",
                     "orthogonal_relu": "orthogonal x sqrt2 (ReLU)"},
           "title": "Vanilla conv nets from {low} to {high} layers on digits ({seeds} seeds, Adam, {steps} steps)",
           "chance": "chance", "depth": "depth (conv layers)", "accuracy_title": "test accuracy after training",
           "accuracy": "test accuracy (fraction)", "jacobian_title": "input-output Jacobian at init",
           "condition": "condition number (largest / smallest singular value)"},
    "ja": {"inits": {"delta_orthogonal": "デルタ直交(tanh、臨界)", "gaussian": "ガウス分布(tanh、臨界)",
                     "orthogonal": "平坦化した直交行列(tanh、臨界)", "he_relu": "He(ReLU)",
                     "orthogonal_relu": "直交行列 x sqrt2(ReLU)"},
           "title": "{low} 層から {high} 層の素の畳み込みネット、手書き数字(シード {seeds} 個、Adam、{steps} ステップ)",
           "chance": "偶然の水準", "depth": "深さ(畳み込み層の数)", "accuracy_title": "学習後のテスト精度",
           "accuracy": "テスト精度(割合)", "jacobian_title": "初期化時の入出力ヤコビ行列",
           "condition": "条件数(最大特異値 / 最小特異値)"},
}


@drawn
def scaling(result, lang):
    """Left: test accuracy vs depth (median and every seed); right: the Jacobian's condition
    number at init vs depth (log scale)."""
    w = WORDS[lang]
    s = result["settings"]
    fig, axes = new_figure(1, 2, width=11, height=4.2,
                           title=w["title"].format(low=min(s["depths"]), high=max(s["depths"]), seeds=len(s["seeds"]),
                                                   steps=s["steps"]))
    left, right = np.atleast_1d(axes).ravel()
    for init in s["inits"]:
        runs = sorted((r for r in result["runs"].values() if r["init"] == init), key=lambda r: r["depth"])
        depths = [r["depth"] for r in runs]
        for r in runs:
            left.plot([r["depth"]] * len(r["accuracy"]), r["accuracy"], "o", color=COLORS[init], ms=3, alpha=0.4)
            right.plot([r["depth"]] * len(r["condition"]), r["condition"], "o", color=COLORS[init], ms=3, alpha=0.4)
        name = w["inits"].get(init, init)
        left.plot(depths, [np.median(r["accuracy"]) for r in runs], "-", color=COLORS[init], label=name)
        right.plot(depths, [np.median(r["condition"]) for r in runs], "-", color=COLORS[init], label=name)
    left.axhline(result["chance"], color="0.6", ls="--", lw=0.8, label=w["chance"])
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel(w["depth"])
    left.set_title(w["accuracy_title"])
    left.set_ylabel(w["accuracy"])
    right.set_title(w["jacobian_title"])
    right.set_yscale("log")
    right.set_ylabel(w["condition"])
    left.legend(fontsize=7)
    return fig


FIGURES = {"deep_scaling": scaling}
