"""One way to turn a user's `rng` argument into a NumPy Generator.

Floor 0. Nothing in initlab touches NumPy's global random state: every random function
takes `rng`, which is an `np.random.Generator`, an int seed, or None (fresh OS entropy).
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidValueError


def as_seed(value, name="rng") -> int | None:
    """An integer `value` as an int seed (it must be >= 0); None for a value that is no integer."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise InvalidValueError(f"{name}: a seed must be >= 0, got {value}")
        return int(value)
    return None


def as_generator(rng=None) -> np.random.Generator:
    """Return a Generator: `rng` itself, `default_rng(seed)` for an int, or a fresh one for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    seed = as_seed(rng)
    if seed is not None:
        return np.random.default_rng(seed)
    raise InvalidValueError(
        f"rng: expected a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )
