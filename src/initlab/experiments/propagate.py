"""Study 1: how large a variance? Signal propagation through deep plain conv stacks.

A `models.plain_cnn` (depth conv 3x3 layers, pad 1, each followed by the activation; biases
zero; no batch norm, no skips) is shown one batch of real images (standardized), and for
every layer `diagnostics.signal_propagation` measures the std of its output, the fraction of
dead (exactly 0) and saturated outputs, a histogram, and the std of the gradient of the
cross-entropy reaching it; `diagnostics.predicted_propagation` gives the mean-field
prediction from the drawn weights (zero-padding borders included). Inits (names for `inits`):

* "std=0.01", "std=1": N(0, 0.01^2) and N(0, 1), the fixed scales of early practice;
* "glorot" (glorot_normal), "he" (he_normal), "lecun" (lecun_normal);
* "orthogonal": Saxe et al. 2014, gain sqrt(2) under ReLU (He's variance) and 1 under tanh;
* "lsuv": orthonormal, then each layer rescaled on a separate calibration batch until its
  output variance is 1 (Mishkin & Matas 2016; `initlab.lsuv`);
* or any initializer spec string ("normal(std=0.05)", "he_uniform", ...).

Every model of a seed is drawn from the same generator, so e.g. "he" and "lecun" are the same
Gaussian draws, scaled differently: the comparison isolates the scale. Everything runs in
float64, so that neither the collapse of std 0.01 (1e-30 after 30 layers) nor the explosion of
std 1 leaves the float range: the numbers stay finite and comparable.

A theory check runs He/ReLU and Glorot/tanh again at a larger width (`theory_width`) and
compares the measured per-layer pre-activation variance (mean over `theory_seeds` nets) with
the prediction. The mean-field recursion is the infinite-width limit: for a ReLU stack it is
exactly the expected variance over weight draws, while one narrow net is a single draw whose
log-variance wanders further from it with every layer (finite-width fluctuations, growing
like depth / width; Hanin & Rolnick 2018). The study measures that spread too.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import data as D
from .. import init as I
from ..diagnostics import predicted_propagation, signal_propagation
from ..errors import InvalidValueError, UnknownNameError, unknown_name
from ..layers import ACTIVATION_LAYERS
from ..lsuv import lsuv
from ..models import plain_cnn
from ..validate import positive_int, real_number
from . import claim

INITS = ("std=0.01", "std=1", "glorot", "he", "lecun", "orthogonal", "lsuv")
NAMED = {"std=0.01": "normal(std=0.01)", "std=1": "normal(std=1.0)", "glorot": "glorot_normal",
         "he": "he_normal", "lecun": "lecun_normal"}
ACTIVATIONS = ("relu", "tanh")
DATASETS = ("shapes", "digits")
FACTOR = 2.0          # "within a factor 2"
ORDERS = 100.0        # "within two orders of magnitude": a single narrow He net, per seed
THEORY_TOL = 0.25     # measured vs predicted variance
LSUV_TOL = 0.1
THEORY_BATCH = 8      # images in the theory check (its nets are wide; the weights, not the batch, vary most)

TINY = dict(depth=8, width=8, inits=("std=0.01", "std=1", "glorot", "he", "lsuv"), batch=16,
            data="digits", theory_width=64, theory_depth=3, theory_seeds=4, seeds=(0,))
DEMO = dict(depth=30, width=16, batch=16, data="shapes", theory_width=64, theory_depth=5,
            theory_seeds=8, seeds=(0, 1))


# --------------------------------------------------------------------------- inits and models

def resolve(name, activation):
    """The weight spec for a study init name under `activation` ("lsuv" -> None: built later)."""
    if name == "lsuv":
        return None
    if name == "orthogonal":
        gain = math.sqrt(2.0) if activation == "relu" else 1.0
        return f"orthogonal(gain={gain!r})"
    if name in NAMED:
        return NAMED[name]
    try:
        return I.describe(I.get(name))
    except UnknownNameError as exc:
        raise UnknownNameError(f"unknown init {name!r}: neither a study init ({', '.join(INITS)}) "
                               f"nor an initializer ({exc})") from None


def build(name, activation, depth, width, seed, calibration=None, in_channels=1):
    """The float64 plain_cnn for an init name; "lsuv" is fitted on `calibration` -> (model, records)."""
    spec = resolve(name, activation)
    model = plain_cnn(depth, width, activation, in_channels=in_channels,
                      weight_init=spec or "orthogonal", rng=seed, dtype=np.float64)
    records = None
    if spec is None:
        records = lsuv(model, calibration, tol=LSUV_TOL, rng=seed)
    return model, records


# --------------------------------------------------------------------------- one measurement

def measure(model, x, y, *, lr=0.01, bins=40, hist_layers=(), backward=True):
    """Per-block measured and predicted statistics of one model on one batch (plain lists)."""
    records = signal_propagation(model, x, y if backward else None, lr=lr, bins=bins)
    theory = predicted_propagation(model, (x.astype(np.float64) ** 2).mean(axis=0))
    conv = [records[t["index"]] for t in theory]
    act = [records[t["activation_index"]] for t in theory]
    out = {
        "act_std": [r["std"] for r in act], "act_mean": [r["mean"] for r in act],
        "pre_var": [r["rms"] ** 2 for r in conv],
        "zero_fraction": [r["zero_fraction"] for r in act],
        "saturated_fraction": [r["saturated_fraction"] for r in act],
        "theory_pre_var": [t["q"] for t in theory], "theory_act_std": [t["act_std"] for t in theory],
        "chi": [t["chi"] for t in theory],
    }
    if backward:
        out["grad_std"] = [r["grad_std"] for r in act]
        out["weight_grad_std"] = [r["weight_grad_std"] for r in conv]
        out["update_ratio"] = [r["update_ratio"] for r in conv]
        top = out["grad_std"][-1]
        out["theory_grad_std"] = [top * math.sqrt(t["grad_ratio"]) for t in theory]
    out["hist"] = {"layers": list(hist_layers),
                   "counts": [act[l - 1]["hist_counts"] for l in hist_layers],
                   "edges": [act[l - 1]["hist_edges"] for l in hist_layers],
                   "std": [act[l - 1]["std"] for l in hist_layers]}
    return out


# --------------------------------------------------------------------------- aggregation

def gmean(rows):
    """Geometric mean over seeds (axis 0), layer by layer; 0 and inf propagate."""
    a = np.asarray(rows, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.log(a).mean(axis=0))


def _last_over_first(profile):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(profile[-1] / profile[0])


def _per_layer_factor(profile, squared=True):
    """The geometric per-layer factor of a profile: (p_L / p_1)^(1/(L-1)) (squared: of p^2)."""
    ratio = _last_over_first(profile)
    if len(profile) < 2:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(ratio ** ((2.0 if squared else 1.0) / (len(profile) - 1)))


def hist_layer_choice(depth):
    """About five layers spread over the depth, first and last included (1-based)."""
    return sorted({1, max(1, depth // 4), max(1, depth // 2), max(1, 3 * depth // 4), depth})


# --------------------------------------------------------------------------- the study

def _load(name, batch, seed):
    ds = D.load(name, seed=seed, n=_images(name, batch))
    x, y = ds.train
    _check_batch(name, batch, len(x))
    x = x.astype(np.float64)
    return (x[:batch], y[:batch]), x[batch:2 * batch], ds


def _images(name, batch):
    """How many images to load: shapes are drawn, enough for two batches; digits: all of them."""
    return max(600, 4 * batch) if name == "shapes" else None


def _check_batch(name, batch, n_train):
    """The measured batch and the LSUV calibration batch both come from the training split."""
    if n_train < 2 * batch:
        raise InvalidValueError(f"batch: {batch} is too large for the {name} training split ({n_train} images)")


def check_options(depth=30, width=16, inits=INITS, activations=ACTIVATIONS, data="shapes",
                  theory_width=64, theory_depth=5, *, seeds=(0,), batch=32, theory_seeds=8, lr=0.01, bins=40):
    """Validate the study's options before anything runs; returns (depth, width, theory_width, theory_depth)."""
    seeds = tuple(positive_int(s, "seed", minimum=0) for s in seeds)
    if not seeds:
        raise InvalidValueError("seeds: expected at least one seed")
    batch = positive_int(batch, "batch", minimum=2)
    positive_int(theory_seeds, "theory_seeds", minimum=0)
    positive_int(bins, "bins")
    real_number(lr, "lr", low=0, low_open=True)
    depth = positive_int(depth, "depth")
    width = positive_int(width, "width")
    theory_width = positive_int(theory_width, "theory_width")
    theory_depth = positive_int(theory_depth, "theory_depth")
    if data not in DATASETS:
        raise unknown_name("dataset", data, DATASETS)
    if not inits:
        raise InvalidValueError("inits: expected at least one init")
    if not activations:
        raise InvalidValueError("activations: expected at least one activation")
    valid = [a for a in ACTIVATION_LAYERS if a != "linear"]
    for act in activations:
        if act not in valid:
            raise unknown_name("activation", act, valid)
    for name in inits:
        for act in activations:
            resolve(name, act)
    if data == "digits":           # shapes are drawn as many as needed
        _check_batch(data, batch, len(D.load(data, n=_images(data, batch)).train[0]))
    return depth, width, theory_width, theory_depth


