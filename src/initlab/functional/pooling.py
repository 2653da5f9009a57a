"""Pooling: max and average over KH*KW windows, forward and backward, with PyTorch's options
(ceil_mode, dilation, return_indices, count_include_pad, divisor_override) on a general path
beside the default one.

Floor 1: NumPy only. Shapes are NCHW.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..convolution import conv_output_size, output_hw as _output_hw
from ..convolution.fast import _layout_of, _nchw
from ..convolution.teaching import pad as _pad
from ..errors import InvalidValueError, ShapeError
from ..validate import as_float_array, pair


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
