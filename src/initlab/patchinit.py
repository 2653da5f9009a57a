"""Filters computed from the data before gradient training: k-means and PCA of image patches.

Floor 5 (NumPy only), beside LSUV. A third answer to "are filters trained or chosen?": they
can be *computed* from the training images, then handed to a Conv2D as its starting weight.

* `patch_kmeans` (Coates & Ng 2011, "The importance of encoding versus training with sparse
  coding and vector quantization"): random patches, each normalized (mean 0, std 1), ZCA-
  whitened, clustered by k-means; the centroids become the filters.
* `patch_pca` (PCANet, Chan et al. 2015): the leading principal components of the normalized
  patches become the filters.

Both are then scaled by one factor so that the layer's output on sample images has variance 1
(the target LSUV uses), so they are drop-in first-layer initializers; `from_data` binds the
images in and returns an initializer ``(shape, rng=None, *, dtype=np.float32) -> array``:

    Conv2D(1, 8, 3, padding=1, weight_init=from_data("patch_kmeans", x_train, padding=1))

The patches, their normalization and whitening, k-means and PCA are in `patches.py` (and
offered here too).
"""
from __future__ import annotations

import inspect

import numpy as np

from .convolution import conv2d
from .errors import DataError, InvalidValueError, ShapeError, UnknownNameError, unknown_name
from .patches import (DEFAULT_ITERATIONS, DEFAULT_PATCHES, NORMALIZE_EPS, ZCA_EPS, KMeansResult, Whitening,
                      check_images, check_kernel, extract_patches, kmeans, normalize_patches, pca, zca_whiten)
from .rng import as_generator
from .validate import as_float_array, pair, positive_int

__all__ = [
    "ZCA_EPS", "NORMALIZE_EPS", "Whitening", "KMeansResult",
    "extract_patches", "normalize_patches", "zca_whiten", "kmeans", "pca",
    "unit_variance_scale", "patch_kmeans", "patch_pca", "from_data", "METHODS",
]

DEFAULT_SCALE_IMAGES = 256


# ----------------------------------------------------------------------------------- scaling

def unit_variance_scale(weight, x, *, padding=0, stride=1, n_images=DEFAULT_SCALE_IMAGES, rng=None):
    """One factor s so that the layer's output on the data has variance 1: (s * weight, s).

    s = 1 / sqrt(Var(conv2d(x_sample, weight))), the variance over every output element
    (images, channels, positions) of the convolution without bias on up to `n_images` images
    drawn from x. This is LSUV's target (Mishkin & Matas 2016) for one layer, reached in one
    step because the output is linear in the weight.
    """
    x = check_images(x, "unit_variance_scale")
    weight = as_float_array(weight, "unit_variance_scale: weight", finite=True)
    if weight.ndim != 4:
        raise ShapeError(f"unit_variance_scale: expected a conv weight (out, in, kh, kw), got shape {weight.shape}")
    n_images = positive_int(n_images, "unit_variance_scale: n_images")
    if len(x) > n_images:
        x = x[np.sort(as_generator(rng).choice(len(x), size=n_images, replace=False))]
    y = conv2d(x.astype(np.float64), weight.astype(np.float64), None, stride, padding)
    var = float(y.var())
    if not var > 0:
        raise DataError("unit_variance_scale: the layer's output is constant on the data (variance 0); cannot scale it to 1")
    s = 1.0 / np.sqrt(var)
    return weight * s, s


# ----------------------------------------------------------------------------------- filters

def _prepare(x, out_channels, kernel_size, n_patches, who):
    x = check_images(x, who)
    kh, kw = check_kernel(kernel_size, x, who)
    out_channels = positive_int(out_channels, f"{who}: out_channels")
    n_patches = positive_int(n_patches, f"{who}: n_patches")
    if n_patches < out_channels:
        raise InvalidValueError(
            f"{who}: n_patches={n_patches} is fewer than out_channels={out_channels}; "
            "each filter needs patches to come from"
        )
    return x, (kh, kw), out_channels, n_patches


def _finish(filters, x, shape, scale, padding, gen, dtype):
    weight = filters.reshape(shape)
    if scale:
        weight, _ = unit_variance_scale(weight, x, padding=padding, rng=gen)
    return np.ascontiguousarray(weight, dtype=dtype)


def patch_kmeans(x, out_channels, kernel_size, whiten=True, rng=None, n_iter=DEFAULT_ITERATIONS,
                 n_patches=DEFAULT_PATCHES, *, zca_eps=ZCA_EPS, padding=0, scale=True,
                 dtype=np.float32) -> np.ndarray:
    """k-means filters from image patches (Coates & Ng 2011) -> weight (out_channels, C, kh, kw).

    patches = normalize(extract(x)); with whiten, z = ZCA(patches); centroids c_j = kmeans(z).
    With whitening the filter is w_j = W c_j (W the symmetric ZCA matrix): convolving the raw
    image with w_j gives c_j . W (p - mean) = the centroid's response to the whitened patch,
    up to a constant, so the conv layer computes what the k-means features compute. The filters
    are ordered by cluster size (largest first) and, with scale, multiplied by one factor so
    the layer's output variance on x is 1 (`unit_variance_scale`, with this `padding`).
    """
    who = "patch_kmeans"
    x, kernel, out_channels, n_patches = _prepare(x, out_channels, kernel_size, n_patches, who)
    gen = as_generator(rng)
    patches = normalize_patches(extract_patches(x, kernel, n_patches, gen))
    if whiten:
        patches, transform = zca_whiten(patches, zca_eps)
    result = kmeans(patches, out_channels, n_iter, gen)
    centroids = result.centroids[np.argsort(-result.counts, kind="stable")]
    if whiten:
        centroids = centroids @ transform.matrix      # W symmetric: rows become (W c_j)^T
    return _finish(centroids, x, (out_channels, x.shape[1], *kernel), scale, padding, gen, dtype)


