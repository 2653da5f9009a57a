"""Synthetic images of stroke shapes (x, o, plus, ...), drawn anti-aliased at random places.

Every image array is NCHW float32; every label array is int64.
"""
from __future__ import annotations

import numpy as np

from .. import errors
from ..errors import InvalidValueError
from ..rng import as_generator
from ..validate import positive_int, real_number

SHAPE_CLASSES = ("x", "o", "plus", "square", "hline", "vline", "diag", "antidiag")

# Each stroke shape is a list of segments ((x0, y0), (x1, y1)) in units of the shape's half
# extent r, centred on the origin; y grows downwards as in an image, so "diag" is "\".
_C = 0.8  # corners sit a little inside r so that x/square/diag are not larger than plus/lines
_SEGMENTS = {
    "x": [((-_C, -_C), (_C, _C)), ((-_C, _C), (_C, -_C))],
    "plus": [((-1, 0), (1, 0)), ((0, -1), (0, 1))],
    "square": [((-_C, -_C), (_C, -_C)), ((_C, -_C), (_C, _C)),
               ((_C, _C), (-_C, _C)), ((-_C, _C), (-_C, -_C))],
    "hline": [((-1, 0), (1, 0))],
    "vline": [((0, -1), (0, 1))],
    "diag": [((-_C, -_C), (_C, _C))],
    "antidiag": [((-_C, _C), (_C, -_C))],
}
_RING_RADIUS = 0.85  # "o": a ring of radius 0.85 r


def _segment_distance(px, py, seg, cx, cy, r):
    """Distance from every pixel to one segment, for m images at once -> (m, H*W).

    d = |P - A - t (B - A)| with t = clip(<P - A, B - A> / |B - A|^2, 0, 1).
    """
    (x0, y0), (x1, y1) = seg
    ax, ay = cx + x0 * r, cy + y0 * r                    # (m, 1)
    bx, by = cx + x1 * r, cy + y1 * r
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - ax - t * dx, py - ay - t * dy)


def _shape_distance(name, px, py, cx, cy, r):
    """Distance from every pixel to the shape `name` (m images) -> (m, H*W)."""
    if name == "o":
        return np.abs(np.hypot(px - cx, py - cy) - _RING_RADIUS * r)
    dist = [_segment_distance(px, py, seg, cx, cy, r) for seg in _SEGMENTS[name]]
    return np.minimum.reduce(dist)


def _check_classes(classes) -> tuple[str, ...]:
    if isinstance(classes, str):
        classes = (classes,)
    try:
        classes = tuple(classes)
    except TypeError:               # None, a number: not a name nor a collection of names
        raise InvalidValueError(f"classes: expected a shape class name or a list of them "
                                f"(from {', '.join(SHAPE_CLASSES)}), got {classes!r}") from None
    if not classes:
        raise InvalidValueError("classes: expected at least one shape class, got none")
    for name in classes:
        if name not in SHAPE_CLASSES:
            raise errors.unknown_name("shape class", name, SHAPE_CLASSES)
    if len(set(classes)) != len(classes):
        raise InvalidValueError(f"classes: each shape class may appear once, got {classes}")
    return classes


def _balanced_labels(n: int, k: int) -> np.ndarray:
    """n labels over k classes: n // k each, the remainder given to the first n % k classes."""
    counts = np.full(k, n // k)
    counts[: n % k] += 1
    return np.repeat(np.arange(k, dtype=np.int64), counts)


def shapes(n, size=16, classes=SHAPE_CLASSES, noise=0.1, rng=None):
    """Synthetic images of stroke shapes -> (x float32 (n, 1, size, size), y int64 (n,)).

    Each image draws one shape (y indexes `classes`) at a random centre, with a random half
    extent r ~ U(0.45, 0.9) * (size - 1) / 2 and stroke width w ~ U(1, 2) * max(1, size / 16)
    pixels, anti-aliased: pixel = clip(w / 2 + 1/2 - distance_to_shape, 0, 1), then
    N(0, noise^2) is added. Classes are balanced (n // k each, the remainder spread over the
    first classes) and shuffled. "o" is a ring, "square" an outline, "x" two crossing
    diagonals, "plus" crossing horizontal/vertical lines, "diag" is "\\", "antidiag" is "/".
    """
    n = positive_int(n, "n")
    size = positive_int(size, "size", minimum=8)
    noise = real_number(noise, "noise", low=0.0)
    classes = _check_classes(classes)
    gen = as_generator(rng)

    y = gen.permutation(_balanced_labels(n, len(classes)))
    half = (size - 1) / 2
    r = gen.uniform(0.45, 0.9, n) * half
    cx = gen.uniform(0.0, 1.0, n) * (size - 1 - 2 * r) + r   # keeps the shape inside
    cy = gen.uniform(0.0, 1.0, n) * (size - 1 - 2 * r) + r
    width = gen.uniform(1.0, 2.0, n) * max(1.0, size / 16)

    rows, cols = np.mgrid[0:size, 0:size]
    px, py = cols.reshape(1, -1).astype(np.float64), rows.reshape(1, -1).astype(np.float64)
    dist = np.empty((n, size * size))
    for k, name in enumerate(classes):
        idx = np.flatnonzero(y == k)
        dist[idx] = _shape_distance(name, px, py, cx[idx, None], cy[idx, None], r[idx, None])
    img = np.clip(width[:, None] / 2 + 0.5 - dist, 0.0, 1.0).astype(np.float32)
    if noise > 0:
        img += np.float32(noise) * gen.standard_normal(img.shape, dtype=np.float32)
    return img.reshape(n, 1, size, size), y
