"""Pooling layers: `MaxPool2D`, `AvgPool2D` (both with PyTorch's options) and
`GlobalAvgPool2D`; the maths is `functional/pooling.py`'s.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..constraints import Boolean, Optional, Pair, Satisfies, check
from ..layer_entry import Images, PoolWindow
from .base import Layer


class _Pool2D(Layer):
    INPUT = PoolWindow()
    PARAMETERS = {"kernel_size": Pair(1), "stride": Optional(Pair(1)), "padding": Pair(0), "dilation": Pair(1),
                  "ceil_mode": Boolean(), "return_indices": Boolean(), "count_include_pad": Boolean(),
                  "divisor_override": Satisfies(lambda v: v is None or (isinstance(v, int) and not isinstance(
                      v, bool) and v != 0), "a nonzero integer or None")}
    _forward = _backward = _options_forward = None
    DEFAULTS: dict = {}       # PyTorch's options and their defaults, in its order

    def __init__(self, kernel_size, stride=None, padding=0, *, dtype=None, **options):
        super().__init__(dtype)
        given = check(type(self).__name__, self.PARAMETERS,
                      dict(kernel_size=kernel_size, stride=stride, padding=padding, **options))
        for key, value in given.items():
            setattr(self, key, value)
        if self.stride is None:
            self.stride = self.kernel_size
        # the options that differ from PyTorch's defaults; none: the default path, as fast as before
        self.options = {k: getattr(self, k) for k in self.DEFAULTS if getattr(self, k) != self.DEFAULTS[k]}

    def forward(self, x, training=True):
        if self.options:
            return self._forward_options(x)
        y, self._cache = type(self)._forward(x, self.kernel_size, self.stride, self.padding)
        return y

    def _forward_options(self, x):
        kwargs = {k: getattr(self, k) for k in self.DEFAULTS if k != "return_indices"}
        y, self._cache = type(self)._options_forward(x, self.kernel_size, self.stride, self.padding, **kwargs)
        return (y, F.max_pool2d_indices(self._cache)) if self.options.get("return_indices") else y

    def backward(self, grad_y):
        if isinstance(self._cache, F.PoolOptionsCache):
            return F.pool2d_options_backward(grad_y, self._cache)
        return type(self)._backward(grad_y, self._cache)

    def config(self):
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}
        return dict(kernel_size=list(self.kernel_size), stride=list(self.stride), padding=list(self.padding),
                    **options)


class MaxPool2D(_Pool2D):
    """Max over each kernel window; stride defaults to the kernel size.

    PyTorch's options: `dilation` (the window's taps dh, dw apart), `ceil_mode` (round the
    output size up: a last, partial window), `return_indices` (forward returns (y, indices),
    each maximum's flat position row * W + col in its input plane, as torch; such a layer ends
    a model, as in torch, since the next layer would get a pair)."""
    _forward = staticmethod(F._max_pool2d_forward)     # (the kernels: the entry checked x)
    _backward = staticmethod(F._max_pool2d_backward)
    _options_forward = staticmethod(F._max_pool2d_options_forward)
    DEFAULTS = dict(dilation=(1, 1), ceil_mode=False, return_indices=False)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False,
                 *, dtype=None):
        super().__init__(kernel_size, stride, padding, dtype=dtype, dilation=dilation,
                         return_indices=return_indices, ceil_mode=ceil_mode)


class AvgPool2D(_Pool2D):
    """Mean over each kernel window; stride defaults to the kernel size.

    PyTorch's options: `ceil_mode` (a last, partial window), `count_include_pad=False` (divide
    by the input pixels a window covers, not counting the padding), `divisor_override` (divide
    every window's sum by this number)."""
    _forward = staticmethod(F._avg_pool2d_forward)     # (the kernels: the entry checked x)
    _backward = staticmethod(F._avg_pool2d_backward)
    _options_forward = staticmethod(F._avg_pool2d_options_forward)
    DEFAULTS = dict(ceil_mode=False, count_include_pad=True, divisor_override=None)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None, *, dtype=None):
        super().__init__(kernel_size, stride, padding, dtype=dtype, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C, 1, 1): the mean of each channel, as nn.AdaptiveAvgPool2d(1).

    The singleton dims are kept so that a following Flatten lines up with PyTorch's modules.
    """

    INPUT = Images()

    def forward(self, x, training=True):
        self._shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, grad_y):
        n, c, h, w = self._shape
        return np.broadcast_to(grad_y / (h * w), self._shape).copy()
