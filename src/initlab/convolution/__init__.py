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

from ..errors import InvalidValueError, ShapeError, UnknownNameError, unknown_name
from ..validate import as_float_array, as_images, pair, positive_int
from . import fast, teaching
from .fast import CHANNELS_LAST_MIN_CHANNELS, LAYOUTS, release_scratch  # noqa: F401
from .teaching import NUMPY_PAD_MODES, conv_output_size  # noqa: F401

PADDING_MODES = tuple(NUMPY_PAD_MODES)     # PyTorch's padding_mode choices

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

def output_hw(x_shape, kernel, stride, padding, where, dilation=(1, 1), padding_mode="zeros"):
    """(OH, OW) of a convolution or pooling window over an input of shape x_shape; a ShapeError
    naming `where` when the (dilated) kernel does not fit in the padded input, or when a
    reflect/circular border is wider than the input allows (as PyTorch refuses)."""
    _, _, h, w = x_shape
    (kh, kw), (dh, dw) = kernel, dilation
    sides = teaching._sides(padding)
    (top, bottom), (left, right) = sides
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if span_h > h + top + bottom or span_w > w + left + right:
        dilated = "" if dilation == (1, 1) else f" (dilation {tuple(dilation)}: it spans {span_h}x{span_w})"
        raise ShapeError(
            f"{where}: kernel {kh}x{kw}{dilated} is larger than the padded input "
            f"{h + top + bottom}x{w + left + right} (input shape {tuple(x_shape)}, padding {padding})"
        )
    if padding_mode in ("reflect", "circular"):
        widest = max(top, bottom), max(left, right)
        allowed = (h - 1, w - 1) if padding_mode == "reflect" else (h, w)
        if widest[0] > allowed[0] or widest[1] > allowed[1]:
            rule = "smaller than" if padding_mode == "reflect" else "at most"
            raise ShapeError(
                f"{where}: padding_mode={padding_mode!r} needs a padding {rule} the input's height "
                f"and width, got padding {padding} for input shape {tuple(x_shape)}")
    return (conv_output_size(h, kh, stride[0], sides[0], dh),
            conv_output_size(w, kw, stride[1], sides[1], dw))


