"""Mean-field signal propagation for one activation, and critical initialization (floor 1).

A wide layer with weights of variance sigma_w^2 / fan_in and biases of variance sigma_b^2
maps the pre-activation variance q of its input to (Poole et al. 2016)

    V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2,        z ~ N(0, 1)

and multiplies a small perturbation's squared norm, and the gradient's variance, by

    chi_1(q) = sigma_w^2 E[phi'(sqrt(q) z)^2].

q* = V(q*) is the fixed point the variance settles to; the critical line is the set of
(sigma_w^2, sigma_b^2) with chi_1(q*) = 1 (order on one side, chaos on the other; Schoenholz
et al. 2017). `critical` draws a kernel on that line. Expectations are computed by
Gauss-Hermite quadrature, except where a saturating activation's derivative is a spike much
narrower than the Gaussian (see `moments`). `theory` (floor 5) builds on these functions.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InvalidValueError, ShapeError, unknown_name
from ..functional import ACTIVATIONS
from ..validate import real_number

POINTS = 100                 # an even count: no node on the kink at 0 (ReLU's phi' jumps there)
SATURATION_EDGE = 40.0       # beyond |z| = 40 a saturating activation is flat to ~1e-34
_NAMES = (*ACTIVATIONS, "linear")


def hermite_rule(points: int = POINTS):
    """Probabilists' Gauss-Hermite nodes and weights normalized so that E[f(z)] = w . f(nodes)
    (fresh copies of a cached rule: numpy's eigenvalue solve costs ~ms)."""
    nodes, weights = _hermite(points)
    return nodes.copy(), weights.copy()


@functools.lru_cache(maxsize=16)
def _hermite(points):
    nodes, weights = np.polynomial.hermite_e.hermegauss(points)
    return nodes, weights / math.sqrt(2 * math.pi)


@functools.lru_cache(maxsize=4)
def grid_rule(cell: float = 0.25, per_cell: int = 4):
    """Composite Gauss-Legendre nodes and weights on [-40, 40] (cells of width `cell`); cached,
    read-only."""
    x, w = np.polynomial.legendre.leggauss(per_cell)
    edges = np.arange(-SATURATION_EDGE, SATURATION_EDGE, cell)
    nodes = (edges[:, None] + (x[None, :] + 1) * cell / 2).ravel()
    weights = np.tile(w * cell / 2, len(edges))
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def activation_pair(activation, param=None):
    """z -> (phi(z), phi'(z)) in float64 for an activation name (functional.ACTIVATIONS, or
    "linear"); `param` is leaky_relu's slope or elu's alpha."""
    if not isinstance(activation, str) or activation not in _NAMES:
        raise unknown_name("activation", activation, _NAMES)
    if activation == "linear":
        return lambda z: (z, np.ones_like(z))
    fn, grad = ACTIVATIONS[activation]
    params = {}
    if param is not None:
        key = {"leaky_relu": "negative_slope", "elu": "alpha"}.get(activation)
        if key is None:
            raise InvalidValueError(f"activation {activation} takes no parameter, got param={param!r}")
        params[key] = real_number(param, f"{activation} {key} (param)")

    def pair(z):
        with np.errstate(all="ignore"):
            y = np.asarray(fn(z, **params), dtype=np.float64)
            return y, np.asarray(grad(z, y, **params), dtype=np.float64)
    return pair


def saturating(pair) -> bool:
    """True for activations that flatten on both sides (tanh, sigmoid): phi'(+-40)^2 < 1e-12."""
    _, dphi = pair(np.array([-SATURATION_EDGE, SATURATION_EDGE]))
    return bool(np.all(dphi * dphi < 1e-12))


def _moments_on_grid(pair, q):
    """E[phi], E[phi^2], E[phi'^2] for z ~ N(0, q) (q a flat array > 0) of a saturating phi:
    phi on a fine fixed grid over [-40, 40] against the N(0, q) density, plus the mass beyond
    +-40 at phi's limits there."""
    nodes, w = grid_rule()
    phi, dphi = pair(nodes)
    density = np.exp(-nodes[None, :] ** 2 / (2 * q[:, None])) / np.sqrt(2 * np.pi * q[:, None]) * w
    tail = np.array([math.erfc(SATURATION_EDGE / math.sqrt(2 * v)) for v in q]) / 2   # each side
    edge_phi, edge_dphi = pair(np.array([-SATURATION_EDGE, SATURATION_EDGE]))
    m1 = density @ phi + tail * edge_phi.sum()
    m2 = density @ (phi * phi) + tail * (edge_phi ** 2).sum()
    d2 = density @ (dphi * dphi) + tail * (edge_dphi ** 2).sum()
    return m1, m2, d2


def moments(pair, q, nodes=None, weights=None):
    """E[phi(z)], E[phi(z)^2], E[phi'(z)^2] for z ~ N(0, q), elementwise over the array q.

    Gauss-Hermite (`nodes`, `weights`, default `hermite_rule()`) throughout, except for a
    saturating activation (tanh, sigmoid) where q > 1: there phi' is a spike much narrower
    than the Gaussian, which no affordable Hermite rule resolves (100 nodes get E[tanh'^2] at
    q = 130 wrong by 20x), so a composite Gauss-Legendre grid on [-40, 40] is used (~1e-10).
    """
    if nodes is None:
        nodes, weights = hermite_rule()
    # q = 0 is read as its limit q -> 0+ (phi'(0+), which matters at a kink such as ReLU's)
    q = np.maximum(np.asarray(q, dtype=np.float64), 1e-300)
    flat = q.reshape(-1)
    phi, dphi = pair(np.sqrt(flat)[:, None] * nodes)
    m1, m2, d2 = phi @ weights, (phi * phi) @ weights, (dphi * dphi) @ weights
    wide = flat > 1.0
    if wide.any() and saturating(pair):
        m1[wide], m2[wide], d2[wide] = _moments_on_grid(pair, flat[wide])
    return m1.reshape(q.shape), m2.reshape(q.shape), d2.reshape(q.shape)


# ---------------------------------------------------------------------------------- the maps

def _sigmas(sigma_w2, sigma_b2, who):
    return (real_number(sigma_w2, f"{who}: sigma_w2", low=0.0, low_open=True),
            real_number(sigma_b2, f"{who}: sigma_b2", low=0.0))


def variance_map(activation, q, sigma_w2, sigma_b2, param=None):
    """V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2: the next layer's pre-activation variance."""
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "variance_map")
    return sigma_w2 * moments(activation_pair(activation, param), q)[1] + sigma_b2


