"""Layers: each a small class with `forward` and `backward` side by side.

Floor 2. The contract every layer keeps:

* `forward(x, training=True) -> y` caches what backward needs;
* `backward(grad_y) -> grad_x` fills `self.grads` (same keys as `self.params`, overwritten on
  every call, never accumulated) and never mutates `grad_y`;
* `params`, `grads`: dicts keyed `"weight"`/`"bias"`; `buffers`: non-trained state
  (BatchNorm's running statistics), saved in the state dict like PyTorch's buffers;
* `config()`: the constructor arguments as plain JSON-able data; `LAYERS[type](**config)`
  rebuilds the same architecture.

Layers with parameters (Conv2D, Dense, BatchNorm2D) hold float32 ones unless built with
`dtype=np.float64`, and convert inputs of the other float dtype to theirs (integer images are
converted too, see `validate`). Layers without parameters compute in their input's dtype, as
PyTorch's do, so a float64 Conv2D followed by a plain ReLU() stays float64; given a `dtype`,
they convert to it like the others.
"""
from __future__ import annotations

import math

import numpy as np

from . import convolution, functional as F
from . import init
from .constraints import Boolean, Integer, Optional, Options, Pair, Real, Satisfies, check
from .errors import CallOrderError, InvalidValueError, unknown_name
from .layer_entry import Any, Batch, Images, Matrix, PoolWindow, guard
from .rng import as_generator

DEFAULT_WEIGHT_INIT = "he_normal"


class Layer:
    """Base class: no parameters, identity config.

    `forward` keeps references, not copies, to the arrays `backward` needs (the input it was
    given, the output it returned, or its weight), so changing one of them in place between
    forward and backward silently changes the gradients, where PyTorch's autograd would raise
    an error. Copy an array before modifying it in place.
    """

    INPUT = Any()                 # the input's shape, checked where it enters (layer_entry.py)
    trainable = True
    can_skip_input_grad = False   # True where backward(grad, need_input_grad=False) saves work
    has_parameters = False        # a layer without them may take dtype=None: its input's dtype

    def __init__(self, dtype=None):
        if dtype is None and not self.has_parameters:
            self.dtype = None
        else:
            try:
                self.dtype = None if dtype is None else np.dtype(dtype)
            except TypeError:
                self.dtype = None
            if self.dtype not in (np.float32, np.float64):
                raise InvalidValueError(f"{type(self).__name__}: dtype must be float32 or float64, got {dtype!r}")
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.init_names: dict[str, str] = {}
        self.label = type(self).__name__   # Sequential renames it "3 (Conv2D)" for messages

    def __init_subclass__(cls, **kwargs):
        """Each layer's forward and backward get their arrays checked once, at the entry
        (`layer_entry.guard`): the maths below trusts them."""
        super().__init_subclass__(**kwargs)
        guard(cls)

    # what a forward pass leaves behind for backward: not part of a layer's state (not pickled)
    _TRANSIENT = ("_cache", "_conv", "_workspace", "_x", "_y", "_xy", "_mask", "_shape", "_out_shape")

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def __getattr__(self, name):
        """Only reached for a missing attribute: a scratch workspace is created on first use;
        any other forward cache is missing because backward came before forward."""
        if name == "_workspace":
            self._workspace = {}
            return self._workspace
        if name in Layer._TRANSIENT:
            label = self.__dict__.get("label", type(self).__name__)
            raise CallOrderError(f"{label}: backward() was called before forward(); run forward(x) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def weight(self) -> np.ndarray:
        """``params["weight"]`` itself, not a copy: ``layer.weight[...] = w`` changes the layer."""
        try:
            return self.params["weight"]
        except KeyError:
            raise AttributeError(f"{self.label} has no weight") from None

    @property
    def bias(self) -> np.ndarray:
        """``params["bias"]`` itself, not a copy (AttributeError for a layer built without one)."""
        try:
            return self.params["bias"]
        except KeyError:
            raise AttributeError(f"{self.label} has no bias") from None

    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, grad_y):
        raise NotImplementedError

    def release(self, workspace=False):
        """Drop what the last forward kept for backward (and, with `workspace`, the reused
        training buffers): inference and recomputation keep no per-layer memory."""
        for name in self._TRANSIENT:
            if workspace or name != "_workspace":
                self.__dict__.pop(name, None)

    def config(self) -> dict:
        return {}

    forwards = 0   # forward passes so far (counted at the entry): Sequential.backward
                   # checks that none ran since its own forward replaced the caches

    def state_problem(self, name, value) -> str | None:
        """What is wrong with `value` for this layer's parameter or buffer `name` beyond shape,
        dtype and finiteness (which the model checks), or None."""
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _init_param(layer, name, spec, shape, rng):
    layer.params[name] = init.initialize(spec, shape, rng, dtype=layer.dtype)
    layer.init_names[name] = init.describe(spec)


