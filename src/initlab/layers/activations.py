"""Activation layers: y = phi(x) elementwise, phi from `functional/activations.py`.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..constraints import Options, Real, check
from .base import Layer


class Activation(Layer):
    """y = phi(x) elementwise; backward: grad_x = grad_y * phi'(x)."""

    function = "relu"

    def __init__(self, *, dtype=None, fn_params=None):
        super().__init__(dtype)
        self.fn, self.fn_grad = F.ACTIVATIONS[self.function]
        # keyword arguments of fn and fn_grad (LeakyReLU's slope, ELU's alpha), each a real number
        fn_params = fn_params or {}
        self.fn_params = check(type(self).__name__, {k: Real() for k in fn_params}, fn_params)

    def forward(self, x, training=True):
        y = self.fn(x, **self.fn_params)
        self._xy = (x, y)
        return y

    def backward(self, grad_y):
        x, y = self._xy
        return grad_y * self.fn_grad(x, y, **self.fn_params)

    def config(self):
        return dict(self.fn_params)


class ReLU(Activation):
    """phi(x) = max(x, 0). Backward keeps only the mask of positive outputs."""
    function = "relu"

    def forward(self, x, training=True):
        y = np.maximum(x, 0)
        self._y = y
        return y

    def backward(self, grad_y):
        # (np.where with a Python 0 is ~15x slower)
        return grad_y * (self._y > 0)


class LeakyReLU(Activation):
    """phi(x) = x for x > 0, else negative_slope * x."""
    function = "leaky_relu"

    def __init__(self, negative_slope=0.01, *, dtype=None):
        super().__init__(dtype=dtype, fn_params={"negative_slope": negative_slope})


class Tanh(Activation):
    """phi(x) = tanh(x)."""
    function = "tanh"


class Sigmoid(Activation):
    """phi(x) = 1 / (1 + exp(-x))."""
    function = "sigmoid"


class ELU(Activation):
    """phi(x) = x for x > 0, else alpha (exp(x) - 1)."""
    function = "elu"

    def __init__(self, alpha=1.0, *, dtype=None):
        super().__init__(dtype=dtype, fn_params={"alpha": alpha})


class GELU(Activation):
    """phi(x) = x Phi(x) (exact erf form); approximate="tanh": x (1 + tanh(sqrt(2/pi) (x +
    0.044715 x^3))) / 2, as torch.nn.GELU(approximate="tanh")."""
    function = "gelu"

    def __init__(self, approximate="none", *, dtype=None):
        super().__init__(dtype=dtype)
        self.approximate = check("GELU", {"approximate": Options(("none", "tanh"))},
                                 {"approximate": approximate})["approximate"]
        if approximate == "tanh":
            self.fn, self.fn_grad = F.gelu_tanh, F.gelu_tanh_grad

    def config(self):
        return {} if self.approximate == "none" else {"approximate": "tanh"}


class SELU(Activation):
    """phi(x) = scale * elu(x, alpha) with the self-normalizing constants."""
    function = "selu"
