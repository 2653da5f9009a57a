"""The filters study's claims and prose: decided over seeds, against the chance level of
untrained random kernels; nothing here names a layer the run's model does not have."""
from __future__ import annotations

import numpy as np

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'How does a filter learn an X by itself?',
            "ja": 'フィルターはどうやって自分で X を学ぶのか?'}

LEARNS = 0.9          # "learns the shapes": test accuracy above this (8 classes: chance is 0.125)
EDGES = ("edge_x", "edge_y")


def _random_runs(result):
    """(start, run) for every random start."""
    return [(s, result["runs"][s]) for s in result["random_starts"]]


def _t(result, name):
    return result["template_names"].index(name)


def x_not_learned(result):
    x = _t(result, "x")
    after, chance = [], []
    for start, run in _random_runs(result):
        after += [float(v) for v in np.asarray(run["best_after"])[:, x]]
        chance += [float(result["null"][start]["p95"][x])] * len(run["best_after"])
    return verdicts.paired(after, chance, direction="less", effect="difference",
                           effect_name="chance's 95th percentile - best X score after training")


def edges_over_x(result):
    x, edges = _t(result, "x"), [_t(result, name) for name in EDGES]
    edge_pct, x_pct = [], []
    for _, run in _random_runs(result):
        pct = np.asarray(run["percentile_after"])
        edge_pct += [float(v) for v in pct[:, edges].mean(axis=1)]
        x_pct += [float(v) for v in pct[:, x]]
    return verdicts.paired(edge_pct, x_pct, direction="greater", effect="difference",
                           effect_name="edges' chance percentile - the X's (points)")


def random_learns(result):
    acc = [float(v) for _, run in _random_runs(result) for v in run["test_acc"]]
    return verdicts.compare(acc, LEARNS, direction="greater", effect="difference",
                            effect_name=f"test accuracy - {LEARNS:g}")


def hand_faster(result):
    hand, random = result["runs"]["hand"]["auc"], result["runs"][result["random_starts"][0]]["auc"]
    return verdicts.paired([float(v) for v in hand], [float(v) for v in random], direction="greater",
                           test="permutation", effect="difference",
                           effect_name="mean validation accuracy over the run, hand - random")


def hand_x_kept(result):
    x = _t(result, "x")
    j = result["settings"]["hand_filters"].index("x_shape")
    after = [float(v) for v in np.asarray(result["runs"]["hand"]["scores"])[:, -1, j, x]]
    chance = float(result["null"][result["settings"]["reference"]]["single_p95_per_template"][x])
    return verdicts.compare(after, chance, direction="greater", effect="difference",
                            effect_name="X score after training - a random kernel's 95th percentile")


def _words(result):
    s = result["settings"]
    words = {"pct": s["chance_percentile"], "learns": LEARNS, "steps": s["steps"], "reference": s["reference"]}
    if result["random_starts"]:
        words["random"] = result["labels"][result["random_starts"][0]]
    return words


def _has_random(result):
    return bool(result["random_starts"])


CLAIMS = [
    Claim("x_not_learned",
          en="an X kernel is not learned by itself here: in each run from a random start, the best first-layer kernel's "
             "X score after training stays below the {pct}th percentile of untrained random layers' best",
          ja="ここでは X のカーネルはひとりでには学習されない: ランダムな初期値からのどの実行でも、学習後の第 1 層で最良の"
             "カーネルの X スコアは、学習前のランダムな層の最良スコアの {pct} パーセンタイルを下回る",
          rule=x_not_learned, words=_words, applies=_has_random),
    Claim("edges_over_x",
          en="what training brings out looks more like oriented edges than like an X: per run, the edge templates' "
             "chance percentile after training is above the X's",
          ja="学習で現れるのは X よりも向きのあるエッジに近い: 実行ごとに、学習後のエッジのテンプレートの偶然の分布に"
             "対するパーセンタイルが X のものより高い",
          rule=edges_over_x, words=_words,
          applies=lambda r: _has_random(r) and all(name in r["template_names"] for name in EDGES)),
    Claim("random_learns",
          en="a random start learns the shapes: test accuracy above {learns:g} in each run (8 classes; chance 0.125)",
          ja="ランダムな初期値から図形を学習できる: どの実行でもテスト精度が {learns:g} を超える(8 クラス。偶然の水準は 0.125)",
          rule=random_learns, words=_words, applies=_has_random),
    Claim("hand_faster",
          en="a hand-made first layer (edges, X, plus, strokes) learns faster than {random}: higher validation accuracy "
             "averaged over the whole run of {steps} steps (area under the learning curve), seed by seed "
             "(permutation test on the paired differences)",
          ja="手作りの第 1 層(エッジ、X、十字、線)は {random} より速く学習する: {steps} ステップの実行全体で平均した"
             "検証精度(学習曲線の下の面積)がシードごとに高い(対応のある差の並べ替え検定)",
          rule=hand_faster, words=_words, applies=lambda r: "hand" in r["runs"] and _has_random(r)),
    Claim("hand_x_kept",
          en="the hand-made x_shape kernel stays an X when trained: after training its X score is above what 95% of "
             "single random ({reference}) kernels reach, in each seed",
          ja="手作りの x_shape カーネルは学習しても X のまま: 学習後の X スコアが、ランダムな({reference})カーネル 1 個の "
             "95% が届く値を各シードで上回る",
          rule=hand_x_kept, words=_words,
          applies=lambda r: "hand" in r["runs"] and "x_shape" in r["settings"]["hand_filters"]),
]


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    text = EXPLANATION[lang]
    if result.get("random_starts"):
        runs = [result["runs"][s] for s in result["random_starts"]]
        moved = float(np.median(np.concatenate([np.asarray(r["relative_change"]) for r in runs])))
        x_acc = float(np.median(np.concatenate([np.asarray(r["x_class_acc"]) for r in runs])))
        x = result["answer"]["x"]
        read_out = READ_OUT[lang][result["settings"]["model"]]
        text += MEASURED[lang].format(moved=moved, above=x["above_chance_after"], runs=x["runs"],
                                      pct=x["mean_percentile_after"], x_acc=x_acc, read_out=read_out)
    return text


