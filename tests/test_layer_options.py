"""PyTorch's options of the pooling, BatchNorm2D, GELU and Dropout layers: each against its
formula, finite differences in float64, and (where torch is installed) torch.nn's modules,
whose state dicts the layers' own load unchanged."""
import itertools
import math

import numpy as np
import pytest

from initlab import functional as F
from initlab import layers as L
from initlab.errors import InvalidValueError, ShapeError
from initlab.model import Sequential

from gradcheck import TOLERANCE, check_layer

F64 = dict(dtype=np.float64)

MAX_OPTIONS = {
    "dilation": (dict(kernel_size=3, stride=1, padding=1, dilation=2), (2, 2, 7, 8)),
    "ceil": (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 8, 8)),
    "dilation_ceil": (dict(kernel_size=(2, 3), stride=(2, 3), padding=(1, 0), dilation=(3, 2), ceil_mode=True),
                      (2, 2, 9, 10)),
}
AVG_OPTIONS = {
    "ceil": (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 8, 8)),
    "no_pad_count": (dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), (2, 2, 7, 8)),
    "ceil_no_pad_count": (dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                          (2, 2, 8, 7)),
    "divisor": (dict(kernel_size=2, stride=1, padding=1, divisor_override=3, ceil_mode=True), (2, 2, 5, 6)),
}


