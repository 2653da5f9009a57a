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

The study runs in float64 by default, because in float32 the tie does not hold exactly.
OpenBLAS's float32 matrix product rounds different output columns differently (measured here:
A @ B with B's 32 columns all equal gives columns that differ by ~1e-7 relative; its float64
product gives them bit-identical). The symmetric state is an unstable fixed point of gradient
descent, so those rounding differences grow during training until the filters split and the net
learns: rounding noise acting as a (tiny, accidental, machine-dependent) random init.
`float32_control=True` trains the symmetric non-zero starts once more in float32 to show it.
"""
from __future__ import annotations

import time

import numpy as np

from .. import data as D
from .. import init as I
from ..diagnostics import filter_similarity, offdiagonal
from ..errors import InvalidValueError
from ..layers import Conv2D, Dense
from ..models import small_cnn
from ..optim import SGD
from ..validate import positive_int, real_number
from . import claim
from .training import accuracy, train_steps

INITS = ("zeros", "constant", "he_normal")
LABELS = {"zeros": "zeros", "constant": "constant 1/fan_in", "he_normal": "random (He normal)"}
LABELS_JA = {"zeros": "すべて 0", "constant": "定数 1/fan_in", "he_normal": "ランダム(He 正規分布)"}
IDENTICAL_TOL = 1e-6   # "identical" filters: every pairwise cosine similarity >= 1 - 1e-6
DTYPES = {"float32": np.float32, "float64": np.float64}

TINY = dict(seeds=(0,), steps=24, every=8, n_train=256, n_test=128, float32_control=False)
DEMO = dict(seeds=(0, 1), steps=240, every=20)


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


def train_one(init_name, seed, dataset, *, steps, every, batch_size, lr, momentum, dtype):
    """Train small_cnn from one init and one seed; returns the run's measurements."""
    weights_ss, order_ss = np.random.SeedSequence([seed, 2]).spawn(2)
    x_train, y_train = dataset.train
    x_test, y_test = dataset.test
    model = small_cnn(dataset.in_channels, dataset.num_classes, dataset.image_size,
                      weight_init=resolve_init(init_name), rng=np.random.default_rng(weights_ss), dtype=dtype)
    start = {key: layer.params[name].copy() for key, layer, name in model.named_parameters()}
    layers = filter_layers(model)
    snap = {"steps": [], "mean": [], "min": [], "test_acc": []}

    def on_snapshot(step):
        stats = [similarity_stats(layer.params["weight"]) for _, layer in layers]
        snap["steps"].append(step)
        snap["mean"].append([s[0] for s in stats])
        snap["min"].append([s[1] for s in stats])
        snap["test_acc"].append(accuracy(model, x_test, y_test))

    optimizer = SGD(model, lr=lr, momentum=momentum)
    losses = train_steps(model, (x_train.astype(dtype), y_train), optimizer, steps=steps,
                         batch_size=batch_size, rng=np.random.default_rng(order_ss), every=every,
                         on_snapshot=on_snapshot, nonfinite="raise", where="symmetry")
    moved = {key: float(np.abs(layer.params[name] - start[key]).max())
             for key, layer, name in model.named_parameters()}
    return {"layers": [name for name, _ in layers], "snapshots": snap, "loss": losses, "moved": moved,
            "symmetric_start": bool(np.all(np.array(snap["min"][0]) >= 1 - IDENTICAL_TOL)),
            "all_zero_start": all(not np.any(v) for k, v in start.items() if k.endswith("weight")),
            "final_filters": model[0].params["weight"].copy()}


# --------------------------------------------------------------------------- the study

