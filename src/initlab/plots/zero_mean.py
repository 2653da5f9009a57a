"""Figures for the zero-mean study: same variance, different mean: the drift and what it costs."""
from __future__ import annotations

import numpy as np

from ..experiments.zero_mean import random_sign_fraction
from . import new_figure

COLORS = {"centred": "tab:blue", "shifted": "tab:red"}


def _label(result, name):
    if name in result.get("labels", {}):
        return result["labels"][name]
    shift = result["settings"]["shift"]
    return "centred U(-a, a)" if name == "centred" else f"shifted U(-a + {shift:g}a, a + {shift:g}a)"


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
    for name in [n for n in ("centred", "shifted") if n in result["propagation"]]:
        p = result["propagation"][name]
        post = np.abs(np.asarray(p["post_mean"], dtype=float))
        color = COLORS.get(name)
        ax.plot(layers, post.mean(axis=0), marker="o", markersize=3, color=color, label=_label(result, name))
        if len(post) > 1:
            ax.fill_between(layers, post.min(axis=0), post.max(axis=0), color=color, alpha=0.15)
        active = np.asarray(p["active"], dtype=float)
        ax2.plot(layers, active.mean(axis=0), marker="o", markersize=3, color=color, label=_label(result, name))
        if name == "shifted" and np.all(post > 0):
            start = post.mean(axis=0)[0]
            factor = result["settings"]["shift"] * result["theory"]["factor_per_unit_shift"]
            ax.plot(layers, start * factor ** (layers - 1.0), color=color, linestyle="--",
                    linewidth=0.9, label=f"predicted x{factor:.3g} per layer (s a C lambda)")
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
    for name in result["training"]:
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
    samples = {n: np.asarray(w["sample"], dtype=float) for n, w in result["weights"].items()}
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


def sweep(result):
    """The per-layer growth of the mean ReLU output at init against the shift (log-log; each
    seed a dot, the median a line), with the mean-dominated line s / s_c, He's centred factor
    and the onset s_c."""
    sw, theory = result["sweep"], result["theory"]
    shifts = [s for s in sw["shifts"] if s > 0]
    fig, ax = new_figure(width=6.4, height=4.2,
                         title=f"Where the drift sets in ({len(result['layers'])}-layer plain ReLU stack at init)")
    medians = []
    for s in shifts:
        values = np.asarray(sw["growth"][f"{s:g}"], dtype=float)
        ax.plot([s] * len(values), values, "o", color="tab:red", ms=3, alpha=0.6)
        medians.append(np.nanmedian(values) if np.isfinite(values).any() else np.nan)
    ax.plot(shifts, medians, "-", color="tab:red", label="measured (dots: seeds, line: median)")
    line = np.geomspace(min(shifts), max(shifts), 100)
    ax.plot(line, line / theory["onset"], "k--", lw=1, label=f"s a C lambda = s / {theory['onset']:.3g}")
    ax.plot(line, line / theory["onset_no_padding"], ":", color="0.5", lw=1,
            label=f"s sqrt(6 fan_in) (no padding) = s / {theory['onset_no_padding']:.3g}")
    centred = np.asarray(sw["growth"]["0"], dtype=float)
    ax.axhline(np.nanmedian(centred), color="tab:blue", lw=1, label=f"centred (s = 0), median {np.nanmedian(centred):.3g}")
    ax.axvline(theory["onset"], color="0.3", lw=0.8, ls="-.", label=f"onset s_c = {theory['onset']:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("shift s (mean of the weights in units of a = sqrt(6 / fan_in))")
    ax.set_ylabel("growth of the mean ReLU output per layer (x)")
    ax.set_title("the mean is multiplied by s / s_c per layer once s >> s_c")
    ax.legend(fontsize=7)
    return fig


INPUT_COLORS = {"pixels": "tab:orange", "centred": "tab:green", "standardized": "tab:blue"}
INPUT_LABELS = {"pixels": "pixels in [0, 1]", "centred": "centred pixels", "standardized": "standardized"}


def inputs(result):
    """Left: training loss per input form (trailing mean; median over seeds bold, seeds thin),
    with the threshold. Middle: each first-layer unit's |mean| / std at init. Right: the share
    of each unit's weight-gradient entries with one sign over the first steps (seeds as dots)."""
    runs = result["input_runs"]
    fig, axes = new_figure(1, 3, width=13.5, height=3.8,
                           title="Centred inputs (LeCun et al. 1998): the same centred init and batches, "
                                 f"{len(result['settings']['seeds'])} seeds")
    ax, ax2, ax3 = axes[0]
    window = result["settings"]["window"]
    names = list(runs)
    for name in names:
        color = INPUT_COLORS.get(name)
        curves = [_running_mean(np.asarray([np.nan if v is None else v for v in loss], dtype=float), window)
                  for loss in runs[name]["loss"]]
        for curve in curves:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=color, lw=0.5, alpha=0.3)
        ax.plot(np.arange(1, len(curves[0]) + 1), np.nanmedian(curves, axis=0), color=color, lw=2,
                label=INPUT_LABELS.get(name, name))
    if result.get("inputs_threshold") is not None:
        ax.axhline(result["inputs_threshold"], color="0.3", ls=":", lw=1,
                   label=f"threshold {result['inputs_threshold']:.2f}")
    ax.set_title(f"training loss (running mean of {window} steps)")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.legend(fontsize=7)
    for axis, key, title, ylabel in ((ax2, "one_sidedness", "first layer at init: how one-sided each unit is",
                                      "|mean| / std of a unit's pre-activation"),
                                     (ax3, "sign_fraction", "first layer's weight gradient: one sign?",
                                      "share of a unit's entries with the majority sign")):
        for i, name in enumerate(names):
            values = np.asarray(runs[name][key], dtype=float)
            axis.plot(np.full(len(values), i) + np.linspace(-0.15, 0.15, len(values)), values, "o",
                      color=INPUT_COLORS.get(name), ms=4, label=INPUT_LABELS.get(name, name))
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels([INPUT_LABELS.get(n, n) for n in names], fontsize=7)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("inputs")
        axis.set_ylabel(ylabel)
    chance = random_sign_fraction(9)          # one input channel, 3x3 kernels (the digits)
    ax3.axhline(chance, color="0.5", ls=":", lw=1, label=f"independent random signs ({chance:.3f})")
    ax3.axhline(1.0, color="0.3", ls="--", lw=1, label="all one sign")
    ax3.legend(fontsize=7)
    return fig


FIGURES = {"zero_mean_activations": activations, "zero_mean_sweep": sweep, "zero_mean_training": training,
           "zero_mean_weights": weights, "zero_mean_inputs": inputs}