def patch_pca(x, out_channels, kernel_size, rng=None, n_patches=DEFAULT_PATCHES, *, padding=0,
              scale=True, dtype=np.float32) -> np.ndarray:
    """PCA filters from image patches (PCANet, Chan et al. 2015) -> weight (out_channels, C, kh, kw).

    The `out_channels` leading principal components of the normalized patches, in order of
    explained variance; orthonormal unit vectors before scaling (scale=False keeps them so),
    then multiplied by one factor so the layer's output variance on x is 1. At most C*kh*kw
    filters exist.
    """
    who = "patch_pca"
    x, kernel, out_channels, n_patches = _prepare(x, out_channels, kernel_size, n_patches, who)
    dim = x.shape[1] * kernel[0] * kernel[1]
    if out_channels > dim:
        raise InvalidValueError(
            f"{who}: out_channels={out_channels} exceeds the patch dimension {dim} "
            f"(C*kh*kw); PCA has only {dim} components"
        )
    gen = as_generator(rng)
    components, _ = pca(normalize_patches(extract_patches(x, kernel, n_patches, gen)), out_channels)
    return _finish(components, x, (out_channels, x.shape[1], *kernel), scale, padding, gen, dtype)


METHODS = {"patch_kmeans": patch_kmeans, "patch_pca": patch_pca}
# from_data passes these itself: the images it binds, and the dtype the layer asks for
_BOUND = ("x", "dtype")


def _check_keywords(name: str, kwargs: dict):
    """Every keyword is a parameter of METHODS[name] that from_data does not pass itself, so a
    typo fails when the initializer is made, not when a layer is built."""
    accepted = [p for p in inspect.signature(METHODS[name]).parameters if p not in _BOUND]
    for key in kwargs:
        if key in _BOUND:
            raise UnknownNameError(
                f"from_data({name!r}): keyword {key!r} is not accepted: "
                + ("the images are the second argument" if key == "x" else "the layer passes its own dtype")
                + f" (valid: {', '.join(sorted(accepted))})"
            )
        if key not in accepted:
            raise unknown_name(f"from_data({name!r}) keyword", key, accepted)


def from_data(name, x_train, **kwargs):
    """An initializer with the images bound in: ``init(shape, rng=None, *, dtype=np.float32)``.

    `name` is "patch_kmeans" or "patch_pca"; `kwargs` go to it (n_patches, n_iter, whiten,
    padding, rng, ...) and are checked now (UnknownNameError with a did-you-mean). The returned function reads out_channels and kernel_size from
    `shape` = (out_channels, in_channels, kh, kw), checks that in_channels matches the images
    (and out_channels/kernel_size, where given in kwargs), and computes the filters. Patches are
    drawn from kwargs' rng if given, else from the rng the layer passes, so a seeded layer
    gets the same filters every time. Usable wherever an initializer is:
    ``Conv2D(1, 8, 3, weight_init=from_data("patch_kmeans", x_train))``.
    """
    if name not in METHODS:
        raise unknown_name("data-driven initializer", name, METHODS)
    _check_keywords(name, kwargs)
    x_train = check_images(x_train, name)
    method = METHODS[name]
    fixed_rng = kwargs.pop("rng", None)
    wanted_out = kwargs.pop("out_channels", None)
    wanted_kernel = kwargs.pop("kernel_size", None)
    if wanted_kernel is not None:
        wanted_kernel = pair(wanted_kernel, f"from_data({name!r}): kernel_size", minimum=1)

    def initializer(shape, rng=None, *, dtype=np.float32):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 4:
            raise ShapeError(f"{name}: expected a conv weight shape (out, in, kh, kw), got {shape}")
        expected = (x_train.shape[1], *(wanted_kernel or shape[2:]))
        if wanted_out is not None and shape[0] != wanted_out:
            raise ShapeError(f"{name}: bound for out_channels={wanted_out}, asked for a weight of shape {shape}")
        if shape[1:] != expected:
            raise ShapeError(
                f"{name}: the layer's weight {shape} needs (in, kh, kw) = {expected} "
                f"(in_channels from the bound images {x_train.shape})"
            )
        source = fixed_rng if fixed_rng is not None else rng
        return method(x_train, shape[0], shape[2:], rng=source, dtype=dtype, **kwargs)

    initializer.__name__ = name
    initializer.__qualname__ = f"from_data.{name}"
    return initializer
