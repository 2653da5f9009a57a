"""Where an array enters a layer: checked once, so that `forward` and `backward` trust it (floor 2).

Every `Layer` subclass is passed to `guard` when it is defined (`Layer.__init_subclass__`):
the `forward` and `backward` it defines are wrapped so that

* forward gets its input as a float array of the layer's dtype (integers converted, other
  dtypes refused), of the shape the class's `INPUT` spec allows (`Images`, `Matrix`,
  `Batch`, or any shape), and counts the pass in `layer.forwards`;
* backward gets `grad_y` as a float array of the layer's dtype with exactly the shape the last
  forward returned (a wrong shape would otherwise broadcast silently or fail deep in NumPy).

A wrong input is one line naming the layer ("layer 2 (Conv2D) input: expected 3 input
channel(s) ..."); the maths in layers/ reads with no check on the way.
"""
from __future__ import annotations

import functools

import numpy as np

from . import convolution, functional as F
from .errors import ShapeError
from .validate import as_float_array, as_images


class Any:
    """Any shape."""

    def check(self, layer, x, training):
        return x


class Batch:
    """At least 2-D: (N, ...)."""

    def check(self, layer, x, training):
        if x.ndim < 2:
            raise ShapeError(f"{layer.label}: expected at least a 2-D input (N, ...), got shape {x.shape}")
        return x


class Matrix:
    """(N, features), features equal to the layer's attribute `features` once it is known."""

    def __init__(self, features: str):
        self.features = features

    def check(self, layer, x, training):
        if x.ndim != 2:
            raise ShapeError(f"{layer.label}: expected a 2-D input (N, features), got shape {x.shape}; "
                             "put a Flatten layer before it")
        expected = getattr(layer, self.features)
        if expected is not None and x.shape[1] != expected:
            raise ShapeError(f"{layer.label}: expected {expected} input features, got shape {x.shape}")
        return x


class Images:
    """An NCHW batch with the layer's attribute `channels` channels (when given). `window`: the
    layer's (dilated) kernel fits the padded input. `batch_statistics`: in training, more than
    one value per channel (a batch variance needs two)."""

    def __init__(self, channels: str | None = None, *, window=False, batch_statistics=False):
        self.channels, self.window, self.batch_statistics = channels, window, batch_statistics

    def check(self, layer, x, training):
        channels = None if self.channels is None else getattr(layer, self.channels)
        x = as_images(x, f"{layer.label} input", channels=channels)
        if self.window:
            convolution.output_hw(x.shape, layer.kernel_size, layer.stride, layer.padding, layer.label,
                                  layer.dilation, layer.padding_mode)
        if self.batch_statistics and (training or not layer.track_running_stats):
            count = x.size // x.shape[1]
            if count < 2:       # PyTorch refuses too
                raise ShapeError(
                    f"{layer.label}: training needs more than 1 value per channel for the batch "
                    f"statistics, got input shape {x.shape} ({count} per channel); use "
                    "training=False to normalize with the running statistics")
        return x


class PoolWindow(Images):
    """An NCHW batch over which the pooling layer's window fits (`functional.check_pool_input`)."""

    def check(self, layer, x, training):
        x = super().check(layer, x, training)
        F.check_pool_input(x.shape, layer.kernel_size, layer.stride, layer.padding, layer.label,
                           getattr(layer, "dilation", (1, 1)), getattr(layer, "ceil_mode", False),
                           general=bool(layer.options))
        return x


def _as_layer_dtype(layer, array, name):
    array = as_float_array(array, name, finite=False, int_dtype=layer.dtype or np.float32)
    return array if layer.dtype in (None, array.dtype) else array.astype(layer.dtype)


def _checked_forward(forward):
    @functools.wraps(forward)
    def entry(self, x, *args, **kwargs):
        self.forwards += 1
        x = _as_layer_dtype(self, x, f"{self.label} input")
        training = kwargs.get("training", args[0] if args else True)
        y = forward(self, type(self).INPUT.check(self, x, training), *args, **kwargs)
        self._out_shape = (y[0] if isinstance(y, tuple) else y).shape
        return y
    entry.checked = True
    return entry


def _checked_backward(backward):
    @functools.wraps(backward)
    def entry(self, grad_y, *args, **kwargs):
        shape = self._out_shape      # (a CallOrderError before any forward: Layer.__getattr__)
        grad_y = _as_layer_dtype(self, grad_y, f"{self.label} backward grad_y")
        if grad_y.shape != shape:
            raise ShapeError(f"{self.label} backward: expected grad_y of shape {shape} (the "
                             f"forward's output), got {grad_y.shape}")
        return backward(self, grad_y, *args, **kwargs)
    entry.checked = True
    return entry


def guard(cls):
    """Wrap the forward and backward `cls` itself defines (see the module's docstring)."""
    for name, wrap in (("forward", _checked_forward), ("backward", _checked_backward)):
        method = cls.__dict__.get(name)
        if method is not None and not getattr(method, "checked", False):
            setattr(cls, name, wrap(method))
    return cls
