"""Study: the trainability phase diagram of deep tanh conv nets (Schoenholz et al. 2017, Fig. 5).

Mean-field theory splits the (sigma_w^2, sigma_b^2) plane of a deep tanh net into an ordered
phase (chi_1 < 1: every input's signal converges to the same one) and a chaotic phase (chi_1 > 1:
nearby inputs are driven apart), and says information about the input survives about
xi_c = -1 / ln chi_c layers: a net should train when its depth is below ~6 xi_c, and xi_c is
infinite on the critical line chi_1 = 1 between the phases.

Each cell of the grid is a short training run on the digits: a vanilla tanh conv net
(`theory.vanilla_cnn`: Gaussian 3x3 kernels of variance sigma_w^2 / fan_in, biases of variance
sigma_b^2, zero padding, global average pooling, a dense head) of a given depth, trained with
Adam for `steps` steps, scored by its test accuracy. Zero padding on 8x8 maps lowers the
variance each layer passes on by `theory.padding_gain` (border pixels see fewer inputs), so
the theory's lines are drawn at the effective sigma_w^2 * padding_gain: the critical line sits
at critical_sigma_w2(sigma_b2) / padding_gain.
"""
from __future__ import annotations

import math

import numpy as np

from ..constraints import Integer, Real, SequenceOf, check
from ..lab.study import study_runner
from ..lab.tasks import Task, grid
from ..optim import Adam
from ..theory import critical_sigma_w2, depth_scales, padding_gain, vanilla_cnn
from .depth import _digits, check_digits_run
from .training import accuracy, train_steps

NAME = "phase"
ACTIVATION = "tanh"

TINY = dict(sigma_w2s=(0.5, 1.5, 4.0), sigma_b2s=(0.05,), depths=(2, 6), width=4, steps=20, n_train=300,
            seeds=(0, 1))
DEMO = dict(sigma_w2s=(0.5, 1.0, 1.6, 2.5, 4.0, 6.5), sigma_b2s=(0.05,), depths=(3, 12), width=6, steps=50,
            n_train=600, seeds=tuple(range(8)))


OPTIONS = {"sigma_w2s": SequenceOf(Real(0, low_open=True), item_name="sigma_w2", what="sigma_w2",
                                   distinct_sorted=True),
           "sigma_b2s": SequenceOf(Real(0), item_name="sigma_b2", what="sigma_b2", distinct_sorted=True),
           "depths": SequenceOf(Integer(1), item_name="depth", what="depth", distinct_sorted=True),
           "width": Integer(1), "steps": Integer(1), "lr": Real(0, low_open=True)}


def check_options(sigma_w2s=(0.5, 0.8, 1.2, 1.6, 2.0, 2.5, 3.2, 4.0, 5.0, 6.5), sigma_b2s=(0.05,),
                  depths=(5, 10, 20, 40), width=8, steps=200, *, seeds=tuple(range(8)), lr=1e-3, batch_size=32,
                  n_train=None) -> dict:
    """Every option checked (`OPTIONS`) and completed; a bad one is an error naming its keyword."""
    o = check("", OPTIONS, dict(sigma_w2s=sigma_w2s, sigma_b2s=sigma_b2s, depths=depths, width=width, steps=steps,
                                lr=lr))
    seeds, n_train, batch_size = check_digits_run("phase", seeds, n_train, batch_size)
    return dict(sigma_w2s=o["sigma_w2s"], sigma_b2s=o["sigma_b2s"], depths=o["depths"], width=o["width"],
                steps=o["steps"], seeds=seeds, lr=o["lr"], batch_size=batch_size, n_train=n_train)



def tasks(options) -> list[Task]:
    o = options
    configs = [dict(sigma_w2=w, sigma_b2=b, depth=d, width=o["width"], steps=o["steps"], lr=o["lr"],
                    batch_size=o["batch_size"], n_train=o["n_train"])
               for b in o["sigma_b2s"] for d in o["depths"] for w in o["sigma_w2s"]]
    return grid(NAME, configs, o["seeds"])


def run_task(task) -> dict:
    """One cell: train, then the test accuracy (0.1 is chance) and the final training loss."""
    c = task.config
    ds = _digits(c["n_train"])
    model = vanilla_cnn(c["depth"], c["width"], activation=ACTIVATION, kernel="gaussian", sigma_w2=c["sigma_w2"],
                        sigma_b2=c["sigma_b2"], in_channels=ds.in_channels, num_classes=ds.num_classes,
                        rng=task.rng("init"))
    losses = train_steps(model, ds.train, Adam(model, lr=c["lr"]), steps=c["steps"], batch_size=c["batch_size"],
                         rng=task.rng("data", shared=True), drop_last=True, nonfinite="stop", where="phase")
    finite = len(losses) == c["steps"]
    return {"accuracy": accuracy(model, *ds.test) if finite else 0.0,
            "final_loss": float(np.mean(losses[-10:])) if finite else None}


def theory_lines(options) -> dict:
    """The theory at this grid: padding's gain, and per sigma_b2 the critical sigma_w^2 (plain
    and with padding) and 6 xi_c at every sigma_w^2 (at the padded, effective variance)."""
    ds = _digits(options["n_train"])
    gain = padding_gain(ds.image_size, 3, 1)
    lines = {}
    for b in options["sigma_b2s"]:
        critical = critical_sigma_w2(ACTIVATION, b)
        six_xi = []
        for w in options["sigma_w2s"]:
            xi = depth_scales(ACTIVATION, w * gain, b)["xi_c"]
            six_xi.append(6 * xi if math.isfinite(xi) else None)
        lines[repr(b)] = {"critical_sigma_w2": critical, "critical_sigma_w2_padded": critical / gain,
                          "six_xi_c": six_xi}
    return {"padding_gain": gain, "lines": lines}


def summarize(options, tasks, results) -> dict:
    """Measurements only (claims: `initlab.claims.phase`):

    {"settings", "padding_gain", "lines": {sigma_b2: {critical_sigma_w2, critical_sigma_w2_padded,
    six_xi_c (per sigma_w2; None = infinite)}}, "accuracy": {sigma_b2: {depth: [[per seed] per
    sigma_w2]}}, "seeds"}."""
    o = options
    acc: dict = {}
    for task, result in zip(tasks, results):
        c = task.config
        cell = acc.setdefault(repr(c["sigma_b2"]), {}).setdefault(str(c["depth"]), {})
        cell.setdefault(repr(c["sigma_w2"]), []).append(result["accuracy"])
    accuracy_table = {b: {d: [by_w[repr(w)] for w in o["sigma_w2s"]] for d, by_w in by_d.items()}
                      for b, by_d in acc.items()}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings.update(activation=ACTIVATION, kernel="gaussian", optimizer="Adam", data="digits")
    return {"settings": settings, **theory_lines(o), "accuracy": accuracy_table, "seeds": list(o["seeds"])}


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
