"""The one training loop every study uses: optimizer steps over shuffled mini-batches (floor 6).

A study asks for a number of steps, not epochs: the loop makes passes over the training set
(one permutation drawn from `rng` per pass, as `data.batches` does) until the steps are done.
What a study measures along the way it measures in its callbacks:

* `on_snapshot(step)`: at step 0 (before any update), every `every` steps, and after the last
  step taken (also after an early stop);
* `on_step(step, losses) -> bool`: after every update (step counts from 1; `losses` holds the
  losses so far, this step's last); a true return stops.

A non-finite loss is a result in some studies and a failure in others (`nonfinite`):
"continue" records it and trains on, "stop" records it and stops before the update, "raise"
raises DivergenceError.
"""
from __future__ import annotations

import math

import numpy as np

from .. import data as D
from ..errors import DivergenceError, InvalidValueError
from ..losses import SoftmaxCrossEntropy
from ..validate import positive_int

NONFINITE = ("continue", "stop", "raise")


def batches_per_pass(n_examples, batch_size, *, drop_last=False, where="training") -> int:
    """Mini-batches in one pass over n examples: ceil(n / b), or floor(n / b) with drop_last.

    Zero batches would make a step-based loop spin for ever, so that is an InvalidValueError
    naming the option to change (n_train for an empty set, batch_size otherwise)."""
    batch_size = positive_int(batch_size, f"{where}: batch_size")
    count = n_examples // batch_size if drop_last else -(-n_examples // batch_size)
    if count == 0:
        if n_examples == 0:
            raise InvalidValueError(f"{where}: n_train: expected at least one training example, got none")
        raise InvalidValueError(
            f"{where}: batch_size: expected at most the {n_examples} training examples (only full batches "
            f"are used), got {batch_size}")
    return count


def accuracy(model, x, y) -> float:
    """The fraction of examples whose largest logit is the true class (eval mode)."""
    if len(y) == 0:
        raise InvalidValueError("accuracy: the evaluation set is empty; use more examples")
    with np.errstate(all="ignore"):      # a diverged model's NaN logits score 0, not a warning
        return float((model.predict(x).argmax(axis=1) == y).mean())


def train_steps(model, train, optimizer, *, steps, batch_size, rng, drop_last=False, every=1,
                on_snapshot=None, on_step=None, nonfinite="continue", where="training") -> np.ndarray:
    """Up to `steps` steps of softmax cross-entropy on train = (x, y) -> the per-step batch
    losses (float64, length = the steps taken; a non-finite loss is kept as it is)."""
    steps = positive_int(steps, f"{where}: steps")
    every = positive_int(every, f"{where}: every")
    if nonfinite not in NONFINITE:
        raise InvalidValueError(f"{where}: nonfinite: expected one of {', '.join(NONFINITE)}, got {nonfinite!r}")
    batches_per_pass(len(train[0]), batch_size, drop_last=drop_last, where=where)
    loss_fn = SoftmaxCrossEntropy()
    losses = np.empty(steps)
    step = 0
    if on_snapshot:
        on_snapshot(0)
    while step < steps:
        for xb, yb in D.batches(*train, batch_size, rng=rng, drop_last=drop_last):
            with np.errstate(all="ignore"):   # a failing init's overflow is a result, not a crash
                loss = losses[step] = loss_fn.forward(model.forward(xb), yb)
                finite = math.isfinite(loss)
                if nonfinite == "raise" and not finite:
                    raise DivergenceError(f"{where}: the loss became {loss} at step {step + 1}; "
                                          "try a smaller learning rate")
                stop = nonfinite == "stop" and not finite
                if not stop:
                    model.backward(loss_fn.backward())
                    optimizer.step()
            step += 1
            stop = stop or bool(on_step and on_step(step, losses[:step]))
            last = stop or step == steps
            if on_snapshot and (step % every == 0 or last):
                on_snapshot(step)
            if last:
                return losses[:step]
    return losses
