"""Diagnostics: signal_propagation's statistics, predicted_propagation's mean-field recursion."""
import math

import numpy as np
import pytest
from scipy import integrate

from initlab import data
from initlab import layers as L
from initlab.diagnostics import (SATURATION, filter_similarity, offdiagonal, predicted_propagation,
                                 signal_propagation, template_scores)
from initlab.errors import DTypeError, InvalidValueError, ShapeError
from initlab.losses import SoftmaxCrossEntropy
from initlab.model import Sequential
from initlab.models import plain_cnn


def small_net(activation="relu", weight_init="he_normal", dtype=np.float64, seed=0):
    return plain_cnn(3, 6, activation, weight_init=weight_init, rng=seed, dtype=dtype)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 10, 8)


# --------------------------------------------------------------------------- signal_propagation

def test_forward_records_every_layer(batch):
    x, _ = batch
    model = small_net()
    records = signal_propagation(model, x, bins=12)
    assert [r["index"] for r in records] == list(range(len(model)))
    h = x
    for layer, r in zip(model.layers, records):
        h = layer.forward(h)
        assert r["label"] == layer.label and r["type"] == type(layer).__name__
        assert r["shape"] == list(h.shape[1:])
        assert r["mean"] == pytest.approx(h.mean()) and r["std"] == pytest.approx(h.std())
        assert r["rms"] == pytest.approx(np.sqrt(np.mean(h ** 2)))
        assert r["zero_fraction"] == pytest.approx(np.mean(h == 0))
        assert r["hist_counts"].sum() == h.size and len(r["hist_edges"]) == 13
        assert r["grad_std"] is None and r["update_ratio"] is None     # no labels: forward only
    relu = [r for r in records if r["type"] == "ReLU"]
    assert all(0.2 < r["zero_fraction"] < 0.8 for r in relu)
    assert all(r["saturated_fraction"] is None for r in relu)


def test_backward_records_match_a_manual_pass(batch):
    x, y = batch
    model = small_net()
    records = signal_propagation(model, x, y, lr=0.1)
    # redo the pass by hand, recording the gradient that reaches each layer's output
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), y)
    grad, reaching = loss.backward(), {}
    for index in range(len(model) - 1, -1, -1):
        reaching[index] = grad.std()
        grad = model.layers[index].backward(grad)
    for index, (layer, r) in enumerate(zip(model.layers, records)):
        assert r["grad_std"] == pytest.approx(reaching[index], rel=1e-10)
        if "weight" in layer.params:
            w, g = layer.params["weight"], layer.grads["weight"]
            assert r["weight_grad_std"] == pytest.approx(g.std(), rel=1e-10)
            assert r["update_ratio"] == pytest.approx(0.1 * np.linalg.norm(g) / np.linalg.norm(w), rel=1e-10)
        else:
            assert r["weight_grad_std"] is None


def test_saturation_of_tanh_and_sigmoid():
    x = np.array([[-3.0, -1.0, 0.0, 0.5, 2.7, 3.0, 10.0, -10.0]])
    for act, expected in ((L.Tanh, np.abs(np.tanh(x)) > SATURATION),
                          (L.Sigmoid, np.abs(1 / (1 + np.exp(-x)) - 0.5) > SATURATION * 0.5)):
        model = Sequential([act(dtype=np.float64)])
        r = signal_propagation(model, x)[0]
        assert r["saturated_fraction"] == pytest.approx(expected.mean())
        assert 0 < r["saturated_fraction"] < 1


def test_std_one_saturates_tanh_stack(batch):
    x, y = batch
    records = signal_propagation(small_net("tanh", "normal(std=1.0)"), x, y)
    assert records[-4]["type"] == "Tanh" and records[-4]["saturated_fraction"] > 0.5
    assert records[-4]["hist_edges"][0] == -1 and records[-4]["hist_edges"][-1] == 1


def test_exploding_stack_gives_non_finite_numbers_not_errors():
    model = plain_cnn(20, 4, "relu", weight_init="normal(std=100.0)", rng=0)   # float32 overflows
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5))
    records = signal_propagation(model, x, np.array([0, 1]))
    assert not np.isfinite(records[-1]["std"])


