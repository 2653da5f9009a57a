"""The zero-mean study's maths: how a shifted init's mean activation grows per layer (the
window-sum eigenvalue, the predicted factor, the onset shift s_c), and what the study measures
(per-layer statistics at init, growth, one-sidedness, gradient-sign agreement).
`experiments/zero_mean.py` has the derivation; its names stay importable from there.

Floor 6.
"""
from __future__ import annotations

import math

import numpy as np

from ..layers import Conv2D


# --------------------------------------------------------------------------- theory

def window_eigenvalue(height, width, kernel=3) -> float:
    """The largest eigenvalue of the k x k window sum with zero padding (k // 2) on an H x W map:
    prod over the axes of (1 + 2 cos(pi / (n + 1))) for k = 3; k^2 on an infinite map."""
    if kernel != 3:
        return float(kernel * kernel)
    return (1 + 2 * math.cos(math.pi / (height + 1))) * (1 + 2 * math.cos(math.pi / (width + 1)))


def predicted_factor(width, shift=1.0, image_size=(8, 8), kernel=3, padding=True) -> float:
    """The per-layer growth of the mean activation once the mean term dominates:
    shift * a * C * lambda, a = sqrt(6 / (C k^2)); lambda = k^2 without padding
    (shift sqrt(6 fan_in)), `window_eigenvalue` with it."""
    fan_in = width * kernel * kernel
    lam = window_eigenvalue(*image_size, kernel) if padding else kernel * kernel
    return shift * math.sqrt(6.0 / fan_in) * width * lam


def onset_shift(width, image_size=(8, 8), kernel=3, padding=True) -> float:
    """s_c: the shift at which `predicted_factor` is 1."""
    return 1.0 / predicted_factor(width, 1.0, image_size, kernel, padding)


def centred_factor(image_size=(8, 8), kernel=3) -> float:
    """He's per-layer factor of the activation scale (std, and the mean of a ReLU output, which
    is proportional to it) with zero padding: sqrt(lambda / k^2)."""
    return math.sqrt(window_eigenvalue(*image_size, kernel) / (kernel * kernel))


# --------------------------------------------------------------------------- measurements

def propagation(model, x):
    """Forward `x` through the model in eval mode and measure every conv layer at init.

    Returns a dict of per-conv-layer lists: "pre_mean", "pre_std" (of the conv output),
    "post_mean" (of the following ReLU's output), "active" (fraction of pre-activations > 0).
    """
    stats = {"pre_mean": [], "pre_std": [], "post_mean": [], "active": []}
    with np.errstate(all="ignore"):
        h = x
        for layer in model:
            h = layer.forward(h, training=False)
            if isinstance(layer, Conv2D):
                z = h.astype(np.float64)
                stats["pre_mean"].append(float(z.mean()))
                stats["pre_std"].append(float(z.std()))
                stats["active"].append(float((z > 0).mean()))
                stats["post_mean"].append(float(np.maximum(z, 0).mean()))
    return stats


def growth_per_layer(post_mean) -> float:
    """The geometric mean of the layer-to-layer ratios of the mean ReLU output (layers 2..L):
    (m_L / m_1)^(1 / (L - 1)); None when a layer is dead (m = 0) or there is one layer."""
    post = np.asarray(post_mean, dtype=np.float64)
    if post.size < 2 or not np.all(post > 0) or not np.all(np.isfinite(post)):
        return None
    return float(np.exp(np.log(post[-1] / post[0]) / (post.size - 1)))


def one_sidedness(z) -> float:
    """How far each unit's pre-activation sits from zero: sqrt(mean_j m_j^2 / mean_j v_j) for
    z (N, C, H, W), m_j and v_j the mean and variance of channel j over images and positions."""
    z = np.asarray(z, dtype=np.float64)
    mean = z.mean(axis=(0, 2, 3))
    var = z.var(axis=(0, 2, 3))
    return float(math.sqrt(np.mean(mean ** 2) / np.mean(var)))


def majority_sign_fraction(grad) -> float:
    """The fraction of each unit's weight-gradient entries that share its majority sign,
    averaged over units: grad (out, ...) -> in [0.5, 1] (zeros count for neither sign)."""
    flat = np.asarray(grad, dtype=np.float64).reshape(len(grad), -1)
    positive = (flat > 0).sum(axis=1)
    negative = (flat < 0).sum(axis=1)
    return float(np.mean(np.maximum(positive, negative) / flat.shape[1]))


def random_sign_fraction(entries) -> float:
    """`majority_sign_fraction` of a unit whose `entries` signs are independent fair coins:
    E[max(K, n - K)] / n, K ~ Binomial(n, 1/2) (0.637 for a 3x3 kernel on one channel)."""
    return sum(max(k, entries - k) * math.comb(entries, k) for k in range(entries + 1)) / 2.0 ** entries / entries
