"""Mean-field theory (init.meanfield, theory): against Monte Carlo, closed forms and bad input."""
import math

import numpy as np
import pytest

from initlab import init, theory
from initlab.errors import InvalidValueError, ShapeError, UnknownNameError
from initlab.init import meanfield

# issue 15's measurement: the tanh critical line
TANH_LINE = [(1e-5, 1.040), (1e-4, 1.086), (1e-3, 1.189), (1e-2, 1.424), (0.05, 1.761)]


def _mc(f, n=2_000_000, seed=0):
    z = np.random.default_rng(seed).standard_normal(n)
    return float(np.mean(f(z)))


@pytest.mark.parametrize("sigma_b2, expected", TANH_LINE)
def test_tanh_critical_line_matches_the_measured_values(sigma_b2, expected):
    assert theory.critical_sigma_w2("tanh", sigma_b2) == pytest.approx(expected, abs=6e-4)


@pytest.mark.parametrize("sigma_b2", [1e-5, 1e-2, 0.05])
def test_on_the_critical_line_monte_carlo_gives_a_fixed_point_and_chi_1_one(sigma_b2):
    s = theory.critical_sigma_w2("tanh", sigma_b2)
    q = theory.fixed_point_q("tanh", s, sigma_b2)
    v = s * _mc(lambda z: np.tanh(math.sqrt(q) * z) ** 2) + sigma_b2
    chi = s * _mc(lambda z: np.cosh(math.sqrt(q) * z) ** -4)
    assert v == pytest.approx(q, rel=3e-3)
    assert chi == pytest.approx(1.0, abs=2e-3)
    assert theory.chi_1("tanh", q, s) == pytest.approx(1.0, abs=1e-9)


def test_off_the_line_fixed_points_agree_with_monte_carlo():
    for act, f, s, b in [("tanh", np.tanh, 2.5, 0.3), ("sigmoid", lambda z: 1 / (1 + np.exp(-z)), 1.2, 0.1),
                         ("tanh", np.tanh, 0.6, 0.05)]:
        q = theory.fixed_point_q(act, s, b)
        assert s * _mc(lambda z: f(math.sqrt(q) * z) ** 2) + b == pytest.approx(q, rel=3e-3)


def test_relu_closed_forms():
    for q in (0.3, 1.0, 7.0):
        assert theory.variance_map("relu", q, 1.5, 0.1) == pytest.approx(1.5 * q / 2 + 0.1, rel=1e-12)
        assert theory.chi_1("relu", q, 1.5) == pytest.approx(0.75, rel=1e-12)
    assert theory.fixed_point_q("relu", 1.5, 0.1) == pytest.approx(0.1 / (1 - 0.75), rel=1e-9)
    assert theory.fixed_point_q("relu", 2.5, 0.1) == math.inf
    for b in (0.0, 1e-3, 0.5):
        assert theory.critical_sigma_w2("relu", b) == pytest.approx(2.0, rel=1e-12)


def test_relu_correlation_map_is_the_arc_cosine_kernel():
    s, b = 1.5, 0.1
    q = theory.fixed_point_q("relu", s, b)
    for c in (-0.5, 0.0, 0.3, 0.9):
        k = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / (2 * math.pi)   # E[relu(u1) relu(u2)] / q
        # the product Hermite rule integrates the slanted kink of relu(u2) only to ~1e-3
        assert theory.correlation_map("relu", c, s, b) == pytest.approx((s * q * k + b) / q, abs=3e-3)


def test_linear_and_tanh_closed_forms():
    assert theory.fixed_point_q("linear", 0.5, 0.2) == pytest.approx(0.4, rel=1e-9)
    assert theory.critical_sigma_w2("linear", 0.0) == pytest.approx(1.0, rel=1e-12)
    assert theory.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, rel=1e-12)
    assert theory.fixed_point_q("tanh", 0.9, 0.0) == 0.0
    assert theory.chi_1("tanh", 0.0, 0.9) == pytest.approx(0.9, rel=1e-12)


def test_chi_q_is_the_slope_of_the_variance_map():
    s, b = 1.7, 0.05
    q = theory.fixed_point_q("tanh", s, b)
    h = 1e-5 * q
    slope = (theory.variance_map("tanh", q + h, s, b) - theory.variance_map("tanh", q - h, s, b)) / (2 * h)
    assert theory.chi_q("tanh", s, b) == pytest.approx(slope, rel=1e-5)


def test_ordered_and_chaotic_phases():
    ordered = theory.depth_scales("tanh", 1.2, 0.05)
    assert ordered["c_star"] == 1.0 and ordered["chi_c"] == pytest.approx(ordered["chi_1"]) and ordered["chi_c"] < 1
    assert ordered["xi_c"] == pytest.approx(-1 / math.log(ordered["chi_c"]))
    chaotic = theory.depth_scales("tanh", 2.5, 0.05)
    assert chaotic["chi_1"] > 1 and chaotic["c_star"] < 1 and 0 < chaotic["chi_c"] < 1
    assert theory.correlation_map("tanh", chaotic["c_star"], 2.5, 0.05) == pytest.approx(chaotic["c_star"], abs=1e-9)
    # deeper into the ordered phase the correlation depth scale shrinks; at criticality it diverges
    assert theory.depth_scales("tanh", 0.8, 0.05)["xi_c"] < ordered["xi_c"]
    s = theory.critical_sigma_w2("tanh", 0.05)
    assert theory.depth_scales("tanh", s, 0.05)["xi_c"] > 1e6


