"""PyTorch's Conv2d options (dilation, groups incl. depthwise, padding "same"/"valid",
padding_mode, bias=False): each against the naive loops, finite differences in float64, and
(where torch is installed) torch.nn.functional.conv2d and torch.nn.Conv2d, whose state dicts the
layer's own load unchanged."""
import numpy as np
import pytest

from initlab import checkpoint, convolution, init
from initlab import layers as L
from initlab.convolution import fast, teaching
from initlab.errors import InvalidValueError, ShapeError, UnknownNameError
from initlab.model import Sequential

from gradcheck import TOLERANCE, check_layer

F64 = dict(dtype=np.float64)

# name: (Conv2D arguments after in/out channels, input shape)
CASES = {
    "dilation": (dict(in_channels=3, out_channels=4, kernel_size=3, padding=2, dilation=2), (2, 3, 9, 8)),
    "dilation_pairs_stride": (dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(2, 1),
                                   padding=(1, 2), dilation=(2, 3)), (2, 2, 9, 7)),
    "groups": (dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2), (2, 4, 6, 5)),
    "depthwise": (dict(in_channels=4, out_channels=8, kernel_size=3, stride=2, groups=4), (2, 4, 7, 8)),
    "same_odd": (dict(in_channels=2, out_channels=3, kernel_size=3, padding="same"), (2, 2, 6, 5)),
    "same_even_dilated": (dict(in_channels=2, out_channels=3, kernel_size=(4, 2), padding="same",
                               dilation=(1, 3)), (2, 2, 7, 8)),
    "valid": (dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"), (2, 2, 6, 5)),
    "reflect": (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=(2, 1),
                     padding_mode="reflect"), (2, 2, 7, 6)),
    "replicate": (dict(in_channels=2, out_channels=3, kernel_size=3, padding=(2, 1),
                       padding_mode="replicate"), (2, 2, 5, 6)),
    "circular": (dict(in_channels=2, out_channels=3, kernel_size=3, stride=(1, 2), padding=(1, 3),
                      padding_mode="circular"), (2, 2, 5, 6)),
    "no_bias": (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, bias=False), (2, 2, 5, 5)),
    "everything": (dict(in_channels=4, out_channels=4, kernel_size=(2, 3), padding="same", dilation=2,
                        groups=2, padding_mode="reflect", bias=False), (2, 4, 8, 9)),
}


def make(name, seed=0, **extra):
    options, shape = CASES[name]
    rng = np.random.default_rng(seed)
    layer = L.Conv2D(**options, bias_init="normal(std=0.5)", rng=rng, **extra, **F64)
    return layer, rng.normal(size=shape)


def naive_options(layer):
    return dict(stride=layer.stride, padding=layer.config()["padding"], dilation=layer.dilation,
                groups=layer.groups, padding_mode=layer.padding_mode)


