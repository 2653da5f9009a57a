"""`Dropout`: inverted dropout, its masks from the layer's rng.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from ..constraints import Real, check
from ..rng import as_generator
from .base import Layer


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability p and scale the rest by
    1/(1-p), so eval needs no rescaling. The masks come from `rng` (reproducible). p = 1 zeroes
    every input in training (and its gradient), as PyTorch."""

    def __init__(self, p=0.5, rng=None, *, dtype=None):
        super().__init__(dtype)
        self.p = check("Dropout", {"p": Real(0, 1)}, {"p": p})["p"]
        self.rng = as_generator(rng)

    def forward(self, x, training=True):
        if not training or self.p == 0:
            self._mask = None
            return x
        if self.p == 1:       # (1/(1-p) would be inf, and inf * 0 nan)
            self._mask = np.zeros(x.shape, x.dtype)
            return x * self._mask
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self._mask

    def backward(self, grad_y):
        return grad_y if self._mask is None else grad_y * self._mask

    def config(self):
        return dict(p=self.p)
