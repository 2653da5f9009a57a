"""`initlab train`'s model, optimizer and output: what the command builds and prints.

The model is built from the options (a data-driven --init computes the first layer's filters
from the training images); the output is the model's table, the data line, one row per epoch
and, on a terminal, a progress bar.
"""
from __future__ import annotations

import time

import numpy as np

from .. import initializers, models, optim
from ..errors import InitlabError, InvalidValueError, ShapeError
from ..train import History
from . import ui
from ._options import named
from . import _schedule
from ._train_options import DEFAULTS

def seeds(seed):
    """Independent streams for the weights and the data order, from one seed."""
    weights, order = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(weights), np.random.default_rng(order)


def build_model(opts, dataset, rng):
    """The model; a data-dependent --init (lsuv, patch_kmeans, patch_pca) then sees the training
    images (initlab.initializers.apply)."""
    data_driven = initializers.is_data_dependent(opts["init"])
    build = dict(in_channels=dataset.in_channels, num_classes=dataset.num_classes, image_size=dataset.image_size,
                 activation=opts["activation"])
    try:
        model = models.build(opts["model"], weight_init=initializers.layer_spec(opts["init"]), rng=rng, **build)
    except InitlabError as exc:
        raise _misfit(opts, build, exc, data_driven) from None
    try:
        return initializers.apply(model, opts["init"], dataset.train[0], rng)
    except InitlabError as exc:
        raise InvalidValueError(f"--init {opts['init']}: {exc}") from None


def _misfit(opts, build: dict, exc: InitlabError, data_driven: bool) -> InvalidValueError:
    """Blame --init when the model builds with the default initializer, else --model."""
    if not data_driven and opts["init"] != DEFAULTS["init"]:
        try:
            models.build(opts["model"], weight_init=DEFAULTS["init"], rng=0, **build)
        except InitlabError:
            pass
        else:
            return InvalidValueError(f"--init {opts['init']}: cannot initialize --model {opts['model']}: {exc}")
    if isinstance(exc, ShapeError):
        return InvalidValueError(f"--model {opts['model']} does not fit --data {opts['data']}: {exc}")
    return named("--model", exc)


def build_optimizer(opts, model, dataset):
    per_epoch = -(-len(dataset.train[0]) // opts["batch_size"])
    schedule = _schedule.build(opts["schedule"], opts["warmup"], opts["epochs"] * per_epoch, per_epoch)
    if opts["optimizer"] == "sgd":
        return optim.SGD(model, opts["lr"], momentum=opts["momentum"], schedule=schedule)
    return optim.OPTIMIZERS[opts["optimizer"]](model, opts["lr"], schedule=schedule)


def apply_overrides(optimizer, opts, given):
    """A resumed run may change the learning rate (and SGD momentum)."""
    if given.get("lr") is not None:
        optimizer.lr = opts["lr"]
    if given.get("momentum") is not None and hasattr(optimizer, "momentum"):
        optimizer.momentum = opts["momentum"]


COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "seconds")


def header() -> str:
    return f"{COLUMNS[0]:>5}  {COLUMNS[1]:>10}  {COLUMNS[2]:>9}  {COLUMNS[3]:>9}  {COLUMNS[4]:>8}  {COLUMNS[5]:>7}"


def row(h: History, i: int) -> str:
    val_loss = f"{h.val_loss[i]:.4f}" if i < len(h.val_loss) else "-"
    val_acc = f"{h.val_acc[i]:.4f}" if i < len(h.val_acc) else "-"
    return (f"{h.epoch[i]:>5}  {h.train_loss[i]:>10.4f}  {h.train_acc[i]:>9.4f}  {val_loss:>9}  "
            f"{val_acc:>8}  {h.epoch_seconds[i]:>7.2f}")


def print_model(model, dataset):
    rows = model.summary_rows((dataset.in_channels, *dataset.image_size))
    ui.print_table("model", ["layer", "output shape", "params", "init"],
                   [(name, "(" + ", ".join(map(str, shape)) + ")", f"{count:,}", inits)
                    for name, shape, count, inits in rows])
    print(f"total parameters: {model.num_parameters():,}")


def print_data(dataset):
    size = "x".join(str(s) for s in dataset.image_size)
    print(f"data: {dataset.name}  train {len(dataset.train[0])}  val {len(dataset.val[0])}  "
          f"test {len(dataset.test[0])}  ({dataset.in_channels}x{size}, {dataset.num_classes} classes)")


class Progress:
    """A fit callback: the progress bar (when shown) and one row per epoch (unless quiet)."""

    def __init__(self, bar, quiet: bool):
        self.bar, self.quiet, self.task = bar, quiet, None
        self.started = time.perf_counter()

    def on_train_begin(self, state):
        if self.bar is not None:
            self.task = self.bar.add_task("train", total=state.epochs * state.batches_per_epoch,
                                          completed=state.step, status="")

    def on_batch_end(self, state):
        if self.task is not None:
            rate = state.examples / max(time.perf_counter() - self.started, 1e-9)
            self.bar.update(self.task, completed=state.step,
                            status=f"epoch {state.epoch + 1}  loss {state.loss:.4f}  {rate:,.0f} img/s")

    def on_epoch_end(self, state):
        if not self.quiet:
            print(row(state.history, len(state.history.epoch) - 1))
