"""`initlab train`'s options: defaults, what a resumed run keeps, and every check before any work.

Each error names the option as typed (`--lr: ...`); a resumed run's saved options are checked
the same way, so that a malformed checkpoint is named instead of a traceback.
"""
from __future__ import annotations

import re

from .. import data, initializers, layers, models, optim
from ..errors import InitlabError, InvalidValueError, UnknownNameError
from ..optim import DEFAULT_LR
from ..constraints import Integer, Optional, Options, Real
from . import _schedule
from ._options import MAX_STEPS, check_at_most, check_flags, check_plain_model, named

DEFAULTS = dict(data="digits", model="small_cnn", init="he_normal", activation="relu",
                optimizer="adam", lr=None, momentum=0.9, epochs=15, batch_size=32, seed=0, n=None,
                clip_grad_norm=None, checkpoint_every=None, keep=None, schedule=None, warmup=None)
# what a resumed run must share with the run it continues (the rest may be overridden)
FIXED_ON_RESUME = ("data", "model", "init", "activation", "optimizer", "batch_size", "seed", "n",
                   "schedule", "warmup")
NAMES = ("data", "model", "init", "activation", "optimizer")
# the numbers and the optimizer, each key's flag --key (batch_size: --batch-size)
NUMBERS = {"epochs": Integer(1), "batch_size": Integer(1), "seed": Integer(0), "n": Optional(Integer(1)),
           "keep": Optional(Integer(1)), "lr": Real(0, low_open=True), "momentum": Real(0, 1),
           "clip_grad_norm": Optional(Real(0, low_open=True)), "optimizer": Options(optim.OPTIMIZERS, kind="optimizer")}
ACTIVATION = Options(layers.ACTIVATION_LAYERS, kind="activation")


def every(value):
    """'100' -> (100, 'step'); '2e' / '2epochs' -> (2, 'epoch')."""
    if value is None or isinstance(value, (list, tuple)):
        return value
    match = re.fullmatch(r"\s*([0-9]+)\s*(e|epochs?|s|steps?)?\s*", str(value))    # ASCII digits only
    if not match or int(match[1]) < 1:
        raise InvalidValueError(
            f"--checkpoint-every: expected N steps or Ne epochs with N >= 1 (e.g. 200 or 1e), got {value!r}"
        )
    check_at_most(int(match[1]), MAX_STEPS, "--checkpoint-every")
    return [int(match[1]), "epoch" if (match[2] or "s").startswith("e") else "step"]


def given_options(args) -> dict:
    """The run options the user typed (None = not given)."""
    return {key: getattr(args, key) for key in DEFAULTS}


def resolve(given: dict, saved: dict | None) -> dict:
    """Options = defaults <- saved (on resume) <- given; a resumed run keeps FIXED_ON_RESUME."""
    opts = dict(DEFAULTS)
    if saved:
        for key in FIXED_ON_RESUME:
            if given.get(key) is not None and given[key] != saved.get(key):
                raise InvalidValueError(
                    f"--{key.replace('_', '-')}: cannot change when resuming (the checkpoint "
                    f"was trained with {saved.get(key)!r}, got {given[key]!r})"
                )
        opts.update({k: v for k, v in saved.items() if k in DEFAULTS})
    opts.update({k: v for k, v in given.items() if v is not None})
    if opts["lr"] is None:
        opts["lr"] = DEFAULT_LR.get(opts["optimizer"], 0.01)
    opts["checkpoint_every"] = every(opts["checkpoint_every"])
    return opts


def check_model(name: str):
    """A model name models.build knows, a plain:DEPTHxWIDTH within the size limits."""
    try:
        models.parse_name(name)
    except UnknownNameError as exc:
        raise named("--model", exc) from None
    check_plain_model(name)


def check(opts: dict, given: dict, data_option: str = "--data"):
    """Every name and number before any work, each error naming its option (`data_option`:
    how to name the data when it came from a resumed run, not from the command line)."""
    for key in NAMES:
        if not isinstance(opts[key], str):
            raise InvalidValueError(f"--{key}: expected a name, got {opts[key]!r}")
    try:
        data.check_name(opts["data"])
    except InitlabError as exc:
        raise named(data_option, exc) from None
    check_model(opts["model"])
    every = opts["checkpoint_every"]
    if every is not None and not (isinstance(every, (list, tuple)) and len(every) == 2
                                  and every[1] in ("step", "epoch") and not isinstance(every[0], bool)
                                  and isinstance(every[0], int) and every[0] >= 1):
        raise InvalidValueError(f"--checkpoint-every: expected N steps or Ne epochs with N >= 1, got {every!r}")
    check_flags(NUMBERS, {key: opts[key] for key in NUMBERS})
    if opts["optimizer"] != "sgd" and given.get("momentum") is not None:
        raise InvalidValueError(f"--momentum: applies to --optimizer sgd only, got --optimizer {opts['optimizer']}")
    _schedule.build(opts["schedule"], opts["warmup"], MAX_STEPS, 1)    # the spec; lengths once the data is read
    check_flags({"activation": ACTIVATION}, {"activation": opts["activation"]})
    initializers.check(opts["init"], "--init")


def check_splits(dataset, opts):
    """Every split has an example: an empty validation or test split would fail only after training."""
    sizes = {"train": len(dataset.train[0]), "validation": len(dataset.val[0]), "test": len(dataset.test[0])}
    empty = [name for name, size in sizes.items() if size == 0]
    if not empty:
        return
    counts = ", ".join(f"{name} {size}" for name, size in sizes.items())
    which = " and ".join(empty) + (" splits" if len(empty) > 1 else " split")
    if opts["n"] is None:
        raise InvalidValueError(f"--data {opts['data']}: its {which} would be empty ({counts})")
    raise InvalidValueError(
        f"--n {opts['n']}: leaves the {which} empty ({counts}); give a larger --n (a class needs "
        f"3 examples to reach every split: e.g. --n {3 * dataset.num_classes} or more)"
    )


