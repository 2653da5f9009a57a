"""Study 3: why zero mean? A centred init against the same distribution shifted off zero, and
centred inputs against all-positive ones.

Part 1, the weights. Every conv and dense weight is drawn from a uniform distribution of the
same width, so of the same variance; only the mean differs. With a = sqrt(6 / fan_in) (He's
uniform bound) and a shift s:

    U(-a + s a, a + s a):  mean s a, variance a^2 / 3 = 2 / fan_in  (s = 0: centred; s = 1: U(0, 2a)).

Biases start at zero. A pre-activation z = sum_i w_i h_i has E[z] = E[w] sum_i h_i. After a
ReLU h >= 0, so once the mean term dominates, every layer multiplies the mean activation by
s a C lambda, where C is the number of input channels and lambda the largest eigenvalue of
the 3x3 window sum with zero padding on an H x W map, (1 + 2 cos(pi / (H + 1))) (1 + 2 cos(pi /
(W + 1))): 9 on a large map, so the factor is s sqrt(6 fan_in) there; 8.29 on 8 x 8 maps
(border windows hold fewer inputs). The drift sets in where that factor reaches 1, at the
shift s_c = 1 / (a C lambda) (1 / sqrt(6 fan_in) = 0.034 for 16 channels without padding;
0.037 with it). Below s_c the mean term shrinks on its own and the net behaves as centred.
Measured at init on a deep plain stack (`plain_cnn(depth, width)`, the probe images of the
digits) over a sweep of shifts: per layer the mean and std of the pre-activations, the mean
of the ReLU outputs and the fraction of units that fire. All shifts at one seed share one
draw of the underlying uniform numbers, so the sweep measures the shift alone.

Part 2, training. A shallower stack (`plain_cnn(train_depth, train_width)`, SGD with momentum) from
the centred init and from the shifted one: loss per step, test accuracy every `every` steps,
and the fraction of units that fire in each conv layer before and after training.

Part 3, the inputs (LeCun et al. 1998, "Efficient BackProp"). The same centred init and the
same batches, with the digits given as pixels in [0, 1] (all positive), centred (minus the
training set's mean pixel) or standardized (also divided by its std). Measured: how one-sided
each first-layer unit is at init (|mean| of its pre-activation over the probe images and
positions, over its std: the RMS over units); the fraction of each first-layer unit's
weight-gradient entries that share the majority sign, over the first `sign_steps` steps (with
all-positive inputs every weight of a unit is pushed the same way by each example, so the
weights can only move together and the path zig-zags); and the steps until the loss reaches a
threshold halfway from chance to the best loss any input run reached.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import data as D
from .. import init as I
from ..constraints import Integer, Optional, Options, Real, Rule, SequenceOf, check
from ..errors import unknown_name
from ..lab.study import SEEDS, study_runner
from ..validate import real_number
from ..lab.tasks import grid
from ..models import plain_cnn
from ..optim import SGD
from .depth import smoothed, steps_to_threshold
from .training import accuracy, batches_per_pass, train_steps
from .zero_mean_measures import (  # noqa: F401  (the study's maths, named here too)
    centred_factor, growth_per_layer, majority_sign_fraction, one_sidedness, onset_shift, predicted_factor,
    propagation, random_sign_fraction, window_eigenvalue,
)

NAME = "zero_mean"
INITS = ("centred", "shifted")
INPUTS = ("pixels", "centred", "standardized")
SHIFTS = (0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
TRAINING = ("loss", "test_acc", "active_before", "active_after")
INPUT_RUNS = ("loss", "one_sidedness", "sign_fraction", "sign_fraction_per_step", "test_acc")
WEIGHT_SAMPLE = 600          # weights of the second conv layer kept for the histogram

TINY = dict(seeds=(0, 1, 2), depth=6, width=8, train_depth=2, steps=30, every=10, n_train=256, n_test=128,
            n_probe=32, shifts=(0.0, 0.01, 0.3, 1.0), sign_steps=10)
DEMO = dict(seeds=tuple(range(8)), depth=10, width=16, train_depth=3, train_width=8, steps=200, every=40, batch_size=32,
            lr=0.15, n_train=600, n_test=300, n_probe=64)


# --------------------------------------------------------------------------- the inits

def he_bound(shape):
    """a = sqrt(6 / fan_in): U(-a, a) has He's variance 2 / fan_in."""
    fan_in, _ = I.compute_fans(shape)
    return math.sqrt(6.0 / fan_in)


def centred_uniform(shape, rng=None, *, dtype=np.float32):
    """U(-a, a), a = sqrt(6 / fan_in): mean 0, variance 2 / fan_in (He uniform)."""
    a = he_bound(shape)
    return I.uniform(shape, rng, dtype=dtype, low=-a, high=a)


