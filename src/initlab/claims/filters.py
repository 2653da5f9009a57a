"""The filters study's claims and prose (being moved here from the study module)."""
from __future__ import annotations

CLAIMS = []   # the study still decides its claims inline (old style)

QUESTION = {"en": 'How does a filter learn an X by itself?',
            "ja": 'フィルターはどうやって自分で X を学ぶのか?'}


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    return EXPLANATION[lang]


EXPLANATION = {
    "en": "Nobody tells the network to look for an X. It starts from random kernels, and gradient descent changes each kernel in the direction that lowers the loss. What do the first layer's kernels become? Below: the kernels over training, each scored by its best normalized correlation with hand-made templates (X, plus, diagonals, lines, edges) and compared with what random kernels score by chance. Measured here, they change a lot, but into strokes and edges (single diagonals, lines), not into the X template: their X score is no better than chance. The X is recognized a layer higher, by combining diagonal-stroke detectors, as the feature maps of an X image show. A hand-made X kernel given as the start stays an X. So a network rarely needs one filter shaped like the whole X: it learns the parts, and a deeper layer assembles them.",
    "ja": '誰もネットワークに X を探せとは教えません。ランダムなカーネルから始まり、勾配降下法が損失を下げる方向に各カーネルを変えていきます。第 1 層のカーネルは何になるのでしょうか。下図は学習の進行に沿ったカーネルの変化です。各カーネルには手作りのテンプレート(X、十字、対角線、直線、エッジ)との正規化相関の最大値をスコアとして付け、ランダムなカーネルが偶然に得るスコアと比べています。ここでの測定では、カーネルは大きく変わりますが、X のテンプレートではなく線やエッジ(単独の対角線、直線)になり、X スコアは偶然の水準を超えません。X は一つ上の層で、対角線を検出するフィルターを組み合わせて認識されます。X の画像の特徴マップがそれを示します。手作りの X カーネルから始めると X のままです。つまりネットワークは X 全体の形をした一つのフィルターをほとんど必要とせず、部品を学び、より深い層がそれを組み立てるのです。',
}
