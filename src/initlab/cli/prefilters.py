"""`initlab prefilters`: filters from a random start, chosen by hand, or computed from the data.

Trains the same small CNN on the shapes and digits data from five first layers: random He
init, hand-made filters (Sobel, X, ...), k-means centroids of whitened image patches, PCA
components of image patches, and the control he_unit (He's very draws scaled, like the
hand-made and data-driven ones, to unit output variance, so that a start's directions are
compared at the same scale), over seeds (default 8). Prints steps to a threshold accuracy and
how far the first-layer filters move, and the claims decided over the seeds. The runs are a
grid of tasks run in parallel (--jobs, or a Dask cluster); writes result.json, timing.json, the
finished tasks and the figures (PNG) to --out.
"""
from __future__ import annotations


from ..experiments import prefilters as study
from . import ui
from ._common import finish_parser, given_options, study_command, study_parser, study_preset
from ._options import split_list

ORDER = 26


def _steps_text(r):
    seeds = ", ".join("-" if s is None else str(s) for s in r["steps_to_threshold"])
    median = r["median_steps_to_threshold"]
    return ("never" if median is None else f"{median:g}"), seeds


def _print_tables(result):
    for name, ds in result["datasets"].items():
        rows = []
        for start, r in ds["starts"].items():
            median, seeds = _steps_text(r)
            rows.append((start, f"{r['reached']}/{len(r['final_val_acc'])}", median, seeds,
                         f"{r['mean_final_val_acc']:.3f}", f"{r['mean_relative_change']:.2f}",
                         f"{r['mean_cosine_to_start']:.3f}",
                         f"{r['mean_best_score_before']:.2f}>{r['mean_best_score_after']:.2f}"))
        ui.print_table(
            f"{name}: steps to {ds['threshold']:.0%} val. accuracy ({ds['budget']} steps in all; - = never), "
            "filter movement ||dW||/||W0|| and cosine to start, template score before>after (means over seeds)",
            ["init", "reached", "median steps", "per seed", "final acc", "moved", "cos", "template"],
            rows)


def prefilters(args) -> int:
    kwargs = study_preset(args, study)
    kwargs.update(datasets=tuple(split_list(args.data, "--data")), starts=tuple(split_list(args.starts, "--starts")),
                  **given_options(args, ("epochs", "n_train", "width", "kernel_size")))
    if args.threshold is not None:
        kwargs["thresholds"] = {name: args.threshold for name in kwargs["datasets"]}
    return study_command(args, "prefilters", "prefilters", kwargs, _print_tables,
                         renamed={"datasets": "data", "thresholds": "threshold"})


def register(sub):
    p = study_parser(sub, "prefilters", "random vs hand-made vs data-driven (k-means, PCA) first-layer filters",
                     __doc__, default_seeds="8")
    p.add_argument("--data", default="shapes,digits", help="comma-separated datasets: shapes, digits")
    p.add_argument("--starts", default=",".join(study.STARTS),
                   help=f"comma-separated first-layer starts among {', '.join(study.ALL_STARTS)} (default all; "
                        "he_unit: He's random draws scaled to unit output variance, the control the direction "
                        "claims are decided against)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 4)")
    p.add_argument("--n-train", dest="n_train", type=int, default=None, help="training images per dataset (default 1400)")
    p.add_argument("--width", type=int, default=None, help="first-layer filters (default 8)")
    p.add_argument("--kernel-size", dest="kernel_size", type=int, default=None, help="first-layer kernel size (default 3)")
    p.add_argument("--threshold", type=float, default=None,
                   help="validation accuracy to reach, for every dataset (default 0.9)")
    return finish_parser(p, prefilters, "--seeds, --n-train, --width, --epochs")

