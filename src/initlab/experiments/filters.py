"""Study 5: how does a filter come to detect an "X"? Is an X kernel learned by itself?

A small CNN is trained on the synthetic shapes (16x16 images of x, o, plus, square, lines and
diagonals, 8 classes). `model="two_conv"` (default):

    conv 5x5 -> `width` (pad 2), ReLU, max pool 2, conv 3x3 -> 16 (pad 1), ReLU, max pool 2,
    flatten, dense 8;

`model="one_conv"`: conv 5x5 -> `width` (pad 2), ReLU, global max pool, flatten, dense 8, where
the kernels must be the shape detectors themselves (only a linear read-out follows them).

The first layer's kernels are 5x5 so that an X, a plus or a diagonal stroke can be drawn in one
kernel: at 3x3 the templates are so small that random kernels match them by chance (the best of
8 random 3x3 kernels scores above 0.8 against the X about one time in 20; at 5x5 the 95th
percentile is about 0.53), and a score would say nothing.

Measured, for each start and seed: the first layer's kernels every `every` steps, each kernel's
template scores (`diagnostics.template_scores`: |Pearson correlation| with x, plus, diagonal,
antidiagonal, hline, vline, edge_x, edge_y, edges) and the validation accuracy. Starts:

* random inits by name ("he_normal", "glorot_uniform", ...): the usual answer;
* "hand": the hand-made bank (HAND_FILTERS: edge_x, edge_y, x_shape, plus, diagonals, lines),
  each filter rescaled to the norm He's init gives a filter on average, sqrt(2 k^2 C / fan_in)
  = sqrt(2), then trained like the rest; "hand_frozen": the same, never trained (trainable=False).

The grid: one task per (start, seed) trains one net; for one seed every start shares the rest
of the network's initial weights and the batch order (common random numbers), so runs differ
only in the first layer and a paired comparison over seeds measures the start. Each run also
records its test accuracy per class and the first layer's feature maps of one X image.

"Is the X filter learned by itself?" is answered against chance: one task per random init (and
for He normal whenever a hand start runs) draws `n_null` whole first layers from that init: the
distribution of the best-of-`width` score for each template, and of a single kernel's score
(what random kernels score with no training at all). A template is "learned" in a run when the
best kernel after training scores above that distribution's 95th percentile.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import data as D
from .. import filters as hand
from .. import init as I
from ..diagnostics import template_scores
from ..constraints import InstanceOf, Integer, Options, Real, Rule, SequenceOf, about, check
from ..errors import InvalidValueError, UnknownNameError, unknown_name
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import Task, grid
from ..layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from ..model import Sequential
from ..optim import SGD
from ..rng import as_generator
from .training import accuracy, train_steps

RANDOM_STARTS = ("he_normal", "glorot_uniform")
HAND_STARTS = ("hand", "hand_frozen")
STARTS = RANDOM_STARTS + HAND_STARTS
HAND_FILTERS = ("edge_x", "edge_y", "x_shape", "plus_shape", "diagonal", "antidiagonal", "hline", "vline")
LABELS = {"he_normal": "random (He normal)", "glorot_uniform": "random (Glorot uniform)",
          "hand": "hand-made, trained", "hand_frozen": "hand-made, frozen"}
CHANCE_PERCENTILE = 95
NAME = "filters"
REFERENCE = "he_normal"     # the random init whose chance level a hand-made kernel is compared with

TINY = dict(starts=("he_normal", "hand"), seeds=(0, 1, 2), steps=12, every=4, eval_every=2, n_images=400,
            n_null=200)
# the demo's budget (~40 CPU seconds) holds 24 runs of 200 steps: the two starts the claims compare
# (hand_frozen and glorot_uniform left out), 12 seeds each, since hand vs random is a small effect
DEMO = dict(starts=("he_normal", "hand"), seeds=tuple(range(12)), steps=200, every=25, eval_every=20,
            batch_size=32, n_null=1000)


# --------------------------------------------------------------------------- the network

def hand_bank(width, kernel_size, in_channels=1):
    """The first `width` of HAND_FILTERS at kernel_size, each filter scaled to norm sqrt(2)
    (He's expected filter norm: k*k*C weights of variance 2 / fan_in)."""
    if width > len(HAND_FILTERS):
        raise InvalidValueError(
            f"filters: width={width} needs more hand-made filters than the {len(HAND_FILTERS)} in HAND_FILTERS; "
            f"use a width of at most {len(HAND_FILTERS)} with the hand starts")
    bank = hand.bank(HAND_FILTERS[:width], in_channels, size=kernel_size).astype(np.float64)
    norms = np.linalg.norm(bank.reshape(width, -1), axis=1)
    return (bank * (math.sqrt(2.0) / norms)[:, None, None, None]).astype(np.float32)


MODELS = ("two_conv", "one_conv")


def build_model(start, width, kernel_size, num_classes, image_size, first_rng, rest_rng, model="two_conv"):
    """The study's CNN; the first layer from `start`, the others (He normal) from `rest_rng`."""
    h, w = image_size
    if start in HAND_STARTS:
        first = Conv2D(1, width, kernel_size, padding=kernel_size // 2, weight_init=hand_bank(width, kernel_size),
                       trainable=(start == "hand"))
    else:
        first = Conv2D(1, width, kernel_size, padding=kernel_size // 2, weight_init=start, rng=first_rng)
    if model == "one_conv":
        return Sequential([first, ReLU(), MaxPool2D((h, w)), Flatten(), Dense(width, num_classes, rng=rest_rng)])
    return Sequential([
        first, ReLU(), MaxPool2D(2),
        Conv2D(width, 16, 3, padding=1, rng=rest_rng), ReLU(), MaxPool2D(2),
        Flatten(), Dense(16 * (h // 4) * (w // 4), num_classes, rng=rest_rng),
    ])


# --------------------------------------------------------------------------- chance level

def null_layers(start, width, kernel_size, n_null, rng):
    """n_null first layers drawn one after another from `start`, each of the real layer's shape
    (width, 1, k, k), so its fans and any coupling between its rows (orthogonal rows, ...) are
    the real layer's -> (n_null, width, 1, k, k)."""
    rng = as_generator(rng)
    shape = (width, 1, kernel_size, kernel_size)
    return np.stack([I.initialize(start, shape, rng, dtype=np.float64) for _ in range(n_null)])


def null_distribution(start, width, kernel_size, n_null, rng):
    """What random kernels score with no training: n_null first layers drawn from `start`.

    Returns (best_of_width (n_null, templates): for each draw and template, the best score over
    the width kernels; single (n_null * width,): each kernel's best score over the templates;
    scores (n_null * width, templates): each kernel's score for each template)."""
    weights = null_layers(start, width, kernel_size, n_null, rng)
    scores, _ = template_scores(weights.reshape(n_null * width, 1, kernel_size, kernel_size))
    return scores.reshape(n_null, width, -1).max(axis=1), scores.max(axis=1), scores


def percentile_of(value, sample):
    """The percentage of `sample` strictly below `value` (0..100)."""
    return float(100.0 * np.mean(np.asarray(sample) < value))


# --------------------------------------------------------------------------- one run

@lru_cache(maxsize=2)
def _shapes(n_images):
    return D.load("shapes", n=n_images)


def train_one(start, ds, *, width, kernel_size, steps, every, batch_size, lr, momentum, weight_decay=0.0,
              architecture="two_conv", eval_every=None, first_rng=None, rest_rng=None, order_rng=None):
    """One run: kernels (and their template scores) every `every` steps, validation accuracy
    every `eval_every` steps (default: with the kernels), both at step 0 and after the last;
    then the test accuracy (overall and per class) and the feature maps of one X test image."""
    eval_every = every if eval_every is None else eval_every
    model = build_model(start, width, kernel_size, ds.num_classes, ds.image_size, first_rng, rest_rng, architecture)
    snap = {"steps": [], "weights": [], "curve_steps": [], "val_acc": []}

    def on_snapshot(step):
        if step % every == 0 or step == steps:
            snap["steps"].append(step)
            snap["weights"].append(model[0].params["weight"][:, 0].copy())
        if step % eval_every == 0 or step == steps:
            snap["curve_steps"].append(step)
            snap["val_acc"].append(accuracy(model, *ds.val))

    optimizer = SGD(model, lr=lr, momentum=momentum, weight_decay=weight_decay)
    train_steps(model, ds.train, optimizer, steps=steps, batch_size=batch_size, rng=order_rng,
                every=math.gcd(every, eval_every), on_snapshot=on_snapshot, nonfinite="raise", where="filters")
    weights = np.array(snap["weights"])                               # snapshots x width x k x k
    scores, names = template_scores(weights.reshape(-1, 1, kernel_size, kernel_size))
    x_test, y_test = ds.test
    with np.errstate(all="ignore"):
        predicted = model.predict(x_test).argmax(axis=1)
    per_class = [float(np.mean(predicted[y_test == k] == k)) if np.any(y_test == k) else None
                 for k in range(ds.num_classes)]
    x_class = list(ds.class_names).index("x")
    index = int(np.flatnonzero(y_test == x_class)[0])
    maps, x_map = feature_maps(model, x_test[index:index + 1], kernel_size)
    return {"steps": snap["steps"], "weights": weights, "val_acc": snap["val_acc"], "curve_steps": snap["curve_steps"],
            "scores": scores.reshape(len(weights), width, -1), "template_names": names,
            "test_acc": float(np.mean(predicted == y_test)), "test_acc_per_class": per_class,
            "relative_change": _relative_change(weights[0], weights[-1]),
            "feature_maps": {"image": x_test[index, 0], "maps": maps, "x_shape_map": x_map, "test_index": index}}


def feature_maps(model, image, kernel_size):
    """The first layer's feature maps (after ReLU) of one image (1, C, H, W) -> (width, H, W),
    and the plain (unscaled) x_shape kernel's response to it -> (H, W)."""
    maps = model[1].forward(model[0].forward(image, training=False), training=False)[0]
    x_kernel = hand.bank(["x_shape"], image.shape[1], size=kernel_size)
    from ..convolution import conv2d
    return maps, conv2d(image, x_kernel, padding=kernel_size // 2)[0, 0]


# --------------------------------------------------------------------------- the grid

OPTIONS = {"model": Options(MODELS, kind="filters model"),
           "starts": SequenceOf(InstanceOf(object, "a start"), what=f"start, e.g. {', '.join(STARTS)}"),
           "seeds": SEEDS, "width": Integer(1), "kernel_size": Integer(3),
           **{k: Integer(1) for k in ("steps", "every", "eval_every", "batch_size")},
           "lr": Real(0, low_open=True), "momentum": Real(0, 1), "weight_decay": Real(0),
           "n_images": Integer(80), "n_null": Integer(20)}
RULES = (Rule("kernel_size", lambda o: None if o["kernel_size"] % 2 else
              f"kernel_size must be odd (templates have a centre), got {o['kernel_size']}", worded=True),)


def _check_start(name):
    """A hand start, or an initializer (`init.get`): its own error for a known initializer
    with a bad parameter, else "unknown filters start" with the choices."""
    if name in HAND_STARTS:
        return
    try:
        I.get(name)
    except UnknownNameError:
        if str(name).split("(")[0].split("*")[0].strip() in I.names(aliases=True):
            raise
        raise unknown_name("filters start", name, list(HAND_STARTS) + I.names(aliases=True)) from None


def check_options(starts=STARTS, seeds=tuple(range(8)), width=8, kernel_size=5, model="two_conv", *, steps=600,
                  every=25, eval_every=5, batch_size=64, lr=0.02, momentum=0.9, weight_decay=0.0, n_images=3000,
                  n_null=2000) -> dict:
    """Every option checked (`OPTIONS`, `RULES`, each start) and completed; clear errors
    (unknown start or initializer, sizes, counts below 1, a learning rate <= 0, ...) naming the
    keyword."""
    o = check("filters:", OPTIONS, dict(
        model=model, starts=starts, seeds=seeds, width=width, kernel_size=kernel_size, steps=steps, every=every,
        eval_every=eval_every, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
        n_images=n_images, n_null=n_null), RULES)
    with about("starts"):
        for name in o["starts"]:
            _check_start(name)
    if any(s in HAND_STARTS for s in o["starts"]):
        with about("width"):
            hand_bank(o["width"], o["kernel_size"])
    return {k: o[k] for k in ("starts", "seeds", "width", "kernel_size", "model", "steps", "every", "eval_every",
                              "batch_size", "lr", "momentum", "weight_decay", "n_images", "n_null")}



TRAINING = ("model", "width", "kernel_size", "steps", "every", "eval_every", "batch_size", "lr", "momentum",
            "weight_decay", "n_images")


def null_starts(options) -> list:
    """The inits whose chance level is drawn: every random start, and He normal for a hand start."""
    randoms = [s for s in options["starts"] if s not in HAND_STARTS]
    if any(s in HAND_STARTS for s in options["starts"]) and REFERENCE not in randoms:
        randoms.append(REFERENCE)
    return randoms


def tasks(options):
    """Every (start, seed) training run, then one chance-level task per init of `null_starts`."""
    train = [dict(kind="train", start=s, **{k: options[k] for k in TRAINING}) for s in options["starts"]]
    null = [dict(kind="null", start=s, width=options["width"], kernel_size=options["kernel_size"],
                 n_null=options["n_null"]) for s in null_starts(options)]
    return grid(NAME, train, options["seeds"]) + [Task(NAME, c, 0) for c in null]


def run_task(task) -> dict:
    c = task.config
    if c["kind"] == "null":
        best, single, by_template = null_distribution(c["start"], c["width"], c["kernel_size"], c["n_null"],
                                                      task.rng("null"))
        return {"best_of_width": best, "single_p95": float(np.percentile(single, CHANCE_PERCENTILE)),
                "single_p95_per_template": np.percentile(by_template, CHANCE_PERCENTILE, axis=0)}
    return train_one(c["start"], _shapes(c["n_images"]), width=c["width"], kernel_size=c["kernel_size"],
                     steps=c["steps"], every=c["every"], eval_every=c["eval_every"], batch_size=c["batch_size"],
                     lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"], architecture=c["model"],
                     first_rng=task.rng("init"), rest_rng=task.rng("rest", shared=True),
                     order_rng=task.rng("data", shared=True))


# --------------------------------------------------------------------------- summary

def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.filters`):

    {"study", "starts", "random_starts", "labels", "template_names", "steps" (kernel snapshot
    steps), "curve_steps" (validation steps), "runs": {start: {"val_acc" (seeds x curve steps),
    "auc" (seeds: mean validation accuracy over the run), "test_acc", "x_class_acc" (seeds),
    "scores" (seeds x snapshots x width x templates), "best_before"/"best_after" (seeds x
    templates), "percentile_before"/"percentile_after" (random starts: where the best kernel
    falls in the chance distribution), "relative_change" (seeds), "final_kernels" (first
    seed)}}, "null": {init: {"p5"/"p50"/"p95" (templates), "single_p95",
    "single_p95_per_template", "n"}}, "evolution" (the first random run's kernels), "closest",
    "feature_maps" (one X image through that run's first layer), "answer" (per template, over
    the random runs), "settings"}."""
    o = options
    ds = _shapes(o["n_images"])
    runs, null = {}, {}
    for task, r in zip(tasks, results):
        if task.config["kind"] == "null":
            null[task.config["start"]] = r
        else:
            runs.setdefault(task.config["start"], []).append(r)
    starts = list(o["starts"])
    random_starts = [s for s in starts if s not in HAND_STARTS]
    first = runs[starts[0]][0]
    names = first["template_names"]
    x_class = list(ds.class_names).index("x")
    out = {"study": NAME, "starts": starts, "random_starts": random_starts,
           "labels": {s: LABELS.get(s, f"random ({s})") for s in starts}, "template_names": names,
           "steps": first["steps"], "curve_steps": first["curve_steps"],
           "runs": {s: _collect(per_seed, null.get(s), x_class) for s, per_seed in runs.items()},
           "null": {s: _null_summary(r) for s, r in null.items()}}
    evo_start = random_starts[0] if random_starts else starts[0]
    evo = runs[evo_start][0]
    out["evolution"] = {"start": evo_start, "seed": o["seeds"][0], "weights": evo["weights"], "scores": evo["scores"]}
    out["closest"] = _closest(runs, random_starts, o["seeds"], o["kernel_size"], names)
    out["feature_maps"] = dict(evo["feature_maps"], start=evo_start, seed=o["seeds"][0])
    out["answer"] = _answer(out)
    out["settings"] = dict({k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()},
                           n_train=len(ds.train[0]), n_val=len(ds.val[0]), n_test=len(ds.test[0]),
                           hand_filters=list(HAND_FILTERS[:o["width"]]), chance_percentile=CHANCE_PERCENTILE,
                           classes=list(ds.class_names), reference=REFERENCE)
    return out


def _collect(per_seed, null, x_class):
    scores = np.array([r["scores"] for r in per_seed])                # seeds x snaps x width x T
    best = scores.max(axis=2)                                          # seeds x snaps x T
    val = np.array([r["val_acc"] for r in per_seed])
    rec = {"val_acc": val, "auc": val.mean(axis=1), "test_acc": np.array([r["test_acc"] for r in per_seed]),
           "x_class_acc": np.array([r["test_acc_per_class"][x_class] for r in per_seed]),
           "scores": scores, "best_before": best[:, 0], "best_after": best[:, -1],
           "relative_change": np.array([r["relative_change"] for r in per_seed]),
           "final_kernels": np.asarray(per_seed[0]["weights"][-1])}
    if null is not None:
        best_of_width = np.asarray(null["best_of_width"])
        rec["percentile_before"] = np.array([[percentile_of(v, best_of_width[:, t]) for t, v in enumerate(row)]
                                             for row in rec["best_before"]])
        rec["percentile_after"] = np.array([[percentile_of(v, best_of_width[:, t]) for t, v in enumerate(row)]
                                            for row in rec["best_after"]])
    return rec


def _relative_change(w0, w1):
    """||W_end - W_0|| / ||W_0|| of the first layer (0 for a frozen layer)."""
    return float(np.linalg.norm(np.asarray(w1) - np.asarray(w0)) / np.linalg.norm(w0))


def _null_summary(r):
    best_of_width = np.asarray(r["best_of_width"])
    return {"p5": np.percentile(best_of_width, 5, axis=0), "p50": np.percentile(best_of_width, 50, axis=0),
            "p95": np.percentile(best_of_width, CHANCE_PERCENTILE, axis=0), "single_p95": r["single_p95"],
            "single_p95_per_template": np.asarray(r["single_p95_per_template"]), "n": len(best_of_width)}


def _closest(runs, random_starts, seeds, kernel_size, names):
    """Over every random run: the final kernel with the highest X score, sign-flipped so that it
    correlates positively with x_shape, with its starting kernel (flipped alike: the same
    filter) and its scores."""
    x = names.index("x")
    template = hand.x_shape(kernel_size).astype(np.float64)
    best = None
    for start in random_starts or list(runs):
        for seed, r in zip(seeds, runs[start]):
            final = np.asarray(r["scores"][-1])[:, x]
            j = int(final.argmax())
            if best is None or final[j] > best["score"]:
                best = {"start": start, "seed": seed, "index": j, "score": float(final[j]),
                        "score_at_init": float(np.asarray(r["scores"][0])[j, x]),
                        "kernel": np.asarray(r["weights"][-1])[j], "kernel_at_init": np.asarray(r["weights"][0])[j]}
    final = best["kernel"].astype(np.float64)
    sign = 1.0 if np.sum((final - final.mean()) * (template - template.mean())) >= 0 else -1.0
    for key in ("kernel", "kernel_at_init"):
        best[key] = sign * best[key].astype(np.float64)
    best["template"] = template
    return best


def _answer(out):
    """Per template, over every random run: how many runs' best kernel scores above the chance
    distribution's 95th percentile before and after training, and the mean scores."""
    names = out["template_names"]
    rows = {}
    for t, name in enumerate(names):
        after, before, p95, pct, pct0 = [], [], [], [], []
        for start in out["random_starts"]:
            r = out["runs"][start]
            after += list(r["best_after"][:, t])
            before += list(r["best_before"][:, t])
            pct += list(r["percentile_after"][:, t])
            pct0 += list(r["percentile_before"][:, t])
            p95 += [out["null"][start]["p95"][t]] * len(r["best_after"])
        if not after:
            continue
        rows[name] = {"runs": len(after), "above_chance_after": int(sum(a > p for a, p in zip(after, p95))),
                      "above_chance_before": int(sum(b > p for b, p in zip(before, p95))),
                      "mean_best_before": float(np.mean(before)), "mean_best_after": float(np.mean(after)),
                      "mean_percentile_before": float(np.mean(pct0)), "mean_percentile_after": float(np.mean(pct)),
                      "chance_p95": float(np.mean(p95))}
    return rows


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
