"""`initlab zero-mean`: why zero mean? U(-a, a) against the same variance shifted off zero, and
centred inputs against all-positive pixels.

At init, a deep plain ReLU stack over a sweep of shifts: the per-layer growth of the mean
activation against its prediction s a C lambda and the shift where the drift sets in. Then a
shallower stack trained from each init, and from the centred init on pixels in [0, 1], centred
pixels and standardized ones (the first layer's one-sidedness, the signs of its weight
gradient, the steps to a loss threshold). Over seeds (default 8), as a grid of tasks run in
parallel (--jobs, or a Dask cluster); claims are decided over the seeds. Writes result.json,
timing.json, the finished tasks and the figures to --out.
"""
from __future__ import annotations

import numpy as np

from ..experiments import zero_mean as study
from ..validate import real_number
from . import ui
from ._common import finish_parser, given_options, study_command, study_parser, study_preset
from ._options import MAX_WIDTH, check_at_most, split_list

ORDER = 22
MAX_SHIFT = 100.0     # in units of a; far beyond it the bounds a(shift -+ 1) round to one number


def _median(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return ui.number(float(np.median(values))) if values else "n/a"


def _print_tables(result):
    sw, theory = result["sweep"], result["theory"]
    def predicted(s):    # the mean-dominated line well above the onset, He's factor at 0, none between
        if s == 0:
            return ui.number(theory["centred_factor"])
        return ui.number(s * theory["factor_per_unit_shift"]) if s >= 3 * theory["onset"] else "-"

    rows = [(f"{s:g}", _median(sw["growth"][f"{s:g}"]), predicted(s),
             ui.number(float(np.mean([a[-1] for a in sw["active"][f"{s:g}"]]))))
            for s in sw["shifts"]]
    ui.print_table(f"at init, depth {len(result['layers'])}: growth of the mean ReLU output per layer "
                   f"(onset s_c = {theory['onset']:.3g})",
                   ["shift", "median growth", "predicted", "last layer firing"], rows)
    rows = []
    for name, t in result["training"].items():
        rows.append((_label(result, name), _median([v if v is not None else np.inf for v in t["initial_loss"]]),
                     _median([np.mean([v for v in loss[-10:] if v is not None] or [np.nan]) for loss in t["loss"]]),
                     _median(t["final_test_acc"]), _median([a[-1] for a in t["active_after"]])))
    if rows:
        ui.print_table(f"training a {result['settings']['train_depth']}-layer plain CNN for "
                       f"{result['settings']['steps']} steps (medians over seeds)",
                       ["init", "first loss", "last loss", "test acc", "last layer firing after"], rows)
    rows = []
    for name, r in result["input_runs"].items():
        reached = [v for v in r["steps_to_threshold"] if v is not None]
        rows.append((name, _median(r["one_sidedness"]), _median(r["sign_fraction"]),
                     _median(reached) if len(reached) > len(r["steps_to_threshold"]) / 2 else "never",
                     f"{len(reached)}/{len(r['steps_to_threshold'])}", _median(r["test_acc"])))
    if rows:
        threshold = result["inputs_threshold"]
        ui.print_table(f"inputs, centred init (threshold {'n/a' if threshold is None else f'{threshold:.3g}'}; "
                       "medians over seeds)",
                       ["inputs", "|mean|/std, layer 1", "one-sign share", "steps to threshold", "reached",
                        "test acc"], rows)


def _label(result, name):
    return result["labels"].get(name, name)


def zero_mean(args) -> int:
    kwargs = study_preset(args, study)
    kwargs["inits"] = tuple(split_list(args.inits, "--inits"))
    kwargs["inputs"] = tuple(split_list(args.inputs, "--inputs"))
    kwargs.update(given_options(args, ("depth", "width", "train_depth", "train_width", "steps", "every", "lr", "batch_size")))
    if args.train_width is not None:       # (not in _options.LIMITS, which bounds the options by their dest)
        check_at_most(args.train_width, MAX_WIDTH, "--train-width")
    if args.shift is not None:
        kwargs["shift"] = real_number(args.shift, "--shift", low=-MAX_SHIFT, high=MAX_SHIFT)
    if args.shifts is not None:
        kwargs["shifts"] = tuple(real_number(_float(v, "--shifts"), "--shifts", low=0, high=MAX_SHIFT)
                                 for v in split_list(args.shifts, "--shifts"))
    return study_command(args, "zero-mean", "zero_mean", kwargs, _print_tables)


def _float(text, option):
    from ..errors import InvalidValueError
    try:
        return float(text)
    except ValueError:
        raise InvalidValueError(f"{option}: expected a number, got {text!r}") from None


def register(sub):
    p = study_parser(sub, "zero-mean", "a centred init vs the same variance shifted off zero; centred inputs",
                     __doc__, default_seeds="8")
    p.add_argument("--inits", default=",".join(study.INITS), help="comma-separated: centred, shifted (default both)")
    p.add_argument("--inputs", default=",".join(study.INPUTS),
                   help="comma-separated forms of the inputs for the centred init: pixels, centred, standardized "
                        "(default all)")
    p.add_argument("--shift", type=float, default=None,
                   help="the shifted init is U(-a + shift a, a + shift a), a = sqrt(6/fan_in) (default 1: U(0, 2a); "
                        f"from -{MAX_SHIFT:g} to {MAX_SHIFT:g})")
    p.add_argument("--shifts", default=None,
                   help="comma-separated shifts swept at init (default "
                        f"{','.join(f'{s:g}' for s in study.SHIFTS)}; 0 and --shift are always included)")
    p.add_argument("--depth", type=int, default=None, help="depth of the stack measured at init (default 10)")
    p.add_argument("--width", type=int, default=None, help="channels per conv layer (default 16)")
    p.add_argument("--train-depth", dest="train_depth", type=int, default=None,
                   help="depth of the stack that is trained (default 3)")
    p.add_argument("--train-width", dest="train_width", type=int, default=None,
                   help="channels per conv layer of the trained stack (default: --width)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 300)")
    p.add_argument("--every", type=int, default=None, help="test accuracy every this many steps (default 20)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.05, momentum 0.9)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="batch size (default 64)")
    return finish_parser(p, zero_mean, "--seeds, --depth, --width, --steps")
