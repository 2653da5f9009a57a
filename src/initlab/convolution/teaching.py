"""The convolution a learner reads: NCHW, im2col + one matrix product, forward and backward.

Floor 1: NumPy only. x is (N, C, H, W), weight (O, C, KH, KW), bias (O,) or None; stride and
padding are pairs of ints (sh, sw), (ph, pw). Every function here computes

    y[n, o, i, j] = bias[o] + sum_{c, u, v} xpad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v]

(cross-correlation, as every deep learning framework calls convolution), with xpad the input
with a zero border of ph rows and pw columns. PyTorch's options generalize it to

    y[n, o, i, j] = bias[o] + sum_{c, u, v} xpad[n, g*C/G + c, i*sh + u*dh, j*sw + v*dw] * weight[o, c, u, v]

with g = o // (O/G) the group of filter o (weight (O, C/G, KH, KW)), the taps dilation (dh, dw)
apart, and a border of another padding_mode (`pad`) or of other sizes before and after
(padding ((top, bottom), (left, right)), as PyTorch's padding="same" for an even kernel).
Read it in this order:

1. `conv2d_naive`: the textbook picture, the kernel stepping over the image in four loops.
2. `im2col`: every patch the kernel covers copied into one column of a matrix.
3. `conv2d_forward`: one matrix product then applies every filter to every patch.
4. `col2im` and `conv2d_backward`: the same steps run backwards for the gradients.

The functions trust their callers: the layers and `initlab.convolution`'s public functions
check a user's arrays where they enter. `convolution/fast.py` computes the same numbers with
the same signatures, faster (memory layouts, reused buffers); the layers run it unless
`initlab.convolution.use("teaching")` selects this module. The tests hold the two to each
other, to `conv2d_naive` and to `scipy.signal.correlate`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_output_size(size: int, kernel: int, stride: int, padding, dilation: int = 1) -> int:
    """Output length along one axis: floor((size + pad_before + pad_after - d (kernel - 1) - 1)
    / stride) + 1; `padding` is one int (each side) or (before, after). With d = 1 this is
    floor((size + 2 padding - kernel) / stride) + 1."""
    before, after = (padding, padding) if np.isscalar(padding) else padding
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _sides(padding):
    """(ph, pw) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    return tuple((p, p) if np.isscalar(p) else tuple(p) for p in padding)


# PyTorch's padding_mode -> np.pad's mode (reflect excludes the edge pixel in both)
NUMPY_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x, padding, value=0.0, mode="zeros"):
    """x (N, C, H, W) with a border: (N, C, H + top + bottom, W + left + right).

    `padding` is (ph, pw) (each side) or ((top, bottom), (left, right)); `mode` is PyTorch's
    padding_mode: "zeros" (a border of `value`), "reflect" (mirrored, edge excluded),
    "replicate" (the edge repeated) or "circular" (the image wrapped around)."""
    widths = ((0, 0), (0, 0), *_sides(padding))
    if mode == "zeros":
        return np.pad(x, widths, constant_values=value)
    return np.pad(x, widths, mode=NUMPY_PAD_MODES[mode])


def pad_adjoint(grad_xp, x_shape, padding, mode="zeros"):
    """The gradient of `pad`: grad_xp (N, C, Hp, Wp) -> (N, C, H, W), each padded pixel's
    gradient added onto the pixel it was copied from (nothing, for a zero border).

    With the one-hot matrices S_h (Hp, H) and S_w (Wp, W) that `pad` applies (xp = S_h x S_w^T,
    row a of S_h marks the source row of padded row a), grad_x = S_h^T grad_xp S_w."""
    (top, bottom), (left, right) = _sides(padding)
    h, w = x_shape[2:]
    if mode == "zeros":
        return grad_xp[:, :, top:top + h, left:left + w]
    s_h = pad(np.eye(h)[None, None], ((top, bottom), (0, 0)), mode=mode)[0, 0]   # (Hp, H)
    s_w = pad(np.eye(w)[None, None], ((left, right), (0, 0)), mode=mode)[0, 0]   # (Wp, W)
    return s_h.T.astype(grad_xp.dtype) @ grad_xp @ s_w.astype(grad_xp.dtype)   # (N, C, H, W)


