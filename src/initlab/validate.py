"""Checks at the boundary: turn what a user passed into what the engine computes with.

Floor 0 (NumPy only). Each check raises an initlab error that names the argument, what was
expected and what was given.

Dtype policy: float32 and float64 pass through unchanged; integer and unsigned images
(e.g. uint8 pixels) are converted to float32 *without rescaling*; bool, complex, object and
string arrays are refused, since no meaningful convolution of them exists.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import DataError, DTypeError, InvalidValueError, ShapeError

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
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        raise InvalidValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if min(value) < minimum:
        raise InvalidValueError(f"{name}: expected values >= {minimum}, got {tuple(value)}")
    return int(value[0]), int(value[1])


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Check an integer count (batch size, epochs, channels, ...) is >= minimum."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise InvalidValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def real_number(value, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Check a real number lies in [low, high] (ends open when asked); refuse bools and NaN."""
    try:     # float() first: Fraction(1, 3) and 10**400 are Reals np.isfinite cannot take
        number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
    except OverflowError:
        number = None
    if number is None or not math.isfinite(number):
        given = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise InvalidValueError(f"{name}: expected a finite real number, got {given}")
    value = number
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise InvalidValueError(f"{name}: expected a value in {interval}, got {value:g}")
    return value
