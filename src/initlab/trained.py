"""A trained model, ready to use on new images (floor 4): ``initlab.load(path) -> TrainedModel``.

A checkpoint written by ``initlab train --save`` stores, beside the weights, how its inputs
were prepared (its saved state's "input", see `input_spec`):

* ``mean``, ``std``: per channel, computed on the training split; a network input is
  ``(x - mean[c]) / std[c]`` where x holds raw intensities in [0, 1] (bright ink on a dark
  background, as in MNIST and the scikit-learn digits);
* ``image_shape``: (C, H, W), the size the network was trained on;
* ``class_names``: the name of each output.

`TrainedModel.predict` and `predict_proba` take raw images (N, C, H, W), floats in [0, 1] or
8-bit integer pixels (divided by 255), and normalize them; pass ``normalized=True`` for inputs already standardized (the dataset's own
arrays, e.g. ``data.load("digits").test[0]``). A checkpoint without this record (written by
an older initlab, or by ``checkpoint.save`` without ``input=``) still loads: a checkpoint of
``initlab train`` gets the record recomputed from its run's data options (same data, seed and
n: the same split and statistics); otherwise ``missing`` names what it lacks, `load` warns
once, and inputs are then used as given.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import checkpoint, data, init
from .errors import CheckpointError, InitlabError, ShapeError
from .functional import softmax
from .layers import Activation, Conv2D, Dense
from .validate import as_float_array

__all__ = ["TrainedModel", "load", "input_spec", "INPUT_KEY", "FIELDS"]

INPUT_KEY = "input"
FIELDS = ("mean", "std", "image_shape", "class_names")
_WHAT = {"mean": "the input mean", "std": "the input std", "image_shape": "the image shape",
         "class_names": "the class names"}


def input_spec(dataset) -> dict:
    """What a checkpoint stores about a `data.Dataset`'s inputs (JSON-able): mean, std (per
    channel), image_shape [C, H, W] and class_names."""
    return {"mean": [float(m) for m in dataset.mean], "std": [float(s) for s in dataset.std],
            "image_shape": [int(dataset.in_channels), *(int(s) for s in dataset.image_size)],
            "class_names": [str(n) for n in dataset.class_names]}


def _numbers(value, count, positive=False) -> tuple | None:
    ok = (isinstance(value, list) and len(value) == count
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                  and (v > 0 or not positive) for v in value))
    return tuple(float(v) for v in value) if ok else None


class TrainedModel:
    """A loaded network and how to feed it.

    Attributes:
        model: the `Sequential`; ``trained[i]`` is its layer i, and ``trained[0].weight`` a
            conv layer's filters (out, in, kh, kw), a view of ``params["weight"]``.
        layers: the model's layers (a list).
        mean, std: per-channel input statistics (tuples), or None when the checkpoint lacks them.
        image_shape: (C, H, W) the network takes, or None when unknown.
        class_names: one name per output (the output index as text when unknown).
        missing: the fields of FIELDS the checkpoint lacks (empty for a complete one).
        state: everything else the checkpoint saved (e.g. "args", "history", "test_accuracy").
        init: {layer index: {parameter: initializer spec}}, the init each weight was drawn from.
        path: the checkpoint's path.
        recomputed: True when the input record was recomputed from the run's data options
            (a checkpoint of `initlab train` written without it), not read from the file.
    """

    recomputed = False

    def __init__(self, model, state: dict, path=None):
        self.model = model
        self.layers = model.layers
        self.state = state
        self.path = None if path is None else Path(path)
        self.init = {i: dict(layer.init_names) for i, layer in enumerate(model.layers) if layer.init_names}
        spec = state.get(INPUT_KEY) if isinstance(state.get(INPUT_KEY), dict) else {}
        channels = self.in_channels
        shape = spec.get("image_shape")
        self.image_shape = (tuple(int(s) for s in shape) if isinstance(shape, list) and len(shape) == 3
                            and all(isinstance(s, int) and s > 0 for s in shape)
                            and channels in (None, shape[0]) else None)
        channels = channels if channels is not None or self.image_shape is None else self.image_shape[0]
        self.mean = _numbers(spec.get("mean"), channels)
        self.std = _numbers(spec.get("std"), channels, positive=True)
        names = spec.get("class_names")
        outputs = self.num_classes
        known = isinstance(names, list) and all(isinstance(n, str) for n in names) and (
            outputs is None or len(names) == outputs)
        self.class_names = tuple(names) if known else tuple(str(k) for k in range(outputs or 0))
        found = {"mean": self.mean, "std": self.std, "image_shape": self.image_shape,
                 "class_names": self.class_names if known else None}
        self.missing = tuple(field for field in FIELDS if found[field] is None)

    # ------------------------------------------------------------------ what it is
    @property
    def in_channels(self) -> int | None:
        """The channels of an input image: the first Conv2D's input channels (None without one)."""
        first = next((layer for layer in self.layers if isinstance(layer, Conv2D)), None)
        return None if first is None else int(first.weight.shape[1])

    @property
    def num_classes(self) -> int | None:
        last = next((layer for layer in reversed(self.layers) if isinstance(layer, Dense)), None)
        return None if last is None else int(last.weight.shape[0])

    def missing_note(self) -> str | None:
        """One line naming what the checkpoint lacks and what is done instead, or None."""
        if not self.missing:
            return None
        where = f"checkpoint {str(self.path)!r}" if self.path else "this checkpoint"
        done = []
        if "mean" in self.missing or "std" in self.missing:
            done.append("inputs are used as given (not standardized)")
        if "image_shape" in self.missing:
            done.append("images are not resized")
        if "class_names" in self.missing:
            done.append("classes are named by their index")
        return (f"{where} lacks {', '.join(_WHAT[f] for f in self.missing)} (written before initlab stored its "
                f"input normalization, or without input=): {'; '.join(done)}")

    def summary(self) -> str:
        """The model's table (layer, output shape, params, init); needs the image shape."""
        if self.image_shape is None:
            raise ShapeError(f"summary: {self.missing_note()}; call model.summary((C, H, W)) with the input size")
        return self.model.summary(self.image_shape)

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        return (f"TrainedModel({len(self.layers)} layers, image_shape={self.image_shape}, "
                f"classes={list(self.class_names)}, path={str(self.path) if self.path else None!r})")

    # ------------------------------------------------------------------ using it
    def normalize(self, x) -> np.ndarray:
        """(x - mean[c]) / std[c] for raw images x (N, C, H, W) in [0, 1], in the model's dtype;
        x unchanged (cast) when the checkpoint lacks mean/std."""
        x = self._check(x, raw=True)
        if self.mean is None or self.std is None:
            return x
        mean = np.asarray(self.mean, x.dtype).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def _check(self, x, raw: bool) -> np.ndarray:
        what = "raw images" if raw else "normalized images"
        pixels = raw and isinstance(x, np.ndarray) and x.dtype.kind in "iu"
        x = as_float_array(x, f"predict: {what}", finite=True, int_dtype=self.model.dtype).astype(
            self.model.dtype, copy=False)
        channels = self.image_shape[0] if self.image_shape else self.in_channels
        expected = self.image_shape or (channels, "H", "W")
        if x.ndim != 4 or channels not in (None, x.shape[1]) or (
                self.image_shape is not None and x.shape[1:] != self.image_shape):
            raise ShapeError(f"predict: expected {what} of shape (N, {', '.join(map(str, expected))}), "
                             f"got shape {x.shape}")
        return x / self.model.dtype.type(255) if pixels else x

    def logits(self, x, *, normalized: bool = False) -> np.ndarray:
        """The network's outputs (N, classes) for images x (N, C, H, W)."""
        x = self._check(x, raw=False) if normalized else self.normalize(x)
        return self.model.predict(x)

    def predict_proba(self, x, *, normalized: bool = False) -> np.ndarray:
        """Class probabilities (N, classes): softmax of the outputs."""
        return softmax(self.logits(x, normalized=normalized).astype(np.float64), axis=1)

    def predict(self, x, *, normalized: bool = False) -> np.ndarray:
        """The most probable class index of each image (N,), int64; names: ``class_names[k]``."""
        return np.argmax(self.logits(x, normalized=normalized), axis=1).astype(np.int64)


    # ------------------------------------------------------------------ looking inside
    def weight_stats(self) -> list[dict]:
        """One row per Conv2D/Dense weight: index, layer, shape, init (the spec it was drawn
        from), target_std (what that spec aims at, `init.target_std`; None when unknown, e.g.
        lsuv), std and mean of the weight now, and ratio = std / target_std."""
        rows = []
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, (Conv2D, Dense)):
                continue
            weight = layer.weight.astype(np.float64)
            spec = layer.init_names.get("weight", "?")
            target = init.target_std(spec, weight.shape)
            std = float(weight.std())
            rows.append(dict(index=index, layer=f"{index} {type(layer).__name__}", shape=tuple(weight.shape),
                             init=spec, target_std=target, std=std, mean=float(weight.mean()),
                             ratio=None if not target else std / target))
        return rows

    def feature_maps(self, x, *, normalized: bool = False) -> list[tuple[int, str, np.ndarray]]:
        """The feature maps of every Conv2D for one image x (C, H, W) or (1, C, H, W):
        [(index, label, maps (channels, H', W'))], taken after the activation that follows
        the conv layer (its output itself where none follows)."""
        x = np.asarray(x)
        x = x[None] if x.ndim == 3 else x
        if x.ndim != 4 or len(x) != 1:
            raise ShapeError(f"feature_maps: expected one image (C, H, W), got shape {x.shape}")
        h = self._check(x, raw=False) if normalized else self.normalize(x)
        outputs = []
        for layer in self.layers:
            h = layer.forward(h, training=False)
            outputs.append(h[0].copy())    # a copy: a layer may reuse its output buffer
        maps = []
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Conv2D):
                continue
            after = self.layers[index + 1] if index + 1 < len(self.layers) else None
            if isinstance(after, Activation):
                maps.append((index, f"{index} Conv2D + {type(after).__name__}", outputs[index + 1]))
            else:
                maps.append((index, f"{index} Conv2D", outputs[index]))
        return maps


