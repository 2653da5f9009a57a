"""The conv study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'How does a kernel step over the image?',
            "ja": 'カーネルは画像の上をどう「ステップ」するのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": 'A convolution slides a small matrix of weights (the kernel, or filter) over the image. At each position it multiplies the kernel elementwise with the pixels under it and sums the products into one output pixel. initlab has this twice: conv2d_naive, four plain loops that read like the picture, and conv2d, which copies every patch into a column (im2col) and applies all filters with one matrix product. They agree to rounding error; the fast one is orders of magnitude faster. Below: an image of an X, the hand-made X kernel, and its feature map, brightest where the X is.',
    "ja": '畳み込みは小さな重み行列(カーネル、フィルター)を画像の上で滑らせます。各位置でカーネルとその下の画素を要素ごとに掛け合わせ、積の総和を出力の 1 画素にします。initlab には二通りの実装があります。図をそのままコードにした単純な 4 重ループの conv2d_naive と、すべてのパッチを列にコピーし(im2col)1 回の行列積で全フィルターを適用する conv2d です。両者は丸め誤差の範囲で一致し、conv2d は conv2d_naive より桁違いに高速です。下図は X の画像、手作りの X カーネル、そしてその特徴マップで、X のある場所が最も明るくなります。',
}
