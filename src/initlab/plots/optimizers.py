"""Figures for the optimizers study: loss curves per activation and optimizer, steps to the threshold."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure
from .depth import _smooth

COLORS = {"sigmoid": "tab:orange", "tanh": "tab:green", "relu": "tab:blue"}
STYLES = {"sgd": ":", "momentum": "-", "adam": "--"}
WORDS = {
    "en": {"optimizers": {"sgd": "plain SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"},
           "ticks": {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"},
           "curves_title": "{depth}-layer plain conv nets on digits, {seeds} seeds: training loss "
                           "(each cell at the learning rate its sweep chose)",
           "cell": "{activation} (lr {lr:g})", "chance": "chance (ln 10)", "step": "step (updates)",
           "loss": "training loss (cross-entropy, nats)",
           "steps_title": "Steps until the loss is halfway from chance to the best reached ({depth} layers)",
           "budget": "budget ({cap} steps): triangles above = never",
           "cells": "activation and optimizer (SGD: plain; momentum: SGD + momentum 0.9)",
           "steps": "steps to the threshold (updates)"},
    "ja": {"optimizers": {"sgd": "素の SGD", "momentum": "SGD + モーメンタム 0.9", "adam": "Adam"},
           "ticks": {"sgd": "SGD", "momentum": "モーメンタム", "adam": "Adam"},
           "curves_title": "{depth} 層の素の畳み込みネット、手書き数字、シード {seeds} 個: 学習損失"
                           "(各セルは探索で選んだ学習率)",
           "cell": "{activation}(学習率 {lr:g})", "chance": "偶然の水準(ln 10)", "step": "ステップ(更新回数)",
           "loss": "学習損失(交差エントロピー、ナット)",
           "steps_title": "損失が偶然の水準と最良値の中間に達するまでのステップ数({depth} 層)",
           "budget": "上限({cap} ステップ): 上の三角 = 到達せず",
           "cells": "活性化関数と最適化手法(SGD: 素の SGD、モーメンタム: SGD + モーメンタム 0.9)",
           "steps": "しきい値までのステップ数(更新回数)"},
}


@drawn
def curves(result, lang):
    """Training loss per step, one panel per optimizer at the deepest depth; the median over
    seeds per activation, each seed a thin line."""
    w = WORDS[lang]
    s = result["settings"]
    depth = max(s["depths"])
    optimizers = s["optimizers"]
    fig, axes = new_figure(1, len(optimizers), width=4.4 * len(optimizers), height=3.6,
                           title=w["curves_title"].format(depth=depth, seeds=len(s["seeds"])))
    axes = np.atleast_1d(axes).ravel()
    for ax, optimizer in zip(axes, optimizers):
        for activation in s["activations"]:
            cell = result["cells"].get(f"{activation}/{optimizer}@{depth}")
            if cell is None:
                continue
            curves = [_smooth(ls, s["window"]) for ls in cell["losses"]]
            for steps, smooth in curves:
                ax.plot(steps, smooth, color=COLORS[activation], lw=0.5, alpha=0.3)
            full = [smooth for _, smooth in curves if len(smooth) == len(curves[0][1])]
            if full:
                ax.plot(curves[0][0], np.median(full, axis=0), color=COLORS[activation], lw=2,
                        label=w["cell"].format(activation=activation, lr=cell["lr"]))
        ax.axhline(result["chance_loss"], color="0.6", ls="--", lw=0.8, label=w["chance"])
        ax.set_title(w["optimizers"][optimizer])
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["loss"])
        ax.legend(fontsize=7)
    return fig


@drawn
def steps(result, lang):
    """Steps to the threshold per cell at the deepest depth; never = triangle above the budget."""
    w = WORDS[lang]
    s = result["settings"]
    depth = max(s["depths"])
    cap = s["steps"]
    fig, ax = new_figure(width=6.4, height=4.0)
    ax.set_title(w["steps_title"].format(depth=depth))
    labels = []
    for x, (activation, optimizer) in enumerate((a, o) for a in s["activations"] for o in s["optimizers"]):
        cell = result["cells"].get(f"{activation}/{optimizer}@{depth}")
        if cell is None:
            continue
        labels.append((x, f"{activation}\n{w['ticks'][optimizer]}"))     # short: nine ticks side by side
        for v in cell["steps_to_threshold"]:
            ax.plot(x, cap * 1.05 if v is None else v, "^" if v is None else "o", color=COLORS[activation],
                    ms=5, alpha=0.7)
    ax.axhline(cap, color="0.5", ls=":", lw=1, label=w["budget"].format(cap=cap))
    ax.set_xticks([x for x, _ in labels], [label for _, label in labels], fontsize=6)
    ax.set_xlabel(w["cells"])
    ax.set_ylabel(w["steps"])
    ax.legend(fontsize=7)
    return fig


FIGURES = {"optimizers_curves": curves, "optimizers_steps": steps}
