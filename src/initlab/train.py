"""The training loop: one step (`train_step`), and the two loops built on it: `fit` (epochs,
callbacks, validation, resuming; the command line's) and `train_steps` (a number of steps; the
studies' and the estimator's). Also `evaluate`, `accuracy`, gradient norms and clipping.

Floor 4. One step reads

    logits = model.forward(xb); loss = loss_fn.forward(logits, yb)
    model.backward(loss_fn.backward()); [clip]; optimizer.step()

All randomness comes from `rng` (the data order) and from the layers' own generators (dropout
masks), so the same seed gives the same bits. The library prints nothing: progress bars and
tables are callbacks of the CLI.

Resuming: `TrainState.resume_info()` (in `run_state`, with `History`) captures, after any
step, everything needed to continue bit-identically; the model and optimizer are saved by
`initlab.checkpoint`. `fit(..., resume=info)` continues from it.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import data as D
from .constraints import Integer, Optional, Real, Rule, Satisfies, check, fail
from .errors import DivergenceError, InvalidValueError
from .fit_checks import check_callbacks, check_history, checked_data
from .losses import SoftmaxCrossEntropy
from .rng import as_generator
from .run_state import (History, TrainState, check_resume_info, layer_rng_states,  # noqa: F401
                        restore, set_layer_rng_states)
from .validate import positive_int, real_number

__all__ = ["History", "TrainState", "fit", "train_step", "train_steps", "evaluate", "accuracy",
           "batches_per_pass", "grad_norm", "clip_gradients", "layer_rng_states",
           "set_layer_rng_states", "check_resume_info"]


# --------------------------------------------------------------------------- gradients

def _trainable_grads(model):
    return [layer.grads[name] for _, layer, name in model.named_parameters(trainable_only=True)
            if name in layer.grads]


def grad_norm(model) -> float:
    """The global L2 norm sqrt(sum_p ||grad_p||^2) over the trainable parameters (inf/nan if a
    gradient is not finite). One dot product per parameter: cheap enough for every step."""
    grads = _trainable_grads(model)
    total = sum(float(np.vdot(g, g)) for g in grads)
    if not math.isfinite(total) and all(np.isfinite(g).all() for g in grads):
        # float32 squares overflowed although every gradient is finite: redo in float64
        total = sum(float(np.vdot(g.astype(np.float64), g.astype(np.float64))) for g in grads)
    return math.sqrt(total)


def clip_gradients(model, max_norm: float, norm: float | None = None) -> float:
    """Scale every trainable gradient by max_norm / (norm + 1e-6) when norm > max_norm, as
    torch.nn.utils.clip_grad_norm_. Returns the norm before clipping.

    max_norm must be a finite number > 0 (a negative one would flip every gradient's sign, 0
    would zero them); `norm`, when given, is the finite global norm already computed."""
    max_norm = real_number(max_norm, "clip_gradients max_norm", low=0, low_open=True)
    if norm is not None:
        norm = real_number(norm, "clip_gradients norm", low=0)
    return _clip(model, max_norm, norm)


def _clip(model, max_norm: float, norm: float | None) -> float:
    """clip_gradients without the argument checks (fit checked clip_grad_norm once)."""
    norm = grad_norm(model) if norm is None else norm
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in _trainable_grads(model):
            g *= g.dtype.type(scale)
    return norm


# --------------------------------------------------------------------------- evaluation

def _correct(logits, y) -> int | None:
    """Number of argmax hits for integer labels; None when targets are not class labels."""
    if logits.ndim != 2 or y.ndim != 1 or y.dtype.kind not in "iu":
        return None
    return int(np.count_nonzero(logits.argmax(axis=1) == y))


def _evaluate(model, loss_fn, x, y, batch_size):
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        logits = model.infer(xb)
        loss_sum += loss_fn.forward(logits, yb) * len(xb)
        hits = _correct(logits, yb)
        correct = None if hits is None or correct is None else correct + hits
    return loss_sum / len(x), (math.nan if correct is None else correct / len(x))


def evaluate(model, loss_fn, x, y, batch_size=512):
    """(mean loss, accuracy) of the model in eval mode over (x, y), in batches.

    Accuracy is the fraction of argmax hits (nan when the targets are not class labels).
    """
    batch_size = positive_int(batch_size, "batch_size")
    x, y = checked_data(model, loss_fn, (x, y), "evaluate")
    return _evaluate(model, loss_fn, x, y, batch_size)


# --------------------------------------------------------------------------- the loop

def _diverged(model, xb, state, loss, norm):
    """The DivergenceError for a non-finite loss (first bad layer output) or gradient."""
    where = f"at step {state.step + 1} (epoch {state.epoch + 1}, batch {state.batch + 1})"
    if not math.isfinite(loss):
        layer = model.first_nonfinite_forward(xb)
        if layer is None:
            what = "the loss (every layer output was finite in an eval-mode pass)"
        elif layer == "input":
            what = "the input batch"
        else:
            what = f"the output of {layer}"
        return DivergenceError(f"training diverged {where}: loss is {loss}; first non-finite value in {what}")
    param = model.first_nonfinite_gradient()
    return DivergenceError(
        f"training diverged {where}: gradient norm is {norm}; first non-finite gradient in "
        f"{param or 'an unknown parameter'} (loss was {loss:.6g})"
    )


def _call(callbacks, hook, state):
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(state)


def train_step(model, loss_fn, optimizer, xb, yb, *, clip=None, guard=None):
    """One step of gradient descent on the batch (xb, yb) -> (logits, loss, grad_norm):

        logits = model.forward(xb); loss = loss_fn.forward(logits, yb)
        model.backward(loss_fn.backward()); [clip to `clip`]; optimizer.step()

    grad_norm is the global gradient norm before clipping, computed when `clip` or `guard` is
    given (else nan). `guard(xb, loss, norm)` decides what a non-finite number does: it is
    called with a non-finite loss (norm nan, before backward) and with a non-finite gradient
    norm (before the update), and raises to stop training, returns False to skip this step's
    update, or True to make it anyway. Without a guard the step goes on whatever the numbers.
    """
    norm = math.nan
    # overflow on the way to a non-finite loss or gradient is the guard's to report: NumPy's
    # RuntimeWarnings about it would only be noise printed before that message
    with np.errstate(all="ignore"):
        logits = model.forward(xb, training=True)
        loss = loss_fn.forward(logits, yb)
        if guard is not None and not math.isfinite(loss) and not guard(xb, loss, norm):
            return logits, loss, norm
        model.backward(loss_fn.backward())
        if clip is not None or guard is not None:
            norm = grad_norm(model)
            if guard is not None and not math.isfinite(norm) and not guard(xb, loss, norm):
                return logits, loss, norm
        if clip is not None:
            _clip(model, clip, norm)
        optimizer.step()
    return logits, loss, norm


def _epoch_batches(x, y, batch_size, rng, skip):
    """The epoch's mini-batches from batch `skip` on: one permutation of the examples drawn from
    rng (the draw of `data.batches`, so a resumed epoch sees the same batches), sliced from
    skip * batch_size, so the batches already done are neither gathered nor copied."""
    order = rng.permutation(len(x))
    starts = range(skip * batch_size, len(x), batch_size)
    return ((x[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in starts)


def _run_epoch(model, loss_fn, optimizer, x, y, rng, state, callbacks, clip, skip):
    """Train over one epoch's batches (after `skip` done ones); False if a callback stopped it."""
    def guard(xb, loss, norm):
        raise _diverged(model, xb, state, loss, norm)

    for xb, yb in _epoch_batches(x, y, state.batch_size, rng, skip):
        logits, loss, norm = train_step(model, loss_fn, optimizer, xb, yb, clip=clip, guard=guard)
        hits = _correct(logits, yb)
        state.epoch_sums[0] += loss * len(xb)
        state.epoch_sums[1] += 0 if hits is None else hits
        state.epoch_sums[2] += len(xb)
        state.batch += 1
        state.step += 1
        state.examples += len(xb)
        state.loss, state.grad_norm = loss, norm
        state.history.batch_loss.append(loss)
        state.history.step = state.step
        _call(callbacks, "on_batch_end", state)
        if state.stop:
            return False
    return True


