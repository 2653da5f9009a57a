"""LSUV: every rescaled layer's output variance is 1 within tol on the batch, from any start."""
import numpy as np
import pytest

from initlab import layers as L
from initlab.errors import InvalidValueError
from initlab.lsuv import lsuv
from initlab.model import Sequential
from initlab.models import plain_cnn


@pytest.fixture(scope="module")
def x_batch():
    return np.random.default_rng(0).standard_normal((16, 1, 8, 8)).astype(np.float32)


def output_variances(model, x):
    """Variance of every Conv2D/Dense output, by an independent forward pass."""
    out, h = [], x
    for layer in model.layers:
        h = layer.forward(h, training=False)
        if isinstance(layer, (L.Conv2D, L.Dense)):
            out.append(float(np.var(h, dtype=np.float64)))
    return out


@pytest.mark.parametrize("orthonormal", [False, True])
def test_20_layer_relu_stack_from_std_001_gets_unit_variance(x_batch, orthonormal):
    model = plain_cnn(20, 8, "relu", weight_init="normal(std=0.01)", rng=0)
    before = output_variances(model, x_batch)
    assert before[-2] < 1e-20                          # the std 0.01 stack has collapsed
    records = lsuv(model, x_batch, tol=0.1, rng=1, orthonormal=orthonormal)
    assert len(records) == 21                          # 20 convs and the dense head
    assert [r["label"] for r in records][:2] == ["layer 0 (Conv2D)", "layer 2 (Conv2D)"]
    for r, var in zip(records, output_variances(model, x_batch)):
        assert abs(var - 1) <= 0.1 and r["converged"]
        assert r["variance"] == pytest.approx(var, rel=1e-4)
        assert (0 if orthonormal else 1) <= r["iterations"] <= 10
    if not orthonormal:                                # only rescaled: the directions are the std 0.01 draws
        fresh = plain_cnn(20, 8, "relu", weight_init="normal(std=0.01)", rng=0)
        w0, w = fresh.layers[2].params["weight"], model.layers[2].params["weight"]
        assert np.allclose(w / w0, records[1]["scale"], rtol=1e-4)


def test_orthonormal_preinit_is_orthonormal_up_to_scale(x_batch):
    model = plain_cnn(3, 8, "tanh", weight_init="normal(std=0.01)", rng=0, dtype=np.float64)
    records = lsuv(model, x_batch, rng=0)
    w = model.layers[2].params["weight"].reshape(8, -1) / records[1]["scale"]
    np.testing.assert_allclose(w @ w.T, np.eye(8), atol=1e-10)
    assert model.layers[2].init_names["weight"] == "lsuv(orthogonal)"


def test_biases_need_more_than_one_rescaling(x_batch):
    model = plain_cnn(6, 8, "tanh", weight_init="he_normal", bias_init="normal(std=0.5)", rng=0)
    records = lsuv(model, x_batch, tol=0.01, max_iter=50, rng=0)
    assert all(abs(r["variance"] - 1) <= 0.01 for r in records)
    assert max(r["iterations"] for r in records) > 1


def test_max_iter_bounds_the_work_and_is_reported(x_batch):
    model = plain_cnn(2, 4, "relu", weight_init="he_normal", bias_init="constant(value=3.0)", rng=0)
    records = lsuv(model, x_batch, tol=1e-9, max_iter=1, rng=0)
    assert all(r["iterations"] <= 1 for r in records)
    assert not all(r["converged"] for r in records)


def test_same_seed_same_weights_and_global_state_untouched(x_batch):
    state = np.random.get_state()[1].copy()
    a, b = (plain_cnn(4, 4, "relu", rng=0) for _ in range(2))
    lsuv(a, x_batch, rng=7)
    lsuv(b, x_batch, rng=7)
    for la, lb in zip(a.layers, b.layers):
        for name in la.params:
            assert np.array_equal(la.params[name], lb.params[name])
    assert np.array_equal(np.random.get_state()[1], state)


def test_lazy_dense_is_built_and_rescaled(x_batch):
    model = Sequential([L.Conv2D(1, 4, 3, padding=1, rng=0), L.ReLU(), L.Flatten(), L.Dense(None, 5, rng=0)])
    records = lsuv(model, x_batch, rng=0)
    assert model.layers[3].in_features == 4 * 64 and len(records) == 2


def test_frozen_hand_made_filters_are_left_as_chosen(x_batch):
    from initlab import filters
    hand = filters.bank(["sobel_x", "sobel_y", "x_shape", "laplacian"], 1, 3)
    model = Sequential([L.Conv2D(1, 4, 3, padding=1, weight_init=hand, trainable=False), L.ReLU(),
                        L.Conv2D(4, 4, 3, padding=1, rng=0), L.ReLU()])
    records = lsuv(model, x_batch, rng=0)
    assert np.array_equal(model.layers[0].params["weight"], hand.astype(np.float32))
    assert [r["label"] for r in records] == [model.layers[2].label]
    assert abs(output_variances(model, x_batch)[1] - 1) <= 0.1


def test_errors(x_batch):
    with pytest.raises(InvalidValueError, match="variance"):
        lsuv(plain_cnn(2, 4, "relu", rng=0), np.zeros((4, 1, 8, 8), np.float32), rng=0)
    with pytest.raises(InvalidValueError):
        lsuv(plain_cnn(2, 4, "relu", rng=0), x_batch, tol=0)
    with pytest.raises(InvalidValueError):
        lsuv(plain_cnn(2, 4, "relu", rng=0), x_batch[:0])
    with pytest.raises(InvalidValueError, match="no trainable Conv2D or Dense"):
        lsuv(Sequential([L.ReLU(), L.Flatten()]), x_batch)


def test_a_backward_after_lsuv_needs_a_new_forward():
    """lsuv runs the layers on its own batch: their caches no longer match the model's forward."""
    from initlab.errors import CallOrderError
    from initlab.losses import SoftmaxCrossEntropy
    from initlab.models import small_cnn
    rng = np.random.default_rng(0)
    model, loss = small_cnn(1, 10, 8, rng=0), SoftmaxCrossEntropy()
    x = rng.normal(size=(4, 1, 8, 8)).astype(np.float32)
    loss.forward(model.forward(x), np.arange(4))
    lsuv(model, rng.normal(size=(4, 1, 8, 8)).astype(np.float32), rng=0)
    with pytest.raises(CallOrderError, match="call forward\\(x\\) again before backward"):
        model.backward(loss.backward())
