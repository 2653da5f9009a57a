"""Checks at the boundary: turn what a user passed into what the engine computes with.

Floor 0 (NumPy only). Each check raises an initlab error that names the argument, what was
expected and what was given.

Dtype policy: float32 and float64 pass through unchanged; integer and unsigned images
(e.g. uint8 pixels) are converted to float32 *without rescaling*; bool, complex, object and
string arrays are refused, since no meaningful convolution of them exists.
"""
from __future__ import annotations

import numpy as np

from .constraints import Integer, Pair, Real, check_one
from .errors import DataError, DTypeError, ShapeError

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(x, name: str = "x", *, finite: bool = True, int_dtype=np.float32) -> np.ndarray:
    """Return `x` as a float32/float64 ndarray (integers become `int_dtype`, float32 unless the
    caller computes in float64: 16777217 must not round through float32); refuse other dtypes."""
    if type(x) is not np.ndarray:     # lists, scalars, and subclasses (np.matrix's * is a product)
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise DTypeError(f"{name}: expected a numeric array, got {type(x).__name__} ({exc})") from None
    kind = x.dtype.kind
    if kind == "f":
        if x.dtype not in FLOAT_DTYPES:     # float16 up, longdouble down to the nearest we compute in
            x = x.astype(np.float32 if x.dtype.itemsize < 4 else np.float64)
    elif kind in "iu":
        x = x.astype(int_dtype)
    else:
        raise DTypeError(
            f"{name}: expected a float32/float64 (or integer) array, got dtype {x.dtype}"
        )
    if finite and not np.isfinite(x).all():
        bad = int(x.size - np.count_nonzero(np.isfinite(x)))
        raise DataError(f"{name}: contains {bad} non-finite value(s) (NaN or Inf)")
    return x


def as_images(x, name: str = "x", *, channels: int | None = None, finite: bool = False) -> np.ndarray:
    """Check an NCHW image batch: rank 4, and `channels` input channels when given."""
    x = as_float_array(x, name, finite=finite)
    if x.ndim != 4:
        raise ShapeError(
            f"{name}: expected a 4-D NCHW batch (N, C, H, W), got shape {x.shape}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ShapeError(
            f"{name}: expected {channels} input channel(s) (shape (N, {channels}, H, W)), "
            f"got shape {x.shape}"
        )
    return x


def as_labels(y, n: int, num_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Check integer class labels: shape (n,), integer dtype, each in [0, num_classes)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise DTypeError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ShapeError(f"{name}: expected shape ({n},) to match the {n} predictions, got {y.shape}")
    if num_classes is not None and y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(
            f"{name}: labels must be in [0, {num_classes}), got values from {y.min()} to {y.max()}"
        )
    return y.astype(np.int64, copy=False)


def pair(value, name: str, *, minimum: int = 0) -> tuple[int, int]:
    """Normalize an int or a pair of ints (per axis: height, width) to a tuple, each >= minimum."""
    return check_one(name, Pair(minimum), value)


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Check an integer count (batch size, epochs, channels, ...) is >= minimum."""
    return check_one(name, Integer(minimum), value)


def real_number(value, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Check a real number lies in [low, high] (ends open when asked); refuse bools and NaN."""
    return check_one(name, Real(low, high, low_open=low_open, high_open=high_open), value)
