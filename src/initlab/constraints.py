"""Parameter constraints as data, checked once where a user's value enters (floor 0).

A public constructor or entry point declares a table, {parameter: constraint}, and calls
`check(owner, table, values)` once; the code below it trusts the values it gets back. In the
spirit of scikit-learn's `_parameter_constraints`:

    >>> TABLE = {"in_channels": Integer(1), "p": Real(0, 1), "mode": Options(("zeros", "reflect"))}
    >>> check("Conv2D", TABLE, {"in_channels": 3, "p": 0.5, "mode": "zeros"})
    {'in_channels': 3, 'p': 0.5, 'mode': 'zeros'}

A failure raises initlab's error (errors.py) with a one-line message
"<owner> <parameter>: expected <what>, got <value>", and keeps the parameter's key and the
"expected ..., got ..." part as `exc.param` and `exc.detail`, so a caller (the command line)
can say the same with its own name for the parameter (`--batch-size: expected ...`).

Each constraint is `convert(value) -> value` (normalized: an int, a float, a tuple), raising
`Problem(detail)` when the value does not fit. `Rule` is the rare check across parameters.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
import numbers
from typing import Callable

import numpy as np

from .errors import InitlabError, InvalidValueError, UnknownNameError, unknown_name


class Problem(Exception):
    """A value does not fit its constraint: `detail` says what was expected and what was given."""

    def __init__(self, detail: str, error: type = InvalidValueError, *, whole: bool = False, bare: bool = False):
        super().__init__(detail)
        self.detail, self.error, self.whole = detail, error, whole   # whole: about the sequence, not an item
        self.bare = bare     # the detail names what it is about already ("unknown activation 'x'")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Integer:
    """An int (not a bool) in [low, high]; either end may be None (unbounded)."""

    def __init__(self, low: int | None = None, high: int | None = None):
        self.low, self.high = low, high

    def expected(self) -> str:
        if self.high is None:
            return "an integer" + ("" if self.low is None else f" >= {self.low}")
        if self.low is None:
            return f"an integer <= {self.high}"
        return f"an integer from {self.low} to {self.high}"

    def convert(self, value):
        if not is_int(value) or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise Problem(f"expected {self.expected()}, got {_short(value)}")
        return int(value)


class Real:
    """A finite real number (not a bool) in an interval; `low_open`/`high_open` exclude the ends."""

    def __init__(self, low: float | None = None, high: float | None = None, *, low_open=False, high_open=False):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def interval(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{lo}, {hi}{right}"

    def convert(self, value):
        try:     # float() first: Fraction(1, 3) and 10**400 are Reals math.isfinite cannot take
            number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
        except OverflowError:
            number = None
        if number is None or not math.isfinite(number):
            raise Problem(f"expected a finite real number, got {_short(value)}")
        too_low = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        too_high = self.high is not None and (number >= self.high if self.high_open else number > self.high)
        if too_low or too_high:
            raise Problem(f"expected a value in {self.interval()}, got {number:g}")
        return number


class Boolean:
    """True or False (NumPy's bools too), returned as a Python bool."""

    def convert(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise Problem(f"expected True or False, got {_short(value)}")
        return bool(value)


class Options:
    """One of a set of choices. With `kind` ("initializer", "padding_mode", ...) a miss is an
    UnknownNameError with a did-you-mean hint; without, "expected 'a' or 'b', got ..."."""

    def __init__(self, choices, kind: str | None = None):
        self.choices, self.kind = tuple(choices), kind

    def convert(self, value):
        if isinstance(value, str) and value in self.choices:
            return value
        if self.kind is not None:
            raise Problem(str(unknown_name(self.kind, value, self.choices)), UnknownNameError, bare=True)
        quoted = [repr(c) for c in self.choices]
        listed = " or ".join(quoted) if len(quoted) <= 2 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise Problem(f"expected {listed}, got {_short(value)}")


class InstanceOf:
    """An instance of `types`, described to the user as `what` ("a dict", "a Generator")."""

    def __init__(self, types, what: str):
        self.types, self.what = types, what

    def convert(self, value):
        if not isinstance(value, self.types):
            raise Problem(f"expected {self.what}, got {type(value).__name__}")
        return value


class Satisfies:
    """A value for which `test(value)` is true, described to the user as `what`."""

    def __init__(self, test: Callable[[object], bool], what: str):
        self.test, self.what = test, what

    def convert(self, value):
        if not self.test(value):
            raise Problem(f"expected {self.what}, got {_short(value)}")
        return value


class AllOf:
    """A value that fits each constraint in turn (each converts what the one before returned)."""

    def __init__(self, *constraints):
        self.constraints = constraints

    def convert(self, value):
        for constraint in self.constraints:
            value = constraint.convert(value)
        return value


class Optional:
    """None, or a value that fits `inner`."""

    def __init__(self, inner):
        self.inner = inner

    def convert(self, value):
        return None if value is None else self.inner.convert(value)


class Pair:
    """An int or a pair of ints (per axis: height, width), each >= minimum -> (int, int)."""

    def __init__(self, minimum: int = 0):
        self.minimum = minimum

    def convert(self, value):
        if is_int(value):
            value = (int(value), int(value))
        if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_int(v) for v in value):
            raise Problem(f"expected an int or a pair of ints, got {_short(value)}")
        if min(value) < self.minimum:
            raise Problem(f"expected values >= {self.minimum}, got {tuple(value)}")
        return int(value[0]), int(value[1])


class SequenceOf:
    """A non-empty sequence (a single item counts as one) whose items fit `item`, as a tuple.
    `unique`: each item at most once; `distinct_sorted`: duplicates dropped and sorted.
    `item_name` names an item in messages ("depth" for the items of "depths"); `what` names
    what an empty sequence lacks ("expected at least one seed")."""

    def __init__(self, item, *, unique=False, distinct_sorted=False, item_name=None, what="item", allow_empty=False):
        self.item, self.unique, self.distinct_sorted = item, unique, distinct_sorted
        self.item_name, self.what, self.allow_empty = item_name, what, allow_empty

    def convert(self, value):
        items = (value,) if isinstance(value, (str, numbers.Number)) else tuple(value)
        if not items and not self.allow_empty:
            raise Problem(f"expected at least one {self.what}", whole=True)
        out = tuple(self.item.convert(v) for v in items)
        if self.unique:
            seen = set()
            for v in out:
                if v in seen:
                    raise Problem(f"expected each item once, got {v!r} twice")
                seen.add(v)
        return tuple(sorted(set(out))) if self.distinct_sorted else out


class Rule:
    """A check across parameters: `test(values) -> detail or None` (values already converted);
    a detail is blamed on `param`. `worded`: the detail names the parameter in its own words
    ("kernel_size must be odd ..."), so the message is "<owner> <detail>"."""

    def __init__(self, param: str, test: Callable[[dict], str | None], error: type = InvalidValueError, *,
                 worded: bool = False):
        self.param, self.test, self.error, self.worded = param, test, error, worded


def fail(owner: str, param: str, detail: str, error: type = InvalidValueError, bare: bool = False) -> InitlabError:
    """The error for `param` of `owner`: "<owner> <param>: <detail>" (only the detail when
    `bare`: it names what it is about), keeping param and detail."""
    exc = error(detail if bare else f"{owner} {param}: {detail}".strip())
    exc.param, exc.detail = param, detail
    return exc


def check(owner: str, table: dict, values: dict, rules: tuple = ()) -> dict:
    """Every value of `values` whose key is in `table` converted by its constraint (the others
    returned as they are), then each `Rule` of `rules`; the first that fails raises
    `fail(owner, key, detail)`. A name in a constraint (SequenceOf's item_name) replaces the key
    in the message, not in `exc.param`."""
    out = dict(values)
    for key, constraint in table.items():
        if key in values:
            try:
                out[key] = constraint.convert(values[key])
            except Problem as problem:
                shown = (None if problem.whole else getattr(constraint, "item_name", None)) or key
                exc = fail(owner, shown, problem.detail, problem.error, problem.bare)
                exc.param = key
                raise exc from None
    for rule in rules:
        detail = rule.test(out)
        if detail is not None and rule.worded:
            exc = rule.error(f"{owner} {detail}".strip())
            exc.param, exc.detail = rule.param, detail
            raise exc
        if detail is not None:
            raise fail(owner, rule.param, detail, rule.error)
    return out


@contextmanager
def about(param: str):
    """Blame an initlab error raised in the block (by a nested check: an initializer spec, a
    model that cannot take the data) on `param`, its message kept whole as the detail."""
    try:
        yield
    except InitlabError as exc:
        if exc.param != param:
            exc.param, exc.detail = param, str(exc)
        raise


def check_one(name: str, constraint, value):
    """One value: `constraint.convert(value)`, a failure named `name` ("Conv2D stride")."""
    try:
        return constraint.convert(value)
    except Problem as problem:
        raise fail("", name, problem.detail, problem.error, problem.bare) from None
