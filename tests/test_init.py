"""Initializers against exact formulas, exact distributions (KS), and the properties they promise."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, signal, special, stats

from initlab import init
from initlab.errors import DTypeError, InvalidValueError, ShapeError, UnknownNameError

SHAPE = (64, 32, 3, 3)
FAN_IN, FAN_OUT = 32 * 9, 64 * 9  # 288, 576
FAN_AVG = (FAN_IN + FAN_OUT) / 2
TRUNC2 = 0.87962566103423978  # std of N(0, 1) cut at +-2 (Keras's constant)


def _uniform(bound):
    return stats.uniform(-bound, 2 * bound)


# spec -> its exact distribution, written from the papers' formulas (not from init.py)
DISTRIBUTIONS = {
    "uniform": stats.uniform(0.0, 1.0),
    "uniform(low=-0.5, high=0.25)": stats.uniform(-0.5, 0.75),
    "normal(std=0.01)": stats.norm(0.0, 0.01),
    "normal(mean=1.5, std=2)": stats.norm(1.5, 2.0),
    "truncated_normal(std=0.5, a=-1, b=1)": stats.truncnorm(-2, 2, scale=0.5),
    "truncated_normal(mean=0.1, a=-0.5, b=2.5)": stats.truncnorm(-0.6, 2.4, loc=0.1),
    "truncated_normal(a=0.2, b=0.3)": stats.truncnorm(0.2, 0.3),  # narrow: the uniform-proposal path
    "glorot_uniform": _uniform(math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_normal(gain=2)": stats.norm(0, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": _uniform(math.sqrt(6 / FAN_IN)),
    "kaiming_normal": stats.norm(0, math.sqrt(2 / FAN_IN)),
    "he_normal(mode=fan_out, nonlinearity=relu)": stats.norm(0, math.sqrt(2 / FAN_OUT)),
    "he_uniform(a=0.3)": _uniform(math.sqrt(3) * math.sqrt(2 / 1.09) / math.sqrt(FAN_IN)),
    "he_normal(nonlinearity=tanh)": stats.norm(0, (5 / 3) / math.sqrt(FAN_IN)),
    "lecun_uniform": _uniform(math.sqrt(3 / FAN_IN)),
    "lecun_normal": stats.norm(0, 1 / math.sqrt(FAN_IN)),
    "variance_scaling": stats.truncnorm(-2, 2, scale=math.sqrt(1 / FAN_IN) / TRUNC2),
    "variance_scaling(scale=2, mode=fan_avg, distribution=uniform)": _uniform(math.sqrt(6 / FAN_AVG)),
    "variance_scaling(scale=0.5, mode=fan_out, distribution=normal)": stats.norm(0, math.sqrt(0.5 / FAN_OUT)),
    "pytorch_conv_default": _uniform(1 / math.sqrt(FAN_IN)),
}
DETERMINISTIC = {"zeros", "ones", "constant", "identity", "dirac"}
RANDOM = sorted(set(init.names()) - DETERMINISTIC)


def _shape_for(name):
    return (16, 8) if name == "identity" else (16, 8, 3, 3)


@pytest.fixture(scope="module")
def samples():
    return {spec: init.get(spec)(SHAPE, 1234) for spec in DISTRIBUTIONS}


# ------------------------------------------------------------------------------- distributions

@pytest.mark.parametrize("spec", DISTRIBUTIONS)
def test_mean_and_variance_within_five_standard_errors(spec, samples):
    w, dist = samples[spec].astype(np.float64).ravel(), DISTRIBUTIONS[spec]
    mean, var, kurt = (float(v) for v in dist.stats(moments="mvk"))
    n = w.size
    assert w.dtype == np.float64 and samples[spec].dtype == np.float32
    assert abs(w.mean() - mean) < 5 * math.sqrt(var / n)
    # SE of the sample variance: sqrt((mu4 - sigma^4) / n) = sigma^2 sqrt((excess kurtosis + 2) / n)
    assert abs(w.var() - var) < 5 * var * math.sqrt((kurt + 2) / n)


@pytest.mark.parametrize("spec", DISTRIBUTIONS)
def test_kolmogorov_smirnov_against_the_exact_distribution(spec, samples):
    result = stats.kstest(samples[spec].astype(np.float64).ravel(), DISTRIBUTIONS[spec].cdf)
    assert result.pvalue > 1e-4


BOUNDED = [s for s in DISTRIBUTIONS if math.isfinite(DISTRIBUTIONS[s].support()[1])]


def test_bounded_list_is_what_it_should_be():
    assert len(BOUNDED) == 12


@pytest.mark.parametrize("spec", BOUNDED)
def test_bounds_are_exact_and_reached(spec):
    w = init.get(spec)(SHAPE, 7, dtype=np.float64)
    lo, hi = DISTRIBUTIONS[spec].support()
    assert math.isfinite(lo) and math.isfinite(hi)
    assert lo <= w.min() and w.max() <= hi
    # tight: P(no draw within 20/n of an end) < e^-20 for a density bounded below near the ends,
    # so a too-loose bound in init.py would fail here
    slack = (hi - lo) * 40 / w.size
    if "truncated" not in spec and spec != "variance_scaling":
        assert w.min() < lo + slack and w.max() > hi - slack


def test_float32_bounds_hold_after_rounding():
    bound = math.sqrt(6 / FAN_IN)
    w = init.he_uniform(SHAPE, 3)
    assert np.abs(w).max() <= np.float32(bound)


def test_variance_scaling_truncated_normal_is_variance_corrected():
    assert init.truncated_std(-2, 2) == pytest.approx(TRUNC2, rel=1e-15)
    assert init.truncated_std(-2, 2) == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-12)
    assert init.truncated_std(0.5, math.inf) == pytest.approx(stats.truncnorm(0.5, np.inf).std(), rel=1e-12)
    w = init.variance_scaling((256, 128, 3, 3), 0, dtype=np.float64, scale=2.0)
    target = math.sqrt(2 / (128 * 9))
    n = w.size
    kurt = float(stats.truncnorm(-2, 2).stats(moments="k"))
    assert abs(w.var() - target**2) < 5 * target**2 * math.sqrt((kurt + 2) / n)
    assert np.abs(w).max() <= 2 * target / TRUNC2


def test_truncated_normal_bounds_are_absolute_not_in_std_units():
    w = init.truncated_normal((4096,), 0, dtype=np.float64, std=0.02)  # a=-2, b=2: nothing is cut
    assert abs(w.std() - 0.02) < 5 * 0.02 / math.sqrt(2 * w.size)
    w = init.truncated_normal((4096,), 0, dtype=np.float64, std=0.02, a=-0.01, b=0.03)
    assert w.min() >= -0.01 and w.max() <= 0.03


def test_worked_example_he_std_for_a_3x3_conv_with_64_input_channels():
    assert init.compute_fans((128, 64, 3, 3)) == (576, 1152)
    expected = math.sqrt(2 / 576)
    assert expected == pytest.approx(0.058925565098878960, rel=1e-15)
    w = init.he_normal((128, 64, 3, 3), 0, dtype=np.float64)
    assert abs(w.std() - expected) < 5 * expected / math.sqrt(2 * w.size)


def test_pytorch_conv_default_is_a_third_of_lecun_not_he():
    w = init.pytorch_conv_default(SHAPE, 0, dtype=np.float64)
    assert w.var() == pytest.approx(1 / (3 * FAN_IN), rel=0.05)
    assert np.abs(w).max() <= 1 / math.sqrt(FAN_IN)
    # PyTorch reads a transposed weight's fan_in from dim 1 (the swap), and so does this scheme
    assert np.abs(init.pytorch_conv_default((4, 100, 1), 0)).max() <= 0.1


# ------------------------------------------------------------------------------- fans

@pytest.mark.parametrize("shape, kwargs, fans", [
    ((10, 20), {}, (20, 10)),                                  # dense (out, in)
    ((16, 8, 5), {}, (40, 80)),                                # conv1d
    ((64, 32, 3, 3), {}, (288, 576)),                          # conv2d
    ((8, 4, 3, 3, 3), {}, (108, 216)),                         # conv3d
    ((8, 4, 3, 5), {}, (60, 120)),                             # non-square kernel
    ((64, 8, 3, 3), {"groups": 4}, (72, 144)),                 # grouped: in 32, out 64
    ((64, 1, 3, 3), {"groups": 64}, (9, 9)),                   # depthwise (PyTorch: fan_out 576)
    ((64, 1, 3, 3), {"groups": 32}, (9, 18)),                  # depthwise, channel multiplier 2
    ((16, 8, 4, 4), {"transposed": True}, (256, 128)),         # ConvTranspose2d(16 -> 8)
    ((16, 4, 3, 3), {"transposed": True, "groups": 2}, (72, 36)),  # grouped transposed, 16 -> 8
    ((6, 3, 5), {"transposed": True}, (30, 15)),               # ConvTranspose1d(6 -> 3)
])
def test_fans_against_hand_computed_values(shape, kwargs, fans):
    assert init.compute_fans(shape, **kwargs) == fans


@settings(max_examples=60, deadline=None)
@given(out_per=st.integers(1, 6), in_per=st.integers(1, 6), groups=st.integers(1, 4),
       kernel=st.lists(st.integers(1, 4), min_size=0, max_size=3))
def test_fans_properties(out_per, in_per, groups, kernel):
    shape = (out_per * groups, in_per, *kernel)
    k = math.prod(kernel)
    fan_in, fan_out = init.compute_fans(shape, groups)
    assert (fan_in, fan_out) == (in_per * k, out_per * k)
    # the transposed conv of a forward conv has the same weight shape and swapped fans
    assert init.compute_fans(shape, groups, transposed=True) == (fan_out, fan_in)


@pytest.mark.parametrize("shape, kwargs", [
    ((10,), {}), ((), {}), ((6, 4, 3), {"groups": 4}), ((6, 4, 3), {"groups": 0}),
    ((6, 4, 3), {"groups": True}), ((6, 4, 3), {"transposed": True, "groups": 4}),
    ((6, -1), {}), ((6, 2.0), {}), ("6x4", {}), ((0, 4), {}),
])
def test_fans_bad_input(shape, kwargs):
    with pytest.raises((ShapeError, InvalidValueError), match="compute_fans"):
        init.compute_fans(shape, **kwargs)


# ------------------------------------------------------------------------------- gains

@pytest.mark.parametrize("name, gain", [
    ("linear", 1.0), ("identity", 1.0), ("sigmoid", 1.0), ("conv1d", 1.0), ("conv2d", 1.0),
    ("conv3d", 1.0), ("conv_transpose2d", 1.0), ("tanh", 5 / 3), ("relu", math.sqrt(2.0)),
    ("selu", 0.75), ("leaky_relu", math.sqrt(2 / (1 + 0.01**2))),
])
def test_calculate_gain_exact_values(name, gain):
    assert init.calculate_gain(name) == gain


@pytest.mark.parametrize("slope", [0, 0.01, 0.3, math.sqrt(5), 10])
def test_leaky_relu_gains(slope):
    expected = math.sqrt(2.0 / (1.0 + slope * slope))
    assert init.calculate_gain("leaky_relu", slope) == pytest.approx(expected, rel=1e-15)
    assert init.gain_for("leaky_relu", slope) == pytest.approx(expected, rel=1e-10)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3), rel=1e-15)


@pytest.mark.parametrize("param", [True, False, "0.1", [0.1], float("nan"), float("inf")])
def test_bad_slope_is_an_error(param):
    with pytest.raises(InvalidValueError, match="slope"):
        init.calculate_gain("leaky_relu", param)


def test_unknown_nonlinearity_lists_the_valid_names():
    with pytest.raises(UnknownNameError, match="did you mean 'relu'.*leaky_relu.*tanh"):
        init.calculate_gain("rellu")
    with pytest.raises(UnknownNameError, match="valid"):
        init.calculate_gain(None)


def _quad_gain(phi):
    f = lambda z: phi(np.array(z)) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    moment = sum(integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13)[0]
                 for lo, hi in ((-np.inf, 0), (0, np.inf)))
    return 1 / math.sqrt(moment)


def test_gain_for_reproduces_closed_forms():
    assert abs(init.gain_for("relu") - math.sqrt(2)) < 1e-8
    assert abs(init.gain_for("linear") - 1.0) < 1e-12
    assert abs(init.gain_for("selu") - 1.0) < 1e-4  # self-normalizing: E[selu(z)^2] = 1
    assert init.gain_for(lambda z: np.maximum(z, 0)) == pytest.approx(math.sqrt(2), abs=1e-8)
    assert init.gain_for(math.tanh) == pytest.approx(init.gain_for("tanh"), rel=1e-14)  # scalar-only


@pytest.mark.parametrize("name, phi, tol", [
    ("tanh", np.tanh, 1e-10),
    ("sigmoid", special.expit, 1e-10),
    ("gelu", lambda z: 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2))), 1e-10),
    ("elu", lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), 1e-4),
])
def test_gain_for_matches_adaptive_quadrature(name, phi, tol):
    assert init.gain_for(name) == pytest.approx(_quad_gain(phi), rel=tol)


def test_gain_for_bad_input():
    with pytest.raises(UnknownNameError, match="did you mean 'gelu'"):
        init.gain_for("gelu2")
    with pytest.raises(InvalidValueError, match="callable"):
        init.gain_for(3.0)
    with pytest.raises(InvalidValueError, match="> 0"):
        init.gain_for(lambda z: 0 * z)
    with pytest.raises(InvalidValueError, match="non-finite"):
        init.gain_for(lambda z: np.full_like(z, np.inf))


# ------------------------------------------------------------------------------- structured

@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 12), min_size=2, max_size=4).map(tuple),
       gain=st.floats(0.1, 3.0), seed=st.integers(0, 2**32 - 1))
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain, seed):
    w = init.orthogonal(shape, seed, dtype=np.float64, gain=gain).reshape(shape[0], -1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-6)


def test_orthogonal_has_the_sign_fix():
    # without multiplying by sign(diag(R)), LAPACK's QR makes w[0, 0] <= 0 always
    corner = np.array([init.orthogonal((3, 3), seed, dtype=np.float64)[0, 0] for seed in range(400)])
    assert abs(corner.mean()) < 5 * math.sqrt(1 / 3 / corner.size)
    assert 0.35 < (corner > 0).mean() < 0.65


def _circular_conv(x, w):
    """Cross-correlation with circular padding: y[o, p] = sum_{i,u,v} w[o,i,u,v] x[i, p + (u,v) - centre]."""
    out, _, kh, kw = w.shape
    y = np.zeros((out, *x.shape[1:]))
    for u in range(kh):
        for v in range(kw):
            shifted = np.roll(x, (-(u - kh // 2), -(v - kw // 2)), axis=(1, 2))
            y += np.einsum("oi,ihw->ohw", w[:, :, u, v], shifted)
    return y


def _conv(x, w, mode, groups=1):
    """Grouped cross-correlation of a (C, H, W) image by scipy.signal.correlate, zero padding."""
    out, in_per = w.shape[:2]
    out_per = out // groups
    return np.stack([
        sum(signal.correlate(x[(o // out_per) * in_per + i], w[o, i], mode=mode) for i in range(in_per))
        for o in range(out)
    ])


def test_delta_orthogonal_is_zero_off_centre_and_orthogonal_at_it():
    w = init.delta_orthogonal((8, 5, 3, 3), 0, dtype=np.float64, gain=1.5)
    centre = w[:, :, 1, 1]
    off = w.copy()
    off[:, :, 1, 1] = 0
    assert not off.any()
    np.testing.assert_allclose(centre.T @ centre, 1.5**2 * np.eye(5), atol=1e-12)
    w3 = init.delta_orthogonal((4, 4, 3, 3, 3), 0, dtype=np.float64)
    np.testing.assert_allclose(w3[:, :, 1, 1, 1] @ w3[:, :, 1, 1, 1].T, np.eye(4), atol=1e-12)
    assert np.count_nonzero(w3) == np.count_nonzero(w3[:, :, 1, 1, 1])
    assert init.delta_orthogonal((6, 3, 5), 0).shape == (6, 3, 5)


def test_delta_orthogonal_preserves_the_norm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 9, 11))
    w = init.delta_orthogonal((8, 5, 3, 3), 1, dtype=np.float64)
    # circular padding: exactly
    assert np.linalg.norm(_circular_conv(x, w)) == pytest.approx(np.linalg.norm(x), rel=1e-12)
    # zero padding: the interior ("valid" output) keeps the norm of the input's interior
    interior = np.linalg.norm(_conv(x, w, "valid"))
    assert interior == pytest.approx(np.linalg.norm(x[:, 1:-1, 1:-1]), rel=1e-10)
    assert interior == pytest.approx(np.linalg.norm(x), rel=0.3)
    # ... and a 20-layer stack of them still does
    y = x
    for seed in range(20):
        y = _circular_conv(y, init.delta_orthogonal((5, 5, 3, 3), seed, dtype=np.float64))
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x), rel=1e-10)


@pytest.mark.parametrize("out, inp", [(6, 4), (3, 5), (4, 4)])
def test_dirac_reproduces_the_input(out, inp):
    x = np.random.default_rng(1).standard_normal((inp, 7, 8))
    w = init.dirac((out, inp, 3, 3), dtype=np.float64)
    y = _conv(x, w, "same")
    m = min(out, inp)
    np.testing.assert_array_equal(y[:m], x[:m])
    assert not y[m:].any()


def test_dirac_with_groups():
    x = np.random.default_rng(2).standard_normal((4, 6, 6))
    w = init.dirac((6, 2, 3, 3), dtype=np.float64, groups=2)  # 4 -> 6 channels, two groups
    y = _conv(x, w, "same", groups=2)
    np.testing.assert_array_equal(y[[0, 1, 3, 4]], x)
    assert not y[[2, 5]].any()
    assert init.dirac((4, 4, 5)).sum() == 4 and init.dirac((4, 4, 5))[2, 2, 2] == 1
    assert init.dirac((4, 4, 3, 3, 3))[3, 3, 1, 1, 1] == 1


def test_identity():
    np.testing.assert_array_equal(init.identity((3, 5), gain=2.0), 2 * np.eye(3, 5, dtype=np.float32))
    assert init.get("eye")((4, 2)).sum() == 2


def test_sparse_zeroes_a_fixed_count_per_output_unit():
    w = init.sparse((64, 10, 3, 3), 0, dtype=np.float64, sparsity=0.8, std=0.05)
    rows = w.reshape(64, -1)
    assert (np.count_nonzero(rows == 0, axis=1) == math.ceil(0.8 * 90)).all()
    nonzero = rows[rows != 0]
    assert stats.kstest(nonzero, stats.norm(0, 0.05).cdf).pvalue > 1e-4
    assert abs(w.mean()) < 5 * w.std() / math.sqrt(w.size)
    assert not init.sparse((4, 4), 0, sparsity=1.0).any()
    assert np.count_nonzero(init.sparse((4, 4), 0, sparsity=0.0)) == 16


@pytest.mark.parametrize("name", ["orthogonal", "delta_orthogonal", "sparse"])
def test_zero_mean_of_structured_schemes(name):
    w = init.get(name)((64, 32, 3, 3), 5, dtype=np.float64)
    nonzero = w[w != 0]
    assert abs(nonzero.mean()) < 5 * nonzero.std() / math.sqrt(nonzero.size)


# ------------------------------------------------------------------------------- symmetry, randomness

@pytest.mark.parametrize("name", RANDOM)
def test_random_schemes_break_symmetry(name):
    filters = init.get(name)((16, 8, 3, 3), 0).reshape(16, -1)
    assert len(np.unique(filters, axis=0)) == 16


@pytest.mark.parametrize("spec", ["zeros", "ones", "constant(value=0.3)"])
def test_constant_schemes_are_the_symmetry_problem(spec):
    filters = init.get(spec)((16, 8, 3, 3), 0).reshape(16, -1)
    assert len(np.unique(filters, axis=0)) == 1


@pytest.mark.parametrize("name", init.names())
def test_same_seed_same_bits_and_float32_is_float64_rounded(name):
    shape, f = _shape_for(name), init.get(name)
    a, b = f(shape, 42), f(shape, np.random.default_rng(42))
    assert a.dtype == np.float32 and a.shape == shape and a.tobytes() == b.tobytes()
    wide = f(shape, 42, dtype=np.float64)
    assert wide.dtype == np.float64 and wide.astype(np.float32).tobytes() == a.tobytes()


@pytest.mark.parametrize("name", RANDOM)
def test_different_seeds_and_successive_draws_differ(name):
    shape, f = _shape_for(name), init.get(name)
    assert not np.array_equal(f(shape, 1), f(shape, 2))
    gen = np.random.default_rng(0)
    assert not np.array_equal(f(shape, gen), f(shape, gen))


def test_global_numpy_random_state_is_untouched():
    np.random.seed(2024)
    before = np.random.get_state()
    for name in init.names():
        init.get(name)(_shape_for(name), None)
        init.get(name)(_shape_for(name), 3)
    init.gain_for("gelu")
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(init.names()), out=st.integers(1, 6), extra=st.integers(0, 3),
       kernel=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_every_scheme_returns_exactly_the_shape_and_dtype(name, out, extra, kernel, dtype):
    shape = (out + extra, out) if name == "identity" else (out + extra, out, *kernel)
    w = init.get(name)(shape, 0, dtype=dtype)
    assert w.shape == shape and w.dtype == dtype and np.isfinite(w).all()


# ------------------------------------------------------------------------------- registry, specs

def test_names_and_aliases():
    assert set(init.names()) == {
        "zeros", "ones", "constant", "uniform", "normal", "truncated_normal", "glorot_uniform",
        "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
        "variance_scaling", "orthogonal", "identity", "dirac", "delta_orthogonal", "sparse",
        "pytorch_conv_default", "critical",
    }
    assert set(init.names()) < set(init.names(aliases=True))
    for alias, name in [("kaiming_normal", "he_normal"), ("kaiming_uniform", "he_uniform"),
                        ("xavier_uniform", "glorot_uniform"), ("xavier_normal", "glorot_normal"),
                        ("trunc_normal", "truncated_normal"), ("Kaiming_Normal", "he_normal")]:
        assert init.describe(alias) == name
    assert init.kaiming_normal is init.he_normal and init.xavier_uniform is init.glorot_uniform


@pytest.mark.parametrize("spec, canonical", [
    ("he_normal", "he_normal"),
    ("kaiming_normal(mode='fan_out')", "he_normal(mode=fan_out)"),
    ("  normal( std = 1e-2 ) ", "normal(std=0.01)"),
    ("orthogonal(gain=1.5)", "orthogonal(gain=1.5)"),
    ("truncated_normal(std=0.02, a=-2, b=2)", "truncated_normal(std=0.02, a=-2, b=2)"),
    ("he_normal*0.1", "he_normal*0.1"),
    ("he_normal(nonlinearity=leaky_relu, a=0.2)*2*0.25", "he_normal(nonlinearity=leaky_relu, a=0.2)*0.5"),
])
def test_describe_gives_the_canonical_spec_and_round_trips(spec, canonical):
    assert init.describe(spec) == canonical
    assert init.describe(init.describe(spec)) == canonical
    a = init.get(spec)(SHAPE, 9)
    b = init.get(canonical)(SHAPE, 9)
    assert a.tobytes() == b.tobytes()


def test_describe_callables_arrays_and_scaled():
    def my_init(shape, rng=None, *, dtype=np.float32):
        return np.full(shape, 0.5, dtype)

    assert init.describe(my_init) == "<callable my_init>"
    assert init.describe(np.zeros((2, 2))) == "<array>"
    assert init.describe(init.he_normal) == "he_normal"
    assert init.describe(init.scaled("he_normal", 0.1)) == "he_normal*0.1"
    assert init.describe(init.scaled(my_init, 2)) == "<callable my_init>*2.0"
    assert init.describe(init.scaled(init.scaled("normal(std=0.01)", 2), 3)) == "normal(std=0.01)*6.0"
    assert init.get(my_init) is my_init


def test_spec_with_parameters_equals_the_direct_call():
    a = init.get("normal(std=0.01)")(SHAPE, 3)
    assert a.tobytes() == init.normal(SHAPE, 3, std=0.01).tobytes()
    b = init.get("he_normal(mode=fan_out)")(SHAPE, 3)
    assert b.tobytes() == init.he_normal(SHAPE, 3, mode="fan_out").tobytes()


def test_scaled_multiplies_the_std_exactly():
    base = init.he_normal(SHAPE, 0, dtype=np.float64)
    w = init.scaled("he_normal", 0.1)(SHAPE, 0, dtype=np.float64)
    np.testing.assert_array_equal(w, 0.1 * base)
    assert w.std() == pytest.approx(0.1 * base.std(), rel=1e-12)
    w32 = init.scaled("he_normal", 0.1)(SHAPE, 0)
    assert w32.dtype == np.float32 and w32.tobytes() == (0.1 * base).astype(np.float32).tobytes()
    with pytest.raises(InvalidValueError, match="factor"):
        init.scaled("he_normal", -1)


def test_layer_facts_reach_the_schemes_that_use_them():
    w = init.initialize("he_normal", (64, 1, 3, 3), 0, dtype=np.float64, groups=64)
    assert w.std() == pytest.approx(math.sqrt(2 / 9), rel=0.1)
    w = init.initialize("glorot_uniform", (16, 8, 4, 4), 0, transposed=True)
    assert np.abs(w).max() <= math.sqrt(6 / (256 + 128))
    w = init.initialize("dirac", (4, 2, 3, 3), groups=2)
    assert w[2, 0, 1, 1] == 1
    w = init.initialize("normal(std=0.5)", (4, 2, 3, 3), 0, groups=2)  # ignored
    assert w.tobytes() == init.normal((4, 2, 3, 3), 0, std=0.5).tobytes()


def test_initialize_with_arrays_and_callables():
    source = np.arange(6.0).reshape(2, 3)
    w = init.initialize(source, (2, 3))
    assert w.dtype == np.float32 and np.array_equal(w, source)
    w[0, 0] = 99
    assert source[0, 0] == 0
    assert init.initialize(source.astype(np.int64), [2, 3], dtype=np.float64).dtype == np.float64
    with pytest.raises(ShapeError, match=r"expected shape \(3, 2\).*\(2, 3\)"):
        init.initialize(source, (3, 2))

    def good(shape, rng=None, *, dtype=np.float32):
        return np.ones(shape, np.float64)

    assert init.initialize(good, (2, 2)).dtype == np.float32
    def bad(shape, rng=None, *, dtype=np.float32):
        return np.ones(3)

    with pytest.raises(ShapeError, match=r"bad: expected it to return shape \(2, 2\), got shape \(3,\)"):
        init.initialize(bad, (2, 2))
    with pytest.raises(ShapeError, match="ndarray"):
        init.initialize(lambda shape, rng=None, *, dtype=None: [[1.0]], (1, 1))


def test_spec_is_parsed_never_evaluated(tmp_path):
    target = tmp_path / "pwned"
    for spec in [f"normal(std=open({str(target)!r}, 'w'))", f"open({str(target)!r}, 'w')",
                 f"normal*open({str(target)!r}, 'w')"]:
        with pytest.raises((InvalidValueError, UnknownNameError)):
            init.get(spec)
    assert not target.exists()


# ------------------------------------------------------------------------------- bad input

FAN_BASED = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
             "lecun_normal", "variance_scaling", "pytorch_conv_default", "orthogonal", "sparse"]


@pytest.mark.parametrize("name", FAN_BASED)
def test_one_dimensional_shapes_are_refused_by_fan_based_schemes(name):
    with pytest.raises(ShapeError, match=rf"{name}.*\(10,\)"):
        init.get(name)((10,), 0)


@pytest.mark.parametrize("spec, error, words", [
    ("normal(std=-1)", InvalidValueError, "std"),
    ("truncated_normal(std=-0.1)", InvalidValueError, "std"),
    ("sparse(std=-0.1)", InvalidValueError, "std"),
    ("variance_scaling(scale=-1)", InvalidValueError, "scale"),
    ("variance_scaling(scale=0)", InvalidValueError, "scale"),
    ("he_normal(mode=fan_avg)", UnknownNameError, "mode.*fan_in"),
    ("variance_scaling(mode=fan_sum)", UnknownNameError, "did you mean 'fan_"),
    ("variance_scaling(distribution=gaussian)", UnknownNameError, "distribution.*truncated_normal"),
    ("he_normal(nonlinearity=rellu)", UnknownNameError, "did you mean 'relu'"),
    ("he_normal(a=True)", InvalidValueError, "slope"),
    ("uniform(low=1, high=0)", InvalidValueError, "low < high"),
    ("truncated_normal(a=1, b=-1)", InvalidValueError, "a < b"),
    ("truncated_normal(a=9, b=inf)", InvalidValueError, "b"),
    ("sparse(sparsity=1.5)", InvalidValueError, "sparsity"),
    ("orthogonal(gain=nan)", InvalidValueError, "gain"),
    ("normal(std=[1, 2])", InvalidValueError, "std"),
    ("he_norml", UnknownNameError, "did you mean 'he_normal'"),
    ("normal(sd=0.1)", UnknownNameError, "parameter of normal.*std"),
    ("zeros(value=1)", InvalidValueError, "no parameters"),
    ("normal(std=", InvalidValueError, "malformed"),
    ("normal(std=0.01", InvalidValueError, "malformed"),
    ("normal std=0.01", InvalidValueError, "malformed"),
    ("normal(0.01)", InvalidValueError, "key=value"),
    ("normal(**{'std': 1})", InvalidValueError, r"\*\*"),
    ("normal(std=1) + 1", InvalidValueError, "malformed"),
    ("init.normal", InvalidValueError, "malformed"),
    ("he_normal(mode=fan_in, mode=fan_out)", InvalidValueError, "malformed"),
    ("", InvalidValueError, "expected"),
    ("normal(std=1)*-2", InvalidValueError, "factor"),
    ("n" * 600, InvalidValueError, "at most"),
])
def test_bad_specs(spec, error, words):
    with pytest.raises(error, match=words):
        init.get(spec)


def test_delta_orthogonal_with_more_inputs_than_outputs():
    with pytest.raises(ShapeError, match=r"in_channels <= out_channels.*in=8 > out=4"):
        init.delta_orthogonal((4, 8, 3, 3))
    with pytest.raises(ShapeError, match="conv weight"):
        init.delta_orthogonal((4, 4))


@pytest.mark.parametrize("call, error, words", [
    (lambda: init.he_normal((4, 4), 0, dtype=np.int32), DTypeError, "dtype"),
    (lambda: init.zeros((4, 4), dtype="complex64"), DTypeError, "dtype"),
    (lambda: init.zeros((4, 4), dtype="not-a-dtype"), DTypeError, "dtype"),
    (lambda: init.normal((4, -4)), ShapeError, "shape"),
    (lambda: init.normal((4, 2.5)), ShapeError, "shape"),
    (lambda: init.normal((4, 4), rng="seed"), InvalidValueError, "rng"),
    (lambda: init.zeros((4, 4), rng=-1), InvalidValueError, "rng"),
    (lambda: init.identity((4, 4, 3)), ShapeError, "2-D"),
    (lambda: init.dirac((4, 4)), ShapeError, "conv weight"),
    (lambda: init.dirac((5, 4, 3), groups=2), ShapeError, "divisible"),
    (lambda: init.he_normal((4, 4), transposed="yes"), InvalidValueError, "transposed"),
    (lambda: init.get(3.5), InvalidValueError, "spec"),
    (lambda: init.get(np.array([[1.0, np.nan]])), Exception, "non-finite"),
    (lambda: init.get(np.array([True, False])), DTypeError, "dtype"),
    (lambda: init.initialize("he_normal", (3, 3), dtype=np.int8), DTypeError, "dtype"),
])
def test_bad_calls(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_is_fan_scaled_names_the_schemes_whose_variance_comes_from_the_fans():
    for spec in ("he_normal", "kaiming_uniform", "glorot_uniform(gain=2)", "lecun_normal",
                 "variance_scaling(scale=2.0)", "pytorch_conv_default"):
        assert init.is_fan_scaled(spec), spec
    for spec in ("normal(std=0.01)", "he_normal*0.1", "orthogonal", "zeros", np.zeros((2, 2)),
                 lambda shape, rng=None, dtype=np.float32: np.zeros(shape, dtype)):
        assert not init.is_fan_scaled(spec), spec


# settings that overflow the dtype: a named error, not inf weights behind a NumPy warning
@pytest.mark.parametrize("call, words", [
    (lambda: init.constant((2, 2), value=1e39), r"constant: with value=1e\+39 the weights would not be finite in float32"),
    (lambda: init.initialize("ones*1e39", (2,)), r"initializer ones\*1e\+39: with factor 1e\+39 .* not be finite in float32"),
    (lambda: init.normal((2, 2), std=1e300), r"normal: with mean=0, std=1e\+300 .* not be finite in float32"),
    (lambda: init.initialize("normal(std=1e300)", (2, 2)), r"normal: .*std=1e\+300 .* not be finite in float32"),
    (lambda: init.normal((4, 4), 0, std=1e308, mean=1e308, dtype=np.float64), r"normal: .* not be finite in float64"),
    (lambda: init.glorot_uniform((2, 2), gain=1e200), r"glorot_uniform: with gain=1e\+200 .* not be finite in float32"),
    (lambda: init.glorot_normal((2, 2), gain=1e200), r"glorot_normal: with gain=1e\+200"),
    (lambda: init.sparse((2, 20), std=1e200), r"sparse: with std=1e\+200 .* not be finite in float32"),
    (lambda: init.orthogonal((2, 2), gain=1e200), r"orthogonal: with gain=1e\+200"),
    (lambda: init.identity((2, 2), gain=1e200), r"identity: with gain=1e\+200"),
    (lambda: init.delta_orthogonal((2, 2, 3, 3), gain=1e200), r"delta_orthogonal: with gain=1e\+200"),
    (lambda: init.variance_scaling((2, 2), scale=1e300), r"variance_scaling: with scale=1e\+300"),
    (lambda: init.variance_scaling((2, 2), scale=1e300, distribution="uniform"), r"variance_scaling: with scale=1e\+300"),
    (lambda: init.truncated_normal((2, 2), std=1e300, a=-1e301, b=1e301), r"truncated_normal: .*std=1e\+300 .* not be finite in float32"),
    (lambda: init.initialize(np.full((2,), 1e39), (2,)), r"initializer array: the weights would not be finite in float32"),
    (lambda: init.initialize(lambda s, r, dtype: np.full(s, 1e39), (2,)), r"initializer <lambda>: the weights would not be finite"),
    # raw ZeroDivisionError / OverflowError before
    (lambda: init.truncated_normal((2, 2), mean=1e308, std=1e308), r"truncated_normal: the interval \[a, b\] = \[-2, 2\] is narrower than float64 resolves"),
    (lambda: init.truncated_normal((2, 2), a=40, b=41), r"truncated_normal: the interval \[40, 41\] .* too far in the tail"),
    (lambda: init.uniform((2, 2), low=-1e308, high=1e308), r"uniform: .* wider than float64 can hold"),
    (lambda: init.glorot_uniform((2, 2), gain=1e308), r"glorot_uniform: with gain=1e\+308 .* wider than float64 can hold"),
])
def test_settings_that_overflow_the_dtype_are_named_errors(call, words):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # and no NumPy overflow warning on the way
        with pytest.raises(InvalidValueError, match=words):
            call()


def test_large_but_representable_settings_still_work():
    assert init.constant((2,), value=3e38)[0] == np.float32(3e38)
    assert np.isfinite(init.normal((3,), 0, std=1e300, dtype=np.float64)).all()
    assert np.isfinite(init.initialize("ones*1e39", (2,), dtype=np.float64)).all()
    assert init.initialize(np.zeros((0, 3)), (0, 3)).shape == (0, 3)


@pytest.mark.parametrize("phi, returned", [
    (lambda z: [1.0, 2.0], r"list of shape \(2,\)"),
    (lambda z: "abc", "str"),
    (lambda z: np.ones(3), r"ndarray of shape \(3,\)"),
])
def test_gain_for_names_a_callable_that_returns_the_wrong_thing(phi, returned):
    with pytest.raises(InvalidValueError, match=rf"gain_for: expected the activation to map .* got {returned}"):
        init.gain_for(phi)
