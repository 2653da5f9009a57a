"""The conv study's claims and prose: deterministic facts, checked for every seed."""
from __future__ import annotations

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'How does a kernel step over the image?',
            "ja": 'カーネルは画像の上をどう「ステップ」するのか?'}

ROUNDING = 1e-5      # float32 keeps ~7 digits; the two paths sum the same 27 products in another order
BRIGHT = 0.5         # a pixel on the drawn X: at least half the image's brightest


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    text = EXPLANATION[lang]
    speedup = result.get("speed", {}).get("timing", {}).get("speedup")
    if speedup is not None:
        n = len(result["speed"]["timing"]["naive_seconds"])
        text += SPEED[lang].format(speedup=speedup, n=n)
    return text


EXPLANATION = {
    "en": 'A convolution slides a small matrix of weights (the kernel, or filter) over the image. At each position it multiplies the kernel elementwise with the pixels under it and sums the products into one output pixel. initlab has this twice: conv2d_naive, four plain loops that read like the picture, and conv2d, which copies every patch into a column (im2col) and applies all filters with one matrix product. Below: an image of an X, the hand-made X kernel, and its feature map.',
    "ja": '畳み込みは小さな重み行列(カーネル、フィルター)を画像の上で滑らせます。各位置でカーネルとその下の画素を要素ごとに掛け合わせ、積の総和を出力の 1 画素にします。initlab には二通りの実装があります。図をそのままコードにした単純な 4 重ループの conv2d_naive と、すべてのパッチを列にコピーし(im2col)1 回の行列積で全フィルターを適用する conv2d です。下図は X の画像、手作りの X カーネル、そしてその特徴マップです。',
}
SPEED = {
    "en": " On this machine, in this run, conv2d took 1/{speedup:.0f} of conv2d_naive's time (median over {n} seeds; wall-clock time, so it varies from run to run and is not a claim).",
    "ja": " このマシンでのこの実行では、conv2d の時間は conv2d_naive の 1/{speedup:.0f} でした({n} シードの中央値。実時間なので実行ごとに変わり、主張には含めません)。",
}


def fast_equals_naive(result):
    return verdicts.every([d < ROUNDING for d in result["max_relative_difference"]],
                          what=f"max |conv2d - conv2d_naive| / max |conv2d_naive| < {ROUNDING:g}")


def peak_on_the_x(result):
    return verdicts.every([v > BRIGHT * m for v, m in zip(result["image_at_peak"], result["image_max"])],
                          what="the feature map's peak on a bright pixel of the X")


def _words(result):
    return {"tol": ROUNDING, "n": len(result["seeds"])}


CLAIMS = [
    Claim("fast_equals_naive",
          en="conv2d (im2col + one matrix product) equals conv2d_naive (loops) to float32 rounding "
             "(largest difference below {tol:g} of the largest output) on the random batch of every seed",
          ja="どのシードのランダムなバッチでも、conv2d(im2col と 1 回の行列積)は conv2d_naive(ループ)と float32 の"
             "丸め誤差の範囲で一致する(最大の差が最大出力の {tol:g} 未満)",
          rule=fast_equals_naive, words=_words),
    Claim("peak_on_the_x",
          en="the X kernel responds most strongly on the drawn X (the pixel under its feature map's peak is at least "
             "half as bright as the image's brightest) for every seed's image",
          ja="どのシードの画像でも、X カーネルは描かれた X の上で最も強く反応する(特徴マップの最大値の位置の画素が、"
             "画像の最も明るい画素の半分以上の明るさ)",
          rule=peak_on_the_x, words=_words),
]


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'conv_feature_map': 'X の画像、手作りの 3x3 の X カーネル、その特徴マップ(積の総和)。X の中心で反応が最も強くなる(印)。',
}