def test_bad_arguments(batch):
    x, _ = batch
    with pytest.raises(InvalidValueError):
        signal_propagation(small_net(), x, bins=0)
    with pytest.raises(InvalidValueError):
        signal_propagation(small_net(), x, lr=-1)


# --------------------------------------------------------------------------- predicted_propagation

def test_homogeneous_recursion_matches_the_formula():
    model = small_net("relu", "he_normal")
    blocks = predicted_propagation(model, 2.0)
    convs = [layer for layer in model.layers if isinstance(layer, L.Conv2D)]
    assert [b["index"] for b in blocks] == [0, 2, 4] and [b["activation_index"] for b in blocks] == [1, 3, 5]
    q = None
    for conv, block in zip(convs, blocks):
        w = conv.params["weight"]
        fan_in = w[0].size
        sigma2 = np.mean(w ** 2)
        q = sigma2 * fan_in * (2.0 if q is None else q / 2)     # E[relu(z)^2] = q / 2
        assert block["fan_in"] == fan_in
        assert block["q"] == pytest.approx(q, rel=1e-12)
        assert block["act_std"] == pytest.approx(math.sqrt(q / 2 - q / (2 * math.pi)), rel=5e-3)
        assert block["chi"] == pytest.approx(sigma2 * fan_in / 2, rel=1e-12)
    assert blocks[-1]["grad_ratio"] == 1.0


def test_tanh_expectation_matches_numerical_integration():
    model = small_net("tanh", "normal(std=0.3)")
    blocks = predicted_propagation(model, 1.0)
    q1 = blocks[0]["q"]
    second = integrate.quad(lambda z: np.tanh(z) ** 2 * np.exp(-z * z / (2 * q1)) / math.sqrt(2 * math.pi * q1),
                            -np.inf, np.inf)[0]
    w = model.layers[2].params["weight"]
    assert blocks[1]["q"] == pytest.approx(np.mean(w ** 2) * w[0].size * second, rel=1e-9)
    assert blocks[0]["act_mean"] == pytest.approx(0.0, abs=1e-12)


def test_zero_padding_borders_are_predicted():
    # 3x3 image, 3x3 kernel, padding 1: corners see 4 taps, edges 6, the centre 9
    conv = L.Conv2D(1, 4, 3, padding=1, weight_init="normal(std=0.5)", rng=0, dtype=np.float64)
    model = Sequential([conv, L.ReLU(dtype=np.float64)])
    block = predicted_propagation(model, 1.0, image_size=3)[0]
    assert block["q"] == pytest.approx(np.mean(conv.params["weight"] ** 2) * 49 / 9, rel=1e-12)
    x = np.random.default_rng(1).standard_normal((4000, 1, 3, 3))
    measured = np.mean(conv.forward(x) ** 2)
    assert measured == pytest.approx(block["q"], rel=0.05)


def test_a_spec_dict_builds_the_model():
    blocks = predicted_propagation(dict(depth=4, width=8, activation="relu", weight_init="he_normal"), 1.0)
    assert len(blocks) == 4
    assert all(0.7 < b["chi"] < 1.4 for b in blocks[1:])      # He: critical up to sampling


@pytest.mark.parametrize("activation, weight_init", [("relu", "he_normal"), ("tanh", "glorot_normal")])
def test_theory_matches_measurement_at_moderate_width(activation, weight_init):
    """Mean over nets of the measured per-layer variance vs the prediction, within 25% (width 64)."""
    x = data.load("digits").train[0][:16].astype(np.float64)
    measured, predicted = [], []
    for seed in range(4):
        model = plain_cnn(3, 64, activation, weight_init=weight_init, rng=seed, dtype=np.float64)
        records = signal_propagation(model, x)
        blocks = predicted_propagation(model, (x ** 2).mean(axis=0))
        measured.append([records[b["index"]]["rms"] ** 2 for b in blocks])
        predicted.append([b["q"] for b in blocks])
    ratio = np.mean(measured, axis=0) / np.mean(predicted, axis=0)
    assert np.abs(ratio - 1).max() < 0.25, ratio