def _close_epoch(model, loss_fn, val, state, eval_every_epoch, labels, seconds):
    h = state.history
    loss_sum, correct, seen = state.epoch_sums
    h.epoch.append(state.epoch + 1)
    h.train_loss.append(loss_sum / seen)
    h.train_acc.append(correct / seen if labels else math.nan)
    if val is not None and eval_every_epoch:
        val_loss, val_acc = _evaluate(model, loss_fn, *val, 512)
        h.val_loss.append(val_loss)
        h.val_acc.append(val_acc)
    h.epoch_seconds.append(seconds)


FIT_OPTIONS = {"epochs": Integer(1), "batch_size": Integer(1), "start_epoch": Integer(0),
               "clip_grad_norm": Optional(Real(0, low_open=True))}
FIT_RULES = (Rule("start_epoch", lambda o: None if o["start_epoch"] <= o["epochs"] else
                  f"expected at most epochs={o['epochs']}, got {o['start_epoch']}"),)


def fit(model, loss_fn, optimizer, train, val=None, *, epochs, batch_size=64, rng=None,
        callbacks=(), clip_grad_norm=None, history=None, start_epoch=0, eval_every_epoch=True,
        resume=None) -> History:
    """Train `model` on train = (x, y) until epoch index `epochs` (so `epochs` is the total, as
    Keras' `epochs` with `initial_epoch`: a run resumed at epoch 3 of 10 trains 7 more).
    x is any batch the model takes: images (N, C, H, W), or (N, features) for a Dense-only model.

    Each epoch draws one permutation of the training set from `rng`. Callbacks are objects with
    any of `on_train_begin/on_batch_end/on_epoch_end/on_train_end(state: TrainState)`;
    on_train_end runs only when training ends normally or is stopped (not on an error).
    `clip_grad_norm`: rescale the gradients to this global L2 norm when above it.
    `callbacks=None` is no callbacks. `history` (a History, e.g. the one an earlier fit returned)
    and `start_epoch`: continue a run at an epoch boundary; `resume`: continue anywhere
    from `TrainState.resume_info()` (then rng must be a Generator of the same kind as the saved one;
    its state is overwritten).
    A non-finite loss or gradient raises DivergenceError naming the step, the epoch, and the
    first layer (forward order) whose output or gradient was non-finite; nothing is updated then.
    """
    epochs, batch_size, start_epoch, clip = check("", FIT_OPTIONS, dict(
        epochs=epochs, batch_size=batch_size, start_epoch=start_epoch, clip_grad_norm=clip_grad_norm),
        FIT_RULES).values()
    x, y = checked_data(model, loss_fn, train, "train")
    if val is not None:
        val = checked_data(model, loss_fn, val, "val")
    labels = isinstance(loss_fn, SoftmaxCrossEntropy)
    rng = as_generator(rng)
    history = check_history(history)
    callbacks = check_callbacks(callbacks)
    state = TrainState(model, optimizer, history if history is not None else History(), epochs,
                       math.ceil(len(x) / batch_size), batch_size, epoch=start_epoch,
                       step=history.step if history is not None else 0)
    if resume is not None:
        restore(state, resume, model, rng)
    _call(callbacks, "on_train_begin", state)
    begin = time.perf_counter()
    while state.epoch < epochs and not state.stop:
        epoch_begin = time.perf_counter()
        if state.batch == 0:
            state.epoch_rng_state = rng.bit_generator.state
            state.epoch_sums = [0.0, 0, 0]
        finished = _run_epoch(model, loss_fn, optimizer, x, y, rng, state, callbacks, clip, state.batch)
        if not finished:
            break
        _close_epoch(model, loss_fn, val, state, eval_every_epoch, labels, time.perf_counter() - epoch_begin)
        state.epoch, state.batch, state.epoch_sums = state.epoch + 1, 0, [0.0, 0, 0]
        state.epoch_rng_state = rng.bit_generator.state   # where the next epoch's order starts
        _call(callbacks, "on_epoch_end", state)
    state.history.seconds += time.perf_counter() - begin
    _call(callbacks, "on_train_end", state)
    return state.history


