"""Study: filters trained in a preprocessing step (transfer, unsupervised pretraining) vs random.

The first conv layer of a small CNN on the scikit-learn digits (conv 3x3 pad 1 -> `width`,
ReLU, max-pool 2, flatten, dense -> 10) starts from one of:

* "random":      He-normal weights (the usual answer);
* "transfer":    the conv filters of the same net trained first on another task, the synthetic
                 shapes drawn at the digits' 8x8 (`data.shapes(size=8)`), with its own head;
* "autoencoder": unsupervised pretraining, a denoising convolutional autoencoder on the
                 unlabelled training images (Vincent et al. 2008): encoder = the first conv
                 layer + ReLU, decoder = conv 3x3 back to the input channels, MSE loss
                 (`losses.MSE`) to the clean image from a corrupted one; the corruption is
                 masking noise, fresh every step (a `Dropout` layer in front: each pixel zeroed,
                 i.e. set to the mean of the standardized data, with probability `noise`);
* "kmeans", "pca": the data-driven starts of `patchinit` (Coates & Ng 2011; PCANet).

Every start but random is rescaled to He's std sqrt(2 / fan_in) (one factor for the layer),
so the starts differ in their filters' directions, not their scale; only the weights are
copied (the bias starts at zero, the head is new). The pretraining is a task of its own (one
per start and seed, the first grid), shared by every label count at that seed; the fine-tuning
runs are the second grid (`followup`), each carrying its start's filters in its configuration.

Fine-tuning: SGD + momentum 0.9 for `steps` steps on `labels` labelled training images (a
class-balanced subset per seed, nested: the 50 are among the 300), "all" = the whole training
split. As a control the started filters are also frozen (`trainable=False`: only the head
learns), and so are random filters ("random" frozen). At one seed every start shares the head's
initial weights, the random filters, the labelled subset and the batch order.

Measured per run: test accuracy every `eval_every` steps and at the end; the steps until test
accuracy reaches the threshold (per label count: chance + `fraction` of the way to the best
final accuracy any run reached at that count); how far the first-layer filters moved,
||W_end - W_0|| / ||W_0||.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import data as D
from .. import patchinit
from ..constraints import Integer, Options, Real, Rule, Satisfies, SequenceOf, check, fail, is_int
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import Task, grid
from ..layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from ..losses import MSE
from ..model import Sequential
from ..optim import SGD, Adam
from .training import accuracy, train_steps

NAME = "pretrain"
STARTS = ("random", "transfer", "autoencoder", "kmeans", "pca")
PRETRAINED = STARTS[1:]                  # the starts whose filters come from a first stage
KERNEL = 3
SOURCE_IMAGES = 2000                     # shapes images for the transfer source task

TINY = dict(starts=("random", "transfer", "autoencoder"), frozen=("random", "autoencoder"), labels=(30, "all"),
            width=4, steps=20, pretrain_steps=20, eval_every=10, seeds=(0, 1, 2), n_patches=1000)
DEMO = dict(starts=("random", "transfer", "autoencoder", "kmeans"), frozen=("random", "transfer", "autoencoder"),
            labels=(50, 300, "all"), width=8, steps=100, pretrain_steps=200, eval_every=10,
            seeds=tuple(range(8)), n_patches=4000)


@lru_cache(maxsize=2)
def _digits():
    return D.load("digits", seed=0)


@lru_cache(maxsize=2)
def _shapes():
    """The transfer source: shapes at the digits' 8x8, standardized with their own statistics."""
    x, y = D.shapes(SOURCE_IMAGES, size=8, rng=np.random.default_rng(0))
    x = (x - x.mean()) / x.std()
    return x.astype(np.float32), y, int(y.max()) + 1