def test_predicted_gradient_ratio_tracks_measurement():
    x = data.load("digits").train[0][:16].astype(np.float64)
    y = np.arange(16) % 10
    measured, predicted = [], []
    for seed in range(3):
        model = plain_cnn(4, 48, "tanh", weight_init="glorot_normal", rng=seed, dtype=np.float64)
        records = signal_propagation(model, x, y)
        blocks = predicted_propagation(model, (x ** 2).mean(axis=0))
        top = records[blocks[-1]["activation_index"]]["grad_std"] ** 2
        measured.append([records[b["activation_index"]]["grad_std"] ** 2 / top for b in blocks])
        predicted.append([b["grad_ratio"] for b in blocks])
    ratio = np.mean(measured, axis=0) / np.mean(predicted, axis=0)
    assert np.abs(ratio - 1).max() < 0.35, ratio


def test_a_strided_layer_passes_back_less_gradient_also_on_an_infinite_image():
    def net(seed):
        f64 = dict(dtype=np.float64)
        return Sequential([L.Conv2D(1, 16, 3, padding=1, rng=seed, **f64), L.ReLU(**f64),
                           L.Conv2D(16, 16, 3, stride=2, padding=1, rng=seed + 1, **f64), L.ReLU(**f64),
                           L.Conv2D(16, 16, 3, padding=1, rng=seed + 2, **f64), L.ReLU(**f64)])
    infinite = predicted_propagation(net(0), 1.0)[0]["grad_ratio"]
    bounded = predicted_propagation(net(0), 1.0, image_size=64)[0]["grad_ratio"]
    measured = []
    for seed in range(4):                   # gradient variance at block 0's output / at the top's
        model, rng = net(seed), np.random.default_rng(seed)
        model.forward(rng.standard_normal((2, 1, 64, 64)))
        g = rng.standard_normal((2, 16, 32, 32))
        top = g.var()
        for layer in model.layers[:0:-1]:
            g = layer.backward(g)
            if layer is model.layers[2]:
                measured.append(g.var() / top)
    # 3x3 stride 2: each input pixel lies in 9/4 windows, not 9 (the prediction was 4x too high)
    assert infinite == pytest.approx(bounded, rel=0.1)
    assert infinite == pytest.approx(np.mean(measured), rel=0.3)


def test_predicted_propagation_errors():
    with pytest.raises(InvalidValueError):
        predicted_propagation(small_net(), -1.0)
    with pytest.raises(InvalidValueError):
        predicted_propagation("plain", 1.0)
    with pytest.raises(InvalidValueError):
        predicted_propagation(dict(depth=2, colour="red"), 1.0)
    with pytest.raises(ShapeError):
        predicted_propagation(small_net(), np.ones((1, 1, 2, 2)))
    with pytest.raises(ShapeError):
        predicted_propagation(Sequential([L.ReLU()]), 1.0)


# --------------------------------------------------------------------------- filter similarity

def test_filter_similarity_of_equal_and_random_filters():
    same = np.ones((4, 2, 3, 3))
    assert np.allclose(filter_similarity(same), 1.0)
    random = np.random.default_rng(0).standard_normal((4, 2, 3, 3))
    assert np.abs(offdiagonal(filter_similarity(random))).max() < 0.99


# --------------------------------------------------------------------------- bad input, named

def test_signal_propagation_names_a_loss_fn_that_is_not_a_loss(batch):
    x, y = batch
    with pytest.raises(InvalidValueError, match=r"signal_propagation loss_fn: expected a loss .* got int"):
        signal_propagation(small_net(), x, y, loss_fn=3)


