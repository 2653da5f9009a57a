"""Hand-made filters: exact kernels, what they respond to, and the bank a Conv2D starts from."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import signal

from initlab import filters, init
from initlab.errors import InvalidValueError, UnknownNameError


def _respond(image, kernel):
    """What a CNN computes: cross-correlation, zero padding, same size."""
    return signal.correlate2d(image, kernel, mode="same")


def test_classic_kernels_exact():
    np.testing.assert_array_equal(filters.sobel_x(), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(filters.sobel_y(), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(filters.prewitt_x(), [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(filters.prewitt_y(), np.array([[-1, 0, 1]] * 3).T)
    np.testing.assert_array_equal(filters.laplacian(), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(filters.sharpen(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(filters.x_shape(), [[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(filters.plus_shape(), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    np.testing.assert_array_equal(filters.diagonal(), np.eye(3))
    np.testing.assert_array_equal(filters.antidiagonal(), np.fliplr(np.eye(3)))
    np.testing.assert_array_equal(filters.edge_x(3), filters.sobel_x())
    np.testing.assert_array_equal(filters.edge_y(3), filters.sobel_y())
    for name in filters.names():
        k = filters.bank([name])[0, 0]
        assert k.dtype == np.float32 and k.shape == (3, 3)
    for f in (filters.sobel_x, filters.sobel_y, filters.prewitt_x, filters.prewitt_y, filters.laplacian):
        assert f().sum() == 0  # flat regions give 0
    assert filters.sharpen().sum() == 1


def test_gaussian():
    g = filters.gaussian(5, sigma=1.5)
    offsets = np.arange(5) - 2
    expected = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(g, expected / expected.sum(), rtol=1e-6)
    assert g.dtype == np.float32 and g.sum() == pytest.approx(1, abs=1e-6)
    assert g.argmax() == 12 and np.allclose(g, g.T) and np.allclose(g, g[::-1])
    assert filters.gaussian(1).tolist() == [[1.0]]
    assert filters.gaussian(4).shape == (4, 4)
    with pytest.raises(InvalidValueError, match="sigma"):
        filters.gaussian(3, sigma=0)
    with pytest.raises(InvalidValueError, match="size"):
        filters.gaussian(0)


@settings(max_examples=20, deadline=None)
@given(half=st.integers(1, 6))
def test_shapes_at_any_odd_size(half):
    k = 2 * half + 1
    x, plus = filters.x_shape(k), filters.plus_shape(k)
    for kernel in (x, plus):
        np.testing.assert_array_equal(kernel, kernel.T)
        np.testing.assert_array_equal(kernel, kernel[::-1])
        assert set(np.unique(kernel)) == {0.0, 1.0} and kernel.sum() == 2 * k - 1
    assert x[half, half] == plus[half, half] == 1
    centre = np.zeros((k, k))
    centre[half, half] = 1
    np.testing.assert_array_equal(filters.hline(k) + filters.vline(k) - plus, centre)
    ex = filters.edge_x(k)
    np.testing.assert_array_equal(ex, -ex[:, ::-1])  # antisymmetric: a step detector
    assert ex[:, half].sum() == 0 and (ex[:, half + 1:] > 0).all()
    assert ex[:, half + 1].tolist() == [math.comb(k - 1, i) for i in range(k)]


def test_even_sizes_where_they_make_sense():
    assert filters.x_shape(4).sum() == 8 and filters.diagonal(2).tolist() == [[1, 0], [0, 1]]
    for f in (filters.plus_shape, filters.hline, filters.vline, filters.edge_x, filters.templates):
        with pytest.raises(InvalidValueError, match="odd"):
            f(4)
    with pytest.raises(InvalidValueError, match="size"):
        filters.x_shape(1)
    with pytest.raises(InvalidValueError, match="size"):
        filters.x_shape(True)


def _canvas():
    """A 24x24 image with an X (centre (5, 5)), a plus (centre (5, 17)), a horizontal line,
    a diagonal stroke and a square outline, each 5 pixels across, strokes 1 pixel wide."""
    img = np.zeros((24, 24))
    for d in range(-2, 3):
        img[5 + d, 5 + d] = img[5 + d, 5 - d] = 1         # X
        img[5, 17 + d] = img[5 + d, 17] = 1               # plus
        img[17, 4 + d] = 1                                # horizontal line
        img[17 + d, 11 + d] = 1                           # diagonal
    img[15:20, 16] = img[15:20, 20] = img[15, 16:21] = img[19, 16:21] = 1  # square outline
    return img


def test_x_shape_responds_most_strongly_where_an_x_is_drawn():
    img = _canvas()
    for kernel in (filters.x_shape(3), filters.x_shape(5)):
        response = _respond(img, kernel)
        assert np.unravel_index(response.argmax(), response.shape) == (5, 5)
        assert response[5, 5] == kernel.sum()  # a perfect match: every tap on a stroke
        # unique winner: the next best response anywhere is clearly lower
        assert np.sort(response.ravel())[-2] <= response[5, 5] - 2
    noisy = img + np.random.default_rng(0).normal(0, 0.1, img.shape)
    response = _respond(noisy, filters.x_shape(3))
    assert np.unravel_index(response.argmax(), response.shape) == (5, 5)


def test_each_stroke_template_finds_its_own_shape():
    img = _canvas()
    t = filters.templates(5)
    for name, centre in {"plus": (5, 17), "x": (5, 5)}.items():
        response = _respond(img, t[name])
        assert np.unravel_index(response.argmax(), response.shape) == centre, name
    # a lone stroke is also part of a bigger shape, so its template ties there (X, plus, square)
    response = _respond(img, t["diagonal"])
    assert response[17, 11] == response[5, 5] == response.max() == 5
    response = _respond(img, t["hline"])
    assert response[17, 4] == response[5, 17] == response[15, 18] == response.max() == 5


def test_sobel_x_finds_a_dark_to_bright_step():
    img = np.zeros((8, 8))
    img[:, 4:] = 1.0
    response = _respond(img, filters.sobel_x())
    assert (response[1:-1, 3:5] == 4).all() and not response[1:-1, :2].any()
    assert not _respond(img, filters.sobel_y())[1:-1].any()


def test_bank_shape_dtype_and_channels():
    w = filters.bank(["sobel_x", "x", "plus", "gaussian"], in_channels=3)
    assert w.shape == (4, 3, 3, 3) and w.dtype == np.float32 and w.flags.c_contiguous
    for c in range(3):
        np.testing.assert_array_equal(w[0, c], filters.sobel_x())
        np.testing.assert_array_equal(w[1, c], filters.x_shape())
        np.testing.assert_array_equal(w[2, c], filters.plus_shape())
    w[0, 0, 0, 0] = 7  # a real array, not a broadcast view
    assert w[0, 1, 0, 0] == -1
    assert filters.bank("laplacian").shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(filters.bank(["DIAG", "antidiag"])[:, 0],
                                  [filters.diagonal(), filters.antidiagonal()])


def test_bank_at_a_larger_size():
    w = filters.bank(["x_shape", "sobel_y", "gaussian"], in_channels=2, size=5)
    assert w.shape == (3, 2, 5, 5)
    np.testing.assert_array_equal(w[0, 1], filters.x_shape(5))
    np.testing.assert_array_equal(w[1, 0, 1:4, 1:4], filters.sobel_y())
    assert w[1, 0].sum() == 0 and np.abs(w[1, 0]).sum() == np.abs(filters.sobel_y()).sum()
    np.testing.assert_allclose(w[2, 0], filters.gaussian(5))


def test_bank_is_a_conv_weight_an_initializer_accepts():
    w = filters.bank(["sobel_x", "x"], in_channels=1)
    np.testing.assert_array_equal(init.initialize(w, (2, 1, 3, 3)), w)
    assert init.describe(w) == "<array>"


@pytest.mark.parametrize("call, error, words", [
    (lambda: filters.bank(["sobel"]), UnknownNameError, "did you mean 'sobel_"),
    (lambda: filters.bank(["x_shap"]), UnknownNameError, "did you mean 'x_shape'"),
    (lambda: filters.bank([3]), UnknownNameError, "filter 3"),
    (lambda: filters.bank([]), InvalidValueError, "at least one"),
    (lambda: filters.bank(["x"], in_channels=0), InvalidValueError, "in_channels"),
    (lambda: filters.bank(["sobel_x"], size=4), InvalidValueError, "sobel_x.*3, 5, 7"),
    (lambda: filters.bank(["plus"], size=4), InvalidValueError, "odd"),
    (lambda: filters.bank(["x"], size=0), InvalidValueError, "size"),
    (lambda: filters.bank(None), InvalidValueError, "bank: names: expected a filter name or a list of names, got NoneType"),
    (lambda: filters.bank(3), InvalidValueError, "bank: names: .* got int"),
])
def test_bank_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_templates():
    t = filters.templates()
    assert set(t) == {"x", "plus", "diagonal", "antidiagonal", "hline", "vline", "edge_x", "edge_y", "edges"}
    assert all(v.shape == (3, 3) and v.dtype == np.float32 for v in t.values())
    np.testing.assert_array_equal(t["x"], filters.x_shape())
    np.testing.assert_array_equal(t["edges"], filters.laplacian())
    t7 = filters.templates(7)
    assert all(v.shape == (7, 7) for v in t7.values())
    assert t7["edges"][3, 3] == -4 and t7["edges"].sum() == 0
    # the stroke templates are distinct patterns (no two the same up to sign)
    flat = np.stack([v.ravel() / np.linalg.norm(v) for v in t7.values()])
    cosine = np.abs(flat @ flat.T) - np.eye(len(flat))
    assert cosine.max() < 0.99


def test_bank_returns_a_writable_array_of_its_own():
    a = filters.bank(["sobel_x", "x_shape"], in_channels=1)
    a *= 2                                   # a user scales their kernels in place
    assert np.array_equal(filters.bank(["sobel_x"])[0, 0], filters.sobel_x())


@pytest.mark.parametrize("size", [1, 3, 4, 5])
def test_gaussian_at_extreme_sigmas_is_the_delta_or_the_box(size):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no overflow warning either
        tiny, huge = filters.gaussian(size, 1e-300), filters.gaussian(size, 1e300)
    centre = np.zeros((size, size), np.float32)             # sigma**2 underflowed: 0/0 = NaN before
    middle = slice((size - 1) // 2, size // 2 + 1)          # one centre tap, or four for an even size
    centre[middle, middle] = 1.0 / centre[middle, middle].size
    np.testing.assert_array_equal(tiny, centre)
    np.testing.assert_allclose(huge, np.full((size, size), 1.0 / size**2), rtol=1e-7)
    for sigma in (0.05, 0.3, 2.0, 40.0):                     # the ordinary range is unchanged
        offsets = np.arange(size) - (size - 1) / 2
        g = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
        np.testing.assert_allclose(filters.gaussian(size, sigma), g / g.sum(), rtol=1e-6, atol=1e-30)