def shifted_uniform(shift=1.0):
    """The initializer U(-a + shift a, a + shift a): the centred one moved by shift * a, so the
    variance is still 2 / fan_in and the mean is shift * a. shift=1 gives U(0, 2a)."""
    shift = real_number(shift, "zero_mean: shift")

    def shifted(shape, rng=None, *, dtype=np.float32):
        a = he_bound(shape)
        return I.uniform(shape, rng, dtype=dtype, low=-a + shift * a, high=a + shift * a)

    shifted.__name__ = f"shifted_uniform_{shift:g}"
    return shifted


def initializer(name, shift=1.0):
    if name == "centred":
        return centred_uniform
    if name == "shifted":
        return shifted_uniform(shift)
    raise unknown_name("zero-mean init", name, INITS)


# --------------------------------------------------------------------------- data

@lru_cache(maxsize=4)
def _digits(inputs, n_train, n_test):
    """The digits as `inputs`: "pixels" in [0, 1], "centred" (minus the train split's mean
    pixel), "standardized" (also over its std); train and test capped at n_train / n_test."""
    ds = D.load("digits", standardize=inputs == "standardized")
    if inputs == "centred":
        mean = np.float32(ds.train[0].mean(dtype=np.float64))
        ds = D.Dataset(**{**ds.__dict__, "train": (ds.train[0] - mean, ds.train[1]),
                          "val": (ds.val[0] - mean, ds.val[1]), "test": (ds.test[0] - mean, ds.test[1]),
                          "mean": (float(mean),)})
    return D.Dataset(**{**ds.__dict__, "train": tuple(a[:n_train] for a in ds.train),
                        "test": tuple(a[:n_test] for a in ds.test)})


# --------------------------------------------------------------------------- the grid

OPTIONS = {"inits": SequenceOf(Options(INITS, kind="zero-mean init"), allow_empty=True),
           "inputs": SequenceOf(Options(INPUTS, kind="zero-mean inputs"), allow_empty=True), "seeds": SEEDS,
           **{k: Integer(1) for k in ("depth", "train_depth", "width", "steps", "every", "batch_size", "n_probe",
                                      "sign_steps", "window")},
           "n_train": Optional(Integer(1)), "n_test": Optional(Integer(1)), "train_width": Optional(Integer(1)),
           "shift": Real(), "shifts": SequenceOf(Real(0), allow_empty=True), "lr": Real(0, low_open=True),
           "momentum": Real(0, 1), "fraction": Real(0, 1, low_open=True, high_open=True)}
RULES = (Rule("inits", lambda o: None if o["inits"] or o["inputs"] else
              f"expected at least one of {', '.join(INITS)} (or some inputs)"),)
SIZES = ("depth", "train_depth", "width", "steps", "every", "batch_size", "n_probe", "sign_steps", "window")


def check_options(inits=INITS, seeds=tuple(range(8)), depth=10, train_depth=3, *, width=16, train_width=None,
                  steps=300, every=20,
                  batch_size=64, lr=0.05, momentum=0.9, shift=1.0, shifts=SHIFTS, inputs=INPUTS, n_probe=256,
                  n_train=None, n_test=None, sign_steps=20, window=10, fraction=0.5) -> dict:
    """Every option checked (`OPTIONS`, `RULES`) and completed; a bad one is an
    InvalidValueError naming its keyword."""
    o = check("zero-mean:", OPTIONS, dict(
        inits=inits, inputs=inputs, seeds=seeds, depth=depth, train_depth=train_depth, width=width, steps=steps,
        every=every, batch_size=batch_size, n_probe=n_probe, sign_steps=sign_steps, window=window, n_train=n_train,
        n_test=n_test, train_width=train_width, shift=shift, shifts=shifts, lr=lr, momentum=momentum,
        fraction=fraction), RULES)
    sizes = {k: o[k] for k in SIZES}
    sizes["train_width"] = sizes["width"] if o["train_width"] is None else o["train_width"]
    batches_per_pass(len(_digits("pixels", o["n_train"], o["n_test"]).train[0]), o["batch_size"], drop_last=True,
                     where="zero-mean")
    shifts = tuple(sorted(set(o["shifts"]) | {0.0, o["shift"]}))
    return dict(inits=o["inits"], inputs=o["inputs"], seeds=o["seeds"], **sizes, n_train=o["n_train"],
                n_test=o["n_test"], lr=o["lr"], momentum=o["momentum"], shift=o["shift"], shifts=shifts,
                fraction=o["fraction"])



