"""`initlab propagate`: how the init's scale carries (or loses) the signal through depth.

Plain conv stacks (no batch norm, no skips; default 30 layers of width 16) on a batch of real
images, for std 0.01, std 1, Glorot, He, LeCun, orthogonal and LSUV, under ReLU and tanh:
the std of every layer's output and of the gradient reaching it, measured and predicted by the
mean-field recursion, and histograms per layer. Prints a table per activation and the claims
checked; writes result.json and the figures (PNG) to --out.
"""
from __future__ import annotations


from .. import initializers
from ..errors import InitlabError, UnknownNameError
from ..experiments import propagate as study
from . import ui
from ._common import add_common, given_options, study_command, study_preset
from ._options import split_list

ORDER = 20


def _g(value):
    return "-" if value is None else f"{value:.3g}"


def _print_tables(result):
    depth = result["settings"]["depth"]
    for act, configs in result["configs"].items():
        rows = []
        for name, c in configs.items():
            s = result["summary"][f"{act}/{name}"]
            last = s["saturated_last"] if act in ("tanh", "sigmoid") else s["dead_last"]
            rows.append((name, _g(c["act_std_gmean"][0]), _g(c["act_std_gmean"][-1]),
                         _g(s["last_over_first"]), _g(s["theory_last_over_first"]),
                         _g(s["variance_factor_per_layer"]), _g(c["grad_std_gmean"][0]), _g(last)))
        ui.print_table(f"{act}: std of each layer's output through {depth} layers (geometric mean over seeds)",
                       ["init", "layer 1", f"layer {depth}", "ratio", "predicted", "var x/layer",
                        "grad layer 1", "saturated" if act in ("tanh", "sigmoid") else "dead"], rows)
    if not result["theory_check"]:
        return
    rows = [(key, f"{c['max_rel_error']:.3f}", ", ".join(f"{v:.2f}" for v in c["ratio"]))
            for key, c in result["theory_check"].items()]
    s = result["settings"]
    ui.print_table(f"theory check: width {s['theory_width']}, {s['theory_depth']} layers, "
                   f"{s['theory_seeds']} nets", ["init", "max |measured/predicted - 1|", "measured/predicted per layer"],
                   rows)


def check_inits(inits):
    """Each --inits item is a study init or an initializer spec; an error says which forms are taken."""
    for name in inits:
        try:
            study.resolve(name, "relu")
        except UnknownNameError:
            raise UnknownNameError(
                f"--inits: unknown init {name!r}{initializers.suggest(name, sorted({*study.INITS, *initializers.names()}))} "
                f"(the study's {', '.join(study.INITS)}, or any initializer: 'initlab inits')") from None
        except InitlabError as exc:
            raise type(exc)(f"--inits: {exc}; --inits takes {', '.join(study.INITS)} or an initializer "
                            "spec such as 'normal(std=0.05)'") from None
    return inits


def propagate(args) -> int:
    kwargs = study_preset(args, study)
    if args.inits is not None:
        kwargs["inits"] = check_inits(tuple(split_list(args.inits, "--inits")))
    if args.activations is not None:
        kwargs["activations"] = tuple(split_list(args.activations, "--activations"))
    kwargs.update(given_options(args, ("depth", "width", "batch", "data", "theory_width", "theory_depth",
                                       "theory_seeds", "lr")))
    return study_command(args, "propagate", "propagate", kwargs, _print_tables)


def register(sub):
    p = sub.add_parser("propagate", help="per-layer activation/gradient std through deep plain stacks, vs theory",
                       description=__doc__)
    add_common(p, default_out="initlab-propagate", default_seeds="2")
    p.add_argument("--depth", type=int, default=None, help="conv layers (default 30)")
    p.add_argument("--width", type=int, default=None, help="channels per layer (default 16)")
    p.add_argument("--inits", default=None,
                   help=f"comma-separated inits: {', '.join(study.INITS)} or initializer specs "
                        "such as 'normal(std=0.05)' (default: all seven)")
    p.add_argument("--activations", default=None, help="comma-separated activations (default relu,tanh)")
    p.add_argument("--data", default=None, help=f"images: {', '.join(study.DATASETS)} (default shapes)")
    p.add_argument("--batch", type=int, default=None, help="images in the measured batch (default 32)")
    p.add_argument("--theory-width", dest="theory_width", type=int, default=None,
                   help="width of the theory check (default 64)")
    p.add_argument("--theory-depth", dest="theory_depth", type=int, default=None,
                   help="layers of the theory check (default 5)")
    p.add_argument("--theory-seeds", dest="theory_seeds", type=int, default=None,
                   help="nets averaged in the theory check (default 8)")
    p.add_argument("--lr", type=float, default=None, help="learning rate for the update/weight ratio (default 0.01)")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds)")
    p.set_defaults(func=propagate, sizes="--seeds, --depth, --width, --batch, --theory-width")
    return p
