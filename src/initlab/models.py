"""Model builders used across the project; each takes `weight_init=` and `rng=`.

Floor 3. Every builder returns a `Sequential` whose layer order matches the equivalent
`torch.nn.Sequential` (so state dicts line up), with weights drawn from one `rng`.
"""
from __future__ import annotations

import re

import numpy as np

from .errors import ShapeError, unknown_name
from .convolution import conv_output_size
from .layers import (DEFAULT_WEIGHT_INIT, Conv2D, Dense, Flatten, GlobalAvgPool2D, MaxPool2D,
                     activation_layer)
from .model import Sequential
from .rng import as_generator
from .validate import pair, positive_int


def _act(name, dtype):
    layer = activation_layer(name, dtype=dtype)
    return [] if layer is None else [layer]


def lenet5(in_channels=1, num_classes=10, image_size=28, *, weight_init=DEFAULT_WEIGHT_INIT,
           activation="relu", rng=None, dtype=np.float32) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, as most courses teach it now:

    conv 5x5 (pad 2) -> 6, act, pool 2, conv 5x5 -> 16, act, pool 2, flatten,
    dense 120, act, dense 84, act, dense num_classes. 28x28 input: 16*5*5 = 400 features.
    """
    rng = as_generator(rng)
    h, w = pair(image_size, "lenet5 image_size", minimum=1)
    size = lambda s: conv_output_size(conv_output_size(s, 5, 1, 2) // 2, 5, 1, 0) // 2
    if size(h) < 1 or size(w) < 1:
        raise ShapeError(f"lenet5: image_size {image_size} is too small; it needs at least 12x12 "
                         "(two 5x5 convolutions and two 2x2 poolings)")
    kw = dict(weight_init=weight_init, rng=rng, dtype=dtype)
    return Sequential([
        Conv2D(in_channels, 6, 5, padding=2, **kw), *_act(activation, dtype), MaxPool2D(2, dtype=dtype),
        Conv2D(6, 16, 5, **kw), *_act(activation, dtype), MaxPool2D(2, dtype=dtype),
        Flatten(dtype=dtype),
        Dense(16 * size(h) * size(w), 120, **kw), *_act(activation, dtype),
        Dense(120, 84, **kw), *_act(activation, dtype),
        Dense(84, num_classes, **kw),
    ])


def plain_cnn(depth=30, width=16, activation="relu", in_channels=1, num_classes=10, *,
              weight_init=DEFAULT_WEIGHT_INIT, bias=True, bias_init="zeros", rng=None,
              dtype=np.float32) -> Sequential:
    """A deep vanilla ConvNet for the depth studies: no batch norm, no skip connections.

    `depth` conv 3x3 layers (pad 1, first in_channels -> width, then width -> width), each
    followed by the activation; then global average pooling, flatten, dense num_classes.
    """
    depth = positive_int(depth, "plain_cnn depth")
    width = positive_int(width, "plain_cnn width")
    rng = as_generator(rng)
    kw = dict(weight_init=weight_init, bias=bias, bias_init=bias_init, rng=rng, dtype=dtype)
    layers = []
    for index in range(depth):
        layers += [Conv2D(in_channels if index == 0 else width, width, 3, padding=1, **kw),
                   *_act(activation, dtype)]
    layers += [GlobalAvgPool2D(dtype=dtype), Flatten(dtype=dtype), Dense(width, num_classes, **kw)]
    return Sequential(layers)


def small_cnn(in_channels=1, num_classes=10, image_size=8, *, weight_init=DEFAULT_WEIGHT_INIT,
              activation="relu", rng=None, dtype=np.float32) -> Sequential:
    """A small CNN for 8x8 digits: conv 3x3 -> 16, act, conv 3x3 -> 32, act, pool 2,
    flatten, dense 64, act, dense num_classes (all convs pad 1)."""
    rng = as_generator(rng)
    h, w = pair(image_size, "small_cnn image_size", minimum=2)
    kw = dict(weight_init=weight_init, rng=rng, dtype=dtype)
    return Sequential([
        Conv2D(in_channels, 16, 3, padding=1, **kw), *_act(activation, dtype),
        Conv2D(16, 32, 3, padding=1, **kw), *_act(activation, dtype), MaxPool2D(2, dtype=dtype),
        Flatten(dtype=dtype),
        Dense(32 * (h // 2) * (w // 2), 64, **kw), *_act(activation, dtype),
        Dense(64, num_classes, **kw),
    ])


MODELS = ("lenet5", "small_cnn", "plain:DEPTHxWIDTH")


def parse_name(name) -> tuple[str, tuple[int, ...]]:
    """A model's CLI name -> (builder, sizes): ("lenet5", ()), ("small_cnn", ()) or, for
    "plain:DEPTHxWIDTH", ("plain", (depth, width)); UnknownNameError for anything else. The
    sizes are checked when the model is built."""
    if isinstance(name, str) and name in ("lenet5", "small_cnn"):
        return name, ()
    match = re.fullmatch(r"plain:([0-9]+)x([0-9]+)", name) if isinstance(name, str) else None
    if match is None:
        raise unknown_name("model", name, MODELS)
    return "plain", (int(match[1]), int(match[2]))


def build(name, *, in_channels, num_classes, image_size, weight_init=DEFAULT_WEIGHT_INIT,
          activation="relu", rng=None, dtype=np.float32) -> Sequential:
    """A model by its CLI name: "lenet5", "small_cnn" or "plain:DEPTHxWIDTH" (e.g. "plain:30x16")."""
    common = dict(weight_init=weight_init, activation=activation, rng=rng, dtype=dtype)
    kind, sizes = parse_name(name)
    if kind == "plain":
        return plain_cnn(*sizes, in_channels=in_channels, num_classes=num_classes, **common)
    return (lenet5 if kind == "lenet5" else small_cnn)(in_channels, num_classes, image_size, **common)
