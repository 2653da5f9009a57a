"""Study: filters trained from random, chosen by hand, or computed from the data first.

The same small CNN is trained on the shapes and digits data from five first-layer starts:

* "he":      random He-normal weights (the usual answer);
* "hand":    hand-made filters (`filters.bank`: Sobel x/y, X, plus, diagonals, lines, ...);
* "kmeans":  k-means centroids of whitened image patches (`patchinit.patch_kmeans`);
* "pca":     principal components of image patches (`patchinit.patch_pca`);
* "he_unit": the control: He's random filters (the very same draws as "he" at each seed)
  scaled by one factor like the hand-made and data-driven ones.

Hand-made, k-means, PCA and he_unit filters are scaled by one factor so that the layer's output
variance on the training images is 1; He's is what He's formula gives (about 2 on standardized
images). A start that wins against "he" may win by its directions or only by its scale; against
"he_unit" only the directions differ. That is why every claim about directions is decided
against he_unit.

The grid: one task per (dataset, start, seed) trains for `epochs` passes of SGD with momentum.
At one seed every start shares the rest of the network's weights and the batch order
(`task.rng(..., shared=True)`), so the runs differ only in the first layer (the data and its
split are fixed). Measured per run: validation accuracy every `eval_every` steps, the step at
which it first reaches the dataset's threshold (None when it never does: censored at the last
step), how far the first-layer filters move (||W_end - W_0|| / ||W_0|| and the cosine of each
filter to its start), and template scores before and after training.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import data as D
from .. import filters, patchinit
from ..diagnostics import template_scores
from ..constraints import Integer, Options, Real, Rule, SequenceOf, check
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import grid
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..model import Sequential
from ..optim import SGD
from ..errors import InvalidValueError, unknown_name
from .training import accuracy, batches_per_pass, train_steps

NAME = "prefilters"
STARTS = ("he", "hand", "kmeans", "pca", "he_unit")
ALL_STARTS = STARTS
CHOSEN = ("hand", "kmeans", "pca")              # the starts that are not He's random draws
LABELS = {"he": "random (He normal)", "hand": "hand-made (Sobel, X, ...)",
          "kmeans": "k-means of patches", "pca": "PCA of patches",
          "he_unit": "random, unit output variance (control)"}
LABELS_JA = {"he": "ランダム(He 正規分布)", "hand": "手作り(Sobel、X など)",
             "kmeans": "パッチの k-means", "pca": "パッチの PCA",
             "he_unit": "ランダム、出力の分散 1(対照)"}
DATASETS = ("shapes", "digits")
IMAGE_SIZES = {"shapes": 16, "digits": 8}
# in this order the first layer gets them: the edges and strokes the shapes are drawn with
HAND_FILTERS = ("sobel_x", "sobel_y", "x_shape", "plus_shape", "diagonal", "antidiagonal",
                "hline", "vline", "laplacian", "prewitt_x", "prewitt_y", "gaussian", "sharpen")
THRESHOLDS = {"shapes": 0.9, "digits": 0.9}
VAR_IMAGES = 256                                # images on which the first layer's output variance is measured

TINY = dict(datasets=("shapes", "digits"), seeds=(0, 1), n_train=240, epochs=1, batch_size=32,
            eval_every=2, n_patches=2000, thresholds={"shapes": 0.3, "digits": 0.3})
# The demo's runs are shorter than the defaults (640 images, 3 epochs: 60 steps), to afford 12
# seeds: the speed differences between starts are small. Digits runs then end near 90%, so its
# threshold is 85%, which most runs reach: steps to a threshold measure speed only where the
# runs get there.
DEMO = dict(seeds=tuple(range(12)), n_train=640, epochs=3, eval_every=5, n_patches=3000,
            thresholds={"shapes": 0.9, "digits": 0.85})


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
    """The first layer's starting weight (out, C, k, k) for a start name. "he" and "he_unit"
    draw the same He-normal weights from `rng`; he_unit then scales them."""
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


@lru_cache(maxsize=4)
def load_data(name, n_train):
    """(train (x, y) capped at n_train, val (x, y), num_classes, image_size) of a dataset, with
    its fixed split (seed 0): every seed trains on the same images."""
    # at least 64 shapes images, so that the validation and test parts are never empty
    ds = D.load(name, seed=0, n=None if name == "digits" else max(n_train * 10 // 7 + 1, 64))
    return (ds.train[0][:n_train], ds.train[1][:n_train]), ds.val, ds.num_classes, ds.image_size


# --------------------------------------------------------------------------- the grid

OPTIONS = {"datasets": SequenceOf(Options(DATASETS, kind="dataset"), what="of shapes, digits"),
           "starts": SequenceOf(Options(ALL_STARTS, kind="prefilters start"), what=f"of {', '.join(STARTS)}"),
           "seeds": SEEDS, **{k: Integer(1) for k in ("n_train", "epochs", "batch_size", "width", "eval_every",
                                                       "n_patches")},
           "kernel_size": Integer(3), "lr": Real(0, low_open=True), "momentum": Real(0, 1)}
RULES = (
    Rule("kernel_size", lambda o: None if o["kernel_size"] % 2 else
         f"kernel_size must be odd (the templates have a centre), got {o['kernel_size']}", worded=True),
    Rule("kernel_size", lambda o: next((      # patches are cut from whole images
        f"kernel_size {o['kernel_size']} is larger than the {name} images ({IMAGE_SIZES[name]}x{IMAGE_SIZES[name]})"
        for name in o["datasets"] if o["kernel_size"] > IMAGE_SIZES[name]), None), worded=True),
    Rule("width", lambda o: None if "hand" not in o["starts"] or o["width"] <= len(HAND_FILTERS) else
         f"the hand start has {len(HAND_FILTERS)} hand-made filters, so width is at most {len(HAND_FILTERS)}; "
         f"got {o['width']}"),
)


def check_options(datasets=DATASETS, starts=STARTS, seeds=tuple(range(8)), thresholds=None, *, n_train=1400,
                  epochs=4, batch_size=32, lr=0.02, momentum=0.9, width=8, kernel_size=3, eval_every=5,
                  n_patches=10_000) -> dict:
    """Every option checked (`OPTIONS`, `RULES`, a threshold per dataset) and completed; a bad
    one is an InvalidValueError naming its keyword (unknown names, counts below 1, a learning
    rate <= 0, a kernel larger than the images, ...)."""
    o = check("prefilters:", OPTIONS, dict(
        datasets=datasets, starts=starts, seeds=seeds, n_train=n_train, epochs=epochs, batch_size=batch_size,
        width=width, eval_every=eval_every, n_patches=n_patches, kernel_size=kernel_size, lr=lr,
        momentum=momentum), RULES)
    thresholds = {**THRESHOLDS, **(thresholds or {})}
    thresholds = check("prefilters: thresholds:", {name: Real(0, 1) for name in o["datasets"]},
                       {name: thresholds[name] for name in o["datasets"]})
    o["thresholds"] = thresholds
    return {k: o[k] for k in ("datasets", "starts", "seeds", "thresholds", "n_train", "epochs", "batch_size", "lr",
                              "momentum", "width", "kernel_size", "eval_every", "n_patches")}



TRAINING = ("n_train", "epochs", "batch_size", "lr", "momentum", "width", "kernel_size", "eval_every", "n_patches")


def configs(options) -> list[dict]:
    """One training run per (dataset, start); the thresholds are applied afterwards, so a
    different threshold reuses the finished runs."""
    common = {key: options[key] for key in TRAINING}
    return [dict(common, dataset=name, start=start) for name in options["datasets"] for start in options["starts"]]


def tasks(options):
    return grid(NAME, configs(options), options["seeds"])


def run_task(task) -> dict:
    """One training run from one first-layer start: its validation curve, the first layer's
    weights before and after, how far they moved and how much they look like the templates."""
    c = task.config
    train, val, num_classes, image_size = load_data(c["dataset"], c["n_train"])
    # shared streams: at one seed every start gets the same draws (he and he_unit the same
    # filters), the same rest of the network and the same batches
    w0 = first_layer(c["start"], train[0], c["width"], c["kernel_size"], task.rng("first", shared=True),
                     c["n_patches"])
    model = build_model(w0, num_classes, image_size, task.rng("rest", shared=True))
    initial_var = float(model[0].forward(train[0][:VAR_IMAGES], training=False).var())
    steps, accs = train_curve(model, train, val, epochs=c["epochs"], batch_size=c["batch_size"], lr=c["lr"],
                              momentum=c["momentum"], eval_every=c["eval_every"],
                              rng=task.rng("data", shared=True))
    w1 = model[0].params["weight"].copy()
    rel, cos = movement(w0, w1)
    return {"steps": steps, "val_acc": accs, "relative_change": rel, "cosine_to_start": cos,
            "initial_output_var": initial_var, "scores_before": template_scores(w0)[0],
            "scores_after": template_scores(w1)[0], "filters_before": w0, "filters_after": w1,
            "n_train": len(train[0]), "n_val": len(val[0])}


# --------------------------------------------------------------------------- summary

def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.prefilters`):

    {"study", "starts", "labels", "settings", "template_names", "datasets": {name: {"threshold",
    "steps" (the evaluated steps), "budget" (the last step: a run that never reached the
    threshold is censored there), "n_train", "n_val", "starts": {start: per-start record}}},
    plus flat summary numbers}. A per-start record holds, one entry per seed: "seeds",
    "val_acc" (seeds x evaluations), "steps_to_threshold" (None = not reached), "final_val_acc",
    "relative_change", "cosine_to_start" (seeds x filters), "mean_cosine" (over filters),
    "initial_output_var", "best_score_before"/"best_score_after" (a filter's best template
    score, mean over filters), "scores_before"/"scores_after" (seeds x filters x templates),
    "filters_before"/"filters_after" (seeds x out x in x k x k); and over seeds: "reached",
    "median_steps_to_threshold", "mean_final_val_acc", "mean_relative_change",
    "mean_cosine_to_start", "min_cosine_to_start", "mean_best_score_before"/"_after"."""
    o = options
    out = {"study": NAME, "starts": list(o["starts"]), "labels": {s: LABELS[s] for s in o["starts"]},
           "datasets": {}}
    for task, result in zip(tasks, results):
        c = task.config
        ds = out["datasets"].setdefault(c["dataset"], {
            "threshold": o["thresholds"][c["dataset"]], "steps": result["steps"], "budget": result["steps"][-1],
            "n_train": result["n_train"], "n_val": result["n_val"], "starts": {}})
        record = ds["starts"].setdefault(c["start"], {key: [] for key in PER_SEED})
        record["seeds"].append(task.seed)
        for key in PER_SEED[1:]:
            record[key].append(result[key])
    for name, ds in out["datasets"].items():
        for start, record in ds["starts"].items():
            record.update(_over_seeds(record, ds["steps"], ds["threshold"]))
    out["template_names"] = list(filters.templates(o["kernel_size"]))      # template_scores' columns
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings["threshold_rule"] = ("the first evaluated step at which the validation accuracy reaches the dataset's "
                                  "threshold; a run that never does is censored at the last step")
    out["settings"] = settings
    out.update(_flat_numbers(out))
    return out


