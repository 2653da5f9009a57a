"""Stateless operations besides convolution: pooling, activations and their derivatives,
log-softmax. Convolution has its own module, `convolution`; `conv2d`, `conv2d_naive` and
`im2col` can also be reached from here.

Floor 1: NumPy only. Shapes are NCHW.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .convolution import conv_output_size, output_hw as _output_hw
# docs/architecture.md's "how does a kernel step over the image?" names these here too
from .convolution import conv2d, conv2d_naive, im2col  # noqa: F401
from .convolution.fast import _layout_of, _nchw
from .convolution.teaching import pad as _pad
from .errors import InvalidValueError, ShapeError
from .validate import as_float_array, pair, real_number


# --------------------------------------------------------------------------- pooling
# The public functions take their input through validate.as_float_array (integers compute in
# float32; bool, complex and object arrays are DTypeErrors), then run the `_` kernels.

class PoolCache(NamedTuple):
    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    argmax: np.ndarray | None   # max pooling: the winning offset u*KW + v in each window (uint8/int)


def _pool_args(kernel_size, stride, padding):
    kernel = pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else pair(stride, "stride", minimum=1)
    return kernel, stride, pair(padding, "padding")


def check_pool_input(x_shape, kernel, stride, padding, where, dilation=(1, 1), ceil_mode=False, general=False):
    """A pooling window over an input of shape x_shape, checked where the input enters (the
    public functions below, the pooling layers' entry): a 4-D input, padding at most half the
    kernel (PyTorch's rule), and at least one window (`general`: the options path's sizes)."""
    if len(x_shape) != 4:
        raise ShapeError(f"{where}: expected a 4-D NCHW input, got shape {tuple(x_shape)}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ShapeError(f"{where}: padding {padding} must be at most half the kernel {kernel}")
    if not general:
        _output_hw(x_shape, kernel, stride, padding, where)
        return
    out = [pool_output_size(size, k, s, p, d, ceil_mode)
           for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation)]
    if min(out) < 1:
        raise ShapeError(f"{where}: input {tuple(x_shape[2:])} is smaller than the dilated kernel "
                         f"{tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))} with padding {padding}")


def _pool_offsets(x, kernel, stride, padding, pad_value):
    """For each kernel offset (u, v), the strided view xpad[:, :, u + sh*i, v + sw*j] of the
    input over all windows at once: KH*KW views of shape (N, C, OH, OW).

    Pooling then reduces these views elementwise, which is much faster than reducing a
    (N, C, OH, OW, KH, KW) window view along its short last axes.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = conv_output_size(x.shape[2], kh, sh, ph), conv_output_size(x.shape[3], kw, sw, pw)
    xp = _pad(x, padding, pad_value)
    return [xp[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] for u in range(kh) for v in range(kw)]


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, *, where="max_pool2d"):
    """y[n, c, i, j] = max over the window at (i*sh, j*sw) of the (-inf)-padded input.

    Returns (y, cache); stride defaults to the kernel size, as in PyTorch. The cache records
    the first offset holding the maximum (PyTorch's choice among ties); a window whose every
    input is -inf points at its first input position, never at the padding.
    """
    x = as_float_array(x, f"{where} input", finite=False)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    check_pool_input(x.shape, kernel, stride, padding, where)
    return _max_pool2d_forward(x, kernel, stride, padding)


def _max_pool2d_forward(x, kernel, stride, padding):
    """`max_pool2d_forward` for a float32/float64 ndarray x and checked pairs."""
    views = _pool_offsets(x, kernel, stride, padding, -np.inf)
    index_type = np.uint8 if len(views) < 256 else np.int32
    y, argmax = _max_and_first_argmax(views, 0, index_type)
    if np.ndim(argmax) == 0:    # a 1x1 window: every position wins its own window
        argmax = np.zeros(y.shape, index_type)
        y = y.copy()
    elif padding != (0, 0):
        _argmax_off_padding(y, argmax, kernel, stride, padding)
    return y, PoolCache(x.shape, kernel, stride, padding, argmax)


def _max_and_first_argmax(views, first, index_type):
    """(max, index of the first view holding it) over consecutive views, by a pairwise
    tournament: each merge keeps the left (earlier) side on ties. ~4x faster than reducing a
    stacked copy along its short first axis."""
    if len(views) == 1:
        return views[0], index_type(first)
    half = len(views) // 2
    left, left_index = _max_and_first_argmax(views[:half], first, index_type)
    right, right_index = _max_and_first_argmax(views[half:], first + half, index_type)
    right_wins = (right > left).astype(index_type)
    # index = right where it wins, else left (np.where is ~50x slower than this arithmetic here)
    return np.maximum(left, right), left_index + right_wins * (right_index - left_index)


