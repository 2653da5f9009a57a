"""Study 2: why random, not zeros? The same small CNN trained from zeros, a constant and random.

If every filter of a layer starts equal, every filter computes the same feature map, receives
the same gradient and takes the same step: they stay equal for ever, and the layer is worth one
filter. Measured: the pairwise cosine similarity of each layer's filters (mean and min off the
diagonal) at snapshots during training, the test accuracy, and which parameters moved at all.

The model is `models.small_cnn` on the scikit-learn digits (8x8, 10 classes):
conv 3x3 -> 16, ReLU, conv 3x3 -> 32, ReLU, pool 2, flatten, dense 64, ReLU, dense 10. Its
weights all come from one initializer; biases start at zero. Inits (names for `inits`):

* "zeros":    every weight 0. With ReLU every hidden activation is relu(0) = 0, so every weight
              gradient is exactly 0 (dL/dW = delta x^T with x = 0, and delta = W^T ... = 0): the
              only thing that moves is the last layer's bias, which learns the class frequencies.
* "constant": every weight 1 / fan_in (each filter averages its input patch). Gradients are not
              zero, so the weights move, but every filter of a layer gets the same gradient: the
              filters stay identical and the net behaves as if each layer had width one.
* any other initializer spec ("he_normal", "glorot_uniform", "constant(value=0.05)", ...).

The grid: one task per (init, seed); every init at one seed sees the same batches. The runs
are in float64, where the tie is exact. `float32_control=True` adds the symmetric non-zero
starts once more in float32: whether float32 rounding ever splits identical filters depends on
how the BLAS orders its sums (its build, its kernels, its thread count), not on the
initialization, so that run is shown as an illustration, never counted as evidence.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import data as D
from .. import init as I
from ..diagnostics import filter_similarity, offdiagonal
from ..constraints import Boolean, InstanceOf, Integer, Optional, Real, Satisfies, SequenceOf, about, check
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import grid
from ..layers import Conv2D, Dense
from ..models import small_cnn
from ..optim import SGD
from .training import accuracy, batches_per_pass, train_steps

NAME = "symmetry"
INITS = ("zeros", "constant", "he_normal")
LABELS = {"zeros": "zeros", "constant": "constant 1/fan_in", "he_normal": "random (He normal)"}
LABELS_JA = {"zeros": "すべて 0", "constant": "定数 1/fan_in", "he_normal": "ランダム(He 正規分布)"}
IDENTICAL_TOL = 1e-6   # "identical" filters: every pairwise cosine similarity >= 1 - 1e-6
DTYPES = {"float32": np.float32, "float64": np.float64}

TINY = dict(seeds=(0, 1), steps=24, every=8, n_train=256, n_test=128, float32_control=False)
DEMO = dict(seeds=tuple(range(8)), steps=100, every=20, batch_size=32, n_train=600, n_test=200)


# --------------------------------------------------------------------------- initializers

def fan_constant(shape, rng=None, *, dtype=np.float32):
    """Every weight 1 / fan_in: each filter (or unit) outputs the mean of its input patch."""
    fan_in, _ = I.compute_fans(shape)
    return np.full(shape, 1.0 / fan_in, dtype=dtype)


def resolve_init(name):
    """The initializer for a study name: "constant" is `fan_constant`; anything else goes to
    `init.get` (a registered name or a spec string); an unknown name is an error with choices."""
    if name == "constant":
        return fan_constant
    return I.get(name)


def label(name):
    return LABELS.get(name, name)


def label_ja(name):
    return LABELS_JA.get(name, name)


def symmetric_nonzero(name) -> bool:
    """Whether an init gives every filter the same non-zero weights (probed on a small conv weight)."""
    w = resolve_init(name)((4, 2, 3, 3), np.random.default_rng(0), dtype=np.float64).reshape(4, -1)
    return bool(np.any(w) and np.all(w == w[0]))


# --------------------------------------------------------------------------- one run

def filter_layers(model):
    """(label, layer) of every conv and hidden dense layer: the output layer is left out,
    since its rows are per class and differ from the first step on."""
    found = [(i, layer) for i, layer in enumerate(model) if isinstance(layer, (Conv2D, Dense))]
    return [(f"{i} {type(layer).__name__}", layer) for i, layer in found[:-1]]


def similarity_stats(weight):
    """(mean, min) of the off-diagonal pairwise cosine similarities of a layer's filters."""
    off = offdiagonal(filter_similarity(weight))
    return float(off.mean()), float(off.min())


