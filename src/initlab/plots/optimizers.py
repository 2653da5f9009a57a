"""Figures for the optimizers study: loss curves per activation and optimizer, steps to the threshold."""
from __future__ import annotations

import numpy as np

from . import new_figure
from .depth import _smooth

COLORS = {"sigmoid": "tab:orange", "tanh": "tab:green", "relu": "tab:blue"}
STYLES = {"sgd": ":", "momentum": "-", "adam": "--"}
NAMES = {"sgd": "plain SGD", "momentum": "SGD + momentum 0.9", "adam": "Adam"}


def curves(result):
    """Training loss per step, one panel per optimizer at the deepest depth; the median over
    seeds per activation, each seed a thin line."""
    s = result["settings"]
    depth = max(s["depths"])
    optimizers = s["optimizers"]
    fig, axes = new_figure(1, len(optimizers), width=4.4 * len(optimizers), height=3.6,
                           title=f"{depth}-layer plain conv nets on digits, {len(s['seeds'])} seeds: training loss "
                                 "(each cell at the learning rate its sweep chose)")
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
                        label=f"{activation} (lr {cell['lr']:g})")
        ax.axhline(result["chance_loss"], color="0.6", ls="--", lw=0.8, label="chance (ln 10)")
        ax.set_title(NAMES[optimizer])
        ax.set_xlabel("step (updates)")
        ax.set_ylabel("training loss (cross-entropy, nats)")
        ax.legend(fontsize=7)
    return fig


def steps(result):
    """Steps to the threshold per cell at the deepest depth; never = triangle above the budget."""
    s = result["settings"]
    depth = max(s["depths"])
    cap = s["steps"]
    fig, ax = new_figure(width=6.4, height=4.0)
    ax.set_title(f"Steps until the loss is halfway from chance to the best reached ({depth} layers)")
    labels = []
    for x, (activation, optimizer) in enumerate((a, o) for a in s["activations"] for o in s["optimizers"]):
        cell = result["cells"].get(f"{activation}/{optimizer}@{depth}")
        if cell is None:
            continue
        labels.append((x, f"{activation}\n{NAMES[optimizer]}"))
        for v in cell["steps_to_threshold"]:
            ax.plot(x, cap * 1.05 if v is None else v, "^" if v is None else "o", color=COLORS[activation],
                    ms=5, alpha=0.7)
    ax.axhline(cap, color="0.5", ls=":", lw=1, label=f"budget ({cap} steps): triangles above = never")
    ax.set_xticks([x for x, _ in labels], [label for _, label in labels], fontsize=6)
    ax.set_xlabel("activation and optimizer")
    ax.set_ylabel("steps to the threshold (updates)")
    ax.legend(fontsize=7)
    return fig


FIGURES = {"optimizers_curves": curves, "optimizers_steps": steps}
