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
    """Training loss (mean of the last `window` steps) per step, one panel per depth, every seed."""
    s = result["settings"]
    depths = result["depths"]
    fig, axes = new_figure(1, len(depths), width=4.6 * len(depths), height=3.8,
                           title=f"Deep plain ConvNets on digits (width {s['width']}, SGD + momentum): "
                                 "training loss (He et al. 2015, Fig. 3)")
    axes = np.atleast_1d(axes).ravel()
    for ax, depth in zip(axes, depths):
        for key, r in result["runs"].items():
            if r["depth"] != depth:
                continue
            name = key.split("@")[0]
            for i, (losses, reached) in enumerate(zip(r["losses"], r["steps_to_threshold"])):
                steps, smooth = _smooth(losses, s["window"])
                ax.plot(steps, smooth, color=COLORS.get(name, "0.3"), lw=1.3, alpha=0.85,
                        label=LABELS.get(name, name) if i == 0 else None)
                if reached is not None:
                    ax.plot([reached], [s["threshold"]], "o", color=COLORS.get(name, "0.3"), ms=4)
        ax.axhline(s["threshold"], color="0.4", ls=":", lw=1, label=f"threshold {s['threshold']:g}")
        rates = sorted({r["lr"] for r in result["runs"].values() if r["depth"] == depth})
        ax.set_title(f"{depth} layers (lr {', '.join(f'{v:.2g}' for v in rates)})")
        ax.set_xlabel("step (SGD updates)")
        ax.set_ylabel("training loss (cross-entropy, nats)")
    axes[-1].legend(fontsize=7)
    return fig


def steps(result):
    """Steps to reach the loss threshold against depth, per init; never reached = triangle at the cap."""
    s = result["settings"]
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title(f"Steps until the loss falls below {s['threshold']:g} (each dot a seed)")
    cap = s["steps"]
    names = list(result["inits"]) + (["delta_orthogonal"] if "critical" in result else [])
    lower_bounds = False
    for offset, name in zip(np.linspace(-0.6, 0.6, len(names)), names):
        xs, medians = [], []
        for depth in result["depths"]:
            r = result["runs"].get(f"{name}@{depth}")
            if r is None:
                continue
            for value in r["steps_to_threshold"]:
                if value is None:
                    ax.plot(depth + offset, cap, "^", color=COLORS.get(name), ms=6, alpha=0.8)
                else:
                    ax.plot(depth + offset, value, "o", color=COLORS.get(name), ms=4, alpha=0.8)
            xs.append(depth + offset)
            medians.append(cap if r["median_steps"] is None else r["median_steps"])
            if r["median_steps"] is not None and r.get("median_censored"):   # only a lower bound
                ax.plot(depth + offset, r["median_steps"], "s", mfc="none", mec=COLORS.get(name), ms=8)
                lower_bounds = True
        ax.plot(xs, medians, "-", color=COLORS.get(name), label=LABELS.get(name, name))
    if lower_bounds:
        ax.plot([], [], "s", mfc="none", mec="0.3", ms=8, label="open square: median is a lower bound")
    ax.axhline(cap, color="0.5", ls=":", lw=1, label=f"budget ({cap} steps): triangle = never")
    ax.set_xlabel("depth (conv layers)")
    ax.set_ylabel(f"steps to loss < {s['threshold']:g} (SGD updates)")
    ax.legend(fontsize=7)
    return fig


def gradients(result):
    """Glorot/He ratio of the first layer's weight-gradient std at init vs depth, with 2^(-(L-1)/2)."""
    fig, ax = new_figure(width=6.4, height=4.2)
    ax.set_title("Gradient reaching the first layer at init: Glorot / He")
    ratios = dict(result["grad_ratio"])
    if "deep" in result:
        ratios[str(result["deep"]["depth"])] = result["deep"]["grad_ratio"]
    depths = sorted(int(d) for d in ratios)
    line = np.linspace(min(depths), max(depths), 100)
    ax.plot(line, 2.0 ** (-(line - 1) / 2), "k--", lw=1, label="theory 2^(-(L-1)/2)")
    for d in depths:
        r = ratios[str(d)]
        ax.plot([d] * len(r["ratio"]), r["ratio"], "o", color="tab:red", ms=5,
                label="measured (weight gradient)" if d == depths[0] else None)
        ax.plot([d] * len(r["ratio_normalized"]), r["ratio_normalized"], "x", color="tab:blue", ms=6,
                label="measured / top layer's (head and loss removed)" if d == depths[0] else None)
    ax.set_yscale("log")
    ax.set_xlabel("depth L (conv layers)")
    ax.set_ylabel("std ratio Glorot / He (dimensionless)")
    ax.legend(fontsize=7)
    return fig


FIGURES = {"depth_curves": curves, "depth_steps": steps, "depth_gradients": gradients}
