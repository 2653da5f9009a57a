"""Memory for depth: inference keeps no caches; recomputation gives bit-identical gradients."""
import numpy as np
import pytest

from initlab import layers, recompute
from initlab.errors import CallOrderError, InvalidValueError
from initlab.losses import SoftmaxCrossEntropy
from initlab.model import Sequential
from initlab.optim import Adam
from initlab.theory import vanilla_cnn
from initlab.train import evaluate

X = np.random.default_rng(0).standard_normal((5, 1, 6, 6))
Y = np.array([0, 1, 2, 3, 4])


def _cached(model, workspace=False):
    """The layers still holding something a backward would read (or, with `workspace`, the
    training buffers a conv reuses from step to step)."""
    names = [n for n in layers.Layer._TRANSIENT if workspace or n != "_workspace"]
    return [layer.label for layer in model.layers if any(n in layer.__dict__ for n in names)]


def _gradients(segments, activation="tanh", dtype=np.float64, twice=False):
    kernel = "gaussian" if activation == "tanh" else "he_normal"
    sigma = {"sigma_b2": 1e-3} if activation == "tanh" else {}
    model = vanilla_cnn(7, 6, activation=activation, kernel=kernel, rng=3, dtype=dtype,
                        checkpoint_segments=segments, **sigma)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X.astype(dtype)), Y)
    grad = loss.backward()
    gx = model.backward(grad, input_grad=True)
    if twice:
        gx = model.backward(grad, input_grad=True)
    return [layer.grads[k] for layer in model.layers for k in sorted(layer.grads)] + [gx]


@pytest.mark.parametrize("segments", [1, 2, 3, 5, 17, 100])
@pytest.mark.parametrize("activation, dtype", [("tanh", np.float64), ("relu", np.float32)])
def test_recomputed_gradients_are_bit_identical(segments, activation, dtype):
    plain, checkpointed = _gradients(None, activation, dtype), _gradients(segments, activation, dtype)
    assert len(plain) == len(checkpointed) == 7 * 2 + 2 + 1
    for a, b in zip(plain, checkpointed):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_a_second_backward_recomputes_again():
    for a, b in zip(_gradients(None), _gradients(3, twice=True)):
        assert np.array_equal(a, b)


def test_training_steps_match_plain_backprop_bit_for_bit():
    def train(segments):
        model = vanilla_cnn(6, 4, kernel="delta_orthogonal", sigma_b2=1e-4, rng=1, checkpoint_segments=segments)
        loss, opt = SoftmaxCrossEntropy(), Adam(model, lr=1e-2)
        for _ in range(3):
            loss.forward(model.forward(X), Y)
            model.backward(loss.backward())
            opt.step()
        return model.state_dict()
    plain, checkpointed = train(None), train(2)
    assert all(np.array_equal(plain[k], checkpointed[k]) for k in plain)


def test_checkpointed_forward_keeps_only_the_segment_inputs():
    model = vanilla_cnn(10, 4, rng=0, checkpoint_segments=4)
    model.forward(X)
    assert _cached(model, workspace=True) == [] and len(model._segment_inputs) == 4
    model.backward(np.ones((5, 10)) / 5)
    assert _cached(model, workspace=True) == []


def test_segment_bounds_cover_every_layer_once():
    for n, k in [(10, 3), (7, 7), (3, 10), (2003, 45)]:
        bounds = recompute.segment_bounds(n, k)
        assert bounds[0][0] == 0 and bounds[-1][1] == n and len(bounds) == min(n, k)
        assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))


def test_layers_that_change_in_forward_are_refused():
    conv = layers.Conv2D(1, 2, 3, padding=1, rng=0)
    with pytest.raises(InvalidValueError, match=r"layer 1 \(Dropout\)"):
        Sequential([conv, layers.Dropout(0.5, rng=0)], checkpoint_segments=2)
    with pytest.raises(InvalidValueError, match=r"layer 1 \(BatchNorm2D\)"):
        Sequential([layers.Conv2D(1, 2, 3, rng=0), layers.BatchNorm2D(2)], checkpoint_segments=2)
    with pytest.raises(InvalidValueError, match="checkpoint_segments"):
        Sequential([layers.Conv2D(1, 2, 3, rng=0)], checkpoint_segments=0)


def test_inference_keeps_no_cache_and_matches_forward():
    model = vanilla_cnn(6, 4, rng=0)
    expected = model.forward(X, training=False)
    assert _cached(model)                        # forward keeps what backward needs
    model.forward(X)
    assert np.array_equal(model.predict(X), expected)
    np.testing.assert_allclose(model.predict(X, batch_size=2), expected, rtol=1e-4, atol=1e-6)
    assert _cached(model) == []
    with pytest.raises(CallOrderError):
        model.backward(np.ones((5, 10)))
    evaluate(model, SoftmaxCrossEntropy(), X, Y, batch_size=2)
    assert _cached(model) == []
