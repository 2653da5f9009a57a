"""The demo's HTML report (floor 7): one self-contained page, every figure embedded.

`write_report(path, sections, lang="en")` takes the sections in reading order; each is a dict
with "id", "figures" (PNG paths), "claims" (the studies' claim records) and "numbers" (a flat
dict of measured values). The prose (question, explanation) comes from `PROSE` by section id,
in English or Japanese; so do the claims (their "claim" or "claim_ja"). Figures and the
measured numbers' names stay in English in both.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

from . import __version__, atomic
from .errors import UnknownNameError

LANGS = ("en", "ja")

PROSE = {
    "conv": {
        "en": ("How does a kernel step over the image?",
               "A convolution slides a small matrix of weights (the kernel, or filter) over the image. "
               "At each position it multiplies the kernel elementwise with the pixels under it and sums the "
               "products into one output pixel. initlab has this twice: conv2d_naive, four plain loops that read "
               "like the picture, and conv2d, which copies every patch into a column (im2col) and applies all "
               "filters with one matrix product. They agree to rounding error; the fast one is orders of magnitude "
               "faster. Below: an image of an X, the hand-made X kernel, and its feature map, brightest where the X is."),
        "ja": ("カーネルは画像の上をどう「ステップ」するのか?",
               "畳み込みは小さな重み行列(カーネル、フィルター)を画像の上で滑らせます。各位置でカーネルとその下の画素を"
               "要素ごとに掛け合わせ、積の総和を出力の 1 画素にします。initlab には二通りの実装があります。図をそのまま"
               "コードにした単純な 4 重ループの conv2d_naive と、すべてのパッチを列にコピーし(im2col)1 回の行列積で全"
               "フィルターを適用する conv2d です。両者は丸め誤差の範囲で一致し、conv2d は conv2d_naive より桁違いに高速です。"
               "下図は X の画像、手作りの X カーネル、そしてその特徴マップで、X のある場所が最も明るくなります。"),
    },
    "symmetry": {
        "en": ("Why random, and not all zeros? (symmetry breaking)",
               "If every filter of a layer starts with the same weights, every filter computes the same output, "
               "receives the same gradient, and takes the same step: in exact arithmetic they stay identical forever, "
               "and the layer behaves like a single filter. From all zeros with ReLU the gradients are exactly zero "
               "and nothing but the last bias moves. A random start makes the filters different with probability "
               "one, so they can learn different features. The pairwise cosine similarity of the filters shows it: "
               "1.0 means the symmetry was never broken. (The study runs in float64; in float32 the BLAS rounds "
               "different output columns differently, and that rounding noise alone slowly splits a constant start: "
               "a random init breaks the symmetry on purpose, rounding only by accident.)"),
        "ja": ("なぜランダムにするのか? すべて 0 ではいけないのか(対称性の破れ)",
               "ある層のフィルターがすべて同じ重みで始まると、どのフィルターも同じ出力を出し、同じ勾配を受け、同じだけ"
               "更新されます。丸め誤差のない厳密な計算ではいつまでも同一のままで、層は 1 つのフィルターと同じ働きしかしません。"
               "ReLU を使ってすべて 0 から始めると勾配はちょうど 0 になり、最終層のバイアス以外は何も動きません。ランダムに"
               "始めればフィルターは確率 1 で互いに異なり、異なる特徴を学べます。フィルター同士のコサイン類似度がそれを示します。"
               "1.0 は対称性が一度も破れなかったことを意味します。(この実験は float64 で行います。float32 では BLAS が出力の列"
               "ごとに異なる丸めを行い、その丸めの違いだけで、定数で初期化したフィルターも少しずつ分かれていきます。ランダム"
               "初期化は対称性を意図して破り、丸めは偶然に破るにすぎません。)"),
    },
    "zero_mean": {
        "en": ("Why zero mean?",
               "With zero-centred inputs and zero-mean weights, every unit's pre-activation is zero on average: no "
               "unit is favoured, and the signal stays centred as it goes deeper. Shift the same distribution off "
               "zero (same variance, non-zero mean) and each layer adds a systematic push in one direction: the "
               "activation mean drifts layer by layer, units saturate or all fire together, and training is slower "
               "or fails."),
        "ja": ("なぜ平均を 0 にするのか?",
               "入力がゼロ中心で重みの平均も 0 なら、どのユニットの前活性化(活性化関数に入る前の値)も平均 0 で、特定の"
               "ユニットが優遇されず、深い層に進んでも信号は 0 を中心としたままです。同じ分散のまま分布を 0 からずらすと、"
               "各層が一方向への偏りを加え、活性化の平均が層ごとにずれていき、ユニットが飽和したり一斉に発火したりして、"
               "学習が遅くなるか失敗します。"),
    },
    "propagate": {
        "en": ("How large a variance?",
               "Even with zero mean, the scale matters. Each layer multiplies the signal's variance by about "
               "sigma_w^2 * fan_in * E[phi(z)^2]: below 1 the signal shrinks geometrically with depth, above 1 it "
               "explodes (or saturates tanh). Glorot (variance 2/(fan_in+fan_out)) keeps a tanh stack near 1; He "
               "(2/fan_in) compensates for ReLU zeroing half the signal; LSUV rescales each layer on real data until "
               "its output variance is 1. The lines are measured per layer; the dashed lines are the mean-field "
               "prediction. The theory describes the average over random weight draws: a single narrow net (16 "
               "channels) drifts away from it layer after layer, so one He-initialized net can end up several times "
               "above or below the input scale after 30 layers while the average stays flat; wider nets drift less."),
        "ja": ("分散はどれくらいにすべきか?",
               "平均が 0 でも、スケールは重要です。各層は信号の分散をおよそ sigma_w^2 * fan_in * E[phi(z)^2] 倍にします。"
               "この倍率が 1 より小さければ信号は深さとともに幾何級数的に縮み、大きければ爆発します(tanh なら飽和)。"
               "Glorot(分散 2/(fan_in+fan_out))"
               "は tanh の積み重ねで 1 付近を保ち、He(2/fan_in)は ReLU が信号の半分を 0 にする分を補います。LSUV は実データ上で"
               "各層の出力分散が 1 になるまで重みを再スケールします。実線は層ごとの実測値、破線は平均場理論の予測です。"
               "理論が表すのは重みを何度もランダムに引いたときの平均です。幅の狭いネットワーク(16 チャネル)を 1 つだけ取ると、"
               "層を経るごとに理論値から離れていくため、He 初期化でも 30 層を経ると入力のスケールの数倍にも数分の一にも"
               "なることがありますが、平均はほぼ一定に保たれます。幅が広いほどずれは小さくなります。"),
    },
    "depth": {
        "en": ("Does it matter for training?",
               "In deep plain networks (no batch normalization, no skip connections) the initialization decides "
               "whether training starts at all. With ReLU, Glorot's variance is half of what keeps the signal "
               "alive, so the gradient reaching the first layer shrinks by about 2^(-(L-1)/2); He's does not. The "
               "curves show the loss of nets of increasing depth, and the table the steps each init needs to reach "
               "a loss threshold (He et al. 2015, Figure 3)."),
        "ja": ("学習に影響するのか?",
               "深いプレーンなネットワーク(バッチ正規化なし、スキップ接続なし)では、初期化によって学習がそもそも始まるかどうかが"
               "決まります。"
               "ReLU では Glorot の分散は信号を保つのに必要な値の半分しかなく、最初の層に届く勾配はおよそ 2^(-(L-1)/2) 倍に"
               "縮みますが、He ではそうなりません。曲線は深さの異なるネットワークの損失、表は各初期化が損失のしきい値に"
               "達するまでのステップ数です(He ら 2015 の図 3)。"),
    },
    "filters": {
        "en": ("How does a filter learn an X by itself?",
               "Nobody tells the network to look for an X. It starts from random kernels, and gradient descent changes "
               "each kernel in the direction that lowers the loss. What do the first layer's kernels become? Below: "
               "the kernels over training, each scored by its best normalized correlation with hand-made templates "
               "(X, plus, diagonals, lines, edges) and compared with what random kernels score by chance. Measured "
               "here, they change a lot, but into strokes and edges (single diagonals, lines), not into the X "
               "template: their X score is no better than chance. The X is recognized a layer higher, by combining "
               "diagonal-stroke detectors, as the feature maps of an X image show. A hand-made X kernel given as the "
               "start stays an X. So a network rarely needs one filter shaped like the whole X: it learns the parts, "
               "and a deeper layer assembles them."),
        "ja": ("フィルターはどうやって自分で X を学ぶのか?",
               "誰もネットワークに X を探せとは教えません。ランダムなカーネルから始まり、勾配降下法が損失を下げる方向に"
               "各カーネルを変えていきます。第 1 層のカーネルは何になるのでしょうか。下図は学習の進行に沿ったカーネルの変化です。"
               "各カーネルには手作りのテンプレート(X、十字、対角線、直線、エッジ)との正規化相関の最大値をスコアとして付け、"
               "ランダムなカーネルが偶然に得るスコアと比べています。"
               "ここでの測定では、カーネルは大きく変わりますが、X のテンプレートではなく線やエッジ(単独の対角線、直線)になり、"
               "X スコアは偶然の水準を超えません。X は一つ上の層で、対角線を検出するフィルターを組み合わせて認識されます。"
               "X の画像の特徴マップがそれを示します。手作りの X カーネルから始めると X のままです。つまりネットワークは X 全体の"
               "形をした一つのフィルターをほとんど必要とせず、部品を学び、より深い層がそれを組み立てるのです。"),
    },
    "prefilters": {
        "en": ("Trained, chosen by hand, or computed from the data?",
               "All three happen. Filters can be chosen by hand (Sobel, X), learned from a random start, or computed "
               "from the data before any gradient step: k-means centroids of whitened image patches (Coates & Ng "
               "2011) or their principal components (PCANet). The figure compares where each start goes."),
        "ja": ("フィルターは学習されるのか、人が選ぶのか、データから計算するのか?",
               "三つとも実際に行われています。手で選ぶ(Sobel、X)、ランダムな初期値から学習する、そして勾配による学習の前に"
               "データから計算する方法です。白色化した画像パッチの k-means の重心(Coates & Ng 2011)や主成分(PCANet)がその"
               "例です。図では、それぞれの初期値から学習がどこへ向かうかを比べます。"),
    },
    "cv": {
        "en": ("People tune the standard deviation by cross-validation: how?",
               "When no theory fits, the scale of the initial weights is a hyperparameter like any other: try a grid "
               "of values, estimate each one's accuracy by k-fold cross-validation, and keep the best. initlab does "
               "this through scikit-learn's own GridSearchCV over an sklearn-compatible CNN. The curve shows too small "
               "and too large a variance losing to a well-chosen one."),
        "ja": ("標準偏差は交差検証でどう調整するのか?",
               "理論が当てはまらないとき、初期重みのスケールも他と同じく一つのハイパーパラメータとして扱えます。値のグリッドを"
               "試し、k 分割交差検証でそれぞれの精度を推定し、最良のものを選びます。initlab は scikit-learn 互換の CNN に対して "
               "scikit-learn 自身の GridSearchCV でこれを行います。曲線は、分散が小さすぎても大きすぎても、適切に選んだ値より"
               "精度が劣ることを示します。"),
    },
}

CHROME = {
    "en": {"title": "initlab report: how should convolution filters be initialized?",
           "intro": "Every claim below was measured in this run; the table under each figure says whether it held.",
           "claims": "Claims checked in this run", "holds": "holds", "claim": "claim", "measured": "measured",
           "yes": "yes", "no": "NO", "numbers": "Measured numbers", "contents": "Contents",
           "generated": "Generated by initlab {version} on {date} in {seconds:.0f} s."},
    "ja": {"title": "initlab レポート: 畳み込みフィルターはどう初期化すべきか?",
           "intro": "以下の主張はすべて、この実行での測定で確かめたものです。各図の下の表に、それぞれが成り立ったかどうかを示します。",
           "claims": "この実行で確認した主張", "holds": "成否", "claim": "主張", "measured": "実測値",
           "yes": "成立", "no": "不成立", "numbers": "測定した数値", "contents": "目次",
           "generated": "initlab {version} により {date} に生成(所要 {seconds:.0f} 秒)。"},
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP",sans-serif;
max-width:980px;margin:2em auto;padding:0 1em;line-height:1.55;color:#222}
h1{font-size:1.6em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}
table{border-collapse:collapse;font-size:.9em;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}.no{color:#b00;font-weight:bold}.yes{color:#070}
code{background:#f4f4f4;padding:0 .2em}
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        items = [_fmt(v) for v in value[:8]]
        return "[" + ", ".join(items) + (", ..." if len(value) > 8 else "") + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in list(value.items())[:8]) + "}"
    return str(value)


def _image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    kind = "gif" if str(path).endswith(".gif") else "png"
    return f'<img src="data:image/{kind};base64,{data}" alt="{_esc(Path(path).stem)}">'


def _section(section: dict, lang: str) -> str:
    words = CHROME[lang]
    question, explanation = PROSE[section["id"]][lang]
    parts = [f'<section id="{_esc(section["id"])}">', f"<h2>{_esc(question)}</h2>", f"<p>{_esc(explanation)}</p>"]
    for path in section.get("figures", []):
        parts.append(f"<figure>{_image(path)}<figcaption>{_esc(Path(path).stem)}</figcaption></figure>")
    claims = section.get("claims", [])
    if claims:
        parts.append(f"<h3>{_esc(words['claims'])}</h3><table><tr><th>{_esc(words['holds'])}</th>"
                     f"<th>{_esc(words['claim'])}</th><th>{_esc(words['measured'])}</th></tr>")
        for c in claims:
            ok = "yes" if c.get("holds") else "no"
            measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in c.get("measured", {}).items())
            text = c.get("claim_ja", c.get("claim", "")) if lang == "ja" else c.get("claim", "")
            parts.append(f'<tr><td class="{ok}">{_esc(words[ok])}</td><td>{_esc(text)}</td>'
                         f"<td>{_esc(measured)}</td></tr>")
        parts.append("</table>")
    numbers = section.get("numbers", {})
    if numbers:
        parts.append(f"<h3>{_esc(words['numbers'])}</h3><table>")
        parts += [f"<tr><td>{_esc(k)}</td><td>{_esc(_fmt(v))}</td></tr>" for k, v in numbers.items()]
        parts.append("</table>")
    parts.append("</section>")
    return "\n".join(parts)


def render(sections: list[dict], lang: str = "en", seconds: float = 0.0) -> str:
    """The whole page as a string (see `write_report`)."""
    if lang not in LANGS:
        raise UnknownNameError(f"report language {lang!r} is not available (valid: {', '.join(LANGS)})")
    words = CHROME[lang]
    unknown = [s["id"] for s in sections if s["id"] not in PROSE]
    if unknown:
        raise UnknownNameError(f"report sections {unknown} have no prose (valid: {', '.join(PROSE)})")
    toc = "".join(f'<li><a href="#{_esc(s["id"])}">{_esc(PROSE[s["id"]][lang][0])}</a></li>' for s in sections)
    date = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return "\n".join([
        "<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
        f"<title>{_esc(words['title'])}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<h1>{_esc(words['title'])}</h1>", f"<p>{_esc(words['intro'])}</p>",
        f"<h3>{_esc(words['contents'])}</h3><ol>{toc}</ol>",
        *(_section(s, lang) for s in sections),
        f"<hr><p><small>{_esc(words['generated'].format(version=__version__, date=date, seconds=seconds))}</small></p>",
        "</body>", "</html>",
    ])


def write_report(path, sections: list[dict], lang: str = "en", seconds: float = 0.0) -> Path:
    """Write the self-contained HTML page atomically; returns its path."""
    return atomic.write_text(path, render(sections, lang, seconds))
