"""The checks of what `fit` and `evaluate` are given beyond plain numbers (floor 4): the data
pairs (x, y) against the model and the loss, the history to continue and the callbacks.
Each failure names the argument ("train x", "val y", "history"), what was expected and what was
given; train.py's loop then trusts them.
"""
from __future__ import annotations

import numpy as np

from .errors import DataError, InvalidValueError, ShapeError
from .losses import SoftmaxCrossEntropy
from .run_state import History
from .validate import as_float_array, as_labels


def _check_pair(data, name):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidValueError(f"{name}: expected an (x, y) pair, got {type(data).__name__}")
    # any batch (N, ...): images (N, C, H, W) for a CNN, (N, features) for a Dense-only model;
    # the model's first layer then names a shape it cannot take (see _num_outputs)
    x = as_float_array(data[0], f"{name} x", finite=True)
    if x.ndim < 2:
        raise ShapeError(f"{name} x: expected a batch of examples (N, ...), e.g. images (N, C, H, W), "
                         f"got shape {x.shape}")
    if len(x) == 0:
        raise DataError(f"{name} x: expected at least one example, got shape {x.shape}")
    return x, data[1]


def _check_targets(x, y, name, loss_fn, num_outputs):
    if isinstance(loss_fn, SoftmaxCrossEntropy):
        return as_labels(y, len(x), num_outputs, name=f"{name} y")
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(x):
        raise ShapeError(f"{name} y: expected {len(x)} targets to match {name} x, got shape {y.shape}")
    return y


def _num_outputs(model, x):
    """The model's output width from a one-example eval pass (no side effects on the weights);
    it also reports a wrong input shape before any work is done."""
    out = model.infer(x[:1])
    return out.shape[1] if out.ndim == 2 else None


def checked_data(model, loss_fn, data, name):
    """(x, y) of `data` checked: x a non-empty float batch the model takes, y its targets
    (class labels in range for SoftmaxCrossEntropy)."""
    x, y = _check_pair(data, name)
    try:
        outputs = _num_outputs(model, x)
    except ShapeError as exc:      # the layer saw one example: say what the data's shape is
        raise ShapeError(f"{name} x of shape {x.shape} does not fit the model: {exc}") from None
    return x, _check_targets(x, y, name, loss_fn, outputs)


def check_history(history):
    """None or a History; a dict (e.g. read back from JSON) is refused with the way to convert it."""
    if history is None or isinstance(history, History):
        return history
    hint = " (use History.from_dict(...) to rebuild one from its to_dict() data)" if isinstance(history, dict) else ""
    raise InvalidValueError(f"history: expected a History (from an earlier fit) or None, "
                            f"got {type(history).__name__}{hint}")


def check_callbacks(callbacks) -> list:
    """None (no callbacks) or an iterable of callback objects, as a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise InvalidValueError(f"callbacks: expected a list of callback objects (or None), "
                                f"got {type(callbacks).__name__}")
    return list(callbacks)
