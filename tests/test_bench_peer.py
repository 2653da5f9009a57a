"""The benchmark's textbook-style peer convolution is correct, so its timings are of real work."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # bench/ lives beside src/

from bench import peer  # noqa: E402
from initlab.convolution import conv2d_naive, conv2d_naive_backward  # noqa: E402

CASES = [
    # (n, c, h, w, out_channels, k, stride, pad)
    (2, 1, 6, 6, 3, 3, 1, 0),
    (2, 3, 7, 5, 2, 3, 1, 1),
    (1, 2, 8, 8, 4, 5, 1, 2),
    (3, 2, 7, 7, 2, 3, 2, 1),
    (2, 2, 5, 6, 3, 2, 2, 0),
]


def _random_case(n, c, h, w, out_channels, k, stride, pad, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((out_channels, c, k, k)).astype(dtype)
    bias = rng.standard_normal(out_channels).astype(dtype)
    oh, ow = peer.output_size(h, k, stride, pad), peer.output_size(w, k, stride, pad)
    grad_out = rng.standard_normal((n, out_channels, oh, ow)).astype(dtype)
    return x, weight, bias, grad_out


@pytest.mark.parametrize("case", CASES)
def test_peer_matches_naive_forward_and_backward(case):
    stride, pad = case[-2], case[-1]
    x, weight, bias, grad_out = _random_case(*case)
    out, dx, dw, db = peer.conv_forward_backward(x, weight, bias, grad_out, stride, pad)
    gx, gw, gb = conv2d_naive_backward(grad_out, x, weight, stride, pad)
    np.testing.assert_allclose(out, conv2d_naive(x, weight, bias, stride, pad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, gx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, gw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, gb, rtol=1e-10, atol=1e-12)


def test_peer_keeps_float32():
    x, weight, bias, grad_out = _random_case(2, 3, 8, 8, 4, 3, 1, 1, dtype=np.float32)
    out, dx, dw, db = peer.conv_forward_backward(x, weight, bias, grad_out, 1, 1)
    assert {a.dtype for a in (out, dx, dw, db)} == {np.dtype(np.float32)}
    np.testing.assert_allclose(out, conv2d_naive(x, weight, bias, 1, 1), rtol=1e-4, atol=1e-4)


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)> for any x and c: the scatter adds every overlap."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 6))
    col = peer.im2col(x, 3, 3, stride=2, pad=1)
    c = rng.standard_normal(col.shape)
    back = peer.col2im(c, x.shape, 3, 3, stride=2, pad=1)
    assert back.shape == x.shape
    assert np.isclose(np.sum(col * c), np.sum(x * back), rtol=1e-12)
