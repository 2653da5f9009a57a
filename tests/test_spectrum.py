"""Jacobian spectra against exactly known cases and finite differences; the width drift fit."""
import math

import numpy as np
import pytest

from initlab import layers, spectrum, theory
from initlab.errors import InvalidValueError, ShapeError
from initlab.model import Sequential


def _orthogonal_linear_stack(depth=6, width=4, seed=0):
    """delta-orthogonal kernels, no activation, no bias: per pixel an orthogonal map, so J is
    orthogonal (padding is irrelevant: only the centre tap is non-zero)."""
    return theory.vanilla_cnn(depth, width, activation="linear", kernel="delta_orthogonal", sigma_w2=1.0,
                              in_channels=width, rng=seed, dtype=np.float64)


def test_a_linear_orthogonal_stack_has_every_singular_value_one():
    model = _orthogonal_linear_stack()
    x = np.random.default_rng(0).standard_normal((4, 5, 5))
    s = spectrum.singular_values(model, x, stop=6)
    assert s.shape == (100,)
    np.testing.assert_allclose(s, 1.0, atol=1e-12)
    summary = spectrum.summarize(s)
    assert summary["condition"] == pytest.approx(1.0, abs=1e-10) and summary["within"] == 1.0


def test_jacobian_matches_central_differences():
    model = theory.vanilla_cnn(3, 3, kernel="gaussian", sigma_w2=1.5, sigma_b2=0.05, in_channels=2, rng=1,
                               dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 5))
    J = spectrum.jacobian(model, x, chunk=7)               # the whole model, chunks not dividing 10 outputs
    assert J.shape == (10, 40)
    eps = 1e-6
    for i in range(40):
        e = np.zeros(40)
        e[i] = eps
        fd = (model.predict(x + e.reshape(x.shape)) - model.predict(x - e.reshape(x.shape))).ravel() / (2 * eps)
        np.testing.assert_allclose(J[:, i], fd, atol=1e-8)


def test_lanczos_with_full_steps_is_the_exact_spectrum_and_short_runs_find_the_top():
    model = theory.vanilla_cnn(5, 3, kernel="gaussian", sigma_b2=1e-3, in_channels=3, rng=2, dtype=np.float64)
    x = 0.3 * np.random.default_rng(2).standard_normal((3, 4, 4))
    exact = spectrum.singular_values(model, x, stop=10)
    full = spectrum.lanczos_singular_values(model, x, stop=10, steps=48, rng=0)
    np.testing.assert_allclose(full[:10], exact[:10], rtol=1e-6)
    short = spectrum.lanczos_singular_values(model, x, stop=10, steps=20, rng=0)
    assert short[0] == pytest.approx(exact[0], rel=1e-8)


def test_delta_orthogonal_at_criticality_is_far_better_conditioned_than_gaussian():
    b = 1e-3
    q = theory.fixed_point_q("tanh", theory.critical_sigma_w2("tanh", b), b)
    x = np.tanh(math.sqrt(q) * np.random.default_rng(0).standard_normal((8, 6, 6)))
    result = {}
    for kernel in ("delta_orthogonal", "gaussian"):
        model = theory.vanilla_cnn(12, 8, kernel=kernel, sigma_b2=b, in_channels=8, rng=0, dtype=np.float64)
        s = spectrum.singular_values(model, x, stop=24)
        result[kernel] = spectrum.summarize(s, predicted_mean_sq=spectrum.predicted_mean_sq(model, x))
    assert result["delta_orthogonal"]["condition"] < 1e3 < 1e10 < result["gaussian"]["condition"]
    assert result["delta_orthogonal"]["within"] > result["gaussian"]["within"]
    # mean field: mean(s^2) ~ prod chi (~1 here), times the zero border's loss for Gaussian kernels
    for kernel, r in result.items():
        assert r["mean_sq"] == pytest.approx(r["predicted_mean_sq"], rel=0.35), kernel


def test_log_q_drift_fit_recovers_a_and_b():
    out = spectrum.log_q_drift([8, 32], depth=8, seeds=(0,), batch=4, image_size=4)
    design = np.array([[1, 1 / 8], [1, 1 / 32]])
    np.testing.assert_allclose(design @ [out["a"], out["b"]], out["slopes"], atol=1e-12)
    assert out["q_star"] == pytest.approx(theory.fixed_point_q("tanh", out["sigma_w2"], 1e-3))


def test_bad_input_is_named():
    model = _orthogonal_linear_stack(2, 2)
    x = np.zeros((2, 3, 3))
    with pytest.raises(ShapeError, match="one example"):
        spectrum.jacobian(model, np.zeros((2, 2, 3, 3)))
    with pytest.raises(InvalidValueError, match="stop"):
        spectrum.jacobian(model, x, stop=50)
    with pytest.raises(InvalidValueError, match="Sequential"):
        spectrum.jacobian(layers.Conv2D(2, 2, 3), x)
    with pytest.raises(InvalidValueError, match="singular values"):
        spectrum.summarize([1.0, -1.0])
    with pytest.raises(InvalidValueError, match="2 widths"):
        spectrum.log_q_drift([16])
    assert isinstance(model, Sequential)
