"""Study 4: does the init matter for training? Deep plain ConvNets with Glorot, He, orthogonal.

He et al. 2015 (Figure 3): a 30-layer plain ReLU net (no batch norm, no skip connections)
initialized with Glorot's variance stalls, while He's converges. The reason, layer by layer:
Glorot's variance 2 / (fan_in + fan_out) = 1 / fan_in for a square conv, half of what a ReLU
layer needs (it zeroes half the signal), so each layer halves the variance of the signal going
up and of the gradient coming down; after L layers the gradient reaching the first layer is
2^(-(L-1)/2) times He's. With biases and momentum a Glorot net may still get going, much later:
so this study measures *when*, at several depths, over seeds.

The nets: `depth` conv 3x3 layers (pad 1, `width` channels, biases zero), each followed by the
activation, then flatten and a dense layer to the classes, trained with SGD + momentum on the
scikit-learn digits (8x8, standardized). The flatten head (not `plain_cnn`'s global average
pooling) keeps the comparison about the init: after global pooling the features of a freshly
initialized deep ReLU stack are 97-99% the same for every image (measured), and every init
then starts slowly. The learning rate is `lr * 10 / depth`, the same for every init at a
depth: a deeper plain net needs a smaller step to be stable.

Inits (names for `inits`), all biases zero:
* "glorot": glorot_normal; "he": he_normal; "orthogonal": orthogonal with gain sqrt(2)
  (Saxe et al. 2014, scaled to He's variance), every layer including the head;
* "delta_orthogonal" (the `critical` run, tanh, at the largest depth): Xiao et al. 2018's
  delta-orthogonal kernels with gain 1, the critical point of a tanh net without biases
  (chi = sigma_w^2 E[tanh'(z)^2] -> 1), and an orthogonal head.

The grid: one task per (depth, init, seed) trains for the whole step budget (the curves are
shown in full); one task per (depth, Glorot or He, seed) measures the gradients at init, each
init from its own independent draws. Every init at one seed sees the same batches.

The threshold, per depth: halfway from the loss at chance (ln of the class count) to the best
loss any run reached at that depth (the trailing mean over `window` steps). It asks "has this
run covered half of what training achieved here?", a bar set by the runs themselves rather
than a fixed number that is easy at one depth and out of reach at another.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import data as D
from ..diagnostics import signal_propagation
from ..constraints import Boolean, Integer, Optional, Options, Real, SequenceOf, check
from ..lab.study import SEEDS, study_runner
from ..validate import positive_int
from ..lab.tasks import grid
from ..layers import Conv2D, Dense, Flatten, activation_layer
from ..model import Sequential
from ..optim import SGD
from ..rng import as_generator
from .training import batches_per_pass, train_steps

NAME = "depth"
SQRT2 = math.sqrt(2.0)
INITS = {"glorot": ("relu", "glorot_normal"), "he": ("relu", "he_normal"),
         "orthogonal": ("relu", f"orthogonal(gain={SQRT2!r})")}
CRITICAL = ("delta_orthogonal", "tanh", "delta_orthogonal(gain=1.0)")
CONV_ONLY = ("delta_orthogonal", "dirac")      # schemes that do not apply to a dense weight
PROBE = 64                                     # images in the batch that measures gradients at init

TINY = dict(depths=(2, 5), width=8, steps=60, n_train=400, batch_size=32, critical=False, seeds=(0, 1, 2))
DEMO = dict(depths=(6, 12), inits=("glorot", "he"), width=8, steps=100, n_train=600, seeds=tuple(range(8)))


# --------------------------------------------------------------------------- nets

def build(depth, scheme, activation="relu", *, width=16, in_channels=1, image_size=(8, 8),
          num_classes=10, rng=None, dtype=np.float32) -> Sequential:
    """`depth` x [conv 3x3 pad 1 -> width, activation], flatten, dense -> num_classes.

    Every conv weight is drawn from `scheme`; the head too, unless the scheme only makes conv
    kernels (delta_orthogonal, dirac), in which case the head is orthogonal (gain 1).
    """
    depth = positive_int(depth, "depth")
    rng = as_generator(rng)
    head = "orthogonal" if scheme.split("(")[0] in CONV_ONLY else scheme
    layers = []
    for index in range(depth):
        layers.append(Conv2D(in_channels if index == 0 else width, width, 3, padding=1, weight_init=scheme,
                             rng=rng, dtype=dtype))
        act = activation_layer(activation, dtype=dtype)
        if act is not None:
            layers.append(act)
    h, w = image_size
    layers += [Flatten(dtype=dtype), Dense(width * h * w, num_classes, weight_init=head, rng=rng, dtype=dtype)]
    return Sequential(layers)


def scheme_of(name) -> tuple[str, str]:
    """(activation, initializer spec) of an init name of this study."""
    return INITS[name] if name in INITS else CRITICAL[1:]


# --------------------------------------------------------------------------- measurements

def trailing_mean(losses, window):
    """The mean of the last `window` losses (of all of them when there are fewer)."""
    return float(np.mean(np.asarray(losses, dtype=np.float64)[-window:]))


def smoothed(losses, window) -> np.ndarray:
    """Trailing means of `window` losses at steps window..len(losses); non-finite stays inf."""
    losses = np.asarray([math.inf if v is None or isinstance(v, str) else v for v in losses], dtype=np.float64)
    if len(losses) < window:
        return np.empty(0)
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.convolve(np.nan_to_num(losses, nan=math.inf, posinf=math.inf), np.ones(window) / window, "valid")
    return np.where(np.isfinite(means), means, math.inf)


def steps_to_threshold(losses, threshold, window):
    """First step n (1-based) at which the mean of losses n-window+1..n is below threshold, or None."""
    below = np.flatnonzero(smoothed(losses, window) < threshold)
    return int(below[0]) + window if below.size else None


@lru_cache(maxsize=4)
def _digits(n_train):
    return D.load("digits", seed=0, n=n_train)


DIGITS_RUN = {"seeds": SEEDS, "n_train": Optional(Integer(1)), "batch_size": Integer(1)}


def check_digits_run(where, seeds, n_train, batch_size) -> tuple:
    """(seeds, n_train, batch_size) of a study that trains on the digits with full batches only,
    checked: a batch larger than the training examples (the digits capped at n_train) would
    never take a step, so it is refused here."""
    o = check(f"{where}:", DIGITS_RUN, dict(seeds=seeds, n_train=n_train, batch_size=batch_size))
    batches_per_pass(len(_digits(o["n_train"]).train[0]), o["batch_size"], drop_last=True, where=where)
    return o["seeds"], o["n_train"], o["batch_size"]


# --------------------------------------------------------------------------- the grid

OPTIONS = {"depths": SequenceOf(Integer(1), item_name="depth", what="depth", distinct_sorted=True),
           "inits": SequenceOf(Options(INITS, kind="init"), what="init"), "width": Integer(1), "steps": Integer(1),
           "window": Integer(1), "fraction": Real(0, 1, low_open=True, high_open=True), "lr": Real(0, low_open=True),
           "momentum": Real(0, 1), "critical": Boolean()}


def check_options(depths=(10, 20, 30), inits=tuple(INITS), width=16, steps=300, *, seeds=tuple(range(8)),
                  window=10, fraction=0.5, batch_size=32, lr=0.015, momentum=0.9, n_train=None,
                  critical=True) -> dict:
    """Every option checked (`OPTIONS`) and completed; a bad one is an InvalidValueError naming
    its keyword.

    Training uses full batches only, so a batch_size above the training examples (from the
    digits capped at n_train) is refused here: no step would ever be taken."""
    o = check("", OPTIONS, dict(depths=depths, inits=inits, width=width, steps=steps, window=window,
                                fraction=fraction, lr=lr, momentum=momentum, critical=bool(critical)))
    seeds, n_train, batch_size = check_digits_run("depth", seeds, n_train, batch_size)
    return dict(depths=o["depths"], inits=o["inits"], width=o["width"], steps=o["steps"], seeds=seeds,
                window=o["window"], fraction=o["fraction"], batch_size=batch_size, lr=o["lr"],
                momentum=o["momentum"], n_train=n_train, critical=o["critical"])


def configs(options) -> list[dict]:
    """The training runs (depth x init, and the critical tanh run) and the gradient probes."""
    o = options
    common = dict(width=o["width"], n_train=o["n_train"])
    train = dict(common, steps=o["steps"], batch_size=o["batch_size"], momentum=o["momentum"])
    names = [(d, name) for d in o["depths"] for name in o["inits"]]
    if o["critical"]:
        names.append((o["depths"][-1], CRITICAL[0]))
    out = [dict(train, kind="train", depth=d, init=name, lr=o["lr"] * 10 / d) for d, name in names]
    out += [dict(common, kind="gradients", depth=d, init=name) for d in o["depths"] for name in ("glorot", "he")]
    return out


def tasks(options):
    return grid(NAME, configs(options), options["seeds"])


def run_task(task) -> dict:
    """One training run (its per-step losses) or one gradient probe at init (std of the first
    and of the top conv layer's output gradient, and of the first layer's weight gradient)."""
    c = task.config
    ds = _digits(c["n_train"])
    activation, scheme = scheme_of(c["init"])
    if c["kind"] == "gradients":
        model = build(c["depth"], scheme, activation, width=c["width"], in_channels=ds.in_channels,
                      image_size=ds.image_size, num_classes=ds.num_classes, rng=task.rng("init"), dtype=np.float64)
        x, y = ds.train
        records = signal_propagation(model, x[:PROBE].astype(np.float64), y[:PROBE], bins=2)
        return {"first": records[0]["grad_std"], "top": records[2 * (c["depth"] - 1)]["grad_std"],
                "weight_grad_std": records[0]["weight_grad_std"]}
    model = build(c["depth"], scheme, activation, width=c["width"], in_channels=ds.in_channels,
                  image_size=ds.image_size, num_classes=ds.num_classes, rng=task.rng("init"))
    optimizer = SGD(model, lr=c["lr"], momentum=c["momentum"])
    losses = train_steps(model, ds.train, optimizer, steps=c["steps"], batch_size=c["batch_size"],
                         rng=task.rng("data", shared=True), drop_last=True, nonfinite="stop", where="depth")
    return {"losses": losses.tolist()}


# --------------------------------------------------------------------------- summary

def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.depth`):

    {"settings", "depths", "inits", "runs": {"<init>@<depth>": {activation, spec, depth, lr,
    losses (per seed), steps_to_threshold (per seed, None = not within the budget),
    final_loss (per seed)}}, "thresholds": {depth: loss}, "chance_loss", "best_loss": {depth:
    loss}, "grad_ratio": {depth: {"theory", "ratio", "ratio_normalized" (per seed),
    "ratio_gmean", "ratio_normalized_gmean"}}, "critical": the tanh run's key, when run}."""
    o = options
    window, steps = o["window"], o["steps"]
    ds = _digits(o["n_train"])
    chance = math.log(ds.num_classes)
    runs, probes = {}, {}
    for task, result in zip(tasks, results):
        c = task.config
        if c["kind"] == "train":
            activation, scheme = scheme_of(c["init"])
            run = runs.setdefault(f"{c['init']}@{c['depth']}", {"activation": activation, "spec": scheme,
                                                                 "init": c["init"], "depth": c["depth"],
                                                                 "lr": c["lr"], "losses": [], "seeds": []})
            run["losses"].append(result["losses"])
            run["seeds"].append(task.seed)
        else:
            probes.setdefault((c["depth"], c["init"]), {})[task.seed] = result
    best = {d: min([float(np.min(smoothed(ls, window), initial=math.inf))
                    for r in runs.values() if r["depth"] == d for ls in r["losses"]], default=math.inf)
            for d in o["depths"]}
    thresholds = {d: chance - o["fraction"] * (chance - best[d]) if math.isfinite(best[d]) else None
                  for d in o["depths"]}
    for run in runs.values():
        threshold = thresholds[run["depth"]]
        run["steps_to_threshold"] = [None if threshold is None else steps_to_threshold(ls, threshold, window)
                                     for ls in run["losses"]]
        run["final_loss"] = [trailing_mean(ls, window) if len(ls) == steps else None for ls in run["losses"]]
        run["diverged"] = [len(ls) < steps for ls in run["losses"]]
    grad_ratio = {}
    for d in o["depths"]:
        glorot, he = probes[(d, "glorot")], probes[(d, "he")]
        seeds = sorted(glorot)
        ratio = [glorot[s]["weight_grad_std"] / he[s]["weight_grad_std"] for s in seeds]
        normalized = [(glorot[s]["first"] / glorot[s]["top"]) / (he[s]["first"] / he[s]["top"]) for s in seeds]
        grad_ratio[str(d)] = {"theory": 2.0 ** (-(d - 1) / 2), "seeds": seeds, "ratio": ratio,
                              "ratio_normalized": normalized, "ratio_gmean": _gmean(ratio),
                              "ratio_normalized_gmean": _gmean(normalized)}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings.update(lr_rule="lr * 10 / depth", n_train=len(ds.train[0]), data="digits",
                    threshold_rule=f"{o['fraction']:g} of the way from chance (ln {ds.num_classes}) to the best "
                                   f"trailing-mean loss reached at the depth")
    out = {"settings": settings, "depths": list(o["depths"]), "inits": list(o["inits"]), "runs": runs,
           "chance_loss": chance, "best_loss": {str(d): v for d, v in best.items()},
           "thresholds": {str(d): v for d, v in thresholds.items()}, "grad_ratio": grad_ratio}
    if o["critical"]:
        out["critical"] = f"{CRITICAL[0]}@{o['depths'][-1]}"
    return out


def _gmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.exp(np.mean(np.log(values))))


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
