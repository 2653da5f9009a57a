"""Every layer's backward against central finite differences in float64."""
import re

import numpy as np
import pytest

from initlab import layers as L
from initlab.convolution import conv2d
from initlab.errors import InvalidValueError, ShapeError

from gradcheck import TOLERANCE, check_layer

F64 = dict(dtype=np.float64)


def away_from_zero(x):
    """Move values off the kinks of ReLU-like functions (|x| >= 0.05)."""
    return np.where(np.abs(x) < 0.05, x + np.sign(x + 1e-12) * 0.1, x)


CASES = {
    "conv": lambda r: (L.Conv2D(3, 4, (3, 2), stride=(2, 1), padding=(1, 2), rng=r, **F64), (2, 3, 7, 6)),
    "conv_no_bias": lambda r: (L.Conv2D(2, 3, 3, bias=False, rng=r, **F64), (2, 2, 5, 5)),
    "dense": lambda r: (L.Dense(5, 3, rng=r, bias_init="normal(std=0.1)", **F64), (4, 5)),
    "dense_lazy": lambda r: (L.Dense(None, 3, rng=r, **F64), (4, 7)),
    "maxpool": lambda r: (L.MaxPool2D(2, **F64), (2, 3, 6, 6)),
    "maxpool_overlap": lambda r: (L.MaxPool2D(3, stride=2, padding=1, **F64), (2, 2, 7, 7)),
    "avgpool": lambda r: (L.AvgPool2D((2, 3), stride=(1, 2), **F64), (2, 2, 6, 7)),
    "globalavg": lambda r: (L.GlobalAvgPool2D(**F64), (2, 3, 4, 5)),
    "flatten": lambda r: (L.Flatten(**F64), (2, 3, 4, 5)),
    "relu": lambda r: (L.ReLU(**F64), (3, 4, 5)),
    "leaky_relu": lambda r: (L.LeakyReLU(0.2, **F64), (3, 4, 5)),
    "tanh": lambda r: (L.Tanh(**F64), (3, 4, 5)),
    "sigmoid": lambda r: (L.Sigmoid(**F64), (3, 4, 5)),
    "elu": lambda r: (L.ELU(0.7, **F64), (3, 4, 5)),
    "gelu": lambda r: (L.GELU(**F64), (3, 4, 5)),
    "selu": lambda r: (L.SELU(**F64), (3, 4, 5)),
    "batchnorm": lambda r: (L.BatchNorm2D(3, **F64), (4, 3, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    layer, shape = CASES[name](rng)
    x = away_from_zero(rng.normal(size=shape))
    if name == "batchnorm":   # non-trivial affine parameters
        layer.params["weight"] = rng.normal(size=3) + 1
        layer.params["bias"] = rng.normal(size=3)
    assert check_layer(layer, x, rng) < TOLERANCE


def test_dropout_backward_uses_the_forward_mask():
    rng = np.random.default_rng(0)
    layer = L.Dropout(0.3, rng=1, **F64)
    x = rng.normal(size=(50, 40))
    # the mask is redrawn on each training forward, so check with fixed mask: eval identity + one pass
    y = layer.forward(x)
    g = rng.normal(size=x.shape)
    gx = layer.backward(g)
    kept = y != 0
    np.testing.assert_allclose(gx[kept], g[kept] / 0.7)
    assert np.all(gx[~kept] == 0)
    assert abs(kept.mean() - 0.7) < 0.03
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_dropout_masks_are_reproducible_by_seed():
    x = np.ones((10, 10), np.float32)
    a = L.Dropout(0.5, rng=7).forward(x)
    b = L.Dropout(0.5, rng=7).forward(x)
    np.testing.assert_array_equal(a, b)


def test_batchnorm_eval_uses_running_statistics_like_pytorch():
    rng = np.random.default_rng(0)
    bn = L.BatchNorm2D(2, momentum=0.1, **F64)
    x = rng.normal(3.0, 2.0, size=(8, 2, 4, 4))
    bn.forward(x)
    n = x.size // 2
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1))
    y = bn.forward(x, training=False)
    expected = (x - bn.buffers["running_mean"][:, None, None]) / np.sqrt(bn.buffers["running_var"][:, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected)
    assert bn.buffers["num_batches_tracked"] == 1


def test_batchnorm_eval_backward():
    rng = np.random.default_rng(3)
    bn = L.BatchNorm2D(3, **F64)
    bn.buffers["running_mean"] = rng.normal(size=3)
    bn.buffers["running_var"] = rng.uniform(0.5, 2, size=3)
    assert check_layer(bn, rng.normal(size=(2, 3, 3, 3)), rng, training=False) < TOLERANCE


def test_layers_keep_float32_by_default_and_convert_integer_images():
    conv = L.Conv2D(1, 2, 3, rng=0)
    y = conv.forward(np.ones((1, 1, 5, 5), dtype=np.uint8))
    assert conv.params["weight"].dtype == np.float32 and y.dtype == np.float32


def test_layers_without_parameters_compute_in_their_inputs_dtype():
    from initlab.model import Sequential
    model = Sequential([L.Conv2D(1, 2, 3, padding=1, rng=0, **F64), L.ReLU(), L.MaxPool2D(2), L.Dropout(0.2, rng=0),
                        L.GELU(), L.GlobalAvgPool2D(), L.Flatten(), L.Dense(2, 3, rng=0, **F64)])
    x = np.random.default_rng(0).normal(size=(2, 1, 6, 6))
    y = model.forward(x)
    assert y.dtype == np.float64 and {layer.dtype for layer in model.layers[1:-1]} == {None}
    assert model.dtype == np.float64 and model.backward(np.ones_like(y), input_grad=True).dtype == np.float64
    rebuilt = Sequential.from_config(model.config())
    assert [layer.dtype for layer in rebuilt.layers] == [layer.dtype for layer in model.layers]
    assert L.ReLU().forward(np.float32([1, -1])).dtype == np.float32
    assert L.ReLU(dtype=np.float32).forward(np.array([1.0, -1.0])).dtype == np.float32   # asked for
    with pytest.raises(InvalidValueError, match="Conv2D: dtype must be float32 or float64, got None"):
        L.Conv2D(1, 2, 3, dtype=None)


def test_conv_geometry_errors_name_the_layer_and_shapes():
    conv = L.Conv2D(3, 4, 5, rng=0)
    with pytest.raises(ShapeError, match=r"3 input channel"):
        conv.forward(np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"kernel 5x5 is larger than the padded input 4x4"):
        conv.forward(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ShapeError, match=r"4-D"):
        conv.forward(np.zeros((3, 8, 8), np.float32))
    conv.forward(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ShapeError, match=r"^Conv2D backward: expected grad_y of shape \(2, 4, 4, 4\)"):
        conv.backward(np.zeros((2, 4, 8, 8), np.float32))


def test_dense_errors():
    dense = L.Dense(4, 2, rng=0)
    with pytest.raises(ShapeError, match="Flatten"):
        dense.forward(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ShapeError, match="expected 4 input features"):
        dense.forward(np.zeros((1, 5), np.float32))


def test_invalid_constructor_values():
    with pytest.raises(InvalidValueError, match="Dropout p"):
        L.Dropout(1.5)
    with pytest.raises(InvalidValueError, match="Conv2D out_channels"):
        L.Conv2D(1, 0, 3)
    with pytest.raises(InvalidValueError, match="kernel_size"):
        L.Conv2D(1, 2, (3, 3, 3))


def test_conv_accepts_handmade_filters_as_an_array_and_can_be_frozen():
    bank = np.zeros((2, 1, 3, 3), np.float32)
    bank[0, 0, 1, 1] = 1
    conv = L.Conv2D(1, 2, 3, weight_init=bank, trainable=False)
    np.testing.assert_array_equal(conv.params["weight"], bank)
    assert conv.params["weight"] is not bank
    with pytest.raises(ShapeError):
        L.Conv2D(1, 3, 3, weight_init=bank)


def test_backward_before_forward_is_a_clear_error():
    from initlab.errors import CallOrderError
    for layer in (L.Conv2D(1, 2, 3, rng=0), L.Dense(3, 2, rng=0), L.ReLU(), L.MaxPool2D(2), L.Flatten()):
        with pytest.raises(CallOrderError, match="before forward"):
            layer.backward(np.ones((1, 2, 2, 2), np.float32))


def test_empty_batches_keep_their_shapes():
    assert L.Flatten().forward(np.zeros((0, 2, 3, 3), np.float32)).shape == (0, 18)


def test_integer_inputs_go_straight_to_a_float64_layer_without_rounding_through_float32():
    big = 2**24 + 1                      # not representable in float32
    dense = L.Dense(1, 1, dtype=np.float64, weight_init="ones", bias_init="zeros")
    assert dense.forward(np.array([[big]])).item() == big
    conv = L.Conv2D(1, 1, 1, dtype=np.float64, weight_init="ones", bias_init="zeros")
    assert conv.forward(np.full((1, 1, 1, 1), big)).item() == big
    assert conv2d(np.full((1, 1, 1, 1), big), np.ones((1, 1, 1, 1))).item() == big
    assert conv2d(np.full((1, 1, 1, 1), 3), np.full((1, 1, 1, 1), 2)).dtype == np.float32


@pytest.mark.parametrize("shape", [(0, 2, 3, 3), (1, 2, 1, 1)], ids=["empty batch", "one value per channel"])
def test_batchnorm_training_refuses_fewer_than_two_values_per_channel_and_keeps_its_statistics(shape):
    bn = L.BatchNorm2D(2, **F64)
    bn.forward(np.random.default_rng(0).normal(size=(4, 2, 3, 3)))
    before = {k: v.copy() for k, v in bn.buffers.items()}
    with pytest.raises(ShapeError, match="BatchNorm2D: training needs more than 1 value per channel.*"
                                         f"got input shape {re.escape(str(shape))}"):
        bn.forward(np.full(shape, 5.0))
    for key, value in before.items():
        np.testing.assert_array_equal(bn.buffers[key], value)     # not NaN, not pulled, not counted
    assert bn.forward(np.full((1, 2, 1, 1), 5.0), training=False).shape == (1, 2, 1, 1)
    assert bn.forward(np.full((1, 2, 1, 2), 5.0)).shape == (1, 2, 1, 2)   # two values: fine
    assert bn.buffers["num_batches_tracked"] == 2


def test_max_pool_layer_of_minus_inf_with_padding_keeps_the_whole_gradient_like_pytorch():
    pool = L.MaxPool2D(3, 1, 1)
    y = pool.forward(np.full((1, 1, 3, 3), -np.inf))
    grad = pool.backward(np.ones(y.shape))
    assert grad.sum() == 9                          # was 4: five windows sent theirs to the padding
    np.testing.assert_array_equal(grad[0, 0], [[4, 2, 0], [2, 1, 0], [0, 0, 0]])   # torch's x.grad


@pytest.mark.parametrize("entry", [None, "ReLU", [("type", "ReLU")]])
def test_layer_from_config_needs_a_dict(entry):
    with pytest.raises(InvalidValueError, match="layer config: expected a dict"):
        L.layer_from_config(entry)
