"""The checks of what a model is loaded from (floor 3): a state dict against the model it goes
into, and a model config (what `Sequential.config` wrote) before it is rebuilt. Each failure is
a CheckpointError naming the tensor or the layer; `model.py` then copies and builds, trusting them.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import CheckpointError, InvalidValueError, ShapeError


def check_state(model, state, strict=True, *, source=None) -> dict:
    """`model.expected_state()` once `state` is known to load into `model` without loss: no key
    missing, none unexpected (when strict), every shape right and every value surviving the cast
    to the model's dtype (see `_check_lossless`) and the layer's own rule (`state_problem`).
    `source` names a file the state was read from (a checkpoint): its keys, shapes and dtypes are
    then checked as a file's (`_check_file_tensors`), a dtype only ever widened."""
    if not isinstance(state, Mapping):
        raise InvalidValueError(f"load_state_dict: expected a dict of name -> array, got {type(state).__name__}")
    expected = model.expected_state()
    if source is None:
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing:
            raise CheckpointError(f"state dict is missing tensor(s) {missing} (model expects {list(expected)})")
        if strict and unexpected:
            raise CheckpointError(f"state dict has unexpected tensor(s) {unexpected}; pass strict=False to ignore")
    else:
        _check_file_tensors(expected, state, source, strict)
    for key, (shape, dtype) in expected.items():
        if source is None:
            try:
                found = np.shape(state[key])
            except ValueError as exc:     # a ragged list
                raise CheckpointError(f"tensor '{key}': expected an array, got a ragged {type(state[key]).__name__} "
                                      f"({exc})") from None
            if tuple(found) != tuple(shape):
                raise CheckpointError(f"tensor '{key}': expected shape {tuple(shape)}, found {tuple(found)}")
        _check_lossless(key, np.asarray(state[key]), np.dtype(dtype))
        index, name = key.split(".", 1)
        problem = model.layers[int(index)].state_problem(name, np.asarray(state[key]))
        if problem:
            raise CheckpointError(f"tensor '{key}': {problem}")
    return expected


def _check_file_tensors(expected: dict, tensors: dict, where: str, strict: bool):
    """A file's tensors: every expected one present with its shape and a dtype that casts to the
    model's without loss; no others when strict."""
    missing = [k for k in expected if k not in tensors]
    if missing:
        raise CheckpointError(
            f"{where} lacks tensor(s) {', '.join(repr(k) for k in missing)} that the model expects "
            f"(found {sorted(tensors)}); is it from another architecture?"
        )
    for key, (shape, dtype) in expected.items():
        found = tensors[key]
        if tuple(found.shape) != tuple(shape):
            raise CheckpointError(
                f"{where}: tensor '{key}' has shape {tuple(found.shape)}, the model expects "
                f"{tuple(shape)}; is it from another architecture?"
            )
        # float32 into float64 is fine; integers or booleans into float weights are not weights
        if found.dtype.kind != np.dtype(dtype).kind or not np.can_cast(found.dtype, dtype, casting="safe"):
            raise CheckpointError(f"{where}: tensor '{key}' has dtype {found.dtype}, the model expects "
                                  f"{np.dtype(dtype)} (a lossy cast; build the model with that dtype)")
    unexpected = sorted(set(tensors) - set(expected))
    if strict and unexpected:
        raise CheckpointError(
            f"{where} has unexpected tensor(s) {', '.join(repr(k) for k in unexpected)}; "
            "pass strict=False to ignore them"
        )


def check_config(config) -> list:
    """[(layer entry, its dtype name or None)] of a model config {"layers": [...], "dtype": ...},
    each entry a dict whose "dtype" is float32, float64 or None and whose "init" (when given)
    maps parameter names to initializer names."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise CheckpointError(f"model config: expected {{'layers': [...], 'dtype': ...}}, got {str(config)[:80]}")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise CheckpointError(f"model config: dtype must be 'float32' or 'float64', got {dtype!r}")
    entries = []
    for index, entry in enumerate(config["layers"]):
        if not isinstance(entry, dict):
            raise CheckpointError(f"model config: layer {index} must be a dict with a 'type', got {entry!r}")
        layer_dtype = entry.get("dtype", dtype)
        if layer_dtype not in ("float32", "float64", None):
            raise CheckpointError(f"model config: layer {index} dtype must be 'float32', 'float64' or "
                                  f"None, got {layer_dtype!r}")
        inits = entry.get("init", {})
        if not (isinstance(inits, dict) and all(isinstance(v, str) for v in inits.values())):
            raise CheckpointError(f"model config: layer {index} 'init' must map parameter names to "
                                  f"initializer names, got {str(inits)[:80]}")
        entries.append((entry, layer_dtype))
    return entries


def example_shape(input_shape) -> tuple:
    """An example's shape (C, H, W) of positive ints, or a batch's (N, C, H, W) or (N, features)
    whose N is ignored (anything: 0, None, "N"); returned as (C, H, W) or (features,)."""
    given = input_shape
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    sizes = None if shape is None or len(shape) not in (2, 3, 4) else shape if len(shape) == 3 else shape[1:]
    if sizes is None or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                                for d in sizes):
        raise ShapeError(f"summary: expected an input shape (C, H, W), (N, C, H, W) or (N, features) "
                         f"of positive integers (N is ignored), got {given!r}")
    return tuple(int(d) for d in sizes)


def _check_lossless(key: str, value: np.ndarray, dtype: np.dtype):
    """Refuse a state-dict value that is not numbers, or would change when cast to `dtype`:
    a weight must be finite (a NaN can only come from a diverged run) and stay finite in
    `dtype`; an integer buffer (a count, such as num_batches_tracked) must hold whole numbers
    >= 0 that fit."""
    if value.dtype.kind not in "biuf":
        raise CheckpointError(f"tensor '{key}': expected numbers, found dtype {value.dtype}")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise CheckpointError(f"tensor '{key}': holds non-finite values (NaN or Inf); a diverged run's?")
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            if not np.isfinite(value.astype(dtype)).all():
                raise CheckpointError(f"tensor '{key}': values up to {np.abs(value).max():.3g} overflow {dtype}")
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        whole = value.dtype.kind != "f" or bool((value == np.round(value)).all())
        # a float bound: float(info.max) rounds up to 2**63, which would pass a `>` test and wrap
        beyond = bool(value.size) and bool(
            value.max() >= 2.0 ** (info.bits - (dtype.kind == "i")) if value.dtype.kind == "f"
            else value.max() > info.max)
        if not whole or (value.size and (value.min() < 0 or beyond)):
            raise CheckpointError(f"tensor '{key}': expected whole numbers in [0, {info.max}] for a "
                                  f"{dtype} count, found {_preview(value)}")


def _preview(value: np.ndarray) -> str:
    return np.array2string(value.reshape(-1)[:4], threshold=4)