# --------------------------------------------------------------------------- parametrized

class Conv2D(Layer):
    """2-D convolution: (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    weight (out_channels, in_channels / groups, kh, kw), bias (out_channels,);
    OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1, likewise OW.
    `weight_init`/`bias_init`: an initializer name or spec string ("he_normal",
    "normal(std=0.01)"), a callable, or an array (e.g. `filters.bank(["sobel_x", "x"])`);
    the fan-based ones use this layer's own grouped fans.
    `trainable=False` freezes the layer (optimizers skip it): hand-made filters stay as chosen.
    PyTorch's options, as torch.nn.Conv2d names them: `padding` also "same" (stride 1) or
    "valid"; `dilation`; `groups` (groups == in_channels: depthwise); `padding_mode` "zeros",
    "reflect", "replicate" or "circular"; `bias=False`.
    """

    INPUT = Images(channels="in_channels", window=True)
    PARAMETERS = {"in_channels": Integer(1), "out_channels": Integer(1), "kernel_size": Pair(1)}
    can_skip_input_grad = True
    has_parameters = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 weight_init=DEFAULT_WEIGHT_INIT, bias_init="zeros", rng=None, *,
                 dilation=1, groups=1, padding_mode="zeros", trainable=True, dtype=np.float32):
        super().__init__(dtype)
        given = check("Conv2D", self.PARAMETERS, dict(in_channels=in_channels, out_channels=out_channels,
                                                       kernel_size=kernel_size))
        self.in_channels, self.out_channels, self.kernel_size = given.values()
        self._padding_arg = padding if isinstance(padding, str) else None
        self.stride, self.padding, self.dilation, self.groups, self.padding_mode = convolution.conv_options(
            self.kernel_size, stride, padding, dilation, groups, padding_mode, "Conv2D")
        convolution.check_groups(self.in_channels, self.out_channels, self.groups, "Conv2D")
        self.trainable = bool(trainable)
        rng = as_generator(rng)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.params["weight"] = init.initialize(weight_init, shape, rng, dtype=self.dtype, groups=self.groups)
        self.init_names["weight"] = init.describe(weight_init)
        if bias:
            _init_param(self, "bias", bias_init, (self.out_channels,), rng)

    def forward(self, x, training=True):
        # the fast path unless convolution.use("teaching") picked convolution/teaching.py
        self._conv = convolution.selected()
        y, self._cache = self._conv.conv2d_forward(
            x, self.params["weight"], self.params.get("bias"), self.stride, self.padding,
            # the columns backward needs, in buffers the fast path reuses every training step
            self._workspace if training else None,
            dilation=self.dilation, groups=self.groups, padding_mode=self.padding_mode)
        return y

    def backward(self, grad_y, need_input_grad=True):
        grad_x, grad_w, grad_b = self._conv.conv2d_backward(grad_y, self._cache, need_input_grad)
        self.grads["weight"] = grad_w
        if "bias" in self.params:
            self.grads["bias"] = grad_b
        return grad_x

    def config(self):
        padding = self._padding_arg if self._padding_arg is not None else list(self.padding)
        return dict(in_channels=self.in_channels, out_channels=self.out_channels,
                    kernel_size=list(self.kernel_size), stride=list(self.stride),
                    padding=padding, dilation=list(self.dilation), groups=self.groups,
                    padding_mode=self.padding_mode, bias="bias" in self.params,
                    trainable=self.trainable)


