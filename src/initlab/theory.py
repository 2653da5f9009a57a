"""Mean-field theory of deep signal propagation, for any activation (floor 5).

For a deep vanilla net with weights of variance sigma_w^2 / fan_in and biases of variance
sigma_b^2 (Poole et al. 2016, Schoenholz et al. 2017, Xiao et al. 2018):

    variance map      q_l = V(q_{l-1}) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2,   q* = V(q*)
    correlation map   c_l = C(c_{l-1}) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*,
                      u1 = sqrt(q*) z1, u2 = sqrt(q*) (c z1 + sqrt(1 - c^2) z2),        c* = C(c*)
    chi_1  = sigma_w^2 E[phi'(sqrt(q*) z)^2]            (gradient / perturbation factor per layer)
    chi_c  = sigma_w^2 E[phi'(u1) phi'(u2)] at c*        (= chi_1 where c* = 1)
    chi_q  = V'(q*) = sigma_w^2 E[(z^2 - 1) phi(sqrt(q*) z)^2] / (2 q*)   (Stein's lemma)
    xi_q = -1 / ln chi_q,  xi_c = -1 / ln chi_c           (depth scales; trainable to ~6 xi_c)

The one-dimensional expectations and the critical line come from `init.meanfield` (floor 1,
where the `critical` initializer needs them); this module adds the correlation map, the depth
scales, zero padding's border loss on conv layers, and `vanilla_cnn`, the deep plain conv
net the depth studies build.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidValueError, ShapeError, unknown_name
from .init.meanfield import (activation_pair, chi_1, critical_sigma_w2, fixed_point_q, hermite_rule,
                             moments, variance_map)
from .layers import Conv2D, Dense, Flatten, GlobalAvgPool2D, activation_layer
from .model import Sequential
from .rng import as_generator
from .validate import pair as _pair, positive_int, real_number

__all__ = ["variance_map", "fixed_point_q", "chi_1", "critical_sigma_w2", "chi_q", "correlation_map",
           "fixed_point_c", "chi_c", "depth_scales", "padding_gain", "padding_loss", "padded_variance_maps",
           "vanilla_cnn", "KERNELS"]

_CORRELATION_POINTS = 100   # 100^2 nodes: smooth phi to ~1e-12; a kink (ReLU) to ~1e-3


def _sigmas(sigma_w2, sigma_b2, who):
    return (real_number(sigma_w2, f"{who}: sigma_w2", low=0.0, low_open=True),
            real_number(sigma_b2, f"{who}: sigma_b2", low=0.0))


def _q_star(activation, sigma_w2, sigma_b2, param, who):
    q = fixed_point_q(activation, sigma_w2, sigma_b2, param)
    if not math.isfinite(q):
        raise InvalidValueError(f"{who}: the variance grows without bound for {activation} at sigma_w2 = "
                                f"{sigma_w2:g}, sigma_b2 = {sigma_b2:g} (no fixed point q*)")
    return q


def chi_q(activation, sigma_w2, sigma_b2, param=None) -> float:
    """V'(q*): how fast the variance approaches its fixed point (0 < chi_q < 1 when stable)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "chi_q")
    q = _q_star(activation, sigma_w2, sigma_b2, param, "chi_q")
    if q == 0.0:   # V'(0) = sigma_w^2 phi'(0)^2 (the variance map's slope at the origin)
        return float(chi_1(activation, 0.0, sigma_w2, param))
    nodes, weights = hermite_rule()
    phi, _ = activation_pair(activation, param)(math.sqrt(q) * nodes)
    return float(sigma_w2 * np.dot(weights, (nodes ** 2 - 1) * phi * phi) / (2 * q))


