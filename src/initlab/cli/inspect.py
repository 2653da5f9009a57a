"""`initlab inspect CHECKPOINT`: look inside a trained model.

Prints the model's summary (layers, output shapes, parameters, the init of each weight) and,
for every Conv2D/Dense weight, its std now beside the std its init scheme aimed at (e.g.
he_normal: sqrt(2 / fan_in)): a ratio far from 1 shows how far training moved it. Writes each
conv layer's filters as a mosaic PNG to --out. With --image FILE (a picture, a .npy array or an
IDX file, read as `initlab predict` reads it; the first image of an array), also prints the
prediction and writes the feature maps of every conv layer for that image.
"""
from __future__ import annotations

from pathlib import Path

from ..layers import Conv2D
from ..plots import save
from ..plots import trained as figures
from . import _trained, ui
from ._paths import check_not_empty, check_writable_folder

ORDER = 13


def _summary(model, shape):
    rows = model.model.summary_rows(shape)
    ui.print_table("model", ["layer", "output shape", "params", "init"],
                   [(name, "(" + ", ".join(map(str, out)) + ")", f"{count:,}", inits)
                    for name, out, count, inits in rows])
    print(f"total parameters: {model.model.num_parameters():,}")


def _stats(model):
    rows = [(r["layer"], "x".join(map(str, r["shape"])), r["init"],
             "-" if r["target_std"] is None else r["target_std"], r["std"],
             "-" if r["ratio"] is None else r["ratio"], r["mean"]) for r in model.weight_stats()]
    ui.print_table("weights now vs the init they were drawn from",
                   ["layer", "weight", "init", "init's std", "std now", "ratio", "mean now"], rows)


def run(args) -> int:
    check_not_empty(args.out, "--out", "a folder path")
    model = _trained.load(args.checkpoint)
    image = label = None
    if args.image is not None:
        x, labels = _trained.images(model, [args.image], args.invert, "--image")
        image, label = x[:1], labels[0]
    shape = model.image_shape or (None if image is None else image.shape[1:])
    if shape is not None:
        _trained.run_model("--image", _summary, model, shape)
    else:
        print("(no model summary: the checkpoint does not record the input size; give --image FILE)")
    _stats(model)
    if "test_accuracy" in model.state:
        print(f"test accuracy when saved: {ui.number(float(model.state['test_accuracy']))}")

    out = Path(args.out)
    check_writable_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Conv2D):
            fig = figures.filters(layer.weight, f"{index} Conv2D", layer.init_names.get("weight", "?"))
            written.append(save(fig, out / f"filters_layer{index}.png"))
    if image is not None:
        proba = _trained.run_model("--image", model.predict_proba, image)[0]
        best = int(proba.argmax())
        prediction = f"class {model.class_names[best]}, probability {ui.number(float(proba[best]))}"
        print(f"{label}: {prediction}")
        for index, name, maps in model.feature_maps(image):
            fig = figures.feature_maps(image[0], maps, name, prediction)
            written.append(save(fig, out / f"feature_maps_layer{index}.png"))
    print(f"wrote {len(written)} figures to {out}")
    return 0


def register(sub):
    p = sub.add_parser("inspect", help="a trained model's summary, filters, weight statistics and feature maps",
                       description=__doc__)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a model saved by 'initlab train --save PATH'")
    p.add_argument("--image", metavar="FILE", help="an image (PNG, JPEG, ...), .npy array or IDX file: "
                                                   "its prediction and feature maps")
    p.add_argument("--invert", action="store_true", help="dark ink on a light background: use 1 - x")
    p.add_argument("--out", default="initlab-inspect", metavar="DIR",
                   help="folder for the PNG figures (default initlab-inspect; files of the same name are replaced)")
    p.set_defaults(func=run)
    return p
