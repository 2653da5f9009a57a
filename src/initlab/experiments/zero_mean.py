"""Study 3: why zero mean? A centred init against the same distribution shifted off zero.

Both inits draw every conv and dense weight from a uniform distribution of the same width, so
of the same variance; only the mean differs. With a = sqrt(6 / fan_in) (He's uniform bound):

* "centred": U(-a, a)                          mean 0,         variance a^2 / 3 = 2 / fan_in;
* "shifted": U(-a + s a, a + s a), s = `shift`  mean s a,       variance a^2 / 3 = 2 / fan_in
             (the default s = 1 gives U(0, 2a): every weight positive).

Biases start at zero and the digits are standardized (zero-mean inputs), so the only thing that
differs is the weights' mean. Why it matters: a pre-activation z = sum_i w_i h_i over fan_in
inputs has E[z] = fan_in E[w] E[h]. With E[w] = 0 that is 0 whatever the inputs do. With
E[w] = s a and ReLU outputs h >= 0 (so E[h] > 0), every layer multiplies the mean by about
fan_in s a = s sqrt(6 fan_in) (29 for a 3x3 conv over 16 channels): the activations drift to
one side geometrically with depth, nearly every unit fires (ReLU stops being a nonlinearity),
and the logits are enormous, so training is slow or fails.

Measured (1) at init, on a deep plain stack (`plain_cnn(depth, width)`): the per-layer mean and
std of the pre-activations, the mean of the ReLU outputs and the fraction of units that fire;
(2) in training a shallower one (`plain_cnn(train_depth, width)`, SGD with momentum): the loss
per step, the test accuracy every `every` steps, and the fraction of units that fire in each conv
layer before and after training, for several seeds. (What failure looks like here: the first
steps' huge logits and gradients push the weights until the deeper ReLUs never fire again, and
the net is stuck at chance with a loss of ln(classes).)
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import data as D
from .. import init as I
from ..errors import InvalidValueError, unknown_name
from ..layers import Conv2D
from ..models import plain_cnn
from ..optim import SGD
from ..validate import positive_int, real_number
from . import claim
from .training import accuracy, train_steps

INITS = ("centred", "shifted")

TINY = dict(seeds=(0,), depth=6, width=8, train_depth=2, steps=20, every=5, n_train=256, n_test=128,
            n_probe=64)
DEMO = dict(seeds=(0, 1, 2), steps=200)


# --------------------------------------------------------------------------- the two inits

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


# --------------------------------------------------------------------------- measurements

def propagation(model, x):
    """Forward `x` through the model in eval mode and measure every conv layer at init.

    Returns a dict of per-conv-layer lists: "pre_mean", "pre_std" (of the conv output),
    "post_mean" (of the following ReLU's output), "active" (fraction of pre-activations > 0).
    """
    stats = {"pre_mean": [], "pre_std": [], "post_mean": [], "active": []}
    with np.errstate(all="ignore"):
        h = x
        layers = list(model)
        for i, layer in enumerate(layers):
            h = layer.forward(h, training=False)
            if isinstance(layer, Conv2D):
                z = h.astype(np.float64)
                stats["pre_mean"].append(float(z.mean()))
                stats["pre_std"].append(float(z.std()))
                stats["active"].append(float((z > 0).mean()))
                stats["post_mean"].append(float(np.maximum(z, 0).mean()))
    return stats


def predicted_factor(width, kernel=3, shift=1.0):
    """The per-layer growth of the activation mean under the shifted init:
    E[z_l] = fan_in E[w] E[h_(l-1)] = fan_in * shift * a * E[h] = shift sqrt(6 fan_in) E[h].
    On small images it is a slight overestimate: zero padding leaves the border windows fewer
    than fan_in inputs (measured on 8x8 digits: x27.3 per layer against x29.4 predicted)."""
    return shift * math.sqrt(6.0 * width * kernel * kernel)


# --------------------------------------------------------------------------- the study

def check_options(inits=INITS, seeds=(0,), depth=10, train_depth=3, *, width=16, steps=300, every=20,
                  batch_size=64, lr=0.05, momentum=0.9, shift=1.0, n_probe=256, n_train=None, n_test=None):
    """Validate the study's choices before anything runs -> (inits, seeds); clear errors naming
    the option (unknown init with a suggestion, counts below 1, a learning rate <= 0, ...)."""
    inits = (inits,) if isinstance(inits, str) else tuple(inits)
    if not inits:
        raise InvalidValueError(f"zero-mean: inits: expected at least one of {', '.join(INITS)}")
    for name in inits:
        if name not in INITS:
            raise unknown_name("zero-mean init", name, INITS)
    seeds = tuple(positive_int(s, "zero-mean: seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("zero-mean: seeds: expected at least one seed")
    for value, name in ((depth, "depth"), (train_depth, "train_depth"), (width, "width"), (steps, "steps"),
                        (every, "every"), (batch_size, "batch_size"), (n_probe, "n_probe")):
        positive_int(value, f"zero-mean: {name}")
    for value, name in ((n_train, "n_train"), (n_test, "n_test")):
        if value is not None:           # None: the whole split; a negative count would slice from the end
            positive_int(value, f"zero-mean: {name}")
    real_number(lr, "zero-mean: lr", low=0, low_open=True)
    real_number(momentum, "zero-mean: momentum", low=0, high=1)
    real_number(shift, "zero-mean: shift")
    return inits, seeds


def run(inits=INITS, seeds=(0, 1, 2), *, depth=10, width=16, train_depth=3, steps=300, every=20,
        batch_size=64, lr=0.05, momentum=0.9, shift=1.0, n_probe=256, n_train=None, n_test=None,
        progress=None) -> dict:
    """Measure the activation drift at init and train from each init, for each seed.

    Returns {"study", "inits", "labels", "layers" (1..depth), "steps" (snapshot steps),
    "propagation": {init: {"pre_mean", "pre_std", "post_mean", "active"} (seeds x depth)},
    "training": {init: {"loss" (seeds x steps), "test_acc" (seeds x snapshots), "final_test_acc",
    "initial_loss", "diverged" (per seed: a non-finite loss), "active_before"/"active_after"
    (seeds x train_depth: fraction of positive pre-activations per conv layer on the probe
    images)}}, "weights": {init: a sample of the
    second conv layer's weights, with its "mean"/"std"}, "shifted_predicted_growth_per_layer",
    "summary", flat
    numbers, "claims", "settings", "seconds"}.
    """
    inits, seeds = check_options(inits, seeds, depth, train_depth, width=width, steps=steps, every=every,
                                 batch_size=batch_size, lr=lr, momentum=momentum, shift=shift, n_probe=n_probe,
                                 n_train=n_train, n_test=n_test)
    shift = float(shift)
    began = time.perf_counter()
    ds = D.load("digits")
    x_train, y_train = ds.train[0][:n_train], ds.train[1][:n_train]
    x_test, y_test = ds.test[0][:n_test], ds.test[1][:n_test]
    probe = x_train[:n_probe]
    total, done = len(inits) * len(seeds), 0
    prop, training, weights = {}, {}, {}
    for name in inits:
        fn = initializer(name, shift)
        per_prop, per_train = [], []
        for seed in seeds:
            if progress:
                progress(done, total, f"{name} seed {seed}")
            weights_ss, train_ss, order_ss = np.random.SeedSequence([seed, 3]).spawn(3)
            deep = plain_cnn(depth, width, in_channels=ds.in_channels, num_classes=ds.num_classes,
                             weight_init=fn, rng=np.random.default_rng(weights_ss))
            per_prop.append(propagation(deep, probe))
            if seed == seeds[0]:
                w = deep[2].params["weight"] if depth > 1 else deep[0].params["weight"]
                weights[name] = {"sample": w.ravel(), "mean": float(w.mean()), "std": float(w.std()),
                                 "bound": he_bound(w.shape)}
            per_train.append(_train(fn, ds, (x_train, y_train), (x_test, y_test), probe, train_depth, width,
                                    np.random.default_rng(train_ss), np.random.default_rng(order_ss),
                                    steps=steps, every=every, batch_size=batch_size, lr=lr, momentum=momentum))
            done += 1
        prop[name] = {k: np.array([p[k] for p in per_prop]) for k in per_prop[0]}
        training[name] = _collect(per_train)
    if progress:
        progress(total, total, "done")
    out = {"study": "zero_mean", "inits": list(inits),
           "labels": {n: _label(n, shift) for n in inits},
           "layers": list(range(1, depth + 1)), "steps": per_train[0]["steps"],
           "propagation": prop, "training": training, "weights": weights,
           "shifted_predicted_growth_per_layer": predicted_factor(width, 3, shift)}
    out["settings"] = dict(num_classes=ds.num_classes, seeds=list(seeds), depth=depth, width=width,
                           train_depth=train_depth, steps=steps, every=every, batch_size=batch_size, lr=lr,
                           momentum=momentum, shift=shift,
                           n_probe=len(probe), n_train=len(x_train), n_test=len(x_test), dataset="digits",
                           centred="U(-a, a)", shifted=f"U(-a + {shift:g} a, a + {shift:g} a)",
                           a="sqrt(6 / fan_in)", variance="a^2 / 3 = 2 / fan_in for both")
    out["summary"] = _summary(out)
    out.update(_flat_numbers(out))
    out["claims"] = _claims(out)
    out["seconds"] = time.perf_counter() - began
    return out


def _label(name, shift):
    if name == "centred":
        return "centred U(-a, a)"
    return "shifted U(0, 2a)" if shift == 1 else f"shifted U(-a + {shift:g}a, a + {shift:g}a)"


def _train(fn, ds, train, test, probe, depth, width, weight_rng, order_rng, *, steps, every, batch_size, lr,
           momentum):
    model = plain_cnn(depth, width, in_channels=ds.in_channels, num_classes=ds.num_classes,
                      weight_init=fn, rng=weight_rng)
    snap = {"steps": [], "test_acc": []}

    def on_snapshot(step):
        snap["steps"].append(step)
        snap["test_acc"].append(accuracy(model, *test))

    active_before = propagation(model, probe)["active"]
    losses = train_steps(model, train, SGD(model, lr=lr, momentum=momentum), steps=steps, batch_size=batch_size,
                         rng=order_rng, every=every, on_snapshot=on_snapshot, where="zero-mean")
    return {"loss": losses, "active_before": active_before, "active_after": propagation(model, probe)["active"],
            **snap}


def _collect(per_seed):
    loss = np.array([r["loss"] for r in per_seed])
    acc = np.array([r["test_acc"] for r in per_seed])
    return {"loss": loss, "test_acc": acc, "final_test_acc": acc[:, -1], "initial_loss": loss[:, 0],
            "active_before": np.array([r["active_before"] for r in per_seed]),
            "active_after": np.array([r["active_after"] for r in per_seed]),
            "diverged": [bool(not np.isfinite(r["loss"]).all()) for r in per_seed]}


def _summary(out):
    """Per init: the activation mean at the last layer over the first's, the median per-layer
    growth factor (layers 2..depth), the fraction of active units in the last layer, the final
    test accuracy (mean over seeds) and the first loss."""
    summary = {}
    for name, p in out["propagation"].items():
        with np.errstate(divide="ignore", invalid="ignore"):   # a dead net (shift < 0): 0 and NaN
            summary[name] = _init_summary(p, out["training"][name])
    return summary


def _init_summary(p, t):
    """`_summary` of one init, from its propagation and training records."""
    post = np.abs(p["post_mean"])                  # seeds x layers
    ratio = post[:, -1] / post[:, 0]
    growth = post[:, 1:] / post[:, :-1] if post.shape[1] > 1 else np.ones((len(post), 1))
    return {
        "last_over_first_mean": float(np.exp(np.log(ratio).mean())),      # geometric mean over seeds
        "median_growth_per_layer": float(np.median(growth)),
        "spread": float(np.exp(np.log(post.mean(axis=0)).max() - np.log(post.mean(axis=0)).min())),
        "last_layer_active": float(p["active"][:, -1].mean()),
        "final_test_acc": float(np.mean(t["final_test_acc"])),
        "final_test_acc_per_seed": t["final_test_acc"],
        "initial_loss": float(np.mean(t["initial_loss"])),
        "last_layer_active_after_training": float(t["active_after"][:, -1].mean()),
        "diverged_seeds": int(sum(t["diverged"])),
    }


def _flat_numbers(out):
    flat = {}
    for name, s in out["summary"].items():
        flat[f"{name}_activation_mean_last_over_first"] = s["last_over_first_mean"]
        flat[f"{name}_growth_per_layer"] = s["median_growth_per_layer"]
        flat[f"{name}_last_layer_active_fraction"] = s["last_layer_active"]
        flat[f"{name}_final_test_acc"] = s["final_test_acc"]
    return flat


def _claims(out):
    s, claims = out["summary"], []
    depth = len(out["layers"])
    if "shifted" in s:
        sh = s["shifted"]
        claims.append(claim(
            f"shifted init: the mean ReLU activation grows geometrically with depth (layer {depth} / layer 1 "
            ">= 100x; predicted growth per layer s*sqrt(6 fan_in))",
            sh["last_over_first_mean"] >= 100,
            ja=f"平均をずらした初期値: ReLU 活性化の平均が深さとともに幾何級数的に増える(第 {depth} 層 / 第 1 層 "
               ">= 100 倍。1 層あたりの倍率の予測値は s*sqrt(6 fan_in))", ratio=sh["last_over_first_mean"],
            growth_per_layer=sh["median_growth_per_layer"],
            predicted_growth_per_layer=out["shifted_predicted_growth_per_layer"]))
        claims.append(claim(
            "shifted init: nearly every unit fires in the last layer (> 95% of pre-activations positive): the "
            "ReLU no longer acts as a nonlinearity",
            sh["last_layer_active"] > 0.95,
            ja="平均をずらした初期値: 最後の層ではほぼすべてのユニットが発火する(前活性化の 95% 超が正): "
               "ReLU はもはや非線形関数として働かない", active_fraction=sh["last_layer_active"],
            centred_active_fraction=s.get("centred", {}).get("last_layer_active")))
    if "centred" in s:
        ce = s["centred"]
        claims.append(claim(
            f"centred init: the mean ReLU activation stays within a factor 4 across all {depth} layers",
            ce["spread"] <= 4,
            ja=f"平均 0 の初期値: ReLU 活性化の平均の最大/最小の比が全 {depth} 層を通じて 4 倍以内に収まる", max_over_min=ce["spread"], growth_per_layer=ce["median_growth_per_layer"]))
    if "centred" in s and "shifted" in s:
        ce, sh = s["centred"], s["shifted"]
        steps = out["steps"][-1]
        per_seed = zip(ce["final_test_acc_per_seed"], sh["final_test_acc_per_seed"])
        claims.append(claim(
            f"after {steps} steps the shifted start is behind: lower test accuracy than the centred start for "
            "every seed, by at least 0.2 on average",
            all(c > t for c, t in per_seed) and ce["final_test_acc"] - sh["final_test_acc"] >= 0.2,
            ja=f"{steps} ステップ後、平均をずらした初期値は遅れている: どのシードでもテスト精度が平均 0 の初期値より"
               "低く、その差はシード平均で 0.2 以上",
            centred=ce["final_test_acc"], shifted=sh["final_test_acc"],
            shifted_per_seed=sh["final_test_acc_per_seed"], centred_per_seed=ce["final_test_acc_per_seed"]))
        classes = out["settings"]["num_classes"]
        chance = math.log(classes)
        claims.append(claim(
            f"the shifted start's first loss is far above chance level ln({classes}) = {chance:.2f} "
            "(more than 10x: its logits are huge); the centred one starts near it (below 2x)",
            sh["initial_loss"] > 10 * chance and ce["initial_loss"] < 2 * chance,
            ja=f"平均をずらした初期値の最初の損失はチャンスレベル ln({classes}) = {chance:.2f} をはるかに上回る"
               "(10 倍超: ロジットが巨大)。平均 0 の初期値はその近く(2 倍未満)から始まる",
            shifted=sh["initial_loss"], centred=ce["initial_loss"]))
        claims.append(claim(
            f"how the shifted start fails: after {steps} steps the units of the trained net's last conv layer "
            "never fire on the probe images (< 1% active; dead ReLUs), while the centred net's still do (> 10%)",
            sh["last_layer_active_after_training"] < 0.01 and ce["last_layer_active_after_training"] > 0.1,
            ja=f"平均をずらした初期値が失敗する仕組み: {steps} ステップ後、学習したネットの最後の畳み込み層のユニットは"
               "確認用の画像でまったく発火しない(発火しているユニットは 1% 未満、dead ReLU)。平均 0 で初期化したネットではまだ発火する(10% 超)",
            shifted_active=sh["last_layer_active_after_training"],
            centred_active=ce["last_layer_active_after_training"]))
    return claims
