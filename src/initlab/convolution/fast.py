"""The fast convolution: the teaching path's numbers, with the speed work (floor 1).

Same signatures as `convolution/teaching.py` (`conv2d_forward(x, weight, bias, stride,
padding, workspace)`, `conv2d_backward(grad_y, cache, need_input_grad)`), and the same
trust in its callers: `initlab.convolution`'s public functions and the layers check the
arrays first. What it adds, each measured against the teaching version (`make bench`):

* two memory layouts: batch-last (C, H, W, N) for narrow layers, channels-last (N, H, W, C)
  for wide ones (`conv_layout`); results are handed on as NCHW views of the layout they were
  computed in, so the next layer's copy into its own layout is often a straight one;
* reused buffers: the columns backward needs live in the layer's `workspace` dict, and data
  used only within one call in this thread's shared scratch buffers (`_buffer`);
* the channels-last input gradient as a convolution with the flipped kernel (no col2im).

The tests hold it to the teaching path, to `conv2d_naive` and to `scipy.signal.correlate`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import teaching
from .teaching import conv_output_size


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


def channels_last_fits(kernel, stride, padding):
    """The channels-last path handles stride 1 with padding below the kernel size."""
    (kh, kw), (ph, pw) = kernel, padding
    return stride == (1, 1) and ph <= kh - 1 and pw <= kw - 1


def layout_for(in_channels, out_channels, kernel, stride, padding):
    """The memory layout this path picks for a layer: "channels-last" for stride 1, padding
    below the kernel size, at least CHANNELS_LAST_MIN_CHANNELS input channels and no more
    output channels than input ones; else "batch-last". (Arguments as ints and pairs.)"""
    wide = CHANNELS_LAST_MIN_CHANNELS <= in_channels and out_channels <= in_channels
    return "channels-last" if wide and channels_last_fits(kernel, stride, padding) else "batch-last"


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


def conv2d_forward(x, weight, bias, stride, padding, workspace=None, layout=None, *,
                   dilation=(1, 1), groups=1, padding_mode="zeros"):
    """y = W_mat @ cols + b, as the teaching path's; returns (y (N, O, OH, OW), cache).

    PyTorch's other options (dilation, groups, a padding_mode or padding other than equal ints
    on both sides) run the teaching path, which has them all; the defaults stay here.

    Runs in `layout` (one of LAYOUTS; channels-last needs `channels_last_fits`), by default
    `layout_for`'s choice. x, y and the gradients are NCHW to the caller; y and grad_x are fresh
    arrays, returned as views of the layout they were computed in (contiguous only if that was
    NCHW). `workspace`: a dict in which the columns are kept between calls (a layer passes its
    own while training); the cache then points into it, so backward must follow this forward.
    """
    if dilation != (1, 1) or groups != 1 or padding_mode != "zeros" or not np.isscalar(padding[0]):
        return teaching.conv2d_forward(x, weight, bias, stride, padding, dilation=dilation, groups=groups,
                                       padding_mode=padding_mode)
    out_channels, in_channels, kh, kw = weight.shape
    if layout is None:
        layout = layout_for(in_channels, out_channels, (kh, kw), stride, padding)
    if layout == "channels-last":
        y, cols = _conv_forward_channels_last(x, weight, bias, padding, workspace)
        return y, ConvCache(x.shape, cols, weight, stride, padding, channels_last=True)
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1])
    cols = _im2col_batch_last(_in_layout(x, "CHWN", "x", padding), (kh, kw), stride, (oh, ow), workspace)
    y = np.empty((out_channels, cols.shape[1]), cols.dtype)
    np.matmul(weight.reshape(out_channels, cols.shape[0]), cols, out=y)       # (O, OH*OW*N)
    if bias is not None:
        y += bias[:, None]
    y = _nchw(y.reshape(out_channels, oh, ow, x.shape[0]), "CHWN")
    return y, ConvCache(x.shape, cols, weight, stride, padding)


def conv2d_backward(grad_y, cache, need_input_grad=True):
    """Gradients of the fast convolution: (grad_x, grad_weight, grad_bias).

    With G = grad_y as (O, OH*OW*N): grad_W = G @ cols^T, grad_b = sum of G over positions,
    grad_cols = W_mat^T @ G, and grad_x = col2im(grad_cols) (batch-last; the channels-last
    path convolves G with the flipped kernel instead). grad_x is None when not needed.
    """
    grad_y = grad_y.astype(cache.cols.dtype, copy=False)   # gradients in the layer's dtype
    if isinstance(cache, teaching.ConvCache):               # the options conv2d_forward handed on
        return teaching.conv2d_backward(grad_y, cache, need_input_grad)
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