def chi_1(activation, q, sigma_w2, param=None):
    """chi_1 = sigma_w^2 E[phi'(sqrt(q) z)^2]: the per-layer factor on a perturbation's squared
    norm and on the gradient's variance, at pre-activation variance q."""
    sigma_w2, _ = _sigmas(sigma_w2, 0.0, "chi_1")
    return sigma_w2 * moments(activation_pair(activation, param), q)[2]


_Q_MAX = 1e30


def fixed_point_q(activation, sigma_w2, sigma_b2, param=None) -> float:
    """q*: the stable fixed point of the variance map, V(q*) = q* (0 if the signal dies out,
    inf if it grows without bound, as for ReLU with sigma_w^2 >= 2 and sigma_b^2 > 0).

    Bisection on log q of V(q) - q between q = 1e-300 and the first power of 4 where the map
    falls below the diagonal (the variance map of a bounded or ReLU-like phi crosses it once).
    """
    sigma_w2, sigma_b2 = _sigmas(sigma_w2, sigma_b2, "fixed_point_q")
    pair = activation_pair(activation, param)
    excess = lambda q: sigma_w2 * float(moments(pair, q)[1]) + sigma_b2 - q
    lo = 1e-300
    if excess(lo) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        lo, hi = hi, hi * 4
        if hi > _Q_MAX:
            return math.inf
    for _ in range(200):
        mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
        if hi - lo <= 1e-14 * hi:
            break
    return (lo + hi) / 2


