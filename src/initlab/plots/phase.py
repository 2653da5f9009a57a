"""Figures for the phase study: test accuracy over (sigma_w^2, depth), with the theory's lines."""
from __future__ import annotations

import numpy as np

from . import new_figure


def heatmap(result):
    """Median test accuracy over seeds per (sigma_w^2, depth) cell, one panel per sigma_b^2; the
    dashed line is 6 xi_c, the vertical line the critical sigma_w^2 (zero padding included)."""
    s = result["settings"]
    panels = list(result["accuracy"])
    fig, axes = new_figure(1, len(panels), width=5.6 * len(panels), height=4.2,
                           title=f"Trainability of deep tanh conv nets on digits ({len(s['seeds'])} seeds, "
                                 f"{s['steps']} Adam steps)")
    axes = np.atleast_1d(axes).ravel()
    sigma_w2s = np.asarray(s["sigma_w2s"])
    depths = sorted(int(d) for d in result["accuracy"][panels[0]])
    for ax, b in zip(axes, panels):
        grid = np.array([[np.median(result["accuracy"][b][str(d)][i]) for i in range(len(sigma_w2s))]
                         for d in depths])
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                          extent=(-0.5, len(sigma_w2s) - 0.5, -0.5, len(depths) - 0.5))
        for (row, col), value in np.ndenumerate(grid):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if value < 0.6 else "black")
        line = result["lines"][b]
        x_of = lambda w: np.interp(np.log(w), np.log(sigma_w2s), np.arange(len(sigma_w2s)))
        y_of = lambda d: np.interp(np.log(d), np.log(depths), np.arange(len(depths))) if len(depths) > 1 else 0.0
        xi = [(x_of(w), y_of(min(max(v, depths[0]), depths[-1]))) for w, v in zip(sigma_w2s, line["six_xi_c"])
              if v is not None]
        if xi:
            ax.plot(*zip(*xi), "w--", lw=1.5, label="6 xi_c (theory)")
        critical = line["critical_sigma_w2_padded"]
        if sigma_w2s[0] <= critical <= sigma_w2s[-1]:
            ax.axvline(x_of(critical), color="tab:red", lw=1.5, label=f"critical line ({critical:.2f})")
        ax.set_xticks(range(len(sigma_w2s)), [f"{w:g}" for w in sigma_w2s])
        ax.set_yticks(range(len(depths)), [str(d) for d in depths])
        ax.set_title(f"sigma_b^2 = {float(b):g}")
        ax.set_xlabel("sigma_w^2 (weight variance x fan_in)")
        ax.set_ylabel("depth (conv layers)")
        ax.legend(fontsize=7, loc="upper right")
        fig.colorbar(image, ax=ax, label="test accuracy (median over seeds)")
    return fig


FIGURES = {"phase_diagram": heatmap}
