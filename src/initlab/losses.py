"""Losses: `forward(prediction, target) -> float` and `backward() -> d loss / d prediction`.

Floor 2. Both average over the batch, as PyTorch's default reduction="mean"; the cross-entropy
also takes PyTorch's options (weights, ignore_index, label smoothing, reductions, soft targets).
"""
from __future__ import annotations

import math

import numpy as np

from . import functional as F
from .errors import CallOrderError, InvalidValueError, ShapeError
from .constraints import Integer, Real, Satisfies, check
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

    PyTorch's options (torch.nn.CrossEntropyLoss, same names) take the general form below:
    `weight` (C,) per-class weights w, `ignore_index` (a label that counts for nothing),
    `label_smoothing` eps, `reduction` in "mean"/"sum"/"none", and soft targets (a float (N, C)
    array of class probabilities t instead of labels). With log p = log softmax(z),

        labels:  a_nc = m_n ((1 - eps) w_c [c = y_n] + eps w_c / C),  m_n = [y_n != ignore_index]
        soft:    a_nc = w_c ((1 - eps) t_nc + eps / C)
        l_n = -sum_c a_nc log p_nc;  "none": l;  "sum": sum_n l_n;  "mean": sum_n l_n / D,
        D = sum_n m_n w_{y_n} for labels (a weighted mean, as torch), N for soft targets
        backward: dl_n/dz_n = (sum_c a_nc) p_n - a_n, times 1/D (mean), 1 (sum) or the upstream
        gradient of l ("none": `backward(grad)` takes it, shape (N,), ones by default).
    """

    REDUCTIONS = ("mean", "sum", "none")
    PARAMETERS = {"ignore_index": Integer(), "reduction": Satisfies(lambda v: v in ("mean", "sum", "none"),
                                                                      "one of ['mean', 'sum', 'none']"), "label_smoothing": Real(0, 1)}

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        if weight is not None:
            weight = as_float_array(weight, "SoftmaxCrossEntropy weight", int_dtype=np.float64)
            if weight.ndim != 1 or (weight < 0).any():
                raise InvalidValueError(f"SoftmaxCrossEntropy weight: expected a 1-D array of per-class "
                                        f"weights >= 0, got shape {weight.shape}")
        given = check("SoftmaxCrossEntropy", self.PARAMETERS, dict(
            ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing))
        self.weight = weight
        self.ignore_index, self.reduction, self.label_smoothing = given.values()
        # the defaults keep the plain path above; any option takes the general one
        self._plain = weight is None and reduction == "mean" and self.label_smoothing == 0

    def forward(self, logits, target):
        if not self._plain or _is_soft(target) or self._ignores_some(target):
            return self._forward_general(logits, target)
        logits = as_float_array(logits, "SoftmaxCrossEntropy logits", finite=False)
        if logits.ndim != 2:
            raise ShapeError(f"SoftmaxCrossEntropy: expected logits of shape (N, classes), got {logits.shape}")
        target = as_labels(target, logits.shape[0], logits.shape[1], name="SoftmaxCrossEntropy target")
        log_p = F.log_softmax(logits)
        vars(self).pop("_general", None)
        self._cache = (log_p, target)
        return float(-log_p[np.arange(len(target)), target].mean())

    def backward(self, grad=None):
        if not self._plain or "_general" in vars(self):
            return self._backward_general(grad)
        log_p, target = _after_forward(self, "_cache")
        grad = np.exp(log_p)
        grad[np.arange(len(target)), target] -= 1
        return grad / len(target)

    # ------------------------------------------------------------------ the options

    def _ignores_some(self, target) -> bool:
        labels = np.asarray(target)
        return labels.ndim == 1 and labels.dtype.kind in "iuf" and bool(np.any(labels == self.ignore_index))

    def _coefficients(self, logits, target):
        """(a (N, C), D) of the docstring's general form, after checking the target."""
        n, classes = logits.shape
        w = np.ones(classes) if self.weight is None else self.weight
        if self.weight is not None and len(w) != classes:
            raise ShapeError(f"SoftmaxCrossEntropy weight: has {len(w)} entries for {classes} classes")
        eps = self.label_smoothing
        if _is_soft(target):
            if self.ignore_index != -100:     # torch refuses it too
                raise InvalidValueError(f"SoftmaxCrossEntropy ignore_index: applies to integer labels, not to "
                                        f"class probabilities (got ignore_index={self.ignore_index})")
            target = as_float_array(target, "SoftmaxCrossEntropy target", int_dtype=np.float64)
            if target.shape != logits.shape:
                raise ShapeError(f"SoftmaxCrossEntropy target: class probabilities must have the logits' "
                                 f"shape {logits.shape}, got {target.shape}")
            a = w * ((1 - eps) * target.astype(np.float64) + eps / classes)
            return a, float(n)
        labels = np.asarray(target)
        ignored = labels == self.ignore_index if labels.ndim == 1 else np.zeros(n, bool)
        labels = as_labels(np.where(ignored, 0, labels), n, classes, name="SoftmaxCrossEntropy target")
        keep = (~ignored).astype(np.float64)[:, None]
        a = keep * (eps / classes) * w
        a[np.arange(n), labels] += keep[:, 0] * (1 - eps) * w[labels]
        return a, float(np.sum(keep[:, 0] * w[labels]))

    def _forward_general(self, logits, target):
        logits = as_float_array(logits, "SoftmaxCrossEntropy logits", finite=False)
        if logits.ndim != 2:
            raise ShapeError(f"SoftmaxCrossEntropy: expected logits of shape (N, classes), got {logits.shape}")
        a, denom = self._coefficients(logits, target)
        log_p = F.log_softmax(logits)
        self._general = (log_p, a, denom)
        vars(self).pop("_cache", None)
        losses = -(a * log_p).sum(axis=1)
        if self.reduction == "none":
            return losses.astype(logits.dtype)
        total = float(losses.sum())
        # an all-ignored batch: 0/0 = nan, as torch
        return total if self.reduction == "sum" else (total / denom if denom else math.nan)

    def _backward_general(self, grad):
        log_p, a, denom = _after_forward(self, "_general")
        if self.reduction == "none":
            upstream = np.ones(len(a)) if grad is None else np.asarray(grad, dtype=np.float64)
            if upstream.shape != (len(a),):
                raise ShapeError(f"SoftmaxCrossEntropy.backward: reduction 'none' takes the gradient of the "
                                 f"{len(a)} losses, shape ({len(a)},), got {upstream.shape}")
        else:
            upstream = 1.0 if grad is None else float(grad)
            upstream = upstream if self.reduction == "sum" else upstream / denom
            upstream = np.full(len(a), upstream)
        out = (a.sum(axis=1, keepdims=True) * np.exp(log_p) - a) * upstream[:, None]
        return out.astype(log_p.dtype)


def _is_soft(target) -> bool:
    """Class probabilities (a float (N, C) array), not labels."""
    return getattr(target, "ndim", np.ndim(target)) == 2 and np.asarray(target).dtype.kind == "f"


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