def _argmax_off_padding(y, argmax, kernel, stride, padding):
    """Point each window whose maximum is -inf at its first input position (in place).

    Such a window holds only -inf inputs, which tie with the -inf padding; the tournament's
    first offset may be a padding one, and the gradient would vanish into the padding. PyTorch
    sends it to the window's first input position, row u0 = max(ph - i*sh, 0), column
    v0 = max(pw - j*sw, 0), and so does this. Costs one pass over y, and only with padding.
    """
    empty = y == -np.inf
    if not empty.any():
        return
    (_, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    _, _, oh, ow = y.shape
    u0 = np.maximum(ph - sh * np.arange(oh), 0)
    v0 = np.maximum(pw - sw * np.arange(ow), 0)
    first = (u0[:, None] * kw + v0[None, :]).astype(argmax.dtype)     # (OH, OW)
    argmax[empty] = np.broadcast_to(first, y.shape)[empty]


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling, NCHW (see `max_pool2d_forward`)."""
    return max_pool2d_forward(x, kernel_size, stride, padding)[0]


def _scatter_to_windows(cache: PoolCache, grad_y, contribution):
    """Sum per-offset window contributions back onto the input: a loop over the KH*KW offsets.
    The gradient is laid out in memory as grad_y is (e.g. batch-last after a convolution)."""
    n, c, h, w = cache.x_shape
    (kh, kw), (sh, sw), (ph, pw) = cache.kernel, cache.stride, cache.padding
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    # windows that tile the input exactly (2x2 stride 2 on an even size): each pixel gets one
    # contribution, so it is assigned into uninitialized memory instead of added onto zeros
    tiles = (sh, sw) == (kh, kw) and (ph, pw) == (0, 0) and (h, w) == (oh * kh, ow * kw)
    layout = _layout_of(grad_y)
    sizes = dict(zip("NCHW", (n, c, h + 2 * ph, w + 2 * pw)))
    grad_xp = _nchw((np.empty if tiles else np.zeros)([sizes[a] for a in layout], grad_y.dtype), layout)
    for u in range(kh):
        for v in range(kw):
            window = grad_xp[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw]
            if tiles:
                window[...] = contribution(u * kw + v)
            else:
                window += contribution(u * kw + v)
    return grad_xp[:, :, ph:ph + h, pw:pw + w]


def _pool_grad_output(grad_y, cache, kind, where):
    """Check a public pooling backward's arguments: `cache` from `<kind>_pool2d_forward`, and
    grad_y of that forward's output shape; returns grad_y as a float array."""
    if not isinstance(cache, PoolCache) or (cache.argmax is None) != (kind == "avg"):
        raise InvalidValueError(f"{where}: expected the cache {kind}_pool2d_forward returned, "
                                f"got {type(cache).__name__}")
    n, c, h, w = cache.x_shape
    (kh, kw), (sh, sw), (ph, pw) = cache.kernel, cache.stride, cache.padding
    expected = (n, c, conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw))
    grad_y = as_float_array(grad_y, f"{where} grad_y", finite=False)
    if grad_y.shape != expected:
        raise ShapeError(f"{where}: expected grad_y of shape {expected} (the forward's output), "
                         f"got {grad_y.shape}")
    return grad_y


def max_pool2d_backward(grad_y, cache: PoolCache):
    """Each window's gradient goes to the (first) position that held its maximum."""
    return _max_pool2d_backward(_pool_grad_output(grad_y, cache, "max", "max_pool2d_backward"), cache)


def _max_pool2d_backward(grad_y, cache: PoolCache):
    return _scatter_to_windows(cache, grad_y, lambda k: grad_y * (cache.argmax == k))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, *, where="avg_pool2d"):
    """y[n, c, i, j] = mean of the window (zero padding counts, as PyTorch's default)."""
    x = as_float_array(x, f"{where} input", finite=False)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    check_pool_input(x.shape, kernel, stride, padding, where)
    return _avg_pool2d_forward(x, kernel, stride, padding)


