"""Initializers: how a layer's weights are chosen before training starts.

Floor 1 (NumPy and the standard library only).

Every initializer is a function ``name(shape, rng=None, *, dtype=np.float32, **params)``
returning a new array of exactly that shape and dtype. Conventions (DESIGN.md):

- dense weights are ``(out_features, in_features)``; conv weights are
  ``(out_channels, in_channels / groups, *kernel)`` for 1-, 2- and 3-D kernels;
- ``rng`` is a ``np.random.Generator``, an int seed or None (see ``initlab.rng``); nothing
  here touches NumPy's global random state;
- samples are drawn in float64 and then cast, so one seed gives the same bits every time, and
  the float32 result is the float64 result rounded.

Why random at all? A layer whose filters all start equal (``zeros``, ``constant``) receives
equal gradients for each of them, so they stay equal for ever: the *symmetry problem*. Random
draws break the tie. Why zero mean and why *that* variance? So that the signal neither drifts
to one side nor grows or shrinks layer after layer: ``Var(w) = gain**2 / fan`` keeps
``Var(output) = Var(input)`` (LeCun 1998, Glorot & Bengio 2010, He et al. 2015).

``get(spec)`` turns a name, an alias, a spec string such as ``"normal(std=0.01)"``, a callable
or an array into an initializer; ``initialize(spec, shape, rng)`` draws one weight.
"""
from __future__ import annotations

import ast
import inspect
import math
import numbers
from typing import Callable

import numpy as np

from .errors import DTypeError, InvalidValueError, ShapeError, unknown_name
from .functional import ACTIVATIONS
from .rng import as_generator
from .validate import as_float_array, positive_int, real_number

__all__ = [
    "compute_fans", "calculate_gain", "gain_for", "truncated_std",
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
    "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal",
    "lecun_uniform", "lecun_normal", "variance_scaling", "orthogonal", "identity", "dirac",
    "delta_orthogonal", "sparse", "pytorch_conv_default",
    "Initializer", "get", "initialize", "describe", "names", "scaled",
]


# ---------------------------------------------------------------------------------------------
# shapes, dtypes, fans
# ---------------------------------------------------------------------------------------------

def _as_shape(shape, who: str) -> tuple[int, ...]:
    """Normalize an int or a sequence of ints (each >= 0) to a tuple."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ShapeError(f"{who}: expected a shape (a tuple of ints >= 0), got {shape!r}")
    return tuple(int(d) for d in shape)


def _as_dtype(dtype, who: str) -> np.dtype:
    """Check `dtype` names a floating-point type (float32 by default, float64 on request)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{who}: expected a floating dtype such as float32, got {dtype!r}") from None
    if dt.kind != "f":
        raise DTypeError(f"{who}: expected a floating dtype such as float32, got {dt}")
    return dt