# --------------------------------------------------------------------------- step-based training

NONFINITE = ("continue", "stop", "raise")
STEPS_OPTIONS = {"steps": Integer(1), "every": Integer(1),
                 "nonfinite": Satisfies(lambda v: callable(v) or v in NONFINITE, f"one of {', '.join(NONFINITE)}")}


def batches_per_pass(n_examples, batch_size, *, drop_last=False, where="training") -> int:
    """Mini-batches in one pass over n examples: ceil(n / b), or floor(n / b) with drop_last.

    Zero batches would make a step-based loop spin for ever, so that is an InvalidValueError
    naming the option to change (n_train for an empty set, batch_size otherwise)."""
    batch_size = check(f"{where}:", {"batch_size": Integer(1)}, {"batch_size": batch_size})["batch_size"]
    count = n_examples // batch_size if drop_last else -(-n_examples // batch_size)
    if count == 0 and n_examples == 0:
        raise fail(f"{where}:", "n_train", "expected at least one training example, got none")
    if count == 0:
        raise fail(f"{where}:", "batch_size", f"expected at most the {n_examples} training examples (only full "
                   f"batches are used), got {batch_size}")
    return count


def accuracy(model, x, y) -> float:
    """The fraction of examples whose largest logit is the true class (eval mode)."""
    if len(y) == 0:
        raise InvalidValueError("accuracy: the evaluation set is empty; use more examples")
    with np.errstate(all="ignore"):      # a diverged model's NaN logits score 0, not a warning
        return float((model.predict(x).argmax(axis=1) == y).mean())