def test_an_input_variance_map_must_match_the_first_layer_and_the_image_size():
    spec = dict(depth=2, width=4)          # plain_cnn: 1 input channel
    one = predicted_propagation(spec, np.ones((1, 5, 5)))[0]["q"]
    assert predicted_propagation(spec, np.ones((5, 5)), image_size=5)[0]["q"] == one   # agreeing: fine
    with pytest.raises(ShapeError, match=r"map of 3 channel\(s\) \(shape \(3, 5, 5\)\), but layer 0 \(Conv2D\) "
                                         r"takes 1 input channel"):
        predicted_propagation(spec, np.ones((3, 5, 5)))       # was accepted: q 2.71 instead of 0.90
    with pytest.raises(InvalidValueError, match=r"image_size \(9, 9\) conflicts with the input_variance map's size \(5, 5\)"):
        predicted_propagation(spec, np.ones((5, 5)), image_size=9)     # was silently ignored


@pytest.mark.parametrize("image_size, layer", [(2, "layer 0"), (5, "layer 2")])
def test_a_kernel_larger_than_the_map_reaching_it_is_named(image_size, layer):
    model = Sequential([L.Conv2D(1, 2, 5, rng=0), L.ReLU(), L.Conv2D(2, 2, 3, rng=1)])   # no padding
    with pytest.raises(ShapeError, match=rf"predicted_propagation: {layer} \(Conv2D\) .* has no output"):
        predicted_propagation(model, 1.0, image_size=image_size)


@pytest.mark.parametrize("variance, error, match", [
    ("a", InvalidValueError, r"input_variance: expected a number, an \(H, W\) or a \(C, H, W\) map.*got 'a'"),
    (None, InvalidValueError, "input_variance: expected a number"),
    (1 + 1j, DTypeError, r"input_variance: expected real values of E\[x\^2\], got complex"),
    (np.ones((0, 5)), ShapeError, r"got shape \(0, 5\)"),
])
def test_an_input_variance_that_is_not_real_numbers_is_named(variance, error, match):
    with pytest.raises(error, match=match):
        predicted_propagation(dict(depth=2, width=4), variance)


def test_complex_weights_are_refused_not_cast_to_real():
    w = np.random.default_rng(0).standard_normal((4, 1, 3, 3)) * (1 + 1j)
    with pytest.raises(DTypeError, match="filter_similarity weight: .* got dtype complex128"):
        filter_similarity(w)
    with pytest.raises(DTypeError, match="template_scores weight: .* got dtype complex128"):
        template_scores(w)
    with pytest.raises(DTypeError, match="template_scores template 'a'"):
        template_scores(w.real, {"a": np.ones((3, 3), complex)})


@pytest.mark.parametrize("matrix", [np.ones((2, 3)), np.ones(3), 1.0, np.ones((2, 2, 2))])
def test_offdiagonal_needs_a_square_matrix(matrix):
    with pytest.raises(ShapeError, match=r"offdiagonal: expected a square matrix \(n, n\), got shape"):
        offdiagonal(matrix)
    assert sorted(offdiagonal([[1, 2], [3, 4]]).tolist()) == [2, 3]


def test_filter_similarity_names_strings_and_no_filters():
    with pytest.raises(DTypeError, match="filter_similarity weight"):
        filter_similarity(np.array([["a", "b"]]))
    with pytest.raises(ShapeError, match=r"expected at least one filter, got a weight of shape \(0, 3\)"):
        filter_similarity(np.zeros((0, 3)))


@pytest.mark.parametrize("weight, templates, error, match", [
    (np.ones((2, 1, 3, 3)), {}, InvalidValueError, "expected at least one template, got an empty dict"),
    (np.ones((2, 1, 3, 3)), ["x"], InvalidValueError, r"expected a dict \{name: \(kh, kw\) array\} or None, got list"),
    (np.ones((2, 1, 3, 3)), "abc", InvalidValueError, "got str"),
    (np.ones((2, 1, 3, 3)), {"a": np.ones((3, 3)), "b": np.ones((2, 2))}, ShapeError,
     r"template 'b' has shape \(2, 2\), expected the kernels' \(3, 3\)"),
    (np.zeros((0, 1, 3, 3)), None, ShapeError, "at least one filter and one input channel"),
])
def test_template_scores_names_bad_templates_and_empty_weights(weight, templates, error, match):
    with pytest.raises(error, match=match):
        template_scores(weight, templates)
