"""`initlab zero-mean`: why zero mean? U(-a, a) against U(0, 2a), the same variance shifted off zero.

Measures the per-layer activation mean of a deep plain ReLU stack at init, then trains a
shallower one from each init for each seed. Prints the tables and the checked claims; writes
result.json and the figures (PNG) to --out.
"""
from __future__ import annotations


from ..experiments import zero_mean as study
from ..validate import positive_int, real_number
from . import ui
from ._common import add_common, study_command, study_preset
from ._options import split_list

ORDER = 22
MAX_SHIFT = 100.0     # in units of a; far beyond it the bounds a(shift -+ 1) round to one number


def _print_tables(result):
    layers = result["layers"]
    shown = sorted({0, len(layers) - 1})
    rows = []
    for name in result["inits"]:
        p = result["propagation"][name]
        post = p["post_mean"].mean(axis=0)
        active = p["active"].mean(axis=0)
        rows.append((result["labels"][name], *(f"{post[i]:.3g}" for i in shown),
                     f"{result['summary'][name]['median_growth_per_layer']:.3g}",
                     *(f"{active[i]:.2f}" for i in shown)))
    ui.print_table(
        f"at init, depth {len(layers)}: mean ReLU output and fraction of units firing per layer "
        f"(predicted growth of the shifted mean: x{result['shifted_predicted_growth_per_layer']:.1f} per layer)",
        ["init", *(f"mean L{layers[i]}" for i in shown), "growth/layer", *(f"active L{layers[i]}" for i in shown)],
        rows)
    rows = []
    for name in result["inits"]:
        s, t = result["summary"][name], result["training"][name]
        rows.append((result["labels"][name], f"{s['initial_loss']:.3g}", f"{t['loss'][:, -10:].mean():.3g}",
                     f"{s['final_test_acc']:.3f}", " ".join(f"{a:.2f}" for a in t["final_test_acc"]),
                     f"{s['last_layer_active_after_training']:.2f}"))
    ui.print_table(
        f"training a {result['settings']['train_depth']}-layer plain CNN for {result['steps'][-1]} steps",
        ["init", "first loss", "last loss", "test acc", "per seed", "active after"], rows)


def zero_mean(args) -> int:
    kwargs = study_preset(args, study)
    kwargs["inits"] = tuple(split_list(args.inits, "--inits"))
    for key in ("depth", "width", "train_depth", "steps", "every"):
        if getattr(args, key) is not None:
            kwargs[key] = positive_int(getattr(args, key), f"--{key.replace('_', '-')}")
    if args.lr is not None:
        kwargs["lr"] = real_number(args.lr, "--lr", low=0, low_open=True)
    if args.shift is not None:
        kwargs["shift"] = real_number(args.shift, "--shift", low=-MAX_SHIFT, high=MAX_SHIFT)
    return study_command(args, "zero-mean", "zero_mean", kwargs, _print_tables)


def register(sub):
    p = sub.add_parser("zero-mean", help="a centred init vs the same variance shifted off zero",
                       description=__doc__)
    add_common(p, default_out="initlab-zero-mean", default_seeds="3")
    p.add_argument("--inits", default=",".join(study.INITS), help="comma-separated: centred, shifted (default both)")
    p.add_argument("--shift", type=float, default=None,
                   help="the shifted init is U(-a + shift a, a + shift a), a = sqrt(6/fan_in) (default 1: U(0, 2a); "
                        f"from -{MAX_SHIFT:g} to {MAX_SHIFT:g})")
    p.add_argument("--depth", type=int, default=None, help="depth of the stack measured at init (default 10)")
    p.add_argument("--width", type=int, default=None, help="channels per conv layer (default 16)")
    p.add_argument("--train-depth", dest="train_depth", type=int, default=None,
                   help="depth of the stack that is trained (default 3)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 300)")
    p.add_argument("--every", type=int, default=None, help="test accuracy every this many steps (default 20)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.05, momentum 0.9)")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds)")
    p.set_defaults(func=zero_mean, sizes="--seeds, --depth, --width, --steps")
    return p
