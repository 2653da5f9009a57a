"""`initlab deep`: how deep can a vanilla CNN go? Depth scaling from tens to a thousand layers.

Vanilla conv nets (no normalization, no skips) on the digits, started from delta-orthogonal
kernels at the tanh critical point, Gaussian kernels at the same point, flattened orthogonal
kernels, He's ReLU init and orthogonal ReLU, each at the learning rate a small sweep chose,
over seeds: test accuracy against depth, beside the input-output Jacobian's condition number
at init. Slow at full scale (hundreds of layers): run it on every core (--jobs) or a Dask
cluster. Writes result.json, timing.json, the tasks and the figure to --out.
"""
from __future__ import annotations

import numpy as np

from ..experiments import deep as study
from . import ui
from ._common import add_size_options, finish_parser, study_command, study_parser, study_preset

ORDER = 28


def _print_tables(result):
    rows = []
    for key, r in sorted(result["runs"].items(), key=lambda kv: (kv[1]["depth"], kv[1]["init"])):
        rows.append((r["depth"], r["init"], ui.number(r["lr"]), ui.number(float(np.median(r["accuracy"]))),
                     ", ".join(ui.number(a) for a in r["accuracy"]), ui.number(float(np.median(r["condition"])))))
    ui.print_table("test accuracy and the Jacobian's condition number at init (medians over seeds)",
                   ["depth", "init", "lr (swept)", "accuracy", "per seed", "condition"], rows)


def deep(args) -> int:
    kwargs = study_preset(args, study, lists=("inits",), given=("width", "steps", "sweep_seeds", "head"))
    return study_command(args, "deep", "deep", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "deep", "vanilla CNNs from tens to a thousand layers: critical init vs the rest",
                     __doc__, default_seeds="3")
    p.add_argument("--depths", default=None, help="comma-separated depths (default 10,30,100,300)")
    p.add_argument("--inits", default=None, help=f"among {', '.join(study.INITS)} (default all)")
    add_size_options(p, width="channels per conv layer (default 16)", steps="Adam steps per run (default 600)",
                     sweep_seeds="seeds of the learning-rate sweep (default 1)")
    p.add_argument("--head", choices=("flatten", "average"), default=None,
                   help="flatten + dense (default), or global average pooling + dense (as Xiao et al.)")
    return finish_parser(p, deep, "--seeds, --depths, --width, --steps")
