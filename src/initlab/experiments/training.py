"""The studies' training loop, now `initlab.train.train_steps` (floor 6 re-export).

The studies import `train_steps`, `batches_per_pass` and `accuracy` from here; they live in
`initlab.train`, the one training loop that the command line, the studies and the estimator
share (see docs/architecture.md).
"""
from ..train import NONFINITE, accuracy, batches_per_pass, train_steps  # noqa: F401

__all__ = ["NONFINITE", "accuracy", "batches_per_pass", "train_steps"]