def _nonfinite_guard(nonfinite, where, step):
    """`train_step`'s guard for a `train_steps` policy; `step()` is the number of steps done."""
    if callable(nonfinite):
        return nonfinite

    def guard(xb, loss, norm):
        if math.isfinite(loss):             # a non-finite gradient: the policies only read the loss
            return True
        if nonfinite == "raise":
            raise DivergenceError(f"{where}: the loss became {loss} at step {step() + 1}; "
                                  "try a smaller learning rate")
        return nonfinite == "continue"

    return guard


def train_steps(model, train, optimizer, *, steps, batch_size, rng, drop_last=False, every=1,
                on_snapshot=None, on_step=None, nonfinite="continue", where="training",
                clip=None, loss_fn=None) -> np.ndarray:
    """Up to `steps` steps (`train_step`) of softmax cross-entropy on train = (x, y) -> the
    per-step batch losses (float64, length = the steps taken; a non-finite loss is kept as it is).

    The steps make passes over the training set, one permutation drawn from `rng` per pass (as
    `data.batches` does), until the steps are done. Callbacks: `on_snapshot(step)` at step 0
    (before any update), every `every` steps, and after the last step taken (also after an early
    stop); `on_step(step, losses) -> bool` after every update (step counts from 1; `losses` holds
    the losses so far), a true return stops. A non-finite loss (`nonfinite`): "continue" records
    it and trains on, "stop" records it and stops before the update, "raise" raises
    DivergenceError; or a guard callable, as `train_step` takes. `clip`: the gradients' global
    norm limit; `loss_fn`: SoftmaxCrossEntropy() unless given.
    """
    steps, every, nonfinite = check(f"{where}:", STEPS_OPTIONS, dict(steps=steps, every=every,
                                                                     nonfinite=nonfinite)).values()
    batches_per_pass(len(train[0]), batch_size, drop_last=drop_last, where=where)
    loss_fn = SoftmaxCrossEntropy() if loss_fn is None else loss_fn
    losses = np.empty(steps)
    step = 0
    guard = None if nonfinite == "continue" else _nonfinite_guard(nonfinite, where, lambda: step)
    if on_snapshot:
        on_snapshot(0)
    while step < steps:
        for xb, yb in D.batches(*train, batch_size, rng=rng, drop_last=drop_last):
            _, loss, _ = train_step(model, loss_fn, optimizer, xb, yb, clip=clip, guard=guard)
            losses[step] = loss
            step += 1
            stop = nonfinite == "stop" and not math.isfinite(loss)
            stop = stop or bool(on_step and on_step(step, losses[:step]))
            last = stop or step == steps
            if on_snapshot and (step % every == 0 or last):
                on_snapshot(step)
            if last:
                return losses[:step]
    return losses
