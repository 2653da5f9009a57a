"""Datasets and batching: synthetic shapes, scikit-learn digits, MNIST-format IDX files.

Floor 3: NumPy, the standard library, scikit-learn (only `load_digits`, imported lazily) and
initlab's floor-0 modules. Every image array is NCHW float32; every label array is int64.
initlab never downloads anything at run time: MNIST is read from a folder the user points to.

One module a job: `synthetic` (the shapes), `idx` (reading IDX files), `mnist` (a folder of
them), `splitting` (mini-batches, train/val/test splits), `named` (datasets by name, split and
standardized).
"""
from .idx import MAX_EXAMPLES, read_idx
from .mnist import MAX_CLASSES, mnist
from .named import DATASETS, Dataset, check_name, digits, load
from .splitting import Split, batches, split
from .synthetic import SHAPE_CLASSES, shapes

__all__ = [
    "SHAPE_CLASSES", "DATASETS", "Split", "Dataset",
    "shapes", "digits", "read_idx", "mnist", "batches", "split", "load", "check_name",
    "MAX_EXAMPLES", "MAX_CLASSES",
]
