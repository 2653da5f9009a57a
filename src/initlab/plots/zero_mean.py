"""Figures for the zero-mean study: same variance, different mean: the drift and what it costs."""
from __future__ import annotations

import numpy as np

from . import new_figure

COLORS = {"centred": "tab:blue", "shifted": "tab:red"}


def _label(result, name):
    return result.get("labels", {}).get(name, name)


def _running_mean(values, window):
    """Mean over the last `window` steps (fewer at the start), NaN/inf ignored."""
    values = np.where(np.isfinite(values), values, np.nan)
    out = np.empty_like(values)
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1): i + 1]
        out[i] = np.nanmean(chunk) if np.isfinite(chunk).any() else np.nan
    return out


def activations(result):
    """Left: the mean ReLU output per layer at init (log axis; mean over seeds, band = min..max),
    with the predicted growth for the shifted init. Right: the fraction of units that fire."""
    layers = np.asarray(result["layers"])
    fig, axes = new_figure(1, 2, width=10.5, height=3.8,
                           title="At init: same variance, different mean (deep plain ReLU stack, digits)")
    ax, ax2 = axes[0]
    for name in result["inits"]:
        p = result["propagation"][name]
        post = np.abs(np.asarray(p["post_mean"], dtype=float))
        color = COLORS.get(name)
        ax.plot(layers, post.mean(axis=0), marker="o", markersize=3, color=color, label=_label(result, name))
        if len(post) > 1:
            ax.fill_between(layers, post.min(axis=0), post.max(axis=0), color=color, alpha=0.15)
        active = np.asarray(p["active"], dtype=float)
        ax2.plot(layers, active.mean(axis=0), marker="o", markersize=3, color=color, label=_label(result, name))
        if name == "shifted":
            start = post.mean(axis=0)[0]
            factor = result["shifted_predicted_growth_per_layer"]
            ax.plot(layers, start * factor ** (layers - 1.0), color=color, linestyle="--",
                    linewidth=0.9, label=f"predicted x{factor:.1f} per layer")
    ax.set_yscale("log")
    ax.set_title("mean activation grows geometrically when E[w] > 0")
    ax.set_xlabel("conv layer (depth)")
    ax.set_ylabel("mean ReLU output (input units, log)")
    ax.legend(fontsize=7)
    ax2.axhline(0.5, color="black", linewidth=0.8, linestyle=":", label="half the units")
    ax2.set_ylim(0, 1.05)
    ax2.set_title("fraction of units that fire (pre-activation > 0)")
    ax2.set_xlabel("conv layer (depth)")
    ax2.set_ylabel("fraction of units active")
    ax2.legend(fontsize=7)
    return fig


def training(result):
    """Left: the training loss per step (running mean over 10 steps, log axis; mean over seeds).
    Right: the test accuracy every few steps (mean over seeds, band = min..max)."""
    settings = result["settings"]
    fig, axes = new_figure(1, 2, width=10.5, height=3.8,
                           title=f"Training a {settings['train_depth']}-layer plain CNN from each init "
                                 f"({len(settings['seeds'])} seed(s), SGD lr {settings['lr']:g})")
    ax, ax2 = axes[0]
    steps = np.asarray(result["steps"])
    classes = settings.get("num_classes", 10)
    chance = np.log(classes)
    for name in result["inits"]:
        t = result["training"][name]
        loss = np.asarray(t["loss"], dtype=float)
        with np.errstate(all="ignore"):
            curve = np.nanmean(np.where(np.isfinite(loss), loss, np.nan), axis=0)
        ax.plot(np.arange(1, len(curve) + 1), _running_mean(curve, 10), color=COLORS.get(name),
                label=_label(result, name))
        acc = np.asarray(t["test_acc"], dtype=float)
        ax2.plot(steps, acc.mean(axis=0), color=COLORS.get(name), label=_label(result, name))
        if len(acc) > 1:
            ax2.fill_between(steps, acc.min(axis=0), acc.max(axis=0), color=COLORS.get(name), alpha=0.15)
    ax.axhline(chance, color="black", linewidth=0.8, linestyle=":", label=f"chance: ln {classes}")
    ax.set_yscale("log")
    ax.set_title("training loss (running mean of 10 steps)")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (nats, log)")
    ax.legend(fontsize=7)
    ax2.axhline(1 / classes, color="black", linewidth=0.8, linestyle=":", label="chance")
    ax2.set_ylim(0, 1.02)
    ax2.set_title("test accuracy")
    ax2.set_xlabel("training step")
    ax2.set_ylabel("test accuracy (fraction correct)")
    ax2.legend(fontsize=7)
    return fig


def weights(result):
    """Histograms of one layer's initial weights (the second conv layer, first seed): the same
    width (variance), the means 0 and a."""
    fig, ax = new_figure(title="The two initial weight distributions (second conv layer)")
    samples = {n: np.asarray(result["weights"][n]["sample"], dtype=float) for n in result["inits"]}
    lo = min(s.min() for s in samples.values())
    hi = max(s.max() for s in samples.values())
    bins = np.linspace(lo, hi, 41)
    for name, sample in samples.items():
        w = result["weights"][name]
        ax.hist(sample, bins=bins, color=COLORS.get(name), alpha=0.5, density=True,
                label=f"{_label(result, name)}: mean {w['mean']:+.3f}, std {w['std']:.3f}")
        ax.axvline(w["mean"], color=COLORS.get(name), linestyle="--", linewidth=1)
    bound = next(iter(result["weights"].values()))["bound"]
    ax.set_title(f"a = sqrt(6 / fan_in) = {bound:.3f}; variance a^2/3 for both")
    ax.set_xlabel("weight value")
    ax.set_ylabel("density (1 / weight unit)")
    ax.legend(fontsize=7, loc="lower center")
    return fig


FIGURES = {"zero_mean_activations": activations, "zero_mean_training": training, "zero_mean_weights": weights}
