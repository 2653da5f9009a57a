"""Checks and the float-overflow guard shared by the initializers (floor 1)."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidValueError
from ..rng import as_generator
from ..validate import real_number
from .fans import _as_dtype, _as_shape, _fan


def _setup(shape, dtype, who: str):
    return _as_shape(shape, f"{who}: shape"), _as_dtype(dtype, f"{who}: dtype")


def _nonneg(value, name: str) -> float:
    return real_number(value, name, low=0.0)


def _positive(value, name: str) -> float:
    return real_number(value, name, low=0.0, low_open=True)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"{name}: expected True or False, got {value!r}")
    return value


def _check_rng(rng) -> None:
    """Deterministic schemes still refuse a malformed `rng`, so every scheme takes the same arguments."""
    if rng is not None:
        as_generator(rng)


def _fanned(shape, who: str, mode: str = "fan_in", groups: int = 1, transposed: bool = False) -> float:
    return _fan(shape, mode, who, groups, _flag(transposed, f"{who}: transposed"))


def _finite(compute, dtype, who: str, settings: str | None = None) -> np.ndarray:
    """`compute()` (weights in float64) cast to `dtype`, refused unless every weight is finite
    there: settings such as std=1e300 overflow float32 (or even float64) to inf. NumPy's
    overflow warnings are silenced, since the error says it instead."""
    with np.errstate(over="ignore", invalid="ignore"):
        wide = np.asarray(compute())
        w = wide.astype(dtype)
    if not np.isfinite(w).all():
        name = np.dtype(dtype).name
        given = f" with {settings}" if settings else ""
        raise InvalidValueError(
            f"{who}:{given} the weights would not be finite in {name} (|w| reaches "
            f"{float(np.max(np.abs(wide))):.3g}; {name} holds up to {np.finfo(dtype).max:.3g})")
    return w
