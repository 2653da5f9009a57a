"""Activations phi(x) and their derivatives phi'(x), the public checked functions and the
unchecked kernels the layers run, and `ACTIVATIONS` by name.

Floor 1: NumPy only.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..validate import as_float_array, real_number


# Each activation is phi(x); each `*_grad(x, y)` is phi'(x), given x and y = phi(x).
# The public functions take their arrays through validate.as_float_array, then run the kernels
# `_relu` & co., which assume float32/float64 ndarrays.

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _floats(x, who):
    return as_float_array(x, f"{who} x", finite=False)


def _floats2(x, y, who):
    """x and y = phi(x) of a derivative, as float arrays of one shape."""
    x = as_float_array(x, f"{who} x", finite=False)
    y = as_float_array(y, f"{who} y", finite=False, int_dtype=x.dtype)
    if y.shape != x.shape:
        raise ShapeError(f"{who}: expected y = phi(x) of x's shape {x.shape}, got {y.shape}")
    return x, y


def _relu(x):
    return np.maximum(x, 0)


def _relu_grad(x, y):
    return (x > 0).astype(x.dtype)


def relu(x):
    """phi(x) = max(x, 0)."""
    return _relu(_floats(x, "relu"))


def relu_grad(x, y):
    """phi'(x) = 1 for x > 0, else 0 (0 at x = 0, as PyTorch)."""
    return _relu_grad(*_floats2(x, y, "relu_grad"))


def _pick(condition, a, b, dtype):
    """np.where(condition, a, b) as arithmetic: c a + (1 - c) b with c = 1 or 0, exact for
    finite a and b (one product is exactly 0). np.where branches per element, and on data of
    random sign it ran ~20x slower (1.1 ms against 0.06 ms on LeNet's first activations)."""
    c = condition.astype(dtype)
    out = 1 - c
    out *= b
    c *= a
    out += c
    return out


def _leaky_relu(x, negative_slope=0.01):
    # max(x, s x) for s <= 1, min(x, s x) for s > 1: branch-free (see _pick); s = 0 is ReLU
    # (0 * inf would be NaN)
    if negative_slope == 0:
        return np.maximum(x, x.dtype.type(0))
    y = np.multiply(x, x.dtype.type(negative_slope), out=np.empty_like(x))   # an array, even 0-d
    return (np.maximum if negative_slope <= 1 else np.minimum)(x, y, out=y)


def _leaky_relu_grad(x, y, negative_slope=0.01):
    return _pick(x > 0, x.dtype.type(1), x.dtype.type(negative_slope), x.dtype)


def leaky_relu(x, negative_slope=0.01):
    """phi(x) = x for x > 0, else negative_slope * x."""
    slope = real_number(negative_slope, "leaky_relu negative_slope")
    return _leaky_relu(_floats(x, "leaky_relu"), slope)


def leaky_relu_grad(x, y, negative_slope=0.01):
    """phi'(x) = 1 for x > 0, else negative_slope."""
    slope = real_number(negative_slope, "leaky_relu_grad negative_slope")
    return _leaky_relu_grad(*_floats2(x, y, "leaky_relu_grad"), slope)


def _tanh(x):
    return np.tanh(x)


def _tanh_grad(x, y):
    return 1 - y * y


def tanh(x):
    """phi(x) = tanh(x)."""
    return _tanh(_floats(x, "tanh"))


def tanh_grad(x, y):
    """phi'(x) = 1 - tanh(x)^2."""
    return _tanh_grad(*_floats2(x, y, "tanh_grad"))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return _pick(x >= 0, 1, e, x.dtype) / (1 + e)       # 1 / (1 + e) or e / (1 + e)


def _sigmoid_grad(x, y):
    return y * (1 - y)


def sigmoid(x):
    """phi(x) = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    return _sigmoid(_floats(x, "sigmoid"))


def sigmoid_grad(x, y):
    """phi'(x) = sigma(x) (1 - sigma(x))."""
    return _sigmoid_grad(*_floats2(x, y, "sigmoid_grad"))


def _elu(x, alpha=1.0):
    # one of the two terms is 0: branch-free (see _pick)
    return np.maximum(x, 0) + x.dtype.type(alpha) * np.expm1(np.minimum(x, 0))


def _elu_grad(x, y, alpha=1.0):
    # alpha exp(x) for x <= 0, computed as y + alpha there; elsewhere a finite stand-in for
    # _pick (y itself may be inf, and with alpha < 0 the negative side of y is positive)
    negative = x.dtype.type(alpha) * np.expm1(np.minimum(x, 0))
    return _pick(x > 0, 1, negative + x.dtype.type(alpha), x.dtype)