EXPLANATION = {
    "en": "Nobody tells the network to look for an X. It starts from random kernels, and gradient descent changes each kernel in the direction that lowers the loss. What do the first layer's kernels become? Below: the kernels over training, each scored by its best normalized correlation with hand-made templates (X, plus, diagonals, lines, edges) and compared with what untrained random kernels score by chance.",
    "ja": '誰もネットワークに X を探せとは教えません。ランダムなカーネルから始まり、勾配降下法が損失を下げる方向に各カーネルを変えていきます。第 1 層のカーネルは何になるのでしょうか。下図は学習の進行に沿ったカーネルの変化です。各カーネルには手作りのテンプレート(X、十字、対角線、直線、エッジ)との正規化相関の最大値をスコアとして付け、学習前のランダムなカーネルが偶然に得るスコアと比べています。',
}
MEASURED = {
    "en": " Measured in this run: training moved the random first layer by {moved:.0%} of its norm (||W_end - W_0|| / ||W_0||, median over runs); the best kernel's X score ended above chance in {above} of {runs} runs (mean chance percentile {pct:.0f}); and the X test images were classified correctly {x_acc:.0%} of the time (median over runs), {read_out}",
    "ja": " この実行での測定: 学習によりランダムな第 1 層はノルムの {moved:.0%} だけ動きました(||W_end - W_0|| / ||W_0||、実行の中央値)。最良のカーネルの X スコアが学習後に偶然の水準を超えたのは {runs} 回中 {above} 回(偶然の分布に対するパーセンタイルの平均 {pct:.0f})で、X のテスト画像は {x_acc:.0%} の割合で正しく分類されました(実行の中央値)。{read_out}",
}
READ_OUT = {
    "en": {"two_conv": "from what the first layer's kernels detect, combined by the second conv layer and the dense read-out.",
           "one_conv": "from the max-pooled responses of the first layer's kernels, read out by one dense layer."},
    "ja": {"two_conv": "第 1 層のカーネルが検出したものを、2 番目の畳み込み層と全結合の出力層が組み合わせた結果です。",
           "one_conv": "第 1 層のカーネルの応答を最大値プーリングし、1 つの全結合層で読み出した結果です。"},
}


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'filters_grid': '最初のランダムな実行の第 1 層カーネルを学習の途中で並べたもの(行 = 時点、タイル = カーネル、最も近いテンプレートの名前付き)。',
    'filters_best_match': '各カーネルの最良のテンプレートスコアと学習ステップ。点線はランダムなカーネルが偶然に得るスコア。',
    'filters_x_question': 'テンプレートごと: 学習前のランダムなカーネルが偶然に得る範囲と、各実行の最良のカーネルの学習前(白抜き)と学習後。',
    'filters_x_closest': '手作りの X カーネルと、学習したカーネルの中で最も X に近いもの(学習の前と後)。',
    'filters_feature_maps': 'X の画像 1 枚、X カーネルの反応、学習した第 1 層の特徴マップ(ReLU 後)。',
    'filters_hand_vs_random': '初期値ごとの検証精度と学習ステップ(シードの平均、帯 = 最小〜最大): 全体と最初の 4 分の 1。',
    'filters_evolution': '最初のランダムな実行のカーネルの変化のアニメーション。',
}
