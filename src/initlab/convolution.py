"""Convolution, NCHW: the naive loops and the fast im2col version, forward and backward.

Floor 1: NumPy only. Shapes are NCHW; conv weights are (out_channels, in_channels, kh, kw).

Two convolutions compute the same thing:

* `conv2d_naive` is the textbook picture: the kernel steps over the padded image, and each
  output pixel is the sum of the elementwise products of the kernel and the patch under it.
* `conv2d` is the fast one: every patch is copied once into a column matrix ("im2col", through
  `sliding_window_view`), and one matrix product applies every filter to every patch. It works
  in one of two memory layouts, batch-last (C, H, W, N) for narrow layers and channels-last
  (N, H, W, C) for wide ones (`conv_layout`), and hands results on as NCHW views of the layout
  it used.

The tests hold the fast convolution to the naive one and to `scipy.signal.correlate`.
"""
from __future__ import annotations

import numbers
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import InvalidValueError, ShapeError, UnknownNameError
from .validate import as_float_array, as_images, pair, positive_int


# --------------------------------------------------------------------------- geometry

def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def _output_hw(x_shape, kernel, stride, padding, where):
    _, _, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ShapeError(
            f"{where}: kernel {kh}x{kw} is larger than the padded input "
            f"{h + 2 * ph}x{w + 2 * pw} (input shape {tuple(x_shape)}, padding {padding})"
        )
    return conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)


