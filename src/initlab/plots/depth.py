"""Figures for the depth study: loss curves per depth, steps to the threshold, gradient at init."""
from __future__ import annotations

import numpy as np

from . import new_figure

COLORS = {"glorot": "tab:red", "he": "tab:blue", "orthogonal": "tab:green", "delta_orthogonal": "tab:purple"}
LABELS = {"glorot": "Glorot (ReLU)", "he": "He (ReLU)", "orthogonal": "orthogonal x sqrt2 (ReLU)",
          "delta_orthogonal": "delta-orthogonal (tanh, critical)"}


def _smooth(losses, window):
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < window:
        return np.arange(1, len(losses) + 1), losses
    return np.arange(window, len(losses) + 1), np.convolve(losses, np.ones(window) / window, mode="valid")


def curves(result):
    """Training loss (trailing mean of `window` steps) per step over the whole budget, one panel
    per depth: each seed a thin line, the median over seeds bold, the depth's threshold dotted."""
    s = result["settings"]
    depths = result["depths"]
    fig, axes = new_figure(1, len(depths), width=4.6 * len(depths), height=3.8,
                           title=f"Deep plain ConvNets on digits (width {s['width']}, SGD + momentum, "
                                 f"{len(s['seeds'])} seeds): training loss")
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
                ax.plot(curves[0][0], np.median(full, axis=0), color=color, lw=2, label=LABELS.get(r["init"], r["init"]))
        threshold = result["thresholds"][str(depth)]
        if threshold is not None:
            ax.axhline(threshold, color="0.3", ls=":", lw=1, label=f"threshold {threshold:.2f}")
        ax.axhline(result["chance_loss"], color="0.6", ls="--", lw=0.8, label=f"chance (ln 10 = {result['chance_loss']:.2f})")
        rates = sorted({r["lr"] for r in result["runs"].values() if r["depth"] == depth})
        ax.set_title(f"{depth} layers (lr {', '.join(f'{v:.2g}' for v in rates)})")
        ax.set_xlabel("step (SGD updates)")
        ax.set_ylabel("training loss (cross-entropy, nats)")
    axes[-1].legend(fontsize=7)
    return fig


def steps(result):
    """Steps to reach the depth's threshold against depth, per init and seed; never = triangle."""
    s = result["settings"]
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title("Steps until the loss is halfway from chance to the best reached")
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
        ax.plot(xs, medians, "-", color=COLORS.get(name), label=LABELS.get(name, name))
    ax.axhline(cap, color="0.5", ls=":", lw=1, label=f"budget ({cap} steps): triangles above = never")
    ax.set_xlabel("depth (conv layers)")
    ax.set_ylabel("steps to the threshold (SGD updates)")
    ax.legend(fontsize=7)
    return fig


def gradients(result):
    """Glorot/He ratio of the first layer's gradient at init vs depth (independent draws, each
    seed a dot), with 2^(-(L-1)/2)."""
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title("Gradient reaching the first layer at init: Glorot / He")
    ratios = result["grad_ratio"]
    depths = sorted(int(d) for d in ratios)
    line = np.linspace(min(depths), max(depths), 100)
    ax.plot(line, 2.0 ** (-(line - 1) / 2), "k--", lw=1, label="theory 2^(-(L-1)/2)")
    for d in depths:
        r = ratios[str(d)]
        ax.plot([d - 0.15] * len(r["ratio"]), r["ratio"], "o", color="tab:red", ms=4, alpha=0.7,
                label="first layer's weight gradient" if d == depths[0] else None)
        ax.plot([d + 0.15] * len(r["ratio_normalized"]), r["ratio_normalized"], "x", color="tab:blue", ms=6,
                label="divided by the top layer's (head and loss removed)" if d == depths[0] else None)
    ax.set_yscale("log")
    ax.set_xlabel("depth L (conv layers)")
    ax.set_ylabel("std ratio Glorot / He (dimensionless)")
    ax.legend(fontsize=7)
    return fig


FIGURES = {"depth_curves": curves, "depth_steps": steps, "depth_gradients": gradients}