def naive_pool(x, kind, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """PyTorch's pooling written out, one window at a time."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c, h, w = x.shape

    def size(length, k, s, p, d):
        span = (length + 2 * p - d * (k - 1) - 1) / s
        out = (math.ceil(span) if ceil_mode else math.floor(span)) + 1
        return out - 1 if ceil_mode and (out - 1) * s >= length + p else out

    oh, ow = size(h, kh, sh, ph, dh), size(w, kw, sw, pw, dw)
    y = np.zeros((n, c, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        rows = [i * sh - ph + dh * u for u in range(kh)]
        cols = [j * sw - pw + dw * v for v in range(kw)]
        inside = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
        values = np.stack([x[:, :, r, q] for r, q in inside], axis=-1)
        if kind == "max":
            y[:, :, i, j] = values.max(axis=-1)
            continue
        h0, w0 = i * sh - ph, j * sw - pw
        h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
        if divisor_override:
            divisor = divisor_override
        elif count_include_pad:
            divisor = (h1 - h0) * (w1 - w0)
        else:
            divisor = len(inside)
        y[:, :, i, j] = values.sum(axis=-1) / divisor
    return y


def pool_layer(kind, options):
    return (L.MaxPool2D if kind == "max" else L.AvgPool2D)(**options, **F64)


POOL_CASES = [("max", name) for name in MAX_OPTIONS] + [("avg", name) for name in AVG_OPTIONS]


@pytest.mark.parametrize("kind,name", POOL_CASES)
def test_pooling_options_equal_their_formula_and_finite_differences(kind, name):
    options, shape = (MAX_OPTIONS if kind == "max" else AVG_OPTIONS)[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    layer = pool_layer(kind, options)
    np.testing.assert_allclose(layer.forward(x), naive_pool(x, kind, **options), rtol=1e-14)
    assert check_layer(layer, x, rng, count=40) < TOLERANCE


def test_max_pool_indices_point_at_each_maximum():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 9, 10))
    y, indices = L.MaxPool2D(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True, **F64).forward(x)
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), indices.reshape(2, 3, -1), axis=2),
                                  y.reshape(2, 3, -1))
    assert indices.dtype == np.int64


def test_default_pooling_options_keep_the_default_path_and_config():
    layer = L.MaxPool2D(2, dilation=1, ceil_mode=False)
    assert layer.options == {} and layer.config() == dict(kernel_size=[2, 2], stride=[2, 2], padding=[0, 0])
    layer.forward(np.ones((1, 1, 4, 4)))
    assert isinstance(layer._cache, F.PoolCache)
    avg = L.AvgPool2D(3, 1, 1, count_include_pad=False, divisor_override=2)
    assert avg.config()["count_include_pad"] is False and avg.config()["divisor_override"] == 2
    again = L.layer_from_config({"type": "AvgPool2D", **avg.config()})
    assert again.config() == avg.config()
    maxed = L.layer_from_config({"type": "MaxPool2D", **L.MaxPool2D(3, dilation=(2, 1)).config()})
    assert maxed.dilation == (2, 1)


def test_bad_pooling_options_name_the_argument():
    cases = [(lambda: L.MaxPool2D(2, dilation=0), "MaxPool2D dilation: expected values >= 1"),
             (lambda: L.MaxPool2D(2, ceil_mode="yes"), "MaxPool2D ceil_mode: expected True or False"),
             (lambda: L.MaxPool2D(2, return_indices=1), "MaxPool2D return_indices: expected True or False"),
             (lambda: L.AvgPool2D(2, count_include_pad=None), "AvgPool2D count_include_pad: expected True or False"),
             (lambda: L.AvgPool2D(2, divisor_override=0), "AvgPool2D divisor_override: expected a nonzero integer"),
             (lambda: L.AvgPool2D(2, divisor_override=1.5), "AvgPool2D divisor_override")]
    for make, message in cases:
        with pytest.raises(InvalidValueError, match=message):
            make()
    with pytest.raises(ShapeError, match="smaller than the dilated kernel"):
        L.MaxPool2D(3, dilation=3).forward(np.ones((1, 1, 5, 5)))
    with pytest.raises(ShapeError, match="padding .* must be at most half the kernel"):
        L.AvgPool2D(2, padding=2, ceil_mode=True).forward(np.ones((1, 1, 5, 5)))


# ------------------------------------------------------------------ BatchNorm2D

def test_batchnorm_options_equal_their_formula():
    rng = np.random.default_rng(2)
    batches = [rng.normal(i, 1 + i, size=(4, 3, 3, 3)) for i in range(3)]
    cumulative = L.BatchNorm2D(3, momentum=None, **F64)
    for x in batches:
        cumulative.forward(x)
    n = batches[0].size // 3
    np.testing.assert_allclose(cumulative.buffers["running_mean"], np.mean([x.mean(axis=(0, 2, 3)) for x in batches],
                                                                           axis=0), rtol=1e-13)
    # the cumulative average of the unbiased variances, after the initial 1 is replaced at step 1
    np.testing.assert_allclose(cumulative.buffers["running_var"],
                               np.mean([x.var(axis=(0, 2, 3)) * n / (n - 1) for x in batches], axis=0), rtol=1e-13)
    plain = L.BatchNorm2D(3, affine=False, **F64)
    assert plain.params == {} and set(plain.buffers) == {"running_mean", "running_var", "num_batches_tracked"}
    x = batches[1]
    expected = (x - x.mean(axis=(0, 2, 3))[:, None, None]) / np.sqrt(x.var(axis=(0, 2, 3))[:, None, None] + 1e-5)
    np.testing.assert_allclose(plain.forward(x), expected, rtol=1e-12)
    stateless = L.BatchNorm2D(3, track_running_stats=False, **F64)
    assert stateless.buffers == {} and set(stateless.params) == {"weight", "bias"}
    np.testing.assert_allclose(stateless.forward(x, training=False), expected, rtol=1e-12)   # batch stats in eval


@pytest.mark.parametrize("options", [dict(affine=False), dict(track_running_stats=False), dict(momentum=None),
                                     dict(affine=False, track_running_stats=False)], ids=str)
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_options_match_finite_differences(options, training):
    rng = np.random.default_rng(3)
    bn = L.BatchNorm2D(3, **options, **F64)
    if bn.affine:
        bn.params["weight"], bn.params["bias"] = rng.normal(size=3) + 1, rng.normal(size=3)
    if bn.track_running_stats:
        bn.buffers["running_mean"], bn.buffers["running_var"] = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    assert check_layer(bn, rng.normal(size=(2, 3, 3, 3)), rng, training=training) < TOLERANCE


def test_bad_batchnorm_options_name_the_argument():
    for options, message in [(dict(affine=1), "BatchNorm2D affine: expected True or False"),
                             (dict(track_running_stats="no"), "BatchNorm2D track_running_stats: expected True or False"),
                             (dict(momentum=1.5), r"BatchNorm2D momentum: expected a value in \[0, 1\]")]:
        with pytest.raises(InvalidValueError, match=message):
            L.BatchNorm2D(3, **options)
    assert L.layer_from_config({"type": "BatchNorm2D", **L.BatchNorm2D(3, momentum=None, affine=False).config()}
                               ).config() == L.BatchNorm2D(3, momentum=None, affine=False).config()


# ------------------------------------------------------------------ GELU tanh, Dropout(p=1)

def test_gelu_tanh_equals_its_formula_and_finite_differences():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4, 5)) * 3
    layer = L.GELU(approximate="tanh", **F64)
    expected = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-14)
    assert check_layer(layer, x, rng) < TOLERANCE
    assert layer.config() == {"approximate": "tanh"} and L.GELU().config() == {}
    assert not np.allclose(layer.forward(x), L.GELU(**F64).forward(x), rtol=1e-6)   # not the erf form
    with pytest.raises(InvalidValueError, match="GELU approximate: expected 'none' or 'tanh', got 'fast'"):
        L.GELU(approximate="fast")


def test_dropout_p1_zeroes_everything_in_training_only():
    x = np.random.default_rng(5).normal(size=(4, 6))
    layer = L.Dropout(1.0, rng=0)
    assert np.array_equal(layer.forward(x), np.zeros_like(x))
    assert np.array_equal(layer.backward(np.ones_like(x)), np.zeros_like(x))
    assert np.array_equal(layer.forward(x, training=False), x)


# ------------------------------------------------------------------ against PyTorch

def _torch():
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    return torch


def _compare(torch, ours, theirs, x, training=True, rtol=1e-12):
    xt = torch.tensor(x, requires_grad=True)
    theirs.train(training)
    yt = theirs(xt)
    yt = yt[0] if isinstance(yt, tuple) else yt
    upstream = np.random.default_rng(9).normal(size=tuple(yt.shape))
    yt.backward(torch.tensor(upstream))
    y = ours.forward(x, training=training)
    y = y[0] if isinstance(y, tuple) else y
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(ours.backward(upstream), xt.grad.numpy(), rtol=rtol, atol=1e-14)
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(ours.grads[name], param.grad.numpy(), rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("kind,name", POOL_CASES)
def test_pooling_options_match_pytorch(kind, name):
    torch = _torch()
    options, shape = (MAX_OPTIONS if kind == "max" else AVG_OPTIONS)[name]
    x = np.random.default_rng(6).normal(size=shape)
    module = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(**options)
    _compare(torch, pool_layer(kind, options), module, x)
    if kind == "max":
        ours = L.MaxPool2D(**options, return_indices=True, **F64).forward(x)[1]
        theirs = torch.nn.MaxPool2d(**options, return_indices=True)(torch.tensor(x))[1]
        np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("options", [dict(affine=False), dict(track_running_stats=False), dict(momentum=None),
                                     dict(affine=False, track_running_stats=False, momentum=None)], ids=str)
def test_batchnorm_options_match_pytorch_and_share_its_state_dict(options):
    torch = _torch()
    rng = np.random.default_rng(7)
    ours = L.BatchNorm2D(3, **options, **F64)
    theirs = torch.nn.BatchNorm2d(3, **options).double()
    if ours.affine:
        ours.params["weight"], ours.params["bias"] = rng.normal(size=3) + 1, rng.normal(size=3)
    model = Sequential([ours])
    theirs_seq = torch.nn.Sequential(theirs)
    theirs_seq.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})   # strict
    assert set(model.state_dict()) == set(theirs_seq.state_dict())
    for step in range(3):
        _compare(torch, ours, theirs, rng.normal(step, 2, size=(4, 3, 3, 3)))
        theirs.zero_grad()
    for name, value in theirs_seq.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[name], value.numpy(), rtol=1e-12)
    _compare(torch, ours, theirs, rng.normal(size=(4, 3, 3, 3)), training=False)


def test_gelu_tanh_and_dropout_p1_match_pytorch():
    torch = _torch()
    x = np.random.default_rng(8).normal(size=(3, 4, 5)) * 3
    _compare(torch, L.GELU(approximate="tanh", **F64), torch.nn.GELU(approximate="tanh"), x)
    _compare(torch, L.Dropout(1.0, rng=0), torch.nn.Dropout(1.0), x)
