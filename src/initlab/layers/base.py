"""The base class every layer derives from: the layer contract (see `layers/__init__.py`),
the forward caches and their release, `weight`/`bias`, and drawing a parameter from its
initializer.

Floor 2.
"""
from __future__ import annotations

import numpy as np

from .. import init
from ..errors import CallOrderError, InvalidValueError
from ..layer_entry import Any, guard

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

    def _param(self, name) -> np.ndarray:
        try:
            return self.params[name]
        except KeyError:
            raise AttributeError(f"{self.label} has no {name}") from None

    @property
    def weight(self) -> np.ndarray:
        """``params["weight"]`` itself, not a copy: ``layer.weight[...] = w`` changes the layer."""
        return self._param("weight")

    @property
    def bias(self) -> np.ndarray:
        """``params["bias"]`` itself, not a copy (AttributeError for a layer built without one)."""
        return self._param("bias")

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
