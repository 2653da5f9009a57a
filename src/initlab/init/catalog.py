"""What each registered initializer is (floor 1): its formula, fan mode, gain and reference,
and the std it aims at for a given weight shape (`target_std`).

`initlab inits` prints `ENTRIES`; `initlab inspect` compares a trained weight's std with
`target_std` of the spec it was drawn from.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .fans import calculate_gain, compute_fans
from .registry import _SCHEMES, Initializer, get
from .schemes import truncated_std

# name -> (formula, fan mode, gain, reference); "-" where a column does not apply
ENTRIES = {
    "zeros": ("w = 0", "-", "-", "(symmetry: every filter stays equal)"),
    "ones": ("w = 1", "-", "-", "(symmetry: every filter stays equal)"),
    "constant": ("w = value", "-", "-", "(symmetry: every filter stays equal)"),
    "uniform": ("U(low, high), std (high - low) / sqrt(12)", "-", "-", "-"),
    "normal": ("N(mean, std^2)", "-", "-", "Krizhevsky et al. 2012 (std 0.01)"),
    "truncated_normal": ("N(mean, std^2) cut to [a, b]", "-", "-", "-"),
    "glorot_uniform": ("U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))", "fan_avg", "gain (1)", "Glorot & Bengio 2010"),
    "glorot_normal": ("N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out))", "fan_avg", "gain (1)", "Glorot & Bengio 2010"),
    "he_uniform": ("U(-b, b), b = gain sqrt(3 / fan)", "fan_in or fan_out", "sqrt(2) (relu)", "He et al. 2015"),
    "he_normal": ("N(0, s^2), s = gain / sqrt(fan)", "fan_in or fan_out", "sqrt(2) (relu)", "He et al. 2015"),
    "lecun_uniform": ("U(-b, b), b = sqrt(3 / fan_in)", "fan_in", "1", "LeCun et al. 1998"),
    "lecun_normal": ("N(0, 1 / fan_in)", "fan_in", "1", "LeCun et al. 1998"),
    "variance_scaling": ("Var(w) = scale / fan (normal, truncated or uniform)", "fan_in, fan_out or fan_avg", "sqrt(scale)", "Keras"),
    "pytorch_conv_default": ("U(-1/sqrt(fan_in), 1/sqrt(fan_in))", "fan_in", "sqrt(1/3)", "PyTorch's Conv2d/Linear default"),
    "orthogonal": ("gain x a random orthogonal matrix (flattened weight)", "-", "gain (1)", "Saxe et al. 2014"),
    "identity": ("gain x the identity matrix (dense)", "-", "gain (1)", "-"),
    "dirac": ("1 at the centre tap of channel d -> d (identity conv)", "-", "-", "Zagoruyko & Komodakis 2017"),
    "delta_orthogonal": ("gain x an orthogonal matrix at the centre tap", "-", "gain (1)", "Xiao et al. 2018"),
    "sparse": ("N(0, std^2), a fraction `sparsity` of each row zero", "-", "-", "Martens 2010"),
    "critical": ("delta-orthogonal or N(0, s/fan_in), s on chi_1 = 1", "fan_in", "sqrt(s)", "Xiao et al. 2018"),
}


def _defaults(name: str) -> dict:
    sig = inspect.signature(_SCHEMES[name])
    return {p: v.default for p, v in sig.parameters.items() if v.kind is v.KEYWORD_ONLY}


def _std(name: str, p: dict, shape: tuple) -> float | None:
    """The std of a draw of scheme `name` with parameters `p` for a weight of `shape`."""
    fans = compute_fans(shape, p.get("groups", 1), p.get("transposed", False)) if len(shape) >= 2 else None
    fan = None if fans is None else {"fan_in": fans[0], "fan_out": fans[1],
                                     "fan_avg": (fans[0] + fans[1]) / 2}.get(p.get("mode", "fan_in"))
    if name in ("zeros", "ones", "constant"):
        return 0.0
    if name == "uniform":
        return (p["high"] - p["low"]) / math.sqrt(12.0)
    if name == "normal":
        return float(p["std"])
    if name == "truncated_normal":
        return p["std"] * truncated_std((p["a"] - p["mean"]) / p["std"], (p["b"] - p["mean"]) / p["std"])
    if fans is None:
        return None
    if name in ("glorot_uniform", "glorot_normal"):
        return p["gain"] * math.sqrt(2.0 / (fans[0] + fans[1]))
    if name in ("he_uniform", "he_normal"):
        gain = calculate_gain(p["nonlinearity"], p["a"] if p["nonlinearity"] == "leaky_relu" else None)
        return gain / math.sqrt(fan)
    if name in ("lecun_uniform", "lecun_normal"):
        return 1.0 / math.sqrt(fans[0])
    if name == "variance_scaling":
        return math.sqrt(p["scale"] / fan)
    if name == "pytorch_conv_default":
        return 1.0 / math.sqrt(3.0 * shape[1] * math.prod(shape[2:]))
    return None


def target_std(spec, shape) -> float | None:
    """The std a weight of `shape` drawn from `spec` aims at: the distribution's exact std for
    the random schemes (e.g. he_normal: sqrt(2 / fan_in)), the std of the (fixed) weight for the
    deterministic ones (identity, dirac), and the root mean square of the entries for the
    orthogonal ones (gain / sqrt(max(rows, cols))). None when it is not known from the spec
    alone: a callable, or a data-dependent initializer such as "lsuv(orthogonal)"."""
    try:
        init = get(spec)
    except (ValueError, TypeError):
        return None
    if not (isinstance(init, Initializer) and isinstance(init.source, str)):
        return None
    name, shape = init.source, tuple(int(s) for s in shape)
    params = {**_defaults(name), **init.params}
    if name in ("identity", "dirac"):
        std = float(np.std(init(shape, 0, dtype=np.float64)))
        return std     # (already includes the factor)
    if name == "critical" and len(shape) >= 2:
        from .meanfield import critical_sigma_w2
        sigma_w2 = critical_sigma_w2(params["activation"], params["sigma_b2"])
        taps = math.prod(shape[2:])
        if params["kernel"] == "delta_orthogonal":
            std = math.sqrt(sigma_w2 * min(shape[0], shape[1]) / (shape[0] * shape[1] * taps))
        else:
            std = math.sqrt(sigma_w2 / (shape[1] * taps))
    elif name in ("orthogonal", "delta_orthogonal") and len(shape) >= 2:
        rows, cols = shape[0], math.prod(shape[1:])
        taps = math.prod(shape[2:]) if name == "delta_orthogonal" else 1
        cols = shape[1] if name == "delta_orthogonal" else cols
        std = params["gain"] * math.sqrt(min(rows, cols) / (rows * cols * taps))
    elif name == "sparse" and len(shape) >= 2:
        cols = math.prod(shape[1:])
        std = params["std"] * math.sqrt((cols - math.ceil(params["sparsity"] * cols)) / cols)
    else:
        std = _std(name, params, shape)
    return None if std is None else std * init.factor
