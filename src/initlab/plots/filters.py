"""Figures for the filters study: the first layer's kernels as pictures, and whether an X appears.

Labelling convention for image grids (kernels, feature maps): every image panel has a title and
the figure a suptitle; axes with curves or points also have x/y labels with units and a legend.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from . import new_figure

COLORS = {"he_normal": "tab:blue", "glorot_uniform": "tab:green", "hand": "tab:orange",
          "hand_frozen": "tab:red"}
CMAP = "RdBu_r"


def _color(name, index=0):
    return COLORS.get(name, f"C{(index + 4) % 10}")


def _label(result, name):
    return result.get("labels", {}).get(name, name)


def _bare(ax):
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def mosaic(kernels, gap=1):
    """(n, k, k) kernels side by side, each scaled to its own max |w| (the shape is what matters,
    not the size); NaN between tiles -> (k, n (k + gap) - gap)."""
    kernels = np.asarray(kernels, dtype=float)
    n, kh, kw = kernels.shape
    image = np.full((kh, n * (kw + gap) - gap), np.nan)
    for j, k in enumerate(kernels):
        peak = np.abs(k).max()
        image[:, j * (kw + gap): j * (kw + gap) + kw] = k / peak if peak > 0 else k
    return image


def snapshot_rows(steps, count=5):
    """Indices of at most `count` snapshots: step 0, then steps nearest to last / 8, / 4, / 2 and
    the last (kernels change most early on, so the early steps get more rows)."""
    steps = np.asarray(steps)
    if len(steps) <= count:
        return list(range(len(steps)))
    targets = [0] + [steps[-1] / 2 ** k for k in range(count - 2, -1, -1)]
    return sorted({int(np.abs(steps - t).argmin()) for t in targets})


def _best_names(result, scores):
    names = result["template_names"]
    return [names[int(t)] for t in np.asarray(scores).argmax(axis=1)]


def filter_grid(result):
    """The first random run's first-layer kernels at a few points in training: one row per
    snapshot, one tile per kernel (each scaled to its own max |w|), labelled with its best template."""
    evo = result["evolution"]
    steps = result["steps"]
    rows = snapshot_rows(steps)
    width, k = np.shape(evo["weights"])[1:3]
    cmap = plt.get_cmap(CMAP).with_extremes(bad="white")
    fig, axes = new_figure(len(rows), 1, width=max(6.4, 0.9 * width), height=1.25 * len(rows) + 1.0,
                           title=f"First-layer {k}x{k} kernels during training "
                                 f"({_label(result, evo['start'])}, seed {evo['seed']})")
    axes = np.atleast_1d(axes).ravel()
    for ax, i in zip(axes, rows):
        ax.imshow(mosaic(evo["weights"][i]), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        _bare(ax)
        best = _best_names(result, evo["scores"][i])
        ax.set_title(f"step {steps[i]}: best templates " + ", ".join(best), fontsize=7)
        ax.set_xlabel(f"kernel 1 .. {width} (each scaled to its max |w|)", fontsize=7)
        ax.set_ylabel(f"step {steps[i]}", fontsize=7)
    handles = [plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap(CMAP)(1.0), label="positive weight"),
               plt.Line2D([], [], marker="s", linestyle="none", color=plt.get_cmap(CMAP)(0.0), label="negative weight")]
    axes[-1].legend(handles=handles, fontsize=7, loc="upper right", bbox_to_anchor=(1.0, -0.3), ncol=2)
    return fig


def best_match(result):
    """Each kernel's best template score against the training step (first random run), with the
    template it matches best at the end, and what a random kernel scores by chance."""
    evo = result["evolution"]
    steps = np.asarray(result["steps"])
    scores = np.asarray(evo["scores"], dtype=float)             # snapshots x width x templates
    best = scores.max(axis=2)
    final = _best_names(result, scores[-1])
    fig, ax = new_figure(width=7.2, height=4.2,
                         title=f"Each kernel's best template match during training ({_label(result, evo['start'])})")
    for j in range(best.shape[1]):
        ax.plot(steps, best[:, j], color=f"C{j % 10}", label=f"kernel {j + 1}: {final[j]}")
    null = result.get("null", {}).get(evo["start"])
    if null:
        ax.axhline(null["single_p95"], color="black", linestyle="--", linewidth=0.9,
                   label="chance: 95% of random kernels score below")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("training step")
    ax.set_ylabel("best |correlation| with a template (0..1)")
    ax.set_title("legend: the template each kernel matches best at the end", fontsize=8)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig


def x_question(result):
    """Per template: the chance range of the best-of-width score for untrained random kernels
    (5th..95th percentile, median tick) and every random run's best kernel before (hollow) and
    after (filled) training. Above the bar = better than chance."""
    names = result["template_names"]
    fig, ax = new_figure(width=8.4, height=4.2,
                         title="Is an X kernel learned by itself? Template scores against chance")
    xs = np.arange(len(names))
    starts = result["random_starts"]
    if starts:
        nulls = [result["null"][s] for s in starts]
        p5 = np.mean([n["p5"] for n in nulls], axis=0)
        p50 = np.mean([n["p50"] for n in nulls], axis=0)
        p95 = np.mean([n["p95"] for n in nulls], axis=0)
        ax.bar(xs, p95 - p5, bottom=p5, width=0.6, color="0.85", label="random kernels, untrained: 5th..95th pct")
        ax.scatter(xs, p50, marker="_", s=200, color="0.4", label="random kernels: median")
    spread = np.linspace(-0.2, 0.2, max(len(starts), 1))
    for i, start in enumerate(starts):
        run = result["runs"][start]
        before = np.asarray(run["best_before"], dtype=float)
        after = np.asarray(run["best_after"], dtype=float)
        for seed in range(len(after)):
            ax.scatter(xs + spread[i], before[seed], facecolors="none", edgecolors=_color(start, i), s=18,
                       label=f"{_label(result, start)}: before" if seed == 0 else None)
            ax.scatter(xs + spread[i], after[seed], color=_color(start, i), s=18,
                       label=f"{_label(result, start)}: after" if seed == 0 else None)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=30, fontsize=8)
    ax.set_ylim(0, 1.3)   # room for the legend above the points
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("hand-made template")
    ax.set_ylabel("best kernel's |correlation| (0..1)")
    answer = result.get("answer", {}).get("x")
    ax.set_title(f"X: {answer['above_chance_after']}/{answer['runs']} runs above chance after training"
                 if answer else "no random start in this run", fontsize=8)
    ax.legend(fontsize=6, ncol=3, loc="upper center")
    return fig


def x_closest(result):
    """The hand-made x_shape kernel beside the learned kernel closest to it (over every random
    run), at its start and after training; sign chosen to correlate positively with the X."""
    c = result["closest"]
    fig, axes = new_figure(1, 3, width=8.4, height=3.3,
                           title="The hand-made X and the learned kernel most like it")
    panels = [("hand-made x_shape (X score 1.00)", c["template"]),
              (f"that kernel at step 0 (X score {c['score_at_init']:.2f})", c["kernel_at_init"]),
              (f"after training (X score {c['score']:.2f})", c["kernel"])]
    for ax, (title, kernel) in zip(axes[0], panels):
        k = np.asarray(kernel, dtype=float)
        peak = np.abs(k).max() or 1.0
        shown = ax.imshow(k / peak, cmap=CMAP, vmin=-1, vmax=1, interpolation="nearest")
        _bare(ax)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("column (kernel pixels)", fontsize=7)
        ax.set_ylabel("row (kernel pixels)", fontsize=7)
    fig.colorbar(shown, ax=axes[0].tolist(), fraction=0.03, label="weight / max |weight|")
    which = f"{_label(result, c['start'])}, seed {c['seed']}, kernel {c['index'] + 1}"
    axes[0][2].legend(handles=[plt.Line2D([], [], linestyle="none", label=which)],
                      fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), handlelength=0, frameon=False)
    return fig


def feature_maps(result):
    """One X image, the plain x_shape kernel's response to it, and the trained first layer's
    feature maps (after ReLU) of the same image."""
    fm = result["feature_maps"]
    maps = np.asarray(fm["maps"], dtype=float)
    n = len(maps) + 2
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    fig, axes = new_figure(rows, cols, width=2.1 * cols, height=2.1 * rows + 0.6,
                           title=f"Feature maps of one X image (first layer, {_label(result, fm['start'])}, "
                                 f"seed {fm['seed']}, after training; bright = strong response)")
    axes = np.asarray(axes).ravel()
    panels = [("input: an X (pixels)", fm["image"], "gray"),
              ("hand-made x_shape's response", fm["x_shape_map"], "magma")]
    panels += [(f"learned kernel {j + 1} (after ReLU)", m, "magma") for j, m in enumerate(maps)]
    for ax, (title, image, cmap) in zip(axes, panels):
        ax.imshow(np.asarray(image, dtype=float), cmap=cmap, interpolation="nearest")
        _bare(ax)
        ax.set_title(title, fontsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig


def hand_vs_random(result):
    """Validation accuracy against the training step for every start (mean over seeds, band =
    min..max): the whole run, and its first quarter."""
    steps = np.asarray(result.get("curve_steps", result["steps"]))
    fig, axes = new_figure(1, 2, width=10.5, height=3.8, title="Hand-made first layer vs random: learning curves")
    early = steps <= max(steps[-1] // 6, steps[min(2, len(steps) - 1)])
    for ax, keep, title in ((axes[0][0], slice(None), "whole run"), (axes[0][1], early, "the first sixth")):
        for i, start in enumerate(result["starts"]):
            acc = np.asarray(result["runs"][start]["val_acc"], dtype=float)[:, keep]
            ax.plot(steps[keep], acc.mean(axis=0), color=_color(start, i), label=_label(result, start))
            if len(acc) > 1:
                ax.fill_between(steps[keep], acc.min(axis=0), acc.max(axis=0), color=_color(start, i), alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.set_ylabel("validation accuracy (fraction correct)")
        ax.legend(fontsize=7, loc="lower right")
    return fig


def write_gif(result, path, fps=4):
    """An animated GIF of the first random run's kernels over every snapshot (PillowWriter).
    Returns the path, or None when Pillow is not available."""
    try:
        from matplotlib.animation import FuncAnimation, PillowWriter
        import PIL  # noqa: F401  (PillowWriter needs it; fail here rather than in save)
    except ImportError:
        return None
    evo = result["evolution"]
    steps = result["steps"]
    weights = np.asarray(evo["weights"], dtype=float)
    cmap = plt.get_cmap(CMAP).with_extremes(bad="white")
    fig, ax = new_figure(width=max(5.0, 0.8 * weights.shape[1]), height=2.2,
                         title=f"First-layer kernels ({_label(result, evo['start'])}, seed {evo['seed']})")
    image = ax.imshow(mosaic(weights[0]), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    _bare(ax)
    ax.set_xlabel("kernel 1 .. %d (each scaled to its max |w|)" % weights.shape[1], fontsize=7)

    def frame(i):
        image.set_data(mosaic(weights[i]))
        ax.set_title(f"step {steps[i]}", fontsize=8)
        return (image,)

    animation = FuncAnimation(fig, frame, frames=len(weights), blit=False)
    animation.save(str(path), writer=PillowWriter(fps=fps), dpi=90)
    plt.close(fig)
    return path


FIGURES = {"filters_grid": filter_grid, "filters_best_match": best_match, "filters_x_question": x_question,
           "filters_x_closest": x_closest, "filters_feature_maps": feature_maps,
           "filters_hand_vs_random": hand_vs_random}
ANIMATIONS = {"filters_evolution": write_gif}
