"""The structured initializers (floor 1): orthogonal, identity, dirac, delta-orthogonal, sparse.

Each is ``name(shape, rng=None, *, dtype=np.float32, **params)`` like the random schemes in
``schemes.py``; they fix the weight's geometry (orthonormal rows, a centre tap, few nonzeros)
instead of only its variance.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..rng import as_generator
from ..validate import positive_int, real_number
from .checks import _check_rng, _finite, _nonneg, _setup


def _random_orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A Haar-random (rows, cols) matrix with orthonormal rows (rows <= cols) or columns.

    QR of a Gaussian matrix, with each column of Q multiplied by the sign of R's diagonal:
    without that fix Q is not uniformly distributed (Mezzadri 2007).
    """
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    signs = np.sign(np.diag(r))
    q *= np.where(signs == 0, 1.0, signs)
    return q.T if rows < cols else q


def orthogonal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """Saxe et al. 2014: a random orthogonal matrix times `gain`, for the flattened weight.

    The weight is viewed as ``(shape[0], prod(shape[1:]))``; its rows are orthonormal if there
    are no more rows than columns (W W^T = gain**2 I), otherwise its columns are (W^T W =
    gain**2 I). Every singular value of the weight matrix equals gain, so a dense layer neither
    stretches nor shrinks any direction (dynamical isometry of a deep linear dense net).
    For a conv kernel this holds for the flattened (out, in*kh*kw) matrix only, not for the
    convolution it defines (overlapping windows, zero padding): the input-output Jacobian of a
    tanh conv stack with flattened orthogonal kernels is as ill-conditioned as with Gaussian
    ones (condition number > 1e16, float64's limit, at 200 layers of width 16 on 8x8 images
    on the critical line, where delta-orthogonal kernels give 3.3e4); use `delta_orthogonal`
    for conv layers.
    """
    shape, dtype = _setup(shape, dtype, "orthogonal")
    if len(shape) < 2:
        raise ShapeError(f"orthogonal: needs a weight of at least 2 dimensions, got shape {shape}")
    gain = _nonneg(gain, "orthogonal: gain")
    rows, cols = shape[0], math.prod(shape[1:])
    w = _random_orthogonal(as_generator(rng), rows, cols)
    return _finite(lambda: (w * gain).reshape(shape), dtype, "orthogonal", f"gain={gain:g}")