OPTIONS = {"starts": SequenceOf(Options(STARTS, kind="start")),
           "labels": SequenceOf(Satisfies(lambda v: v == "all" or (is_int(v) and v >= 10), "an integer >= 10 or 'all'"),
                                what="number of labelled images"),
           "seeds": SEEDS, "width": Integer(1), "steps": Integer(1), "pretrain_steps": Integer(1),
           "lr": Real(0, low_open=True), "momentum": Real(0, 1, high_open=True), "batch_size": Integer(1),
           "eval_every": Integer(1), "fraction": Real(0, 1, low_open=True, high_open=True),
           "noise": Real(0, 1, high_open=True), "pretrain_lr": Real(0, low_open=True), "n_patches": Integer(1)}
RULES = (
    Rule("starts", lambda o: None if "random" in o["starts"] else
         f"expected 'random' among them (every claim compares with it), got {o['starts']}"),
    Rule("width", lambda o: None if "pca" not in o["starts"] or o["width"] <= KERNEL * KERNEL else
         f"the pca start has at most {KERNEL * KERNEL} filters (3x3 patches), got {o['width']}"),
)


def check_options(starts=STARTS, frozen=None, labels=(50, 100, 300, "all"),
                  width=8, steps=300, *, pretrain_steps=400, seeds=tuple(range(8)), lr=0.05, momentum=0.9,
                  batch_size=32, eval_every=10, fraction=0.9, noise=0.25, pretrain_lr=3e-3,
                  n_patches=10_000) -> dict:
    """Every option checked (`OPTIONS`, `RULES`, frozen among the starts, labels among the
    training images) and completed; a bad one is an error naming its keyword."""
    o = check("", OPTIONS, dict(
        starts=tuple(dict.fromkeys(starts)), labels=labels, seeds=seeds, width=width, steps=steps,
        pretrain_steps=pretrain_steps, lr=lr, momentum=momentum, batch_size=batch_size, eval_every=eval_every,
        fraction=fraction, noise=noise, pretrain_lr=pretrain_lr, n_patches=n_patches), RULES)
    starts = o["starts"]
    if frozen is None:          # the default control: random and the two trained-in-advance starts
        frozen = tuple(s for s in ("random", "transfer", "autoencoder") if s in starts)
    frozen = check("", {"frozen": SequenceOf(Options(starts, kind="frozen start (one of --starts)"),
                                             allow_empty=True)}, {"frozen": tuple(dict.fromkeys(frozen))})["frozen"]
    n_train = len(_digits().train[0])
    counts = [n_train if value == "all" else int(value) for value in o["labels"]]
    if max(counts) > n_train:
        raise fail("", "labels", f"expected at most the {n_train} training images (or 'all'), got {max(counts)}")
    return dict(starts=starts, frozen=frozen, labels=tuple(sorted(set(counts))), width=o["width"],
                **{k: o[k] for k in ("steps", "pretrain_steps", "seeds", "lr", "momentum", "batch_size",
                                     "eval_every", "fraction", "noise", "pretrain_lr", "n_patches")})



# --------------------------------------------------------------------------- nets and starts

def classifier(width, num_classes, rng, conv_weight=None, frozen=False) -> Sequential:
    """conv 3x3 pad 1 -> width, ReLU, max-pool 2, flatten, dense -> num_classes (8x8 inputs)."""
    conv = Conv2D(1, width, KERNEL, padding=1, weight_init="he_normal" if conv_weight is None else conv_weight,
                  rng=rng, trainable=not frozen)
    return Sequential([conv, ReLU(), MaxPool2D(2), Flatten(), Dense(width * 16, num_classes, rng=rng)])


def he_scaled(weight) -> np.ndarray:
    """`weight` times one factor so that its std is He's, sqrt(2 / fan_in)."""
    weight = np.asarray(weight, dtype=np.float64)
    target = math.sqrt(2.0 / (weight.shape[1] * weight.shape[2] * weight.shape[3]))
    return (weight * (target / weight.std())).astype(np.float32)


def pretrain_transfer(c, rng) -> dict:
    """Train the classifier on the shapes (its own head); its conv filters and source accuracy."""
    x, y, classes = _shapes()
    cut = len(x) * 4 // 5
    model = classifier(c["width"], classes, rng)
    losses = train_steps(model, (x[:cut], y[:cut]), SGD(model, lr=c["lr"], momentum=c["momentum"]),
                         steps=c["pretrain_steps"], batch_size=c["batch_size"], rng=rng, drop_last=True,
                         where="pretrain")
    return {"weight": model[0].params["weight"], "losses": losses.tolist(),
            "source_accuracy": accuracy(model, x[cut:], y[cut:])}


