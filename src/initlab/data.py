"""Datasets and batching: synthetic shapes, scikit-learn digits, MNIST-format IDX files.

Floor 3: NumPy, the standard library, scikit-learn (only `load_digits`, imported lazily) and
initlab's floor-0 modules. Every image array is NCHW float32; every label array is int64.
initlab never downloads anything at run time: MNIST is read from a folder the user points to.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import bounded, errors
from .errors import DataError, InvalidValueError
from .rng import as_generator
from .validate import as_images, positive_int, real_number

__all__ = [
    "SHAPE_CLASSES", "DATASETS", "Split", "Dataset",
    "shapes", "digits", "read_idx", "mnist", "batches", "split", "load",
]

SHAPE_CLASSES = ("x", "o", "plus", "square", "hline", "vline", "diag", "antidiag")
DATASETS = ("shapes", "digits", "mnist:PATH")

# ---------------------------------------------------------------------------------------------
# Synthetic shapes
# ---------------------------------------------------------------------------------------------

# Each stroke shape is a list of segments ((x0, y0), (x1, y1)) in units of the shape's half
# extent r, centred on the origin; y grows downwards as in an image, so "diag" is "\".
_C = 0.8  # corners sit a little inside r so that x/square/diag are not larger than plus/lines
_SEGMENTS = {
    "x": [((-_C, -_C), (_C, _C)), ((-_C, _C), (_C, -_C))],
    "plus": [((-1, 0), (1, 0)), ((0, -1), (0, 1))],
    "square": [((-_C, -_C), (_C, -_C)), ((_C, -_C), (_C, _C)),
               ((_C, _C), (-_C, _C)), ((-_C, _C), (-_C, -_C))],
    "hline": [((-1, 0), (1, 0))],
    "vline": [((0, -1), (0, 1))],
    "diag": [((-_C, -_C), (_C, _C))],
    "antidiag": [((-_C, _C), (_C, -_C))],
}
_RING_RADIUS = 0.85  # "o": a ring of radius 0.85 r


def _segment_distance(px, py, seg, cx, cy, r):
    """Distance from every pixel to one segment, for m images at once -> (m, H*W).

    d = |P - A - t (B - A)| with t = clip(<P - A, B - A> / |B - A|^2, 0, 1).
    """
    (x0, y0), (x1, y1) = seg
    ax, ay = cx + x0 * r, cy + y0 * r                    # (m, 1)
    bx, by = cx + x1 * r, cy + y1 * r
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - ax - t * dx, py - ay - t * dy)


def _shape_distance(name, px, py, cx, cy, r):
    """Distance from every pixel to the shape `name` (m images) -> (m, H*W)."""
    if name == "o":
        return np.abs(np.hypot(px - cx, py - cy) - _RING_RADIUS * r)
    dist = [_segment_distance(px, py, seg, cx, cy, r) for seg in _SEGMENTS[name]]
    return np.minimum.reduce(dist)


def _check_classes(classes) -> tuple[str, ...]:
    if isinstance(classes, str):
        classes = (classes,)
    try:
        classes = tuple(classes)
    except TypeError:               # None, a number: not a name nor a collection of names
        raise InvalidValueError(f"classes: expected a shape class name or a list of them "
                                f"(from {', '.join(SHAPE_CLASSES)}), got {classes!r}") from None
    if not classes:
        raise InvalidValueError("classes: expected at least one shape class, got none")
    for name in classes:
        if name not in SHAPE_CLASSES:
            raise errors.unknown_name("shape class", name, SHAPE_CLASSES)
    if len(set(classes)) != len(classes):
        raise InvalidValueError(f"classes: each shape class may appear once, got {classes}")
    return classes


def _balanced_labels(n: int, k: int) -> np.ndarray:
    """n labels over k classes: n // k each, the remainder given to the first n % k classes."""
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    return np.repeat(np.arange(k, dtype=np.int64), counts)


