"""`initlab depth`: does the init decide whether a deep plain ConvNet trains?

Plain ConvNets (no batch norm, no skip connections; default 10, 20 and 30 layers, ReLU) trained
on the digits with Glorot, He and He-scaled orthogonal init over seeds (default 8), plus tanh
with delta-orthogonal kernels at criticality at the largest depth: loss curves over the whole
step budget, steps to a loss threshold (halfway from chance to the best loss reached at the
depth), and at init the Glorot/He ratio of the first layer's gradient against 2^(-(L-1)/2).
The runs are a grid of tasks run in parallel (--jobs, or a Dask cluster); claims are decided
over the seeds. Writes result.json, timing.json, the finished tasks and the figures to --out.
"""
from __future__ import annotations

import numpy as np

from .. import init, initializers
from ..errors import InitlabError, InvalidValueError, UnknownNameError
from ..experiments import depth as study
from . import ui
from ._common import add_size_options, finish_parser, given_options, study_command, study_parser, study_preset
from ._options import split_list

ORDER = 23


def _cell(value):
    return "never" if value is None else f"{value:g}"


def _print_tables(result):
    s = result["settings"]
    rows = []
    for key, r in result["runs"].items():
        reached = [v for v in r["steps_to_threshold"] if v is not None]
        median = f"{np.median(reached):g}" if len(reached) > len(r["steps_to_threshold"]) / 2 else "never"
        final = [v for v in r["final_loss"] if v is not None]
        rows.append((r["depth"], r["init"], ui.number(r["lr"]), ui.number(result["thresholds"][str(r["depth"])]),
                     median, f"{len(reached)}/{len(r['steps_to_threshold'])}",
                     ui.number(float(np.median(final))) if final else "diverged"))
    ui.print_table(f"steps to the threshold ({s['threshold_rule']}; budget {s['steps']} steps)",
                   ["depth", "init", "lr", "threshold", "median steps", "reached", "median final loss"], rows)
    rows = [(depth, ui.number(r["theory"]), ui.number(r["ratio_gmean"]), ui.number(r["ratio_normalized_gmean"]),
             ui.number(r["ratio_normalized_gmean"] / r["theory"])) for depth, r in result["grad_ratio"].items()]
    ui.print_table("first layer's gradient at init, Glorot / He (independent draws, geometric mean over seeds)",
                   ["depth", "theory 2^(-(L-1)/2)", "measured", "normalized by top layer", "normalized / theory"], rows)


def depth(args) -> int:
    kwargs = study_preset(args, study)
    if args.inits is not None:
        items = split_list(args.inits, "--inits")
        kwargs["inits"] = tuple(study_name(item) for item in items)
        if len(set(kwargs["inits"])) < len(items):
            raise InvalidValueError(f"--inits: {args.inits!r} names one study init twice "
                                    f"(as {', '.join(f'{i}={s}' for i, s in zip(items, kwargs['inits']))})")
    if args.no_critical:
        kwargs["critical"] = False
    kwargs.update(given_options(args, ("width", "steps", "fraction", "lr", "batch_size")))
    return study_command(args, "depth", "depth", kwargs, _print_tables)


def study_name(item: str) -> str:
    """A study init by its name, or by any name of the same scheme ("kaiming", "he_normal" -> "he")."""
    if item in study.INITS:
        return item
    try:
        spec = init.describe(item)
    except InitlabError:
        spec = None
    schemes = {init.describe(scheme): key for key, (_, scheme) in study.INITS.items()}
    if spec in schemes:
        return schemes[spec]
    accepted = [*study.INITS, *(n for n in init.names(aliases=True) if init.describe(n) in schemes)]
    raise UnknownNameError(f"--inits: unknown init {item!r} for this study{initializers.suggest(item, accepted)} "
                           f"(valid: {', '.join(study.INITS)}, or another name of their schemes)")


def register(sub):
    p = study_parser(sub, "depth", "train deep plain ConvNets with Glorot vs He vs orthogonal init",
                     __doc__, default_seeds="8")
    p.add_argument("--depths", default=None, help="comma-separated depths in conv layers (default 10,20,30)")
    p.add_argument("--inits", default=None, help=f"comma-separated inits among {', '.join(study.INITS)} (default all)")
    add_size_options(p, width="channels per conv layer (default 16)", steps="budget of SGD steps per run (default 300)")
    p.add_argument("--fraction", type=float, default=None,
                   help="the threshold: this fraction of the way from the chance loss (ln 10) to the best loss "
                        "reached at the depth (default 0.5)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate at 10 layers; it scales as 10/depth (default 0.015)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="batch size (default 32)")
    p.add_argument("--no-critical", dest="no_critical", action="store_true",
                   help="skip the tanh delta-orthogonal run at the largest depth")
    return finish_parser(p, depth, "--seeds, --depths, --width, --steps")
