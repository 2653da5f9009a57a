"""Pooling, activations and log-softmax against loops, finite differences and known values."""
import math

import numpy as np
import pytest

from initlab import functional as F

from gradcheck import numeric_grad, relative_error, sample_indices


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0)), (3, 1, 0)])
def test_pooling_forward_against_loops_and_backward_against_fd(kernel, stride, padding):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 7, 8))
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    s = k if stride is None else (stride if isinstance(stride, tuple) else (stride, stride))
    p = padding if isinstance(padding, tuple) else (padding, padding)
    for forward, backward, reduce, pad_value in (
        (F.max_pool2d_forward, F.max_pool2d_backward, np.max, -np.inf),
        (F.avg_pool2d_forward, F.avg_pool2d_backward, np.mean, 0.0),
    ):
        y, cache = forward(x, kernel, stride, padding)
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=pad_value)
        expected = np.array([[[[reduce(xp[n, c, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]])
                                for j in range(y.shape[3])] for i in range(y.shape[2])]
                              for c in range(3)] for n in range(2)])
        np.testing.assert_allclose(y, expected, rtol=1e-12)
        up = rng.normal(size=y.shape)
        gx = backward(up, cache)
        f = lambda: float(np.sum(forward(x, kernel, stride, padding)[0] * up))
        idx = sample_indices(x.shape, rng, 25)
        assert relative_error(np.array([gx[i] for i in idx]), numeric_grad(f, x, idx)).max() < 1e-6


@pytest.mark.parametrize("name", sorted(F.ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(name):
    fn, grad = F.ACTIVATIONS[name]
    x = np.linspace(-3, 3, 41) + 0.013   # avoid the kink at exactly 0
    h = 1e-6
    numeric = (fn(x + h) - fn(x - h)) / (2 * h)
    assert relative_error(grad(x, fn(x)), numeric).max() < 1e-6


def test_activation_known_values():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(F.relu(x), [0, 0, 2])
    np.testing.assert_allclose(F.leaky_relu(x, 0.1), [-0.1, 0, 2])
    np.testing.assert_allclose(F.sigmoid(np.array([0.0, 800.0, -800.0])), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(F.gelu(np.array([1.0])), [0.8413447460685429])
    np.testing.assert_allclose(F.selu(np.array([1.0])), [1.0507009873554805])
    assert F.gelu(np.float32([1.0])).dtype == np.float32


def test_gelu_normal_cdf_is_exact_in_float64_and_float32_precise_in_float32():
    x = np.linspace(-13, 13, 20001)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])    # > 1e-38 down to -13
    assert np.max(np.abs(F._std_normal_cdf(x) - exact) / exact) < 1e-15   # the tails too
    x32 = x.astype(np.float32)
    exact32 = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x32])
    phi32 = F._std_normal_cdf(x32)
    assert phi32.dtype == np.float32
    assert np.max(np.abs(phi32 - exact32) / exact32) < 2.5e-7            # fit 1.2e-7 + rounding
    np.testing.assert_allclose(F.gelu(x32), x32 * exact32, rtol=2.5e-7, atol=0)


def test_log_softmax_is_stable_and_normalized():
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    out = F.log_softmax(z)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0)
    np.testing.assert_allclose(out[1], np.log(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum()))


def test_max_pool_ties_route_the_gradient_to_the_first_maximum_like_pytorch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2, 3] = x[0, 0, 3, 2] = 5.0          # a tie inside the bottom-right window
    y, cache = F.max_pool2d_forward(x, 2)
    grad = F.max_pool2d_backward(np.ones_like(y), cache)
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = 1   # all-zero windows: the first entry
    expected[2, 3] = 1                                      # row-major order: (2, 3) before (3, 2)
    np.testing.assert_array_equal(grad[0, 0], expected)
    np.testing.assert_array_equal(y[0, 0], [[0, 0], [0, 5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_takes_0_d_and_empty_arrays(dtype):
    x = np.array(0.5, dtype)
    assert F.gelu(x).shape == () and F.gelu(x).dtype == dtype
    assert F.gelu(x) == pytest.approx(0.5 * 0.5 * (1 + math.erf(0.5 / math.sqrt(2))), rel=1e-6)
    assert F.gelu_grad(x, F.gelu(x)).shape == ()
    assert F.gelu(np.zeros((0, 3), dtype)).shape == (0, 3)