class Dense(Layer):
    """Fully connected: y = x W^T + b, (N, in_features) -> (N, out_features).

    weight (out_features, in_features), as torch.nn.Linear. `in_features=None` is resolved on
    the first forward pass from the input (so nobody computes a flattened size by hand); the
    weights are drawn then, from the rng given here.
    """

    INPUT = Matrix(features="in_features")
    PARAMETERS = {"in_features": Optional(Integer(1)), "out_features": Integer(1)}
    can_skip_input_grad = True
    has_parameters = True

    def __init__(self, in_features, out_features, bias=True, weight_init=DEFAULT_WEIGHT_INIT,
                 bias_init="zeros", rng=None, *, trainable=True, dtype=np.float32):
        super().__init__(dtype)
        given = check("Dense", self.PARAMETERS, dict(in_features=in_features, out_features=out_features))
        self.in_features, self.out_features = given.values()
        self.use_bias = bool(bias)
        self.trainable = bool(trainable)
        self._inits = (weight_init, bias_init)
        self._rng = as_generator(rng)
        self.init_names = {"weight": init.describe(weight_init)}
        if self.use_bias:
            self.init_names["bias"] = init.describe(bias_init)
        if self.in_features is not None:
            self._build(self.in_features)

    def _build(self, in_features):
        self.in_features = in_features
        weight_init, bias_init = self._inits
        _init_param(self, "weight", weight_init, (self.out_features, in_features), self._rng)
        if self.use_bias:
            _init_param(self, "bias", bias_init, (self.out_features,), self._rng)

    def forward(self, x, training=True):
        if self.in_features is None:
            self._build(x.shape[1])
        self._x = x
        y = x @ self.params["weight"].T
        if self.use_bias:
            y += self.params["bias"]
        return y

    def backward(self, grad_y, need_input_grad=True):
        self.grads["weight"] = grad_y.T @ self._x
        if self.use_bias:
            self.grads["bias"] = grad_y.sum(axis=0)
        return grad_y @ self.params["weight"] if need_input_grad else None

    def config(self):
        return dict(in_features=self.in_features, out_features=self.out_features,
                    bias=self.use_bias, trainable=self.trainable)


