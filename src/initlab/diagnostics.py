"""Measurements on any Sequential: filter similarity, template scores, signal propagation.

Floor 5 (NumPy only). These are the instruments the lab's studies read; the mean-field
prediction they are compared with, `predicted_propagation`, lives in `propagation.py` and is
offered here too.
"""
from __future__ import annotations

import numpy as np

from .errors import InvalidValueError, ShapeError
from .propagation import predicted_propagation
from .validate import as_float_array

__all__ = ["filter_similarity", "offdiagonal", "template_scores", "signal_propagation", "SATURATION",
           "predicted_propagation"]


def _as_float64(array, who) -> np.ndarray:
    """A real array in float64; complex (whose imaginary part would be dropped), bool, string
    and object arrays are a DTypeError naming `who`."""
    return as_float_array(array, who, finite=False, int_dtype=np.float64).astype(np.float64, copy=False)


def _as_filters(weight, who):
    weight = _as_float64(weight, f"{who} weight")
    if weight.ndim < 2:
        raise ShapeError(f"{who}: expected a weight with an output axis first, (out, ...), got shape {weight.shape}")
    if weight.shape[0] == 0:
        raise ShapeError(f"{who}: expected at least one filter, got a weight of shape {weight.shape}")
    return weight.reshape(weight.shape[0], -1)


def filter_similarity(weight) -> np.ndarray:
    """Pairwise cosine similarity of a layer's filters: S[i, j] = <w_i, w_j> / (|w_i| |w_j|).

    weight (out, ...) -> S (out, out). Two all-zero filters count as identical (S = 1): a
    zero-initialized layer has not broken the symmetry, and its similarity should say so.
    A matrix of ones everywhere means every filter is the same: the symmetry was never broken.
    """
    flat = _as_filters(weight, "filter_similarity")
    norms = np.linalg.norm(flat, axis=1)
    zero = norms == 0
    unit = np.divide(flat, norms[:, None], out=np.zeros_like(flat), where=~zero[:, None])
    sim = unit @ unit.T
    sim[np.ix_(zero, zero)] = 1.0
    return np.clip(sim, -1.0, 1.0)


def offdiagonal(matrix) -> np.ndarray:
    """The entries of a square matrix (n, n) off its diagonal, as a flat array (n * (n - 1),)."""
    try:
        matrix = np.asarray(matrix)
    except Exception as exc:      # ragged nested lists
        raise ShapeError(f"offdiagonal: expected a square matrix (n, n), got {type(matrix).__name__} ({exc})") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ShapeError(f"offdiagonal: expected a square matrix (n, n), got shape {matrix.shape}")
    return matrix[~np.eye(matrix.shape[0], dtype=bool)]


def template_scores(weight, templates=None):
    """How much each kernel looks like each hand-made template: (scores, template names).

    For kernel k (one input channel of one filter) and template t of the same size, the
    score is the absolute Pearson correlation |corr(k, t)| (the normalized correlation of the
    mean-subtracted arrays, maximized over the sign flip k -> -k). A filter's score is the
    best over its input channels. weight (out, in, kh, kw) -> scores (out, len(templates)).
    `templates` defaults to `filters.templates(kh)` (X, plus, diagonals, lines, edges).
    """
    weight = _as_float64(weight, "template_scores weight")
    if weight.ndim != 4:
        raise ShapeError(f"template_scores: expected a conv weight (out, in, kh, kw), got shape {weight.shape}")
    if weight.shape[2] != weight.shape[3]:
        raise ShapeError(f"template_scores: expected square kernels, got {weight.shape[2]}x{weight.shape[3]}")
    if weight.shape[0] == 0 or weight.shape[1] == 0:
        raise ShapeError(f"template_scores: expected at least one filter and one input channel, "
                         f"got a weight of shape {weight.shape}")
    if templates is None:
        from .filters import templates as make_templates
        templates = make_templates(weight.shape[2])
    names, stack = _template_stack(templates, weight.shape[2:])

    def normalize(a):
        a = a.reshape(*a.shape[:-2], -1)
        a = a - a.mean(axis=-1, keepdims=True)
        norm = np.linalg.norm(a, axis=-1, keepdims=True)
        return np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)

    corr = np.einsum("oik,tk->oit", normalize(weight), normalize(stack))
    return np.abs(corr).max(axis=1), names


def _template_stack(templates, kernel_shape):
    """(names, (T, kh, kw) float64 stack) from a non-empty {name: (kh, kw) array} dict."""
    if not isinstance(templates, dict):
        raise InvalidValueError(f"template_scores templates: expected a dict {{name: (kh, kw) array}} "
                                f"or None, got {type(templates).__name__}")
    if not templates:
        raise InvalidValueError("template_scores templates: expected at least one template, got an empty dict")
    names, arrays = list(templates), []
    for name in names:
        array = _as_float64(templates[name], f"template_scores template {name!r}")
        if array.shape != tuple(kernel_shape):
            raise ShapeError(f"template_scores: template {name!r} has shape {array.shape}, "
                             f"expected the kernels' {tuple(kernel_shape)}")
        arrays.append(array)
    return names, np.stack(arrays)


# --------------------------------------------------------------------------- signal propagation

SATURATION = 0.99   # a tanh/sigmoid output counts as saturated beyond 99% of the way to its bound

