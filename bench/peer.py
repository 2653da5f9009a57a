"""The peer: a convolution layer written the way NumPy-from-scratch textbooks write it.

This is the yardstick for "how much faster than the usual from-scratch code is initlab?":
im2col copies every patch into a row of a (N*OH*OW, C*KH*KW) matrix (a loop over the kernel
offsets, then a transpose), the forward pass is one matrix product with the flattened kernel,
and col2im scatters the column gradients back with `np.add.at` over fancy indices. It keeps the
dtype of its inputs (float32 in the benchmark). Deliberately not optimized: it is the baseline.
Single stride and padding for both axes, as in the textbooks.
"""
import numpy as np


def output_size(size, kernel, stride, pad):
    """OH = (H + 2*pad - KH) // stride + 1."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x, kh, kw, stride=1, pad=0):
    """x (N, C, H, W) -> col (N*OH*OW, C*KH*KW); row (n, i, j), column (c, u, v)."""
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, stride, pad), output_size(w, kw, stride, pad)
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.zeros((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            col[:, :, u, v] = img[:, :, u:u + stride * oh:stride, v:v + stride * ow:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col, x_shape, kh, kw, stride=1, pad=0):
    """The adjoint of `im2col`: every entry of col is added onto the pixel it was copied from.

    img[n, c, i*stride + u, j*stride + v] += col[(n, i, j), (c, u, v)], by `np.add.at` because
    overlapping patches hit the same pixel more than once.
    """
    n, c, h, w = x_shape
    oh, ow = output_size(h, kh, stride, pad), output_size(w, kw, stride, pad)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    rows = np.arange(oh)[:, None] * stride + np.arange(kh)[None, :]        # (OH, KH)
    cols = np.arange(ow)[:, None] * stride + np.arange(kw)[None, :]        # (OW, KW)
    index = (
        np.arange(n).reshape(n, 1, 1, 1, 1, 1),
        np.arange(c).reshape(1, 1, 1, c, 1, 1),
        rows.reshape(1, oh, 1, 1, kh, 1),
        cols.reshape(1, 1, ow, 1, 1, kw),
    )
    np.add.at(img, index, col.reshape(n, oh, ow, c, kh, kw))
    return img[:, :, pad:pad + h, pad:pad + w]


class Convolution:
    """A convolution layer, textbook style: forward and backward side by side.

    forward: out = im2col(x) @ W.reshape(FN, -1).T + b, reshaped to (N, FN, OH, OW).
    backward: dW = col.T @ dout, db = sum(dout), dx = col2im(dout @ W_col).
    """

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None

    def forward(self, x):
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = output_size(h, fh, self.stride, self.pad), output_size(w, fw, self.stride, self.pad)
        self.x_shape = x.shape
        self.col = im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(fn, c, fh, fw)
        dcol = dout @ self.col_W.T
        return col2im(dcol, self.x_shape, fh, fw, self.stride, self.pad)


def conv_forward_backward(x, W, b, grad_out, stride=1, pad=0):
    """One forward and one backward pass of the peer layer: returns (out, dx, dW, db)."""
    layer = Convolution(W, b, stride, pad)
    out = layer.forward(x)
    dx = layer.backward(grad_out)
    return out, dx, layer.dW, layer.db
