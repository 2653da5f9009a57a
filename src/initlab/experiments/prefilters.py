"""Study: filters trained from random, chosen by hand, or computed from the data first.

The same small CNN is trained on the shapes and digits data from four first-layer starts:

* "he":     random He-normal weights (the usual answer);
* "hand":   hand-made filters (`filters.bank`: Sobel x/y, X, plus, diagonals, lines, ...);
* "kmeans": k-means centroids of whitened image patches (`patchinit.patch_kmeans`);
* "pca":    principal components of image patches (`patchinit.patch_pca`).

Hand-made, k-means and PCA filters are scaled by one factor so the layer's output variance on
the training images is 1; He's is what He's formula gives. For one seed every start shares the
rest of the network's weights and the batch order, so the runs differ only in the first layer
(the data and its split are fixed; seeds vary the weights and the batch order).
Measured: validation accuracy every `eval_every` steps, steps to reach a threshold accuracy
(mean over seeds), how far the first-layer filters move (||W_end - W_0|| / ||W_0|| and the
cosine of each filter to its start), and template scores before and after training.
"""
from __future__ import annotations

import time

import numpy as np

from .. import data as D
from .. import filters, patchinit
from ..diagnostics import template_scores
from ..errors import InvalidValueError, unknown_name
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..model import Sequential
from ..optim import SGD
from ..validate import positive_int, real_number
from . import claim
from .training import accuracy, batches_per_pass, train_steps

STARTS = ("he", "hand", "kmeans", "pca")
# "he_unit" (He's random directions, scaled like the others to output variance 1) is a control:
# it tells whether a data-driven start wins by its directions or only by its scale.
ALL_STARTS = STARTS + ("he_unit",)
LABELS = {"he": "random (He normal)", "hand": "hand-made (Sobel, X, ...)",
          "kmeans": "k-means of patches", "pca": "PCA of patches",
          "he_unit": "random, unit output variance"}
LABELS_JA = {"he": "ランダム(He 正規分布)", "hand": "手作り(Sobel、X など)",
             "kmeans": "パッチの k-means", "pca": "パッチの PCA",
             "he_unit": "ランダム、出力の分散 1"}
DATASETS = ("shapes", "digits")
IMAGE_SIZES = {"shapes": 16, "digits": 8}
# in this order the first layer gets them: the edges and strokes the shapes are drawn with
HAND_FILTERS = ("sobel_x", "sobel_y", "x_shape", "plus_shape", "diagonal", "antidiagonal",
                "hline", "vline", "laplacian", "prewitt_x", "prewitt_y", "gaussian", "sharpen")
THRESHOLDS = {"shapes": 0.9, "digits": 0.9}

TINY = dict(datasets=("shapes", "digits"), seeds=(0,), n_train=240, epochs=1, batch_size=32,
            eval_every=2, n_patches=2000, thresholds={"shapes": 0.3, "digits": 0.3})
DEMO = dict(seeds=(0, 1, 2, 3))


# --------------------------------------------------------------------------- first layers

def hand_filters(out_channels, in_channels, kernel_size):
    """The first `out_channels` of HAND_FILTERS as a conv weight (out, in, k, k)."""
    if out_channels > len(HAND_FILTERS):
        raise InvalidValueError(
            f"prefilters: width={out_channels} needs more hand-made filters than the {len(HAND_FILTERS)} "
            "available (identical filters would never break their symmetry)"
        )
    return filters.bank(HAND_FILTERS[:out_channels], in_channels, size=kernel_size)