# activation layer type -> (centre, half range) of its output interval, for saturation
_BOUNDED = {"Tanh": (0.0, 1.0), "Sigmoid": (0.5, 0.5)}


def _moments(values: np.ndarray) -> dict:
    """mean, std, rms, fraction of exact zeros, in float64 (inf/nan pass through)."""
    with np.errstate(all="ignore"):
        v = values.astype(np.float64, copy=False)
        return {"mean": float(v.mean()), "std": float(v.std()), "rms": float(np.sqrt(np.mean(v * v))),
                "zero_fraction": float(np.mean(v == 0))}


def _histogram(values: np.ndarray, kind: str, bins: int):
    """Counts and edges over the finite values: tanh on [-1, 1], sigmoid on [0, 1], else [min, max]."""
    finite = values[np.isfinite(values)].astype(np.float64, copy=False)
    if kind in _BOUNDED:
        centre, half = _BOUNDED[kind]
        low, high = centre - half, centre + half
    elif finite.size:
        low, high = float(finite.min()), float(finite.max())
    else:
        low, high = -1.0, 1.0
    if not high > low:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return counts, edges


def _saturated(values: np.ndarray, kind: str):
    """Fraction of outputs with |y - centre| > SATURATION * half range (None if unbounded)."""
    if kind not in _BOUNDED:
        return None
    centre, half = _BOUNDED[kind]
    with np.errstate(invalid="ignore"):
        return float(np.mean(np.abs(values.astype(np.float64) - centre) > SATURATION * half))


def _forward_record(index, layer, y, bins):
    kind = type(layer).__name__
    counts, edges = _histogram(y, kind, bins)
    return {"index": index, "label": layer.label, "type": kind, "shape": list(y.shape[1:]),
            **_moments(y), "saturated_fraction": _saturated(y, kind),
            "hist_counts": counts, "hist_edges": edges,
            "grad_std": None, "weight_std": None, "weight_grad_std": None, "update_ratio": None}


def _std(a) -> float:
    with np.errstate(all="ignore"):
        return float(np.asarray(a, dtype=np.float64).std())


def _norm(a) -> float:
    with np.errstate(all="ignore"):
        return float(np.linalg.norm(np.asarray(a, dtype=np.float64).ravel()))


def _backward_records(model, records, grad, lr):
    """Run the backward pass layer by layer, recording what reaches each layer's output."""
    for index in range(len(model.layers) - 1, -1, -1):
        layer, record = model.layers[index], records[index]
        record["grad_std"] = _std(grad)
        if index == 0 and layer.can_skip_input_grad:
            layer.backward(grad, need_input_grad=False)
        else:
            with np.errstate(all="ignore"):
                grad = layer.backward(grad)
        if "weight" in layer.params and "weight" in layer.grads:
            w, g = layer.params["weight"], layer.grads["weight"]
            record["weight_std"] = _std(w)
            record["weight_grad_std"] = _std(g)
            w_norm = _norm(w)
            record["update_ratio"] = lr * _norm(g) / w_norm if w_norm > 0 else float("inf")


def signal_propagation(model, x, y=None, *, loss_fn=None, lr=0.01, bins=50) -> list[dict]:
    """Forward and backward statistics of every layer of `model` on one batch `x`.

    One forward pass (training mode, as the first training step sees it) records, for layer i's
    output y_i: mean, std, rms = sqrt(mean(y_i^2)), the fraction of exact zeros (dead ReLU
    outputs), the fraction saturated (Tanh/Sigmoid layers only, else None: |y - c| > 0.99 h for
    the output interval's centre c and half-width h, i.e. |y| > 0.99 for tanh and y < 0.005 or
    y > 0.995 for the sigmoid), and a histogram (`bins` bins; tanh on [-1, 1], sigmoid on
    [0, 1], others on [min, max] of the finite values).

    With labels `y`, the loss (`loss_fn`, default softmax cross-entropy) is back-propagated and
    each record also gets grad_std = std of d loss / d y_i (the gradient reaching the layer's
    output) and, for layers with a weight W: weight_std, weight_grad_std = std of dL/dW and
    update_ratio = lr |dL/dW| / |W| (Frobenius norms: the relative size of one plain SGD step).
    Without `y` those entries stay None. Statistics are computed in float64; non-finite values
    (an exploding stack) give inf/nan rather than an error. Returns one dict per layer, in order.
    """
    from .losses import SoftmaxCrossEntropy
    from .validate import positive_int, real_number

    bins = positive_int(bins, "signal_propagation bins")
    lr = real_number(lr, "signal_propagation lr", low=0)
    if loss_fn is not None and not (callable(getattr(loss_fn, "forward", None))
                                    and callable(getattr(loss_fn, "backward", None))):
        raise InvalidValueError(f"signal_propagation loss_fn: expected a loss with forward(logits, y) "
                                f"and backward() (e.g. losses.SoftmaxCrossEntropy()) or None, "
                                f"got {type(loss_fn).__name__}")
    records, h = [], x
    with np.errstate(all="ignore"):
        for index, layer in enumerate(model.layers):
            h = layer.forward(h, training=True)
            records.append(_forward_record(index, layer, h, bins))
    if y is not None:
        loss_fn = SoftmaxCrossEntropy() if loss_fn is None else loss_fn
        with np.errstate(all="ignore"):
            loss_fn.forward(h, y)
            grad = loss_fn.backward()
        _backward_records(model, records, grad, lr)
    return records