def critical_sigma_w2(activation, sigma_b2=0.0, param=None) -> float:
    """The critical line: the sigma_w^2 at which chi_1(q*) = 1 for bias variance sigma_b^2.

    Bisection on log sigma_w^2 (chi_1 at the fixed point grows with sigma_w^2). Closed forms it
    reproduces: tanh at sigma_b^2 = 0 gives 1 (q* = 0, phi'(0) = 1); relu gives 2 for every
    sigma_b^2 (chi_1 = sigma_w^2 / 2 whatever q), linear 1.
    """
    sigma_b2 = real_number(sigma_b2, "critical_sigma_w2: sigma_b2", low=0.0)
    activation_pair(activation, param)          # checks the name and the parameter
    return _critical(activation, sigma_b2, None if param is None else float(param))


@functools.lru_cache(maxsize=256)     # a deep model draws one kernel per layer from the same line
def _critical(activation, sigma_b2, param):
    pair = activation_pair(activation, param)

    def chi_at_fixed_point(s):
        q = fixed_point_q(activation, s, sigma_b2, param)
        q = 1.0 if not math.isfinite(q) else q        # only for phi with chi independent of q
        return s * float(moments(pair, q)[2])

    lo, hi = 1e-3, 1.0
    while chi_at_fixed_point(hi) < 1:
        lo, hi = hi, hi * 2
        if hi > 1e6:
            raise InvalidValueError(f"critical_sigma_w2: {activation} has no critical point below "
                                    f"sigma_w2 = 1e6 at sigma_b2 = {sigma_b2:g}")
    while chi_at_fixed_point(lo) > 1:
        lo, hi = lo / 2, lo
        if lo < 1e-9:
            raise InvalidValueError(f"critical_sigma_w2: {activation} has chi_1 > 1 already at "
                                    f"sigma_w2 = 1e-9 (sigma_b2 = {sigma_b2:g})")
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if chi_at_fixed_point(mid) < 1 else (lo, mid)
        if hi - lo <= 1e-13 * hi:
            break
    return (lo + hi) / 2


# ---------------------------------------------------------------------------------- the scheme

CRITICAL_KERNELS = ("delta_orthogonal", "gaussian", "orthogonal")


def critical(shape, rng=None, *, dtype=np.float32, activation: str = "tanh", sigma_b2: float = 0.0,
             kernel: str = "delta_orthogonal") -> np.ndarray:
    """A kernel on the critical line: sigma_w^2 = critical_sigma_w2(activation, sigma_b2).

    kernel="delta_orthogonal" (Xiao et al. 2018): an orthogonal (out, in) matrix times
    sqrt(sigma_w^2) at the centre tap; "gaussian": N(0, sigma_w^2 / fan_in) for every tap;
    "orthogonal": the flattened (out, fan_in) weight orthogonal times sqrt(sigma_w^2). The
    biases belong on the same line: draw them N(0, sigma_b^2) (e.g. "normal(std=...)").
    """
    from .fans import _as_shape, compute_fans
    from .schemes import normal
    from .structured import delta_orthogonal, orthogonal

    if kernel not in CRITICAL_KERNELS:
        raise unknown_name("critical kernel", kernel, CRITICAL_KERNELS)
    sigma_w2 = critical_sigma_w2(activation, sigma_b2)
    gain = math.sqrt(sigma_w2)
    if kernel == "delta_orthogonal":
        return delta_orthogonal(shape, rng, dtype=dtype, gain=gain)
    if kernel == "orthogonal":
        return orthogonal(shape, rng, dtype=dtype, gain=gain)
    shape = _as_shape(shape, "critical: shape")
    if len(shape) < 2:
        raise ShapeError(f"critical: needs a weight of at least 2 dimensions, got shape {shape}")
    return normal(shape, rng, dtype=dtype, std=gain / math.sqrt(compute_fans(shape)[0]))
