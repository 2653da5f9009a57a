"""`initlab optimizers`: is it momentum and ReLU that make a random start trainable?

Plain conv stacks with sigmoid, tanh and ReLU (each with its variance-preserving init) trained
with plain SGD, SGD + momentum and Adam over seeds (default 8), each cell at the learning rate a
sweep on seeds of its own chose. Prints the steps to leave the plateau and to reach the
threshold, and the claims decided over the seeds; writes result.json, timing.json, the finished
tasks and the figures to --out.
"""
from __future__ import annotations

import numpy as np

from ..experiments import optimizers as study
from . import ui
from ._common import add_size_options, finish_parser, study_command, study_parser, study_preset

ORDER = 25


def _median_steps(values):
    reached = [v for v in values if v is not None]
    return f"{np.median(reached):g}" if len(reached) > len(values) / 2 else "never"


def _print_tables(result):
    rows = []
    for key, cell in result["cells"].items():
        finals = [v for v in cell["final_loss"] if isinstance(v, float)]
        rows.append((cell["depth"], cell["activation"], cell["optimizer"], ui.number(cell["lr"]),
                     _median_steps(cell["steps_to_leave_plateau"]), _median_steps(cell["steps_to_threshold"]),
                     ui.number(float(np.median(finals))) if finals else "diverged"))
    ui.print_table(f"medians over seeds (budget {result['settings']['steps']} steps)",
                   ["depth", "activation", "optimizer", "lr (swept)", "steps off the plateau", "steps to threshold",
                    "final loss"], rows)


def optimizers(args) -> int:
    kwargs = study_preset(args, study, lists=("activations", "optimizers"), given=("width", "steps", "sweep_seeds"))
    return study_command(args, "optimizers", "optimizers", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "optimizers", "plain SGD vs momentum vs Adam, sigmoid vs tanh vs ReLU",
                     __doc__, default_seeds="8")
    p.add_argument("--depths", default=None, help="comma-separated depths in conv layers (default 4,8,16)")
    p.add_argument("--activations", default=None, help="among sigmoid, tanh, relu (default all)")
    p.add_argument("--optimizers", default=None, help="among sgd, momentum, adam (default all)")
    add_size_options(p, width="channels per conv layer (default 8)", steps="training steps per run (default 300)",
                     sweep_seeds="seeds of the learning-rate sweep, apart from the evaluation seeds (default 2)")
    return finish_parser(p, optimizers, "--seeds, --depths, --width, --steps")
