"""`initlab filters`: how does a filter come to detect an X? Is an X kernel learned by itself?

Trains a small CNN on the shapes data from random inits and from hand-made filters, for several
seeds (8 by default; each run a task, run in parallel with --jobs or on a Dask cluster); follows
the first layer's 5x5 kernels and scores them against hand-made templates (X, plus, strokes,
edges), compared with what untrained random kernels score by chance. Prints the tables and the
claims decided over the seeds; writes result.json, timing.json, the finished tasks, the figures
(PNG) and an animated GIF of the kernels' evolution to --out.
"""
from __future__ import annotations

import numpy as np

from ..experiments import filters as study
from ..validate import positive_int, real_number
from . import ui
from ._common import finish_parser, study_command, study_parser, study_preset
from ._options import split_list

ORDER = 24


def _print_tables(result):
    rows = []
    for name, a in result["answer"].items():
        rows.append((name, f"{a['mean_best_before']:.2f}", f"{a['mean_best_after']:.2f}", f"{a['chance_p95']:.2f}",
                     f"{a['mean_percentile_before']:.0f}", f"{a['mean_percentile_after']:.0f}",
                     f"{a['above_chance_after']}/{a['runs']}"))
    if rows:
        ui.print_table(
            "best kernel's template score, random starts (mean over runs), against chance: the 95th percentile "
            "of untrained random kernels, and the percentile reached",
            ["name", "before", "after", "chance p95", "pct before", "pct after", "runs above"], rows)
    rows = []
    curve = list(result["curve_steps"])
    early = min(range(len(curve)), key=lambda i: abs(curve[i] - curve[-1] / 12))
    for start, r in result["runs"].items():
        acc = np.asarray(r["val_acc"])
        rows.append((result["labels"][start], f"{acc[:, early].mean():.3f}",
                     f"{acc.mean():.3f}", f"{acc[:, -1].mean():.3f}", f"{np.mean(r['test_acc']):.3f}",
                     f"{np.mean(r['x_class_acc']):.3f}", f"{np.mean(r['relative_change']):.2f}"))
    ui.print_table(
        f"learning curves ({curve[-1]} steps; early = step {curve[early]}),"
        " first-layer change ||dW||/||W0||",
        ["init", "val early", "val mean", "val final", "test", "test, X class", "moved"], rows)


def filters_command(args) -> int:
    kwargs = study_preset(args, study)
    kwargs["model"] = args.model
    if args.starts is not None:
        kwargs["starts"] = tuple(split_list(args.starts, "--starts"))
    for key in ("steps", "every", "width", "n_images"):
        if getattr(args, key) is not None:
            kwargs[key] = positive_int(getattr(args, key), f"--{key.replace('_', '-')}")
    if args.lr is not None:
        kwargs["lr"] = real_number(args.lr, "--lr", low=0, low_open=True)
    return study_command(args, "filters", "filters", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "filters", "how first-layer kernels are learned; is an X filter learned by itself?",
                     __doc__, default_seeds="8")
    p.add_argument("--starts", default=None,
                   help="comma-separated first-layer starts: random initializers (he_normal, glorot_uniform, ...), "
                        f"hand (hand-made bank, trained), hand_frozen (never trained) (default {','.join(study.STARTS)}; "
                        f"with --tiny {','.join(study.TINY['starts'])})")
    p.add_argument("--model", default="two_conv", choices=study.MODELS,
                   help="two_conv (default) or one_conv (conv, global max pool, linear read-out)")
    p.add_argument("--steps", type=int, default=None, help="training steps per run (default 600)")
    p.add_argument("--every", type=int, default=None, help="snapshot the kernels every this many steps (default 25)")
    p.add_argument("--width", type=int, default=None,
                   help="first-layer kernels (default 8; at most 8 with the hand starts)")
    p.add_argument("--n-images", dest="n_images", type=int, default=None, help="shapes images in all (default 3000)")
    p.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.02, momentum 0.9)")
    return finish_parser(p, filters_command, "--seeds, --n-images, --width, --steps")