def shapes(n, size=16, classes=SHAPE_CLASSES, noise=0.1, rng=None):
    """Synthetic images of stroke shapes -> (x float32 (n, 1, size, size), y int64 (n,)).

    Each image draws one shape (y indexes `classes`) at a random centre, with a random half
    extent r ~ U(0.45, 0.9) * (size - 1) / 2 and stroke width w ~ U(1, 2) * max(1, size / 16)
    pixels, anti-aliased: pixel = clip(w / 2 + 1/2 - distance_to_shape, 0, 1), then
    N(0, noise^2) is added. Classes are balanced (n // k each, the remainder spread over the
    first classes) and shuffled. "o" is a ring, "square" an outline, "x" two crossing
    diagonals, "plus" crossing horizontal/vertical lines, "diag" is "\\", "antidiag" is "/".
    """
    n = positive_int(n, "n")
    size = positive_int(size, "size", minimum=8)
    noise = real_number(noise, "noise", low=0.0)
    classes = _check_classes(classes)
    gen = as_generator(rng)

    y = gen.permutation(_balanced_labels(n, len(classes)))
    half = (size - 1) / 2
    r = gen.uniform(0.45, 0.9, n) * half
    cx = gen.uniform(0.0, 1.0, n) * (size - 1 - 2 * r) + r   # keeps the shape inside
    cy = gen.uniform(0.0, 1.0, n) * (size - 1 - 2 * r) + r
    width = gen.uniform(1.0, 2.0, n) * max(1.0, size / 16)

    rows, cols = np.mgrid[0:size, 0:size]
    px, py = cols.reshape(1, -1).astype(np.float64), rows.reshape(1, -1).astype(np.float64)
    dist = np.empty((n, size * size))
    for k, name in enumerate(classes):
        idx = np.flatnonzero(y == k)
        dist[idx] = _shape_distance(name, px, py, cx[idx, None], cy[idx, None], r[idx, None])
    img = np.clip(width[:, None] / 2 + 0.5 - dist, 0.0, 1.0).astype(np.float32)
    if noise > 0:
        img += np.float32(noise) * gen.standard_normal(img.shape, dtype=np.float32)
    return img.reshape(n, 1, size, size), y


# ---------------------------------------------------------------------------------------------
# scikit-learn digits
# ---------------------------------------------------------------------------------------------

def digits():
    """The 1797 scikit-learn digits (bundled, no download) -> (x (1797, 1, 8, 8) in [0, 1], y).

    Pixels are 0..16 in the source, so x = pixels / 16 as float32; y is int64 in 0..9.
    """
    from sklearn.datasets import load_digits  # lazy: keeps `import initlab.data` fast

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# IDX files (the MNIST format)
# ---------------------------------------------------------------------------------------------

# IDX type byte -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


MAX_EXAMPLES = 10_000_000     # per IDX file: 14x EMNIST's largest; a larger count is a hostile header
MAX_CLASSES = 10_000          # labels 0..9,999: one output unit (and one class name) per class


