"""The initializers themselves, each ``name(shape, rng=None, *, dtype=np.float32, **params)``
(floor 1): constant, random and variance-scaled schemes; the structured ones (orthogonal,
dirac, ...) are in ``structured.py``, the checks they share in ``checks.py``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import InvalidValueError, unknown_name
from ..rng import as_generator
from ..validate import real_number
from .checks import _check_rng, _fanned, _finite, _nonneg, _positive, _setup
from .fans import _fan, calculate_gain
from .structured import delta_orthogonal, dirac, identity, orthogonal, sparse

__all__ = [
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal", "truncated_std",
    "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
    "kaiming_uniform", "kaiming_normal", "lecun_uniform", "lecun_normal", "variance_scaling",
    "pytorch_conv_default",
    # the structured schemes, offered here too so that every scheme imports from one module
    "orthogonal", "identity", "dirac", "delta_orthogonal", "sparse",
]


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
    _finite(lambda: value, dtype, "constant", f"value={value:g}")
    return np.full(shape, value, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# plain distributions
# ---------------------------------------------------------------------------------------------

def _draw_uniform(shape, rng, dtype, low: float, high: float, who: str, settings: str) -> np.ndarray:
    """U(low, high) drawn in float64, cast to dtype; an interval wider than float64 can hold
    (high - low overflows) is refused by name."""
    if not math.isfinite(high - low):
        raise InvalidValueError(
            f"{who}: with {settings} the interval [{low:g}, {high:g}] is wider than float64 can "
            f"hold (high - low overflows), so the weights would not be finite")
    return _finite(lambda: as_generator(rng).uniform(low, high, size=shape), dtype, who, settings)


def _uniform(shape, rng, dtype, bound: float, who: str, settings: str) -> np.ndarray:
    """U(-bound, bound): variance bound**2 / 3."""
    return _draw_uniform(shape, rng, dtype, -bound, bound, who, settings)


def _normal(shape, rng, dtype, std: float, who: str, settings: str, mean: float = 0.0) -> np.ndarray:
    return _finite(lambda: as_generator(rng).standard_normal(size=shape) * std + mean, dtype, who, settings)


def uniform(shape, rng=None, *, dtype=np.float32, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """U(low, high): mean (low + high) / 2, variance (high - low)**2 / 12.

    The default U(0, 1) is PyTorch's; it is *not* zero-mean, which makes activations drift to
    one side layer after layer. Use a symmetric interval (or a scheme below) for weights.
    """
    shape, dtype = _setup(shape, dtype, "uniform")
    low, high = real_number(low, "uniform: low"), real_number(high, "uniform: high")
    if not low < high:
        raise InvalidValueError(f"uniform: expected low < high, got low={low:g}, high={high:g}")
    return _draw_uniform(shape, rng, dtype, low, high, "uniform", f"low={low:g}, high={high:g}")


def normal(shape, rng=None, *, dtype=np.float32, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """N(mean, std**2). The classic fixed-std init (e.g. std=0.01, as in AlexNet) ignores the
    fan, so deep nets built with it see their signal vanish or explode with depth."""
    shape, dtype = _setup(shape, dtype, "normal")
    mean, std = real_number(mean, "normal: mean"), _nonneg(std, "normal: std")
    return _normal(shape, rng, dtype, std, "normal", f"mean={mean:g}, std={std:g}", mean)


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
    envelope = (beta - alpha) * _phi(m)     # 0 far in the tail, where the density underflows
    uniform_rate = mass / envelope if math.isfinite(envelope) and envelope > 0 else 0.0
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
    if not alpha < beta:
        raise InvalidValueError(
            f"truncated_normal: the interval [a, b] = [{a:g}, {b:g}] is narrower than float64 "
            f"resolves at mean={mean:g}, std={std:g} (in std units both ends are {alpha:g}); "
            "widen it or make std smaller")
    z = _standard_truncated(as_generator(rng), math.prod(shape), alpha, beta, "truncated_normal")
    return _finite(lambda: z.reshape(shape) * std + mean, dtype, "truncated_normal",
                   f"mean={mean:g}, std={std:g}")


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
    return _uniform(shape, rng, dtype, gain * math.sqrt(3.0 / fan), "glorot_uniform", f"gain={gain:g}")


def glorot_normal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0,
                  groups: int = 1, transposed: bool = False) -> np.ndarray:
    """Glorot & Bengio 2010 ("Xavier"): N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)).

    An untruncated normal, as PyTorch's ``xavier_normal_`` (Keras truncates; use
    ``variance_scaling(mode=fan_avg)`` for that).
    """
    shape, dtype = _setup(shape, dtype, "glorot_normal")
    gain = _nonneg(gain, "glorot_normal: gain")
    fan = _fanned(shape, "glorot_normal", "fan_avg", groups, transposed)
    return _normal(shape, rng, dtype, gain / math.sqrt(fan), "glorot_normal", f"gain={gain:g}")


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
    return _uniform(shape, rng, dtype, math.sqrt(3.0) * std, "he_uniform", f"std={std:g}")


def he_normal(shape, rng=None, *, dtype=np.float32, mode: str = "fan_in",
              nonlinearity: str = "leaky_relu", a: float = 0.0,
              groups: int = 1, transposed: bool = False) -> np.ndarray:
    """He et al. 2015 ("Kaiming"): N(0, std**2), std = gain / sqrt(fan), gain as in he_uniform.

    For a 3x3 conv with 64 input channels: fan_in = 576, std = sqrt(2 / 576) = 0.0589.
    An untruncated normal, as PyTorch's ``kaiming_normal_`` (Keras's ``he_normal`` truncates).
    """
    shape, dtype = _setup(shape, dtype, "he_normal")
    std = _he_std(shape, "he_normal", mode, nonlinearity, a, groups, transposed)
    return _normal(shape, rng, dtype, std, "he_normal", f"std={std:g}")


def lecun_uniform(shape, rng=None, *, dtype=np.float32, groups: int = 1,
                  transposed: bool = False) -> np.ndarray:
    """LeCun et al. 1998 ("Efficient BackProp"): U(-b, b), b = sqrt(3 / fan_in), variance 1 / fan_in."""
    shape, dtype = _setup(shape, dtype, "lecun_uniform")
    fan = _fanned(shape, "lecun_uniform", "fan_in", groups, transposed)
    return _uniform(shape, rng, dtype, math.sqrt(3.0 / fan), "lecun_uniform", f"fan_in={fan:g}")


def lecun_normal(shape, rng=None, *, dtype=np.float32, groups: int = 1,
                 transposed: bool = False) -> np.ndarray:
    """LeCun et al. 1998: N(0, 1 / fan_in). The init SELU nets need (Klambauer et al. 2017).

    Untruncated; Keras's ``lecun_normal`` is ``variance_scaling(distribution=truncated_normal)``.
    """
    shape, dtype = _setup(shape, dtype, "lecun_normal")
    fan = _fanned(shape, "lecun_normal", "fan_in", groups, transposed)
    return _normal(shape, rng, dtype, 1.0 / math.sqrt(fan), "lecun_normal", f"fan_in={fan:g}")


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
    settings = f"scale={scale:g}"
    if distribution == "uniform":
        return _uniform(shape, rng, dtype, math.sqrt(3.0) * std, "variance_scaling", settings)
    if distribution == "normal":
        return _normal(shape, rng, dtype, std, "variance_scaling", settings)
    sigma = std / truncated_std(-_TRUNCATION, _TRUNCATION)
    z = _standard_truncated(as_generator(rng), math.prod(shape), -_TRUNCATION, _TRUNCATION,
                            "variance_scaling")
    return _finite(lambda: z.reshape(shape) * sigma, dtype, "variance_scaling", settings)


def pytorch_conv_default(shape, rng=None, *, dtype=np.float32) -> np.ndarray:
    """What ``torch.nn.Conv2d`` (and ``Linear``) actually do: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    PyTorch calls ``kaiming_uniform_(w, a=sqrt(5))``: gain sqrt(2 / (1 + 5)) = sqrt(1/3), so
    Var(w) = 1 / (3 fan_in), a third of LeCun's and a sixth of He's. It is *not* He init,
    which surprises many. fan_in is read as PyTorch reads it, ``shape[1] * prod(kernel)``, so a
    transposed conv's weight gets PyTorch's (swapped) fan here too.
    """
    shape, dtype = _setup(shape, dtype, "pytorch_conv_default")
    fan_in = _fan(shape, "fan_in", "pytorch_conv_default")
    return _uniform(shape, rng, dtype, 1.0 / math.sqrt(fan_in), "pytorch_conv_default", f"fan_in={fan_in:g}")


# the names PyTorch uses for the same schemes
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal
