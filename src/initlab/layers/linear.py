"""The layers with weights: `Conv2D` (a convolution) and `Dense` (a matrix product), each
y = (the input's windows or rows) x W^T + b.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from .. import convolution, init
from ..constraints import Integer, Optional, Pair, check
from ..layer_entry import Images, Matrix
from ..rng import as_generator
from .base import DEFAULT_WEIGHT_INIT, Layer, _init_param


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