def elu(x, alpha=1.0):
    """phi(x) = x for x > 0, else alpha (exp(x) - 1)."""
    return _elu(_floats(x, "elu"), real_number(alpha, "elu alpha"))


def elu_grad(x, y, alpha=1.0):
    """phi'(x) = 1 for x > 0, else alpha exp(x) = y + alpha."""
    return _elu_grad(*_floats2(x, y, "elu_grad"), real_number(alpha, "elu_grad alpha"))


_erfc = np.frompyfunc(math.erfc, 1, 1)
# Numerical Recipes' erfcc: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0, with P a
# degree-9 Chebyshev fit (lowest order first); fractional error below 1.2e-7 for every z >= 0
_ERFC_FIT = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
             0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _erfc_fit(z):
    """erfc(z) by the fit above, for any sign (erfc(-z) = 2 - erfc(z)); float64 z, and z's
    buffer is overwritten."""
    a = np.abs(z)
    t = 0.5 * a
    t += 1.0
    np.reciprocal(t, out=t)
    erfc = np.full_like(a, _ERFC_FIT[-1])
    for c in _ERFC_FIT[-2::-1]:          # Horner, in place
        erfc *= t
        erfc += c
    erfc -= np.multiply(a, a, out=a)
    np.exp(erfc, out=erfc)
    erfc *= t
    np.subtract(2.0, erfc, out=erfc, where=z < 0)
    return erfc


def _std_normal_cdf(x):
    """Phi(x) = erfc(-x / sqrt 2) / 2, in x's dtype. float64: math.erfc per element (exact, but
    slow); other dtypes: the vectorized erfc fit, evaluated in float64 (so that exp(-x^2/2)
    keeps its precision) and rounded once: relative error below 1.2e-7 plus that rounding."""
    z = np.array(x, dtype=np.float64, ndmin=1) / -math.sqrt(2.0)     # ndmin: 0-d works too
    if x.dtype == np.float64:
        return (0.5 * _erfc(z).astype(np.float64)).reshape(x.shape)
    erfc = _erfc_fit(z)
    erfc *= 0.5
    return erfc.astype(x.dtype).reshape(x.shape)


def _gelu(x):
    return x * _std_normal_cdf(x)


def _gelu_grad(x, y):
    pdf = np.exp(-0.5 * x * x) / x.dtype.type(math.sqrt(2 * math.pi))
    return _std_normal_cdf(x) + x * pdf


def gelu(x):
    """phi(x) = x * Phi(x), Phi the standard normal CDF (the exact form, PyTorch's default).

    float64 uses math.erf element by element (exact); float32 a vectorized fit of erfc, as
    precise as float32 can hold (`_std_normal_cdf`), ~4x faster.
    """
    return _gelu(_floats(x, "gelu"))


def gelu_grad(x, y):
    """phi'(x) = Phi(x) + x * pdf(x)."""
    return _gelu_grad(*_floats2(x, y, "gelu_grad"))


_GELU_TANH_C = math.sqrt(2 / math.pi)


def gelu_tanh(x):
    """phi(x) = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3): GELU's tanh approximation
    (Hendrycks & Gimpel 2016; PyTorch's approximate="tanh")."""
    x = _floats(x, "gelu_tanh")
    c = x.dtype.type(_GELU_TANH_C)
    return x.dtype.type(0.5) * x * (1 + np.tanh(c * (x + x.dtype.type(0.044715) * x * x * x)))


def gelu_tanh_grad(x, y):
    """phi'(x) = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2, t = tanh(u)."""
    x, y = _floats2(x, y, "gelu_tanh_grad")
    c, k = x.dtype.type(_GELU_TANH_C), x.dtype.type(0.044715)
    t = np.tanh(c * (x + k * x * x * x))
    half = x.dtype.type(0.5)
    return half * (1 + t) + half * x * (1 - t * t) * c * (1 + 3 * k * x * x)


def _selu(x):
    return x.dtype.type(SELU_SCALE) * _elu(x, SELU_ALPHA)


def _selu_grad(x, y):
    scale = x.dtype.type(SELU_SCALE)
    return _pick(x > 0, scale, np.minimum(y, 0) + x.dtype.type(SELU_SCALE * SELU_ALPHA), x.dtype)


def selu(x):
    """phi(x) = scale * (x for x > 0, else alpha (exp(x) - 1)), Klambauer et al. 2017."""
    return _selu(_floats(x, "selu"))


def selu_grad(x, y):
    """phi'(x) = scale for x > 0, else y + scale * alpha."""
    return _selu_grad(*_floats2(x, y, "selu_grad"))


# the checked functions, by name (what users and `init.gain_for` call)
ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "tanh": (tanh, tanh_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "elu": (elu, elu_grad),
    "gelu": (gelu, gelu_grad),
    "selu": (selu, selu_grad),
}