def _pair_expectations(activation, q, c, param):
    """E[phi(u1) phi(u2)], E[phi(u1)^2] and E[phi'(u1) phi'(u2)] for Gaussians of variance q and
    correlation c (one tensor-product Gauss-Hermite rule for all three, so that C(1) = 1 exactly)."""
    nodes, weights = hermite_rule(_CORRELATION_POINTS)
    z1, z2 = np.meshgrid(nodes, nodes, indexing="ij")
    w = np.outer(weights, weights)
    s = math.sqrt(q)
    fn = activation_pair(activation, param)
    phi1, dphi1 = fn(s * z1)
    phi2, dphi2 = fn(s * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2))
    return float((w * phi1 * phi2).sum()), float((w * phi1 * phi1).sum()), float((w * dphi1 * dphi2).sum())


def correlation_map(activation, c, sigma_w2, sigma_b2, param=None) -> float:
    """C(c): the correlation of two inputs' pre-activations one layer up, both at variance q*
    (q12 / q*, with q* = V(q*) evaluated by the same rule as q12)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "correlation_map")
    c = real_number(c, "correlation_map: c", low=-1.0, high=1.0)
    q = _q_star(activation, sigma_w2, sigma_b2, param, "correlation_map")
    if q == 0.0:
        return 1.0
    cross, square, _ = _pair_expectations(activation, q, c, param)
    return (sigma_w2 * cross + sigma_b2) / (sigma_w2 * square + sigma_b2)


def fixed_point_c(activation, sigma_w2, sigma_b2, param=None) -> float:
    """c*: 1 in the ordered phase (chi_1 <= 1: inputs converge), < 1 in the chaotic phase
    (chi_1 > 1: c = 1 is unstable and the stable fixed point lies below; found by iterating C
    from c = 0, then bisection on C(c) - c)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "fixed_point_c")
    q = _q_star(activation, sigma_w2, sigma_b2, param, "fixed_point_c")
    if q == 0.0 or chi_1(activation, q, sigma_w2, param) <= 1.0:
        return 1.0
    excess = lambda c: correlation_map(activation, c, sigma_w2, sigma_b2, param) - c
    lo, hi = -1.0, 1.0 - 1e-6       # C(c) - c > 0 below c*, < 0 between c* and 1
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def chi_c(activation, sigma_w2, sigma_b2, param=None) -> float:
    """C'(c*) = sigma_w^2 E[phi'(u1) phi'(u2)] at the fixed point c* (chi_1 where c* = 1)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "chi_c")
    q = _q_star(activation, sigma_w2, sigma_b2, param, "chi_c")
    c = fixed_point_c(activation, sigma_w2, sigma_b2, param)
    if c == 1.0:
        return float(chi_1(activation, q, sigma_w2, param))
    return sigma_w2 * _pair_expectations(activation, q, c, param)[2]


def depth_scales(activation, sigma_w2, sigma_b2, param=None) -> dict:
    """{q_star, c_star, chi_1, chi_q, chi_c, xi_q, xi_c}: xi = -1 / ln chi (inf at chi = 1, the
    critical line, where correlations decay only polynomially)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "depth_scales")
    q = _q_star(activation, sigma_w2, sigma_b2, param, "depth_scales")
    cq, cc = chi_q(activation, sigma_w2, sigma_b2, param), chi_c(activation, sigma_w2, sigma_b2, param)
    scale = lambda chi: math.inf if chi == 1.0 else 0.0 if chi <= 0 else -1.0 / math.log(chi)
    return {"q_star": q, "c_star": fixed_point_c(activation, sigma_w2, sigma_b2, param),
            "chi_1": float(chi_1(activation, q, sigma_w2, param)), "chi_q": cq, "chi_c": cc,
            "xi_q": scale(cq), "xi_c": scale(cc)}


# ------------------------------------------------------------------------- zero padding on conv layers

def _tap_operator(size: int, kernel: int, padding: int) -> np.ndarray:
    """(out, in) 0/1 matrix: which input positions a stride-1 1-D window covers, zero-padded."""
    out = size + 2 * padding - kernel + 1
    if out < 1:
        raise ShapeError(f"padding_gain: a {kernel}-tap kernel with padding {padding} has no output on {size} pixels")
    rows = np.arange(out)[:, None] + np.arange(kernel)[None, :] - padding
    m = np.zeros((out, size))
    for r, taps in enumerate(rows):
        inside = taps[(taps >= 0) & (taps < size)]
        m[r, inside] = 1.0
    return m


