"""Fans and gains: how big a weight's variance must be for its layer (floor 1).

fan_in and fan_out as PyTorch computes them for dense and conv weights, and the gain an
activation needs (PyTorch's table, or computed for any activation by quadrature).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import DTypeError, InvalidValueError, ShapeError, unknown_name
from ..functional import ACTIVATIONS
from ..validate import positive_int, real_number


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
        try:
            values = np.array([float(phi(float(z))) for z in nodes])
        except (TypeError, ValueError):
            raise InvalidValueError(
                f"gain_for: expected the activation to map a float64 array of shape {nodes.shape} "
                f"to numbers of that shape (or a float to a float), got {_returned(phi, nodes)}"
            ) from None
    if not np.all(np.isfinite(values)):
        raise InvalidValueError("gain_for: the activation returned non-finite values on N(0, 1) inputs")
    return values


def _returned(phi, nodes: np.ndarray) -> str:
    """What phi gave for the nodes, for an error message: a type, with a shape if it has one."""
    try:
        out = phi(nodes.copy())
    except Exception as exc:            # noqa: BLE001 - only described, never swallowed silently
        return f"{type(exc).__name__}: {exc}"
    shape = getattr(out, "shape", None) if not isinstance(out, (list, tuple)) else (len(out),)
    return type(out).__name__ + ("" if shape is None else f" of shape {shape}")
