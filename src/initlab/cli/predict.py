"""`initlab predict CHECKPOINT INPUTS...`: the class of each image, with its probability.

INPUTS are pictures (PNG, JPEG, ...), NumPy arrays (.npy: (H, W), (N, H, W) or (N, C, H, W))
or IDX files. A picture becomes grayscale for a one-channel model (Pillow's L = 0.299 R +
0.587 G + 0.114 B) or RGB for a three-channel one; integer pixels are divided by 255, float
arrays taken as intensities in [0, 1]. Each image is resized to the model's input size
(bilinear) and standardized with the mean and std its checkpoint stores. The datasets are
bright ink on a dark background: --invert for dark ink on paper. Prints a table (input, class,
probability, runner-up); --json prints a list of {input, class, index, probabilities}.
"""
from __future__ import annotations

import json

import numpy as np

from . import _trained, ui

ORDER = 14


def run(args) -> int:
    model = _trained.load(args.checkpoint, quiet=args.json)
    x, labels = _trained.images(model, args.inputs, args.invert, "INPUTS")
    proba = _trained.run_model("INPUTS", model.predict_proba, x)
    best = np.argmax(proba, axis=1)
    names = model.class_names
    if args.json:
        print(json.dumps([{"input": label, "class": names[k], "index": int(k),
                           "probabilities": {name: float(p) for name, p in zip(names, row)}}
                          for label, k, row in zip(labels, best, proba)], indent=1))
        return 0
    rows = []
    for label, k, row in zip(labels, best, proba):
        second = int(np.argsort(row)[-2]) if len(row) > 1 else None
        runner = "-" if second is None else f"{names[second]} ({ui.number(float(row[second]))})"
        rows.append((label, names[k], float(row[k]), runner))
    ui.print_table(f"predictions of {args.checkpoint}", ["input", "class", "probability", "runner-up"], rows)
    return 0


def register(sub):
    p = sub.add_parser("predict", help="classify images with a trained model (table, or --json)",
                       description=__doc__)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a model saved by 'initlab train --save PATH'")
    p.add_argument("inputs", metavar="INPUTS", nargs="+", help="image files (PNG, JPEG, ...), .npy arrays or IDX files")
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    p.add_argument("--invert", action="store_true",
                   help="dark ink on a light background: use 1 - x (the datasets are bright ink on dark)")
    p.set_defaults(func=run)
    return p