def conv_options(kernel, stride, padding, dilation, groups, padding_mode, where):
    """PyTorch's Conv2d options checked and normalized: (stride, padding, dilation, groups,
    padding_mode). padding: an int, a pair, "valid" (0) or "same" (stride 1 only, as in
    PyTorch; d (k - 1) split with the larger half after), returned as (ph, pw) when both sides
    are equal, else ((top, bottom), (left, right))."""
    stride = pair(stride, f"{where} stride", minimum=1)
    dilation = pair(dilation, f"{where} dilation", minimum=1)
    groups = positive_int(groups, f"{where} groups")
    if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
        raise unknown_name(f"{where} padding_mode", padding_mode, PADDING_MODES)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise InvalidValueError(
                    f"{where} padding: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
            sides = teaching.same_padding(kernel, dilation)
            padding = tuple(a for a, _ in sides) if all(a == b for a, b in sides) else sides
        else:
            raise InvalidValueError(
                f"{where} padding: expected an int, a pair of ints, 'same' or 'valid', got {padding!r}")
    else:
        padding = pair(padding, f"{where} padding")
    return stride, padding, dilation, groups, padding_mode


def check_groups(in_channels, out_channels, groups, where):
    """in_channels and out_channels both divisible by groups (PyTorch's rule)."""
    for role, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            raise InvalidValueError(
                f"{where} groups: {role} = {channels} is not divisible by groups={groups}")


def _check_conv_args(x, weight, bias, where, groups=1):
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
    if x.shape[1] != weight.shape[1] * groups:
        check_groups(x.shape[1], weight.shape[0], groups, where)
        per_group = "" if groups == 1 else f" ({weight.shape[1]} per group x groups={groups})"
        raise ShapeError(
            f"{where}: the weight expects {weight.shape[1] * groups} input channel(s){per_group}, "
            f"got an input with {x.shape[1]} (shape {x.shape})"
        )
    check_groups(x.shape[1], weight.shape[0], groups, where)
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

def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros"):
    """2-D convolution (cross-correlation, as in every DL framework), NCHW, by the selected path.

    y[n, o, i, j] = sum_{c, u, v} xpad[n, g*C/G + c, i*sh + u*dh, j*sw + v*dw] * weight[o, c, u, v] + bias[o]

    with PyTorch's arguments: padding an int, a pair, "same" or "valid"; dilation (dh, dw);
    groups G (weight (O, C/G, KH, KW), g = o // (O/G)); padding_mode zeros, reflect, replicate
    or circular (torch.nn.Conv2d's).
    """
    return np.ascontiguousarray(conv2d_forward(x, weight, bias, stride, padding, dilation, groups,
                                               padding_mode=padding_mode)[0])


def _options_for(x, weight, bias, stride, padding, dilation, groups, padding_mode, where):
    """The public functions' shared checks: (x, weight, bias, stride, padding, dilation,
    groups, padding_mode, (OH, OW))."""
    weight_shape = np.shape(weight)
    kernel = weight_shape[2:] if len(weight_shape) == 4 else (1, 1)
    stride, padding, dilation, groups, padding_mode = conv_options(
        kernel, stride, padding, dilation, groups, padding_mode, where)
    x, weight, bias = _check_conv_args(x, weight, bias, where, groups)
    out_hw = output_hw(x.shape, weight.shape[2:], stride, padding, where, dilation, padding_mode)
    return x, weight, bias, stride, padding, dilation, groups, padding_mode, out_hw


def _default_options(padding, dilation, groups, padding_mode):
    return dilation == (1, 1) and groups == 1 and padding_mode == "zeros" and np.isscalar(padding[0])


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                   padding_mode="zeros", where="conv2d", workspace=None, layout=None):
    """The convolution and the cache its backward needs: (y, cache), y (N, O, OH, OW).

    Runs the selected path (`use`); `layout` (one of LAYOUTS) forces the fast path in that
    memory layout, `workspace` (a dict) is where the fast path keeps its buffers between calls.
    `where` names the caller in error messages. The options are `conv2d`'s.
    """
    x, weight, bias, stride, padding, dilation, groups, padding_mode, _ = _options_for(
        x, weight, bias, stride, padding, dilation, groups, padding_mode, where)
    if workspace is not None and not isinstance(workspace, dict):
        raise InvalidValueError(f"{where}: workspace must be a dict or None, got {type(workspace).__name__}")
    options = dict(dilation=dilation, groups=groups, padding_mode=padding_mode)
    if layout is not None and not _default_options(padding, dilation, groups, padding_mode):
        raise InvalidValueError(
            f"{where}: layout needs the default options (equal int padding, dilation 1, groups 1, "
            f"padding_mode 'zeros'), got padding {padding}, {options}")
    layout = _layout(layout, weight.shape[2:], stride, padding, where)
    if layout is not None:
        return fast.conv2d_forward(x, weight, bias, stride, padding, workspace, layout)
    return selected().conv2d_forward(x, weight, bias, stride, padding, workspace, **options)


def conv2d_backward(grad_y, cache, *, need_input_grad=True, where="conv2d_backward"):
    """Gradients (grad_x, grad_weight, grad_bias) from the cache `conv2d_forward` returned
    (by the path that made it); grad_x is None when not needed."""
    if not isinstance(cache, (fast.ConvCache, teaching.ConvCache)):
        raise InvalidValueError(f"{where}: expected the ConvCache conv2d_forward returned, "
                                f"got {type(cache).__name__}")
    n, o, kernel = cache.x_shape[0], cache.weight.shape[0], cache.weight.shape[2:]
    options = (getattr(cache, "dilation", (1, 1)), getattr(cache, "padding_mode", "zeros"))
    expected = (n, o, *output_hw(cache.x_shape, kernel, cache.stride, cache.padding, where, *options))
    grad_y = _grad_y(grad_y, expected, cache.weight.dtype, where).astype(cache.weight.dtype, copy=False)
    return path_of(cache).conv2d_backward(grad_y, cache, need_input_grad)


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, padding_mode="zeros"):
    """The textbook loops (see `teaching.conv2d_naive`), for reading and testing; slow by design.
    The options are `conv2d`'s."""
    x, weight, bias, stride, padding, dilation, groups, padding_mode, _ = _options_for(
        x, weight, bias, stride, padding, dilation, groups, padding_mode, "conv2d_naive")
    return teaching.conv2d_naive(x, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d_naive_backward(grad_y, x, weight, stride=1, padding=0, dilation=1, groups=1, *,
                          padding_mode="zeros"):
    """Gradients of `conv2d_naive` by the same loops: (grad_x, grad_weight, grad_bias)."""
    where = "conv2d_naive_backward"
    x, weight, _, stride, padding, dilation, groups, padding_mode, out_hw = _options_for(
        x, weight, None, stride, padding, dilation, groups, padding_mode, where)
    grad_y = _grad_y(grad_y, (x.shape[0], weight.shape[0], *out_hw), x.dtype, where)
    return teaching.conv2d_naive_backward(grad_y, x, weight, stride, padding, dilation, groups, padding_mode)


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
