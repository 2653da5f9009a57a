"""`initlab symmetry`: why random and not zeros? The same small CNN from zeros, a constant, random.

Trains small_cnn on the digits from each init for each seed; follows the pairwise cosine
similarity of each layer's filters and the test accuracy. Prints the tables and the checked
claims; writes result.json and the figures (PNG) to --out.
"""
from __future__ import annotations


from ..experiments import symmetry as study
from ..validate import positive_int, real_number
from . import ui
from ._common import add_common, study_command, study_preset
from ._options import split_list

ORDER = 21


def _fmt_layers(values):
    return " ".join(f"{v:.6f}" for v in values)


def _print_tables(result):
    rows = []
    summaries = [(n, s, result["labels"][n]) for n, s in result["summary"].items()]
    summaries += [(n, s, f"{result['labels'][n]}, float32") for n, s in result.get("float32_summary", {}).items()]
    for name, s, label in summaries:
        spread = f"{s['final_test_acc_min']:.3f}..{s['final_test_acc_max']:.3f}"
        rows.append((label, f"{s['final_test_acc']:.3f}", spread,
                     _fmt_layers(s["lowest_similarity"]), _fmt_layers(s["final_mean_similarity"]),
                     ", ".join(s["moved_parameters"]) if len(s["moved_parameters"]) < 3 else "all"))
    ui.print_table(
        f"digits, small_cnn, {result['settings']['steps']} steps: filter similarity per layer "
        f"({', '.join(result['layers'])})",
        ["init", "test acc", "min..max", "lowest similarity", "final mean similarity", "moved"], rows)


def symmetry(args) -> int:
    kwargs = study_preset(args, study)
    kwargs.update(inits=tuple(split_list(args.inits, "--inits")), dtype=args.dtype)
    for key in ("steps", "every"):
        if getattr(args, key) is not None:
            kwargs[key] = positive_int(getattr(args, key), f"--{key}")
    if args.lr is not None:
        kwargs["lr"] = real_number(args.lr, "--lr", low=0, low_open=True)
    if args.no_float32_control:
        kwargs["float32_control"] = False
    return study_command(args, "symmetry", "symmetry", kwargs, _print_tables)


def register(sub):
    p = sub.add_parser("symmetry", help="zeros vs constant vs random init: do the filters ever differ?",
                       description=__doc__)
    add_common(p, default_out="initlab-symmetry", default_seeds="2")
    p.add_argument("--inits", default=",".join(study.INITS),
                   help="comma-separated inits: zeros, constant (every weight 1/fan_in), or any initializer "
                        "spec such as he_normal, glorot_uniform, 'constant(value=0.05)' (default %(default)s)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 400)")
    p.add_argument("--every", type=int, default=None, help="measure every this many steps (default 25)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.05, momentum 0.9)")
    p.add_argument("--dtype", choices=sorted(study.DTYPES), default="float64",
                   help="float64 (default: exact symmetry) or float32 (rounding can split the filters)")
    p.add_argument("--no-float32-control", dest="no_float32_control", action="store_true",
                   help="skip the float32 re-run of the constant start")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds)")
    p.set_defaults(func=symmetry, sizes="--seeds, --steps")
    return p

