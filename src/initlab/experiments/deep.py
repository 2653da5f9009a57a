"""Study: how deep can a vanilla CNN go? Depth scaling from tens to a thousand layers.

Xiao et al. 2018 trained 10,000-layer vanilla CNNs (no batch norm, no skip connections) by
starting them at the critical point of a tanh net with delta-orthogonal kernels: every kernel
zero but its centre tap, an orthogonal matrix, so the input-output Jacobian is (close to) an
isometry at any depth ("dynamical isometry"). Gaussian kernels at the same critical point
preserve the mean squared singular value but not its spread, and ReLU nets cannot be isometric
at all. This study trains, at each depth, vanilla conv nets (`theory.vanilla_cnn`) started from

* "delta_orthogonal": tanh, delta-orthogonal kernels on the critical line (sigma_b^2 = `sigma_b2`);
* "gaussian": tanh, Gaussian kernels on the critical line, corrected for zero padding;
* "orthogonal": tanh, orthogonal kernels flattened over (in_channels * kh * kw), critical scale;
* "he_relu": ReLU with He's normal init; "orthogonal_relu": ReLU with orthogonal x sqrt(2)
  kernels (the ReLU control for the orthogonal inits),

each at the learning rate (Adam) a sweep on seeds of its own chose, and measures the test
accuracy reached and, at init, the condition number of the conv stack's input-output Jacobian
at the first test image, standardized as in training (`spectrum.singular_values`, float64).
"""
from __future__ import annotations

import math

import numpy as np

from ..constraints import Integer, Options, Real, SequenceOf, check
from ..lab.study import study_runner
from ..lab.tasks import Task, grid
from ..optim import Adam
from ..spectrum import singular_values, summarize as spectrum_summary
from ..theory import HEADS, critical_sigma_w2, padding_gain, vanilla_cnn
from .depth import _digits, check_digits_run
from .training import accuracy, train_steps

NAME = "deep"
INITS = ("delta_orthogonal", "gaussian", "orthogonal", "he_relu", "orthogonal_relu")
SWEEP_SEED_BASE = 10_000

TINY = dict(depths=(3, 8), width=4, steps=20, n_train=300, seeds=(0, 1), sweep_seeds=1, rates=(1e-3,))
DEMO = dict(depths=(10, 50), width=8, steps=150, n_train=600, seeds=tuple(range(8)), sweep_seeds=1,
            rates=(1e-3, 3e-4))


def build(init, depth, width, sigma_b2, ds, rng, dtype=np.float32, head="flatten"):
    """The vanilla conv net of one init (see the module docstring) with `head` ("flatten" or
    "average": global average pooling, as Xiao et al.)."""
    common = dict(in_channels=ds.in_channels, num_classes=ds.num_classes, rng=rng, dtype=dtype, head=head,
                  image_size=ds.image_size)
    if init == "he_relu":
        return vanilla_cnn(depth, width, activation="relu", kernel="he_normal", **common)
    if init == "orthogonal_relu":
        return vanilla_cnn(depth, width, activation="relu", kernel=f"orthogonal(gain={math.sqrt(2.0)!r})", **common)
    sigma_w2 = critical_sigma_w2("tanh", sigma_b2)
    if init == "gaussian":
        sigma_w2 /= padding_gain(ds.image_size, 3, 1)
    return vanilla_cnn(depth, width, activation="tanh", kernel=init, sigma_w2=sigma_w2, sigma_b2=sigma_b2, **common)


OPTIONS = {"depths": SequenceOf(Integer(1), item_name="depth", what="depth", distinct_sorted=True),
           "inits": SequenceOf(Options(INITS, kind="init"), what="init"),
           "rates": SequenceOf(Real(0, low_open=True), what="learning rate"), "width": Integer(1),
           "steps": Integer(1), "sweep_seeds": Integer(1), "sigma_b2": Real(0), "head": Options(HEADS, kind="head")}


def check_options(depths=(10, 30, 100, 300), inits=INITS, width=16, steps=600, *, seeds=(0, 1, 2), sweep_seeds=1,
                  rates=(3e-4, 1e-4, 3e-5), sigma_b2=1e-5, batch_size=32, n_train=None, head="flatten") -> dict:
    """Every option checked (`OPTIONS`) and completed; a bad one is an error naming its keyword."""
    o = check("", OPTIONS, dict(depths=depths, inits=tuple(inits), rates=rates, width=width, steps=steps,
                                sweep_seeds=sweep_seeds, sigma_b2=sigma_b2, head=head))
    seeds, n_train, batch_size = check_digits_run("deep", seeds, n_train, batch_size)
    return dict(depths=o["depths"], inits=o["inits"], width=o["width"], steps=o["steps"], seeds=seeds,
                sweep_seeds=o["sweep_seeds"], rates=o["rates"], sigma_b2=o["sigma_b2"], batch_size=batch_size,
                n_train=n_train, head=o["head"])