class BatchNorm2D(Layer):
    """Batch normalization over (N, H, W) per channel, Ioffe & Szegedy 2015.

    training: y = gamma (x - mean_B) / sqrt(var_B + eps) + beta with the batch's biased
    variance; the running statistics move by `momentum` (PyTorch's convention, running_var from
    the unbiased variance). eval: the running statistics are used instead.
    Parameters `weight` (gamma, init 1) and `bias` (beta, init 0); buffers `running_mean`,
    `running_var`, `num_batches_tracked` (PyTorch's names, so state dicts line up).

    PyTorch's options: `affine=False` has no gamma and beta (y = x_hat, no parameters);
    `track_running_stats=False` keeps no buffers and normalizes with the batch's statistics in
    eval too; `momentum=None` makes the running statistics the cumulative average
    (the factor is 1 / num_batches_tracked instead of momentum).
    """

    INPUT = Images(channels="num_features", batch_statistics=True)
    PARAMETERS = {"num_features": Integer(1), "eps": Real(0, low_open=True), "momentum": Optional(Real(0, 1)),
                  "affine": Boolean(), "track_running_stats": Boolean()}
    has_parameters = True

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=np.float32):
        super().__init__(dtype)
        given = check("BatchNorm2D", self.PARAMETERS, dict(
            num_features=num_features, eps=eps, momentum=momentum, affine=affine,
            track_running_stats=track_running_stats))
        self.num_features, self.eps, self.momentum, self.affine, self.track_running_stats = given.values()
        if self.affine:
            self.params = {"weight": np.ones(num_features, self.dtype),
                           "bias": np.zeros(num_features, self.dtype)}
            self.init_names = {"weight": "ones", "bias": "zeros"}
        if self.track_running_stats:
            self.buffers = {"running_mean": np.zeros(num_features, self.dtype),
                            "running_var": np.ones(num_features, self.dtype),
                            "num_batches_tracked": np.zeros((), np.int64)}


    def state_problem(self, name, value):
        if name == "running_var" and np.size(value) and np.min(value) < 0:
            return f"a variance must be >= 0, found {np.min(value):.3g}"
        return None
    def forward(self, x, training=True):
        training = training or not self.track_running_stats    # no running statistics: the batch's
        if training:
            count = x.size // self.num_features
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            if self.track_running_stats:
                self.buffers["num_batches_tracked"] = self.buffers["num_batches_tracked"] + 1
                # momentum None: the cumulative average, factor 1/t at the t-th batch
                m = self.momentum if self.momentum is not None else 1.0 / int(self.buffers["num_batches_tracked"])
                unbiased = var * (count / (count - 1))
                self.buffers["running_mean"] = ((1 - m) * self.buffers["running_mean"] + m * mean).astype(self.dtype)
                self.buffers["running_var"] = ((1 - m) * self.buffers["running_var"] + m * unbiased).astype(self.dtype)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mean[:, None, None]) * inv_std[:, None, None]
        self._cache = (x_hat, inv_std, training)
        if not self.affine:
            return x_hat.astype(x.dtype, copy=False)
        return self.params["weight"][:, None, None] * x_hat + self.params["bias"][:, None, None]

    def backward(self, grad_y):
        x_hat, inv_std, training = self._cache
        if self.affine:
            gamma = self.params["weight"][:, None, None]
            self.grads["weight"] = (grad_y * x_hat).sum(axis=(0, 2, 3))
            self.grads["bias"] = grad_y.sum(axis=(0, 2, 3))
            g = grad_y * gamma
        else:
            g = grad_y
        if not training:
            return g * inv_std[:, None, None]
        # d/dx of the batch-normalized value: subtract the mean gradient and its projection on x_hat
        mean_g = g.mean(axis=(0, 2, 3), keepdims=True)
        mean_gx = (g * x_hat).mean(axis=(0, 2, 3), keepdims=True)
        return (g - mean_g - x_hat * mean_gx) * inv_std[:, None, None]

    def config(self):
        options = {} if self.affine else {"affine": False}
        if not self.track_running_stats:
            options["track_running_stats"] = False
        return dict(num_features=self.num_features, eps=self.eps, momentum=self.momentum, **options)


# --------------------------------------------------------------------------- shape-only layers

