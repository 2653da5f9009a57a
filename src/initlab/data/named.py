"""Datasets by name ("shapes", "digits", "mnist:PATH"), split and standardized, ready to train on.

scikit-learn is imported (lazily) only to read its bundled digits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import errors
from ..errors import DataError, InvalidValueError
from ..validate import as_images, positive_int
from .mnist import read_mnist
from .splitting import choose, split
from .synthetic import SHAPE_CLASSES, shapes

DATASETS = ("shapes", "digits", "mnist:PATH")


def digits():
    """The 1797 scikit-learn digits (bundled, no download) -> (x (1797, 1, 8, 8) in [0, 1], y).

    Pixels are 0..16 in the source, so x = pixels / 16 as float32; y is int64 in 0..9.
    """
    from sklearn.datasets import load_digits  # lazy: keeps `import initlab.data` fast

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


@dataclass(frozen=True)
class Dataset:
    """A dataset split and (optionally) standardized, with what a model needs to know about it.

    mean/std: the per-channel statistics that were subtracted/divided (from the train split);
    (0, ...) and (1, ...) when not standardized.
    """

    name: str
    train: tuple
    val: tuple
    test: tuple
    class_names: tuple
    in_channels: int
    image_size: tuple
    num_classes: int
    mean: tuple
    std: tuple


def _standardize(parts, channels: int, enabled: bool):
    """Centre and scale every part with the train part's per-channel mean and std."""
    if not enabled:
        return parts, (0.0,) * channels, (1.0,) * channels
    x_train = parts[0][0]
    mean = x_train.mean(axis=(0, 2, 3), dtype=np.float64)
    std = x_train.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std > 0, std, 1.0)  # a constant channel is only centred
    shift = mean.astype(np.float32).reshape(1, -1, 1, 1)
    scale = std.astype(np.float32).reshape(1, -1, 1, 1)
    out = tuple((((x - shift) / scale).astype(np.float32), y) for x, y in parts)
    return out, tuple(float(m) for m in mean), tuple(float(s) for s in std)


def _cap(x, y, n, gen):
    """At most n examples of (x, y), chosen at random; all of them (unshuffled) if n is None."""
    keep = choose(len(x), n, gen)
    return (x, y) if keep is None else (x[keep], y[keep])


def check_name(name) -> str:
    """The kind of a dataset name, "shapes", "digits" or "mnist" (for "mnist:PATH", whose PATH
    must be an existing folder), checked without loading anything."""
    if name in ("shapes", "digits"):
        return name
    if not isinstance(name, str) or not name.lower().startswith("mnist"):
        raise errors.unknown_name("dataset", name, DATASETS)
    folder = name[len("mnist"):]
    if not folder.startswith(":") or not folder[1:].strip():
        raise InvalidValueError(f"dataset {name!r}: MNIST needs the folder holding its files, as 'mnist:PATH'")
    if not Path(folder[1:]).is_dir():
        raise DataError(f"dataset {name!r}: MNIST folder {folder[1:]!r} does not exist or is not a "
                               "folder (initlab never downloads: put the four IDX files in one folder)")
    return "mnist"


def _load_parts(name: str, n, seeds):
    """(kind, class_names, (train, val, test)) for a dataset name, before standardizing."""
    split_rng, data_rng = (np.random.default_rng(s) for s in seeds)
    if name == "shapes":
        x, y = shapes(4000 if n is None else n, rng=data_rng)
        s = split(x, y, rng=split_rng)
        return "shapes", SHAPE_CLASSES, (s.train, s.val, s.test)
    if name == "digits":
        x, y = _cap(*digits(), n, data_rng)
        s = split(x, y, rng=split_rng)
        return "digits", tuple(str(d) for d in range(10)), (s.train, s.val, s.test)
    if check_name(name) == "mnist":
        train, test, num_classes = read_mnist(name.split(":", 1)[1], n, data_rng)
        s = split(*train, val_fraction=0.1, test_fraction=0.0, rng=split_rng)
        names = tuple(str(d) for d in range(num_classes))
        return "mnist", names, (s.train, s.val, test)
    raise errors.unknown_name("dataset", name, DATASETS)   # (check_name refused it already)


def load(name, *, seed=0, n=None, standardize=True) -> Dataset:
    """Load a dataset by name ("shapes", "digits" or "mnist:PATH") with a fixed split.

    shapes/digits are split 70/10/20 (train/val/test, stratified); MNIST keeps its own test
    file and takes 10% of its training file for validation. `n`: the number of shapes images
    (default 4000), or a cap on the examples taken (from each file for MNIST). With
    standardize, x <- (x - mean_c) / std_c using the train split's per-channel statistics,
    applied to all three parts, so inputs are zero-centred as the initialization theory assumes.
    """
    if not isinstance(name, str):
        raise errors.unknown_name("dataset", name, DATASETS)
    seed = positive_int(seed, "seed", minimum=0)
    if n is not None:
        n = positive_int(n, "n")
    seeds = np.random.SeedSequence(seed).spawn(2)
    kind, class_names, parts = _load_parts(name, n, seeds)
    x_train = as_images(parts[0][0], f"{kind} train images")
    channels = x_train.shape[1]
    parts, mean, std = _standardize(parts, channels, standardize)
    return Dataset(
        name=name if kind == "mnist" else kind,
        train=parts[0], val=parts[1], test=parts[2],
        class_names=tuple(class_names),
        in_channels=int(channels),
        image_size=(int(x_train.shape[2]), int(x_train.shape[3])),
        num_classes=len(class_names),
        mean=mean, std=std,
    )