def _train_config(o, init, depth, lr, kind):
    return dict(kind=kind, init=init, depth=depth, lr=lr, width=o["width"], steps=o["steps"],
                batch_size=o["batch_size"], n_train=o["n_train"], sigma_b2=o["sigma_b2"], head=o["head"])


def tasks(options) -> list[Task]:
    """The learning-rate sweep (on sweep seeds) and the Jacobian at init (at every seed)."""
    o = options
    sweep = grid(NAME, [_train_config(o, i, d, lr, "sweep") for d in o["depths"] for i in o["inits"]
                        for lr in o["rates"]], [SWEEP_SEED_BASE + k for k in range(o["sweep_seeds"])])
    jacobians = grid(NAME, [dict(kind="jacobian", init=i, depth=d, width=o["width"], n_train=o["n_train"],
                                 sigma_b2=o["sigma_b2"])
                            for d in o["depths"] for i in o["inits"]], o["seeds"])
    return sweep + jacobians


def chosen_rates(tasks, results) -> dict:
    """{(init, depth): the rate whose sweep runs reached the best median test accuracy}
    (ties go to the smaller rate)."""
    by_cell: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        if c["kind"] == "sweep":
            by_cell.setdefault((c["init"], c["depth"]), {}).setdefault(c["lr"], []).append(result["accuracy"])
    return {cell: max(rates, key=lambda lr: (float(np.median(rates[lr])), -lr)) for cell, rates in by_cell.items()}


def followup(options, tasks, results) -> list[Task]:
    chosen = chosen_rates(tasks, results)
    return grid(NAME, [_train_config(options, i, d, chosen[(i, d)], "eval") for d in options["depths"]
                       for i in options["inits"]], options["seeds"])


def run_task(task) -> dict:
    """A training run (test accuracy, losses) or the Jacobian's singular values at init."""
    c = task.config
    ds = _digits(c["n_train"])
    if c["kind"] == "jacobian":        # float64: the Jacobian's small singular values need it
        model = build(c["init"], c["depth"], c["width"], c["sigma_b2"], ds, task.rng("init"), np.float64)
        values = singular_values(model, ds.test[0][:1].astype(np.float64), stop=2 * c["depth"])
        summary = spectrum_summary(values)
        return {"condition": summary["condition"], "within_10x_of_rms": summary["within"],
                "largest": summary["max"], "smallest": summary["min"]}
    model = build(c["init"], c["depth"], c["width"], c["sigma_b2"], ds, task.rng("init"), head=c["head"])
    losses = train_steps(model, ds.train, Adam(model, lr=c["lr"]), steps=c["steps"], batch_size=c["batch_size"],
                         rng=task.rng("data", shared=True), drop_last=True, nonfinite="stop", where="deep")
    finite = len(losses) == c["steps"]
    return {"accuracy": accuracy(model, *ds.test) if finite else 0.0, "losses": losses[::max(1, c["steps"] // 50)].tolist()}


def summarize(options, tasks, results) -> dict:
    """Measurements only (claims: `initlab.claims.deep`):

    {"settings", "rates": {"<init>@<depth>": chosen lr}, "runs": {"<init>@<depth>": {init, depth,
    lr, accuracy (per seed), condition (per seed), losses (per seed, every steps/50)}}}."""
    o = options
    chosen = chosen_rates(tasks, results)
    runs: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        if c["kind"] == "sweep":
            continue
        run = runs.setdefault(f"{c['init']}@{c['depth']}", {"init": c["init"], "depth": c["depth"],
                                                             "lr": chosen[(c["init"], c["depth"])],
                                                             "accuracy": [], "losses": [], "condition": []})
        if c["kind"] == "jacobian":
            run["condition"].append(result["condition"])
        else:
            run["accuracy"].append(result["accuracy"])
            run["losses"].append(result["losses"])
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings.update(optimizer="Adam", activation_of={i: ("relu" if i.endswith("relu") else "tanh") for i in o["inits"]})
    return {"settings": settings, "chance": 1.0 / _digits(o["n_train"]).num_classes,
            "rates": {f"{i}@{d}": lr for (i, d), lr in chosen.items()}, "runs": runs}


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