def same_padding(kernel, dilation):
    """PyTorch's padding="same" along each axis, ((top, bottom), (left, right)): the total
    d (k - 1), its smaller half before and the larger after (stride 1 keeps H and W)."""
    sides = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        sides.append((total // 2, total - total // 2))
    return tuple(sides)


# --------------------------------------------------------------------------- the picture

def conv2d_naive(x, weight, bias, stride, padding, dilation=(1, 1), groups=1, padding_mode="zeros"):
    """The formula above as loops: each output pixel is the sum of the kernel times the patch
    under it. Slow by design; the ground truth the fast versions are tested against.

    PyTorch's options: the kernel's taps are `dilation` pixels apart (a patch spans
    d (k - 1) + 1 pixels); with `groups` G, filter o sees only the C/G input channels of its
    group (weight (O, C/G, KH, KW)); `padding_mode` fills the border (see `pad`)."""
    n_batch, out_channels = x.shape[0], weight.shape[0]
    in_per_group, kh, kw = weight.shape[1:]
    out_per_group = out_channels // groups
    (sh, sw), (dh, dw), (pad_h, pad_w) = stride, dilation, _sides(padding)
    oh = conv_output_size(x.shape[2], kh, sh, pad_h, dh)
    ow = conv_output_size(x.shape[3], kw, sw, pad_w, dw)
    xp = pad(x, padding, mode=padding_mode)                           # (N, C, Hp, Wp)
    y = np.zeros((n_batch, out_channels, oh, ow), np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // out_per_group) * in_per_group                    # its group's first channel
            for i in range(oh):
                for j in range(ow):
                    top, left = i * sh, j * sw
                    patch = xp[n, first:first + in_per_group,
                               top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]  # (C/G, KH, KW)
                    y[n, o, i, j] = np.sum(patch * weight[o])
            if bias is not None:
                y[n, o] += bias[o]
    return y


def conv2d_naive_backward(grad_y, x, weight, stride, padding, dilation=(1, 1), groups=1,
                          padding_mode="zeros"):
    """Gradients of `conv2d_naive` by the same loops: each output pixel spreads its gradient
    back over the patch it read (to the input) and over the kernel (to the weight).
    Returns (grad_x, grad_weight, grad_bias)."""
    n_batch, out_channels, oh, ow = grad_y.shape
    in_per_group, kh, kw = weight.shape[1:]
    out_per_group = out_channels // groups
    (sh, sw), (dh, dw) = stride, dilation
    xp = pad(x, padding, mode=padding_mode)                           # (N, C, Hp, Wp)
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(weight)
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // out_per_group) * in_per_group
            for i in range(oh):
                for j in range(ow):
                    top, left = i * sh, j * sw
                    window = (n, slice(first, first + in_per_group),
                              slice(top, top + dh * (kh - 1) + 1, dh), slice(left, left + dw * (kw - 1) + 1, dw))
                    g = grad_y[n, o, i, j]
                    grad_xp[window] += g * weight[o]
                    grad_w[o] += g * xp[window]
    grad_x = pad_adjoint(grad_xp, x.shape, padding, padding_mode)     # the border's share: (N, C, H, W)
    return grad_x, grad_w, grad_y.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------- im2col + one product

def im2col(x, kernel, stride, padding, dilation=(1, 1), padding_mode="zeros"):
    """Every KHxKW patch of the padded input as one column:

        cols[(c, u, v), (n, i, j)] = xpad[n, c, i*sh + u*dh, j*sw + v*dw]

    x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW). `sliding_window_view` gives every window as a
    view (no copy); the final reshape copies each patch once. A dilated kernel's window spans
    d (k - 1) + 1 pixels, of which every d-th is a tap.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    n, c = x.shape[:2]
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(pad(x, padding, mode=padding_mode), span, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]    # one window per output pixel: (N, C, OH, OW, KH, KW)
    oh, ow = windows.shape[2:4]
    cols = windows.transpose(1, 4, 5, 0, 2, 3)         # (C, KH, KW, N, OH, OW)
    return cols.reshape(c * kh * kw, n * oh * ow)      # (C*KH*KW, N*OH*OW), a copy


def col2im(cols, x_shape, kernel, stride, padding, dilation=(1, 1), padding_mode="zeros"):
    """The adjoint of `im2col`: every column entry is added back onto the pixel it was copied
    from, so a pixel under several windows collects the sum of their entries.

    cols (C*KH*KW, N*OH*OW) -> (N, C, H, W). A loop over the KH*KW kernel offsets (u, v): the
    entries at offset (u, v) of all windows land on one strided slice of the padded image.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (top, bottom), (left, right) = _sides(padding)
    oh, ow = conv_output_size(h, kh, sh, (top, bottom), dh), conv_output_size(w, kw, sw, (left, right), dw)
    cols = cols.reshape(c, kh, kw, n, oh, ow)                         # (C, KH, KW, N, OH, OW)
    grad = np.zeros((n, c, h + top + bottom, w + left + right), cols.dtype)   # padded: (N, C, Hp, Wp)
    for u in range(kh):
        for v in range(kw):
            entries = cols[:, u, v].transpose(1, 0, 2, 3)                 # (N, C, OH, OW)
            grad[:, :, u * dh:u * dh + sh * oh:sh, v * dw:v * dw + sw * ow:sw] += entries
    return pad_adjoint(grad, x_shape, padding, padding_mode)          # the border's share: (N, C, H, W)


class ConvCache(NamedTuple):
    """What `conv2d_backward` needs from `conv2d_forward`."""
    x_shape: tuple
    cols: np.ndarray        # (C*KH*KW, N*OH*OW)
    weight: np.ndarray
    stride: tuple
    padding: tuple
    dilation: tuple = (1, 1)
    groups: int = 1
    padding_mode: str = "zeros"


def conv2d_forward(x, weight, bias, stride, padding, workspace=None, *, dilation=(1, 1), groups=1,
                   padding_mode="zeros"):
    """y = W_mat @ cols + b, with W_mat = weight as (O, C*KH*KW): every filter (a row) times
    every patch (a column). Returns (y (N, O, OH, OW), the cache backward needs).
    With `groups` G, one product per group: its O/G filters times the rows of its C/G channels.
    `workspace` is where the fast path keeps its buffers between steps; unused here."""
    n, out_channels = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    pad_h, pad_w = _sides(padding)
    oh = conv_output_size(x.shape[2], kh, stride[0], pad_h, dilation[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], pad_w, dilation[1])
    cols = im2col(x, (kh, kw), stride, padding, dilation, padding_mode)  # (C*KH*KW, N*OH*OW)
    w_mat = weight.reshape(groups, out_channels // groups, cols.shape[0] // groups)   # (G, O/G, C/G*KH*KW)
    y = w_mat @ cols.reshape(groups, w_mat.shape[2], cols.shape[1])   # (G, O/G, N*OH*OW)
    y = y.reshape(out_channels, cols.shape[1])                        # (O, N*OH*OW)
    if bias is not None:
        y += bias[:, None]
    y = y.reshape(out_channels, n, oh, ow).transpose(1, 0, 2, 3)      # (N, O, OH, OW)
    return y, ConvCache(x.shape, cols, weight, stride, padding, dilation, groups, padding_mode)


def conv2d_backward(grad_y, cache, need_input_grad=True):
    """Gradients of `conv2d_forward`: (grad_x, grad_weight, grad_bias). With G = grad_y as
    (O, N*OH*OW), the matrix product's own rules give (per group, with groups)

        grad_W = G @ cols^T,   grad_b = G summed over positions,   grad_cols = W_mat^T @ G,

    and grad_x = col2im(grad_cols). grad_x is None when not needed (a network's first layer).
    """
    cols, weight, groups = cache.cols, cache.weight, cache.groups
    out_channels, m = weight.shape[0], cols.shape[1]
    g = grad_y.transpose(1, 0, 2, 3).reshape(groups, out_channels // groups, m)   # (G, O/G, N*OH*OW)
    cols_g = cols.reshape(groups, cols.shape[0] // groups, m)       # (G, C/G*KH*KW, N*OH*OW)
    grad_w = (g @ cols_g.transpose(0, 2, 1)).reshape(weight.shape)    # (O, C/G, KH, KW)
    grad_b = g.sum(axis=2).reshape(out_channels)                      # (O,)
    grad_x = None
    if need_input_grad:
        w_mat = weight.reshape(groups, out_channels // groups, cols_g.shape[1])   # (G, O/G, C/G*KH*KW)
        grad_cols = (w_mat.transpose(0, 2, 1) @ g).reshape(cols.shape)   # (C*KH*KW, N*OH*OW)
        grad_x = col2im(grad_cols, cache.x_shape, weight.shape[2:], cache.stride, cache.padding,
                        cache.dilation, cache.padding_mode)           # (N, C, H, W)
    return grad_x, grad_w, grad_b
