"""Figures for the deep study: test accuracy and the Jacobian's condition number against depth."""
from __future__ import annotations

import numpy as np

from . import new_figure

COLORS = {"delta_orthogonal": "tab:purple", "gaussian": "tab:orange", "orthogonal": "tab:green",
          "he_relu": "tab:blue", "orthogonal_relu": "tab:cyan"}
LABELS = {"delta_orthogonal": "delta-orthogonal (tanh, critical)", "gaussian": "Gaussian (tanh, critical)",
          "orthogonal": "flattened orthogonal (tanh, critical)", "he_relu": "He (ReLU)",
          "orthogonal_relu": "orthogonal x sqrt2 (ReLU)"}


def scaling(result):
    """Left: test accuracy vs depth (median and every seed); right: the Jacobian's condition
    number at init vs depth (log scale)."""
    s = result["settings"]
    fig, axes = new_figure(1, 2, width=11, height=4.2,
                           title=f"Vanilla conv nets from {min(s['depths'])} to {max(s['depths'])} layers on digits "
                                 f"({len(s['seeds'])} seeds, Adam, {s['steps']} steps)")
    left, right = np.atleast_1d(axes).ravel()
    for init in s["inits"]:
        runs = sorted((r for r in result["runs"].values() if r["init"] == init), key=lambda r: r["depth"])
        depths = [r["depth"] for r in runs]
        for r in runs:
            left.plot([r["depth"]] * len(r["accuracy"]), r["accuracy"], "o", color=COLORS[init], ms=3, alpha=0.4)
            right.plot([r["depth"]] * len(r["condition"]), r["condition"], "o", color=COLORS[init], ms=3, alpha=0.4)
        left.plot(depths, [np.median(r["accuracy"]) for r in runs], "-", color=COLORS[init], label=LABELS[init])
        right.plot(depths, [np.median(r["condition"]) for r in runs], "-", color=COLORS[init], label=LABELS[init])
    left.axhline(result["chance"], color="0.6", ls="--", lw=0.8, label="chance")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("depth (conv layers)")
    left.set_title("test accuracy after training")
    left.set_ylabel("test accuracy (fraction)")
    right.set_title("input-output Jacobian at init")
    right.set_yscale("log")
    right.set_ylabel("condition number (largest / smallest singular value)")
    left.legend(fontsize=7)
    return fig


FIGURES = {"deep_scaling": scaling}
