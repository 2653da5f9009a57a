"""Convolution, NCHW (floor 1): two implementations of one formula, and the switch between them.

* `convolution/teaching.py`: the one to read. `conv2d_naive`'s loops, then im2col via
  `sliding_window_view`, one matrix product, and col2im's loop over the kernel offsets.
* `convolution/fast.py`: the same numbers with the same signatures, faster (two memory layouts,
  reused buffers). The layers run it by default.

`use("teaching")` makes every Conv2D layer run the teaching path (`use("fast")` goes back);
`using("teaching")` does so for one `with` block:

    >>> from initlab import convolution
    >>> with convolution.using("teaching"):
    ...     logits = model.forward(x)          # every Conv2D runs convolution/teaching.py

The functions below are where a user's arrays enter: they check them (naming the argument,
what was expected and what was given), then call the implementations, which trust them.
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager

import numpy as np

from ..errors import InvalidValueError, ShapeError, UnknownNameError
from ..validate import as_float_array, as_images, pair, positive_int
from . import fast, teaching
from .fast import CHANNELS_LAST_MIN_CHANNELS, LAYOUTS, release_scratch  # noqa: F401
from .teaching import conv_output_size  # noqa: F401

PATHS = {"fast": fast, "teaching": teaching}
_selected = ["fast"]


def use(path: str) -> None:
    """Select the convolution every Conv2D layer runs from now on: "fast" (the default) or
    "teaching" (convolution/teaching.py, the readable one). Process-wide."""
    if not isinstance(path, str) or path not in PATHS:
        raise UnknownNameError(f"convolution.use: unknown path {path!r}; expected one of {', '.join(PATHS)}")
    _selected[0] = path


@contextmanager
def using(path: str):
    """`use(path)` for the duration of a `with` block, then back to the path before it."""
    before = _selected[0]
    use(path)
    try:
        yield PATHS[path]
    finally:
        _selected[0] = before


def selected():
    """The module of the selected path (`fast` unless `use("teaching")` was called)."""
    return PATHS[_selected[0]]


def path_of(cache):
    """The module whose `conv2d_forward` returned `cache` (its backward must take it)."""
    return fast if isinstance(cache, fast.ConvCache) else teaching


# --------------------------------------------------------------------------- checks at the edge

def output_hw(x_shape, kernel, stride, padding, where):
    """(OH, OW) of a convolution or pooling window over an input of shape x_shape; a ShapeError
    naming `where` when the kernel does not fit in the padded input."""
    _, _, h, w = x_shape
    (kh, kw), (ph, pw) = kernel, padding
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ShapeError(
            f"{where}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input shape {tuple(x_shape)}, padding {padding})"
        )
    return conv_output_size(h, kh, stride[0], ph), conv_output_size(w, kw, stride[1], pw)


def _check_conv_args(x, weight, bias, where):
    """Arrays of one float dtype (the widest float among them, float32 if none is float;
    integers are converted straight to it), with the shapes a convolution needs; returns
    (x, weight, bias)."""
    floats = [a.dtype for a in (x, weight, bias) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    common = np.float64 if any(d == np.float64 for d in floats) else np.float32
    x = as_float_array(x, f"{where} input", finite=False, int_dtype=common)
    weight = as_float_array(weight, f"{where} weight", finite=False, int_dtype=common)
    bias = None if bias is None else as_float_array(bias, f"{where} bias", finite=False, int_dtype=common)
    dtype = np.result_type(x, weight, *(() if bias is None else (bias,)))
    x, weight = x.astype(dtype, copy=False), weight.astype(dtype, copy=False)
    bias = None if bias is None else bias.astype(dtype, copy=False)
    if x.ndim != 4:
        raise ShapeError(f"{where}: expected a 4-D NCHW input, got shape {x.shape}")
    if weight.ndim != 4:
        raise ShapeError(f"{where}: expected a 4-D weight (out, in, kh, kw), got shape {weight.shape}")
    if 0 in weight.shape[2:]:
        raise ShapeError(f"{where}: expected a weight with a kernel of at least 1x1, got shape {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ShapeError(
            f"{where}: the weight expects {weight.shape[1]} input channel(s), "
            f"got an input with {x.shape[1]} (shape {x.shape})"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"{where}: expected bias of shape ({weight.shape[0]},), got {bias.shape}")
    return x, weight, bias


def _grad_y(grad_y, expected, dtype, where):
    """grad_y as a float array of `expected` shape (the forward's output)."""
    grad_y = as_float_array(grad_y, f"{where} grad_y", finite=False, int_dtype=dtype)
    if grad_y.shape != expected:
        raise ShapeError(f"{where}: expected grad_y of shape {expected} (the forward's output), "
                         f"got {grad_y.shape}")
    return grad_y


def _layout(layout, kernel, stride, padding, where):
    """A valid `layout` request (one of LAYOUTS, or None for the fast path's own choice)."""
    if layout is None:
        return None
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise UnknownNameError(
            f"{where}: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)} or None")
    if layout == "channels-last" and not fast.channels_last_fits(kernel, stride, padding):
        raise InvalidValueError(
            f"{where}: the channels-last layout needs stride 1 and padding below the kernel "
            f"size, got kernel {kernel}, stride {stride}, padding {padding}")
    return layout


# --------------------------------------------------------------------------- the public functions

def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation, as in every DL framework), NCHW, by the selected path.

    y[n, o, i, j] = sum_{c, u, v} xpad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v] + bias[o]
    """
    return np.ascontiguousarray(conv2d_forward(x, weight, bias, stride, padding)[0])


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, *, where="conv2d", workspace=None,
                   layout=None):
    """The convolution and the cache its backward needs: (y, cache), y (N, O, OH, OW).

    Runs the selected path (`use`); `layout` (one of LAYOUTS) forces the fast path in that
    memory layout, `workspace` (a dict) is where the fast path keeps its buffers between calls.
    `where` names the caller in error messages.
    """
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    x, weight, bias = _check_conv_args(x, weight, bias, where)
    output_hw(x.shape, weight.shape[2:], stride, padding, where)
    if workspace is not None and not isinstance(workspace, dict):
        raise InvalidValueError(f"{where}: workspace must be a dict or None, got {type(workspace).__name__}")
    layout = _layout(layout, weight.shape[2:], stride, padding, where)
    if layout is not None:
        return fast.conv2d_forward(x, weight, bias, stride, padding, workspace, layout)
    return selected().conv2d_forward(x, weight, bias, stride, padding, workspace)


def conv2d_backward(grad_y, cache, *, need_input_grad=True, where="conv2d_backward"):
    """Gradients (grad_x, grad_weight, grad_bias) from the cache `conv2d_forward` returned
    (by the path that made it); grad_x is None when not needed."""
    if not isinstance(cache, (fast.ConvCache, teaching.ConvCache)):
        raise InvalidValueError(f"{where}: expected the ConvCache conv2d_forward returned, "
                                f"got {type(cache).__name__}")
    n, o, kernel = cache.x_shape[0], cache.weight.shape[0], cache.weight.shape[2:]
    expected = (n, o, *output_hw(cache.x_shape, kernel, cache.stride, cache.padding, where))
    grad_y = _grad_y(grad_y, expected, cache.weight.dtype, where).astype(cache.weight.dtype, copy=False)
    return path_of(cache).conv2d_backward(grad_y, cache, need_input_grad)


def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """The textbook loops (see `teaching.conv2d_naive`), for reading and testing; slow by design."""
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    x, weight, bias = _check_conv_args(x, weight, bias, "conv2d_naive")
    output_hw(x.shape, weight.shape[2:], stride, padding, "conv2d_naive")
    return teaching.conv2d_naive(x, weight, bias, stride, padding)


def conv2d_naive_backward(grad_y, x, weight, stride=1, padding=0):
    """Gradients of `conv2d_naive` by the same loops: (grad_x, grad_weight, grad_bias)."""
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    where = "conv2d_naive_backward"
    x, weight, _ = _check_conv_args(x, weight, None, where)
    expected = (x.shape[0], weight.shape[0], *output_hw(x.shape, weight.shape[2:], stride, padding, where))
    grad_y = _grad_y(grad_y, expected, x.dtype, where)
    return teaching.conv2d_naive_backward(grad_y, x, weight, stride, padding)


def im2col(x, kernel_size, stride=1, padding=0):
    """Every KHxKW patch of the padded input as a column: x (N, C, H, W) -> cols
    (C*KH*KW, N*OH*OW), row index (c, u, v), column index (n, i, j) (see `teaching.im2col`).
    One matrix product W (O, C*KH*KW) @ cols then applies every filter to every patch."""
    x = as_images(x, "im2col input")
    kernel = pair(kernel_size, "kernel_size", minimum=1)
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    output_hw(x.shape, kernel, stride, padding, "im2col")
    return teaching.im2col(x, kernel, stride, padding)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of `im2col`: each column entry added back onto the pixel it came from;
    returns (N, C, H, W)."""
    kernel = pair(kernel_size, "kernel_size", minimum=1)
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    cols = as_float_array(cols, "col2im cols", finite=False)
    if (not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in x_shape)):
        raise ShapeError(f"col2im x_shape: expected 4 ints >= 0, (N, C, H, W), got {x_shape!r}")
    x_shape = tuple(int(d) for d in x_shape)
    n, c, _, _ = x_shape
    oh, ow = output_hw(x_shape, kernel, stride, padding, "col2im")
    expected = (c * kernel[0] * kernel[1], n * oh * ow)
    if cols.shape != expected:
        raise ShapeError(f"col2im: expected cols of shape {expected} for x_shape {x_shape}, got {cols.shape}")
    return teaching.col2im(cols, x_shape, kernel, stride, padding)


def conv_layout(in_channels, out_channels, kernel_size, stride=1, padding=0):
    """The memory layout the fast path picks for a layer (see `fast.layout_for`)."""
    in_channels = positive_int(in_channels, "conv_layout in_channels", minimum=0)
    out_channels = positive_int(out_channels, "conv_layout out_channels", minimum=0)
    kernel = pair(kernel_size, "conv_layout kernel_size", minimum=1)
    stride = pair(stride, "conv_layout stride", minimum=1)
    return fast.layout_for(in_channels, out_channels, kernel, stride, pair(padding, "conv_layout padding"))