def _avg_pool2d_forward(x, kernel, stride, padding):
    """`avg_pool2d_forward` for a float32/float64 ndarray x and checked pairs."""
    views = _pool_offsets(x, kernel, stride, padding, 0.0)
    y = views[0].copy(order="K")     # keeps the input's memory order
    for view in views[1:]:
        y += view
    y *= y.dtype.type(1.0 / len(views))
    return y, PoolCache(x.shape, kernel, stride, padding, None)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling, NCHW (see `avg_pool2d_forward`)."""
    return avg_pool2d_forward(x, kernel_size, stride, padding)[0]


def avg_pool2d_backward(grad_y, cache: PoolCache):
    """Each window spreads its gradient evenly: grad / (KH*KW) to every position it averaged."""
    return _avg_pool2d_backward(_pool_grad_output(grad_y, cache, "avg", "avg_pool2d_backward"), cache)


def _avg_pool2d_backward(grad_y, cache: PoolCache):
    share = grad_y * grad_y.dtype.type(1.0 / (cache.kernel[0] * cache.kernel[1]))
    return _scatter_to_windows(cache, grad_y, lambda k: share)


# --------------------------------------------------------------------------- pooling options
# PyTorch's ceil_mode, dilation and return_indices (max), count_include_pad and divisor_override
# (avg): a general path beside the one above, which the default options keep (and its speed).

class PoolOptionsCache(NamedTuple):
    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out_hw: tuple
    argmax: np.ndarray | None    # max pooling: the winning offset u*KW + v in each window
    divisor: np.ndarray | None   # avg pooling: each window's divisor, shape (OH, OW)


def pool_output_size(size, kernel, stride, padding, dilation=1, ceil_mode=False) -> int:
    """PyTorch's: floor((size + 2p - d(k - 1) - 1) / s) + 1 (ceil with ceil_mode, where the last
    window must still start inside the input or its left padding)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _option_windows(x, kernel, stride, padding, dilation, ceil_mode, pad_value):
    """The KH*KW strided views xpad[:, :, u*dh + sh*i, v*dw + sw*j] (each (N, C, OH, OW)) of the
    input padded with pad_value, on the right also as far as ceil_mode's last windows reach."""
    out = tuple(pool_output_size(size, k, s, p, d, ceil_mode)
                for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    extra = [max((o - 1) * s + d * (k - 1) + 1 - (size + 2 * p), 0)
             for o, s, d, k, size, p in zip(out, stride, dilation, kernel, x.shape[2:], padding)]
    (ph, pw), (oh, ow), (sh, sw), (dh, dw) = padding, out, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1])), constant_values=pad_value)
    views = [xp[:, :, u * dh:u * dh + sh * (oh - 1) + 1:sh, v * dw:v * dw + sw * (ow - 1) + 1:sw]
             for u in range(kernel[0]) for v in range(kernel[1])]
    return views, out, xp.shape


def _first_inside(out, size, kernel, stride, padding, dilation):
    """Per output position along one axis, the first kernel offset whose input lies inside."""
    pos = stride * np.arange(out)[:, None] + dilation * np.arange(kernel)[None, :] - padding
    return np.argmax((pos >= 0) & (pos < size), axis=1)


def max_pool2d_options_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                               *, where="max_pool2d"):
    """Max pooling with PyTorch's dilation and ceil_mode: y[n, c, i, j] = max over u, v of
    xpad[n, c, i*sh + u*dh, j*sw + v*dw] (xpad padded with -inf). Returns (y, cache)."""
    x = as_float_array(x, f"{where} input", finite=False)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    dilation = pair(dilation, "dilation", minimum=1)
    check_pool_input(x.shape, kernel, stride, padding, where, dilation, ceil_mode, general=True)
    return _max_pool2d_options_forward(x, kernel, stride, padding, dilation, ceil_mode)


def _max_pool2d_options_forward(x, kernel, stride, padding, dilation, ceil_mode):
    """`max_pool2d_options_forward` for a float32/float64 ndarray x and checked options."""
    views, out, _ = _option_windows(x, kernel, stride, padding, dilation, ceil_mode, -np.inf)
    index_type = np.uint8 if len(views) < 256 else np.int32
    y, argmax = _max_and_first_argmax(views, 0, index_type)
    y = np.array(y)                      # a 1x1 kernel returns the view itself
    argmax = np.array(np.broadcast_to(argmax, y.shape), dtype=index_type)
    empty = y == -np.inf                 # only -inf inputs: point at the first inside, not the padding
    if empty.any():
        u0, v0 = (_first_inside(o, size, k, s, p, d) for o, size, k, s, p, d in
                  zip(out, x.shape[2:], kernel, stride, padding, dilation))
        first = (u0[:, None] * kernel[1] + v0[None, :]).astype(index_type)
        argmax[empty] = np.broadcast_to(first, y.shape)[empty]
    return y, PoolOptionsCache(x.shape, kernel, stride, padding, dilation, out, argmax, None)


