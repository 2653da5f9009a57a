"""Study 1: how large a variance? Signal propagation through deep plain conv stacks.

A `models.plain_cnn` (depth conv 3x3 layers, pad 1, each followed by the activation; biases
zero; no batch norm, no skips) is shown one batch of real images (standardized), and for
every layer `diagnostics.signal_propagation` measures the std of its output, the fraction of
dead (exactly 0) and saturated outputs, a histogram, and the std of the gradient of the
cross-entropy reaching it; `diagnostics.predicted_propagation` gives the mean-field
prediction from the drawn weights, zero-padding borders included. Inits (names for `inits`):

* "std=0.01", "std=1": N(0, 0.01^2) and N(0, 1), the fixed scales of early practice;
* "glorot" (glorot_normal), "he" (he_normal), "lecun" (lecun_normal);
* "orthogonal": Saxe et al. 2014, gain sqrt(2) under ReLU (He's variance) and 1 under tanh;
* "lsuv": orthonormal, then each layer rescaled on a calibration batch until its output
  variance is 1 (Mishkin & Matas 2016; `initlab.lsuv`); measured on another (held-out) batch;
* or any initializer spec string ("normal(std=0.05)", "he_uniform", ...).

The grid: one task per (activation, init, seed) measures one net; each configuration draws
its own weights (independent draws: Glorot is not He rescaled), and every configuration at
one seed sees the same batch. Everything runs in float64, so that neither the collapse of
std 0.01 nor the explosion of std 1 leaves the float range.

The width sweep: He/ReLU nets of the same depth at `sweep_widths` channels, forward only.
The mean-field recursion is the infinite-width limit; one net of finite width n is a draw
whose log-variance drifts below it by about c / n per layer, with a spread that grows like
sqrt(depth / n) (Hanin & Rolnick 2018). `summarize` fits c and the spread over the sweep, so
the claims can predict what a net of the study's width does, not only what an infinitely
wide one would do. (A ReLU net without biases is positively homogeneous: scaling every weight
by a multiplies layer l's output by a^l exactly, so one fitted c serves every ReLU init.)
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import data as D
from .. import init as I
from ..diagnostics import predicted_propagation, signal_propagation
from ..constraints import InstanceOf, Integer, Options, Real, SequenceOf, about, check, fail
from ..errors import UnknownNameError
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import grid
from ..layers import ACTIVATION_LAYERS
from ..lsuv import lsuv
from ..models import plain_cnn

NAME = "propagate"
INITS = ("std=0.01", "std=1", "glorot", "he", "lecun", "orthogonal", "lsuv")
NAMED = {"std=0.01": "normal(std=0.01)", "std=1": "normal(std=1.0)", "glorot": "glorot_normal",
         "he": "he_normal", "lecun": "lecun_normal"}
ACTIVATIONS = ("relu", "tanh")
DATASETS = ("shapes", "digits")
LSUV_TOL = 0.1
SATURATED = 0.99      # |tanh(z)| above this counts as saturated (as diagnostics.signal_propagation)

TINY = dict(depth=8, width=8, inits=("std=0.01", "std=1", "glorot", "he", "lsuv"), batch=8,
            data="digits", sweep_widths=(8, 16), seeds=(0, 1, 2, 3))
DEMO = dict(depth=30, width=16, batch=8, data="digits", sweep_widths=(16, 32, 64), seeds=tuple(range(8)))


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


def build(name, activation, depth, width, rng, calibration=None, in_channels=1):
    """The float64 plain_cnn for an init name; "lsuv" is fitted on `calibration` -> (model,
    records). `rng` (a Generator or seed) draws the weights, then LSUV's orthonormal start."""
    spec = resolve(name, activation)
    model = plain_cnn(depth, width, activation, in_channels=in_channels,
                      weight_init=spec or "orthogonal", rng=rng, dtype=np.float64)
    records = None
    if spec is None:
        records = lsuv(model, calibration, tol=LSUV_TOL, rng=rng)
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
        "theory_saturated_last": saturated_share(theory[-1]["q_map"]),
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