def pretrain_autoencoder(c, rng) -> dict:
    """A denoising conv autoencoder on the unlabelled training images; its encoder's filters."""
    x = _digits().train[0]
    encoder = Conv2D(1, c["width"], KERNEL, padding=1, rng=rng)
    model = Sequential([Dropout(c["noise"], rng=rng), encoder, ReLU(), Conv2D(c["width"], 1, KERNEL, padding=1, rng=rng)])
    losses = train_steps(model, (x, x), Adam(model, lr=c["pretrain_lr"]), steps=c["pretrain_steps"],
                         batch_size=c["batch_size"], rng=rng, drop_last=True, loss_fn=MSE(), where="pretrain")
    return {"weight": encoder.params["weight"], "losses": losses.tolist()}


def pretrain_patches(c, rng) -> dict:
    method = patchinit.patch_kmeans if c["start"] == "kmeans" else patchinit.patch_pca
    return {"weight": method(_digits().train[0], c["width"], KERNEL, rng=rng, n_patches=c["n_patches"], padding=1)}


PRETRAIN = {"transfer": pretrain_transfer, "autoencoder": pretrain_autoencoder, "kmeans": pretrain_patches,
            "pca": pretrain_patches}


def labelled_subset(y, count, rng) -> np.ndarray:
    """Indices of `count` examples, class-balanced and nested: the first `count` of a random
    round-robin over the classes (so a smaller count's subset is inside a larger one's)."""
    order = rng.permutation(len(y))
    rank = np.empty(len(y), dtype=np.int64)
    for k in np.unique(y):
        members = order[y[order] == k]
        rank[members] = np.arange(len(members))
    position = np.empty(len(y), dtype=np.int64)
    position[order] = np.arange(len(y))
    chosen = np.lexsort((position, rank))[:count]       # by rank in class, then random order
    return np.sort(chosen)


# --------------------------------------------------------------------------- the grids

def _pretrain_config(options, start):
    keys = ("width", "pretrain_steps", "lr", "momentum", "batch_size", "noise", "pretrain_lr", "n_patches")
    return dict(kind="pretrain", start=start, **{k: options[k] for k in keys})


def tasks(options) -> list[Task]:
    """The first grid: one pretraining task per pretrained start and seed."""
    configs = [_pretrain_config(options, s) for s in options["starts"] if s != "random"]
    return grid(NAME, configs, options["seeds"])


def _runs(options):
    return ([(s, False) for s in options["starts"]] + [(s, True) for s in options["frozen"]])


def followup(options, tasks, results) -> list[Task]:
    """The second grid: every (start, frozen or not, label count) at every seed, fine-tuned from
    the filters its seed's pretraining task made."""
    filters = {(t.config["start"], t.seed): r["weight"] for t, r in zip(tasks, results) if t.config["kind"] == "pretrain"}
    keys = ("width", "steps", "lr", "momentum", "batch_size", "eval_every")
    out = []
    for start, frozen in _runs(options):
        for labels in options["labels"]:
            for seed in options["seeds"]:
                config = dict(kind="finetune", start=start, frozen=frozen, labels=labels,
                              filters=filters.get((start, seed)), **{k: options[k] for k in keys})
                out.append(Task(NAME, config, seed))
    return out