def _recomputed_input(state: dict) -> dict | None:
    """The input record of an `initlab train` checkpoint that lacks one (a step checkpoint, or
    one written before the record existed), recomputed from its run's options: the same data
    name, seed and n give the same split, hence the same mean and std. None when the options
    are absent or the data cannot be loaded (an MNIST folder moved)."""
    args = state.get("args")
    if not (isinstance(args, dict) and isinstance(args.get("data"), str)):
        return None
    try:
        return input_spec(data.load(args["data"], seed=args.get("seed", 0), n=args.get("n")))
    except (InitlabError, OSError, TypeError, ValueError):
        return None


def load(path, *, warn: bool = True) -> TrainedModel:
    """Load a checkpoint written by ``initlab train --save`` (or `checkpoint.save`) for use.

    Everything is checked first (see `checkpoint.load`). A checkpoint of `initlab train` without
    the input record (a step checkpoint, an older file) gets it recomputed from its run's data
    options (``recomputed`` is then True). Any other checkpoint without it loads too; with
    `warn` a UserWarning then says what it lacks (``TrainedModel.missing``)."""
    model, _, state = checkpoint.load(path)
    if INPUT_KEY in state and not isinstance(state[INPUT_KEY], dict):
        raise CheckpointError(f"checkpoint {str(path)!r}: saved 'input' is malformed: expected "
                              f"{{mean, std, image_shape, class_names}}, got {str(state[INPUT_KEY])[:80]}")
    recomputed = None if INPUT_KEY in state else _recomputed_input(state)
    if recomputed is not None:
        state = {**state, INPUT_KEY: recomputed}
    trained = TrainedModel(model, state, path)
    trained.recomputed = recomputed is not None
    if warn and trained.missing:
        warnings.warn(trained.missing_note(), UserWarning, stacklevel=2)
    return trained