def hist_layer_choice(depth):
    """About five layers spread over the depth, first and last included (1-based)."""
    return sorted({1, max(1, depth // 4), max(1, depth // 2), max(1, 3 * depth // 4), depth})


# --------------------------------------------------------------------------- the grid

@lru_cache(maxsize=8)
def _dataset(name, batch, seed):
    return D.load(name, seed=seed, n=_images(name, batch))


def _batches(name, batch, seed):
    """The measured batch (x, y) and a held-out calibration batch for LSUV, float64; the same
    for every configuration at one seed."""
    ds = _dataset(name, batch, seed)
    x, y = ds.train
    x = x.astype(np.float64)
    return (x[:batch], y[:batch]), x[batch:2 * batch], ds


def _images(name, batch):
    """How many images to load: shapes are drawn, enough for two batches; digits: all of them."""
    return max(600, 4 * batch) if name == "shapes" else None


OPTIONS = {"seeds": SEEDS, "batch": Integer(2), "lr": Real(0, low_open=True),
           "sweep_widths": SequenceOf(Integer(1), distinct_sorted=True, allow_empty=True), "data": Options(DATASETS, kind="dataset"),
           "inits": SequenceOf(InstanceOf(object, "an init"), what="init"),
           "activations": SequenceOf(Options([a for a in ACTIVATION_LAYERS if a != "linear"], kind="activation"),
                                     what="activation"),
           "depth": Integer(1), "width": Integer(1), "bins": Integer(1)}


def check_options(depth=30, width=16, inits=INITS, activations=ACTIVATIONS, data="shapes", *,
                  seeds=tuple(range(8)), batch=32, sweep_widths=(16, 32, 64), lr=0.01, bins=40) -> dict:
    """Every option checked (`OPTIONS`, each init with each activation) and completed; a bad one
    is an error naming its keyword. The measured batch and the LSUV calibration batch both
    come from the training split, which must hold two of them."""
    o = check("", OPTIONS, dict(seeds=seeds, batch=batch, lr=lr, sweep_widths=sweep_widths, data=data,
                                inits=tuple(inits), activations=tuple(activations), depth=depth, width=width,
                                bins=bins))
    with about("inits"):
        for name in o["inits"]:
            for act in o["activations"]:
                resolve(name, act)
    if o["data"] == "digits":           # shapes are drawn as many as needed
        n_train = len(_dataset(o["data"], o["batch"], 0).train[0])
        if n_train < 2 * o["batch"]:
            raise fail("", "batch", f"{o['batch']} is too large for the {o['data']} training split ({n_train} images)")
    return dict(depth=o["depth"], width=o["width"], inits=o["inits"], activations=o["activations"], data=o["data"],
                seeds=o["seeds"], batch=o["batch"], sweep_widths=o["sweep_widths"], lr=o["lr"], bins=o["bins"])


def configs(options) -> list[dict]:
    """One net per (activation, init), then the He/ReLU width sweep (forward only)."""
    o = options
    common = dict(depth=o["depth"], batch=o["batch"], data=o["data"])
    out = [dict(common, kind="profile", activation=act, init=name, width=o["width"], lr=o["lr"], bins=o["bins"])
           for act in o["activations"] for name in o["inits"]]
    out += [dict(common, kind="sweep", activation="relu", init="he", width=w) for w in o["sweep_widths"]]
    return out


def tasks(options):
    return grid(NAME, configs(options), options["seeds"])


def run_task(task) -> dict:
    """One net on its seed's batch: per-layer measured and predicted statistics (plain lists);
    an LSUV net also reports the variances it reached on its calibration batch."""
    c = task.config
    (x, y), calibration, ds = _batches(c["data"], c["batch"], task.seed)
    model, records = build(c["init"], c["activation"], c["depth"], c["width"], task.rng("init"), calibration,
                           ds.in_channels)
    if c["kind"] == "sweep":
        m = measure(model, x, None, backward=False)
        return {"pre_var": m["pre_var"], "theory_pre_var": m["theory_pre_var"]}
    m = measure(model, x, y, lr=c["lr"], bins=c["bins"], hist_layers=hist_layer_choice(c["depth"]))
    m["lsuv_calibration_variance"] = None if records is None else [r["variance"] for r in records]
    return m


# --------------------------------------------------------------------------- summary

def per_layer_factor(profile) -> float:
    """(v_L / v_1)^(1 / (L - 1)): the geometric per-layer factor of a variance profile."""
    profile = np.asarray(profile, dtype=np.float64)
    if len(profile) < 2:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(np.exp((np.log(profile[-1]) - np.log(profile[0])) / (len(profile) - 1)))


def saturated_share(q) -> float:
    """P(|tanh(z)| > 0.99) for z ~ N(0, q), the mean-field saturated fraction erfc(atanh(0.99) /
    sqrt(2 q)), averaged over the pixels when q is a per-pixel map (zero padding leaves the
    border pixels less saturated)."""
    q = np.asarray(q, dtype=np.float64).ravel()
    edge = math.atanh(SATURATED)
    return float(np.mean([math.erfc(edge / math.sqrt(2.0 * v)) if v > 0 else 0.0 for v in q]))


def fit_drift(widths, deviations, layers) -> dict:
    """Fit the finite-width drift: per net, D = log(q_L / q_1) measured minus mean-field,
    modelled as D ~ N(-c (L - 1) / n, v (L - 1) / n) for width n. Weighted least squares for c
    (weights n / (L - 1), the inverse of the variance model), then v from the residuals.

    Returns {"c", "c_se", "v", "per_width": {n: mean D / (L - 1)}}; c_se is the standard error
    of c under the fitted variance model."""
    n = np.asarray(widths, dtype=np.float64)
    d = np.asarray(deviations, dtype=np.float64)
    x = (layers - 1) / n                              # D = -c x + e, Var(e) = v x
    c = float(-np.sum(d) / np.sum(x))                 # weights 1/x: sum(d x / x) / sum(x^2 / x)
    v = float(np.mean((d + c * x) ** 2 / x)) if d.size > 1 else float("nan")
    c_se = float(math.sqrt(v / np.sum(x))) if d.size > 1 else float("nan")
    per_width = {str(int(w)): float(np.mean(d[n == w]) / (layers - 1)) for w in sorted(set(n.tolist()))}
    return {"c": c, "c_se": c_se, "v": v, "per_width": per_width}


def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.propagate`):

    {"settings", "layers", "hist_layers", "input_std", "configs": {activation: {init: {spec,
    per-seed lists (seeds x depth) of act_std, pre_var, grad_std, theory_* ..., their geometric
    means "*_gmean", the first seed's histograms, "lsuv_calibration_variance" (per seed)}}},
    "summary": {"<act>/<init>": {"factor", "factor_mf" (per seed: measured and mean-field
    per-layer variance factor), "deviation" (per seed: log(q_L/q_1) measured - mean-field),
    "last_over_first" (of the mean act std), "saturated_last", "saturated_predicted" (per
    seed, tanh), "dead_last"}}, "sweep": {"widths", "deviation" per net, "fit": fit_drift}}."""
    o = options
    depth = o["depth"]
    configs, sweep_w, sweep_d = {}, [], []
    for task, r in zip(tasks, results):
        c = task.config
        if c["kind"] == "sweep":
            sweep_w.append(c["width"])
            sweep_d.append(_deviation(r))
            continue
        entry = configs.setdefault(c["activation"], {}).setdefault(c["init"], {"runs": []})
        entry["runs"].append(r)
    for act, inits in configs.items():
        for name, entry in inits.items():
            inits[name] = _combine(name, act, entry["runs"])
    input_std = float(np.mean([_batches(o["data"], o["batch"], s)[0][0].std() for s in o["seeds"]]))
    summary = {f"{act}/{name}": _summary(act, c) for act, inits in configs.items() for name, c in inits.items()}
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    settings["dtype"] = "float64"
    out = {"settings": settings, "layers": list(range(1, depth + 1)), "hist_layers": hist_layer_choice(depth),
           "input_std": input_std, "configs": configs, "summary": summary}
    if sweep_w:
        out["sweep"] = {"widths": sweep_w, "deviation": sweep_d, "fit": fit_drift(sweep_w, sweep_d, depth)}
    return out


def _deviation(r) -> float:
    """log(q_L / q_1) measured minus mean-field (pre-activation variances)."""
    m, p = np.asarray(r["pre_var"], dtype=np.float64), np.asarray(r["theory_pre_var"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((np.log(m[-1]) - np.log(m[0])) - (np.log(p[-1]) - np.log(p[0])))


def _combine(name, act, runs):
    """Stack the per-seed measurements (seeds x depth) and add geometric means over seeds."""
    out = {"spec": resolve(name, act) or "lsuv(orthogonal)"}
    for key in runs[0]:
        if key in ("hist", "lsuv_calibration_variance"):
            continue
        out[key] = np.array([r[key] for r in runs], dtype=np.float64)
    for key in ("act_std", "grad_std", "pre_var", "theory_act_std", "theory_grad_std", "theory_pre_var"):
        if key in out:
            out[f"{key}_gmean"] = gmean(out[key])
    out["hist"] = runs[0]["hist"]
    calibration = [r["lsuv_calibration_variance"] for r in runs]
    out["lsuv_calibration_variance"] = calibration if calibration[0] is not None else None
    return out


def _summary(act, c) -> dict:
    saturating = act in ("tanh", "sigmoid")
    out = {"factor": [per_layer_factor(p) for p in c["pre_var"]],
           "factor_mf": [per_layer_factor(p) for p in c["theory_pre_var"]],
           "deviation": [_deviation({"pre_var": m, "theory_pre_var": p})
                         for m, p in zip(c["pre_var"], c["theory_pre_var"])],
           "last_over_first": _last_over_first(c["act_std_gmean"]),
           "theory_last_over_first": _last_over_first(c["theory_act_std_gmean"]),
           "last_pre_var": [float(p[-1]) for p in c["pre_var"]],
           "dead_last": float(np.mean(c["zero_fraction"][:, -1]))}
    if saturating:
        out["saturated_last"] = [float(v) for v in c["saturated_fraction"][:, -1]]
        out["saturated_predicted"] = [float(v) for v in c["theory_saturated_last"]]
        out["max_saturated"] = float(np.nanmax(c["saturated_fraction"]))
    return out


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