def check_options(inits=INITS, seeds=(0,), dtype="float64", *, steps=400, every=25, batch_size=64, lr=0.05,
                  momentum=0.9, n_train=None, n_test=None):
    """Validate the study's choices before anything runs -> (inits, seeds); clear errors (unknown
    initializer with a suggestion, counts below 1, a learning rate <= 0, ...)."""
    inits = (inits,) if isinstance(inits, str) else tuple(inits)
    if not inits:
        raise InvalidValueError("symmetry: inits: expected at least one initializer, got none")
    for name in inits:
        resolve_init(name)
    seeds = tuple(positive_int(s, "symmetry: seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("symmetry: seeds: expected at least one seed")
    if dtype not in DTYPES:
        raise InvalidValueError(f"symmetry: dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    for value, name in ((steps, "steps"), (every, "every"), (batch_size, "batch_size")):
        positive_int(value, f"symmetry: {name}")
    for value, name in ((n_train, "n_train"), (n_test, "n_test")):
        if value is not None:
            positive_int(value, f"symmetry: {name}")
    real_number(lr, "symmetry: lr", low=0, low_open=True)
    real_number(momentum, "symmetry: momentum", low=0, high=1)
    return inits, seeds


def run(inits=INITS, seeds=(0, 1), *, steps=400, every=25, batch_size=64, lr=0.05, momentum=0.9,
        n_train=None, n_test=None, dtype="float64", float32_control=True, progress=None) -> dict:
    """Train small_cnn on digits from each init, for each seed, and follow the filters' similarity.

    Returns {"study", "inits", "labels", "layers" (the measured layers), "steps" (snapshot steps),
    "runs": {init: {"similarity_mean"/"similarity_min" (seeds x snapshots x layers),
    "test_acc" (seeds x snapshots), "loss" (seeds x steps), "moved" (seeds x {param: max |w - w0|}),
    "final_filters" (first seed's first-layer weights)}}, "summary": {init: {...}}, flat numbers
    "<init>_final_test_acc" / "<init>_min_similarity", "claims", "settings", "seconds"}.
    `n_train`/`n_test` cap the digits' train and test splits (None: all of them).
    `float32_control` (with dtype float64): train the symmetric starts that are not all zero again
    in float32 -> "float32_control": {init: {"similarity_min", "test_acc", ...}} (same layout).
    """
    inits, seeds = check_options(inits, seeds, dtype, steps=steps, every=every, batch_size=batch_size, lr=lr,
                                 momentum=momentum, n_train=n_train, n_test=n_test)
    controls = [n for n in inits if float32_control and dtype == "float64" and _symmetric_nonzero(n)]
    began = time.perf_counter()
    dataset = _digits(n_train, n_test)
    total, done = (len(inits) + len(controls)) * len(seeds), 0
    runs, control_runs = {}, {}
    for name, precision, into in [(n, dtype, runs) for n in inits] + [(n, "float32", control_runs) for n in controls]:
        per_seed = []
        for seed in seeds:
            if progress:
                progress(done, total, f"{name} seed {seed}" + (" float32" if into is control_runs else ""))
            per_seed.append(train_one(name, seed, dataset, steps=steps, every=every, batch_size=batch_size,
                                      lr=lr, momentum=momentum, dtype=DTYPES[precision]))
            done += 1
        into[name] = _collect(per_seed)
    if progress:
        progress(total, total, "done")
    out = {"study": "symmetry", "inits": list(inits), "labels": {n: label(n) for n in inits},
           "layers": per_seed[0]["layers"], "steps": per_seed[0]["snapshots"]["steps"], "runs": runs,
           "summary": {n: _summary(r) for n, r in runs.items()}}
    if control_runs:
        out["float32_control"] = control_runs
        out["float32_summary"] = {n: _summary(r) for n, r in control_runs.items()}
    out.update(_flat_numbers(out))
    out["claims"] = _claims(out)
    out["settings"] = dict(seeds=list(seeds), steps=steps, every=every, batch_size=batch_size, lr=lr,
                           momentum=momentum, dtype=dtype, dataset="digits", model="small_cnn",
                           n_train=len(dataset.train[0]), n_test=len(dataset.test[0]),
                           constant="every weight 1/fan_in", identical_tolerance=IDENTICAL_TOL)
    out["seconds"] = time.perf_counter() - began
    return out


def _symmetric_nonzero(name):
    """Whether an init gives every filter the same non-zero weights (probed on a small conv weight)."""
    w = resolve_init(name)((4, 2, 3, 3), np.random.default_rng(0), dtype=np.float64).reshape(4, -1)
    return bool(np.any(w) and np.all(w == w[0]))


def _digits(n_train, n_test):
    ds = D.load("digits")
    if n_train is None and n_test is None:
        return ds
    n_train = len(ds.train[0]) if n_train is None else n_train
    n_test = len(ds.test[0]) if n_test is None else n_test
    return D.Dataset(**{**ds.__dict__, "train": tuple(a[:n_train] for a in ds.train),
                        "test": tuple(a[:n_test] for a in ds.test)})


def _collect(per_seed):
    first = per_seed[0]
    return {
        "similarity_mean": np.array([r["snapshots"]["mean"] for r in per_seed]),
        "similarity_min": np.array([r["snapshots"]["min"] for r in per_seed]),
        "test_acc": np.array([r["snapshots"]["test_acc"] for r in per_seed]),
        "loss": np.array([r["loss"] for r in per_seed]),
        "moved": [r["moved"] for r in per_seed],
        "symmetric_start": all(r["symmetric_start"] for r in per_seed),
        "all_zero_start": all(r["all_zero_start"] for r in per_seed),
        "final_filters": first["final_filters"],
    }


def _summary(r):
    """Per init: final test accuracy (mean, min, max over seeds), the lowest similarity seen in
    each layer over every snapshot and seed, the final mean similarity per layer, what moved."""
    final = r["test_acc"][:, -1]
    moved = r["moved"]
    keys = list(moved[0])
    return {
        "final_test_acc": float(final.mean()), "final_test_acc_min": float(final.min()),
        "final_test_acc_max": float(final.max()),
        "lowest_similarity": r["similarity_min"].min(axis=(0, 1)),
        "final_mean_similarity": r["similarity_mean"][:, -1].mean(axis=0),
        "moved_parameters": [k for k in keys if max(m[k] for m in moved) > 0],
        "max_weight_change": {k: max(m[k] for m in moved) for k in keys},
        "symmetric_start": r["symmetric_start"], "all_zero_start": r["all_zero_start"],
    }


def _flat_numbers(out):
    def key(name):        # a spec such as "constant(value=0.05)" becomes init_constant_value_0_05_
        return name if name.isidentifier() else "init_" + "".join(c if c.isalnum() else "_" for c in name)

    flat = {}
    for name, s in out["summary"].items():
        flat[f"{key(name)}_final_test_acc"] = s["final_test_acc"]
        flat[f"{key(name)}_min_similarity"] = float(np.min(s["lowest_similarity"]))
    for name, s in out.get("float32_summary", {}).items():
        flat[f"{key(name)}_float32_final_test_acc"] = s["final_test_acc"]
        flat[f"{key(name)}_float32_min_similarity"] = float(np.min(s["lowest_similarity"]))
    return flat


def _claims(out):
    summary, claims = out["summary"], []
    symmetric = [n for n, s in summary.items() if s["symmetric_start"]]
    random = [n for n, s in summary.items() if not s["symmetric_start"]]
    last_bias = list(out["runs"][out["inits"][0]]["moved"][0])[-1]
    for name in symmetric:
        s = summary[name]
        lowest = float(np.min(s["lowest_similarity"]))
        claims.append(claim(
            f"{label(name)}: every filter of every layer stays identical through training (pairwise cosine "
            f"similarity >= 1 - {IDENTICAL_TOL:g} at every snapshot, every seed)",
            lowest >= 1 - IDENTICAL_TOL,
            ja=f"{label_ja(name)}: どの層のフィルターも学習中ずっと互いに同一のまま(どのスナップショット、どのシードでも"
               f"ペアごとのコサイン類似度 >= 1 - {IDENTICAL_TOL:g})", lowest_similarity=lowest, per_layer=s["lowest_similarity"]))
        if s["all_zero_start"]:
            claims.append(claim(
                f"{label(name)}: with ReLU every weight gradient is exactly zero; nothing moves but the last "
                "layer's bias",
                s["moved_parameters"] == [last_bias],
                ja=f"{label_ja(name)}: ReLU では重みの勾配がすべて厳密に 0 になり、動くのは最終層のバイアスだけ",
                moved=s["moved_parameters"]))
        else:
            weights = {k: v for k, v in s["max_weight_change"].items() if k.endswith("weight")}
            claims.append(claim(
                f"{label(name)}: the weights do move (every weight tensor changes), only all filters of a layer "
                "move together",
                min(weights.values()) > 0,
                ja=f"{label_ja(name)}: 重みは動く(どの重みテンソルも変わる)が、同じ層のフィルターはすべて揃って同じように"
                   "動くだけ",
                smallest_max_change=min(weights.values())))
    for name in random:
        s = summary[name]
        top = float(np.max(s["final_mean_similarity"]))
        claims.append(claim(
            f"{label(name)}: the symmetry is broken: after training the filters' mean pairwise cosine "
            "similarity is below 0.5 in every layer",
            top < 0.5,
            ja=f"{label_ja(name)}: 対称性が破れる: 学習後、どの層でもフィルター同士の平均コサイン類似度が 0.5 未満",
            final_mean_similarity=s["final_mean_similarity"]))
    if symmetric and random:
        best_random = max(summary[n]["final_test_acc"] for n in random)
        for name in symmetric:
            acc = summary[name]["final_test_acc"]
            claims.append(claim(
                f"{label(name)}: test accuracy stays far below the random start's (at least 0.2 lower, mean "
                "over seeds)",
                acc <= best_random - 0.2,
                ja=f"{label_ja(name)}: テスト精度はランダムな初期値のものを大きく下回ったまま(シード平均で 0.2 以上低い)",
                accuracy=acc, random_accuracy=best_random))
    for name, s in out.get("float32_summary", {}).items():
        lowest = float(np.min(s["lowest_similarity"]))
        claims.append(claim(
            f"{label(name)} in float32: rounding differences between output channels of the float32 matrix "
            "product (~1e-7) grow during training and split the filters (lowest similarity < 1 - "
            f"{IDENTICAL_TOL:g}); machine-dependent, which is why the study runs in float64",
            lowest < 1 - IDENTICAL_TOL,
            ja=f"{label_ja(name)}(float32): float32 の行列積で出力チャネル間に生じる丸めの違い(約 1e-7)が"
               f"学習中に増幅され、フィルター同士を互いに異なるものにする(最小類似度 < 1 - {IDENTICAL_TOL:g})。マシンに依存するため、"
               "この実験は float64 で行う",
            lowest_similarity=lowest, accuracy=s["final_test_acc"],
            float64_accuracy=summary[name]["final_test_acc"]))
    return claims
