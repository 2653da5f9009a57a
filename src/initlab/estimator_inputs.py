"""What `CNNClassifier` takes from a user, read and checked: its dtype, an image shape, a model
name, a random_state as a SeedSequence, an array's rank, and the per-channel statistics its
inputs are standardized with.

Floor 6: NumPy and initlab's lower floors.
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidValueError, UnknownNameError, unknown_name
from .models import MODELS, parse_name
from .rng import as_seed


def _float_dtype(value) -> np.dtype:
    """The np.dtype a `dtype` parameter names: float32 or float64, given as a string ("float64",
    "f8"), a NumPy type (np.float64) or an np.dtype, as the layers take it."""
    try:
        dtype = None if value is None else np.dtype(value)
    except Exception:           # np.dtype raises TypeError or ValueError, by input
        dtype = None
    if dtype is None or dtype not in (np.float32, np.float64):
        raise InvalidValueError(f"dtype: expected float32 or float64 ('float32', np.float32, "
                                f"np.dtype('float32'), ...), got {value!r}")
    return dtype


def _check_image_shape(shape, name, *, none_ok=False) -> tuple:
    """(channels, height, width) of positive ints, as a tuple."""
    if (not isinstance(shape, (tuple, list, np.ndarray)) or len(shape) != 3 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in shape)):
        raise InvalidValueError(f"{name}: expected (channels, height, width) of positive ints"
                                f"{', or None' if none_ok else ''}; got {shape!r}")
    return tuple(int(v) for v in shape)


def _channel_mean_std(images):
    """Per-channel mean and std of (n, c, h, w) float64 images, finite for any finite images.

    Computed on each channel scaled by the power of two at its largest |value| and scaled back:
    the sum of squares of values beyond ~1e154 overflows (std inf turned every standardized
    input into 0), and of values below ~1e-162 underflows to 0. Scaling by a power of two is
    exact, so ordinary data get the same bits as the plain formulas; the std is at most the
    largest |value|, so it fits."""
    peak = np.abs(images).max(axis=(0, 2, 3))
    exponent = np.frexp(np.where(peak > 0, peak, 1.0))[1]          # peak < 2**exponent
    unit = np.ldexp(images, -exponent[:, None, None])
    return (np.ldexp(unit.mean(axis=(0, 2, 3)), exponent),
            np.ldexp(unit.std(axis=(0, 2, 3)), exponent))


def check_model(name) -> str:
    """`name` is a model CNNClassifier can build: "auto", "small_cnn", "lenet5" or
    "plain:DEPTHxWIDTH" (UnknownNameError otherwise; the sizes are checked when it is built)."""
    if not (isinstance(name, str) and name == "auto"):
        try:
            parse_name(name)
        except UnknownNameError:
            raise unknown_name("model", name, ("auto", *MODELS)) from None
    return name


def _ndim(X):
    """The rank of an array-like without converting it (None when it has no rank)."""
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.ndim(X)
        except Exception:  # ragged nested lists: let check_array report them
            return None
    return int(ndim)


def _seed_sequence(random_state) -> np.random.SeedSequence:
    """A SeedSequence from random_state: None (fresh entropy), an int, a Generator or a RandomState."""
    if random_state is None:
        return np.random.SeedSequence()
    seed = as_seed(random_state, "random_state")
    if seed is not None:
        return np.random.SeedSequence(seed)
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(np.iinfo(np.int32).max)))
    raise InvalidValueError(f"random_state: expected None, an int seed, a numpy Generator or "
                            f"RandomState, got {type(random_state).__name__}")
