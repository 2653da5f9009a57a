"""`initlab symmetry`: why random and not zeros? The same small CNN from zeros, a constant, random.

Trains small_cnn on the digits from each init for each seed (default 8), every init at one
seed on the same batches; follows the pairwise cosine similarity of each layer's filters and
the test accuracy. The runs are a grid of tasks run in parallel (--jobs, or a Dask cluster);
claims are decided over the seeds. Writes result.json, timing.json, the finished tasks and the
figures to --out.
"""
from __future__ import annotations

from ..experiments import symmetry as study
from . import ui
from ._common import finish_parser, given_options, study_command, study_parser, study_preset
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
        f"digits, small_cnn, {result['settings']['steps']} steps, {len(result['settings']['seeds'])} seeds: "
        f"filter similarity per layer ({', '.join(result['layers'])})",
        ["init", "test acc", "min..max", "lowest similarity", "final mean similarity", "moved"], rows)


def symmetry(args) -> int:
    kwargs = study_preset(args, study)
    kwargs.update(inits=tuple(split_list(args.inits, "--inits")), dtype=args.dtype)
    kwargs.update(given_options(args, ("steps", "every", "lr", "batch_size")))
    if args.float32_control:
        kwargs["float32_control"] = True
    return study_command(args, "symmetry", "symmetry", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "symmetry", "zeros vs constant vs random init: do the filters ever differ?",
                     __doc__, default_seeds="8")
    p.add_argument("--inits", default=",".join(study.INITS),
                   help="comma-separated inits: zeros, constant (every weight 1/fan_in), or any initializer "
                        "spec such as he_normal, glorot_uniform, 'constant(value=0.05)' (default %(default)s)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 400)")
    p.add_argument("--every", type=int, default=None, help="measure every this many steps (default 25)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.05, momentum 0.9)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="batch size (default 64)")
    p.add_argument("--dtype", choices=sorted(study.DTYPES), default="float64",
                   help="float64 (default: the tie between identical filters is exact) or float32")
    p.add_argument("--float32-control", dest="float32_control", action="store_true",
                   help="train the symmetric non-zero starts once more in float32 (an illustration of the "
                        "BLAS's rounding, not counted as evidence)")
    return finish_parser(p, symmetry, "--seeds, --steps")