@pytest.mark.parametrize("path", ["fast", "teaching"])
@pytest.mark.parametrize("name", CASES)
def test_options_equal_the_naive_loops_forward_and_backward(name, path):
    layer, x = make(name)
    with convolution.using(path):
        y = layer.forward(x)
        upstream = np.random.default_rng(1).normal(size=y.shape)
        grad_x = layer.backward(upstream)
    options = naive_options(layer)
    weight, bias = layer.params["weight"], layer.params.get("bias")
    np.testing.assert_allclose(y, convolution.conv2d_naive(x, weight, bias, **options), rtol=1e-12, atol=1e-12)
    nx, nw, nb = convolution.conv2d_naive_backward(upstream, x, weight, **options)
    np.testing.assert_allclose(grad_x, nx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["weight"], nw, rtol=1e-12, atol=1e-12)
    assert ("bias" in layer.grads) == ("bias" in layer.params)
    if bias is not None:
        np.testing.assert_allclose(layer.grads["bias"], nb, rtol=1e-12, atol=1e-12)
    # the public function takes the same options and gives the same numbers
    np.testing.assert_allclose(convolution.conv2d(x, weight, bias, **options), y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_options_match_finite_differences(name):
    layer, x = make(name)
    assert check_layer(layer, x, np.random.default_rng(2)) < TOLERANCE


def test_naive_loops_follow_the_formula_for_a_small_case():
    """One output pixel by hand: dilation 2, groups 2, circular border."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(1, 4, 5, 5)), rng.normal(size=(2, 2, 2, 2))
    y = convolution.conv2d_naive(x, w, None, padding=1, dilation=2, groups=2, padding_mode="circular")
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap")
    # filter 1 is in group 1 (channels 2, 3); output (0, 1) reads padded rows 0, 2 and columns 1, 3
    expected = sum(xp[0, 2 + c, 0 + 2 * u, 1 + 2 * v] * w[1, c, u, v]
                   for c in range(2) for u in range(2) for v in range(2))
    assert y.shape == (1, 2, 5, 5)         # 5 + 2 - 2 (2 - 1) - 1 + 1
    np.testing.assert_allclose(y[0, 1, 0, 1], expected, rtol=1e-12)
    # padding="same" keeps H and W, with PyTorch's split: the larger half after
    assert teaching.same_padding((4, 3), (1, 2)) == ((1, 2), (2, 2))
    y_same = convolution.conv2d_naive(x, rng.normal(size=(3, 4, 4, 3)), padding="same", dilation=(1, 2))
    assert y_same.shape[2:] == x.shape[2:]


def test_default_options_keep_the_fast_path_and_its_config():
    layer = L.Conv2D(3, 4, 3, padding=1, rng=0)
    layer.forward(np.zeros((2, 3, 6, 6), np.float32))
    assert isinstance(layer._cache, fast.ConvCache)
    assert layer.config() == dict(in_channels=3, out_channels=4, kernel_size=[3, 3], stride=[1, 1],
                                  padding=[1, 1], dilation=[1, 1], groups=1, padding_mode="zeros",
                                  bias=True, trainable=True)
    grouped = L.Conv2D(4, 4, 3, groups=2, rng=0)
    grouped.forward(np.zeros((2, 4, 6, 6), np.float32))
    assert isinstance(grouped._cache, teaching.ConvCache)     # the options path


@pytest.mark.parametrize("scheme", ["glorot_uniform", "he_normal", "dirac"])
def test_initializers_use_the_layers_grouped_fans(scheme):
    layer = L.Conv2D(8, 16, 3, groups=8, weight_init=scheme, rng=5)
    shape = (16, 1, 3, 3)
    assert layer.params["weight"].shape == shape
    expected = init.initialize(scheme, shape, np.random.default_rng(5), groups=8)
    np.testing.assert_array_equal(layer.params["weight"], expected)
    if scheme == "glorot_uniform":        # fan_in 9, fan_out (16 / 8) * 9 = 18, not 16 * 9
        limit = np.sqrt(6 / (9 + 18))
        assert np.abs(layer.params["weight"]).max() <= limit
        ungrouped_limit = np.sqrt(6 / (9 + 144))
        assert np.abs(layer.params["weight"]).max() > ungrouped_limit


@pytest.mark.parametrize("name", CASES)
def test_config_and_checkpoint_round_trip(name, tmp_path):
    layer, x = make(name)
    model = Sequential([layer])
    if "bias" not in layer.params:
        assert set(model.state_dict()) == {"0.weight"}
    rebuilt = Sequential.from_config(model.config())
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.layers[0].config() == layer.config()
    np.testing.assert_array_equal(rebuilt.forward(x), model.forward(x))
    loaded, _, _ = checkpoint.load(checkpoint.save(tmp_path / f"{name}.safetensors", model))
    assert loaded.layers[0].config() == layer.config()
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


BAD = [
    (dict(in_channels=6, out_channels=4, kernel_size=3, groups=4), InvalidValueError, "groups"),
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=4), InvalidValueError, "groups"),
    (dict(in_channels=4, out_channels=4, kernel_size=3, groups=0), InvalidValueError, "groups"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, stride=2, padding="same"), InvalidValueError, "padding"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, padding="full"), InvalidValueError, "padding"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, padding_mode="mirror"), UnknownNameError, "padding_mode"),
    (dict(in_channels=2, out_channels=2, kernel_size=3, dilation=0), InvalidValueError, "dilation"),
]


@pytest.mark.parametrize("options,error,argument", BAD, ids=lambda v: str(v))
def test_bad_options_name_the_argument(options, error, argument):
    with pytest.raises(error, match=argument) as info:
        L.Conv2D(**options)
    assert "\n" not in str(info.value)


def test_bad_options_at_the_public_functions_and_forward():
    x, w = np.zeros((1, 6, 5, 5)), np.zeros((4, 2, 3, 3))
    with pytest.raises(InvalidValueError, match="groups.*in_channels = 6.*groups=4"):
        convolution.conv2d(x, np.zeros((4, 2, 3, 3)), groups=4)
    with pytest.raises(ShapeError, match="input channel"):
        convolution.conv2d(x, w, groups=2)          # 2 per group x 2 = 4, not 6
    with pytest.raises(UnknownNameError, match="did you mean 'replicate'"):
        convolution.conv2d(x, np.zeros((4, 6, 3, 3)), padding_mode="replicat")
    with pytest.raises(ShapeError, match="dilation"):
        convolution.conv2d(x, np.zeros((4, 6, 3, 3)), dilation=3)        # spans 7 > 5
    with pytest.raises(ShapeError, match="reflect"):
        L.Conv2D(6, 2, 3, padding=5, padding_mode="reflect").forward(x.astype(np.float32))
    with pytest.raises(ShapeError, match="circular"):
        L.Conv2D(6, 2, 3, padding=6, padding_mode="circular").forward(x.astype(np.float32))
    with pytest.raises(InvalidValueError, match="layout"):
        convolution.conv2d_forward(x, np.zeros((4, 3, 3, 3)), groups=2, layout="batch-last")


# ------------------------------------------------------------------ against PyTorch

def _torch():
    try:
        import torch
    except ImportError as exc:
        pytest.skip(f"torch is not installed ({exc}); pip install -e '.[bench]' to run it")
    return torch


@pytest.mark.parametrize("path", ["fast", "teaching"])
@pytest.mark.parametrize("name", CASES)
def test_options_match_pytorch_and_share_its_state_dict(name, path):
    torch = _torch()
    layer, x = make(name)
    options = {k: v for k, v in CASES[name][0].items()}
    theirs = torch.nn.Sequential(torch.nn.Conv2d(**options).double())
    model = Sequential([layer])
    theirs.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})   # strict
    assert set(model.state_dict()) == set(theirs.state_dict())
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    upstream = np.random.default_rng(4).normal(size=tuple(yt.shape))
    yt.backward(torch.tensor(upstream))
    with convolution.using(path):
        y = layer.forward(x)
        grad_x = layer.backward(upstream)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for key, param in theirs.named_parameters():
        np.testing.assert_allclose(layer.grads[key.split(".", 1)[1]], param.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n, (o, _) in CASES.items() if o.get("padding_mode", "zeros") == "zeros"])
def test_public_conv2d_matches_torch_functional(name):
    torch = _torch()
    layer, x = make(name)
    options = {k: v for k, v in naive_options(layer).items() if k != "padding_mode"}
    weight, bias = layer.params["weight"], layer.params.get("bias")
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight),
                                        None if bias is None else torch.tensor(bias), **options)
    np.testing.assert_allclose(convolution.conv2d(x, weight, bias, **options), theirs.numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("options", [dict(groups=2), dict(dilation=2, padding=2), dict(padding_mode="circular"),
                                     dict(kernel_size=2, padding="same")], ids=str)
def test_mean_field_predictions_refuse_the_options_they_do_not_cover(options):
    from initlab import diagnostics, spectrum

    options = dict(dict(kernel_size=3, padding=1), **options)
    model = Sequential([L.Conv2D(4, 4, **options, rng=0), L.Tanh()])
    with pytest.raises(InvalidValueError, match="layer 0 \\(Conv2D\\)") as info:
        diagnostics.predicted_propagation(model, 1.0, image_size=(6, 6))
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidValueError, match="layer 0 \\(Conv2D\\)"):
        spectrum.predicted_mean_sq(model, np.ones((1, 4, 6, 6)))


def test_random_option_settings_equal_the_naive_loops_on_both_paths():
    rng = np.random.default_rng(11)
    for _ in range(25):
        groups = int(rng.choice([1, 2, 3]))
        c, o = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
        mode = str(rng.choice(convolution.PADDING_MODES))
        same = rng.random() < 0.3
        stride = (1, 1) if same else tuple(int(s) for s in rng.integers(1, 3, size=2))
        padding = "same" if same else tuple(int(p) for p in rng.integers(0, 3, size=2))
        x = rng.normal(size=(2, c, int(rng.integers(5, 9)), int(rng.integers(5, 9))))
        w, b = rng.normal(size=(o, c // groups, *kernel)), rng.normal(size=o)
        options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
        expected = convolution.conv2d_naive(x, w, b, **options)
        upstream = rng.normal(size=expected.shape)
        naive_grads = convolution.conv2d_naive_backward(upstream, x, w, **options)
        for path in ("fast", "teaching"):
            with convolution.using(path):
                y, cache = convolution.conv2d_forward(x, w, b, **options)
                grads = convolution.conv2d_backward(upstream, cache)
            np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12, err_msg=f"{path} {options}")
            for ours, theirs in zip(grads, naive_grads):
                np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=f"{path} {options}")