def padding_gain(image_size, kernel_size=3, padding=1) -> float:
    """The per-layer factor by which zero padding shrinks a Gaussian-kernel conv stack's
    variance (and gradient variance) in the linear regime: the largest eigenvalue of the
    window-sum operator divided by kh*kw. Border pixels see fewer than kh*kw inputs, so deep in
    the stack the variance profile settles on that eigenvector and every layer multiplies it by
    this factor; the effective critical sigma_w^2 is then the infinite image's divided by it.
    1 for circular padding (or an infinite image); delta-orthogonal kernels use only the centre
    tap and are not affected. A 3x3 kernel with padding 1 on 8x8 images: (1 + 2 cos(pi/9))^2 / 9.
    """
    (h, w), (kh, kw), (ph, pw) = (_pair(image_size, "padding_gain image_size", minimum=1),
                                  _pair(kernel_size, "padding_gain kernel_size", minimum=1),
                                  _pair(padding, "padding_gain padding"))
    if h + 2 * ph - kh + 1 != h or w + 2 * pw - kw + 1 != w:
        raise ShapeError(f"padding_gain: needs 'same' padding ((k - 1) / 2 each side) so the map keeps its "
                         f"size, got kernel {(kh, kw)} with padding {(ph, pw)}")
    rho = lambda m: float(np.max(np.abs(np.linalg.eigvalsh(m))))   # symmetric for same padding
    return rho(_tap_operator(h, kh, ph)) * rho(_tap_operator(w, kw, pw)) / (kh * kw)


def padding_loss(image_size, depth, kernel_size=3, padding=1) -> float:
    """The fraction of a perturbation's squared norm (or of the variance) that `depth`
    zero-padded Gaussian-kernel conv layers keep, averaged over the starting pixel, in the
    linear regime: (1 / HW) 1^T (T / (kh kw))^depth 1, with T the window-sum operator (the
    product of its row and column factors). It tends to padding_gain**depth for deep stacks."""
    depth = positive_int(depth, "padding_loss depth", minimum=0)
    (h, w), (kh, kw), (ph, pw) = (_pair(image_size, "padding_loss image_size", minimum=1),
                                  _pair(kernel_size, "padding_loss kernel_size", minimum=1),
                                  _pair(padding, "padding_loss padding"))
    if h + 2 * ph - kh + 1 != h or w + 2 * pw - kw + 1 != w:
        raise ShapeError(f"padding_loss: needs 'same' padding, got kernel {(kh, kw)} with padding {(ph, pw)}")
    total = 1.0
    for size, k, p in ((h, kh, ph), (w, kw, pw)):
        v = np.ones(size)
        op = _tap_operator(size, k, p) / k
        for _ in range(depth):
            v = op.T @ v
        total *= float(v.mean())
    return total


def padded_variance_maps(activation, sigma_w2, sigma_b2, image_size, depth, *, kernel_size=3, padding=1,
                         q0=1.0, param=None) -> np.ndarray:
    """(depth, H, W): the mean-field pre-activation variance at every pixel of a zero-padded
    Gaussian-kernel conv stack, q_l(p) = sigma_w^2 / (kh kw) sum_{taps in bounds} E[phi(z(p + t))^2]
    + sigma_b^2, from a homogeneous input of pre-activation variance q0 (layer 0's output)."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "padded_variance_maps")
    depth = positive_int(depth, "padded_variance_maps depth")
    (h, w), (kh, kw), (ph, pw) = (_pair(image_size, "image_size", minimum=1), _pair(kernel_size, "kernel_size", minimum=1),
                                  _pair(padding, "padding"))
    rows, cols = _tap_operator(h, kh, ph), _tap_operator(w, kw, pw)
    fn = activation_pair(activation, param)
    q = np.full((h, w), real_number(q0, "padded_variance_maps q0", low=0.0))
    out = [q]
    for _ in range(depth - 1):
        m2 = moments(fn, q)[1]
        q = sigma_w2 / (kh * kw) * (rows @ m2 @ cols.T) + sigma_b2
        out.append(q)
    return np.stack(out)


# ------------------------------------------------------------------------- the deep vanilla conv net

KERNELS = ("delta_orthogonal", "gaussian", "orthogonal")


HEADS = ("average", "flatten")


def _kernel_spec(kernel, sigma_w2):
    if kernel == "delta_orthogonal":
        return f"delta_orthogonal(gain={math.sqrt(sigma_w2)!r})"
    if kernel == "orthogonal":
        return f"orthogonal(gain={math.sqrt(sigma_w2)!r})"
    return f"variance_scaling(scale={sigma_w2!r}, mode=fan_in, distribution=normal)"


def vanilla_cnn(depth, width=16, *, activation="tanh", kernel="delta_orthogonal", sigma_w2=None,
                sigma_b2=0.0, in_channels=1, num_classes=10, kernel_size=3, padding=1, rng=None,
                dtype=np.float32, checkpoint_segments=None, head="average", padding_mode="zeros",
                image_size=8) -> Sequential:
    """A deep plain conv net (no normalization, no skips) initialized at (sigma_w^2, sigma_b^2).

    `depth` conv layers (kernel_size, stride 1, `padding` of `padding_mode`; in_channels ->
    width, then width -> width), each followed by `activation`; then the `head`: "average"
    (global average pooling to `width` numbers, as Xiao et al. 2018) or "flatten" (all
    width x H x W numbers of an `image_size` (H, W) or H = W map, as LeNet), and a
    LeCun-normal dense layer to num_classes. The average head must learn spatial features
    through the whole stack; the flatten head can read the near-isometric stack's output
    position by position. `kernel`: "delta_orthogonal", "gaussian" or
    "orthogonal" (flattened) drawn with weight variance sigma_w^2 / fan_in (default: on the
    critical line, `critical_sigma_w2(activation, sigma_b2)`), biases N(0, sigma_b^2); or any
    other initializer spec ("he_normal"), used as given with zero biases.
    """
    depth, width = positive_int(depth, "vanilla_cnn depth"), positive_int(width, "vanilla_cnn width")
    rng = as_generator(rng)
    if isinstance(kernel, str) and kernel in KERNELS:
        if sigma_w2 is None:
            sigma_w2 = critical_sigma_w2(activation, sigma_b2)
        sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "vanilla_cnn")
        weight_init = _kernel_spec(kernel, sigma_w2)
        bias_init = f"normal(std={math.sqrt(sigma_b2)!r})" if sigma_b2 > 0 else "zeros"
    elif sigma_w2 is not None or sigma_b2:
        raise InvalidValueError(f"vanilla_cnn: sigma_w2/sigma_b2 go with kernel in {KERNELS}, got kernel={kernel!r}")
    else:
        weight_init, bias_init = kernel, "zeros"
    if head not in HEADS:
        raise unknown_name("vanilla_cnn head", head, HEADS)
    layers = []
    for index in range(depth):
        layers.append(Conv2D(in_channels if index == 0 else width, width, kernel_size, padding=padding,
                             padding_mode=padding_mode, weight_init=weight_init, bias_init=bias_init,
                             rng=rng, dtype=dtype))
        act = activation_layer(activation, dtype=dtype)
        if act is not None:
            layers.append(act)
    if head == "average":
        layers += [GlobalAvgPool2D(dtype=dtype), Flatten(dtype=dtype),
                   Dense(width, num_classes, weight_init="lecun_normal", rng=rng, dtype=dtype)]
    else:
        height, width_px = _pair(image_size, "vanilla_cnn image_size", minimum=1)
        features = width * height * width_px
        layers += [Flatten(dtype=dtype), Dense(features, num_classes, weight_init="lecun_normal", rng=rng, dtype=dtype)]
    if checkpoint_segments is None:
        return Sequential(layers)
    return Sequential(layers, checkpoint_segments=checkpoint_segments)
