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

One module a job, read in this order: `base.py` (the `Layer` class), `linear.py` (`Conv2D`,
`Dense`), `activations.py`, `pooling.py` (max, average, global average), `shape.py`
(`Flatten`), `batchnorm.py` (`BatchNorm2D`), `dropout.py`. This module names them all and
rebuilds a layer from its config (`LAYERS`, `layer_from_config`, `activation_layer`).
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidValueError, unknown_name
from .activations import ELU, GELU, SELU, Activation, LeakyReLU, ReLU, Sigmoid, Tanh
from .base import DEFAULT_WEIGHT_INIT, Layer, _init_param  # noqa: F401
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .linear import Conv2D, Dense
from .pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D, _Pool2D  # noqa: F401
from .shape import Flatten

__all__ = [
    "Layer", "Conv2D", "Dense", "BatchNorm2D", "Flatten", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
    "Dropout", "Activation", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "ELU", "GELU", "SELU",
    "DEFAULT_WEIGHT_INIT", "LAYERS", "ACTIVATION_LAYERS", "activation_layer", "layer_from_config",
]


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