class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), as torch.nn.Flatten."""

    INPUT = Batch()

    def forward(self, x, training=True):
        self._shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))   # (-1 fails on an empty batch)

    def backward(self, grad_y):
        return grad_y.reshape(self._shape)


class _Pool2D(Layer):
    INPUT = PoolWindow()
    PARAMETERS = {"kernel_size": Pair(1), "stride": Optional(Pair(1)), "padding": Pair(0), "dilation": Pair(1),
                  "ceil_mode": Boolean(), "return_indices": Boolean(), "count_include_pad": Boolean(),
                  "divisor_override": Satisfies(lambda v: v is None or (isinstance(v, int) and not isinstance(
                      v, bool) and v != 0), "a nonzero integer or None")}
    _forward = _backward = _options_forward = None
    DEFAULTS: dict = {}       # PyTorch's options and their defaults, in its order

    def __init__(self, kernel_size, stride=None, padding=0, *, dtype=None, **options):
        super().__init__(dtype)
        given = check(type(self).__name__, self.PARAMETERS,
                      dict(kernel_size=kernel_size, stride=stride, padding=padding, **options))
        for key, value in given.items():
            setattr(self, key, value)
        if self.stride is None:
            self.stride = self.kernel_size
        # the options that differ from PyTorch's defaults; none: the default path, as fast as before
        self.options = {k: getattr(self, k) for k in self.DEFAULTS if getattr(self, k) != self.DEFAULTS[k]}

    def forward(self, x, training=True):
        if self.options:
            return self._forward_options(x)
        y, self._cache = type(self)._forward(x, self.kernel_size, self.stride, self.padding)
        return y

    def _forward_options(self, x):
        kwargs = {k: getattr(self, k) for k in self.DEFAULTS if k != "return_indices"}
        y, self._cache = type(self)._options_forward(x, self.kernel_size, self.stride, self.padding, **kwargs)
        return (y, F.max_pool2d_indices(self._cache)) if self.options.get("return_indices") else y

    def backward(self, grad_y):
        if isinstance(self._cache, F.PoolOptionsCache):
            return F.pool2d_options_backward(grad_y, self._cache)
        return type(self)._backward(grad_y, self._cache)

    def config(self):
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}
        return dict(kernel_size=list(self.kernel_size), stride=list(self.stride), padding=list(self.padding),
                    **options)


class MaxPool2D(_Pool2D):
    """Max over each kernel window; stride defaults to the kernel size.

    PyTorch's options: `dilation` (the window's taps dh, dw apart), `ceil_mode` (round the
    output size up: a last, partial window), `return_indices` (forward returns (y, indices),
    each maximum's flat position row * W + col in its input plane, as torch; such a layer ends
    a model, as in torch, since the next layer would get a pair)."""
    _forward = staticmethod(F._max_pool2d_forward)     # (the kernels: the entry checked x)
    _backward = staticmethod(F._max_pool2d_backward)
    _options_forward = staticmethod(F._max_pool2d_options_forward)
    DEFAULTS = dict(dilation=(1, 1), ceil_mode=False, return_indices=False)

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False,
                 *, dtype=None):
        super().__init__(kernel_size, stride, padding, dtype=dtype, dilation=dilation,
                         return_indices=return_indices, ceil_mode=ceil_mode)


class AvgPool2D(_Pool2D):
    """Mean over each kernel window; stride defaults to the kernel size.

    PyTorch's options: `ceil_mode` (a last, partial window), `count_include_pad=False` (divide
    by the input pixels a window covers, not counting the padding), `divisor_override` (divide
    every window's sum by this number)."""
    _forward = staticmethod(F._avg_pool2d_forward)     # (the kernels: the entry checked x)
    _backward = staticmethod(F._avg_pool2d_backward)
    _options_forward = staticmethod(F._avg_pool2d_options_forward)
    DEFAULTS = dict(ceil_mode=False, count_include_pad=True, divisor_override=None)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None, *, dtype=None):
        super().__init__(kernel_size, stride, padding, dtype=dtype, ceil_mode=ceil_mode,
                         count_include_pad=count_include_pad, divisor_override=divisor_override)


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C, 1, 1): the mean of each channel, as nn.AdaptiveAvgPool2d(1).

    The singleton dims are kept so that a following Flatten lines up with PyTorch's modules.
    """

    INPUT = Images()

    def forward(self, x, training=True):
        self._shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, grad_y):
        n, c, h, w = self._shape
        return np.broadcast_to(grad_y / (h * w), self._shape).copy()


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability p and scale the rest by
    1/(1-p), so eval needs no rescaling. The masks come from `rng` (reproducible). p = 1 zeroes
    every input in training (and its gradient), as PyTorch."""

    def __init__(self, p=0.5, rng=None, *, dtype=None):
        super().__init__(dtype)
        self.p = check("Dropout", {"p": Real(0, 1)}, {"p": p})["p"]
        self.rng = as_generator(rng)

    def forward(self, x, training=True):
        if not training or self.p == 0:
            self._mask = None
            return x
        if self.p == 1:       # (1/(1-p) would be inf, and inf * 0 nan)
            self._mask = np.zeros(x.shape, x.dtype)
            return x * self._mask
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self._mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self._mask

    def backward(self, grad_y):
        return grad_y if self._mask is None else grad_y * self._mask

    def config(self):
        return dict(p=self.p)


# --------------------------------------------------------------------------- activations

class Activation(Layer):
    """y = phi(x) elementwise; backward: grad_x = grad_y * phi'(x)."""

    function = "relu"

    def __init__(self, *, dtype=None):
        super().__init__(dtype)
        self.fn, self.fn_grad = F.ACTIVATIONS[self.function]
        self.fn_params = {}     # keyword arguments of fn and fn_grad (LeakyReLU's slope, ...)

    def forward(self, x, training=True):
        y = self.fn(x, **self.fn_params)
        self._xy = (x, y)
        return y

    def backward(self, grad_y):
        x, y = self._xy
        return grad_y * self.fn_grad(x, y, **self.fn_params)

    def config(self):
        return dict(self.fn_params)


