"""Mini-batches and train/validation/test splits of (x, y) arrays."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import errors
from ..errors import DataError, InvalidValueError
from ..rng import as_generator
from ..validate import positive_int, real_number


def _check_pair(x, y):
    """x: any array with a leading example axis; y: targets of the same length (integer
    labels for classification, or any array, e.g. regression targets for MSE)."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.ndim == 0:
        raise errors.ShapeError("x: expected an array of examples (n, ...), got a scalar")
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(x):
        raise errors.ShapeError(f"y: expected {len(x)} targets (one per example of x), got shape {y.shape}")
    return x, y


def batches(x, y, batch_size, rng=None, shuffle=True, drop_last=False):
    """Yield mini-batches (x[i], y[i]) covering each example once per call.

    With shuffle, one permutation is drawn from `rng` per call and each batch is a fancy-index
    of it (no copy of the whole dataset); without, batches are slices (views) in order.
    drop_last drops a final batch smaller than batch_size.
    """
    x, y = _check_pair(x, y)
    batch_size = positive_int(batch_size, "batch_size")
    order = as_generator(rng).permutation(len(x)) if shuffle else None
    return _iterate_batches(x, y, batch_size, order, drop_last)


def _iterate_batches(x, y, batch_size, order, drop_last):
    n = len(x)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            sel = slice(start, start + batch_size)
        else:
            sel = order[start:start + batch_size]
        yield x[sel], y[sel]


@dataclass(frozen=True)
class Split:
    """A train/validation/test split; each part is an (x, y) tuple."""

    train: tuple
    val: tuple
    test: tuple


def _round(value: float) -> int:
    return int(math.floor(value + 0.5))


def _part_sizes(count: int, val_fraction: float, test_fraction: float, at_least_one: bool):
    """(n_val, n_test) for `count` examples; with at_least_one, each asked-for part gets >= 1
    while the training part keeps >= 1 (validation gives way first)."""
    n_val, n_test = _round(val_fraction * count), _round(test_fraction * count)
    if at_least_one:
        n_val = max(n_val, int(val_fraction > 0))
        n_test = max(n_test, int(test_fraction > 0))
    while n_val + n_test > count - 1 and n_val + n_test > 0:
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def _check_class_labels(y):
    """Stratifying needs one class label per example: a 1-D array of integers or strings (or of
    floats with integer values), none NaN."""
    hint = "pass stratify=False to split without classes"
    if y.ndim != 1:
        raise errors.ShapeError(f"split: stratify needs 1-D class labels, got y of shape {y.shape} "
                                f"(one-hot labels: pass y.argmax(axis=1)); or {hint}")
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise errors.DataError(f"split: y has {int(np.isnan(y).sum())} NaN label(s); a NaN is "
                                   "no class (every example must land in a part)")
        if not np.all(np.mod(y, 1) == 0):
            raise errors.DataError(f"split: stratify needs class labels, got non-integer targets "
                                   f"(e.g. {float(y[np.mod(y, 1) != 0][0]):g}: regression?); {hint}")
    elif y.dtype.kind not in "iubUS":
        raise errors.DTypeError(f"split: stratify needs class labels (integers or strings), got dtype "
                                f"{y.dtype}; {hint}")


def split(x, y, val_fraction=0.1, test_fraction=0.2, rng=None, stratify=True) -> Split:
    """Split (x, y) into disjoint train/val/test parts that cover every example.

    With stratify, each class is split on its own (sizes round(fraction * class count)), and a
    class with at least 3 examples appears in every non-empty part; y must then hold one
    class label per example (1-D integers or strings, or floats with integer values). Each part is
    shuffled. The same seed gives the same split.
    """
    x, y = _check_pair(x, y)
    val_fraction = real_number(val_fraction, "val_fraction", low=0.0, high=1.0, high_open=True)
    test_fraction = real_number(test_fraction, "test_fraction", low=0.0, high=1.0, high_open=True)
    if val_fraction + test_fraction >= 1:
        raise InvalidValueError(
            f"val_fraction + test_fraction: expected a sum < 1 (something must be left to "
            f"train on), got {val_fraction:g} + {test_fraction:g} = {val_fraction + test_fraction:g}"
        )
    if len(x) == 0:
        raise DataError("split: expected at least one example, got an empty dataset")
    gen = as_generator(rng)
    if stratify:
        _check_class_labels(y)
        _, group_of = np.unique(y, return_inverse=True)
        groups = [np.flatnonzero(group_of == g) for g in range(group_of.max() + 1)]
    else:
        groups = [np.arange(len(y))]
    parts = ([], [], [])
    for members in groups:
        members = gen.permutation(members)
        n_val, n_test = _part_sizes(len(members), val_fraction, test_fraction, stratify)
        parts[0].append(members[n_val + n_test:])
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val:n_val + n_test])
    train, val, test = (gen.permutation(np.concatenate(p)) for p in parts)
    return Split(train=(x[train], y[train]), val=(x[val], y[val]), test=(x[test], y[test]))


def choose(count: int, n, gen):
    """The sorted indices of n examples drawn at random from `count`; None (all) if n is None
    or n >= count."""
    if n is None or n >= count:
        return None
    return np.sort(gen.choice(count, size=n, replace=False))
