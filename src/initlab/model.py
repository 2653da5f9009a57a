"""Sequential: a list of layers run in order, with PyTorch-compatible state dicts.

Floor 3. `state_dict()` keys are "<index>.<name>" ("0.weight", "3.bias", "4.running_mean"),
exactly those of the equivalent `torch.nn.Sequential`, so weights move between the two.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import recompute
from .errors import CallOrderError, InvalidValueError, ShapeError
from .layers import Layer, layer_from_config
from .state_checks import check_config, check_state, example_shape
from .validate import positive_int


class Sequential:
    """y = layers[-1](... layers[1](layers[0](x))); backward runs the chain rule in reverse.

    `checkpoint_segments=k` trains with recomputation (see `recompute`): forward keeps only k
    segment inputs, backward re-runs each segment's forward before its backward, so memory
    grows like k + L/k layers instead of L, for one more forward pass; same gradients.
    """

    def __init__(self, layers, *, checkpoint_segments=None):
        if isinstance(layers, (Layer, str, bytes)) or not isinstance(layers, Iterable):
            raise InvalidValueError(f"Sequential: expected a list of layers, got {type(layers).__name__}")
        self.layers = list(layers)
        if not self.layers:
            raise InvalidValueError("Sequential: expected at least one layer, got none")
        first_seen = {}
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise InvalidValueError(f"Sequential: item {index} is {type(layer).__name__}, not an initlab Layer")
            # a layer keeps one forward cache and one set of gradients, so a second use would
            # silently overwrite the first one's (PyTorch's autograd allows it; here it is refused)
            if id(layer) in first_seen:
                raise InvalidValueError(
                    f"Sequential: item {index} is the same {type(layer).__name__} object as item "
                    f"{first_seen[id(layer)]}; use a new layer for each position")
            first_seen[id(layer)] = index
            layer.label = f"layer {index} ({type(layer).__name__})"
        self._forward_marks = None    # each layer's forward count after this model's last forward
        if checkpoint_segments is not None:
            checkpoint_segments = positive_int(checkpoint_segments, "Sequential checkpoint_segments")
            recompute.check_recomputable(self.layers)
        self.checkpoint_segments = checkpoint_segments

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    # ------------------------------------------------------------------ passes
    def forward(self, x, training=True):
        if self.checkpoint_segments:
            x = recompute.forward(self, x, training)
        else:
            for layer in self.layers:
                x = layer.forward(x, training=training)
        self._forward_marks = [layer.forwards for layer in self.layers]
        return x

    __call__ = forward

    def backward(self, grad, *, input_grad=False):
        """Back-propagate `grad` (d loss / d output); fills every layer's `grads`.

        Returns d loss / d input when `input_grad=True`; otherwise the first layer skips that
        work (as PyTorch does for an input that does not require grad) and None is returned.
        """
        self._check_caches_fresh()
        if self.checkpoint_segments:
            grad = recompute.backward(self, grad, input_grad)
            self._forward_marks = [layer.forwards for layer in self.layers]
            return grad if input_grad else None
        last = len(self.layers) - 1
        for index in range(last, -1, -1):
            layer = self.layers[index]
            if index == 0 and not input_grad and layer.can_skip_input_grad:
                layer.backward(grad, need_input_grad=False)
                return None
            grad = layer.backward(grad)
        return grad

    def _check_caches_fresh(self):
        """backward needs the caches of this model's last forward: no layer may have run another
        forward since (predict, summary, lsuv, signal_propagation or a call of the layer itself
        would hand backward another batch's caches, and wrong gradients)."""
        if self._forward_marks is None:
            raise CallOrderError("Sequential.backward: backward() was called before forward(); run forward(x) first")
        for layer, mark in zip(self.layers, self._forward_marks):
            if layer.forwards != mark:
                raise CallOrderError(
                    f"Sequential.backward: {layer.label} ran another forward after the model's last forward() "
                    "(predict(), summary(), first_nonfinite_forward(), lsuv or a call of the layer itself), so "
                    "its cache holds another batch; call forward(x) again before backward()")

    def infer(self, x):
        """The output in eval mode, keeping no layer's cache (each is dropped as soon as the next
        layer has run): memory for one layer at a time, whatever the depth. A backward() cannot
        follow; run forward() for that."""
        for layer in self.layers:
            x = layer.forward(x, training=False)
            layer.release()
        return x

    def predict(self, x, batch_size=512):
        """Outputs in eval mode, computed in batches to bound memory (`infer`: no layer keeps a
        cache), so a backward() must follow a new forward()."""
        batch_size = positive_int(batch_size, "predict batch_size")
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x)
            except ValueError as exc:    # a ragged list
                raise ShapeError(f"predict: expected a batch of equally shaped examples ({exc})") from None
        if x.ndim < 1:
            raise ShapeError(f"predict: expected a batch (N, ...) of examples, got a scalar {x!r}")
        marks = self._forward_marks
        try:
            if len(x) == 0:   # the output shape still comes from a (one-example) forward pass
                return self.infer(np.zeros((1, *x.shape[1:]), self.dtype))[:0]
            outs = [self.infer(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
            return np.concatenate(outs)
        finally:   # its forward passes are not ones a backward may follow
            self._forward_marks = marks

    @property
    def dtype(self) -> np.dtype:
        """The first layer's own dtype (layers without parameters may follow their input's;
        those are skipped), float32 if no layer has one."""
        return next((layer.dtype for layer in self.layers if layer.dtype is not None), np.dtype(np.float32))

    # ------------------------------------------------------------------ parameters
    def named_parameters(self, trainable_only=False):
        """Yield (key, layer, name) for every parameter, key "<index>.<name>" in layer order."""
        for index, layer in enumerate(self.layers):
            if trainable_only and not layer.trainable:
                continue
            for name in layer.params:
                yield f"{index}.{name}", layer, name

    def num_parameters(self):
        return sum(layer.params[name].size for _, layer, name in self.named_parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed "<index>.<name>" as in torch."""
        state = {}
        for index, layer in enumerate(self.layers):
            for name, value in {**layer.params, **layer.buffers}.items():
                state[f"{index}.{name}"] = np.array(value, copy=True)
        return state

    def expected_state(self) -> dict[str, tuple[tuple, np.dtype]]:
        """The key -> (shape, dtype) a state dict for this model must have."""
        out = {}
        for index, layer in enumerate(self.layers):
            for name, value in {**layer.params, **layer.buffers}.items():
                out[f"{index}.{name}"] = (value.shape, value.dtype)
        return out

    def load_state_dict(self, state, strict=True, *, source=None):
        """Copy arrays from `state` into the model; all of it is checked before anything changes.

        Missing keys, unexpected keys (when strict), shape mismatches and values that would not
        survive the cast to the model's dtype (non-finite weights, float32 overflow, fractional
        or negative counts) raise CheckpointError naming the tensor; the model is left as it was.
        `source` names the file a checkpoint's tensors came from (its dtypes are then only widened).
        """
        expected = check_state(self, state, strict, source=source)
        for key, (_, dtype) in expected.items():
            index, name = key.split(".", 1)
            layer = self.layers[int(index)]
            target = layer.params if name in layer.params else layer.buffers
            target[name] = np.array(state[key], dtype=dtype, copy=True)

    # ------------------------------------------------------------------ description
    def config(self) -> dict:
        """Plain data (JSON-able) from which `Sequential.from_config` rebuilds the architecture."""
        dtype = self.dtype.name
        layers = []
        for layer in self.layers:
            entry = {"type": type(layer).__name__, **layer.config()}
            if layer.init_names:
                entry["init"] = dict(layer.init_names)
            if layer.dtype is None:                # computes in its input's dtype
                entry["dtype"] = None
            elif layer.dtype.name != dtype:        # a mixed-precision model: say which layers
                entry["dtype"] = layer.dtype.name
            layers.append(entry)
        return {"dtype": dtype, "layers": layers}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        """Rebuild the architecture (weights zero, to be loaded); inits are kept as records.
        Every layer takes the config's "dtype" unless its own entry names another (None: a
        layer without parameters that computes in its input's dtype)."""
        layers = []
        for entry, layer_dtype in check_config(config):
            layer = layer_from_config(entry, dtype=None if layer_dtype is None else np.dtype(layer_dtype))
            layer.init_names = dict(entry.get("init", layer.init_names))
            layers.append(layer)
        return cls(layers)

    def summary_rows(self, input_shape):
        """[(label, output shape, parameter count, initializers)] for an input (C, H, W) or (N, C, H, W)."""
        shape = example_shape(input_shape)
        x = np.zeros((1, *shape), dtype=self.dtype)
        rows = []
        for index, layer in enumerate(self.layers):
            try:
                x = layer.forward(x, training=False)
            except ShapeError as exc:
                raise ShapeError(f"summary for input {shape}: {exc}") from None
            count = sum(p.size for p in layer.params.values())
            inits = ", ".join(f"{k}={v}" for k, v in layer.init_names.items())
            rows.append((f"{index} {type(layer).__name__}", ("N", *x.shape[1:]), count, inits))
        return rows

    def summary(self, input_shape) -> str:
        """A text table: layer, output shape, parameters, initializer of each parameter."""
        rows = self.summary_rows(input_shape)
        header = ("layer", "output shape", "params", "init")
        cells = [header] + [(name, "(" + ", ".join(map(str, shape)) + ")", f"{count:,}", inits)
                            for name, shape, count, inits in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"total parameters: {self.num_parameters():,}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ numerical faults
    def first_nonfinite_forward(self, x):
        """Re-run the forward pass on `x` and return the label of the first layer whose output is
        not finite ("input" if x itself is not), or None."""
        if not np.isfinite(x).all():
            return "input"
        with np.errstate(all="ignore"):
            for layer in self.layers:
                x = layer.forward(x, training=False)
                if not np.isfinite(x).all():
                    return layer.label
        return None

    def first_nonfinite_gradient(self):
        """The "<label> <param>" of the first parameter (in forward order) whose gradient is not finite."""
        for _, layer, name in self.named_parameters():
            grad = layer.grads.get(name)
            if grad is not None and not np.isfinite(grad).all():
                return f"{layer.label} {name}"
        return None

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"