def first_layer(start, x_train, out_channels, kernel_size, rng, n_patches):
    """The first layer's starting weight (out, C, k, k) for a start name."""
    in_channels, pad = x_train.shape[1], kernel_size // 2
    if start in ("he", "he_unit"):
        weight = Conv2D(in_channels, out_channels, kernel_size, rng=rng).params["weight"]
        if start == "he":
            return weight
    elif start == "hand":
        weight = hand_filters(out_channels, in_channels, kernel_size)
    if start in ("he_unit", "hand"):
        return patchinit.unit_variance_scale(weight, x_train, padding=pad, rng=rng)[0].astype(np.float32)
    if start == "kmeans":
        return patchinit.patch_kmeans(x_train, out_channels, kernel_size, rng=rng, padding=pad, n_patches=n_patches)
    if start == "pca":
        return patchinit.patch_pca(x_train, out_channels, kernel_size, rng=rng, padding=pad, n_patches=n_patches)
    raise unknown_name("prefilters start", start, ALL_STARTS)


def build_model(first_weight, num_classes, image_size, rng):
    """conv k x k (the given weight, pad k//2) -> relu -> pool 2 -> conv 3x3 (2x width, pad 1)
    -> relu -> pool 2 -> flatten -> dense num_classes; the layers after the first from `rng`."""
    width, in_channels, k, _ = first_weight.shape
    h, w = image_size
    return Sequential([
        Conv2D(in_channels, width, k, padding=k // 2, weight_init=first_weight),
        ReLU(), MaxPool2D(2),
        Conv2D(width, 2 * width, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(2 * width * (h // 4) * (w // 4), num_classes, rng=rng),
    ])


# --------------------------------------------------------------------------- one training run

def train_curve(model, train, val, *, epochs, batch_size, lr, momentum, eval_every, rng):
    """`epochs` passes of SGD with momentum; validation accuracy at step 0, every `eval_every`
    steps and after the last -> (steps, val_acc) lists. A non-finite loss is a DivergenceError."""
    steps = epochs * batches_per_pass(len(train[0]), batch_size, where="prefilters")
    curve_steps, accs = [], []

    def evaluate(step):
        curve_steps.append(step)
        accs.append(accuracy(model, *val))

    train_steps(model, train, SGD(model, lr=lr, momentum=momentum), steps=steps, batch_size=batch_size, rng=rng,
                every=eval_every, on_snapshot=evaluate, nonfinite="raise", where="prefilters")
    return curve_steps, accs


def steps_to(steps, accs, threshold):
    """The first evaluated step whose accuracy is >= threshold; None if it is never reached."""
    for s, a in zip(steps, accs):
        if a >= threshold:
            return int(s)
    return None


def movement(w0, w1):
    """(||W1 - W0|| / ||W0||, cosine of each filter to its start (out,))."""
    a = w0.reshape(len(w0), -1).astype(np.float64)
    b = w1.reshape(len(w1), -1).astype(np.float64)
    rel = float(np.linalg.norm(b - a) / np.linalg.norm(a))
    cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-300)
    return rel, cos


# --------------------------------------------------------------------------- the study

def check_options(datasets=DATASETS, starts=STARTS, seeds=(0,), thresholds=None, *, n_train=1400, epochs=4,
                  batch_size=32, lr=0.02, momentum=0.9, width=8, kernel_size=3, eval_every=5, n_patches=10_000):
    """Validate the study's choices before anything runs -> (datasets, starts, seeds, thresholds);
    clear errors naming the option otherwise (unknown names, counts below 1, a learning rate <= 0, ...)."""
    datasets = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    starts = (starts,) if isinstance(starts, str) else tuple(starts)
    if not datasets:
        raise InvalidValueError("prefilters: datasets: expected at least one of shapes, digits")
    for name in datasets:
        if name not in DATASETS:
            raise unknown_name("dataset", name, DATASETS)
    for name in starts:
        if name not in ALL_STARTS:
            raise unknown_name("prefilters start", name, ALL_STARTS)
    if not starts:
        raise InvalidValueError(f"prefilters: starts: expected at least one of {', '.join(STARTS)}")
    seeds = tuple(positive_int(s, "prefilters: seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("prefilters: seeds: expected at least one seed")
    thresholds = {**THRESHOLDS, **(thresholds or {})}
    for name in datasets:
        real_number(thresholds[name], f"prefilters: threshold for {name}", low=0, high=1)
    for value, name in ((n_train, "n_train"), (epochs, "epochs"), (batch_size, "batch_size"), (width, "width"),
                        (eval_every, "eval_every"), (n_patches, "n_patches")):
        positive_int(value, f"prefilters: {name}")
    kernel_size = positive_int(kernel_size, "prefilters: kernel_size", minimum=3)
    if kernel_size % 2 == 0:
        raise InvalidValueError(f"prefilters: kernel_size must be odd (the templates have a centre), got {kernel_size}")
    for name in datasets:        # patches are cut from whole images
        if kernel_size > IMAGE_SIZES[name]:
            raise InvalidValueError(f"prefilters: kernel_size {kernel_size} is larger than the {name} images "
                                    f"({IMAGE_SIZES[name]}x{IMAGE_SIZES[name]})")
    if "hand" in starts and width > len(HAND_FILTERS):
        raise InvalidValueError(f"prefilters: width: the hand start has {len(HAND_FILTERS)} hand-made filters, "
                                f"so width is at most {len(HAND_FILTERS)}; got {width}")
    real_number(lr, "prefilters: lr", low=0, low_open=True)
    real_number(momentum, "prefilters: momentum", low=0, high=1)
    return datasets, starts, seeds, thresholds


def _median_or_none(values):
    """The median, with a seed that never reached the threshold counted as slower than all;
    None when that seed is the median."""
    ranked = sorted(values, key=lambda v: np.inf if v is None else v)
    mid = len(ranked) // 2
    middle = ranked[mid - 1:mid + 1] if len(ranked) % 2 == 0 else ranked[mid:mid + 1]
    return None if any(v is None for v in middle) else float(np.mean(middle))


def _mean_or_none(values):
    """The mean of the values, or None when any is None (a threshold not reached by every seed)."""
    return None if any(v is None for v in values) else float(np.mean(values))


def run(datasets=DATASETS, starts=STARTS, seeds=(0, 1, 2, 3, 4), *, n_train=1400, epochs=4, batch_size=32,
        lr=0.02, momentum=0.9, width=8, kernel_size=3, eval_every=5, n_patches=10_000,
        thresholds=None, progress=None) -> dict:
    """Train the same CNN from each first-layer start on each dataset, for each seed.

    Returns {"datasets": {name: {"threshold", "steps", "starts": {start: {...}}}}, "claims",
    "template_names", "settings", "seconds", plus flat summary numbers}. Per start: "val_acc"
    (seeds x evaluations), "steps_to_threshold" (per seed, None = not reached),
    "mean_steps_to_threshold" (None unless every seed reached it), "final_val_acc",
    "relative_change", "cosine_to_start" (seeds x filters), "initial_output_var",
    "init_seconds", "scores_before"/"scores_after" (seeds x filters x templates),
    "filters_before"/"filters_after" (the first seed's weights).
    `n_train` caps the training examples (validation: the dataset's own split).
    """
    datasets, starts, seeds, thresholds = check_options(
        datasets, starts, seeds, thresholds, n_train=n_train, epochs=epochs, batch_size=batch_size, lr=lr,
        momentum=momentum, width=width, kernel_size=kernel_size, eval_every=eval_every, n_patches=n_patches)
    began = time.perf_counter()
    total, done = len(datasets) * len(seeds) * len(starts), 0
    out = {"study": "prefilters", "starts": list(starts), "labels": {s: LABELS[s] for s in starts},
           "datasets": {}}
    for name in datasets:
        # at least 64 images, so that the validation and test parts are never empty
        ds = D.load(name, seed=0, n=None if name == "digits" else max(n_train * 10 // 7 + 1, 64))
        train = ds.train[0][:n_train], ds.train[1][:n_train]
        per_start = {s: _empty_record() for s in starts}
        for seed in seeds:
            first_ss, rest_ss, order_ss = np.random.SeedSequence([seed, 8]).spawn(3)
            for start in starts:
                if progress:
                    progress(done, total, f"{name} seed {seed} {start}")
                rec = per_start[start]
                t0 = time.perf_counter()
                w0 = first_layer(start, train[0], width, kernel_size, np.random.default_rng(first_ss), n_patches)
                rec["init_seconds"].append(time.perf_counter() - t0)
                model = build_model(w0, ds.num_classes, ds.image_size, np.random.default_rng(rest_ss))
                first_out = model[0].forward(train[0][:256], training=False)
                rec["initial_output_var"].append(float(first_out.var()))
                steps, accs = train_curve(model, train, ds.val, epochs=epochs, batch_size=batch_size, lr=lr,
                                          momentum=momentum, eval_every=eval_every,
                                          rng=np.random.default_rng(order_ss))
                w1 = model[0].params["weight"].copy()
                _record(rec, w0, w1, steps, accs, thresholds[name])
                done += 1
        out["datasets"][name] = {
            "threshold": thresholds[name], "steps": steps, "n_train": len(train[0]), "n_val": len(ds.val[0]),
            "starts": {s: _summarize(r) for s, r in per_start.items()},
        }
    if progress:
        progress(total, total, "done")
    out["template_names"] = template_scores(w0)[1]
    out["settings"] = dict(seeds=list(seeds), n_train=n_train, epochs=epochs, batch_size=batch_size, lr=lr,
                           momentum=momentum, width=width, kernel_size=kernel_size, eval_every=eval_every,
                           n_patches=n_patches, thresholds={d: thresholds[d] for d in datasets})
    out.update(_flat_numbers(out))
    out["claims"] = _claims(out)
    out["seconds"] = time.perf_counter() - began
    return out


def _empty_record():
    keys = ("val_acc", "steps_to_threshold", "final_val_acc", "relative_change", "cosine_to_start",
            "initial_output_var", "init_seconds", "scores_before", "scores_after", "filters_before",
            "filters_after")
    return {k: [] for k in keys}


def _record(rec, w0, w1, steps, accs, threshold):
    rel, cos = movement(w0, w1)
    rec["val_acc"].append(accs)
    rec["steps_to_threshold"].append(steps_to(steps, accs, threshold))
    rec["final_val_acc"].append(accs[-1])
    rec["relative_change"].append(rel)
    rec["cosine_to_start"].append(cos)
    rec["scores_before"].append(template_scores(w0)[0])
    rec["scores_after"].append(template_scores(w1)[0])
    rec["filters_before"].append(w0)
    rec["filters_after"].append(w1)


def _summarize(rec):
    """Per-seed lists -> arrays, means over seeds, and the first seed's filters for the grid."""
    cos = np.array(rec["cosine_to_start"])
    before, after = np.array(rec["scores_before"]), np.array(rec["scores_after"])
    return {
        "val_acc": np.array(rec["val_acc"]),
        "steps_to_threshold": rec["steps_to_threshold"],
        "reached": sum(s is not None for s in rec["steps_to_threshold"]),
        "mean_steps_to_threshold": _mean_or_none(rec["steps_to_threshold"]),
        "median_steps_to_threshold": _median_or_none(rec["steps_to_threshold"]),
        "final_val_acc": rec["final_val_acc"], "mean_final_val_acc": float(np.mean(rec["final_val_acc"])),
        # the area under the learning curve: a threshold-free measure of how fast it learns
        "mean_curve_acc": float(np.mean(rec["val_acc"])),
        "relative_change": rec["relative_change"], "mean_relative_change": float(np.mean(rec["relative_change"])),
        "cosine_to_start": cos, "mean_cosine_to_start": float(cos.mean()),
        "min_cosine_to_start": float(cos.min()),
        "initial_output_var": rec["initial_output_var"], "init_seconds": rec["init_seconds"],
        "scores_before": before, "scores_after": after,
        # a filter's best match over the templates, averaged over filters and seeds
        "mean_best_score_before": float(before.max(axis=2).mean()),
        "mean_best_score_after": float(after.max(axis=2).mean()),
        "filters_before": rec["filters_before"][0], "filters_after": rec["filters_after"][0],
    }


def _flat_numbers(out):
    """Top-level scalars (the report's number table): steps to threshold, final accuracy, movement."""
    flat = {}
    for name, ds in out["datasets"].items():
        pct = int(round(100 * ds["threshold"]))
        for start, r in ds["starts"].items():
            steps = r["mean_steps_to_threshold"]
            flat[f"{name}_{start}_steps_to_{pct}pct"] = "not reached" if steps is None else steps
            flat[f"{name}_{start}_final_val_acc"] = r["mean_final_val_acc"]
            flat[f"{name}_{start}_relative_change"] = r["mean_relative_change"]
            flat[f"{name}_{start}_cosine_to_start"] = r["mean_cosine_to_start"]
    return flat


def _censored(r, total_steps):
    """Mean steps with a seed that never reached the threshold counted as one step past the run."""
    return float(np.mean([total_steps + 1 if s is None else s for s in r["steps_to_threshold"]]))


def _claims(out):
    claims = []
    for name, ds in out["datasets"].items():
        starts, pct, last = ds["starts"], int(round(100 * ds["threshold"])), ds["steps"][-1]
        if "he" not in starts:
            continue
        he = starts["he"]
        he_steps = _censored(he, last)
        for start in ("kmeans", "pca", "hand", "he_unit"):
            if start not in starts:
                continue
            r = starts[start]
            wins = sum((last + 1 if a is None else a) < (last + 1 if b is None else b)
                       for a, b in zip(r["steps_to_threshold"], he["steps_to_threshold"]))
            claims.append(claim(
                f"{name}: the {LABELS[start]} start reaches {pct}% validation accuracy in fewer steps than "
                f"the random He start (mean over seeds; a seed that never got there counts as {last + 1})",
                _censored(r, last) < he_steps,
                ja=f"{name}: 初期値「{LABELS_JA[start]}」は、ランダムな He の初期値より少ないステップで検証精度 {pct}% に"
                   f"達する(シード平均。達しなかったシードは {last + 1} ステップと数える)",
                steps=_censored(r, last), he_steps=he_steps,
                median=r["median_steps_to_threshold"], he_median=he["median_steps_to_threshold"],
                seeds_faster=wins, seeds=len(r["final_val_acc"]), reached=r["reached"],
                he_reached=he["reached"]))
        for start in ("kmeans", "pca"):
            if start not in starts:
                continue
            r = starts[start]
            claims.append(claim(
                f"{name}: {LABELS[start]} filters keep their direction in training better than random ones "
                "(mean cosine of each filter to its start, higher than He's)",
                r["mean_cosine_to_start"] > he["mean_cosine_to_start"],
                ja=f"{name}: 「{LABELS_JA[start]}」のフィルターは、学習中にランダムなものより向きを保つ(各フィルターと"
                   "初期値のコサインの平均が He のものより高い)",
                cosine=r["mean_cosine_to_start"],
                he_cosine=he["mean_cosine_to_start"], min_cosine=r["min_cosine_to_start"],
                relative_change=r["mean_relative_change"], he_relative_change=he["mean_relative_change"]))
            claims.append(claim(
                f"{name}: before any training, {LABELS[start]} filters match hand-made templates better "
                "than random ones (mean best template score)",
                r["mean_best_score_before"] > he["mean_best_score_before"],
                ja=f"{name}: 学習前の時点で、「{LABELS_JA[start]}」のフィルターはランダムなものより手作りのテンプレートに"
                   "よく一致する(最良テンプレートのスコアの平均)",
                score=r["mean_best_score_before"], he_score=he["mean_best_score_before"]))
    return claims