def max_pool2d_indices(cache: PoolOptionsCache) -> np.ndarray:
    """PyTorch's return_indices: each maximum's flat position row * W + col in its input plane."""
    (_, _, _, w), (_, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = cache[:6]
    u, v = np.divmod(cache.argmax.astype(np.int64), kw)
    rows = sh * np.arange(oh)[:, None] + dh * u - ph
    cols = sw * np.arange(ow)[None, :] + dw * v - pw
    return rows * w + cols


def avg_pool2d_options_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                               divisor_override=None, *, where="avg_pool2d"):
    """Average pooling with PyTorch's options: y = (sum of the zero-padded window) / divisor, the
    divisor being divisor_override, or the window's size clipped to the padded input
    (count_include_pad), or the number of input pixels it covers. Returns (y, cache)."""
    x = as_float_array(x, f"{where} input", finite=False)
    kernel, stride, padding = _pool_args(kernel_size, stride, padding)
    check_pool_input(x.shape, kernel, stride, padding, where, (1, 1), ceil_mode, general=True)
    return _avg_pool2d_options_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _avg_pool2d_options_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """`avg_pool2d_options_forward` for a float32/float64 ndarray x and checked options."""
    views, out, _ = _option_windows(x, kernel, stride, padding, (1, 1), ceil_mode, 0.0)
    counts = []
    for o, size, k, s, p in zip(out, x.shape[2:], kernel, stride, padding):
        start = s * np.arange(o) - p
        end = np.minimum(start + k, size + p)
        counts.append((end - start) if count_include_pad else (np.minimum(end, size) - np.maximum(start, 0)))
    divisor = (np.full(out, float(divisor_override)) if divisor_override is not None
               else np.outer(counts[0], counts[1]).astype(np.float64))
    y = views[0].copy()
    for view in views[1:]:
        y += view
    y /= divisor.astype(y.dtype)
    return y, PoolOptionsCache(x.shape, kernel, stride, padding, (1, 1), out, None, divisor)


def pool2d_options_backward(grad_y, cache: PoolOptionsCache):
    """The gradient of either forward above: max sends each window's gradient to its argmax,
    avg spreads grad / divisor over the window."""
    n, c, h, w = cache.x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = cache.kernel, cache.stride, cache.padding, \
        cache.dilation, cache.out_hw
    rows = max(h + 2 * ph, (oh - 1) * sh + dh * (kh - 1) + 1)
    cols = max(w + 2 * pw, (ow - 1) * sw + dw * (kw - 1) + 1)
    grad_xp = np.zeros((n, c, rows, cols), grad_y.dtype)
    share = None if cache.divisor is None else grad_y / cache.divisor.astype(grad_y.dtype)
    for u in range(kh):
        for v in range(kw):
            window = grad_xp[:, :, u * dh:u * dh + sh * (oh - 1) + 1:sh, v * dw:v * dw + sw * (ow - 1) + 1:sw]
            window += share if share is not None else grad_y * (cache.argmax == u * kw + v)
    return grad_xp[:, :, ph:ph + h, pw:pw + w]


# --------------------------------------------------------------------------- activations
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


# --------------------------------------------------------------------------- softmax

def _logits(logits, axis, who):
    """(logits as a float array, axis as a tuple of distinct axes) with at least one entry along
    them; `axis` an int in [-ndim, ndim), a tuple of them, or None (all axes), as NumPy's
    reductions take."""
    logits = as_float_array(logits, f"{who} logits", finite=False)
    ndim = logits.ndim
    try:
        if isinstance(axis, (bool, list)):
            raise TypeError
        axes = tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)
    except (TypeError, ValueError, np.exceptions.AxisError):   # ValueError: an axis repeated
        raise InvalidValueError(f"{who} axis: expected an integer in [{-ndim}, {ndim}), a tuple of them "
                                f"or None for logits of shape {logits.shape}, got {axis!r}") from None
    if any(logits.shape[a] == 0 for a in axes):
        raise ShapeError(f"{who}: expected at least one logit along axis {axis}, got shape {logits.shape}")
    return logits, axes


def log_softmax(logits, axis=-1):
    """log softmax(z)_k = z_k - max(z) - log(sum_j exp(z_j - max(z))): no overflow for large z."""
    logits, axis = _logits(logits, axis, "log_softmax")
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits, axis=-1):
    """softmax(z)_k = exp(z_k - max z) / sum_j exp(z_j - max z)."""
    logits, axis = _logits(logits, axis, "softmax")
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