def configs(options) -> list[dict]:
    """The sweep at init (one per shift), the training runs from each init, the input runs."""
    o = options
    probe = dict(depth=o["depth"], width=o["width"], n_probe=o["n_probe"], n_train=o["n_train"])
    train = dict(depth=o["train_depth"], width=o["train_width"], steps=o["steps"], every=o["every"],
                 batch_size=o["batch_size"], lr=o["lr"], momentum=o["momentum"], n_probe=o["n_probe"],
                 n_train=o["n_train"], n_test=o["n_test"])
    out = [dict(probe, kind="sweep", shift=s) for s in o["shifts"]]
    return out + [dict(train, kind="train", init=init, inputs=inputs, shift=o["shift"] if init == "shifted" else 0.0,
                       sign_steps=o["sign_steps"]) for init, inputs in runs(options)]


def runs(options) -> list[tuple]:
    """(init, inputs) of the training runs: every init on standardized digits, and the centred
    init on every form of the inputs (centred on standardized is one run, used by both)."""
    pairs = [(name, "standardized") for name in options["inits"]]
    return pairs + [("centred", name) for name in options["inputs"] if ("centred", name) not in pairs]


def tasks(options):
    return grid(NAME, configs(options), options["seeds"])


def run_task(task) -> dict:
    return _sweep(task) if task.config["kind"] == "sweep" else _train(task)


def _sweep(task):
    """The deep stack at init with one shift; every shift at one seed draws the same uniforms."""
    c = task.config
    ds = _digits("standardized", c["n_train"], None)
    model = plain_cnn(c["depth"], c["width"], in_channels=ds.in_channels, num_classes=ds.num_classes,
                      weight_init=shifted_uniform(c["shift"]), rng=task.rng("init", shared=True), dtype=np.float64)
    out = propagation(model, ds.train[0][:c["n_probe"]].astype(np.float64))
    w = model[2 if c["depth"] > 1 else 0].params["weight"]
    out["weights"] = {"sample": w.ravel()[:WEIGHT_SAMPLE].tolist(), "mean": float(w.mean()), "std": float(w.std()),
                      "bound": he_bound(w.shape)}
    return out


def _train(task):
    """Train the shallow stack from the task's init on its form of the inputs. Every run at one
    seed draws the same uniforms (the shifted init is the centred one moved) and sees the same
    batches. Measured: the loss per step, the test accuracy at snapshots, the fraction of units
    firing per conv layer before and after training, the first layer's one-sidedness at init
    and the signs of its weight gradient over the first `sign_steps` steps."""
    c = task.config
    ds = _digits(c["inputs"], c["n_train"], c["n_test"])
    model = plain_cnn(c["depth"], c["width"], in_channels=ds.in_channels, num_classes=ds.num_classes,
                      weight_init=shifted_uniform(c["shift"]), rng=task.rng("init", shared=True))
    probe = ds.train[0][:c["n_probe"]]
    first = model[0]
    one_sided = one_sidedness(first.forward(probe, training=False))
    active_before = propagation(model, probe)["active"]
    snap, signs = {"steps": [], "test_acc": []}, []

    def on_snapshot(step):
        snap["steps"].append(step)
        snap["test_acc"].append(accuracy(model, *ds.test))

    def on_step(step, losses):
        if step <= c["sign_steps"]:
            signs.append(majority_sign_fraction(first.grads["weight"]))
        return False

    losses = train_steps(model, ds.train, SGD(model, lr=c["lr"], momentum=c["momentum"]), steps=c["steps"],
                         batch_size=c["batch_size"], rng=task.rng("data", shared=True), drop_last=True,
                         every=c["every"], on_snapshot=on_snapshot, on_step=on_step, where="zero-mean")
    return {"loss": [v if math.isfinite(v) else None for v in losses.tolist()], "active_before": active_before,
            "active_after": propagation(model, probe)["active"], "one_sidedness": one_sided,
            "sign_fraction": float(np.mean(signs)), "sign_fraction_per_step": signs, **snap}


# --------------------------------------------------------------------------- summary

def _inputs_threshold(inputs, chance, fraction, window):
    """The input runs' loss threshold, `fraction` of the way from chance to the best trailing
    mean any of them reached (None when none is finite); fills each run's steps_to_threshold."""
    if not inputs:
        return None
    best = min(float(np.min(smoothed(loss, window), initial=math.inf)) for t in inputs.values() for loss in t["loss"])
    threshold = chance - fraction * (chance - best) if math.isfinite(best) else None
    for t in inputs.values():
        t["steps_to_threshold"] = [None if threshold is None else steps_to_threshold(loss, threshold, window)
                                   for loss in t["loss"]]
    return threshold


