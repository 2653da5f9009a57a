"""A numerically stable softmax and log-softmax over any axes.

Floor 1: NumPy only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..errors import InvalidValueError, ShapeError
from ..validate import as_float_array


def _logits(logits, axis, who):
    """(logits as a float array, axis as a tuple of distinct axes) with at least one entry along
    them; `axis` an int in [-ndim, ndim), a tuple of them, or None (all axes), as NumPy's
    reductions take."""
    logits = as_float_array(logits, f"{who} logits", finite=False)
    ndim = logits.ndim
    try:
        if isinstance(axis, (bool, list)):
            raise TypeError
        axes = tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)
    except (TypeError, ValueError, np.exceptions.AxisError):   # ValueError: an axis repeated
        raise InvalidValueError(f"{who} axis: expected an integer in [{-ndim}, {ndim}), a tuple of them "
                                f"or None for logits of shape {logits.shape}, got {axis!r}") from None
    if any(logits.shape[a] == 0 for a in axes):
        raise ShapeError(f"{who}: expected at least one logit along axis {axis}, got shape {logits.shape}")
    return logits, axes


def log_softmax(logits, axis=-1):
    """log softmax(z)_k = z_k - max(z) - log(sum_j exp(z_j - max(z))): no overflow for large z."""
    logits, axis = _logits(logits, axis, "log_softmax")
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits, axis=-1):
    """softmax(z)_k = exp(z_k - max z) / sum_j exp(z_j - max z)."""
    logits, axis = _logits(logits, axis, "softmax")
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
