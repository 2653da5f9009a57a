"""Sequential: whole-model gradients, state dicts, config round trip, summary, builders."""
import json

import numpy as np
import pytest

from initlab import layers as L
from initlab.errors import CallOrderError, CheckpointError, InvalidValueError, ShapeError, UnknownNameError
from initlab.losses import MSE, SoftmaxCrossEntropy
from initlab.model import Sequential
from initlab.models import build, lenet5, plain_cnn, small_cnn

from gradcheck import numeric_grad, relative_error, sample_indices


def tiny_net(rng, dtype=np.float64):
    return Sequential([
        L.Conv2D(2, 3, 3, padding=1, rng=rng, bias_init="normal(std=0.1)", dtype=dtype), L.Tanh(dtype=dtype),
        L.MaxPool2D(2, dtype=dtype), L.Conv2D(3, 4, 2, rng=rng, dtype=dtype), L.ELU(dtype=dtype),
        L.Flatten(dtype=dtype), L.Dense(None, 5, rng=rng, dtype=dtype),
    ])


def test_whole_network_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    model = tiny_net(rng)
    x = rng.normal(size=(3, 2, 6, 6))
    y = np.array([0, 3, 4])
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), y)
    grad_x = model.backward(loss.backward(), input_grad=True)
    f = lambda: loss.forward(model.forward(x), y)
    idx = sample_indices(x.shape, rng, 20)
    assert relative_error(np.array([grad_x[i] for i in idx]), numeric_grad(f, x, idx)).max() < 1e-6
    for key, layer, name in model.named_parameters():
        analytic_all = layer.grads[name].copy()
        idx = sample_indices(layer.params[name].shape, rng, 10)
        err = relative_error(np.array([analytic_all[i] for i in idx]), numeric_grad(f, layer.params[name], idx))
        assert err.max() < 1e-6, key


def test_mse_gradient():
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    mse = MSE()
    mse.forward(p, t)
    g = mse.backward()
    idx = sample_indices(p.shape, rng, 12)
    assert relative_error(np.array([g[i] for i in idx]), numeric_grad(lambda: mse.forward(p, t), p, idx)).max() < 1e-6


def test_backward_without_input_grad_returns_none_but_fills_grads():
    rng = np.random.default_rng(0)
    model = tiny_net(rng)
    out = model.forward(rng.normal(size=(2, 2, 6, 6)))
    assert model.backward(np.ones_like(out)) is None
    assert "weight" in model[0].grads


def test_state_dict_keys_like_torch_and_round_trip():
    model = Sequential([L.Conv2D(1, 2, 3, rng=0), L.ReLU(), L.BatchNorm2D(2), L.Flatten(), L.Dense(None, 3, rng=0)])
    model.forward(np.zeros((1, 1, 5, 5), np.float32))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                           "2.num_batches_tracked", "4.weight", "4.bias"]
    other = Sequential.from_config(json.loads(json.dumps(model.config())))
    other.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(model.forward(x, training=False), other.forward(x, training=False))


def test_load_state_dict_validates_before_changing_anything():
    model = Sequential([L.Conv2D(1, 2, 3, rng=0), L.Flatten(), L.Dense(18, 3, rng=0)])
    before = model.state_dict()
    bad = dict(before)
    bad["2.weight"] = np.zeros((3, 5), np.float32)
    bad["0.weight"] = np.zeros_like(before["0.weight"])
    with pytest.raises(CheckpointError, match=r"'2.weight': expected shape \(3, 18\), found \(3, 5\)"):
        model.load_state_dict(bad)
    np.testing.assert_array_equal(model[0].params["weight"], before["0.weight"])
    with pytest.raises(CheckpointError, match="missing"):
        model.load_state_dict({"0.weight": before["0.weight"]})
    with pytest.raises(CheckpointError, match="unexpected"):
        model.load_state_dict({**before, "9.weight": np.zeros(1)})
    model.load_state_dict({**before, "9.weight": np.zeros(1)}, strict=False)


def test_summary_lists_shapes_params_and_inits():
    model = lenet5(1, 10, 28, rng=0)
    text = model.summary((1, 28, 28))
    assert "(N, 6, 28, 28)" in text and "(N, 16, 5, 5)" in text and "(N, 400)" in text
    assert "weight=he_normal" in text
    assert f"total parameters: {61706:,}" in text   # the classic LeNet-5 count with 10 classes
    with pytest.raises(ShapeError, match="summary"):
        model.summary((3, 28, 28))


def test_builders_shapes_and_names():
    assert small_cnn(1, 10, 8, rng=0).forward(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)
    assert lenet5(1, 8, 16, rng=0).forward(np.zeros((2, 1, 16, 16), np.float32)).shape == (2, 8)
    deep = plain_cnn(5, 4, "tanh", in_channels=1, num_classes=3, rng=0)
    assert sum(isinstance(l, L.Conv2D) for l in deep) == 5
    assert build("plain:3x8", in_channels=1, num_classes=2, image_size=8, rng=0)[0].out_channels == 8
    with pytest.raises(UnknownNameError, match="did you mean 'lenet5'"):
        build("lenet", in_channels=1, num_classes=2, image_size=8)
    with pytest.raises(ShapeError, match="too small"):
        lenet5(1, 10, 8)


def test_same_seed_same_bits():
    a = lenet5(rng=5).state_dict()
    b = lenet5(rng=5).state_dict()
    c = lenet5(rng=6).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_first_nonfinite_layer_is_named():
    model = Sequential([L.Conv2D(1, 2, 3, rng=0), L.ReLU(), L.Flatten(), L.Dense(None, 2, rng=0)])
    model.forward(np.zeros((1, 1, 4, 4), np.float32))
    model[3].params["weight"][0, 0] = np.inf
    x = np.ones((1, 1, 4, 4), np.float32)
    assert model.first_nonfinite_forward(x) in ("layer 3 (Dense)",)


