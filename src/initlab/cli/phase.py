"""`initlab phase`: the trainability phase diagram of deep tanh conv nets (Schoenholz et al. 2017).

A grid over sigma_w^2, sigma_b^2 and depth; each cell a short training run of a vanilla tanh
conv net (Gaussian kernels, no normalization) on the digits over seeds (default 8), its test
accuracy drawn as a heat map with the mean-field critical line and 6 xi_c. The cells are the
lab's tasks: run them on local processes (--jobs) or a Dask cluster (--backend dask
--scheduler ...) to scale out. Writes result.json, timing.json, the tasks and the figure to --out.
"""
from __future__ import annotations

import numpy as np

from ..experiments import phase as study
from . import ui
from ._common import add_size_options, finish_parser, given_options, study_command, study_parser, study_preset
from ._options import split_list

ORDER = 27


def _floats(text, option):
    try:
        return tuple(float(v) for v in split_list(text, option))
    except ValueError:
        from ..errors import InvalidValueError
        raise InvalidValueError(f"{option}: expected comma-separated numbers, got {text!r}") from None


def _print_tables(result):
    s = result["settings"]
    for b, by_depth in result["accuracy"].items():
        line = result["lines"][b]
        rows = [(d, *(ui.number(float(np.median(v))) for v in rows)) for d, rows in sorted(by_depth.items(),
                                                                                           key=lambda kv: int(kv[0]))]
        rows.append(("6 xi_c", *("inf" if v is None else ui.number(v) for v in line["six_xi_c"])))
        ui.print_table(f"median test accuracy, sigma_b^2 = {float(b):g} (critical sigma_w^2 "
                       f"{ui.number(line['critical_sigma_w2_padded'])} with zero padding)",
                       ["depth \\ sigma_w^2", *(f"{w:g}" for w in s["sigma_w2s"])], rows)


def phase(args) -> int:
    kwargs = study_preset(args, study)
    if args.sigma_w2 is not None:
        kwargs["sigma_w2s"] = _floats(args.sigma_w2, "--sigma-w2")
    if args.sigma_b2 is not None:
        kwargs["sigma_b2s"] = _floats(args.sigma_b2, "--sigma-b2")
    kwargs.update(given_options(args, ("width", "steps", "lr")))
    return study_command(args, "phase", "phase", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "phase", "trainability phase diagram: order, chaos and the critical line",
                     __doc__, default_seeds="8")
    p.add_argument("--sigma-w2", dest="sigma_w2", default=None,
                   help="comma-separated weight variances x fan_in (default 0.5,0.8,...,6.5)")
    p.add_argument("--sigma-b2", dest="sigma_b2", default=None, help="comma-separated bias variances (default 0.05)")
    p.add_argument("--depths", default=None, help="comma-separated depths (default 5,10,20,40)")
    add_size_options(p, width="channels per conv layer (default 8)", steps="Adam steps per cell (default 200)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3)")
    return finish_parser(p, phase, "--seeds, --depths, --width, --steps")
