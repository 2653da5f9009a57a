"""The exceptions initlab raises, and the helpers that make their messages specific.

Floor 0: imported by every floor; imports only the standard library.
Each error subclasses the built-in a user would expect (ValueError, TypeError, ...), so
`except ValueError` keeps working, while `except initlab.errors.InitlabError` catches ours.
"""
from __future__ import annotations

import difflib
from typing import Iterable


class InitlabError(Exception):
    """Base class of every error initlab raises on purpose. An error about one parameter
    (`constraints.check`) keeps its key as `param` and "expected ..., got ..." as `detail`."""

    param: str | None = None
    detail: str | None = None


class ShapeError(InitlabError, ValueError):
    """An array has the wrong rank, channel count, or a spatial size that cannot work."""


class DTypeError(InitlabError, TypeError):
    """An array has a dtype initlab cannot compute with (complex, object, bool, ...)."""


class UnknownNameError(InitlabError, ValueError):
    """A name (initializer, activation, model, dataset, ...) is not one initlab knows."""


class InvalidValueError(InitlabError, ValueError):
    """A number or option is outside its valid range (negative lr, p outside [0, 1), ...)."""


class DataError(InitlabError, ValueError):
    """Data that cannot be used: NaN/Inf, labels out of range, a malformed or missing file."""


class DivergenceError(InitlabError, FloatingPointError):
    """Training produced a non-finite loss or gradient."""


class CallOrderError(InitlabError, RuntimeError):
    """A method was called out of order, such as backward() before any forward()."""


class CheckpointError(InitlabError, ValueError):
    """A checkpoint file is truncated, corrupted, not safetensors, or from another model."""


def unknown_name(kind: str, given: object, choices: Iterable[str]) -> UnknownNameError:
    """Build "unknown <kind> 'x'; did you mean 'y'? valid: a, b, c" for a bad name."""
    choices = sorted(set(choices))
    hint = ""
    if isinstance(given, str):
        close = difflib.get_close_matches(given.lower(), choices, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{close[0]}'?"
    return UnknownNameError(
        f"unknown {kind} {given!r}{hint} (valid: {', '.join(choices)})"
    )