def theory_check(x, *, width, depth, seeds, progress=None):
    """He/ReLU and Glorot/tanh at `width`: mean measured vs mean predicted pre-activation variance."""
    out = {}
    for act, name in (("relu", "he"), ("tanh", "glorot")):
        measured, predicted = [], []
        for seed in seeds:
            model, _ = build(name, act, depth, width, seed)
            m = measure(model, x, None, backward=False)
            measured.append(m["pre_var"])
            predicted.append(m["theory_pre_var"])
            if progress:
                progress()
        mean_m, mean_p = np.mean(measured, axis=0), np.mean(predicted, axis=0)
        ratio = mean_m / mean_p
        single = np.abs(np.asarray(measured) / np.asarray(predicted) - 1).max(axis=1)
        out[f"{act}/{name}"] = {"measured_var": mean_m, "predicted_var": mean_p, "ratio": ratio,
                                "max_rel_error": float(np.abs(ratio - 1).max()),
                                "single_net_max_rel_error": single}
    return out


def run(depth=30, width=16, inits=INITS, activations=ACTIVATIONS, batch=32, data="shapes",
        theory_width=64, theory_depth=5, theory_seeds=8, lr=0.01, bins=40, seeds=(0, 1),
        progress=None) -> dict:
    """Measure every (activation, init) stack for every seed; see the module docstring.

    Returns {"settings", "layers" (1..depth), "input_std", "configs": {activation: {init:
    {spec, act_std/grad_std/pre_var/... per seed (seeds x depth) and their geometric means
    over seeds ("*_gmean"), theory lines, zero/saturated fractions, histograms of the first
    seed at `hist_layers`, lsuv records}}}, "theory_check", "summary", "claims", "seconds"}.
    """
    start = time.perf_counter()
    inits, activations, seeds = tuple(inits), tuple(activations), tuple(seeds)
    depth, width, theory_width, theory_depth = check_options(depth, width, inits, activations, data,
                                                             theory_width, theory_depth, seeds=seeds, batch=batch,
                                                             theory_seeds=theory_seeds, lr=lr, bins=bins)
    batch, lr, theory_seeds = int(batch), float(lr), int(theory_seeds)
    (x, y), calibration, ds = _load(data, batch, seeds[0])
    hist_layers = hist_layer_choice(depth)
    total = len(activations) * len(inits) * len(seeds) + 2 * theory_seeds
    done = 0

    def tick(status=""):
        nonlocal done
        done += 1
        if progress:
            progress(done, total, status)

    configs = {}
    for act in activations:
        configs[act] = {}
        for name in inits:
            runs = []
            for seed in seeds:
                model, records = build(name, act, depth, width, seed, calibration, ds.in_channels)
                m = measure(model, x, y, lr=lr, bins=bins, hist_layers=hist_layers)
                m["lsuv"] = records
                runs.append(m)
                tick(f"{act} {name} seed {seed}")
            configs[act][name] = _combine(name, act, runs)
    check = theory_check(x[:THEORY_BATCH], width=theory_width, depth=min(theory_depth, depth),
                         seeds=tuple(range(theory_seeds)), progress=tick) if theory_seeds else {}
    result = {
        "settings": dict(depth=depth, width=width, inits=list(inits), activations=list(activations),
                         batch=batch, data=data, theory_width=theory_width,
                         theory_depth=min(theory_depth, depth), theory_seeds=theory_seeds, lr=lr,
                         seeds=list(seeds), dtype="float64"),
        "layers": list(range(1, depth + 1)), "hist_layers": hist_layers,
        "input_std": float(x.std()), "configs": configs, "theory_check": check,
    }
    result["summary"] = summarize(result)
    result["claims"] = claims(result)
    result.update(_headline(result))
    result["seconds"] = time.perf_counter() - start
    return result


def _combine(name, act, runs):
    """Stack the per-seed measurements (seeds x depth) and add geometric means over seeds."""
    out = {"spec": resolve(name, act) or "lsuv(orthogonal)"}
    for key in runs[0]:
        if key in ("hist", "lsuv"):
            continue
        out[key] = np.array([r[key] for r in runs], dtype=np.float64)
    for key in ("act_std", "grad_std", "pre_var", "theory_act_std", "theory_grad_std", "theory_pre_var"):
        if key in out:
            out[f"{key}_gmean"] = gmean(out[key])
    out["hist"] = runs[0]["hist"]
    out["lsuv"] = [r["lsuv"] for r in runs] if runs[0]["lsuv"] is not None else None
    return out


def summarize(result) -> dict:
    """Per (activation, init): layer-L/layer-1 std, per-layer variance factor, worst factor vs input."""
    summary = {}
    input_std = result["input_std"]
    for act, inits in result["configs"].items():
        for name, c in inits.items():
            profile = c["act_std_gmean"]
            with np.errstate(divide="ignore", invalid="ignore"):
                worst = float(np.nanmax(np.abs(np.log2(profile / input_std))))
                worst_per_seed = np.nanmax(np.abs(np.log2(np.asarray(c["act_std"]) / input_std)), axis=1)
            summary[f"{act}/{name}"] = {
                "last_over_first": _last_over_first(profile),
                "last_over_first_per_seed": [_last_over_first(p) for p in c["act_std"]],
                "theory_last_over_first": _last_over_first(c["theory_act_std_gmean"]),
                "variance_factor_per_layer": _per_layer_factor(profile),
                "worst_factor_vs_input": float(2.0 ** worst) if np.isfinite(worst) else float("inf"),
                "worst_factor_per_seed": [float(2.0 ** w) if np.isfinite(w) else float("inf") for w in worst_per_seed],
                "max_saturated": float(np.nanmax(c["saturated_fraction"])) if act in ("tanh", "sigmoid") else None,
                "saturated_last": float(np.mean(c["saturated_fraction"][:, -1])) if act in ("tanh", "sigmoid") else None,
                "dead_last": float(np.mean(c["zero_fraction"][:, -1])),
            }
    return summary


def claims(result) -> list[dict]:
    """The checked statements; each is skipped when its (activation, init) was not run."""
    s, depth, out = result["summary"], result["settings"]["depth"], []
    L = depth

    def have(key):
        return key in s

    if have("relu/std=0.01"):
        r = s["relu/std=0.01"]
        out.append(claim(f"std 0.01 collapses a ReLU stack geometrically: layer-{L} std / layer-1 std < 1e-6",
                         r["last_over_first"] < 1e-6,
                         ja=f"標準偏差 0.01 では ReLU 層を重ねたネットワークの信号は幾何級数的に縮む: 第 {L} 層の std / 第 1 層の std < 1e-6",
                         ratio=r["last_over_first"],
                         variance_factor_per_layer=r["variance_factor_per_layer"],
                         predicted_ratio=r["theory_last_over_first"]))
    if have("relu/std=1"):
        r = s["relu/std=1"]
        out.append(claim(f"std 1 explodes a ReLU stack: layer-{L} std / layer-1 std > 1e6",
                         r["last_over_first"] > 1e6,
                         ja=f"標準偏差 1 では ReLU 層を重ねたネットワークの信号は爆発する: 第 {L} 層の std / 第 1 層の std > 1e6",
                         ratio=r["last_over_first"],
                         variance_factor_per_layer=r["variance_factor_per_layer"]))
    if have("tanh/std=1"):
        r = s["tanh/std=1"]
        out.append(claim(f"std 1 saturates a tanh stack: over half of layer {L}'s outputs have |y| > 0.99",
                         r["saturated_last"] > 0.5,
                         ja=f"標準偏差 1 では tanh 層を重ねたネットワークは飽和する: 第 {L} 層の出力の半分以上が |y| > 0.99",
                         saturated_fraction=r["saturated_last"]))
    if have("relu/he"):
        r = s["relu/he"]
        width = result["settings"]["width"]
        out.append(claim(f"He keeps every seed's ReLU stack within two orders of magnitude of the input scale over "
                         f"all {L} layers (each layer's output std vs the input's, per net; std 0.01 and std 1 leave "
                         f"it by six). Mean-field theory predicts the average over weight draws: at width {width} a "
                         "single net still drifts from it (finite-width fluctuations; Hanin & Rolnick 2018)",
                         max(r["worst_factor_per_seed"]) <= ORDERS,
                         ja=f"He は ReLU 層を重ねたネットワークを、どのシードでも全 {L} 層で入力のスケールから 2 桁以内に"
                            "保つ(各層の出力の std と入力の std の比、ネットごと。標準偏差 0.01 と 1 では 6 桁ずれる)。"
                            f"平均場理論が予測するのは重みの乱数についての平均で、幅 {width} の 1 つのネットはそこから"
                            "ずれていく(有限幅のゆらぎ。Hanin & Rolnick 2018)",
                         worst_factor_per_seed=r["worst_factor_per_seed"],
                         worst_factor_of_the_mean=r["worst_factor_vs_input"],
                         ratio_per_seed=r["last_over_first_per_seed"],
                         predicted_ratio=r["theory_last_over_first"]))
        out.append(claim("He keeps the per-layer variance factor of a ReLU stack near 1 (within [0.7, 1.4], "
                         "geometric mean over the layers): no geometric collapse or explosion",
                         0.7 <= r["variance_factor_per_layer"] <= 1.4,
                         ja="He は ReLU 層を重ねたネットワークで 1 層あたりの分散の倍率を 1 の近く([0.7, 1.4] 内、層の幾何平均)に"
                            "保つ: 幾何級数的な縮小も爆発もない",
                         variance_factor_per_layer=r["variance_factor_per_layer"],
                         glorot=s.get("relu/glorot", {}).get("variance_factor_per_layer"),
                         std_001=s.get("relu/std=0.01", {}).get("variance_factor_per_layer"),
                         std_1=s.get("relu/std=1", {}).get("variance_factor_per_layer")))
    if have("tanh/glorot"):
        r = s["tanh/glorot"]
        holds = r["max_saturated"] < 0.01 and r["last_over_first"] >= 0.1
        out.append(claim(f"Glorot keeps a tanh stack in range: under 1% saturated at every layer, and no "
                         f"geometric collapse (layer-{L} / layer-1 std >= 0.1; mean-field predicts the slow "
                         "decay of tanh at sigma_w^2 fan_in = 1)", holds,
                         ja=f"Glorot は tanh 層を重ねたネットワークを適正な範囲に保つ: どの層でも飽和したユニットは 1% 未満で、幾何級数的な"
                            f"縮小もない(第 {L} 層 / 第 1 層の std >= 0.1。平均場理論は sigma_w^2 fan_in = 1 での tanh の"
                            "緩やかな減衰を予測する)",
                         max_saturated=r["max_saturated"], ratio=r["last_over_first"],
                         predicted_ratio=r["theory_last_over_first"]))
    if have("relu/glorot"):
        r = s["relu/glorot"]
        factor = r["variance_factor_per_layer"]
        relative = factor / s["relu/he"]["variance_factor_per_layer"] if have("relu/he") else None
        out.append(claim("Glorot shrinks a ReLU stack by about 2x per layer in variance (factor in [0.4, 0.6])",
                         0.4 <= factor <= 0.6,
                         ja="Glorot は ReLU 層を重ねたネットワークの信号を分散で 1 層あたり約 2 分の 1 に縮める(倍率は [0.4, 0.6] 内)",
                         variance_factor_per_layer=factor, ratio=r["last_over_first"],
                         relative_to_he=relative))
    for act in result["configs"]:
        if have(f"{act}/lsuv"):
            c = result["configs"][act]["lsuv"]
            fitted = [rec["variance"] for seed in c["lsuv"] for rec in seed]
            calib = max(abs(v - 1) for v in fitted)
            with np.errstate(divide="ignore"):
                other = float(np.max(np.abs(np.log2(c["pre_var"]))))
            holds = calib <= LSUV_TOL and 2 ** other <= FACTOR
            out.append(claim(f"LSUV ({act}) is flat by construction: every layer's output variance within "
                             f"{LSUV_TOL} of 1 on its calibration batch, and within a factor 2 of 1 on another batch",
                             holds,
                             ja=f"LSUV({act})は仕組み上、層ごとの分散が平坦になる: どの層の出力の分散も、較正に使ったバッチでは 1 との差が "
                                f"{LSUV_TOL} 以内、別のバッチでも 1/2〜2 倍の範囲に収まる",
                             calibration_max_error=calib, other_batch_worst_factor=float(2 ** other)))
    check = result["theory_check"]
    if not check:
        return out
    tw, td, ts = (result["settings"][k] for k in ("theory_width", "theory_depth", "theory_seeds"))
    errors = {k: v["max_rel_error"] for k, v in check.items()}
    out.append(claim(f"mean-field theory predicts the per-layer pre-activation variance within 25% "
                     f"(He/ReLU and Glorot/tanh, width {tw}, {td} layers, mean over {ts} nets)",
                     max(errors.values()) <= THEORY_TOL,
                     ja=f"平均場理論は層ごとの前活性化の分散を相対誤差 25% 以内で予測する(He/ReLU と Glorot/tanh、幅 {tw}、"
                        f"{td} 層、{ts} 個のネットの平均)",
                     **errors))
    return out


def _headline(result) -> dict:
    """Top-level scalars for the report's number table."""
    s = result["summary"]
    out = {"depth": result["settings"]["depth"], "width": result["settings"]["width"]}
    for key, value in s.items():
        out[f"{key} layer-L/layer-1 std"] = value["last_over_first"]
    for key, value in result["theory_check"].items():
        out[f"theory max error {key}"] = value["max_rel_error"]
    return out
