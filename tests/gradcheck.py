"""Central finite differences in float64, for checking every backward pass."""
from __future__ import annotations

import numpy as np

H = 1e-6
TOLERANCE = 1e-6


def relative_error(analytic, numeric):
    """|a - n| / max(|a| + |n|, 1e-8): relative where the gradient is not tiny."""
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)


def numeric_grad(f, array, indices, h=H):
    """d f / d array[idx] by central differences, for each idx in indices (array is perturbed in place)."""
    out = []
    for idx in indices:
        old = array[idx]
        array[idx] = old + h
        plus = f()
        array[idx] = old - h
        minus = f()
        array[idx] = old
        out.append((plus - minus) / (2 * h))
    return np.array(out)


def sample_indices(shape, rng, count=20):
    total = int(np.prod(shape))
    flat = rng.choice(total, size=min(count, total), replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def check_layer(layer, x, rng, count=20, training=True):
    """Compare a layer's backward (input and every parameter) with finite differences of
    f = sum(forward(x) * upstream), upstream a random gradient. Returns the worst error."""
    x = x.astype(np.float64)
    y = layer.forward(x, training=training)
    upstream = rng.normal(size=y.shape)
    upstream_copy = upstream.copy()
    grad_x = layer.backward(upstream)
    assert np.array_equal(upstream, upstream_copy), "backward mutated its argument"
    grads = {k: v.copy() for k, v in layer.grads.items()}

    def f():
        return float(np.sum(layer.forward(x, training=training) * upstream))

    worst = 0.0
    idx = sample_indices(x.shape, rng, count)
    worst = max(worst, relative_error(np.array([grad_x[i] for i in idx]), numeric_grad(f, x, idx)).max())
    for name, param in layer.params.items():
        idx = sample_indices(param.shape, rng, count)
        analytic = np.array([grads[name][i] for i in idx])
        worst = max(worst, relative_error(analytic, numeric_grad(f, param, idx)).max())
    return worst
