"""One way to turn a user's `rng` argument into a NumPy Generator.

Floor 0. Nothing in initlab touches NumPy's global random state: every random function
takes `rng`, which is an `np.random.Generator`, an int seed, or None (fresh OS entropy).
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidValueError


def as_generator(rng=None) -> np.random.Generator:
    """Return a Generator: `rng` itself, `default_rng(seed)` for an int, or a fresh one for None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise InvalidValueError(f"rng: a seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise InvalidValueError(
        f"rng: expected a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )
