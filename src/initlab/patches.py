"""Image patches and the statistics filters are computed from (floor 5, NumPy only):
random patches, per-patch normalization, ZCA whitening, k-means (k-means++ seeding), PCA.

Patch vectors are flattened channel-major, (C, kh, kw) -> C*kh*kw, the layout of one
filter of a conv weight (out, C, kh, kw), so a centroid reshapes straight into a filter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError, InvalidValueError, ShapeError
from .rng import as_generator
from .validate import as_float_array, as_images, pair, positive_int, real_number

# Coates & Ng's ZCA regularizer for contrast-normalized patches, whose covariance eigenvalues
# sum to about the patch dimension: directions with variance well under 0.1 are not blown up.
ZCA_EPS = 0.1
# Per-patch normalization divides by sqrt(var + eps), eps = NORMALIZE_EPS * the mean patch
# variance: relative, so it does not depend on the pixel scale, and it keeps nearly flat
# (noise-only) patches from being stretched to full contrast (the role of Coates & Ng's +10
# for 0..255 pixels).
NORMALIZE_EPS = 0.1

DEFAULT_PATCHES = 10_000
DEFAULT_ITERATIONS = 30


# ----------------------------------------------------------------------------------- patches

def check_images(x, who):
    return as_images(x, f"{who}: x", finite=True)


def check_kernel(kernel_size, x, who):
    kh, kw = pair(kernel_size, f"{who}: kernel_size", minimum=1)
    h, w = x.shape[2:]
    if kh > h or kw > w:
        raise ShapeError(f"{who}: kernel_size {kh}x{kw} is larger than the images ({h}x{w})")
    return kh, kw


def extract_patches(x, kernel_size, n_patches=DEFAULT_PATCHES, rng=None) -> np.ndarray:
    """Random patches of images: x (N, C, H, W) -> (n_patches, C*kh*kw) float64.

    Each patch takes an image and a top-left corner uniformly at random (with replacement),
    over the (H - kh + 1) x (W - kw + 1) positions where the kernel fits without padding.
    Gathered by one fancy index, no Python loop over patches.
    """
    x = check_images(x, "extract_patches")
    kh, kw = check_kernel(kernel_size, x, "extract_patches")
    n_patches = positive_int(n_patches, "extract_patches: n_patches")
    if len(x) == 0:
        raise DataError("extract_patches: x holds no images")
    gen = as_generator(rng)
    n, c, h, w = x.shape
    image = gen.integers(n, size=n_patches)
    rows = gen.integers(h - kh + 1, size=n_patches)[:, None] + np.arange(kh)      # (m, kh)
    cols = gen.integers(w - kw + 1, size=n_patches)[:, None] + np.arange(kw)      # (m, kw)
    patches = x[image[:, None, None, None], np.arange(c)[None, :, None, None],
                rows[:, None, :, None], cols[:, None, None, :]]                     # (m, c, kh, kw)
    return patches.reshape(n_patches, -1).astype(np.float64)


def _as_patches(patches, who):
    patches = as_float_array(patches, f"{who}: patches", finite=True)
    if patches.ndim != 2:
        raise ShapeError(f"{who}: expected patches as a 2-D array (n, dim), got shape {patches.shape}")
    return patches.astype(np.float64, copy=False)


def normalize_patches(patches, eps=None) -> np.ndarray:
    """Brightness and contrast normalization of each patch (row): p <- (p - mean(p)) / sqrt(var(p) + eps).

    eps None: NORMALIZE_EPS * the mean of the patches' variances (see NORMALIZE_EPS); eps=0
    gives every non-constant patch mean 0 and std 1. Refuses data whose patches are all flat.
    """
    patches = _as_patches(patches, "normalize_patches")
    centred = patches - patches.mean(axis=1, keepdims=True)
    var = centred.var(axis=1, keepdims=True)
    if not np.any(var > 0):
        raise DataError("normalize_patches: every patch is constant (no contrast to learn filters from)")
    if eps is None:
        eps = NORMALIZE_EPS * float(var.mean())
    eps = real_number(eps, "normalize_patches: eps", low=0.0)
    return centred / np.sqrt(np.maximum(var + eps, np.finfo(np.float64).tiny))


@dataclass(frozen=True)
class Whitening:
    """A ZCA transform: white = (p - mean) @ matrix, matrix = U diag(1 / sqrt(lambda + eps)) U^T."""

    mean: np.ndarray      # (dim,)
    matrix: np.ndarray    # (dim, dim), symmetric
    eps: float

    def apply(self, patches) -> np.ndarray:
        return (np.asarray(patches, dtype=np.float64) - self.mean) @ self.matrix


def zca_whiten(patches, eps=ZCA_EPS):
    """ZCA whitening (Bell & Sejnowski 1997): -> (whitened patches, Whitening).

    With C = cov(patches) = U diag(lambda) U^T, the transform is W = U diag(1/sqrt(lambda + eps)) U^T
    applied to the centred patches, so cov(white) = U diag(lambda / (lambda + eps)) U^T: the
    identity for eps -> 0, with directions of variance below eps damped rather than amplified.
    Of all whitening transforms, ZCA keeps the result closest to the original patches, so
    whitened patches (and centroids) still look like image pieces. eps default ZCA_EPS = 0.1.
    """
    patches = _as_patches(patches, "zca_whiten")
    eps = real_number(eps, "zca_whiten: eps", low=0.0)
    if len(patches) < 2:
        raise DataError(f"zca_whiten: a covariance needs at least 2 patches, got {len(patches)}")
    mean = patches.mean(axis=0)
    centred = patches - mean
    cov = centred.T @ centred / len(patches)
    lam, vec = np.linalg.eigh(cov)
    lam = np.maximum(lam, 0.0)          # round-off can make a null direction slightly negative
    if eps == 0 and np.any(lam <= 1e-12 * max(lam.max(), 1e-300)):
        raise DataError("zca_whiten: the patch covariance is singular; pass eps > 0")
    matrix = (vec / np.sqrt(lam + eps)) @ vec.T
    transform = Whitening(mean=mean, matrix=matrix, eps=eps)
    return centred @ matrix, transform


# ----------------------------------------------------------------------------------- k-means

@dataclass(frozen=True)
class KMeansResult:
    """centroids (k, dim); labels (n,); objective[t] = sum of squared distances of every point
    to its centroid at the assignment step of iteration t; counts (k,) of the final
    assignment; reseeded: how many times an empty cluster was moved to a far point."""

    centroids: np.ndarray
    labels: np.ndarray
    objective: np.ndarray
    counts: np.ndarray
    reseeded: int


def _squared_distances(data, data_sq, centroids):
    """||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2 for every point and centroid -> (n, k), >= 0."""
    d2 = data_sq[:, None] - 2.0 * (data @ centroids.T) + (centroids ** 2).sum(axis=1)[None, :]
    return np.maximum(d2, 0.0)


def _kmeans_plus_plus(data, data_sq, k, gen):
    """k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre uniformly, each next
    one drawn with probability proportional to its squared distance to the nearest centre."""
    centres = np.empty((k, data.shape[1]))
    centres[0] = data[gen.integers(len(data))]
    nearest = _squared_distances(data, data_sq, centres[:1])[:, 0]
    for j in range(1, k):
        total = nearest.sum()
        p = nearest / total if total > 0 else None     # all points on the centres: uniform
        centres[j] = data[gen.choice(len(data), p=p)]
        nearest = np.minimum(nearest, _squared_distances(data, data_sq, centres[j:j + 1])[:, 0])
    return centres


def kmeans(data, k, n_iter=DEFAULT_ITERATIONS, rng=None, *, init=None) -> KMeansResult:
    """Lloyd's k-means with k-means++ seeding: minimize sum_i ||x_i - c_{label(i)}||^2.

    data (n, dim) -> KMeansResult. Each of at most `n_iter` iterations assigns every point to
    its nearest centroid (all distances in one matrix product) and moves each centroid to the
    mean of its points. A cluster left empty is re-seeded at the point farthest from its own
    centroid (so no centroid is ever NaN); since an empty cluster holds no points, this never
    raises the objective, which is therefore non-increasing. Stops early once an assignment
    repeats (further iterations would change nothing). `init` (k, dim): start centroids
    instead of k-means++.
    """
    data = _as_patches(data, "kmeans")
    k = positive_int(k, "kmeans: k")
    n_iter = positive_int(n_iter, "kmeans: n_iter")
    if len(data) < k:
        raise InvalidValueError(f"kmeans: k={k} clusters need at least {k} points, got {len(data)}")
    gen = as_generator(rng)
    data_sq = (data ** 2).sum(axis=1)
    if init is None:
        centroids = _kmeans_plus_plus(data, data_sq, k, gen)
    else:
        centroids = as_float_array(init, "kmeans: init", finite=True).astype(np.float64, copy=True)
        if centroids.shape != (k, data.shape[1]):
            raise ShapeError(f"kmeans: init must have shape ({k}, {data.shape[1]}), got {centroids.shape}")
    objective, reseeded, labels = [], 0, None
    for _ in range(n_iter):
        d2 = _squared_distances(data, data_sq, centroids)
        new_labels = d2.argmin(axis=1)
        nearest = d2[np.arange(len(data)), new_labels]
        objective.append(float(nearest.sum()))
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        centroids, n_empty = _update_centroids(data, labels, centroids, nearest)
        reseeded += n_empty
    counts = np.bincount(labels, minlength=k)
    return KMeansResult(centroids, labels, np.array(objective), counts, reseeded)


def _update_centroids(data, labels, centroids, nearest):
    """Centroids <- the mean of their points; empty ones <- the farthest points (distinct)."""
    k = len(centroids)
    counts = np.bincount(labels, minlength=k)
    onehot = np.zeros((len(data), k))
    onehot[np.arange(len(data)), labels] = 1.0
    sums = onehot.T @ data
    new = centroids.copy()
    full = counts > 0
    new[full] = sums[full] / counts[full, None]
    empty = np.flatnonzero(~full)
    if empty.size:
        farthest = np.argsort(-nearest, kind="stable")[:empty.size]
        new[empty] = data[farthest]
    return new, int(empty.size)


# ----------------------------------------------------------------------------------- PCA

def pca(data, k):
    """The k leading principal components of data (n, dim): (components (k, dim), variances (k,)).

    Rows of `components` are orthonormal eigenvectors of the covariance of the centred data,
    ordered by decreasing explained variance `variances` (the eigenvalues). Each component's
    sign is fixed so that its largest-magnitude entry is positive (eigenvectors have no sign).
    """
    data = _as_patches(data, "pca")
    k = positive_int(k, "pca: k")
    n, dim = data.shape
    if k > dim:
        raise InvalidValueError(f"pca: k={k} components asked for, but the data has only {dim} dimensions")
    if n < 2:
        raise DataError(f"pca: a covariance needs at least 2 points, got {n}")
    centred = data - data.mean(axis=0)
    lam, vec = np.linalg.eigh(centred.T @ centred / n)
    order = np.argsort(lam)[::-1][:k]
    components = vec[:, order].T
    biggest = np.abs(components).argmax(axis=1)
    components *= np.sign(components[np.arange(k), biggest])[:, None]
    return components, np.maximum(lam[order], 0.0)