class _IdxFile:
    """An open IDX file (raw or gzipped) whose header is read and checked: `dims`, `dtype`.

    Nothing past the header is read until `read`, which reads exactly the bytes the dims
    declare (a raw file's size is checked first; a gzip stream is decompressed to one byte past
    the declared size, never to its end): a 1 MB gzip that expands to gigabytes costs what its
    header declares, and a header declaring too much is refused before reading."""

    def __init__(self, path: Path):
        self.path, self.where = path, f"IDX file {str(path)!r}"
        if path.is_dir():
            raise DataError(f"{self.where} cannot be read: [Errno 21] Is a directory")
        handle, size = bounded.open_regular(path, self.where, DataError)
        self._handle = handle
        try:
            self._gzip = handle.read(2) == _GZIP_MAGIC
            handle.seek(0)
            self._stream = bounded.GzipReader(handle, self.where, DataError) if self._gzip else handle
            self._read_header(size)
        except BaseException:
            handle.close()
            raise

    def _read_header(self, size: int):
        where, magic = self.where, self._stream.read(4)
        if len(magic) < 4:
            raise DataError(f"{where}: expected a 4-byte magic number, found only {len(magic)} byte(s)")
        zero0, zero1, code, ndim = magic
        if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
            codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            raise DataError(f"{where}: bad magic number {magic.hex()} (expected 00 00 <type> <ndim> with "
                            f"type one of {codes}); is this an IDX/MNIST file?")
        if ndim == 0:
            raise DataError(f"{where}: the magic number declares 0 dimensions; expected at least 1")
        dims = self._stream.read(4 * ndim)
        if len(dims) < 4 * ndim:
            raise DataError(f"{where}: the magic number declares {ndim} dimension(s), which needs a "
                            f"{4 + 4 * ndim}-byte header, but the file has only {4 + len(dims)} byte(s)")
        self.dims = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
        self.dtype = _IDX_DTYPES[code]
        self.record = math.prod(self.dims[1:]) * self.dtype.itemsize     # bytes per example
        self.nbytes = self.dims[0] * self.record
        if self.dims[0] > MAX_EXAMPLES:
            raise DataError(f"{where}: its header declares {self.dims[0]:,} examples, more than initlab reads "
                            f"from one file ({MAX_EXAMPLES:,}); is this an IDX/MNIST file?")
        if not self._gzip:
            self._check_size(size - 4 - 4 * ndim)

    def _check_size(self, found: int, more: bool = False):
        if found != self.nbytes or more:
            state = "truncated" if found < self.nbytes else "longer than its header says"
            count = f"more than {found}" if more else f"{found}"
            raise DataError(f"{self.where} is {state}: dims {self.dims} of {self.dtype.name} need "
                            f"{self.nbytes} data bytes, found {count}")

    def read(self, keep=None, visit=None) -> np.ndarray:
        """The array (native byte order, writable), or only its examples `keep` (sorted indices
        along the first axis); `visit(block)` sees every example on the way, `keep` or not.
        Read in blocks of ~4 MiB, so that memory is the result plus one block."""
        with self._handle:
            per_block = max(1, (4 << 20) // max(self.record, 1))
            count = self.dims[0]
            out = np.empty((count if keep is None else len(keep), *self.dims[1:]), self.dtype.newbyteorder("="))
            kept = 0
            for start in range(0, count, per_block):
                rows = min(per_block, count - start)
                chunk = self._stream.read(rows * self.record)
                if len(chunk) != rows * self.record:
                    self._check_size(start * self.record + len(chunk))
                block = np.frombuffer(chunk, dtype=self.dtype).reshape(rows, *self.dims[1:])
                if visit is not None:
                    visit(block)
                if keep is None:
                    out[start:start + rows] = block
                else:
                    chosen = keep[(keep >= start) & (keep < start + rows)] - start
                    out[kept:kept + len(chosen)] = block[chosen]
                    kept += len(chosen)
            if self._gzip and not self._stream.at_end():
                self._check_size(self.nbytes, more=True)
            if not self._gzip and self._stream.read(1):
                raise DataError(f"{self.where} changed while it was read")
        return out

    def close(self):
        self._handle.close()


def _as_path(value, name: str) -> Path:
    """A str or os.PathLike as a Path; anything else is an InvalidValueError naming `name`."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidValueError(f"{name}: expected a path (str or pathlib.Path), got {value!r}")
    return Path(value)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzipped) -> an array of its dims, in native byte order.

    Layout: magic (0, 0, type code, ndim), ndim big-endian uint32 dims, then prod(dims)
    big-endian items of the type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64). Only regular files are read, never past what the dims declare.
    """
    return _IdxFile(_as_path(path, "read_idx path")).read()


_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MNIST_SOURCE = (
    "initlab never downloads at run time: get the four IDX files "
    f"({', '.join(_MNIST_FILES.values())}, raw or .gz) from the MNIST page "
    "(http://yann.lecun.com/exdb/mnist/) or any MNIST mirror, and put them in one folder "
    "(Fashion-MNIST files, which have the same names and format, work too)"
)


def _find_mnist_files(folder: Path) -> dict[str, Path]:
    """The path of each MNIST file in `folder` (the raw name, else name + .gz)."""
    if not folder.is_dir():
        raise DataError(f"MNIST folder {str(folder)!r} does not exist or is not a folder; {_MNIST_SOURCE}")
    found, missing = {}, []
    for key, name in _MNIST_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            missing.append(name)
        found[key] = path
    if missing:
        raise DataError(
            f"MNIST folder {str(folder)!r} lacks {', '.join(missing)} (or the .gz); {_MNIST_SOURCE}"
        )
    return found


def _open_pair(images_path: Path, labels_path: Path, stack) -> tuple[_IdxFile, _IdxFile]:
    """The headers of an images file and its labels file, checked against each other before
    either body is read."""
    images = stack.enter_context(contextlib.closing(_IdxFile(images_path)))
    labels = stack.enter_context(contextlib.closing(_IdxFile(labels_path)))
    if len(images.dims) != 3:
        raise DataError(f"{str(images_path)!r}: expected 3-D images (n, rows, cols), got dims {images.dims}")
    if len(labels.dims) != 1:
        raise DataError(f"{str(labels_path)!r}: expected 1-D labels (n,), got dims {labels.dims}")
    if images.dims[0] != labels.dims[0]:
        raise DataError(f"{str(images_path)!r} holds {images.dims[0]} images but {str(labels_path)!r} "
                        f"holds {labels.dims[0]} labels")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{str(labels_path)!r}: expected non-negative integer labels")
    return images, labels


class _Classes:
    """The distinct labels of a labels file, gathered block by block as it is read; a label
    below 0 or from MAX_CLASSES up is refused at once (labels {0, 10**7} would make ten
    million output units, and as many class names)."""

    def __init__(self, path: Path):
        self.path, self.present = path, np.empty(0, np.int64)

    def __call__(self, block):
        found = np.unique(block)
        if found.size and found[0] < 0:
            raise DataError(f"{str(self.path)!r}: expected non-negative integer labels")
        if found.size and found[-1] >= MAX_CLASSES:
            raise DataError(f"{str(self.path)!r}: label {int(found[-1]):,} is beyond initlab's {MAX_CLASSES:,} "
                            f"classes (labels 0 to {MAX_CLASSES - 1:,}: the net has one output unit per class)")
        self.present = np.union1d(self.present, found.astype(np.int64))


def _choose(count: int, n, gen):
    """The sorted indices of n examples drawn at random from `count`; None (all) if n is None
    or n >= count."""
    if n is None or n >= count:
        return None
    return np.sort(gen.choice(count, size=n, replace=False))


def _read_pair(images: _IdxFile, labels: _IdxFile, keep):
    """((x, y), classes present) for the examples `keep` (None: all) of an opened pair."""
    classes = _Classes(labels.path)
    y = labels.read(keep, visit=classes).astype(np.int64)
    x = (images.read(keep).astype(np.float32) / np.float32(255.0))[:, None]
    return (x, y), classes.present


def _list_labels(values: np.ndarray, limit: int = 12) -> str:
    """Sorted distinct labels as "0, 1, 5", shortened to "0, 1, ..., 9998, 9999 (N distinct)"."""
    if values.size <= limit:
        return ", ".join(str(int(v)) for v in values)
    head = ", ".join(str(int(v)) for v in values[:limit // 2])
    tail = ", ".join(str(int(v)) for v in values[-2:])
    return f"{head}, ..., {tail} ({values.size} distinct)"


def _check_mnist_labels(present, train_count: int, test_present, paths):
    """At least two classes among the training labels, and the test labels among them (labels
    all 200 made a "201-class" net that could learn nothing). The net has max + 1 outputs, so
    subsets load too (3 vs 8, EMNIST Letters' 1..26): the units of absent labels never train."""
    where = f"{str(paths['train_labels'])!r}"
    if present.size < 2:
        found = "no labels" if present.size == 0 else f"only label {int(present[0])}"
        raise DataError(f"{where}: expected at least two classes among the training labels (MNIST: the "
                        f"digits 0-9); found {found} in its {train_count} example(s)")
    unseen = np.setdiff1d(test_present, present)
    if unseen.size:
        what = f"label {int(unseen[0])} is not a class" if unseen.size == 1 else \
            f"labels {_list_labels(unseen)} are not classes"
        raise DataError(f"{str(paths['test_labels'])!r}: test {what} of the training labels "
                        f"({_list_labels(present)}) in {where}")


def _mnist(folder, n=None, rng=None):
    """(train, test, number of classes) of an MNIST folder; with n, n examples of each file
    drawn at random (as `_cap` draws them), read without holding the others in memory."""
    paths = _find_mnist_files(_as_path(folder, "MNIST folder"))
    gen = as_generator(rng)
    with contextlib.ExitStack() as stack:
        train_files = _open_pair(paths["train_images"], paths["train_labels"], stack)
        test_files = _open_pair(paths["test_images"], paths["test_labels"], stack)
        keeps = [_choose(files[0].dims[0], n, gen) for files in (train_files, test_files)]
        train, present = _read_pair(*train_files, keeps[0])
        test, test_present = _read_pair(*test_files, keeps[1])
    _check_mnist_labels(present, train_files[1].dims[0], test_present, paths)
    if train[0].shape[1:] != test[0].shape[1:]:
        raise DataError(
            f"MNIST folder {str(folder)!r}: the test images are {_size(test[0])}, the training images "
            f"{_size(train[0])}; a model trained on one size cannot be tested on the other")
    return train, test, int(present.max()) + 1


def mnist(folder):
    """Read MNIST from a local folder -> ((x_train, y_train), (x_test, y_test)).

    The folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
    and t10k-labels-idx1-ubyte, each raw or gzipped (.gz). Images become float32
    (n, 1, rows, cols) = pixels / 255 ((n, 1, 28, 28) for MNIST); labels int64. The labels
    must be classes 0..K-1 (2 <= K <= MAX_CLASSES; 10 for MNIST), each present in the training
    file, and the test labels among them (DataError otherwise).
    """
    train, test, _ = _mnist(folder)
    return train, test


def _size(images) -> str:
    return "x".join(str(d) for d in images.shape[2:])


# ---------------------------------------------------------------------------------------------
# Batching and splitting
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Named datasets, ready to train on
# ---------------------------------------------------------------------------------------------

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
    if n is None or n >= len(x):
        return x, y
    keep = np.sort(gen.choice(len(x), size=n, replace=False))
    return x[keep], y[keep]


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
        train, test, num_classes = _mnist(name.split(":", 1)[1], n, data_rng)
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