def test_correlation_map_keeps_identical_inputs_identical():
    assert theory.correlation_map("tanh", 1.0, 1.5, 0.05) == pytest.approx(1.0, abs=1e-12)


def test_padding_gain_closed_form_and_the_variance_maps_follow_it():
    assert theory.padding_gain(8) == pytest.approx((1 + 2 * math.cos(math.pi / 9)) ** 2 / 9, rel=1e-12)
    assert theory.padding_gain((8, 8), 1, 0) == 1.0          # a 1x1 kernel loses nothing at the border
    assert theory.padding_gain(400) > 0.9999
    maps = theory.padded_variance_maps("linear", 1.0, 0.0, 8, 200)
    assert maps[-1].sum() / maps[-2].sum() == pytest.approx(theory.padding_gain(8), rel=1e-9)
    assert maps[5][0, 0] < maps[5][4, 4]                    # the corner sees 4 of 9 taps


def test_critical_initializer_by_name():
    spec = "critical(activation=tanh, sigma_b2=1e-5, kernel=delta_orthogonal)"
    w = init.initialize(spec, (16, 16, 3, 3), rng=0, dtype=np.float64)
    centre = w[:, :, 1, 1]
    np.testing.assert_allclose(centre.T @ centre, 1.0395211 * np.eye(16), atol=1e-6)
    assert np.count_nonzero(w) == 256
    g = init.initialize("critical(activation=tanh, kernel=gaussian)", (256, 64, 3, 3), rng=0, dtype=np.float64)
    assert g.var() * 64 * 9 == pytest.approx(1.0, rel=0.02)
    assert init.get(init.describe(spec)) == init.get(spec)


def test_bad_input_is_named():
    with pytest.raises(UnknownNameError, match="activation"):
        theory.critical_sigma_w2("tanhh", 0.0)
    with pytest.raises(UnknownNameError, match="activation"):
        theory.critical_sigma_w2(["tanh"], 0.0)
    with pytest.raises(InvalidValueError, match="sigma_b2"):
        theory.critical_sigma_w2("tanh", -1.0)
    with pytest.raises(InvalidValueError, match="sigma_w2"):
        theory.fixed_point_q("tanh", 0.0, 0.1)
    with pytest.raises(InvalidValueError, match="correlation_map: c"):
        theory.correlation_map("tanh", 1.5, 1.0, 0.1)
    with pytest.raises(InvalidValueError, match="grows without bound"):
        theory.depth_scales("relu", 3.0, 0.1)
    with pytest.raises(UnknownNameError, match="critical kernel"):
        init.get("critical(kernel=uniform)")
    with pytest.raises(ShapeError, match="same"):
        theory.padding_gain(8, 3, 0)
    with pytest.raises(InvalidValueError, match="sigma_w2/sigma_b2"):
        theory.vanilla_cnn(3, kernel="he_normal", sigma_b2=0.1)


def test_vanilla_cnn_is_on_the_critical_line():
    model = theory.vanilla_cnn(4, 8, kernel="delta_orthogonal", sigma_b2=1e-3, rng=0, dtype=np.float64)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert len(convs) == 4 and [type(layer).__name__ for layer in model.layers][-3:] == ["GlobalAvgPool2D", "Flatten", "Dense"]
    centre = convs[1].params["weight"][:, :, 1, 1]
    np.testing.assert_allclose(centre.T @ centre, theory.critical_sigma_w2("tanh", 1e-3) * np.eye(8), atol=1e-12)
    relu = theory.vanilla_cnn(3, 8, activation="relu", kernel="he_normal", rng=0)
    assert relu.layers[0].init_names["weight"] == "he_normal"


def test_padding_loss_tends_to_the_gain_per_layer():
    assert theory.padding_loss(8, 0) == 1.0
    assert theory.padding_loss(8, 300) / theory.padding_loss(8, 299) == pytest.approx(theory.padding_gain(8), rel=1e-12)
    maps = theory.padded_variance_maps("linear", 1.0, 0.0, 8, 4)
    assert maps[-1].mean() == pytest.approx(theory.padding_loss(8, 3), rel=1e-12)


def test_vanilla_cnn_heads():
    """The flatten head reads all width x H x W numbers; the average head their channel means."""
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    flat = theory.vanilla_cnn(3, 4, head="flatten", padding_mode="circular", rng=0, dtype=np.float64)
    assert [type(layer).__name__ for layer in flat.layers][-2:] == ["Flatten", "Dense"]
    assert flat.layers[-1].params["weight"].shape[-1] == 4 * 64 and flat.forward(x).shape == (2, 10)
    assert flat.layers[0].padding_mode == "circular"
    with pytest.raises(UnknownNameError, match="head"):
        theory.vanilla_cnn(3, head="max")
