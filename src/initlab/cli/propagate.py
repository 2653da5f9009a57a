"""`initlab propagate`: how the init's scale carries (or loses) the signal through depth.

Plain conv stacks (no batch norm, no skips; default 30 layers of width 16) on a batch of real
images, for std 0.01, std 1, Glorot, He, LeCun, orthogonal and LSUV, under ReLU and tanh:
the std of every layer's output and of the gradient reaching it, measured and predicted by the
mean-field recursion (zero padding included), and histograms per layer; a sweep of He/ReLU
nets over widths fits how far a net of finite width drifts below mean field. Every net is a
task (8 seeds by default, run in parallel with --jobs or on a Dask cluster); the claims are
predictions decided over the seeds. Writes result.json, timing.json, the finished tasks and
the figures (PNG) to --out.
"""
from __future__ import annotations

import numpy as np

from .. import initializers
from ..errors import InitlabError, UnknownNameError
from ..experiments import propagate as study
from . import ui
from ._common import finish_parser, given_options, study_command, study_parser, study_preset
from ._options import MAX_WIDTH, check_at_most, split_ints, split_list

ORDER = 20


def _g(value):
    return "-" if value is None else f"{value:.3g}"


def _print_tables(result):
    depth = result["settings"]["depth"]
    for act, configs in result["configs"].items():
        rows = []
        for name, c in configs.items():
            s = result["summary"][f"{act}/{name}"]
            last = float(np.mean(s["saturated_last"])) if "saturated_last" in s else s["dead_last"]
            rows.append((name, _g(c["act_std_gmean"][0]), _g(c["act_std_gmean"][-1]), _g(s["last_over_first"]),
                         _g(s["theory_last_over_first"]), _g(_gmean(s["factor"])), _g(_gmean(s["factor_mf"])),
                         _g(c["grad_std_gmean"][0]), _g(last)))
        ui.print_table(f"{act}: std of each layer's output through {depth} layers (geometric mean over seeds)",
                       ["init", "layer 1", f"layer {depth}", "ratio", "mean field", "var x/layer",
                        "mean field x/layer", "grad layer 1", "saturated" if act in ("tanh", "sigmoid") else "dead"],
                       rows)
    if "sweep" not in result:
        return
    fit = result["sweep"]["fit"]
    rows = [(width, f"{drift:+.4f}", f"{-fit['c'] / int(width):+.4f}") for width, drift in fit["per_width"].items()]
    ui.print_table(f"He/ReLU width sweep ({depth} layers): log-variance drift per layer below mean field "
                   f"(fit: -c/width, c = {fit['c']:.2f} +- {fit['c_se']:.2f})", ["width", "measured", "fit"], rows)


def _gmean(values):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.exp(np.mean(np.log(np.asarray(values, dtype=np.float64)))))


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
    if args.no_sweep:
        kwargs["sweep_widths"] = ()
    elif args.sweep_widths is not None:
        kwargs["sweep_widths"] = tuple(check_at_most(w, MAX_WIDTH, "--sweep-widths")
                                       for w in split_ints(args.sweep_widths, "--sweep-widths"))
    kwargs.update(given_options(args, ("depth", "width", "batch", "data", "lr")))
    return study_command(args, "propagate", "propagate", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "propagate", "per-layer activation/gradient std through deep plain stacks, vs theory",
                     __doc__, default_seeds="8")
    p.add_argument("--depth", type=int, default=None, help="conv layers (default 30)")
    p.add_argument("--width", type=int, default=None, help="channels per layer (default 16)")
    p.add_argument("--inits", default=None,
                   help=f"comma-separated inits: {', '.join(study.INITS)} or initializer specs "
                        "such as 'normal(std=0.05)' (default: all seven)")
    p.add_argument("--activations", default=None, help="comma-separated activations (default relu,tanh)")
    p.add_argument("--data", default=None, help=f"images: {', '.join(study.DATASETS)} (default shapes)")
    p.add_argument("--batch", type=int, default=None, help="images in the measured batch (default 32)")
    p.add_argument("--sweep-widths", dest="sweep_widths", default=None,
                   help="comma-separated widths of the He/ReLU sweep that fits the finite-width drift "
                        "(default 16,32,64)")
    p.add_argument("--no-sweep", dest="no_sweep", action="store_true",
                   help="skip the width sweep (the ReLU predictions then have no drift to use)")
    p.add_argument("--lr", type=float, default=None, help="learning rate for the update/weight ratio (default 0.01)")
    return finish_parser(p, propagate, "--seeds, --depth, --width, --batch, --sweep-widths")
