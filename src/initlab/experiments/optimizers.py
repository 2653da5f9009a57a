"""Study: is it momentum and ReLU that make a random start trainable?

The answer the lab is built on says that SGD with momentum and ReLU-like activations are what
let deep CNNs train from a random start. This study measures both on plain conv stacks:

* activation: sigmoid, tanh, ReLU, each with its variance-preserving init (LeCun's normal
  scaled by `init.gain_for(activation)`, found by quadrature), so only the nonlinearity differs;
* optimizer: plain SGD, SGD + momentum 0.9 (Sutskever et al. 2013), Adam;
* depth: conv 3x3 layers of `width` channels, then a dense head, on the scikit-learn digits.

The learning rate of each (activation, optimizer, depth) cell is chosen by a sweep, never by
hand: every rate of the optimizer's list is trained on `sweep_seeds` seeds of their own (not
the evaluation seeds), and the rate with the lowest median final loss is then trained at every
evaluation seed (the lab's `followup` grid). The sweep's choice is reported.

Measured per run: the loss at every step; the steps to the threshold (halfway from chance,
ln 10, to the best loss any run reached at the depth) and to leave the plateau (a tenth of
that way); the final loss (the mean of the last `window` steps).
"""
from __future__ import annotations

import math

import numpy as np

from ..constraints import Integer, Options, Real, SequenceOf, check
from ..init import gain_for
from ..lab.study import study_runner
from ..lab.tasks import Task, grid
from ..optim import SGD, Adam
from .depth import _digits, check_digits_run, build, smoothed, steps_to_threshold, trailing_mean
from .training import train_steps

NAME = "optimizers"
ACTIVATIONS = ("sigmoid", "tanh", "relu")
OPTIMIZERS = ("sgd", "momentum", "adam")
RATES = {"sgd": (0.3, 0.1, 0.03), "momentum": (0.03, 0.01, 0.003), "adam": (3e-3, 1e-3, 3e-4)}
SWEEP_SEED_BASE = 10_000        # sweep seeds are 10000, 10001, ...: never an evaluation seed

TINY = dict(depths=(2,), width=4, steps=30, n_train=300, seeds=(0, 1, 2), sweep_seeds=1,
            rates={"sgd": (0.1,), "momentum": (0.01,), "adam": (1e-3,)})
DEMO = dict(depths=(4,), width=8, steps=80, n_train=600, seeds=tuple(range(8)), sweep_seeds=1,
            rates={"sgd": (0.3, 0.1), "momentum": (0.03, 0.01), "adam": (3e-3, 1e-3)})


def scheme(activation) -> str:
    """The variance-preserving init of `activation`: LeCun normal (std 1/sqrt(fan_in)) times its gain."""
    return f"lecun_normal*{gain_for(activation)!r}"


def make_optimizer(name, model, lr):
    if name == "sgd":
        return SGD(model, lr=lr)
    if name == "momentum":
        return SGD(model, lr=lr, momentum=0.9)
    return Adam(model, lr=lr)


OPTIONS = {"depths": SequenceOf(Integer(1), item_name="depth", what="depth", distinct_sorted=True),
           "activations": SequenceOf(Options(ACTIVATIONS, kind="activation"), what="activation"),
           "optimizers": SequenceOf(Options(OPTIMIZERS, kind="optimizer"), what="optimizer"),
           "fraction": Real(0, 1, low_open=True, high_open=True), "width": Integer(1), "steps": Integer(1),
           "sweep_seeds": Integer(1), "window": Integer(1)}
RATE = SequenceOf(Real(0, low_open=True), what="learning rate per optimizer")


def check_options(depths=(4, 8, 16), activations=ACTIVATIONS, optimizers=OPTIMIZERS, width=8, steps=300, *,
                  seeds=tuple(range(8)), sweep_seeds=2, rates=None, window=10, fraction=0.5, plateau=0.1,
                  batch_size=32, n_train=None) -> dict:
    """Every option checked (`OPTIONS`, the rates per optimizer, plateau below fraction) and
    completed; a bad one is an error naming its keyword."""
    o = check("", OPTIONS, dict(depths=depths, activations=tuple(activations), optimizers=tuple(optimizers),
                                fraction=fraction, width=width, steps=steps, sweep_seeds=sweep_seeds, window=window))
    rates = check("rates:", {name: RATE for name in o["optimizers"]},
                  {name: (rates or RATES)[name] for name in o["optimizers"]})
    seeds, n_train, batch_size = check_digits_run("optimizers", seeds, n_train, batch_size)
    plateau = check("", {"plateau": Real(0, o["fraction"], low_open=True, high_open=True)}, {"plateau": plateau})
    return dict(depths=o["depths"], activations=o["activations"], optimizers=o["optimizers"], width=o["width"],
                steps=o["steps"], seeds=seeds, sweep_seeds=o["sweep_seeds"], rates=rates, window=o["window"],
                fraction=o["fraction"], plateau=plateau["plateau"], batch_size=batch_size, n_train=n_train)



def _cells(options):
    return [(a, o, d) for d in options["depths"] for a in options["activations"] for o in options["optimizers"]]


