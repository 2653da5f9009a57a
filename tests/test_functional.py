"""Pooling, activations and log-softmax against loops, finite differences and known values."""
import math

import numpy as np
import pytest

from initlab import functional as F
from initlab.errors import DTypeError, InvalidValueError, ShapeError

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


# ---- every public function takes its input through validate.as_float_array

def _pool(fn):
    return lambda x: fn(x, 2)


# (name, function of one array, float input it is checked on)
_PUBLIC = [
    ("relu", F.relu), ("tanh", F.tanh), ("sigmoid", F.sigmoid), ("gelu", F.gelu), ("selu", F.selu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.5)), ("elu", lambda x: F.elu(x, 0.5)),
    ("relu_grad", lambda x: F.relu_grad(x, x)), ("tanh_grad", lambda x: F.tanh_grad(x, x)),
    ("sigmoid_grad", lambda x: F.sigmoid_grad(x, x)), ("gelu_grad", lambda x: F.gelu_grad(x, x)),
    ("selu_grad", lambda x: F.selu_grad(x, x)), ("elu_grad", lambda x: F.elu_grad(x, x, 0.5)),
    ("leaky_relu_grad", lambda x: F.leaky_relu_grad(x, x, 0.5)),
    ("log_softmax", F.log_softmax), ("softmax", F.softmax),
    ("max_pool2d", _pool(F.max_pool2d)), ("avg_pool2d", _pool(F.avg_pool2d)),
    ("max_pool2d padded", lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("avg_pool2d padded", lambda x: F.avg_pool2d(x, 3, 1, 1)),
    ("max_pool2d_forward", lambda x: F.max_pool2d_forward(x, 2)[0]),
    ("avg_pool2d_forward", lambda x: F.avg_pool2d_forward(x, 2)[0]),
]


@pytest.mark.parametrize("name,fn", _PUBLIC, ids=[p[0] for p in _PUBLIC])
def test_integer_inputs_compute_in_float32_like_the_same_values_as_floats(name, fn):
    ints = np.arange(-8, 8).reshape(1, 1, 4, 4)      # avg_pool2d of these used to give [0 0 0 0]
    out = fn(ints)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, fn(ints.astype(np.float32)))
    np.testing.assert_array_equal(fn(ints.tolist()), out)                    # lists work too
    floats = ints.astype(np.float64)
    np.testing.assert_array_equal(fn(floats.tolist()), fn(floats))


@pytest.mark.parametrize("name,fn", _PUBLIC, ids=[p[0] for p in _PUBLIC])
@pytest.mark.parametrize("dtype", [bool, complex, object])
def test_bool_complex_and_object_arrays_are_dtype_errors(name, fn, dtype):
    with pytest.raises(DTypeError, match=f"got dtype {np.dtype(dtype)}"):
        fn(np.ones((1, 1, 4, 4), dtype))


def test_known_integer_results():
    np.testing.assert_array_equal(F.avg_pool2d(np.arange(16).reshape(1, 1, 4, 4), 2).ravel(), [2.5, 4.5, 10.5, 12.5])
    np.testing.assert_array_equal(F.leaky_relu(np.array([-4]), 0.5), [-2.0])
    np.testing.assert_allclose(F.elu(np.array([-1, 2]), 0.5), [0.5 * math.expm1(-1), 2], rtol=1e-7)
    np.testing.assert_allclose(F.gelu(np.array([1, 2])), [0.8413447, 1.9544997], rtol=1e-6)


def test_public_functions_name_bad_arguments():
    with pytest.raises(InvalidValueError, match="leaky_relu negative_slope"):
        F.leaky_relu(np.ones(2), "a")
    with pytest.raises(InvalidValueError, match="elu alpha"):
        F.elu(np.ones(2), None)
    with pytest.raises(ShapeError, match=r"tanh_grad: expected y = phi\(x\) of x's shape \(3,\), got \(2,\)"):
        F.tanh_grad(np.zeros(3), np.zeros(2))
    with pytest.raises(InvalidValueError, match=r"log_softmax axis: expected an integer in \[-2, 2\)"):
        F.log_softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(InvalidValueError, match="softmax axis"):
        F.softmax(np.zeros(3), axis=0.5)
    with pytest.raises(ShapeError, match="at least one logit along axis -1, got shape"):
        F.log_softmax(np.zeros((2, 0)))
    assert F.log_softmax(np.zeros((0, 3))).shape == (0, 3)     # an empty batch is fine
    with pytest.raises(DTypeError, match="max_pool2d input: expected a numeric array"):
        F.max_pool2d([[1], [1, 2]], 2)


def test_pooling_backward_checks_its_cache_and_grad_shape():
    y, max_cache = F.max_pool2d_forward(np.zeros((1, 1, 2, 2)), 2)
    _, avg_cache = F.avg_pool2d_forward(np.zeros((1, 1, 2, 2)), 2)
    with pytest.raises(InvalidValueError, match="max_pool2d_backward: expected the cache max_pool2d_forward returned, got NoneType"):
        F.max_pool2d_backward(y, None)
    with pytest.raises(InvalidValueError, match="expected the cache max_pool2d_forward returned"):
        F.max_pool2d_backward(y, avg_cache)
    with pytest.raises(InvalidValueError, match="expected the cache avg_pool2d_forward returned"):
        F.avg_pool2d_backward(y, max_cache)
    with pytest.raises(ShapeError, match=r"expected grad_y of shape \(1, 1, 1, 1\).*got \(1, 1, 2, 1\)"):
        F.avg_pool2d_backward(np.zeros((1, 1, 2, 1)), avg_cache)
    with pytest.raises(DTypeError, match="max_pool2d_backward grad_y"):
        F.max_pool2d_backward(np.ones((1, 1, 1, 1), bool), max_cache)
    np.testing.assert_array_equal(F.avg_pool2d_backward([[[[4]]]], avg_cache), np.ones((1, 1, 2, 2)))


