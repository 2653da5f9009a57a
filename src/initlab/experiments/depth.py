"""Study 4: does the init matter for training? Deep plain ConvNets with Glorot, He, orthogonal.

He et al. 2015 (Figure 3): a 30-layer plain ReLU net (no batch norm, no skip connections)
initialized with Glorot's variance stalls, while He's converges. The reason, layer by layer:
Glorot's variance 2 / (fan_in + fan_out) = 1 / fan_in for a square conv, half of what a ReLU
layer needs (it zeroes half the signal), so each layer halves the variance of the signal going
up and of the gradient coming down; after L layers the gradient reaching the first layer is
2^(-(L-1)/2) times He's. With biases and momentum a Glorot net may still get going, much later:
so this study measures *when*, at several depths and seeds.

The nets: `depth` conv 3x3 layers (pad 1, `width` channels, biases zero), each followed by the
activation, then flatten and a dense layer to the classes, trained with SGD + momentum on the
scikit-learn digits (8x8, standardized). The flatten head (not `plain_cnn`'s global average
pooling) keeps the comparison about the init: after global pooling the features of a freshly
initialized deep ReLU stack are 97-99% the same for every image (measured), and every init
then starts slowly. The learning rate is `lr * 10 / depth` (0.015, 0.0075, 0.005 at 10, 20,
30 layers), the same for every init at a depth: a deeper plain net needs a smaller step to be
stable (measured: He at 30 layers stalls at 0.01-0.02 and trains at 0.003-0.007).

Inits (names for `inits`), all biases zero:
* "glorot": glorot_normal; "he": he_normal; "orthogonal": orthogonal with gain sqrt(2)
  (Saxe et al. 2014, scaled to He's variance), every layer including the head;
* "delta_orthogonal" (the `critical` run, tanh, at the largest depth): Xiao et al. 2018's
  delta-orthogonal kernels with gain 1, the critical point of a tanh net without biases
  (chi = sigma_w^2 E[tanh'(z)^2] -> 1), and an orthogonal head.

Measured: the loss per step; the steps until the mean loss of the last `window` steps falls
below `threshold` (None if never within `steps`); and, at init, the std of the first layer's
weight gradient under Glorot and He drawn from the same seed (the same Gaussian draws,
scaled), against the theoretical ratio 2^(-(L-1)/2).
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import data as D
from ..diagnostics import signal_propagation
from ..errors import InvalidValueError, unknown_name
from ..layers import Conv2D, Dense, Flatten, activation_layer
from ..model import Sequential
from ..optim import SGD
from ..rng import as_generator
from ..validate import positive_int, real_number
from . import claim
from .training import batches_per_pass, train_steps

SQRT2 = math.sqrt(2.0)
INITS = {"glorot": ("relu", "glorot_normal"), "he": ("relu", "he_normal"),
         "orthogonal": ("relu", f"orthogonal(gain={SQRT2!r})")}
CRITICAL = ("delta_orthogonal", "tanh", "delta_orthogonal(gain=1.0)")
CONV_ONLY = ("delta_orthogonal", "dirac")      # schemes that do not apply to a dense weight

TINY = dict(depths=(2, 5), width=8, steps=60, threshold=2.0, n_train=400, batch_size=32,
            critical=False, seeds=(0,))
DEMO = dict(depths=(10, 20, 30), steps=300, seeds=(0,))


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


# --------------------------------------------------------------------------- training

def trailing_mean(losses, window):
    """The mean of the last `window` losses (of all of them when there are fewer)."""
    return float(np.mean(np.asarray(losses, dtype=np.float64)[-window:]))


def steps_to_threshold(losses, threshold, window):
    """First step n (1-based) at which the mean of losses n-window+1..n is below threshold, or None."""
    for n in range(window, len(losses) + 1):
        if trailing_mean(losses[:n], window) < threshold:
            return n
    return None


def train(model, x, y, *, steps, batch_size, lr, momentum, threshold, window, rng, stop_at_threshold=True):
    """SGD with momentum on softmax cross-entropy, full batches only -> (per-step losses,
    `steps_to_threshold` of them or None).

    Stops at `steps`, at the threshold (if stop_at_threshold), or at a non-finite loss.
    """
    def reached_threshold(step, losses):
        return stop_at_threshold and step >= window and trailing_mean(losses, window) < threshold

    losses = train_steps(model, (x, y), SGD(model, lr=lr, momentum=momentum), steps=steps, batch_size=batch_size,
                         rng=rng, drop_last=True, on_step=reached_threshold, nonfinite="stop", where="depth")
    return losses.tolist(), steps_to_threshold(losses, threshold, window)


# --------------------------------------------------------------------------- gradient at init

def first_layer_gradients(depth, width, x, y, seed, ds):
    """Glorot and He from the same seed: their first-layer gradient stds and the ratio vs theory."""
    stats = {}
    for name in ("glorot", "he"):
        activation, scheme = INITS[name]
        model = build(depth, scheme, activation, width=width, in_channels=ds.in_channels,
                      image_size=ds.image_size, num_classes=ds.num_classes, rng=seed, dtype=np.float64)
        records = signal_propagation(model, x, y, bins=2)
        top_conv = 2 * (depth - 1)
        stats[name] = {"weight_grad_std": records[0]["weight_grad_std"],
                       "first": records[0]["grad_std"], "top": records[top_conv]["grad_std"]}
    g, h = stats["glorot"], stats["he"]
    return {"theory": 2.0 ** (-(depth - 1) / 2),
            "ratio": g["weight_grad_std"] / h["weight_grad_std"],
            "ratio_normalized": (g["first"] / g["top"]) / (h["first"] / h["top"]),
            "glorot_weight_grad_std": g["weight_grad_std"], "he_weight_grad_std": h["weight_grad_std"]}


# --------------------------------------------------------------------------- the study

def check_options(depths=(10, 20, 30), inits=tuple(INITS), width=16, steps=300, max_depth=None, *, seeds=(0,),
                  threshold=2.0, window=10, batch_size=32, lr=0.015, momentum=0.9, n_train=None, deep_steps=200):
    """Validate before running: returns (depths, inits, width, steps, max_depth).

    Training uses full batches only, so a batch_size above the training examples (from the
    digits capped at n_train) is refused here: no step would ever be taken."""
    if isinstance(depths, int):
        depths = (depths,)
    depths = tuple(sorted({positive_int(d, "depth") for d in depths}))
    if not depths:
        raise InvalidValueError("depths: expected at least one depth")
    inits = tuple(inits)
    if not inits:
        raise InvalidValueError("inits: expected at least one init")
    for name in inits:
        if name not in INITS:
            raise unknown_name("init", name, INITS)
    width = positive_int(width, "width")
    steps = positive_int(steps, "steps")
    if max_depth is not None:
        max_depth = positive_int(max_depth, "max_depth")
    seeds = tuple(positive_int(s, "depth: seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("seeds: expected at least one seed")
    real_number(threshold, "threshold", low=0, low_open=True)
    positive_int(window, "window")
    positive_int(deep_steps, "deep_steps")
    real_number(lr, "lr", low=0, low_open=True)
    real_number(momentum, "momentum", low=0, high=1)
    batch_size = positive_int(batch_size, "batch_size")
    if n_train is not None:
        positive_int(n_train, "n_train")
    batches_per_pass(len(D.load("digits", seed=0, n=n_train).train[0]), batch_size, drop_last=True, where="depth")
    return depths, inits, width, steps, max_depth


def _median(values, steps):
    """Median over seeds of the steps to the threshold, a run that never got there within
    `steps` counted as steps + 1, the least it could have needed: (median, censored).
    censored: such a run entered the median, which is then only a lower bound; the median is
    None when more than half the runs never got there (all that is known is "> steps")."""
    ordered = sorted(steps + 1 if s is None else s for s in values)
    middle = ordered[(len(ordered) - 1) // 2: len(ordered) // 2 + 1]
    if middle[0] > steps:
        return None, True
    return float(np.mean(middle)), middle[-1] > steps


def run(depths=(10, 20, 30), inits=tuple(INITS), width=16, steps=300, threshold=2.0, window=10,
        batch_size=32, lr=0.015, momentum=0.9, n_train=None, critical=True, max_depth=None,
        deep_steps=200, seeds=(0, 1), progress=None) -> dict:
    """Train every (depth, init, seed); see the module docstring. Returns plain data:

    {"settings", "depths", "inits", "runs": {"<init>@<depth>": {activation, spec, lr, losses
    (per seed), steps_to_threshold (per seed, None = not within `steps`), median_steps and
    median_censored (see `_median`), final_loss}}, "steps_table": {depth: {init: median}},
    "speedup": {depth: Glorot median / He median, "censored" when that is a lower bound (runs
    that never got there in Glorot's median), None when He's median is not known}, "grad_ratio": {depth:
    ...}, "critical" (tanh delta-orthogonal at the largest depth), "deep" (the `max_depth`
    run, when asked), "claims", "seconds"}.
    """
    start = time.perf_counter()
    depths, inits, width, steps, max_depth = check_options(
        depths, inits, width, steps, max_depth, seeds=seeds, threshold=threshold, window=window,
        batch_size=batch_size, lr=lr, momentum=momentum, n_train=n_train, deep_steps=deep_steps)
    seeds = tuple(seeds)
    threshold, lr = float(threshold), float(lr)
    ds = D.load("digits", seed=0, n=n_train)
    x, y = ds.train
    probe = (x[:64].astype(np.float64), y[:64])
    jobs = [(d, name) for d in depths for name in inits]
    if critical:
        jobs.append((depths[-1], CRITICAL[0]))
    total = len(jobs) * len(seeds) + len(depths) * len(seeds) + (3 * len(seeds) if max_depth else 0)
    done = [0]

    def tick(status):
        done[0] += 1
        if progress:
            progress(done[0], total, status)

    settings = dict(depths=list(depths), inits=list(inits), width=width, steps=steps, threshold=threshold,
                    window=window, batch_size=batch_size, lr=lr, lr_rule="lr * 10 / depth", momentum=momentum,
                    n_train=len(x), critical=critical, max_depth=max_depth, deep_steps=deep_steps,
                    seeds=list(seeds), data="digits")
    common = dict(width=width, x=x, y=y, ds=ds, batch_size=batch_size, momentum=momentum,
                  threshold=threshold, window=window, seeds=seeds, tick=tick)
    runs = {}
    for depth, name in jobs:
        activation, scheme = INITS[name] if name in INITS else CRITICAL[1:]
        runs[f"{name}@{depth}"] = _train_many(depth, name, activation, scheme, steps=steps,
                                              lr=lr * 10 / depth, **common)
    grad_ratio = {}
    for depth in depths:
        per_seed = []
        for seed in seeds:
            per_seed.append(first_layer_gradients(depth, width, *probe, seed, ds))
            tick(f"gradients at init, depth {depth}")
        grad_ratio[str(depth)] = _merge(per_seed)
    result = {"settings": settings, "depths": list(depths), "inits": list(inits), "runs": runs,
              "grad_ratio": grad_ratio}
    result["steps_table"], result["speedup"] = _tables(runs, depths, inits, steps)
    if critical:
        result["critical"] = runs[f"{CRITICAL[0]}@{depths[-1]}"]
    if max_depth:
        result["deep"] = _deep(max_depth, deep_steps, lr, probe, common)
    result["claims"] = claims(result)
    result.update(_headline(result))
    result["seconds"] = time.perf_counter() - start
    return result


def _train_many(depth, name, activation, scheme, *, width, x, y, ds, steps, lr, batch_size, momentum,
                threshold, window, seeds, tick):
    losses, reached = [], []
    for seed in seeds:
        model = build(depth, scheme, activation, width=width, in_channels=ds.in_channels,
                      image_size=ds.image_size, num_classes=ds.num_classes, rng=seed)
        data_rng = np.random.default_rng([seed, 1])      # the same batches for every init of a seed
        ls, r = train(model, x, y, steps=steps, batch_size=batch_size, lr=lr, momentum=momentum,
                      threshold=threshold, window=window, rng=data_rng)
        losses.append(ls)
        reached.append(r)
        tick(f"{name} depth {depth} seed {seed}: " + ("-" if r is None else f"{r} steps"))
    return {"activation": activation, "spec": scheme, "depth": depth, "lr": lr, "losses": losses,
            "steps_to_threshold": reached, **dict(zip(("median_steps", "median_censored"), _median(reached, steps))),
            "reached": sum(r is not None for r in reached),
            "final_loss": [float(np.mean(ls[-window:])) for ls in losses]}


def _merge(per_seed):
    keys = per_seed[0]
    out = {k: [p[k] for p in per_seed] for k in keys}
    out["theory"] = per_seed[0]["theory"]
    with np.errstate(divide="ignore"):
        out["ratio_gmean"] = float(np.exp(np.mean(np.log(out["ratio"]))))
        out["ratio_normalized_gmean"] = float(np.exp(np.mean(np.log(out["ratio_normalized"]))))
    return out


def _tables(runs, depths, inits, steps):
    table, speedup = {}, {}
    for depth in depths:
        table[str(depth)] = {name: runs[f"{name}@{depth}"]["median_steps"] for name in inits}
        if "glorot" in inits and "he" in inits:
            he, glorot = runs[f"he@{depth}"], runs[f"glorot@{depth}"]
            if he["median_steps"] is None or he["median_censored"]:    # He's own time unknown
                speedup[str(depth)] = {"value": None, "censored": True}
            else:   # Glorot's median, or steps + 1 if it never got there, is at least its time
                later = steps + 1 if glorot["median_steps"] is None else glorot["median_steps"]
                speedup[str(depth)] = {"value": later / he["median_steps"], "censored": glorot["median_censored"]}
    return table, speedup


def _deep(depth, steps, lr, probe, common):
    """Hundreds of layers: tanh delta-orthogonal vs ReLU He (trained) and the gradient ratio at init."""
    out = {"depth": depth, "steps": steps}
    kw = {k: v for k, v in common.items()}
    for name, (activation, scheme) in (("delta_orthogonal", CRITICAL[1:]), ("he", INITS["he"])):
        out[name] = _train_many(depth, name, activation, scheme, steps=steps, lr=lr * 10 / depth, **kw)
    per_seed = []
    for seed in common["seeds"]:
        per_seed.append(first_layer_gradients(depth, common["width"], *probe, seed, common["ds"]))
        common["tick"](f"gradients at init, depth {depth}")
    out["grad_ratio"] = _merge(per_seed)
    return out


# --------------------------------------------------------------------------- claims

def claims(result) -> list[dict]:
    out = []
    depths = result["depths"]
    keys = [str(d) for d in depths]
    ratios = result["grad_ratio"]
    measured = [ratios[k]["ratio_gmean"] for k in keys]
    theory = [ratios[k]["theory"] for k in keys]
    normalized = [ratios[k]["ratio_normalized_gmean"] for k in keys]
    off = [n / t for n, t in zip(normalized, theory)]
    out.append(claim("at init the gradient reaching the first layer under Glorot is 2^(-(L-1)/2) times He's "
                     "(same draws; divided by the top conv layer's, which removes the head and the loss: "
                     "within 20% at every depth)", all(0.8 <= v <= 1.25 for v in off),
                     ja="初期化時、第 1 層に届く勾配は Glorot では He の 2^(-(L-1)/2) 倍(同じ乱数。最上位の畳み込み層の"
                        "勾配で割って出力層と損失の影響を除く: どの深さでも 20% 以内)",
                     depths=depths,
                     theory=theory, normalized=normalized, normalized_over_theory=off,
                     weight_gradient_ratio=measured))
    speed = result.get("speedup", {})
    if speed:
        table = result["steps_table"]
        he = [table[k]["he"] for k in keys]
        glorot = [table[k]["glorot"] for k in keys]
        he_exact = [not result["runs"][f"he@{d}"]["median_censored"] for d in depths]
        # a censored Glorot median is a lower bound, so He below it is below Glorot's true median
        he_first = all(h is not None and exact and (g is None or h < g) for h, g, exact in zip(he, glorot, he_exact))
        th = result["settings"]["threshold"]
        out.append(claim(f"He reaches the loss threshold ({th:g}) before Glorot at every depth (median over seeds; "
                         "None = not within the budget)", he_first,
                         ja=f"どの深さでも He は Glorot より先に損失のしきい値({th:g})に達する(シードの中央値。"
                            "None = ステップ予算内に達せず)",
                         depths=depths, he=he, glorot=glorot, he_lower_bound=[not e for e in he_exact],
                         glorot_lower_bound=[result["runs"][f"glorot@{d}"]["median_censored"] for d in depths]))
        values = [speed[k]["value"] for k in keys]
        censored = [speed[k]["censored"] for k in keys]
        out.append(claim(f"at {depths[-1]} layers He gets there several (>= 3) times sooner than Glorot "
                         "(a lower bound when runs that never got there enter Glorot's median)",
                         values[-1] is not None and values[-1] >= 3,
                         ja=f"{depths[-1]} 層では He は Glorot の数倍(3 倍以上)速くしきい値に達する(達しなかった実行が"
                            " Glorot の中央値に含まれる場合は下限)",
                         speedup=values[-1], glorot_censored=censored[-1]))
        if len(depths) > 1:
            first = values[0]
            # deeper, He still gets there (an exact median) while Glorot's delay is larger (a lower
            # bound above `first` is enough) or its median is not reached within the budget at all
            grows = (first is not None and not censored[0] and all(
                exact and h is not None and (g is None or (v is not None and v > first))
                for v, g, h, exact in zip(values[1:], glorot[1:], he[1:], he_exact[1:])))
            if first is None:
                gap, gap_ja = "Glorot's delay is not measured (a median is missing)", "Glorot の遅れは測れず(中央値が得られない)"
            else:
                gap, gap_ja = f"Glorot gets there {first:.1f}x later than He", f"Glorot は He の {first:.1f} 倍のステップを要し"
            out.append(claim(f"the advantage grows with depth: at {depths[0]} layers {gap}; deeper, its delay grows "
                             "or it never gets there within the budget", grows,
                             ja=f"差は深さとともに広がる: {depths[0]} 層では {gap_ja}、深くなるほど遅れが増すか、"
                                "ステップ予算内に達しなくなる",
                             depths=depths, speedup=values, glorot_censored=censored))
    if "critical" in result:
        c = result["critical"]
        out.append(claim(f"tanh with delta-orthogonal kernels at criticality trains at {c['depth']} layers "
                         f"(reaches the threshold within {result['settings']['steps']} steps, median over seeds)",
                         c["median_steps"] is not None and not c["median_censored"],
                         ja=f"臨界初期化(criticality)での delta-orthogonal カーネルを使った tanh ネットは {c['depth']} 層で学習できる"
                            f"({result['settings']['steps']} ステップ以内にしきい値に達する。シードの中央値)",
                         steps=c["steps_to_threshold"]))
    if "deep" in result:
        deep = result["deep"]
        out.append(claim(f"at {deep['depth']} layers delta-orthogonal tanh still trains "
                         f"(threshold within {deep['steps']} steps, median over seeds)",
                         deep["delta_orthogonal"]["median_steps"] is not None and not deep["delta_orthogonal"]["median_censored"],
                         ja=f"{deep['depth']} 層でも delta-orthogonal の tanh ネットはまだ学習できる"
                            f"({deep['steps']} ステップ以内にしきい値に達する。シードの中央値)",
                         delta_orthogonal=deep["delta_orthogonal"]["steps_to_threshold"],
                         he=deep["he"]["steps_to_threshold"],
                         grad_ratio=deep["grad_ratio"]["ratio_gmean"], theory=deep["grad_ratio"]["theory"]))
    return out


def _headline(result) -> dict:
    out = {}
    for d, table in result["steps_table"].items():
        for name, value in table.items():
            out[f"median steps to loss {result['settings']['threshold']:g}, {name}, {d} layers"] = value
    for d, r in result["grad_ratio"].items():
        out[f"first-layer grad ratio Glorot/He, {d} layers"] = r["ratio_gmean"]
        out[f"theory 2^(-(L-1)/2), {d} layers"] = r["theory"]
    return out
