"""Layer-sequential unit-variance (LSUV) initialization, Mishkin & Matas 2016 ("All you need is a good init").

Floor 5: it needs a model and data, so it lives above the model, not in `init/`.

The recipe: pre-initialize every Conv2D/Dense weight with an orthonormal matrix (Saxe et al.
2014), then, from the first such layer to the last, show the network one batch and divide the
layer's weight by the standard deviation of its output, until that output's variance is 1
within `tol`. Each layer is fixed before the next is measured, so every layer sees inputs that
the layers below have already normalized: unit variance by construction, whatever the
activation, depth or padding, without any theory of them.
"""
from __future__ import annotations

import numpy as np

from . import init
from .errors import InvalidValueError
from .layers import Conv2D, Dense
from .rng import as_generator
from .validate import positive_int, real_number

_RESCALED = (Conv2D, Dense)


def _variance(y) -> float:
    with np.errstate(all="ignore"):
        return float(np.var(y, dtype=np.float64))


def _check_variance(var, layer, iteration):
    if not np.isfinite(var) or var <= 0:
        raise InvalidValueError(
            f"lsuv: {layer.label} output has variance {var!r} on the batch (iteration {iteration}); "
            "it cannot be rescaled to 1 (all outputs equal, dead, or non-finite)"
        )


def _initialized(layer) -> bool:
    """LSUV sets the Conv2D/Dense layers, except frozen ones (hand-made filters stay as chosen)."""
    return isinstance(layer, _RESCALED) and layer.trainable


def _orthonormal_preinit(model, x_batch, rng):
    """Replace every trainable Conv2D/Dense weight by an orthonormal one (gain 1) of its shape."""
    model.forward(x_batch[:1], training=False)   # builds lazily sized Dense layers
    for layer in model.layers:
        if _initialized(layer):
            weight = layer.params["weight"]
            layer.params["weight"] = init.orthogonal(weight.shape, rng, dtype=weight.dtype)
            layer.init_names["weight"] = "lsuv(orthogonal)"


def _fit_layer(layer, h, tol, max_iter):
    """Rescale one layer's weight until Var(layer(h)) is within tol of 1: (record, output)."""
    y = layer.forward(h, training=False)
    var = initial = _variance(y)
    _check_variance(var, layer, 0)
    iterations, scale = 0, 1.0
    while abs(var - 1.0) > tol and iterations < max_iter:
        factor = 1.0 / np.sqrt(var)
        layer.params["weight"] *= layer.params["weight"].dtype.type(factor)
        scale *= factor
        iterations += 1
        y = layer.forward(h, training=False)
        var = _variance(y)
        _check_variance(var, layer, iterations)
    name = layer.init_names.get("weight", "?")
    if not name.startswith("lsuv"):
        layer.init_names["weight"] = f"lsuv({name})"
    record = {"label": layer.label, "iterations": iterations, "variance": var,
              "initial_variance": initial, "scale": scale, "converged": abs(var - 1.0) <= tol}
    return record, y


def lsuv(model, x_batch, tol=0.1, max_iter=10, rng=None, orthonormal=True) -> list[dict]:
    """Initialize `model` in place so each Conv2D/Dense output has variance 1 on `x_batch`.

    1. (orthonormal=True) every Conv2D/Dense weight <- `init.orthogonal` (gain 1) of its shape,
       drawn from `rng`; with orthonormal=False the model's current weights are only rescaled.
    2. For each such layer L in order, with B_L its output on the batch (before the activation):
       while |Var(B_L) - 1| > tol and fewer than `max_iter` rescalings: W_L <- W_L / sqrt(Var(B_L)).
       Without a bias one rescaling is exact; with biases it converges in a few.

    Layers run in eval mode (batch-norm statistics and dropout untouched). Biases are left as
    they are, and so are frozen layers (`trainable=False`, e.g. hand-made filters). Returns one
    record per rescaled layer: label, iterations, variance (final), initial_variance, scale (the
    product of the factors applied), converged (|variance - 1| <= tol).
    A layer whose output has zero or non-finite variance cannot be rescaled: InvalidValueError.
    """
    tol = real_number(tol, "lsuv tol", low=0, low_open=True)
    max_iter = positive_int(max_iter, "lsuv max_iter", minimum=0)
    x_batch = np.asarray(x_batch)
    if x_batch.ndim < 2 or len(x_batch) == 0:
        raise InvalidValueError(f"lsuv: x_batch must be a non-empty batch (N, ...), got shape {x_batch.shape}")
    rng = as_generator(rng)
    if orthonormal:
        _orthonormal_preinit(model, x_batch, rng)
    records, h = [], x_batch
    for layer in model.layers:
        if _initialized(layer):
            record, h = _fit_layer(layer, h, tol, max_iter)
            records.append(record)
        else:
            h = layer.forward(h, training=False)
    if not records:
        raise InvalidValueError("lsuv: the model has no trainable Conv2D or Dense layer to rescale")
    return records
