"""`initlab pretrain`: filters trained in a preprocessing step (transfer, unsupervised pretraining).

The first conv layer of a small digits CNN starts from random (He) filters, from the filters of
the same net trained first on the synthetic shapes (transfer), from a denoising convolutional
autoencoder on the unlabelled images, or from k-means/PCA of image patches; each net is then
fine-tuned with few or many labelled images (default 50, 100, 300 and all), and, as a control,
trained with that first layer frozen. Over seeds (default 8): test accuracy and steps to a
threshold per start and label count, and the claims decided over the seeds. Writes
result.json, timing.json, the finished tasks and the figures to --out.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidValueError
from ..experiments import pretrain as study
from . import ui
from ._common import add_size_options, finish_parser, given_options, study_command, study_parser, study_preset
from ._options import MAX_STEPS, check_at_most, split_list

ORDER = 27


def _labels(text):
    values = []
    for item in split_list(text, "--labels"):
        if item == "all":
            values.append(item)
            continue
        try:
            values.append(int(item))
        except ValueError:
            raise InvalidValueError(f"--labels: expected whole numbers or 'all', got {item!r}") from None
    return tuple(values)


def _print_tables(result):
    s = result["settings"]
    rows = []
    for r in result["runs"].values():
        reached = [v for v in r["steps_to_threshold"] if v is not None]
        median = f"{np.median(reached):g}" if len(reached) > len(r["steps_to_threshold"]) / 2 else "never"
        rows.append((r["start"], "frozen" if r["frozen"] else "fine-tuned", r["labels"],
                     ui.number(float(np.median(r["accuracy"]))), ui.number(float(np.median(r["moved"]))),
                     median, f"{len(reached)}/{len(r['steps_to_threshold'])}"))
    ui.print_table(f"medians over seeds ({s['steps']} steps; threshold: {s['fraction']:g} of the way from chance to "
                   "the best median accuracy at the label count)",
                   ["start", "first layer", "labels", "test accuracy", "filters moved", "steps to threshold",
                    "reached"], rows)


def pretrain(args) -> int:
    kwargs = study_preset(args, study)
    for key in ("starts", "frozen"):
        if getattr(args, key) is not None:
            kwargs[key] = tuple(split_list(getattr(args, key), f"--{key}")) if getattr(args, key) else ()
    if args.labels is not None:
        kwargs["labels"] = _labels(args.labels)
    if args.pretrain_steps is not None:
        check_at_most(args.pretrain_steps, MAX_STEPS, "--pretrain-steps")
    kwargs.update(given_options(args, ("width", "steps", "pretrain_steps")))
    return study_command(args, "pretrain", "pretrain", kwargs, _print_tables)


def register(sub):
    p = study_parser(sub, "pretrain", "random vs transferred vs pretrained (autoencoder) first-layer filters, "
                                      "few labels and many", __doc__, default_seeds="8")
    p.add_argument("--starts", default=None,
                   help="among random, transfer, autoencoder, kmeans, pca (default all; random is required)")
    p.add_argument("--frozen", default=None,
                   help="starts also run with the first layer frozen (default: random, transfer and autoencoder, those among --starts; "" for none)")
    p.add_argument("--labels", default=None, help="labelled training images, e.g. 50,100,300,all (default)")
    add_size_options(p, width="filters in the first conv layer (default 8)", steps="fine-tuning steps per run (default 300)",
                     pretrain_steps="steps of the transfer source training and of the autoencoder (default 400)")
    return finish_parser(p, pretrain, "--seeds, --width, --steps, --pretrain-steps")
