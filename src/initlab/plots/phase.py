"""Figures for the phase study: test accuracy over (sigma_w^2, depth), with the theory's lines."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

WORDS = {
    "en": {"title": "Trainability of deep tanh conv nets on digits ({seeds} seeds, {steps} Adam steps)",
           "xi": "6 xi_c (theory)", "critical": "critical line ({value:.2f})", "panel": "sigma_b^2 = {value:g}",
           "sigma_w2": "sigma_w^2 (weight variance x fan_in)", "depth": "depth (conv layers)",
           "colorbar": "test accuracy (median over seeds)"},
    "ja": {"title": "深い tanh 畳み込みネットの学習可能性、手書き数字(シード {seeds} 個、Adam {steps} ステップ)",
           "xi": "6 xi_c(理論)", "critical": "臨界線({value:.2f})", "panel": "sigma_b^2 = {value:g}",
           "sigma_w2": "sigma_w^2(重みの分散 x fan_in)", "depth": "深さ(畳み込み層の数)",
           "colorbar": "テスト精度(シードの中央値)"},
}


@drawn
def heatmap(result, lang):
    """Median test accuracy over seeds per (sigma_w^2, depth) cell, one panel per sigma_b^2; the
    dashed line is 6 xi_c, the vertical line the critical sigma_w^2 (zero padding included)."""
    w = WORDS[lang]
    s = result["settings"]
    panels = list(result["accuracy"])
    fig, axes = new_figure(1, len(panels), width=5.6 * len(panels), height=4.2,
                           title=w["title"].format(seeds=len(s["seeds"]), steps=s["steps"]))
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
            ax.plot(*zip(*xi), "w--", lw=1.5, label=w["xi"])
        critical = line["critical_sigma_w2_padded"]
        if sigma_w2s[0] <= critical <= sigma_w2s[-1]:
            ax.axvline(x_of(critical), color="tab:red", lw=1.5, label=w["critical"].format(value=critical))
        ax.set_xticks(range(len(sigma_w2s)), [f"{w:g}" for w in sigma_w2s])
        ax.set_yticks(range(len(depths)), [str(d) for d in depths])
        ax.set_title(w["panel"].format(value=float(b)))
        ax.set_xlabel(w["sigma_w2"])
        ax.set_ylabel(w["depth"])
        ax.legend(fontsize=7, loc="upper right")
        fig.colorbar(image, ax=ax, label=w["colorbar"])
    return fig


FIGURES = {"phase_diagram": heatmap}
