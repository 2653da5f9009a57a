"""Losses: `forward(prediction, target) -> float` and `backward() -> d loss / d prediction`.

Floor 2. Both average over the batch, as PyTorch's default reduction="mean".
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from .errors import CallOrderError, ShapeError
from .validate import as_float_array, as_labels


def _after_forward(loss, name):
    """What `loss`'s forward left for backward (its attribute `name`), or a CallOrderError."""
    if name not in vars(loss):
        label = type(loss).__name__
        raise CallOrderError(f"{label}: backward() was called before forward(); run forward(prediction, target) first")
    return vars(loss)[name]


class SoftmaxCrossEntropy:
    """L = -(1/N) sum_n log softmax(z_n)[y_n], from logits z (N, C) and integer labels y (N,).

    backward: dL/dz = (softmax(z) - onehot(y)) / N.
    """

    def forward(self, logits, target) -> float:
        logits = as_float_array(logits, "SoftmaxCrossEntropy logits", finite=False)
        if logits.ndim != 2:
            raise ShapeError(f"SoftmaxCrossEntropy: expected logits of shape (N, classes), got {logits.shape}")
        target = as_labels(target, logits.shape[0], logits.shape[1], name="SoftmaxCrossEntropy target")
        log_p = F.log_softmax(logits)
        self._cache = (log_p, target)
        return float(-log_p[np.arange(len(target)), target].mean())

    def backward(self):
        log_p, target = _after_forward(self, "_cache")
        grad = np.exp(log_p)
        grad[np.arange(len(target)), target] -= 1
        return grad / len(target)


class MSE:
    """L = mean((prediction - target)^2) over every element; dL/dp = 2 (p - t) / size."""

    def forward(self, prediction, target) -> float:
        prediction = as_float_array(prediction, "MSE prediction", finite=False)
        target = as_float_array(target, "MSE target", finite=False)
        if prediction.shape != target.shape:
            raise ShapeError(f"MSE: prediction shape {prediction.shape} and target shape {target.shape} differ")
        self._diff = prediction - target.astype(prediction.dtype)
        return float(np.mean(self._diff ** 2))

    def backward(self):
        diff = _after_forward(self, "_diff")
        return 2 * diff / diff.size


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "mse": MSE}