def _theory(width, size) -> dict:
    """The predicted growth per layer of a one-sided init, and where it sets in (see `theory`)."""
    return {"window_eigenvalue": window_eigenvalue(*size),
            "factor_per_unit_shift": predicted_factor(width, 1.0, size),
            "factor_per_unit_shift_no_padding": predicted_factor(width, 1.0, size, padding=False),
            "onset": onset_shift(width, size), "onset_no_padding": onset_shift(width, size, padding=False),
            "centred_factor": centred_factor(size)}


def _settings(o, ds) -> dict:
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings.update(num_classes=ds.num_classes, dataset="digits", n_train=len(ds.train[0]), n_test=len(ds.test[0]),
                    centred="U(-a, a)", shifted=f"U(-a + {o['shift']:g} a, a + {o['shift']:g} a)", a="sqrt(6 / fan_in)",
                    variance="a^2 / 3 = 2 / fan_in for both",
                    threshold_rule=f"{o['fraction']:g} of the way from chance (ln {ds.num_classes}) to the best "
                                   "trailing-mean loss any input run reached")
    return settings


def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.zero_mean`):

    {"settings", "inits", "inputs", "labels", "layers", "steps" (snapshot steps),
    "sweep": {"shifts", "growth" (shift -> per seed), "post_mean"/"active" (shift -> seeds x
    layers)}, "theory": {"factor_per_unit_shift", "factor_per_unit_shift_no_padding", "onset",
    "onset_no_padding", "centred_factor", "window_eigenvalue"}, "propagation": {init: per-layer
    records (seeds x depth) at its shift}, "weights": {init: sample, mean, std, bound},
    "training": {init: loss, test_acc, final_test_acc, initial_loss, active_before/after,
    diverged}, "input_runs": {inputs: loss, one_sidedness, sign_fraction, test_acc,
    steps_to_threshold}, "chance_loss", "inputs_threshold"}."""
    o = options
    ds = _digits("standardized", o["n_train"], o["n_test"])
    sweep = {"shifts": list(o["shifts"]), "growth": {}, "post_mean": {}, "active": {}, "pre_mean": {}, "pre_std": {}}
    records, weights, training, inputs, steps = {}, {}, {}, {}, []
    for task, r in zip(tasks, results):
        c = task.config
        if c["kind"] == "sweep":
            key = f"{c['shift']:g}"
            sweep["growth"].setdefault(key, []).append(growth_per_layer(r["post_mean"]))
            for k in ("post_mean", "active", "pre_mean", "pre_std"):
                sweep[k].setdefault(key, []).append(r[k])
            records.setdefault(key, []).append(r)
        else:
            steps = r["steps"]
            if c["inputs"] == "standardized" and c["init"] in o["inits"]:
                t = training.setdefault(c["init"], {"seeds": [], **{k: [] for k in TRAINING}})
                t["seeds"].append(task.seed)
                for k in TRAINING:
                    t[k].append(r[k])
            if c["init"] == "centred" and c["inputs"] in o["inputs"]:
                t = inputs.setdefault(c["inputs"], {"seeds": [], **{k: [] for k in INPUT_RUNS}})
                t["seeds"].append(task.seed)
                for k in INPUT_RUNS:
                    t[k].append(r[k])
                t["test_acc"][-1] = r["test_acc"][-1]
    propagation_at = {}
    for name in INITS:
        key = f"{(o['shift'] if name == 'shifted' else 0.0):g}"
        if key in records:
            propagation_at[name] = {k: sweep[k][key] for k in ("pre_mean", "pre_std", "post_mean", "active")}
            first = records[key][0]["weights"]
            weights[name] = first
    for t in training.values():
        t["final_test_acc"] = [acc[-1] for acc in t["test_acc"]]
        t["initial_loss"] = [loss[0] for loss in t["loss"]]
        t["diverged"] = [any(v is None for v in loss) for loss in t["loss"]]
    chance = math.log(ds.num_classes)
    threshold = _inputs_threshold(inputs, chance, o["fraction"], o["window"])
    return {"settings": _settings(o, ds), "inits": list(o["inits"]), "inputs": list(o["inputs"]),
            "labels": {n: label(n, o["shift"]) for n in o["inits"]}, "layers": list(range(1, o["depth"] + 1)),
            "steps": steps, "sweep": sweep, "theory": _theory(o["width"], ds.image_size), "propagation": propagation_at,
            "weights": weights,
            "training": training, "input_runs": inputs, "chance_loss": chance, "inputs_threshold": threshold}


def label(name, shift):
    if name == "centred":
        return "centred U(-a, a)"
    return "shifted U(0, 2a)" if shift == 1 else f"shifted U(-a + {shift:g}a, a + {shift:g}a)"


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
