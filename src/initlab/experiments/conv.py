"""Study 0: how a kernel steps over an image, and why the fast convolution is the same one.

An image of an X is convolved with the hand-made X kernel twice: by `conv2d_naive` (four
loops, the textbook picture) and by `conv2d` (im2col + one matrix product). The two agree to
rounding error; the fast one is much faster; the feature map peaks on the X.
"""
from __future__ import annotations

import time

import numpy as np

from .. import filters
from ..data import shapes
from ..convolution import conv2d, conv2d_naive
from . import claim

TINY = dict(size=12, batch=2, out_channels=2, repeats=1)
DEMO = dict(size=16, batch=8, out_channels=8, repeats=3)


def _best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(size=16, batch=8, out_channels=8, repeats=3, seeds=(0,), progress=None) -> dict:
    """Returns the X image, the X kernel, its feature map, naive-vs-fast agreement and timing."""
    rng = np.random.default_rng(seeds[0])
    image, _ = shapes(1, size=size, classes=("x",), noise=0.05, rng=rng)
    kernel = filters.x_shape(3).astype(np.float32)
    weight = kernel[None, None]
    fmap = conv2d(image, weight, padding=1)[0, 0]
    peak = np.unravel_index(int(np.argmax(fmap)), fmap.shape)

    x = rng.normal(size=(batch, 3, size, size)).astype(np.float32)
    w = rng.normal(size=(out_channels, 3, 3, 3)).astype(np.float32)
    fast = conv2d(x, w, padding=1)
    naive = conv2d_naive(x, w, padding=1)
    rel_diff = float(np.abs(fast - naive).max() / np.abs(naive).max())
    t_naive = _best_time(lambda: conv2d_naive(x, w, padding=1), repeats)
    if progress:
        progress(1, 2, "naive timed")
    t_fast = _best_time(lambda: conv2d(x, w, padding=1), max(repeats, 5))
    if progress:
        progress(2, 2, "fast timed")
    image_at_peak = float(image[0, 0][peak])
    return {
        "image": image[0, 0], "kernel": kernel, "feature_map": fmap, "peak": list(peak),
        "max_relative_difference": rel_diff, "naive_seconds": t_naive, "fast_seconds": t_fast,
        "speedup": t_naive / t_fast,
        "claims": [
            claim("conv2d (im2col + one matrix product) equals conv2d_naive (loops) to float32 rounding",
                  rel_diff < 1e-5, ja="conv2d(im2col と 1 回の行列積)は conv2d_naive(ループ)と float32 の"
                  "丸め誤差の範囲で一致する", max_relative_difference=rel_diff),
            claim("the fast convolution is at least 10x faster than the loops",
                  t_naive / t_fast > 10, ja="高速版の畳み込み(conv2d)はループ版より 10 倍以上速い", speedup=t_naive / t_fast),
            claim("the X kernel responds most strongly on the drawn X (a bright pixel)",
                  image_at_peak > 0.5 * float(image.max()),
                  ja="X カーネルは描かれた X の上(明るい画素)で最も強く反応する", image_value_at_peak=image_at_peak,
                  image_max=float(image.max())),
        ],
    }
