"""Data-driven filters: patches, normalization, ZCA, k-means, PCA, scaling, from_data, bad input."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from initlab import convolution as C
from initlab import init, patchinit as P
from initlab.data import shapes
from initlab.errors import DataError, InvalidValueError, ShapeError, UnknownNameError
from initlab.layers import Conv2D


@pytest.fixture(scope="module")
def images():
    return shapes(120, size=12, rng=0)[0]


# ----------------------------------------------------------------------------- patches

def test_extract_patches_are_windows_of_the_images():
    n, c, h, w = 3, 2, 7, 6
    x = np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w)   # every pixel value unique
    patches = P.extract_patches(x, (3, 2), 50, rng=1)
    assert patches.shape == (50, c * 3 * 2) and patches.dtype == np.float64
    for p in patches:
        img, rest = divmod(int(p[0]), c * h * w)
        i, j = divmod(rest, w)   # the patch's first value is channel 0 at its top-left corner
        np.testing.assert_array_equal(p, x[img, :, i:i + 3, j:j + 2].ravel())


def test_normalize_patches_zero_mean_unit_std():
    rng = np.random.default_rng(0)
    patches = rng.normal(3.0, 2.0, size=(100, 9))
    out = P.normalize_patches(patches, eps=0)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, atol=1e-12)
    damped = P.normalize_patches(patches)            # the default eps only shrinks the contrast
    assert np.all(damped.std(axis=1) < 1)


# ----------------------------------------------------------------------------- ZCA

def test_zca_whitened_covariance_is_identity():
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(6, 6))
    data = rng.normal(size=(5000, 6)) @ mixing + 4.0          # correlated, off-centre
    white, transform = P.zca_whiten(data, eps=1e-9)
    cov = np.cov(white, rowvar=False, bias=True)
    np.testing.assert_allclose(cov, np.eye(6), atol=1e-6)
    np.testing.assert_allclose(white.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(transform.matrix, transform.matrix.T)           # ZCA: symmetric
    np.testing.assert_allclose(transform.apply(data), white)


def test_zca_eps_damps_small_directions(images):
    patches = P.normalize_patches(P.extract_patches(images, 3, 3000, rng=0))
    white, _ = P.zca_whiten(patches)                          # default eps = ZCA_EPS
    eig = np.linalg.eigvalsh(np.cov(white, rowvar=False, bias=True))
    assert eig.max() <= 1 + 1e-9                              # lambda / (lambda + eps) < 1
    assert eig.min() < 0.01                                   # the constant direction is not blown up


# ----------------------------------------------------------------------------- k-means

def blobs(rng, centres, per=200, noise=0.05):
    points = np.concatenate([c + noise * rng.standard_normal((per, centres.shape[1])) for c in centres])
    return rng.permutation(points)


def test_kmeans_recovers_known_centres():
    rng = np.random.default_rng(2)
    centres = rng.uniform(-5, 5, size=(5, 4))
    result = P.kmeans(blobs(rng, centres), 5, n_iter=50, rng=3)
    cost = np.linalg.norm(result.centroids[:, None] - centres[None], axis=2)
    rows, cols = linear_sum_assignment(cost)                  # match up to order
    assert cost[rows, cols].max() < 0.02
    assert sorted(result.counts) == [200] * 5


def test_kmeans_objective_never_increases():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((600, 5))                      # no clusters: many moves
    result = P.kmeans(data, 8, n_iter=40, rng=0)
    obj = result.objective
    assert len(obj) > 3
    assert np.all(np.diff(obj) <= 1e-9 * obj[0]), obj
    d2 = ((data[:, None] - result.centroids[None]) ** 2).sum(axis=2)
    assert np.isclose(obj[-1], d2.min(axis=1).sum())          # the objective is what it says


def test_kmeans_reseeds_empty_clusters():
    rng = np.random.default_rng(5)
    data = blobs(rng, np.array([[0.0, 0.0], [3.0, 3.0], [-3.0, 3.0]]), per=50)
    start = np.array([[0.0, 0.0], [3.0, 3.0], [1e3, 1e3]])     # the third centroid gets no point
    result = P.kmeans(data, 3, n_iter=20, init=start)
    assert result.reseeded >= 1
    assert np.isfinite(result.centroids).all()
    assert np.all(result.counts > 0)
    assert np.all(np.diff(result.objective) <= 1e-9 * result.objective[0])


def test_kmeans_on_identical_points_has_no_nan():
    result = P.kmeans(np.ones((10, 3)), 4, n_iter=5, rng=0)
    assert np.isfinite(result.centroids).all()
    assert result.objective[-1] == 0


def test_kmeans_is_deterministic_for_a_seed(images):
    patches = P.extract_patches(images, 3, 500, rng=0)
    a, b = P.kmeans(patches, 4, rng=7), P.kmeans(patches, 4, rng=7)
    np.testing.assert_array_equal(a.centroids, b.centroids)


# ----------------------------------------------------------------------------- PCA and filters

def test_pca_filters_orthonormal_and_ordered_by_variance(images):
    weight = P.patch_pca(images, 6, 3, rng=5, n_patches=4000, scale=False, dtype=np.float64)
    assert weight.shape == (6, 1, 3, 3)
    flat = weight.reshape(6, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(6), atol=1e-10)
    patches = P.normalize_patches(P.extract_patches(images, 3, 4000, np.random.default_rng(5)))
    explained = (patches - patches.mean(axis=0)) @ flat.T
    var = explained.var(axis=0)
    assert np.all(np.diff(var) <= 1e-12), var
    _, eig = P.pca(patches, 6)
    np.testing.assert_allclose(var, eig, rtol=1e-9)


@pytest.mark.parametrize("method", ["patch_kmeans", "patch_pca"])
@pytest.mark.parametrize("padding", [0, 1])
def test_scaled_layer_output_variance_is_one(images, method, padding):
    weight = P.METHODS[method](images, 5, 3, rng=0, n_patches=2000, padding=padding)
    assert weight.dtype == np.float32 and weight.shape == (5, 1, 3, 3)
    y = C.conv2d(images, weight, padding=padding)             # 120 images: all used to scale
    assert abs(y.var() - 1) < 1e-3
    held_out = shapes(200, size=12, rng=9)[0]
    assert abs(C.conv2d(held_out, weight, padding=padding).var() - 1) < 0.15


def test_kmeans_filters_fold_the_whitening(images):
    """Convolving the raw patch with W c equals the centroid's dot product with the whitened patch
    (up to a constant), so the layer computes what the k-means feature computes."""
    weight = P.patch_kmeans(images, 4, 3, rng=1, n_patches=2000, scale=False, dtype=np.float64)
    patches = P.normalize_patches(P.extract_patches(images, 3, 2000, np.random.default_rng(1)))
    white, zca = P.zca_whiten(patches)
    flat = weight.reshape(4, -1)
    centroids = flat @ np.linalg.inv(zca.matrix)
    np.testing.assert_allclose(patches @ flat.T - zca.mean @ flat.T, white @ centroids.T, atol=1e-8)
    np.testing.assert_allclose(flat.sum(axis=1), 0, atol=1e-8)    # zero-sum: blind to brightness


def test_unit_variance_scale_returns_the_factor(images):
    w = np.random.default_rng(0).normal(size=(3, 1, 3, 3))
    scaled, s = P.unit_variance_scale(w, images)
    np.testing.assert_allclose(scaled, s * w)
    assert abs(C.conv2d(images, scaled).var() - 1) < 1e-9


# ----------------------------------------------------------------------------- from_data

def test_from_data_is_a_layer_initializer(images):
    make = lambda seed: Conv2D(1, 6, 3, padding=1, rng=seed,
                               weight_init=P.from_data("patch_kmeans", images, padding=1, n_patches=1000))
    a, b, c = make(3), make(3), make(4)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])   # the layer's seed decides
    assert not np.array_equal(a.params["weight"], c.params["weight"])
    assert a.init_names["weight"] == "<callable patch_kmeans>"
    y = a.forward(images)
    assert abs(y.var() - 1) < 1e-3
    pca_init = P.from_data("patch_pca", images, rng=0)
    w = init.initialize(pca_init, (4, 1, 3, 3))
    assert w.shape == (4, 1, 3, 3) and w.dtype == np.float32


def test_from_data_checks_the_shape(images):
    with pytest.raises(ShapeError, match="in_channels"):
        Conv2D(3, 4, 3, weight_init=P.from_data("patch_pca", images))
    with pytest.raises(ShapeError, match="kh, kw"):
        Conv2D(1, 4, 5, weight_init=P.from_data("patch_pca", images, kernel_size=3))
    with pytest.raises(ShapeError, match="out_channels=8"):
        Conv2D(1, 4, 3, weight_init=P.from_data("patch_pca", images, out_channels=8))
    with pytest.raises(ShapeError, match="conv weight"):
        P.from_data("patch_pca", images)((4, 9))
    with pytest.raises(UnknownNameError, match="did you mean 'patch_kmeans'"):
        P.from_data("patch_kmean", images)


@pytest.mark.parametrize("name, kwargs, message", [
    ("patch_kmeans", {"n_patch": 100}, r"unknown from_data\('patch_kmeans'\) keyword 'n_patch'; did you mean 'n_patches'"),
    ("patch_pca", {"n_iter": 3}, r"unknown from_data\('patch_pca'\) keyword 'n_iter'.*valid: kernel_size, n_patches"),
    ("patch_pca", {"whiten": False}, r"'whiten'"),
    ("patch_kmeans", {"dtype": np.float64}, "keyword 'dtype' is not accepted: the layer passes its own dtype"),
    ("patch_kmeans", {"x": np.zeros((2, 1, 4, 4))}, "keyword 'x' is not accepted: the images"),
])
def test_from_data_checks_its_keywords_when_called(images, name, kwargs, message):
    with pytest.raises(UnknownNameError, match=message):
        P.from_data(name, images, **kwargs)       # not later, when a layer is built


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("method", ["patch_kmeans", "patch_pca"])
def test_bad_input_gives_clear_errors(images, method):
    fn = P.METHODS[method]
    with pytest.raises(InvalidValueError, match="n_patches=4 is fewer than out_channels=8"):
        fn(images, 8, 3, n_patches=4)
    with pytest.raises(ShapeError, match="larger than the images"):
        fn(images, 4, 13)
    bad = images.copy()
    bad[3, 0, 2, 2] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        fn(bad, 4, 3)
    with pytest.raises(ShapeError, match="4-D"):
        fn(images[:, 0], 4, 3)
    with pytest.raises(DataError, match="constant"):
        fn(np.ones((5, 1, 8, 8), np.float32), 2, 3)


def test_other_bad_input(images):
    with pytest.raises(InvalidValueError, match="only 9 components"):
        P.patch_pca(images, 10, 3)
    with pytest.raises(InvalidValueError, match="at least 5 points"):
        P.kmeans(np.zeros((3, 2)), 5)
    with pytest.raises(ShapeError, match="2-D"):
        P.kmeans(np.zeros((3, 2, 2)), 2)
    with pytest.raises(ShapeError, match="init must have shape"):
        P.kmeans(np.zeros((6, 2)), 2, init=np.zeros((3, 2)))
    with pytest.raises(DataError, match="singular"):
        P.zca_whiten(P.normalize_patches(np.random.default_rng(0).normal(size=(50, 4))), eps=0)
    with pytest.raises(InvalidValueError, match="eps"):
        P.zca_whiten(np.zeros((4, 2)), eps=-1)