@lru_cache(maxsize=4)
def _digits(n_train, n_test):
    """The digits (standardized, fixed split), the train and test splits capped at n_train/n_test."""
    ds = D.load("digits")
    return D.Dataset(**{**ds.__dict__, "train": tuple(a[:n_train] for a in ds.train),
                        "test": tuple(a[:n_test] for a in ds.test)})


def train_one(task) -> dict:
    """Train small_cnn from the task's init (in its dtype); its measurements as plain data."""
    c = task.config
    dtype = DTYPES[c["dtype"]]
    ds = _digits(c["n_train"], c["n_test"])
    x_test, y_test = ds.test
    model = small_cnn(ds.in_channels, ds.num_classes, ds.image_size, weight_init=resolve_init(c["init"]),
                      rng=task.rng("init"), dtype=dtype)
    start = {key: layer.params[name].copy() for key, layer, name in model.named_parameters()}
    layers = filter_layers(model)
    snap = {"steps": [], "mean": [], "min": [], "test_acc": []}

    def on_snapshot(step):
        stats = [similarity_stats(layer.params["weight"]) for _, layer in layers]
        snap["steps"].append(step)
        snap["mean"].append([s[0] for s in stats])
        snap["min"].append([s[1] for s in stats])
        snap["test_acc"].append(accuracy(model, x_test, y_test))

    optimizer = SGD(model, lr=c["lr"], momentum=c["momentum"])
    losses = train_steps(model, (ds.train[0].astype(dtype), ds.train[1]), optimizer, steps=c["steps"],
                         batch_size=c["batch_size"], rng=task.rng("data", shared=True), every=c["every"],
                         on_snapshot=on_snapshot, nonfinite="raise", where="symmetry")
    moved = {key: float(np.abs(layer.params[name] - start[key]).max()) for key, layer, name in model.named_parameters()}
    return {"layers": [name for name, _ in layers], "steps": snap["steps"], "similarity_mean": snap["mean"],
            "similarity_min": snap["min"], "test_acc": snap["test_acc"], "loss": losses.tolist(), "moved": moved,
            "symmetric_start": bool(min(snap["min"][0]) >= 1 - IDENTICAL_TOL),
            "all_zero_start": all(not np.any(v) for k, v in start.items() if k.endswith("weight")),
            "first_filters": model[0].params["weight"].astype(np.float64).tolist()}


# --------------------------------------------------------------------------- the grid

OPTIONS = {"inits": SequenceOf(InstanceOf(object, "an initializer"), what="initializer, got none"),
           "seeds": SEEDS, "dtype": Satisfies(lambda v: isinstance(v, str) and v in DTYPES, f"one of {', '.join(DTYPES)}"), "steps": Integer(1), "every": Integer(1),
           "batch_size": Integer(1), "n_train": Optional(Integer(1)), "n_test": Optional(Integer(1)),
           "lr": Real(0, low_open=True), "momentum": Real(0, 1), "float32_control": Boolean()}


def check_options(inits=INITS, seeds=tuple(range(8)), dtype="float64", *, steps=400, every=25, batch_size=64,
                  lr=0.05, momentum=0.9, n_train=None, n_test=None, float32_control=False) -> dict:
    """Every option checked (`OPTIONS`, each init resolved) and completed; a bad one is an
    InvalidValueError naming its keyword (an unknown initializer with a suggestion, counts
    below 1, a learning rate <= 0, ...)."""
    o = check("symmetry:", OPTIONS, dict(inits=inits, seeds=seeds, dtype=dtype, steps=steps, every=every,
                                         batch_size=batch_size, n_train=n_train, n_test=n_test, lr=lr,
                                         momentum=momentum, float32_control=bool(float32_control)))
    with about("inits"):
        for name in o["inits"]:
            resolve_init(name)
    batches_per_pass(len(_digits(o["n_train"], o["n_test"]).train[0]), o["batch_size"], where="symmetry")
    return {k: o[k] for k in ("inits", "seeds", "dtype", "steps", "every", "batch_size", "lr", "momentum",
                              "n_train", "n_test", "float32_control")}



def configs(options) -> list[dict]:
    """One training run per init (in `dtype`), and the float32 control of the symmetric non-zero
    starts when asked for (and the study is not in float32 already)."""
    o = options
    common = {k: o[k] for k in ("steps", "every", "batch_size", "lr", "momentum", "n_train", "n_test")}
    out = [dict(common, init=name, dtype=o["dtype"]) for name in o["inits"]]
    if o["float32_control"] and o["dtype"] != "float32":
        out += [dict(common, init=name, dtype="float32") for name in o["inits"] if symmetric_nonzero(name)]
    return out