def run_task(task) -> dict:
    """A pretraining run (the filters it made, as nested lists) or a fine-tuning run (test
    accuracy every eval_every steps, the final filters and how far they moved)."""
    c = task.config
    if c["kind"] == "pretrain":
        made = PRETRAIN[c["start"]](c, task.rng("pretrain"))
        made["weight"] = he_scaled(made["weight"]).tolist()
        return made
    ds = _digits()
    x, y = ds.train
    keep = labelled_subset(y, c["labels"], task.rng("labels", shared=True))
    # shared streams: at one seed every start gets the same head, random filters and batches
    random_filters = Conv2D(1, c["width"], KERNEL, padding=1, rng=task.rng("filters", shared=True)).params["weight"]
    start = random_filters if c["filters"] is None else np.asarray(c["filters"], dtype=np.float32)
    model = classifier(c["width"], ds.num_classes, task.rng("head", shared=True), conv_weight=start,
                       frozen=c["frozen"])
    curve = [accuracy(model, *ds.test)]

    def on_snapshot(step):
        if step:
            curve.append(accuracy(model, *ds.test))

    train_steps(model, (x[keep], y[keep]), SGD(model, lr=c["lr"], momentum=c["momentum"]), steps=c["steps"],
                batch_size=min(c["batch_size"], c["labels"]), rng=task.rng("data", shared=True), drop_last=True,
                every=c["eval_every"], on_snapshot=on_snapshot, where="pretrain")
    end = model[0].params["weight"]
    moved = float(np.linalg.norm(end - start) / np.linalg.norm(start))
    out = {"curve": curve, "accuracy": curve[-1], "moved": moved, "weight": end.tolist()}
    if c["filters"] is None:
        out["initial"] = start.tolist()
    return out


# --------------------------------------------------------------------------- summary

def run_key(start, frozen, labels) -> str:
    return f"{start}{'/frozen' if frozen else ''}@{labels}"


def steps_to(curve, threshold, eval_every, steps):
    """The first evaluated step whose test accuracy is at least `threshold`, or None."""
    points = [min(i * eval_every, steps) for i in range(len(curve))]
    return next((p for p, a in zip(points, curve) if a >= threshold), None)


def summarize(options, tasks, results) -> dict:
    """Measurements only (claims: `initlab.claims.pretrain`):

    {"settings", "chance", "labels" (the counts), "thresholds": {labels: accuracy},
    "pretraining": {start: {"losses"/"source_accuracy" per seed (where measured)}},
    "filters": {start: {"pretrained", "finetuned"}: the first seed's filters before and after
    fine-tuning at the fewest labels}, "runs": {"<start>[/frozen]@<labels>": {start, frozen,
    labels, seeds, accuracy, curve, moved, steps_to_threshold (per seed, None = never)}}}."""
    o = options
    first_seed, fewest = o["seeds"][0], o["labels"][0]
    pretraining: dict = {}
    filters: dict = {}
    runs: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        if c["kind"] == "pretrain":
            entry = pretraining.setdefault(c["start"], {"seeds": [], "final_loss": [], "source_accuracy": []})
            entry["seeds"].append(task.seed)
            if "losses" in result:
                entry["final_loss"].append(float(np.mean(result["losses"][-10:])))
            if "source_accuracy" in result:
                entry["source_accuracy"].append(result["source_accuracy"])
            continue
        run = runs.setdefault(run_key(c["start"], c["frozen"], c["labels"]),
                              {"start": c["start"], "frozen": c["frozen"], "labels": c["labels"], "seeds": [],
                               "accuracy": [], "curve": [], "moved": []})
        run["seeds"].append(task.seed)
        for key in ("accuracy", "curve", "moved"):
            run[key].append(result[key])
        if task.seed == first_seed and c["labels"] == fewest and not c["frozen"]:
            before = c["filters"] if c["filters"] is not None else result["initial"]
            filters[c["start"]] = {"pretrained": before, "finetuned": result["weight"]}
    best = {n: max(float(np.median(r["accuracy"])) for r in runs.values() if r["labels"] == n) for n in o["labels"]}
    chance = 1.0 / _digits().num_classes
    thresholds = {n: chance + o["fraction"] * (best[n] - chance) for n in o["labels"]}
    for run in runs.values():
        run["steps_to_threshold"] = [steps_to(curve, thresholds[run["labels"]], o["eval_every"], o["steps"])
                                     for curve in run["curve"]]
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    return {"settings": settings, "chance": chance, "labels": list(o["labels"]),
            "thresholds": {str(n): v for n, v in thresholds.items()}, "pretraining": pretraining,
            "filters": filters, "runs": runs}


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
