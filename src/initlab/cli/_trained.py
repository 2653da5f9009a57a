"""Loading a checkpoint for `initlab predict` and `initlab inspect`: errors name CHECKPOINT, and
what an old checkpoint lacks is said in one line on stderr."""
from __future__ import annotations

import sys

from .. import trained
from ..errors import InitlabError, ShapeError
from . import _images
from ._options import named


def load(path, quiet: bool = False) -> trained.TrainedModel:
    try:
        model = trained.load(path, warn=False)
    except InitlabError as exc:
        raise named("CHECKPOINT", exc) from None
    if model.missing and not quiet:
        print(f"initlab: note: {model.missing_note()}", file=sys.stderr)
    elif model.recomputed and not quiet:
        args = model.state["args"]
        print(f"initlab: note: checkpoint {str(path)!r} does not store its input normalization; recomputed "
              f"from its run's data (--data {args['data']}, --seed {args.get('seed', 0)})", file=sys.stderr)
    return model


def images(model: trained.TrainedModel, paths, invert: bool, option: str):
    """Raw images for `model` from files: its channel count, resized to its input size."""
    size = None if model.image_shape is None else model.image_shape[1:]
    channels = model.image_shape[0] if model.image_shape else (model.in_channels or 1)
    return _images.read(paths, channels=channels, size=size, invert=invert, option=option)


def run_model(option: str, compute, *args, **kwargs):
    """compute(*args, **kwargs), a ShapeError (an image of a size the model cannot take, when the
    checkpoint does not record its input size) named by `option`."""
    try:
        return compute(*args, **kwargs)
    except ShapeError as exc:
        raise named(option, exc) from None
