"""Figures of a trained model (floor 7): its conv filters as a mosaic, and the feature maps of
one image (`initlab inspect`)."""
from __future__ import annotations

import math

import numpy as np

from . import new_figure

MAX_OUT = 64     # filters (rows) shown per layer
MAX_IN = 16      # input channels (columns) shown per filter


def tile(tiles, cols: int, gap: int = 1) -> np.ndarray:
    """(n, h, w) tiles laid out row by row, `cols` per row, NaN in the gaps (drawn blank)."""
    tiles = np.asarray(tiles, dtype=float)
    n, h, w = tiles.shape
    rows = math.ceil(n / cols)
    image = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        image[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tiles[k]
    return image


def _bare(ax):
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])


def filters(weight, label: str, init_spec: str = "?"):
    """A conv weight (out, in, kh, kw) as a mosaic on one colour scale symmetric around 0 (red
    positive, blue negative): one-channel filters in a near-square grid; otherwise one row per
    filter and one column per input channel (at most MAX_OUT x MAX_IN shown)."""
    weight = np.asarray(weight, dtype=float)
    out, cin, kh, kw = weight.shape
    shown = weight[:MAX_OUT, :MAX_IN]
    if cin == 1:
        cols = math.ceil(math.sqrt(len(shown)))
        image = tile(shown[:, 0], cols)
        xlabel, ylabel = f"filters, {cols} per row ({kh}x{kw} weights each)", "filters (rows)"
    else:
        image = tile(shown.reshape(-1, kh, kw), shown.shape[1])
        xlabel, ylabel = f"input channel (1 to {shown.shape[1]} of {cin})", f"filter (1 to {shown.shape[0]} of {out})"
    peak = float(np.abs(weight).max()) or 1.0
    height = min(2.0 + image.shape[0] * 0.06, 12.0)
    width = min(3.0 + image.shape[1] * 0.06, 12.0)
    fig, ax = new_figure(width=max(width, 4.5), height=max(height, 3.5),
                         title=f"layer {label}: {out} filters of {cin}x{kh}x{kw} (init {init_spec})")
    shown_image = ax.imshow(image, cmap="RdBu_r", vmin=-peak, vmax=peak, interpolation="nearest")
    _bare(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(shown_image, ax=ax, fraction=0.046, label="weight")
    return fig


def feature_maps(image, maps, label: str, prediction: str):
    """The input image (left) and the feature maps of one layer, maps (channels, H, W), each
    channel in a tile of a near-square grid, on one colour scale for the layer."""
    image = np.asarray(image, dtype=float)
    maps = np.asarray(maps, dtype=float)[:MAX_OUT]
    cols = math.ceil(math.sqrt(len(maps)))
    fig, axes = new_figure(1, 2, width=10, height=4.6,
                           title=f"feature maps of layer {label} for this image ({prediction})")
    left, right = axes[0]
    shown = left.imshow(image[0] if image.shape[0] == 1 else np.clip(image.transpose(1, 2, 0), 0, 1),
                        cmap="gray", interpolation="nearest")
    left.set_title(f"input ({image.shape[1]}x{image.shape[2]} pixels, raw)")
    left.set_xlabel("column (pixels)")
    left.set_ylabel("row (pixels)")
    left.grid(False)
    if image.shape[0] == 1:
        fig.colorbar(shown, ax=left, fraction=0.046, label="intensity")
    finite = maps[np.isfinite(maps)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    drawn = right.imshow(tile(maps, cols), cmap="viridis", vmin=low, vmax=high if high > low else low + 1,
                         interpolation="nearest")
    _bare(right)
    right.set_title(f"{len(maps)} channels, {maps.shape[1]}x{maps.shape[2]} each")
    right.set_xlabel(f"channels, {cols} per row")
    right.set_ylabel("channels (rows)")
    fig.colorbar(drawn, ax=right, fraction=0.046, label="activation")
    return fig
