"""`Flatten`: the layer that only changes the shape, (N, d1, d2, ...) -> (N, d1*d2*...).

Floor 2.
"""
from __future__ import annotations

import math

from ..layer_entry import Batch
from .base import Layer


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), as torch.nn.Flatten."""

    INPUT = Batch()

    def forward(self, x, training=True):
        self._shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))   # (-1 fails on an empty batch)

    def backward(self, grad_y):
        return grad_y.reshape(self._shape)