def identity(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """`gain` times the (possibly rectangular) identity matrix, for a dense (out, in) weight:
    w[i, i] = gain for i < min(out, in). A dense layer then passes its input through."""
    shape, dtype = _setup(shape, dtype, "identity")
    if len(shape) != 2:
        raise ShapeError(
            f"identity: needs a 2-D (out, in) weight, got shape {shape}; use dirac for conv weights"
        )
    gain = _nonneg(gain, "identity: gain")
    _check_rng(rng)
    return _finite(lambda: np.eye(*shape) * gain, dtype, "identity", f"gain={gain:g}")


def dirac(shape, rng=None, *, dtype=np.float32, groups: int = 1) -> np.ndarray:
    """The identity convolution (Zagoruyko & Komodakis 2017, DiracNets), with groups.

    Shape (out, in/groups, *kernel): in each group g, output channel ``g * out/groups + d``
    gets a 1 at the centre tap (index k // 2 on each axis) of its input channel d, for
    d < min(out/groups, in/groups); everything else is 0. A stride-1 conv with "same" padding
    and an odd kernel then copies its first min(out, in) input channels to its output.
    """
    shape, dtype = _setup(shape, dtype, "dirac")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"dirac: needs a conv weight (out, in/groups, *kernel) of 3 to 5 dimensions, got shape {shape}")
    if 0 in shape:
        raise ShapeError(f"dirac: every axis needs at least one entry (a centre tap), got shape {shape}")
    groups = positive_int(groups, "dirac: groups")
    if shape[0] % groups:
        raise ShapeError(f"dirac: out_channels = {shape[0]} is not divisible by groups={groups}")
    _check_rng(rng)
    w = np.zeros(shape, dtype=dtype)
    per_group = shape[0] // groups
    centre = tuple(k // 2 for k in shape[2:])
    for d in range(min(per_group, shape[1])):
        w[(np.arange(groups) * per_group + d, d) + centre] = 1.0
    return w


def delta_orthogonal(shape, rng=None, *, dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """Xiao et al. 2018: a random orthogonal (out, in) matrix at the kernel's centre tap, zeros elsewhere.

    Shape (out, in, *kernel) with in <= out, so the centre matrix H has orthonormal columns
    (H^T H = I): the conv maps each pixel's channel vector x to gain * H x, preserving its
    norm exactly; a stack of such *linear* convs is norm-preserving at any depth. With an
    activation between them it is not: the Jacobian's singular values stay near 1 only at the
    critical point of the mean-field theory (gain**2 = `critical_sigma_w2`, e.g. 1 for tanh with
    zero biases) and with pre-activations of variance q* << 1/depth. The input-output
    Jacobian of a 200-layer tanh stack (width 16, 8x8 images, `python -m bench.jacobian`) has
    condition number 2.2 at gain 1 without biases (inputs of variance 1e-3), 3.3e4 on the
    critical line at sigma_b^2 = 1e-5 (q* = 0.02), and beyond float64's reach (> 1e16) with
    Gaussian or flattened orthogonal kernels at the same point. Xiao et al. trained
    10,000-layer plain CNNs from it at criticality; see `critical(kernel=delta_orthogonal)`
    and `initlab.theory`.
    """
    shape, dtype = _setup(shape, dtype, "delta_orthogonal")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(
            f"delta_orthogonal: needs a conv weight (out, in, *kernel) of 3 to 5 dimensions, got shape {shape}"
        )
    if 0 in shape:
        raise ShapeError(f"delta_orthogonal: every axis needs at least one entry (a centre tap), got shape {shape}")
    if shape[1] > shape[0]:
        raise ShapeError(
            f"delta_orthogonal: needs in_channels <= out_channels (an orthogonal map cannot "
            f"shrink the channel count), got in={shape[1]} > out={shape[0]} (shape {shape})"
        )
    gain = _nonneg(gain, "delta_orthogonal: gain")
    _finite(lambda: gain, dtype, "delta_orthogonal", f"gain={gain:g}")     # |entries| <= gain
    w = np.zeros(shape, dtype=dtype)
    centre = tuple(k // 2 for k in shape[2:])
    w[(slice(None), slice(None)) + centre] = gain * _random_orthogonal(as_generator(rng), shape[0], shape[1])
    return w


def sparse(shape, rng=None, *, dtype=np.float32, sparsity: float = 0.9, std: float = 0.01) -> np.ndarray:
    """Martens 2010 style sparse init: each output unit keeps few nonzero incoming weights.

    The weight is viewed as (out, fan_in) = (shape[0], prod(shape[1:])). In every row,
    ceil(sparsity * fan_in) entries, chosen uniformly at random, are 0; the rest are
    N(0, std**2). (PyTorch's ``sparse_`` zeroes per column instead, i.e. per input unit.)
    """
    shape, dtype = _setup(shape, dtype, "sparse")
    if len(shape) < 2:
        raise ShapeError(f"sparse: needs a weight of at least 2 dimensions, got shape {shape}")
    sparsity = real_number(sparsity, "sparse: sparsity", low=0.0, high=1.0)
    std = _nonneg(std, "sparse: std")
    rng = as_generator(rng)
    rows, cols = shape[0], math.prod(shape[1:])
    with np.errstate(over="ignore"):        # (_finite below names an overflow)
        w = rng.standard_normal((rows, cols)) * std
    n_zero = math.ceil(sparsity * cols)
    # argsort of iid uniforms gives an independent random permutation per row
    zero_cols = np.argsort(rng.random((rows, cols)), axis=1)[:, :n_zero]
    np.put_along_axis(w, zero_cols, 0.0, axis=1)
    return _finite(lambda: w.reshape(shape), dtype, "sparse", f"std={std:g}")