PER_SEED = ("seeds", "val_acc", "relative_change", "cosine_to_start", "initial_output_var", "scores_before",
            "scores_after", "filters_before", "filters_after")


def _over_seeds(record, steps, threshold) -> dict:
    cos = np.asarray(record["cosine_to_start"], dtype=np.float64)
    before = np.asarray(record["scores_before"], dtype=np.float64).max(axis=2).mean(axis=1)
    after = np.asarray(record["scores_after"], dtype=np.float64).max(axis=2).mean(axis=1)
    reached = [steps_to(steps, accs, threshold) for accs in record["val_acc"]]
    finals = [accs[-1] for accs in record["val_acc"]]
    return {"steps_to_threshold": reached, "reached": sum(s is not None for s in reached),
            "median_steps_to_threshold": median_or_none(reached),
            "final_val_acc": finals, "mean_final_val_acc": float(np.mean(finals)),
            "mean_relative_change": float(np.mean(record["relative_change"])),
            "mean_cosine": cos.mean(axis=1).tolist(), "mean_cosine_to_start": float(cos.mean()),
            "min_cosine_to_start": float(cos.min()),
            "best_score_before": before.tolist(), "best_score_after": after.tolist(),
            "mean_best_score_before": float(before.mean()), "mean_best_score_after": float(after.mean())}


def median_or_none(values):
    """The median, with a seed that never reached the threshold counted as slower than all;
    None when such a seed is (part of) the median."""
    ranked = sorted(values, key=lambda v: np.inf if v is None else v)
    mid = len(ranked) // 2
    middle = ranked[mid - 1:mid + 1] if len(ranked) % 2 == 0 else ranked[mid:mid + 1]
    return None if any(v is None for v in middle) else float(np.mean(middle))


def _flat_numbers(out):
    """Top-level scalars (the report's number table): median steps to the threshold, mean final
    accuracy, mean movement and cosine to the start, per dataset and start."""
    flat = {}
    for name, ds in out["datasets"].items():
        pct = int(round(100 * ds["threshold"]))
        for start, r in ds["starts"].items():
            steps = r["median_steps_to_threshold"]
            flat[f"{name}_{start}_median_steps_to_{pct}pct"] = "not reached" if steps is None else steps
            flat[f"{name}_{start}_final_val_acc"] = r["mean_final_val_acc"]
            flat[f"{name}_{start}_relative_change"] = r["mean_relative_change"]
            flat[f"{name}_{start}_cosine_to_start"] = r["mean_cosine_to_start"]
    return flat


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