def test_max_pool_of_minus_inf_sends_the_gradient_to_the_input_not_the_padding_like_pytorch():
    # all -inf windows tie with the -inf padding; PyTorch picks each window's first input
    y, cache = F.max_pool2d_forward(np.full((1, 1, 3, 3), -np.inf), 3, 1, 1)
    grad = F.max_pool2d_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(grad[0, 0], [[4, 2, 0], [2, 1, 0], [0, 0, 0]])   # torch's x.grad
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    x[0, 0, :2] = -np.inf                  # some windows all -inf, others with a finite maximum
    y, cache = F.max_pool2d_forward(x, (3, 2), (2, 1), (1, 1))
    grad = F.max_pool2d_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(grad[0, 0], [[2, 1, 1, 1, 1], [0, 0, 0, 0, 0],
                                               [0, 0, 0, 0, 0], [1, 1, 1, 1, 2]])
    assert grad.sum() == y.size


def test_softmax_takes_the_axes_numpy_reductions_take():
    logits = np.arange(6, dtype=np.float64).reshape(2, 3)
    whole = F.softmax(logits, axis=None)
    assert whole.sum() == pytest.approx(1.0)
    assert np.allclose(F.softmax(logits, axis=(0, 1)), whole)
    assert np.allclose(F.log_softmax(logits, axis=-1), np.log(F.softmax(logits, axis=1)))
    with pytest.raises(InvalidValueError, match="axis: expected an integer in \\[-2, 2\\), a tuple"):
        F.softmax(logits, axis=2)
    with pytest.raises(InvalidValueError, match="axis"):
        F.softmax(logits, axis=True)
    for bad in ([0, 1], (0, 0)):
        with pytest.raises(InvalidValueError, match="axis"):
            F.softmax(logits, axis=bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_branch_free_activations_give_np_where_s_bits(dtype):
    """leaky_relu, sigmoid, elu and selu avoid np.where (slow on data of random sign) and must
    still give its numbers exactly, at zeros, tiny and huge values too."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(5000) * 3, [0.0, -0.0, 1e-45, -1e-45, 1e30, -1e30, 88, -88,
                                                       700, -700, np.inf, -np.inf]]).astype(dtype)
    t = x.dtype.type
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        elu = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
        selu = t(F.SELU_SCALE) * np.where(x > 0, x, t(F.SELU_ALPHA) * np.expm1(np.minimum(x, 0)))
        elu_neg = np.where(x > 0, x, t(-0.5) * np.expm1(np.minimum(x, 0)))      # alpha < 0
        expected = {
            "leaky_relu": np.where(x > 0, x, x * t(0.01)),
            "leaky_relu_steep": np.where(x > 0, x, x * t(3.0)),
            "leaky_relu_flat": np.where(x > 0, x, t(0)),
            "leaky_relu_grad": np.where(x > 0, t(1), t(0.01)),
            "sigmoid": np.where(x >= 0, 1 / (1 + e), e / (1 + e)),
            "elu": elu,
            "elu_grad": np.where(x > 0, t(1), elu + t(1)),
            "elu_negative_alpha": elu_neg,
            "elu_negative_alpha_grad": np.where(x > 0, t(1), elu_neg + t(-0.5)),
            "selu_grad": np.where(x > 0, t(F.SELU_SCALE), selu + t(F.SELU_SCALE * F.SELU_ALPHA)),
        }
        found = {
            "leaky_relu": F.leaky_relu(x), "leaky_relu_steep": F.leaky_relu(x, 3.0),
            "leaky_relu_flat": F.leaky_relu(x, 0.0),
            "elu_negative_alpha": F.elu(x, -0.5), "elu_negative_alpha_grad": F.elu_grad(x, F.elu(x, -0.5), -0.5),
            "leaky_relu_grad": F.leaky_relu_grad(x, F.leaky_relu(x)), "sigmoid": F.sigmoid(x),
            "elu": F.elu(x), "elu_grad": F.elu_grad(x, F.elu(x)), "selu_grad": F.selu_grad(x, F.selu(x)),
        }
    for name, value in expected.items():
        assert found[name].dtype == x.dtype, name
        assert np.array_equal(found[name], value, equal_nan=True), name


def test_activations_take_scalars_and_subclasses_as_plain_arrays():
    assert F.leaky_relu(np.float64(-2.0)) == F.leaky_relu(np.array(-2.0)) == pytest.approx(-0.02)
    assert F.leaky_relu(-2.0) == pytest.approx(-0.02)
    with pytest.warns(PendingDeprecationWarning):          # NumPy's, on making a matrix
        matrix = np.matrix([[1.0, -1.0]])
    assert np.allclose(F.sigmoid(matrix), [[0.7310585786, 0.2689414214]])
    assert F.gelu(np.array([1.0], dtype=np.longdouble)).dtype == np.float64     # not down to float32


def test_real_number_options_take_any_real_and_name_the_rest():
    from fractions import Fraction
    assert F.leaky_relu(np.array([-1.0]), Fraction(1, 4))[0] == -0.25
    with pytest.raises(InvalidValueError, match=r"negative_slope: expected a finite real number, got 1000000.*\.\.\."):
        F.leaky_relu(np.array([-1.0]), 10**400)