def _pad(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


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


# --------------------------------------------------------------------------- naive convolution

def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """y[n, o, i, j] = sum_{c, u, v} xpad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v] + bias[o].

    Plain loops, for reading and for testing the fast version; slow by design.
    """
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    x, weight, bias = _check_conv_args(x, weight, bias, "conv2d_naive")
    n_batch, _, _, _ = x.shape
    out_channels, _, kh, kw = weight.shape
    oh, ow = _output_hw(x.shape, (kh, kw), stride, padding, "conv2d_naive")
    xp = _pad(x, padding)
    y = np.zeros((n_batch, out_channels, oh, ow), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    top, left = i * stride[0], j * stride[1]
                    patch = xp[n, :, top:top + kh, left:left + kw]
                    y[n, o, i, j] = np.sum(patch * weight[o])
            if bias is not None:
                y[n, o] += bias[o]
    return y


def conv2d_naive_backward(grad_y, x, weight, stride=1, padding=0):
    """Gradients of `conv2d_naive` by the same loops: each output spreads its gradient back
    over the patch it read (to the input) and over the kernel (to the weight).

    Returns (grad_x, grad_weight, grad_bias).
    """
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    where = "conv2d_naive_backward"
    x, weight, _ = _check_conv_args(x, weight, None, where)
    out_channels, _, kh, kw = weight.shape
    expected = (x.shape[0], out_channels, *_output_hw(x.shape, (kh, kw), stride, padding, where))
    grad_y = as_float_array(grad_y, f"{where} grad_y", finite=False, int_dtype=x.dtype)
    if grad_y.shape != expected:
        raise ShapeError(f"{where}: expected grad_y of shape {expected} (the forward's output), "
                         f"got {grad_y.shape}")
    n_batch, _, oh, ow = grad_y.shape
    xp = _pad(x, padding)
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(weight)
    for n in range(n_batch):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    top, left = i * stride[0], j * stride[1]
                    g = grad_y[n, o, i, j]
                    grad_xp[n, :, top:top + kh, left:left + kw] += g * weight[o]
                    grad_w[o] += g * xp[n, :, top:top + kh, left:left + kw]
    ph, pw = padding
    grad_x = grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return grad_x, grad_w, grad_y.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------- fast convolution

class ConvCache(NamedTuple):
    """What the fast backward needs from the forward pass."""
    x_shape: tuple
    cols: np.ndarray        # batch-last (C*KH*KW, OH*OW*N) or channels-last (N*OH*OW, KH*KW*C)
    weight: np.ndarray
    stride: tuple
    padding: tuple
    channels_last: bool = False


_SCRATCH = object()     # the `workspace` of data used only within one call (see _buffer)
SCRATCH_BYTES = 256 * 2**20   # what one thread's shared scratch buffers may keep between calls
_thread = threading.local()


def _buffer(workspace, name, shape, dtype, zeros=False):
    """A work array, from `workspace` (reused while shape and dtype match), or a fresh one.

    `workspace` is a layer's dict, for what its backward needs from its forward (kept until the
    layer's next step, then overwritten); None, for a fresh array; or _SCRATCH, for data used
    only within one call (a padded copy, a column matrix between its im2col and its product):
    shared by every convolution in the thread, so the layers of a deep net all write into the
    same cache-warm memory. Reusing buffers also avoids mapping fresh pages every step. A
    zeroed buffer keeps its zero border as long as only its interior is written.
    """
    if workspace is None:
        return np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    if workspace is _SCRATCH:
        return _scratch(name, shape, dtype, zeros)
    buf = workspace.get(name)
    if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
        buf = workspace[name] = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
    return buf


def _scratch(name, shape, dtype, zeros):
    """This thread's buffer for (name, shape, dtype): one per geometry, since the layers of a
    net alternate between a few. At most SCRATCH_BYTES are kept, least recently used out first,
    and a larger array is never kept. (An evicted buffer a caller still holds stays valid: it is
    just not handed out again.)"""
    if not hasattr(_thread, "scratch"):
        _thread.scratch, _thread.scratch_bytes = OrderedDict(), 0
    key = (name, tuple(shape), np.dtype(dtype))
    buf = _thread.scratch.pop(key, None)
    if buf is None:
        buf = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
        if buf.nbytes > SCRATCH_BYTES:
            return buf
        _thread.scratch_bytes += buf.nbytes
    _thread.scratch[key] = buf          # the most recently used last
    while _thread.scratch_bytes > SCRATCH_BYTES:
        _thread.scratch_bytes -= _thread.scratch.popitem(last=False)[1].nbytes
    return buf


def release_scratch():
    """Free the fast convolution's shared scratch buffers of the calling thread (up to
    SCRATCH_BYTES, kept between calls so that every step reuses them)."""
    _thread.scratch, _thread.scratch_bytes = OrderedDict(), 0


# Results (y, grad_x) are fresh arrays, never views of the scratch buffers (the next call would
# overwrite a result the caller still holds). They stay in the layout their path computed them
# in and are returned as (N, C, H, W) views of it: numbers are NCHW to every caller, but the next
# layer's copy into its own layout is then often a straight contiguous copy (ReLU, BatchNorm
# and pooling without padding keep their input's memory order), which spares two transposing
# copies per convolution.

def _nchw(array, layout):
    """A view of `array`, whose axes are in `layout` order (e.g. "CHWN"), as (N, C, H, W)."""
    return array.transpose(*(layout.index(axis) for axis in "NCHW"))


def _layout_of(x):
    """The memory order of an (N, C, H, W) array's axes, outermost first, e.g. "NCHW"."""
    return "".join(sorted("NCHW", key=lambda axis: -x.strides["NCHW".index(axis)]))


def _in_layout(x, layout, name, padding=(0, 0)):
    """x (N, C, H, W) as a C-contiguous array with axes in `layout` order (e.g. "CHWN") and a
    zero border of `padding` around H and W: a view when x is already laid out that way and no
    border is asked for (the previous layer's output usually is), else a scratch copy."""
    view = x.transpose(*("NCHW".index(axis) for axis in layout))
    ph, pw = padding
    if (ph, pw) == (0, 0) and view.flags.c_contiguous:
        return view
    n, c, h, w = x.shape
    sizes = {"N": n, "C": c, "H": h + 2 * ph, "W": w + 2 * pw}
    # keyed by padding: the zero border a reused buffer keeps is only right for the same padding
    shape = [sizes[axis] for axis in layout]
    buf = _buffer(_SCRATCH, f"{name}_{layout}_pad{ph}x{pw}", shape, x.dtype, zeros=(ph, pw) != (0, 0))
    interior = {"H": slice(ph, ph + h), "W": slice(pw, pw + w)}
    inside = buf[tuple(interior.get(axis, slice(None)) for axis in layout)]
    if layout.endswith("C"):
        _copy_to_channels_last(inside, view)
    else:
        inside[...] = view
    return buf


_TRANSPOSE_BLOCK = 16   # channels per NCHW -> NHWC copy: 2x faster than one whole-array copy


def _copy_to_channels_last(dst, src):
    """dst[...] = src for a destination whose innermost axis is the channels: in blocks of
    channels when they are not src's innermost axis too (a whole NCHW image read 4 KiB apart,
    channel by channel, aliases in the cache)."""
    if src.strides[-1] == src.itemsize:
        dst[...] = src
        return
    for c0 in range(0, dst.shape[-1], _TRANSPOSE_BLOCK):
        dst[..., c0:c0 + _TRANSPOSE_BLOCK] = src[..., c0:c0 + _TRANSPOSE_BLOCK]


# The fast path works in a "batch-last" layout, (C, H, W, N): the batch index is innermost, so
# every copy in im2col and every addition in col2im moves runs of N contiguous numbers instead
# of runs of one image row (often 8-28 numbers). Measured against a (C, N, H, W) layout it is
# 1.3-2.5x faster on small layers (LeNet's, 8x8 digits) and within 3% on a 64-channel 32x32 one.

def _im2col_batch_last(xl, kernel, stride, out_hw, workspace=None):
    """Padded (C, Hp, Wp, N) -> cols (C*KH*KW, OH*OW*N), through `sliding_window_view`:
    cols[(c, u, v), (i, j, n)] = xpad[n, c, i*sh + u, j*sw + v]."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    c, n = xl.shape[0], xl.shape[3]
    windows = sliding_window_view(xl, (kh, kw), axis=(1, 2))[:, :sh * oh:sh, :sw * ow:sw]
    cols = _buffer(workspace, "cols", (c, kh, kw, oh, ow, n), xl.dtype)
    cols[...] = windows.transpose(0, 4, 5, 1, 2, 3)      # (C, KH, KW, OH, OW, N)
    return cols.reshape(c * kh * kw, oh * ow * n)


def _col2im_batch_last(cols, x_shape, kernel, stride, padding):
    """The adjoint of `_im2col_batch_last`, back to NCHW: a loop over the KH*KW kernel offsets,
    each adding one strided slice into the padded (C, Hp, Wp, N) gradient (never `np.add.at`)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    cols = cols.reshape(c, kh, kw, oh, ow, n)
    grad = np.zeros((c, h + 2 * ph, w + 2 * pw, n), cols.dtype)
    for u in range(kh):
        for v in range(kw):
            grad[:, u:u + sh * oh:sh, v:v + sw * ow:sw, :] += cols[:, u, v]
    return _nchw(grad[:, ph:ph + h, pw:pw + w, :], "CHWN")


# Wide layers take a second, "channels-last" layout, (N, H, W, C), as oneDNN does. There the
# columns are (N*OH*OW, KH*KW*C), one patch per row, and for a fixed kernel row the (KW, C)
# part of a patch is one contiguous run of the padded image, so im2col copies runs of KW*C
# numbers; every matrix product has the long N*OH*OW axis first, the orientation in which
# OpenBLAS's AVX-512 kernels ran 1.5-2x faster here; and the input gradient is a convolution of
# the padded output gradient with the flipped kernel, which needs no col2im scatter. With those
# kernels it pays off (0.5-1.0x the batch-last time, `python -m bench.layouts`) when the input
# has at least 16 channels, so that the copied runs are long, and no more output channels than
# input ones, since the input gradient's im2col copies KH*KW*O numbers per pixel; LeNet's
# layers ran 1.9-2.7x slower this way and stay batch-last. With OpenBLAS's AVX2 kernels the two
# paths were within 6% of each other on wide layers, and channels-last still won on 8x8 ones.

CHANNELS_LAST_MIN_CHANNELS = 16
LAYOUTS = ("batch-last", "channels-last")


def _channels_last_fits(kernel, stride, padding):
    """The channels-last path handles stride 1 with padding below the kernel size."""
    (kh, kw), (ph, pw) = kernel, padding
    return stride == (1, 1) and ph <= kh - 1 and pw <= kw - 1


def conv_layout(in_channels, out_channels, kernel_size, stride=1, padding=0):
    """The memory layout the fast convolution picks for a layer: "channels-last" for stride 1,
    padding below the kernel size, at least CHANNELS_LAST_MIN_CHANNELS input channels and no
    more output channels than input ones; else "batch-last"."""
    in_channels = positive_int(in_channels, "conv_layout in_channels", minimum=0)
    out_channels = positive_int(out_channels, "conv_layout out_channels", minimum=0)
    kernel = pair(kernel_size, "conv_layout kernel_size", minimum=1)
    stride = pair(stride, "conv_layout stride", minimum=1)
    return _layout_for(in_channels, out_channels, kernel, stride, pair(padding, "conv_layout padding"))


def _layout_for(in_channels, out_channels, kernel, stride, padding):
    """`conv_layout` for checked arguments (ints, and pairs of ints)."""
    wide = CHANNELS_LAST_MIN_CHANNELS <= in_channels and out_channels <= in_channels
    return "channels-last" if wide and _channels_last_fits(kernel, stride, padding) else "batch-last"


def _uses_channels_last(in_channels, out_channels, kernel, stride, padding, layout, where):
    """Whether the fast convolution takes the channels-last path: `layout` if given (one of
    LAYOUTS), else `conv_layout`'s choice."""
    if layout is None:
        return _layout_for(in_channels, out_channels, kernel, stride, padding) == "channels-last"
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise UnknownNameError(
            f"{where}: unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)} or None")
    if layout == "channels-last" and not _channels_last_fits(kernel, stride, padding):
        raise InvalidValueError(
            f"{where}: the channels-last layout needs stride 1 and padding below the kernel "
            f"size, got kernel {kernel}, stride {stride}, padding {padding}")
    return layout == "channels-last"


def _im2col_channels_last(xl, kernel, workspace, name):
    """Padded (N, Hp, Wp, C) -> cols (N*OH*OW, KH*KW*C), stride 1:
    cols[(n, i, j), (u, v, c)] = xpad[n, c, i + u, j + v]."""
    (kh, kw), (n, hp, wp, c) = kernel, xl.shape
    oh, ow = hp - kh + 1, wp - kw + 1
    windows = sliding_window_view(xl, (kh, kw), axis=(1, 2))      # (N, OH, OW, C, KH, KW)
    cols = _buffer(workspace, name, (n, oh, ow, kh, kw, c), xl.dtype)
    cols[...] = windows.transpose(0, 1, 2, 4, 5, 3)
    return cols.reshape(n * oh * ow, kh * kw * c)


def _rows_to_nchw(rows, n, h, w):
    """(N*H*W, C) rows -> an (N, C, H, W) view of them."""
    return _nchw(rows.reshape(n, h, w, rows.shape[1]), "NHWC")


def _conv_forward_channels_last(x, weight, bias, padding, workspace):
    """y = cols @ W_rows + b with W_rows = weight as (KH*KW*C, O); returns (y NCHW, cols)."""
    out_channels, _, kh, kw = weight.shape
    xl = _in_layout(x, "NHWC", "x", padding)
    cols = _im2col_channels_last(xl, (kh, kw), workspace, "cols_nhwc")
    y = np.empty((cols.shape[0], out_channels), cols.dtype)
    np.matmul(cols, weight.transpose(2, 3, 1, 0).reshape(cols.shape[1], out_channels), out=y)
    if bias is not None:
        y += bias
    return _rows_to_nchw(y, x.shape[0], xl.shape[1] - kh + 1, xl.shape[2] - kw + 1), cols


def _conv_backward_channels_last(grad_y, cache, need_input_grad):
    """With G = grad_y as (N*OH*OW, O): grad_W = G^T @ cols, grad_b = 1^T G, and grad_x is the
    convolution of G, zero-padded by K-1-p, with the kernel flipped in space and its in/out
    channels swapped: grad_x[n, c, h, w] = sum_{o,u,v} Gpad[n, o, h+u, w+v] W[o, c, K-1-u, K-1-v]."""
    (n, c, h, w), cols, weight, _, (ph, pw), _ = cache
    out_channels, _, kh, kw = weight.shape
    g = _in_layout(grad_y, "NHWC", "grad_y")
    g_rows = g.reshape(cols.shape[0], out_channels)
    grad_w = np.ascontiguousarray((g_rows.T @ cols).reshape(out_channels, kh, kw, c).transpose(0, 3, 1, 2))
    ones = _buffer(_SCRATCH, "ones", (g_rows.shape[0],), g.dtype)
    ones[...] = 1
    # a matrix-vector product, 10x faster than g_rows.sum(axis=0); it sums sequentially, so in
    # float32 its relative error grows to ~1e-6 at 10^5 positions, as grad_W's product does
    grad_b = ones @ g_rows
    grad_x = None
    if need_input_grad:
        g_pad = _in_layout(_nchw(g, "NHWC"), "NHWC", "grad_y", (kh - 1 - ph, kw - 1 - pw))
        grad_cols = _im2col_channels_last(g_pad, (kh, kw), _SCRATCH, "grad_cols_nhwc")
        flipped = weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kh * kw * out_channels, c)
        grad_rows = np.empty((grad_cols.shape[0], c), g.dtype)
        np.matmul(grad_cols, flipped, out=grad_rows)
        grad_x = _rows_to_nchw(grad_rows, n, h, w)
    return grad_x, grad_w, grad_b


def im2col(x, kernel_size, stride=1, padding=0):
    """Copy every KHxKW patch of the padded input into a column.

    x (N, C, H, W) -> cols (C*KH*KW, OH*OW*N); row index (c, u, v), column index (i, j, n).
    With the patch entries as rows, one matrix product W (O, C*KH*KW) @ cols applies every
    filter to every patch.
    """
    x = as_images(x, "im2col input")
    kernel = pair(kernel_size, "kernel_size", minimum=1)
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    out_hw = _output_hw(x.shape, kernel, stride, padding, "im2col")
    return _im2col_batch_last(_in_layout(x, "CHWN", "x", padding), kernel, stride, out_hw)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of `im2col`: add each column's entries back onto the pixels they came from.
    Returns an (N, C, H, W) view of a fresh batch-last array."""
    kernel = pair(kernel_size, "kernel_size", minimum=1)
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    cols = as_float_array(cols, "col2im cols", finite=False)
    if (not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in x_shape)):
        raise ShapeError(f"col2im x_shape: expected 4 ints >= 0, (N, C, H, W), got {x_shape!r}")
    x_shape = tuple(int(d) for d in x_shape)
    n, c, h, w = x_shape
    oh, ow = _output_hw(x_shape, kernel, stride, padding, "col2im")
    expected = (c * kernel[0] * kernel[1], oh * ow * n)
    if cols.shape != expected:
        raise ShapeError(f"col2im: expected cols of shape {expected} for x_shape {x_shape}, got {cols.shape}")
    return _col2im_batch_last(cols, x_shape, kernel, stride, padding)


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, *, where="conv2d", workspace=None,
                   layout=None):
    """Fast convolution that also returns the cache its backward needs: (y, cache).

    y = W_mat @ cols + b, with W_mat = weight.reshape(O, C*KH*KW); y is (N, O, OH, OW).
    Which memory layout runs is `conv_layout`'s choice, or `layout` (one of LAYOUTS) when
    given. Either way x, y and the gradients are NCHW; y and grad_x are fresh arrays, returned
    as views of the layout they were computed in (contiguous only if that was NCHW).
    `workspace`: a dict in which the columns are kept between calls (a layer passes its own
    while training); the cache then points into it, so backward must follow this forward.
    Data used only within a call lives in the thread's shared scratch buffers (`_buffer`).
    """
    stride, padding = pair(stride, "stride", minimum=1), pair(padding, "padding")
    x, weight, bias = _check_conv_args(x, weight, bias, where)
    if workspace is not None and not isinstance(workspace, dict):
        raise InvalidValueError(f"{where}: workspace must be a dict or None, got {type(workspace).__name__}")
    out_channels, in_channels, kh, kw = weight.shape
    oh, ow = _output_hw(x.shape, (kh, kw), stride, padding, where)
    if _uses_channels_last(in_channels, out_channels, (kh, kw), stride, padding, layout, where):
        y, cols = _conv_forward_channels_last(x, weight, bias, padding, workspace)
        return y, ConvCache(x.shape, cols, weight, stride, padding, channels_last=True)
    cols = _im2col_batch_last(_in_layout(x, "CHWN", "x", padding), (kh, kw), stride, (oh, ow), workspace)
    y = np.empty((out_channels, cols.shape[1]), cols.dtype)
    np.matmul(weight.reshape(out_channels, cols.shape[0]), cols, out=y)       # (O, OH*OW*N)
    if bias is not None:
        y += bias[:, None]
    y = _nchw(y.reshape(out_channels, oh, ow, x.shape[0]), "CHWN")
    return y, ConvCache(x.shape, cols, weight, stride, padding)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """Fast 2-D convolution (cross-correlation, as in every DL framework), NCHW.

    y[n, o, i, j] = sum_{c, u, v} xpad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v] + bias[o]
    """
    return np.ascontiguousarray(conv2d_forward(x, weight, bias, stride, padding)[0])


def conv2d_backward(grad_y, cache: ConvCache, *, need_input_grad=True, where="conv2d_backward"):
    """Gradients of the fast convolution: (grad_x, grad_weight, grad_bias).

    With G = grad_y as (O, OH*OW*N): grad_W = G @ cols^T, grad_b = sum of G over positions,
    grad_cols = W_mat^T @ G, and grad_x = col2im(grad_cols) (batch-last; the channels-last
    path convolves G with the flipped kernel instead). grad_x is None when not needed (the
    first layer of a network). `where` names the caller in error messages.
    """
    if not isinstance(cache, ConvCache):
        raise InvalidValueError(f"{where}: expected the ConvCache conv2d_forward returned, "
                                f"got {type(cache).__name__}")
    n, o, kernel = cache.x_shape[0], cache.weight.shape[0], cache.weight.shape[2:]
    expected = (n, o, *_output_hw(cache.x_shape, kernel, cache.stride, cache.padding, where))
    grad_y = as_float_array(grad_y, f"{where} grad_y", finite=False)
    if grad_y.shape != expected:
        raise ShapeError(f"{where}: expected grad_y of shape {expected} (the forward's "
                         f"output), got {grad_y.shape}")
    grad_y = grad_y.astype(cache.cols.dtype, copy=False)   # gradients in the layer's dtype
    if cache.channels_last:
        return _conv_backward_channels_last(grad_y, cache, need_input_grad)
    x_shape, cols, weight, stride, padding, _ = cache
    out_channels, _, kh, kw = weight.shape
    g = _in_layout(grad_y, "CHWN", "grad_y").reshape(out_channels, cols.shape[1])  # (O, OH*OW*N)
    # cols @ G^T with G^T copied contiguous first: the product OpenBLAS runs fastest (2.5x with
    # its AVX-512 kernels on LeNet's second layer), for a copy of only O*OH*OW*N numbers
    grad_w = np.ascontiguousarray((cols @ np.ascontiguousarray(g.T)).T).reshape(weight.shape)
    grad_b = g.sum(axis=1)
    grad_x = None
    if need_input_grad:
        grad_cols = _buffer(_SCRATCH, "grad_cols", cols.shape, cols.dtype)
        np.matmul(weight.reshape(out_channels, cols.shape[0]).T, g, out=grad_cols)
        grad_x = _col2im_batch_last(grad_cols, x_shape, (kh, kw), stride, padding)
    return grad_x, grad_w, grad_b
