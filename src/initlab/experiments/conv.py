"""Study 0: how a kernel steps over an image, and why the fast convolution is the same one.

Per seed, an image of an X (drawn at a random place and size, with noise) is convolved with the
hand-made X kernel, and a random batch (x: (batch, 3, size, size), w: (out_channels, 3, 3, 3))
is convolved twice: by `conv2d_naive` (four loops, the textbook picture) and by `conv2d`
(im2col + one matrix product). Measured: the largest difference between the two relative to
the largest output, where the X kernel's feature map peaks, and the pixel under that peak.

How long each took is measured too, but wall-clock time differs from run to run (and with
what else the machine does), so it lives under "speed" -> "timing": `lab.study.without_timing`
strips it from results.json, which then holds the same bits for the same seeds.
"""
from __future__ import annotations

import time

import numpy as np

from .. import filters
from ..convolution import conv2d, conv2d_naive
from ..data import shapes
from ..constraints import Integer, check
from ..lab.study import SEEDS, study_runner
from ..lab.tasks import grid

NAME = "conv"
TINY = dict(size=12, batch=2, out_channels=2, repeats=1, seeds=(0, 1, 2))
DEMO = dict(size=16, batch=8, out_channels=8, repeats=3, seeds=tuple(range(8)))


OPTIONS = {"seeds": SEEDS, "size": Integer(8), "batch": Integer(1), "out_channels": Integer(1), "repeats": Integer(1)}


def check_options(size=16, batch=8, out_channels=8, repeats=3, *, seeds=tuple(range(8))) -> dict:
    """Every option checked (`OPTIONS`); a bad one is an InvalidValueError naming its keyword."""
    o = check("conv:", OPTIONS, dict(seeds=seeds, size=size, batch=batch, out_channels=out_channels, repeats=repeats))
    return dict(size=o["size"], batch=o["batch"], out_channels=o["out_channels"], repeats=o["repeats"],
                seeds=o["seeds"])



def tasks(options):
    config = {k: options[k] for k in ("size", "batch", "out_channels", "repeats")}
    return grid(NAME, [config], options["seeds"])


def _seconds(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_task(task) -> dict:
    """One seed: the X image and its feature map, naive vs fast on a random batch, and timing."""
    c = task.config
    rng = task.rng("data")
    image, _ = shapes(1, size=c["size"], classes=("x",), noise=0.05, rng=rng)
    kernel = filters.x_shape(3).astype(np.float32)
    fmap = conv2d(image, kernel[None, None], padding=1)[0, 0]
    peak = np.unravel_index(int(np.argmax(fmap)), fmap.shape)
    x = rng.normal(size=(c["batch"], 3, c["size"], c["size"])).astype(np.float32)
    w = rng.normal(size=(c["out_channels"], 3, 3, 3)).astype(np.float32)
    naive, t_naive = _seconds(lambda: conv2d_naive(x, w, padding=1))     # the loops run once: they are slow
    fast, t_fast = _seconds(lambda: conv2d(x, w, padding=1))
    for _ in range(c["repeats"] - 1):
        t_fast = min(t_fast, _seconds(lambda: conv2d(x, w, padding=1))[1])
    return {"image": image[0, 0], "feature_map": fmap, "peak": [int(v) for v in peak],
            "image_at_peak": float(image[0, 0][peak]), "image_max": float(image.max()),
            "max_relative_difference": float(np.abs(fast - naive).max() / np.abs(naive).max()),
            "timing": {"naive_seconds": t_naive, "fast_seconds": t_fast}}


def summarize(options, tasks, results) -> dict:
    """Measurements only (the claims are in `initlab.claims.conv`): per seed the relative
    difference fast vs naive, the pixel under the X kernel's peak and the image's brightest
    pixel; the first seed's image, kernel and feature map (for the figure); and, under
    "speed" -> "timing", the seconds each took and the median speed-up."""
    first = results[0]
    naive = [r["timing"]["naive_seconds"] for r in results]
    fast = [r["timing"]["fast_seconds"] for r in results]
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    return {"settings": settings, "seeds": [t.seed for t in tasks],
            "image": first["image"], "kernel": filters.x_shape(3).astype(np.float32),
            "feature_map": first["feature_map"], "peak": first["peak"],
            "max_relative_difference": [r["max_relative_difference"] for r in results],
            "image_at_peak": [r["image_at_peak"] for r in results], "image_max": [r["image_max"] for r in results],
            "speed": {"timing": {"naive_seconds": naive, "fast_seconds": fast,
                                 "speedup": float(np.median(np.asarray(naive) / np.asarray(fast)))}}}


run = study_runner(__name__)     # run(progress=None, **options): the whole study in this process