def compute_fans(shape, groups: int = 1, transposed: bool = False) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)``: how many inputs feed one output, and how many outputs one input feeds.

    With ``k = prod(kernel)`` (1 for a dense weight) and ``g = groups``:

    - forward weight ``(out, in/g, *kernel)``:  fan_in = (in/g) * k,  fan_out = (out/g) * k;
    - ``transposed=True``, PyTorch's ConvTranspose layout ``(in, out/g, *kernel)``:
      fan_in = (in/g) * k,  fan_out = (out/g) * k.

    A dense ``(out, in)`` weight gives ``(in, out)``. This is more correct than the
    frameworks: PyTorch's fan_out of a grouped conv is ``out * k``, too large by ``g``
    (a depthwise 3x3 conv with 64 channels gets fan_out 576 instead of 9), and PyTorch and
    Keras both read a transposed conv's weight as if it were a forward one, swapping its fans.
    The transposed conv of a forward conv has the same weight shape and swapped fans.
    """
    shape = _as_shape(shape, "compute_fans: shape")
    if len(shape) < 2:
        raise ShapeError(
            f"compute_fans: fans need a weight of at least 2 dimensions, (out, in) or "
            f"(out, in/groups, *kernel), got shape {shape}"
        )
    groups = positive_int(groups, "compute_fans: groups")
    if shape[0] % groups:
        role = "in_channels" if transposed else "out_channels"
        raise ShapeError(
            f"compute_fans: dimension 0 ({role}) = {shape[0]} is not divisible by groups={groups}"
        )
    k = math.prod(shape[2:])
    first, second = (shape[0] // groups) * k, shape[1] * k
    fan_in, fan_out = (first, second) if transposed else (second, first)
    if fan_in == 0 or fan_out == 0:
        raise ShapeError(f"compute_fans: shape {shape} has a zero dimension, so a fan is 0")
    return fan_in, fan_out


def _fan(shape, mode: str, who: str, groups: int = 1, transposed: bool = False) -> float:
    """The fan a scheme scales by: fan_in, fan_out, or their mean (fan_avg)."""
    if mode not in _MODES:
        raise unknown_name(f"mode for {who}", mode, _MODES)
    try:
        fan_in, fan_out = compute_fans(shape, groups, transposed)
    except (ShapeError, InvalidValueError) as exc:
        raise type(exc)(f"{who}: {exc}".replace("compute_fans: ", "")) from None
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


_MODES = ("fan_in", "fan_out", "fan_avg")


# ---------------------------------------------------------------------------------------------
# gains
# ---------------------------------------------------------------------------------------------

_GAINS = {
    "linear": 1.0, "identity": 1.0, "sigmoid": 1.0,
    "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
    "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
    "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 3.0 / 4.0, "leaky_relu": None,
}


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor by which to scale a weight's std after `nonlinearity` (PyTorch's table).

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);  selu: 3/4;
    leaky_relu: sqrt(2 / (1 + slope**2)), slope = `param` (default 0.01).

    relu's sqrt(2) is exact (half the inputs are zeroed, He et al. 2015); tanh's 5/3 and selu's
    3/4 are conventions, not variance-preserving values; `gain_for` computes those.
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in _GAINS:
        raise unknown_name("nonlinearity", nonlinearity, _GAINS)
    if nonlinearity != "leaky_relu":
        return _GAINS[nonlinearity]
    if param is None:
        slope = 0.01
    else:
        slope = real_number(param, "calculate_gain: leaky_relu negative slope (param)")
    return math.sqrt(2.0 / (1.0 + slope * slope))


def _activation(name: str, param):
    """The activation `name` as a NumPy function of z, from `functional.ACTIVATIONS`."""
    if name == "linear":
        return lambda z: z
    phi = ACTIVATIONS[name][0]
    if name == "leaky_relu":
        slope = 0.01 if param is None else real_number(param, "gain_for: leaky_relu slope (param)")
        return lambda z: phi(z, slope)
    if name == "elu":
        alpha = 1.0 if param is None else real_number(param, "gain_for: elu alpha (param)")
        return lambda z: phi(z, alpha)
    return phi


_ACTIVATIONS = (*ACTIVATIONS, "linear")


def gain_for(activation, param=None, *, points: int = 201) -> float:
    """The variance-preserving gain of any activation: ``1 / sqrt(E[phi(z)**2])``, z ~ N(0, 1).

    With weights ``std = gain / sqrt(fan_in)`` and unit-variance pre-activations, the second
    moment of ``phi(z)`` is what the next layer sees; this gain makes it 1 again (the
    argument of He et al. 2015, for any phi). The expectation is computed by Gauss-Hermite
    quadrature with `points` nodes (probabilists' weight ``exp(-z**2 / 2)``):
    ``E[f(z)] = sum_i w_i f(z_i) / sqrt(2 pi)``.

    `activation` is a callable on a float64 array, or one of relu, leaky_relu (slope `param`,
    default 0.01), tanh, sigmoid, elu (alpha `param`, default 1), gelu, selu, linear.
    It reproduces the exact closed forms (relu sqrt(2), leaky_relu sqrt(2 / (1 + slope**2)),
    linear 1) to rounding, since the symmetric nodes integrate a kink at 0 between linear
    pieces exactly. Smooth activations (tanh, sigmoid, gelu) converge to ~1e-15; elu and selu,
    whose second derivative jumps at 0, to ~1e-5 with the default 201 points (error ~ 1/points**2).
    It also shows what the conventional table hides: tanh's variance-preserving gain is
    about 1.593 (not 5/3), sigmoid's 1.846 (not 1), selu's 1 (not 3/4), GELU's about 1.534.
    """
    points = positive_int(points, "gain_for: points", minimum=2)
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise unknown_name("activation", activation, _ACTIVATIONS)
        phi = _activation(activation, param)
    elif callable(activation):
        phi = activation
    else:
        raise InvalidValueError(
            f"gain_for: expected an activation name or a callable, got {type(activation).__name__}"
        )
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    values = _evaluate(phi, nodes)
    second_moment = float(np.dot(weights, values * values)) / math.sqrt(2.0 * math.pi)
    if not math.isfinite(second_moment) or second_moment <= 0.0:
        raise InvalidValueError(
            f"gain_for: E[phi(z)^2] must be finite and > 0, got {second_moment!r}"
        )
    return 1.0 / math.sqrt(second_moment)


def _evaluate(phi, nodes: np.ndarray) -> np.ndarray:
    """phi at the quadrature nodes: vectorized if phi takes arrays, else one node at a time."""
    try:
        values = np.asarray(phi(nodes.copy()), dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != nodes.shape:
        values = np.array([float(phi(float(z))) for z in nodes])
    if not np.all(np.isfinite(values)):
        raise InvalidValueError("gain_for: the activation returned non-finite values on N(0, 1) inputs")
    return values


# ---------------------------------------------------------------------------------------------
# checks shared by the schemes
# ---------------------------------------------------------------------------------------------

def _setup(shape, dtype, who: str):
    return _as_shape(shape, f"{who}: shape"), _as_dtype(dtype, f"{who}: dtype")


def _nonneg(value, name: str) -> float:
    return real_number(value, name, low=0.0)


def _positive(value, name: str) -> float:
    return real_number(value, name, low=0.0, low_open=True)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"{name}: expected True or False, got {value!r}")
    return value


def _check_rng(rng) -> None:
    """Deterministic schemes still refuse a malformed `rng`, so every scheme takes the same arguments."""
    if rng is not None:
        as_generator(rng)


def _fanned(shape, who: str, mode: str = "fan_in", groups: int = 1, transposed: bool = False) -> float:
    return _fan(shape, mode, who, groups, _flag(transposed, f"{who}: transposed"))


# ---------------------------------------------------------------------------------------------
# constant schemes
# ---------------------------------------------------------------------------------------------

def zeros(shape, rng=None, *, dtype=np.float32) -> np.ndarray:
    """All zeros. Fine for biases; for weights it is the symmetry problem: every filter of a
    layer gets the same gradient, so they stay identical (and with zeros, ReLU nets do not learn)."""
    shape, dtype = _setup(shape, dtype, "zeros")
    _check_rng(rng)
    return np.zeros(shape, dtype=dtype)


def ones(shape, rng=None, *, dtype=np.float32) -> np.ndarray:
    """All ones (e.g. a BatchNorm scale). As a weight it suffers the symmetry problem."""
    shape, dtype = _setup(shape, dtype, "ones")
    _check_rng(rng)
    return np.ones(shape, dtype=dtype)


def constant(shape, rng=None, *, dtype=np.float32, value: float = 0.0) -> np.ndarray:
    """Every entry `value`. As a weight: the symmetry problem (all filters identical for ever)."""
    shape, dtype = _setup(shape, dtype, "constant")
    value = real_number(value, "constant: value")
    _check_rng(rng)
    return np.full(shape, value, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# plain distributions
# ---------------------------------------------------------------------------------------------

def _uniform(shape, rng, dtype, bound: float) -> np.ndarray:
    """U(-bound, bound): variance bound**2 / 3."""
    return as_generator(rng).uniform(-bound, bound, size=shape).astype(dtype)


def _normal(shape, rng, dtype, std: float, mean: float = 0.0) -> np.ndarray:
    return (as_generator(rng).standard_normal(size=shape) * std + mean).astype(dtype)


def uniform(shape, rng=None, *, dtype=np.float32, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """U(low, high): mean (low + high) / 2, variance (high - low)**2 / 12.

    The default U(0, 1) is PyTorch's; it is *not* zero-mean, which makes activations drift to
    one side layer after layer. Use a symmetric interval (or a scheme below) for weights.
    """
    shape, dtype = _setup(shape, dtype, "uniform")
    low, high = real_number(low, "uniform: low"), real_number(high, "uniform: high")
    if not low < high:
        raise InvalidValueError(f"uniform: expected low < high, got low={low:g}, high={high:g}")
    return as_generator(rng).uniform(low, high, size=shape).astype(dtype)


def normal(shape, rng=None, *, dtype=np.float32, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """N(mean, std**2). The classic fixed-std init (e.g. std=0.01, as in AlexNet) ignores the
    fan, so deep nets built with it see their signal vanish or explode with depth."""
    shape, dtype = _setup(shape, dtype, "normal")
    mean, std = real_number(mean, "normal: mean"), _nonneg(std, "normal: std")
    return _normal(shape, rng, dtype, std, mean)


def _phi(x: float) -> float:
    """Standard normal density (0 at +-inf)."""
    return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _mass(alpha: float, beta: float) -> float:
    """P(alpha <= z <= beta) for z ~ N(0, 1), computed on the side that avoids cancellation."""
    if alpha >= 0:
        return 0.5 * (math.erfc(alpha / math.sqrt(2)) - math.erfc(beta / math.sqrt(2)))
    if beta <= 0:
        return 0.5 * (math.erfc(-beta / math.sqrt(2)) - math.erfc(-alpha / math.sqrt(2)))
    return 1.0 - 0.5 * (math.erfc(beta / math.sqrt(2)) + math.erfc(-alpha / math.sqrt(2)))


def truncated_std(alpha: float, beta: float) -> float:
    """Std of z ~ N(0, 1) conditioned on alpha <= z <= beta.

    Var = 1 + (alpha phi(alpha) - beta phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z)**2,
    Z = Phi(beta) - Phi(alpha). For [-2, 2] this is 0.87962566103423978 (Keras's constant).
    """
    z = _mass(alpha, beta)
    a_phi = 0.0 if math.isinf(alpha) else alpha * _phi(alpha)
    b_phi = 0.0 if math.isinf(beta) else beta * _phi(beta)
    mean = (_phi(alpha) - _phi(beta)) / z
    return math.sqrt(1.0 + (a_phi - b_phi) / z - mean * mean)


def _standard_truncated(rng: np.random.Generator, n: int, alpha: float, beta: float, who: str) -> np.ndarray:
    """n draws of z ~ N(0, 1) restricted to [alpha, beta], by rejection (NumPy has no erfinv).

    Proposals come from N(0, 1) (acceptance = the interval's mass) or, for a narrow finite
    interval, from U(alpha, beta) accepted with probability exp((m**2 - z**2) / 2), m the point
    of the interval closest to 0; whichever accepts more often.
    """
    mass = _mass(alpha, beta)
    m = min(max(0.0, alpha), beta)
    uniform_rate = mass / ((beta - alpha) * _phi(m)) if math.isfinite(beta - alpha) else 0.0
    rate = max(mass, uniform_rate)
    if rate < 1e-3:
        raise InvalidValueError(
            f"{who}: the interval [{alpha:g}, {beta:g}] (in std units) lies too far in the tail "
            f"(it holds {mass:.3g} of the normal's mass); widen it or move it towards the mean"
        )
    out = np.empty(n)
    filled = 0
    while filled < n:
        draw = int((n - filled) / rate * 1.1) + 16
        if uniform_rate > mass:
            z = rng.uniform(alpha, beta, size=draw)
            z = z[rng.random(draw) <= np.exp(0.5 * (m * m - z * z))]
        else:
            z = rng.standard_normal(draw)
            z = z[(z >= alpha) & (z <= beta)]
        take = min(n - filled, z.size)
        out[filled:filled + take] = z[:take]
        filled += take
    return out


def truncated_normal(shape, rng=None, *, dtype=np.float32, mean: float = 0.0, std: float = 1.0,
                     a: float = -2.0, b: float = 2.0) -> np.ndarray:
    """N(mean, std**2) conditioned on a <= w <= b.

    `a` and `b` are ABSOLUTE values, not multiples of std (PyTorch's ``trunc_normal_``
    convention; Keras's ``TruncatedNormal`` instead cuts at 2 std). The trap: with std=0.02 the
    default [-2, 2] is 100 std wide and truncates nothing; for a cut at two std write
    ``a=-0.04, b=0.04``. The result's std is *smaller* than `std` (std * truncated_std(alpha,
    beta), alpha = (a - mean) / std, beta = (b - mean) / std); `variance_scaling` corrects for
    that, this function does not.
    """
    shape, dtype = _setup(shape, dtype, "truncated_normal")
    mean, std = real_number(mean, "truncated_normal: mean"), _positive(std, "truncated_normal: std")
    a, b = _bound(a, "truncated_normal: a"), _bound(b, "truncated_normal: b")
    if not a < b:
        raise InvalidValueError(f"truncated_normal: expected a < b, got a={a:g}, b={b:g}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = _standard_truncated(as_generator(rng), math.prod(shape), alpha, beta, "truncated_normal")
    return (z.reshape(shape) * std + mean).astype(dtype)


def _bound(value, name: str) -> float:
    """A truncation bound: a real number, +-inf allowed."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isinf(value):
        return float(value)
    return real_number(value, name)


# ---------------------------------------------------------------------------------------------
# fan-scaled schemes
# ---------------------------------------------------------------------------------------------

def glorot_uniform(shape, rng=None, *, dtype=np.float32, gain: float = 1.0,
                   groups: int = 1, transposed: bool = False) -> np.ndarray:
    """Glorot & Bengio 2010 ("Xavier"): U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).

    Variance gain**2 * 2 / (fan_in + fan_out): the compromise between keeping the forward
    signal (1/fan_in) and the backward gradient (1/fan_out) constant, for tanh/linear nets.
    """
    shape, dtype = _setup(shape, dtype, "glorot_uniform")
    gain = _nonneg(gain, "glorot_uniform: gain")
    fan = _fanned(shape, "glorot_uniform", "fan_avg", groups, transposed)
    return _uniform(shape, rng, dtype, gain * math.sqrt(3.0 / fan))


def glorot_normal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0,
                  groups: int = 1, transposed: bool = False) -> np.ndarray:
    """Glorot & Bengio 2010 ("Xavier"): N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)).

    An untruncated normal, as PyTorch's ``xavier_normal_`` (Keras truncates; use
    ``variance_scaling(mode=fan_avg)`` for that).
    """
    shape, dtype = _setup(shape, dtype, "glorot_normal")
    gain = _nonneg(gain, "glorot_normal: gain")
    fan = _fanned(shape, "glorot_normal", "fan_avg", groups, transposed)
    return _normal(shape, rng, dtype, gain / math.sqrt(fan))


def _he_std(shape, who, mode, nonlinearity, a, groups, transposed) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise unknown_name(f"mode for {who}", mode, ("fan_in", "fan_out"))
    gain = calculate_gain(nonlinearity, a) if nonlinearity == "leaky_relu" else calculate_gain(nonlinearity)
    return gain / math.sqrt(_fanned(shape, who, mode, groups, transposed))


def he_uniform(shape, rng=None, *, dtype=np.float32, mode: str = "fan_in",
               nonlinearity: str = "leaky_relu", a: float = 0.0,
               groups: int = 1, transposed: bool = False) -> np.ndarray:
    """He et al. 2015 ("Kaiming"): U(-b, b), b = sqrt(3) * gain / sqrt(fan), variance gain**2 / fan.

    gain = calculate_gain(nonlinearity, a); the defaults (leaky_relu with slope a=0) give
    sqrt(2): a ReLU zeroes half its inputs, halving the second moment, and the factor 2 puts it
    back. mode=fan_in preserves the forward signal, fan_out the backward gradient.
    """
    shape, dtype = _setup(shape, dtype, "he_uniform")
    std = _he_std(shape, "he_uniform", mode, nonlinearity, a, groups, transposed)
    return _uniform(shape, rng, dtype, math.sqrt(3.0) * std)


def he_normal(shape, rng=None, *, dtype=np.float32, mode: str = "fan_in",
              nonlinearity: str = "leaky_relu", a: float = 0.0,
              groups: int = 1, transposed: bool = False) -> np.ndarray:
    """He et al. 2015 ("Kaiming"): N(0, std**2), std = gain / sqrt(fan), gain as in he_uniform.

    For a 3x3 conv with 64 input channels: fan_in = 576, std = sqrt(2 / 576) = 0.0589.
    An untruncated normal, as PyTorch's ``kaiming_normal_`` (Keras's ``he_normal`` truncates).
    """
    shape, dtype = _setup(shape, dtype, "he_normal")
    std = _he_std(shape, "he_normal", mode, nonlinearity, a, groups, transposed)
    return _normal(shape, rng, dtype, std)


def lecun_uniform(shape, rng=None, *, dtype=np.float32, groups: int = 1,
                  transposed: bool = False) -> np.ndarray:
    """LeCun et al. 1998 ("Efficient BackProp"): U(-b, b), b = sqrt(3 / fan_in), variance 1 / fan_in."""
    shape, dtype = _setup(shape, dtype, "lecun_uniform")
    fan = _fanned(shape, "lecun_uniform", "fan_in", groups, transposed)
    return _uniform(shape, rng, dtype, math.sqrt(3.0 / fan))


def lecun_normal(shape, rng=None, *, dtype=np.float32, groups: int = 1,
                 transposed: bool = False) -> np.ndarray:
    """LeCun et al. 1998: N(0, 1 / fan_in). The init SELU nets need (Klambauer et al. 2017).

    Untruncated; Keras's ``lecun_normal`` is ``variance_scaling(distribution=truncated_normal)``.
    """
    shape, dtype = _setup(shape, dtype, "lecun_normal")
    fan = _fanned(shape, "lecun_normal", "fan_in", groups, transposed)
    return _normal(shape, rng, dtype, 1.0 / math.sqrt(fan))


_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
_TRUNCATION = 2.0  # variance_scaling cuts its truncated normal at +-2 std of the parent normal


def variance_scaling(shape, rng=None, *, dtype=np.float32, scale: float = 1.0,
                     mode: str = "fan_in", distribution: str = "truncated_normal",
                     groups: int = 1, transposed: bool = False) -> np.ndarray:
    """The family all fan-based schemes belong to (Keras): Var(w) = scale / fan, exactly.

    fan = fan_in, fan_out or fan_avg = (fan_in + fan_out) / 2 (`mode`); target std
    s = sqrt(scale / fan). `distribution`:
    uniform: U(-sqrt(3) s, sqrt(3) s);  normal: N(0, s**2);
    truncated_normal: N(0, sigma**2) cut at +-2 sigma with sigma = s / 0.8796256610342398, the
    std of a standard normal cut at +-2, so the final std is exactly s (variance-corrected).
    He is scale=2/fan_in, Glorot scale=1/fan_avg, LeCun scale=1/fan_in.
    """
    shape, dtype = _setup(shape, dtype, "variance_scaling")
    scale = _positive(scale, "variance_scaling: scale")
    if distribution not in _DISTRIBUTIONS:
        raise unknown_name("distribution for variance_scaling", distribution, _DISTRIBUTIONS)
    std = math.sqrt(scale / _fanned(shape, "variance_scaling", mode, groups, transposed))
    if distribution == "uniform":
        return _uniform(shape, rng, dtype, math.sqrt(3.0) * std)
    if distribution == "normal":
        return _normal(shape, rng, dtype, std)
    sigma = std / truncated_std(-_TRUNCATION, _TRUNCATION)
    z = _standard_truncated(as_generator(rng), math.prod(shape), -_TRUNCATION, _TRUNCATION,
                            "variance_scaling")
    return (z.reshape(shape) * sigma).astype(dtype)


def pytorch_conv_default(shape, rng=None, *, dtype=np.float32) -> np.ndarray:
    """What ``torch.nn.Conv2d`` (and ``Linear``) actually do: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    PyTorch calls ``kaiming_uniform_(w, a=sqrt(5))``: gain sqrt(2 / (1 + 5)) = sqrt(1/3), so
    Var(w) = 1 / (3 fan_in), a third of LeCun's and a sixth of He's. It is *not* He init,
    which surprises many. fan_in is read as PyTorch reads it, ``shape[1] * prod(kernel)``, so a
    transposed conv's weight gets PyTorch's (swapped) fan here too.
    """
    shape, dtype = _setup(shape, dtype, "pytorch_conv_default")
    fan_in = _fan(shape, "fan_in", "pytorch_conv_default")
    return _uniform(shape, rng, dtype, 1.0 / math.sqrt(fan_in))


# ---------------------------------------------------------------------------------------------
# structured schemes
# ---------------------------------------------------------------------------------------------

def _random_orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A Haar-random (rows, cols) matrix with orthonormal rows (rows <= cols) or columns.

    QR of a Gaussian matrix, with each column of Q multiplied by the sign of R's diagonal:
    without that fix Q is not uniformly distributed (Mezzadri 2007).
    """
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    signs = np.sign(np.diag(r))
    q *= np.where(signs == 0, 1.0, signs)
    return q.T if rows < cols else q


def orthogonal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """Saxe et al. 2014: a random orthogonal matrix times `gain`, for the flattened weight.

    The weight is viewed as ``(shape[0], prod(shape[1:]))``; its rows are orthonormal if there
    are no more rows than columns (W W^T = gain**2 I), otherwise its columns are (W^T W =
    gain**2 I). Every singular value equals gain, so a linear layer neither stretches nor
    shrinks any direction: the norm of the signal is preserved exactly (dynamical isometry).
    """
    shape, dtype = _setup(shape, dtype, "orthogonal")
    if len(shape) < 2:
        raise ShapeError(f"orthogonal: needs a weight of at least 2 dimensions, got shape {shape}")
    gain = _nonneg(gain, "orthogonal: gain")
    rows, cols = shape[0], math.prod(shape[1:])
    w = _random_orthogonal(as_generator(rng), rows, cols) * gain
    return w.reshape(shape).astype(dtype)


def identity(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """`gain` times the (possibly rectangular) identity matrix, for a dense (out, in) weight:
    w[i, i] = gain for i < min(out, in). A dense layer then passes its input through."""
    shape, dtype = _setup(shape, dtype, "identity")
    if len(shape) != 2:
        raise ShapeError(
            f"identity: needs a 2-D (out, in) weight, got shape {shape}; use dirac for conv weights"
        )
    gain = _nonneg(gain, "identity: gain")
    _check_rng(rng)
    return (np.eye(*shape) * gain).astype(dtype)


def dirac(shape, rng=None, *, dtype=np.float32, groups: int = 1) -> np.ndarray:
    """The identity convolution (Zagoruyko & Komodakis 2017, DiracNets), with groups.

    Shape (out, in/groups, *kernel): in each group g, output channel ``g * out/groups + d``
    gets a 1 at the centre tap (index k // 2 on each axis) of its input channel d, for
    d < min(out/groups, in/groups); everything else is 0. A stride-1 conv with "same" padding
    and an odd kernel then copies its first min(out, in) input channels to its output.
    """
    shape, dtype = _setup(shape, dtype, "dirac")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"dirac: needs a conv weight (out, in/groups, *kernel) of 3 to 5 dimensions, got shape {shape}")
    if 0 in shape:
        raise ShapeError(f"dirac: every axis needs at least one entry (a centre tap), got shape {shape}")
    groups = positive_int(groups, "dirac: groups")
    if shape[0] % groups:
        raise ShapeError(f"dirac: out_channels = {shape[0]} is not divisible by groups={groups}")
    _check_rng(rng)
    w = np.zeros(shape, dtype=dtype)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for d in range(min(per_group, shape[1])):
        w[(np.arange(groups) * per_group + d, d) + centre] = 1.0
    return w


def delta_orthogonal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """Xiao et al. 2018: a random orthogonal (out, in) matrix at the kernel's centre tap, zeros elsewhere.

    Shape (out, in, *kernel) with in <= out, so the centre matrix H has orthonormal columns
    (H^T H = I): the conv maps each pixel's channel vector x to gain * H x, preserving its
    norm, whatever the depth. This is how 10,000-layer plain CNNs were trained without
    batch norm or skip connections.
    """
    shape, dtype = _setup(shape, dtype, "delta_orthogonal")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(
            f"delta_orthogonal: needs a conv weight (out, in, *kernel) of 3 to 5 dimensions, got shape {shape}"
        )
    if 0 in shape:
        raise ShapeError(f"delta_orthogonal: every axis needs at least one entry (a centre tap), got shape {shape}")
    if shape[1] > shape[0]:
        raise ShapeError(
            f"delta_orthogonal: needs in_channels <= out_channels (an orthogonal map cannot "
            f"shrink the channel count), got in={shape[1]} > out={shape[0]} (shape {shape})"
        )
    gain = _nonneg(gain, "delta_orthogonal: gain")
    w = np.zeros(shape, dtype=dtype)
    centre = tuple(k // 2 for k in shape[2:])
    w[(slice(None), slice(None)) + centre] = gain * _random_orthogonal(as_generator(rng), shape[0], shape[1])
    return w


def sparse(shape, rng=None, *, dtype=np.float32, sparsity: float = 0.9, std: float = 0.01) -> np.ndarray:
    """Martens 2010 style sparse init: each output unit keeps few nonzero incoming weights.

    The weight is viewed as (out, fan_in) = (shape[0], prod(shape[1:])). In every row,
    ceil(sparsity * fan_in) entries, chosen uniformly at random, are 0; the rest are
    N(0, std**2). (PyTorch's ``sparse_`` zeroes per column instead, i.e. per input unit.)
    """
    shape, dtype = _setup(shape, dtype, "sparse")
    if len(shape) < 2:
        raise ShapeError(f"sparse: needs a weight of at least 2 dimensions, got shape {shape}")
    sparsity = real_number(sparsity, "sparse: sparsity", low=0.0, high=1.0)
    std = _nonneg(std, "sparse: std")
    rng = as_generator(rng)
    rows, cols = shape[0], math.prod(shape[1:])
    w = rng.standard_normal((rows, cols)) * std
    n_zero = math.ceil(sparsity * cols)
    # argsort of iid uniforms gives an independent random permutation per row
    zero_cols = np.argsort(rng.random((rows, cols)), axis=1)[:, :n_zero]
    np.put_along_axis(w, zero_cols, 0.0, axis=1)
    return w.reshape(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# registry, spec strings, and the public lookups
# ---------------------------------------------------------------------------------------------

_SCHEMES: dict[str, Callable] = {f.__name__: f for f in (
    zeros, ones, constant, uniform, normal, truncated_normal, glorot_uniform, glorot_normal,
    he_uniform, he_normal, lecun_uniform, lecun_normal, variance_scaling, orthogonal,
    identity, dirac, delta_orthogonal, sparse, pytorch_conv_default,
)}
_ALIASES = {
    "xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal",
    "trunc_normal": "truncated_normal", "eye": "identity", "zero": "zeros", "one": "ones",
    "random_uniform": "uniform", "random_normal": "normal", "pytorch_default": "pytorch_conv_default",
}
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal

_LAYER_FACTS = ("groups", "transposed")  # what a layer knows about its weight, not a user choice
_PROBE = {"identity": (4, 4), "dirac": (4, 4, 3, 3)}
_MAX_SPEC = 500


def _parameters(name: str) -> list[str]:
    """The keyword parameters a scheme takes (dtype excluded: it is a call argument)."""
    sig = inspect.signature(_SCHEMES[name])
    return [p for p, v in sig.parameters.items() if v.kind is v.KEYWORD_ONLY and p != "dtype"]


# the schemes whose variance is set from the weight's fans (Glorot, He, LeCun and their kin)
FAN_SCALED = frozenset({"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                        "lecun_normal", "variance_scaling", "pytorch_conv_default"})


def is_fan_scaled(spec) -> bool:
    """Whether `spec` draws with a variance set from the weight's fans, at that variance (no
    factor): "he_normal", "glorot_uniform(gain=2)" yes; "normal(std=0.01)", "he_normal*0.1" no."""
    resolved = get(spec)
    return (isinstance(resolved, Initializer) and isinstance(resolved.source, str)
            and resolved.source in FAN_SCALED and resolved.factor == 1)


def names(aliases: bool = False) -> list[str]:
    """The canonical initializer names (and the aliases too, with ``aliases=True``), sorted."""
    return sorted(set(_SCHEMES) | (set(_ALIASES) if aliases else set()))


def _canonical(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _SCHEMES:
        raise unknown_name("initializer", name, names(aliases=True))
    return key


def _format_value(value) -> str:
    """A parameter value as the spec syntax writes it: bare words unquoted, numbers by repr."""
    if isinstance(value, str) and value.isidentifier() and value not in ("True", "False", "None"):
        return value
    return repr(value)


def _parse(spec: str) -> tuple[str, dict, float]:
    """Parse ``name``, ``name(key=value, ...)``, each optionally followed by ``*factor``.

    Only the syntax tree is built (never evaluated); values go through ``ast.literal_eval``,
    and a bare word (``mode=fan_out``) is read as the string "fan_out".
    """
    text = spec.strip()
    if not text or len(text) > _MAX_SPEC:
        raise InvalidValueError(
            f"initializer spec: expected 'name' or 'name(key=value, ...)' of at most {_MAX_SPEC} "
            f"characters, got {spec!r}"
        )
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise InvalidValueError(
            f"initializer spec {spec!r} is malformed ({exc.msg}); expected e.g. 'normal(std=0.01)'"
        ) from None
    factor = 1.0
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        factor *= _factor(_literal(node.right, spec), spec)
        node = node.left
    if isinstance(node, ast.Name):
        return node.id, {}, factor
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise InvalidValueError(
            f"initializer spec {spec!r} is malformed; expected 'name', 'name(key=value, ...)' "
            f"or either followed by '*factor', e.g. 'he_normal(mode=fan_out)*0.5'"
        )
    _canonical(node.func.id)
    if node.args:
        raise InvalidValueError(
            f"initializer spec {spec!r}: write parameters as key=value, e.g. 'constant(value=0.1)'"
        )
    params = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise InvalidValueError(f"initializer spec {spec!r}: '**' is not allowed")
        if kw.arg in params:
            raise InvalidValueError(f"initializer spec {spec!r} is malformed: {kw.arg!r} is given twice")
        params[kw.arg] = _literal(kw.value, spec)
    return node.func.id, params, factor


def _literal(node: ast.AST, spec: str):
    if isinstance(node, ast.Name):
        return node.id
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise InvalidValueError(
            f"initializer spec {spec!r}: {ast.unparse(node)!r} is not a literal value "
            f"(numbers, quoted strings, True/False/None, or a bare word)"
        ) from None


def _factor(value, what) -> float:
    return real_number(value, f"initializer scale factor in {what!r}", low=0.0)


class Initializer:
    """A resolved initializer: a registered scheme with bound parameters (or a callable, or an
    array), times a `factor`. Call it as ``init(shape, rng=None, *, dtype=np.float32)``.

    Layers may also pass ``groups=`` and ``transposed=`` (facts about their weight); they reach
    the schemes that use them (the fan-based ones, and dirac's groups) and are ignored otherwise.
    """

    def __init__(self, source, params: dict | None = None, factor: float = 1.0):
        self.source = source  # canonical name, a callable, or an ndarray
        self.params = dict(params or {})
        self.factor = float(factor)

    @property
    def name(self) -> str:
        if isinstance(self.source, str):
            return self.source
        if isinstance(self.source, np.ndarray):
            return "<array>"
        return f"<callable {getattr(self.source, '__name__', type(self.source).__name__)}>"

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``he_normal(mode=fan_out)*0.1``; get(spec) rebuilds it."""
        text = self.name
        if self.params:
            text += "(" + ", ".join(f"{k}={_format_value(v)}" for k, v in self.params.items()) + ")"
        if self.factor != 1.0:
            text += f"*{self.factor!r}"
        return text

    def __call__(self, shape, rng=None, *, dtype=np.float32, groups=None, transposed=None) -> np.ndarray:
        dtype = _as_dtype(dtype, f"initializer {self.name}: dtype")
        # scale in float64 and round once, so a scaled float32 draw is the float64 one rounded
        draw = dtype if self.factor == 1.0 else np.dtype(np.float64)
        if isinstance(self.source, str):
            params = dict(self.params)
            facts = {"groups": groups, "transposed": transposed}
            allowed = _parameters(self.source)
            params.update({k: v for k, v in facts.items() if v is not None and k in allowed})
            w = _SCHEMES[self.source](shape, rng, dtype=draw, **params)
        elif isinstance(self.source, np.ndarray):
            w = _from_array(self.source, shape, draw)
        else:
            w = _from_callable(self.source, shape, rng, draw)
        return w if self.factor == 1.0 else (w * self.factor).astype(dtype)

    def __repr__(self) -> str:
        return f"Initializer({self.spec!r})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Initializer):
            return NotImplemented
        if isinstance(self.source, str) and isinstance(other.source, str):
            return self.spec == other.spec
        return self is other

    def __hash__(self) -> int:
        return hash(self.spec) if isinstance(self.source, str) else id(self)


def _bind(name: str, params: dict, factor: float, spec) -> Initializer:
    """Check the parameter names, then the values by drawing a tiny probe sample."""
    canonical = _canonical(name)
    allowed = _parameters(canonical)
    for key in params:
        if key not in allowed:
            if not allowed:
                raise InvalidValueError(f"initializer {canonical} takes no parameters, got {key!r} in {spec!r}")
            raise unknown_name(f"parameter of {canonical}", key, allowed)
    # the layer facts are checked for their kind here, against a weight's shape when drawn
    if "groups" in params and not (type(params["groups"]) is int and params["groups"] >= 1):
        raise InvalidValueError(f"{canonical} groups: expected an integer >= 1, got {params['groups']!r}")
    if "transposed" in params and not isinstance(params["transposed"], bool):
        raise InvalidValueError(f"{canonical} transposed: expected True or False, got {params['transposed']!r}")
    probe = {k: v for k, v in params.items() if k not in _LAYER_FACTS}
    _SCHEMES[canonical](_PROBE.get(canonical, (4, 4, 3, 3)), 0, dtype=np.float64, **probe)
    return Initializer(canonical, params, factor)


def get(spec) -> Callable:
    """Resolve `spec` into an initializer ``f(shape, rng=None, *, dtype=np.float32)``.

    `spec` may be a registered name or alias ("he_normal", "kaiming_normal"), a spec string
    with keyword parameters and an optional factor ("normal(std=0.01)", "he_normal(mode=fan_out)",
    "truncated_normal(std=0.02, a=-0.04, b=0.04)", "he_normal*0.1"), an ``Initializer``,
    an array (returned, copied, for a weight of exactly its shape), or a callable. A user's
    callable is returned as is; one of this module's own functions becomes its ``Initializer``.
    Parameters are checked now, so a bad spec fails here, not when a model is built.
    """
    if isinstance(spec, Initializer):
        return spec
    if isinstance(spec, str):
        name, params, factor = _parse(spec)
        return _bind(name, params, factor, spec)
    if isinstance(spec, np.ndarray):
        return Initializer(as_float_array(spec, "initializer array").copy())
    if callable(spec):
        own = getattr(spec, "__name__", None)
        if own in _SCHEMES and _SCHEMES[own] is spec:
            return Initializer(own)
        return spec
    raise InvalidValueError(
        f"initializer: expected a name, a spec string, a callable or an array, got {type(spec).__name__}"
    )


def _from_array(array: np.ndarray, shape, dtype) -> np.ndarray:
    shape = _as_shape(shape, "initializer array: shape")
    array = as_float_array(array, "initializer array")
    if array.shape != shape:
        raise ShapeError(f"initializer array: expected shape {shape}, got an array of shape {array.shape}")
    return array.astype(dtype, copy=True)


def _from_callable(fn, shape, rng, dtype) -> np.ndarray:
    who = f"initializer {getattr(fn, '__name__', type(fn).__name__)}"
    shape = _as_shape(shape, f"{who}: shape")
    try:
        out = fn(shape, rng, dtype=dtype)
    except TypeError as exc:
        raise InvalidValueError(
            f"{who}: calling it as fn(shape, rng, dtype={np.dtype(dtype).name}) failed ({exc}); an "
            "initializer callable takes (shape, rng=None, *, dtype=np.float32)") from exc
    if not isinstance(out, np.ndarray):
        raise ShapeError(f"{who}: expected it to return an ndarray of shape {shape}, got {type(out).__name__}")
    if out.shape != shape:
        raise ShapeError(f"{who}: expected it to return shape {shape}, got shape {out.shape}")
    return as_float_array(out, f"{who} output").astype(dtype, copy=False)


def initialize(spec, shape, rng=None, *, dtype=np.float32, groups=None, transposed=None) -> np.ndarray:
    """Draw one weight of `shape` from `spec` (anything `get` takes, or an array of that shape).

    The result has exactly `shape` and `dtype`. A callable's output is checked for its shape
    and cast to `dtype`; an array is shape-checked and copied. ``groups``/``transposed``
    describe the weight (see ``compute_fans``); they reach the registered schemes that use them.
    """
    init = get(spec)
    if isinstance(init, Initializer):
        return init(shape, rng, dtype=dtype, groups=groups, transposed=transposed)
    return _from_callable(init, shape, rng, _as_dtype(dtype, "initialize: dtype"))


def describe(spec) -> str:
    """A short JSON-able description: "he_normal", "normal(std=0.01)", "he_normal*0.1",
    "<callable NAME>" for a user's callable, "<array>" for an array."""
    init = get(spec)
    if isinstance(init, Initializer):
        return init.spec
    return f"<callable {getattr(init, '__name__', type(init).__name__)}>"


def scaled(spec, factor: float) -> Initializer:
    """An initializer whose output is ``factor *`` that of `spec` (``describe``: "he_normal*0.1").

    For a zero-mean scheme this multiplies the std by exactly `factor` (Var(c w) = c**2 Var(w)),
    which is how "init_scale" sweeps the variance while keeping the distribution's shape.
    """
    factor = _factor(factor, f"scaled(..., factor={factor!r})")
    init = get(spec)
    if isinstance(init, Initializer):
        return Initializer(init.source, init.params, init.factor * factor)
    return Initializer(init, None, factor)