def tasks(options):
    return grid(NAME, configs(options), options["seeds"])


def run_task(task) -> dict:
    return train_one(task)


# --------------------------------------------------------------------------- summary

def _collect(results, seeds):
    """Per-seed results of one init -> arrays over seeds (as lists)."""
    return {"seeds": list(seeds),
            "similarity_mean": [r["similarity_mean"] for r in results],    # seeds x snapshots x layers
            "similarity_min": [r["similarity_min"] for r in results],
            "test_acc": [r["test_acc"] for r in results],                  # seeds x snapshots
            "loss": [r["loss"] for r in results],                          # seeds x steps
            "moved": [r["moved"] for r in results],
            "symmetric_start": [r["symmetric_start"] for r in results],
            "all_zero_start": [r["all_zero_start"] for r in results],
            "final_filters": results[0]["first_filters"]}


def _summary(run):
    """Per init: final test accuracy (per seed, mean, min, max), the lowest similarity seen in
    each layer over every snapshot (per seed and overall), the final mean similarity per layer
    (per seed and mean), what moved."""
    final = np.asarray(run["test_acc"], dtype=np.float64)[:, -1]
    lowest = np.asarray(run["similarity_min"], dtype=np.float64).min(axis=1)        # seeds x layers
    final_mean = np.asarray(run["similarity_mean"], dtype=np.float64)[:, -1]        # seeds x layers
    keys = list(run["moved"][0])
    return {"final_test_acc_per_seed": final.tolist(), "final_test_acc": float(final.mean()),
            "final_test_acc_min": float(final.min()), "final_test_acc_max": float(final.max()),
            "lowest_similarity_per_seed": lowest.min(axis=1).tolist(), "lowest_similarity": lowest.min(axis=0).tolist(),
            "final_mean_similarity_per_seed": final_mean.max(axis=1).tolist(),
            "final_mean_similarity": final_mean.mean(axis=0).tolist(),
            "moved_parameters_per_seed": [[k for k in keys if m[k] > 0] for m in run["moved"]],
            "moved_parameters": [k for k in keys if max(m[k] for m in run["moved"]) > 0],
            "max_weight_change": {k: max(m[k] for m in run["moved"]) for k in keys},
            "smallest_weight_change_per_seed": [min(v for k, v in m.items() if k.endswith("weight"))
                                                for m in run["moved"]],
            "symmetric_start": all(run["symmetric_start"]), "all_zero_start": all(run["all_zero_start"])}


def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.symmetry`):

    {"inits", "labels", "layers" (the measured layers), "steps" (snapshot steps), "runs": {init:
    {"similarity_mean"/"similarity_min" (seeds x snapshots x layers), "test_acc" (seeds x
    snapshots), "loss" (seeds x steps), "moved" (per seed {param: max |w - w0|}),
    "final_filters" (first seed's first-layer weights)}}, "summary": {init: ...},
    "float32_control"/"float32_summary" (the same for the float32 runs, when run), "last_bias"
    (the output layer's bias key), "settings"}."""
    o = options
    by_run = {}
    for task, result in zip(tasks, results):
        by_run.setdefault((task.config["init"], task.config["dtype"]), []).append((task.seed, result))
    runs, control = {}, {}
    for (name, dtype), pairs in by_run.items():
        into = runs if dtype == o["dtype"] else control
        into[name] = _collect([r for _, r in pairs], [s for s, _ in pairs])
    first = results[0]
    ds = _digits(o["n_train"], o["n_test"])
    out = {"inits": list(o["inits"]), "labels": {n: label(n) for n in o["inits"]},
           "labels_ja": {n: label_ja(n) for n in o["inits"]}, "layers": first["layers"], "steps": first["steps"],
           "last_bias": list(first["moved"])[-1], "runs": runs,
           "summary": {n: _summary(r) for n, r in runs.items()}}
    if control:
        out["float32_control"] = control
        out["float32_summary"] = {n: _summary(r) for n, r in control.items()}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings.update(dataset="digits", model="small_cnn", n_train=len(ds.train[0]), n_test=len(ds.test[0]),
                    constant="every weight 1/fan_in", identical_tolerance=IDENTICAL_TOL)
    out["settings"] = settings
    return out


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
