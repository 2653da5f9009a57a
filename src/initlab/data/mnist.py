"""MNIST (and Fashion-MNIST, EMNIST) from a local folder of IDX files; nothing is downloaded.

The four files' headers are checked against each other before any body is read; with a cap
`n`, only the chosen examples are kept while each file is read block by block.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..rng import as_generator
from .idx import IdxFile, as_path
from .splitting import choose

MAX_CLASSES = 10_000          # labels 0..9,999: one output unit (and one class name) per class

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


def _open_pair(images_path: Path, labels_path: Path, stack) -> tuple[IdxFile, IdxFile]:
    """The headers of an images file and its labels file, checked against each other before
    either body is read."""
    images = stack.enter_context(contextlib.closing(IdxFile(images_path)))
    labels = stack.enter_context(contextlib.closing(IdxFile(labels_path)))
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


def _read_pair(images: IdxFile, labels: IdxFile, keep):
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


def read_mnist(folder, n=None, rng=None):
    """(train, test, number of classes) of an MNIST folder; with n, n examples of each file
    drawn at random (as `choose` draws them), read without holding the others in memory."""
    paths = _find_mnist_files(as_path(folder, "MNIST folder"))
    gen = as_generator(rng)
    with contextlib.ExitStack() as stack:
        train_files = _open_pair(paths["train_images"], paths["train_labels"], stack)
        test_files = _open_pair(paths["test_images"], paths["test_labels"], stack)
        keeps = [choose(files[0].dims[0], n, gen) for files in (train_files, test_files)]
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
    train, test, _ = read_mnist(folder)
    return train, test


def _size(images) -> str:
    return "x".join(str(d) for d in images.shape[2:])