class ReLU(Activation):
    """phi(x) = max(x, 0). Backward keeps only the mask of positive outputs."""
    function = "relu"

    def forward(self, x, training=True):
        y = np.maximum(x, 0)
        self._y = y
        return y

    def backward(self, grad_y):
        # (np.where with a Python 0 is ~15x slower)
        return grad_y * (self._y > 0)


class LeakyReLU(Activation):
    """phi(x) = x for x > 0, else negative_slope * x."""
    function = "leaky_relu"

    def __init__(self, negative_slope=0.01, *, dtype=None):
        super().__init__(dtype=dtype)
        self.fn_params = check("LeakyReLU", {"negative_slope": Real()}, {"negative_slope": negative_slope})


class Tanh(Activation):
    """phi(x) = tanh(x)."""
    function = "tanh"


class Sigmoid(Activation):
    """phi(x) = 1 / (1 + exp(-x))."""
    function = "sigmoid"


class ELU(Activation):
    """phi(x) = x for x > 0, else alpha (exp(x) - 1)."""
    function = "elu"

    def __init__(self, alpha=1.0, *, dtype=None):
        super().__init__(dtype=dtype)
        self.fn_params = check("ELU", {"alpha": Real()}, {"alpha": alpha})


class GELU(Activation):
    """phi(x) = x Phi(x) (exact erf form); approximate="tanh": x (1 + tanh(sqrt(2/pi) (x +
    0.044715 x^3))) / 2, as torch.nn.GELU(approximate="tanh")."""
    function = "gelu"

    def __init__(self, approximate="none", *, dtype=None):
        super().__init__(dtype=dtype)
        self.approximate = check("GELU", {"approximate": Options(("none", "tanh"))},
                                 {"approximate": approximate})["approximate"]
        if approximate == "tanh":
            self.fn, self.fn_grad = F.gelu_tanh, F.gelu_tanh_grad

    def config(self):
        return {} if self.approximate == "none" else {"approximate": "tanh"}


class SELU(Activation):
    """phi(x) = scale * elu(x, alpha) with the self-normalizing constants."""
    function = "selu"


LAYERS = {cls.__name__: cls for cls in (
    Conv2D, Dense, BatchNorm2D, Flatten, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Dropout,
    ReLU, LeakyReLU, Tanh, Sigmoid, ELU, GELU, SELU,
)}

ACTIVATION_LAYERS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid,
                     "elu": ELU, "gelu": GELU, "selu": SELU, "linear": None}


def activation_layer(name, **kwargs):
    """The activation layer for a name ('relu', 'tanh', ...); None for 'linear'."""
    if not isinstance(name, str) or name not in ACTIVATION_LAYERS:
        raise unknown_name("activation", name, ACTIVATION_LAYERS)
    cls = ACTIVATION_LAYERS[name]
    return None if cls is None else cls(**kwargs)


def layer_from_config(entry: dict, *, dtype=np.float32) -> Layer:
    """Rebuild one layer from {"type": "Conv2D", ...config}; weights start at zeros
    (they are meant to be loaded from a state dict)."""
    if not isinstance(entry, dict):
        raise InvalidValueError(
            f"layer config: expected a dict such as {{'type': 'ReLU'}}, got {type(entry).__name__}")
    entry = dict(entry)
    kind = entry.pop("type", None)
    if not isinstance(kind, str) or kind not in LAYERS:
        raise unknown_name("layer type", kind, LAYERS)
    if kind in ("Conv2D", "Dense"):
        entry.setdefault("weight_init", "zeros")
        entry.setdefault("bias_init", "zeros")
    entry.pop("init", None)
    entry.pop("dtype", None)      # Sequential.from_config passes it as `dtype`
    try:
        return LAYERS[kind](**entry, dtype=dtype)
    except TypeError as exc:
        raise InvalidValueError(f"layer config for {kind}: {exc}") from None
