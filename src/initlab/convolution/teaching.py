"""The convolution a learner reads: NCHW, im2col + one matrix product, forward and backward.

Floor 1: NumPy only. x is (N, C, H, W), weight (O, C, KH, KW), bias (O,) or None; stride and
padding are pairs of ints (sh, sw), (ph, pw). Every function here computes

    y[n, o, i, j] = bias[o] + sum_{c, u, v} xpad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v]

(cross-correlation, as every deep learning framework calls convolution), with xpad the input
with a zero border of ph rows and pw columns. Read it in this order:

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


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def pad(x, padding, value=0.0):
    """x (N, C, H, W) with a border of `value`: (N, C, H + 2 ph, W + 2 pw)."""
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


# --------------------------------------------------------------------------- the picture

def conv2d_naive(x, weight, bias, stride, padding):
    """The formula above as loops: each output pixel is the sum of the kernel times the patch
    under it. Slow by design; the ground truth the fast versions are tested against."""
    n_batch, out_channels = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1])
    xp = pad(x, padding)                                              # (N, C, H + 2ph, W + 2pw)
    y = np.zeros((n_batch, out_channels, oh, ow), np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    top, left = i * stride[0], j * stride[1]
                    patch = xp[n, :, top:top + kh, left:left + kw]     # (C, KH, KW)
                    y[n, o, i, j] = np.sum(patch * weight[o])
            if bias is not None:
                y[n, o] += bias[o]
    return y


def conv2d_naive_backward(grad_y, x, weight, stride, padding):
    """Gradients of `conv2d_naive` by the same loops: each output pixel spreads its gradient
    back over the patch it read (to the input) and over the kernel (to the weight).
    Returns (grad_x, grad_weight, grad_bias)."""
    n_batch, out_channels, oh, ow = grad_y.shape
    kh, kw = weight.shape[2:]
    xp = pad(x, padding)                                              # (N, C, H + 2ph, W + 2pw)
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(weight)
    for n in range(n_batch):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    top, left = i * stride[0], j * stride[1]
                    g = grad_y[n, o, i, j]
                    grad_xp[n, :, top:top + kh, left:left + kw] += g * weight[o]
                    grad_w[o] += g * xp[n, :, top:top + kh, left:left + kw]
    ph, pw = padding
    grad_x = grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]   # drop the border: (N, C, H, W)
    return grad_x, grad_w, grad_y.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------- im2col + one product

def im2col(x, kernel, stride, padding):
    """Every KHxKW patch of the padded input as one column:

        cols[(c, u, v), (n, i, j)] = xpad[n, c, i*sh + u, j*sw + v]

    x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW). `sliding_window_view` gives every window as a
    view (no copy); the final reshape copies each patch once.
    """
    (kh, kw), (sh, sw) = kernel, stride
    n, c = x.shape[:2]
    windows = sliding_window_view(pad(x, padding), (kh, kw), axis=(2, 3))  # (N, C, Hp-KH+1, Wp-KW+1, KH, KW)
    windows = windows[:, :, ::sh, ::sw]                # one window per output pixel: (N, C, OH, OW, KH, KW)
    oh, ow = windows.shape[2:4]
    cols = windows.transpose(1, 4, 5, 0, 2, 3)         # (C, KH, KW, N, OH, OW)
    return cols.reshape(c * kh * kw, n * oh * ow)      # (C*KH*KW, N*OH*OW), a copy


def col2im(cols, x_shape, kernel, stride, padding):
    """The adjoint of `im2col`: every column entry is added back onto the pixel it was copied
    from, so a pixel under several windows collects the sum of their entries.

    cols (C*KH*KW, N*OH*OW) -> (N, C, H, W). A loop over the KH*KW kernel offsets (u, v): the
    entries at offset (u, v) of all windows land on one strided slice of the padded image.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    cols = cols.reshape(c, kh, kw, n, oh, ow)                         # (C, KH, KW, N, OH, OW)
    grad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)       # padded: (N, C, Hp, Wp)
    for u in range(kh):
        for v in range(kw):
            entries = cols[:, u, v].transpose(1, 0, 2, 3)                 # (N, C, OH, OW)
            grad[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += entries
    return grad[:, :, ph:ph + h, pw:pw + w]                           # drop the border: (N, C, H, W)


class ConvCache(NamedTuple):
    """What `conv2d_backward` needs from `conv2d_forward`."""
    x_shape: tuple
    cols: np.ndarray        # (C*KH*KW, N*OH*OW)
    weight: np.ndarray
    stride: tuple
    padding: tuple


def conv2d_forward(x, weight, bias, stride, padding, workspace=None):
    """y = W_mat @ cols + b, with W_mat = weight as (O, C*KH*KW): every filter (a row) times
    every patch (a column). Returns (y (N, O, OH, OW), the cache backward needs).
    `workspace` is where the fast path keeps its buffers between steps; unused here."""
    n, out_channels = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1])
    cols = im2col(x, (kh, kw), stride, padding)                       # (C*KH*KW, N*OH*OW)
    y = weight.reshape(out_channels, cols.shape[0]) @ cols            # (O, N*OH*OW)
    if bias is not None:
        y += bias[:, None]
    y = y.reshape(out_channels, n, oh, ow).transpose(1, 0, 2, 3)      # (N, O, OH, OW)
    return y, ConvCache(x.shape, cols, weight, stride, padding)


def conv2d_backward(grad_y, cache, need_input_grad=True):
    """Gradients of `conv2d_forward`: (grad_x, grad_weight, grad_bias). With G = grad_y as
    (O, N*OH*OW), the matrix product's own rules give

        grad_W = G @ cols^T,   grad_b = G summed over positions,   grad_cols = W_mat^T @ G,

    and grad_x = col2im(grad_cols). grad_x is None when not needed (a network's first layer).
    """
    x_shape, cols, weight, stride, padding = cache
    out_channels = weight.shape[0]
    g = grad_y.transpose(1, 0, 2, 3).reshape(out_channels, cols.shape[1])   # (O, N*OH*OW)
    grad_w = (g @ cols.T).reshape(weight.shape)                       # (O, C, KH, KW)
    grad_b = g.sum(axis=1)                                            # (O,)
    grad_x = None
    if need_input_grad:
        grad_cols = weight.reshape(out_channels, cols.shape[0]).T @ g  # (C*KH*KW, N*OH*OW)
        grad_x = col2im(grad_cols, x_shape, weight.shape[2:], stride, padding)   # (N, C, H, W)
    return grad_x, grad_w, grad_b