def test_bad_sequences_and_configs():
    from initlab.errors import InvalidValueError
    with pytest.raises(InvalidValueError, match="at least one layer"):
        Sequential([])
    with pytest.raises(CheckpointError, match="dtype"):
        Sequential.from_config({"dtype": "float99", "layers": [{"type": "ReLU"}]})
    with pytest.raises(CheckpointError, match="layer 0"):
        Sequential.from_config({"layers": ["ReLU"]})


def test_a_layer_object_used_twice_is_refused():
    """A layer keeps one forward cache and one set of gradients: a second use overwrote the first's."""
    act = L.Tanh()
    with pytest.raises(InvalidValueError, match="item 3 is the same Tanh object as item 1; use a new layer"):
        Sequential([L.Dense(3, 3, rng=1), act, L.Dense(3, 3, rng=2), act])
    dense = L.Dense(3, 3, rng=0)
    with pytest.raises(InvalidValueError, match="item 1 is the same Dense object as item 0"):
        Sequential([dense, dense])
    for not_a_list in (None, L.ReLU(), "relu"):
        with pytest.raises(InvalidValueError, match="expected a list of layers"):
            Sequential(not_a_list)
    assert len(Sequential(layer for layer in (L.Flatten(), L.Dense(4, 2, rng=0)))) == 2


def test_backward_after_predict_or_summary_is_refused_until_the_next_forward():
    """predict() ran on another batch of the same size used to hand backward its caches: wrong gradients."""
    rng = np.random.default_rng(0)
    model, loss = tiny_net(rng), SoftmaxCrossEntropy()
    x, y = rng.normal(size=(3, 2, 6, 6)), np.array([0, 3, 4])
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    expected = model.layers[0].grads["weight"].copy()
    from initlab.diagnostics import signal_propagation
    other = rng.normal(size=(3, 2, 6, 6))
    with pytest.raises(CallOrderError, match="before forward"):
        tiny_net(rng).backward(np.zeros((3, 5)))
    for interrupt in (lambda: model.predict(other), lambda: model.summary((2, 6, 6)),
                      lambda: model.first_nonfinite_forward(other),
                      lambda: model.layers[0].forward(other),
                      lambda: signal_propagation(model, other, y)):
        loss.forward(model.forward(x), y)
        interrupt()
        with pytest.raises(CallOrderError, match="call forward\\(x\\) again before backward"):
            model.backward(loss.backward())
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    assert np.array_equal(model.layers[0].grads["weight"], expected)


def test_predict_and_summary_name_bad_arguments():
    model = tiny_net(np.random.default_rng(0))
    x = np.zeros((2, 2, 6, 6))
    for size in (0, -1, 2.5, None):
        with pytest.raises(InvalidValueError, match="predict batch_size"):
            model.predict(x, batch_size=size)
    with pytest.raises(ShapeError, match="expected a batch"):
        model.predict(np.float32(3))
    for shape in (5, ("a", 6, 6), (2.0, 6.0, 6.0), (2, -6, 6), (6,), (True, 6, 6)):
        with pytest.raises(ShapeError, match=r"summary: expected an input shape \(C, H, W\)"):
            model.summary(shape)
    assert model.predict(x, batch_size=1).shape == (2, 5)
    assert model.summary((None, 2, 6, 6)) == model.summary((0, 2, 6, 6)) == model.summary((2, 6, 6))
    with pytest.raises(ShapeError, match="equally shaped examples"):
        model.predict([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("key, value, message", [
    ("0.weight", np.full((3, 2, 3, 3), np.nan), "non-finite values"),
    ("0.bias", np.array([1e39, 0, 0]), "overflow float32"),
    ("1.num_batches_tracked", np.array(2.7), "whole numbers in \\[0, "),
    ("1.num_batches_tracked", np.array(-5), "whole numbers"),
    ("1.running_var", np.array([1.0, -0.5, 1.0]), "a variance must be >= 0, found -0.5"),
    ("1.num_batches_tracked", np.array(2.0 ** 63), "whole numbers in \\[0, "),      # would wrap to -2**63
    ("0.bias", [[1.0], [2.0, 3.0]], "expected an array, got a ragged list"),
])
def test_load_state_dict_refuses_values_the_cast_would_change(key, value, message):
    model = Sequential([L.Conv2D(2, 3, 3, rng=0), L.BatchNorm2D(3)])
    before = model.state_dict()
    with pytest.raises(CheckpointError, match=f"tensor '{key}': .*{message}"):
        model.load_state_dict({**before, key: value})
    for name, array in model.state_dict().items():
        assert np.array_equal(array, before[name])
    for not_a_dict in (None, list(before.items()), list(before)):
        with pytest.raises(InvalidValueError, match="expected a dict of name -> array"):
            model.load_state_dict(not_a_dict)
    model.load_state_dict({**before, "1.num_batches_tracked": np.array(7.0)})   # a whole float is fine
    assert model.layers[1].buffers["num_batches_tracked"] == 7


def test_model_names_parse_in_one_place():
    from initlab.models import parse_name
    assert parse_name("lenet5") == ("lenet5", ())
    assert parse_name("plain:30x16") == ("plain", (30, 16))
    for bad in ("plain:30", "lenet", None, ["lenet5"], "plain:\u0663x8"):     # an Arabic-Indic 3
        with pytest.raises(UnknownNameError, match="unknown model"):
            parse_name(bad)