def _config(options, activation, optimizer, depth, lr, kind):
    return dict(kind=kind, activation=activation, optimizer=optimizer, depth=depth, lr=lr, width=options["width"],
                steps=options["steps"], batch_size=options["batch_size"], n_train=options["n_train"])


def tasks(options) -> list[Task]:
    """The sweep: every cell at every rate of its optimizer, on the sweep seeds."""
    sweep_seeds = [SWEEP_SEED_BASE + i for i in range(options["sweep_seeds"])]
    configs = [_config(options, a, o, d, lr, "sweep") for a, o, d in _cells(options) for lr in options["rates"][o]]
    return grid(NAME, configs, sweep_seeds)


def chosen_rates(options, tasks, results) -> dict:
    """{(activation, optimizer, depth): the rate with the lowest median final loss over the
    sweep seeds} (a diverged run counts as infinitely bad; ties go to the smaller rate)."""
    finals: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        if c["kind"] != "sweep":
            continue
        final = _final(result["losses"], options)
        finals.setdefault((c["activation"], c["optimizer"], c["depth"]), {}).setdefault(c["lr"], []).append(final)
    return {cell: min(by_rate, key=lambda lr: (float(np.median(by_rate[lr])), lr)) for cell, by_rate in finals.items()}


def followup(options, tasks, results) -> list[Task]:
    """The evaluation: each cell at its chosen rate, at every seed."""
    chosen = chosen_rates(options, tasks, results)
    configs = [_config(options, a, o, d, chosen[(a, o, d)], "eval") for a, o, d in _cells(options)]
    return grid(NAME, configs, options["seeds"])


def run_task(task) -> dict:
    """One training run: the loss at every step (shorter if it diverged)."""
    c = task.config
    ds = _digits(c["n_train"])
    model = build(c["depth"], scheme(c["activation"]), c["activation"], width=c["width"],
                  in_channels=ds.in_channels, image_size=ds.image_size, num_classes=ds.num_classes,
                  rng=task.rng("init"))
    losses = train_steps(model, ds.train, make_optimizer(c["optimizer"], model, c["lr"]), steps=c["steps"],
                         batch_size=c["batch_size"], rng=task.rng("data", shared=True), drop_last=True,
                         nonfinite="stop", where="optimizers")
    return {"losses": losses.tolist()}


def _final(losses, options):
    """The mean of the last `window` losses, or inf for a run that diverged before the budget."""
    return trailing_mean(losses, options["window"]) if len(losses) == options["steps"] else math.inf


def summarize(options, tasks, results) -> dict:
    """Measurements only (claims: `initlab.claims.optimizers`):

    {"settings", "chance_loss", "thresholds"/"plateau_thresholds"/"best_loss": {depth: loss},
    "rates": {"<activation>/<optimizer>@<depth>": chosen lr}, "sweep": {cell: {lr: median final
    loss}}, "cells": {"<activation>/<optimizer>@<depth>": {activation, optimizer, depth, lr,
    losses, final_loss, steps_to_threshold, steps_to_leave_plateau (per seed, None = never)}}}."""
    o = options
    chance = math.log(_digits(o["n_train"]).num_classes)
    chosen = chosen_rates(o, tasks, results)
    sweep: dict = {}
    cells: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        key = f"{c['activation']}/{c['optimizer']}@{c['depth']}"
        if c["kind"] == "sweep":
            sweep.setdefault(key, {}).setdefault(repr(c["lr"]), []).append(_final(result["losses"], o))
            continue
        cell = cells.setdefault(key, {"activation": c["activation"], "optimizer": c["optimizer"],
                                      "depth": c["depth"], "lr": c["lr"], "losses": [], "seeds": []})
        cell["losses"].append(result["losses"])
        cell["seeds"].append(task.seed)
    best = {d: min([float(np.min(smoothed(ls, o["window"]), initial=math.inf))
                    for cell in cells.values() if cell["depth"] == d for ls in cell["losses"]], default=math.inf)
            for d in o["depths"]}
    thresholds = {d: chance - o["fraction"] * (chance - best[d]) for d in o["depths"]}
    plateaus = {d: chance - o["plateau"] * (chance - best[d]) for d in o["depths"]}
    for cell in cells.values():
        d = cell["depth"]
        cell["final_loss"] = [_final(ls, o) for ls in cell["losses"]]
        cell["steps_to_threshold"] = [steps_to_threshold(ls, thresholds[d], o["window"]) for ls in cell["losses"]]
        cell["steps_to_leave_plateau"] = [steps_to_threshold(ls, plateaus[d], o["window"]) for ls in cell["losses"]]
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings["rates"] = {k: list(v) for k, v in o["rates"].items()}
    settings["schemes"] = {a: scheme(a) for a in o["activations"]}
    return {"settings": settings, "chance_loss": chance,
            "best_loss": {str(d): v for d, v in best.items()},
            "thresholds": {str(d): v for d, v in thresholds.items()},
            "plateau_thresholds": {str(d): v for d, v in plateaus.items()},
            "rates": {f"{a}/{op}@{d}": lr for (a, op, d), lr in chosen.items()},
            "sweep": {k: {lr: float(np.median(v)) for lr, v in by.items()} for k, by in sweep.items()},
            "cells": cells}


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
