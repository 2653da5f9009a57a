"""Figure for the convolution study: image, kernel, feature map."""
from __future__ import annotations

import numpy as np

from . import drawn, new_figure

WORDS = {
    "en": {"title": "The X kernel stepping over an image of an X", "image": "input image (pixels)",
           "kernel": "X kernel (3x3 weights)", "map": "feature map (sum of products)",
           "column": "column (pixels)", "row": "row (pixels)", "peak": "strongest response"},
    "ja": {"title": "X の画像の上を X のカーネルが動く", "image": "入力画像(ピクセル)",
           "kernel": "X のカーネル(3x3 の重み)", "map": "特徴マップ(積の和)",
           "column": "列(ピクセル)", "row": "行(ピクセル)", "peak": "最も強い反応"},
}


@drawn
def feature_map(result, lang):
    """Three panels: the X image, the 3x3 X kernel, and the feature map with its peak marked."""
    w = WORDS[lang]
    fig, axes = new_figure(1, 3, width=11, height=3.6, title=w["title"])
    panels = (("image", result["image"]), ("kernel", result["kernel"]), ("map", result["feature_map"]))
    axes = axes[0]
    for ax, (key, array) in zip(axes, panels):
        shown = ax.imshow(np.asarray(array), cmap="RdBu_r" if key == "kernel" else "gray")
        ax.set_title(w[key])
        ax.set_xlabel(w["column"])
        ax.set_ylabel(w["row"])
        ax.grid(False)
        ax.set_xticks(range(np.shape(array)[1]))
        ax.set_yticks(range(np.shape(array)[0]))
        fig.colorbar(shown, ax=ax, fraction=0.046)
    row, col = result["peak"]
    axes[2].plot([col], [row], "r+", markersize=14, label=w["peak"])
    axes[2].legend(loc="lower right", fontsize=7)
    return fig


FIGURES = {"conv_feature_map": feature_map}
