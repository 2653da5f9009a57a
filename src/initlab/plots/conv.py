"""Figure for the convolution study: image, kernel, feature map."""
from __future__ import annotations

import numpy as np

from . import new_figure


def feature_map(result):
    """Three panels: the X image, the 3x3 X kernel, and the feature map with its peak marked."""
    fig, axes = new_figure(1, 3, width=11, height=3.6, title="The X kernel stepping over an image of an X")
    panels = (("input image (pixels)", result["image"]), ("X kernel (3x3 weights)", result["kernel"]),
              ("feature map (sum of products)", result["feature_map"]))
    axes = axes[0]
    for ax, (title, array) in zip(axes, panels):
        shown = ax.imshow(np.asarray(array), cmap="gray" if "kernel" not in title else "RdBu_r")
        ax.set_title(title)
        ax.set_xlabel("column (pixels)")
        ax.set_ylabel("row (pixels)")
        ax.grid(False)
        ax.set_xticks(range(np.shape(array)[1]))
        ax.set_yticks(range(np.shape(array)[0]))
        fig.colorbar(shown, ax=ax, fraction=0.046)
    row, col = result["peak"]
    axes[2].plot([col], [row], "r+", markersize=14, label="strongest response")
    axes[2].legend(loc="lower right", fontsize=7)
    return fig


FIGURES = {"conv_feature_map": feature_map}
