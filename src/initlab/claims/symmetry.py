"""The symmetry study's claims and prose, decided over seeds.

A symmetric start (every filter of a layer equal) keeping its filters identical is a
deterministic fact of exact arithmetic: it must hold for every seed (`verdicts.every`). The
cost of it, test accuracy below a random start's, is a paired comparison by seed (sign test).
The float32 control is about the BLAS's summation order, not about initialization: shown as
an illustration, never counted.
"""
from __future__ import annotations

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'Why random, and not all zeros? (symmetry breaking)',
            "ja": 'なぜランダムにするのか? すべて 0 ではいけないのか(対称性の破れ)'}

SPLIT = 0.5      # a random start's filters count as different when their mean pairwise cosine is below this


def explanation(result, lang="en") -> str:
    """The section's prose for this run (a fact about the run is computed from `result`)."""
    text = EXPLANATION[lang]
    control = result.get("float32_summary", {}) if result else {}
    if control:
        seeds = sum(len(s["lowest_similarity_per_seed"]) for s in control.values())
        kept = sum(v >= 1 - result["settings"]["identical_tolerance"]
                   for s in control.values() for v in s["lowest_similarity_per_seed"])
        text += " " + FLOAT32[lang].format(kept=kept, seeds=seeds)
    return text


EXPLANATION = {
    "en": 'If every filter of a layer starts with the same weights, every filter computes the same output, receives the same gradient, and takes the same step: in exact arithmetic they stay identical forever, and the layer behaves like a single filter. From all zeros with ReLU the gradients are exactly zero and nothing but the last bias moves. A random start makes the filters different with probability one, so they can learn different features. The pairwise cosine similarity of the filters shows it: 1.0 means the symmetry was never broken. The runs are in float64.',
    "ja": 'ある層のフィルターがすべて同じ重みで始まると、どのフィルターも同じ出力を出し、同じ勾配を受け、同じだけ更新されます。丸め誤差のない厳密な計算ではいつまでも同一のままで、層は 1 つのフィルターと同じ働きしかしません。ReLU を使ってすべて 0 から始めると勾配はちょうど 0 になり、最終層のバイアス以外は何も動きません。ランダムに始めればフィルターは確率 1 で互いに異なり、異なる特徴を学べます。フィルター同士のコサイン類似度がそれを示します。1.0 は対称性が一度も破れなかったことを意味します。実行は float64 で行います。',
}

FLOAT32 = {
    "en": "In the float32 control the filters of the symmetric start stayed identical in {kept} of {seeds} seeds. Whether float32 rounding ever splits them depends on how the BLAS orders its sums (its build, kernels and thread count), not on the initialization: a random init breaks the symmetry on purpose, rounding could only do it by accident.",
    "ja": "float32 の対照実験では、対称な初期値のフィルターは {seeds} シード中 {kept} で同一のままでした。float32 の丸めがフィルターを分けるかどうかは、BLAS が和をとる順序(ビルド、カーネル、スレッド数)で決まり、初期化とは関係ありません。ランダム初期化は対称性を意図して破り、丸めが破るとしても偶然にすぎません。",
}


# --------------------------------------------------------------------------- measurements

def symmetric(result) -> list:
    """The inits whose filters were identical at step 0 (every seed)."""
    return [n for n in result["inits"] if result["summary"][n]["symmetric_start"]]


def random_inits(result) -> list:
    return [n for n in result["inits"] if n not in symmetric(result)]


def tolerance(result) -> float:
    return result["settings"]["identical_tolerance"]


def stays_identical(result):
    """Every symmetric start, every seed: the lowest pairwise similarity over all snapshots and
    layers stays >= 1 - tolerance."""
    flags = [v >= 1 - tolerance(result) for n in symmetric(result)
             for v in result["summary"][n]["lowest_similarity_per_seed"]]
    return verdicts.every(flags, what="identical filters")


def only_last_bias(result):
    s = result["summary"]["zeros"]
    return verdicts.every([moved == [result["last_bias"]] for moved in s["moved_parameters_per_seed"]],
                          what="only the last bias moving")


def constant_moves(result):
    return verdicts.every([v > 0 for v in result["summary"]["constant"]["smallest_weight_change_per_seed"]],
                          what="every weight tensor moving")


def random_stays_different(result):
    flags = [v < SPLIT for n in random_inits(result) for v in result["summary"][n]["final_mean_similarity_per_seed"]]
    return verdicts.every(flags, what="distinct filters")


def behind_random(result, name):
    """`name`'s final test accuracy below the (first) random start's, seed by seed."""
    other = random_inits(result)[0]
    return verdicts.paired(result["summary"][name]["final_test_acc_per_seed"],
                           result["summary"][other]["final_test_acc_per_seed"], direction="less",
                           effect="difference", effect_name="accuracy gap (random - symmetric)")


def float32_control(result):
    kept = [v >= 1 - tolerance(result) for s in result["float32_summary"].values()
            for v in s["lowest_similarity_per_seed"]]
    lowest = min(min(s["lowest_similarity_per_seed"]) for s in result["float32_summary"].values())
    return verdicts.illustration(lowest, n=len(kept), effect_name="lowest similarity in float32",
                                 why=f"identical in {sum(kept)} of {len(kept)} seeds; whether float32 rounding splits "
                                     "the filters depends on the BLAS's summation order, not on the init: shown, "
                                     "not counted as evidence",
                                 why_ja=f"{len(kept)} シード中 {sum(kept)} で同一のまま。float32 の丸めがフィルターを分けるか"
                                        "どうかは BLAS の和の順序で決まり、初期化とは関係ない: 図示のみで、証拠には数えない")


# --------------------------------------------------------------------------- the catalogue

def _has(name):
    return lambda result: name in result["inits"]


def _words(result):
    randoms = random_inits(result)
    return {"tol": tolerance(result), "steps": result["settings"]["steps"], "split": SPLIT,
            "random": result["labels"][randoms[0]] if randoms else "",
            "random_ja": result["labels_ja"][randoms[0]] if randoms else "",
            "symmetric": ", ".join(result["labels"][n] for n in symmetric(result)),
            "symmetric_ja": "、".join(result["labels_ja"][n] for n in symmetric(result))}


def _against_random(name):
    return lambda result: _has(name)(result) and name in symmetric(result) and bool(random_inits(result))


CLAIMS = [
    Claim("symmetric_stays_identical",
          en="symmetric starts ({symmetric}): every filter of every layer stays identical through training "
             "(pairwise cosine similarity >= 1 - {tol:g} at every snapshot), in every seed",
          ja="対称な初期値({symmetric_ja}): どの層のフィルターも学習中ずっと互いに同一のまま(どのスナップショットでも"
             "ペアごとのコサイン類似度 >= 1 - {tol:g})、すべてのシードで",
          rule=stays_identical, words=_words, applies=lambda r: bool(symmetric(r))),
    Claim("zeros_only_last_bias",
          en="zeros: with ReLU every weight gradient is exactly zero; nothing moves but the last layer's bias, "
             "in every seed",
          ja="すべて 0: ReLU では重みの勾配がすべて厳密に 0 になり、動くのは最終層のバイアスだけ(すべてのシードで)",
          rule=only_last_bias, words=_words, applies=_has("zeros")),
    Claim("constant_moves",
          en="constant 1/fan_in: the weights do move (every weight tensor changes), only all filters of a layer "
             "move together, in every seed",
          ja="定数 1/fan_in: 重みは動く(どの重みテンソルも変わる)が、同じ層のフィルターはすべて揃って同じように動くだけ"
             "(すべてのシードで)",
          rule=constant_moves, words=_words, applies=_has("constant")),
    Claim("random_stays_different",
          en="random starts: after {steps} steps the filters' mean pairwise cosine similarity is below {split:g} "
             "in every layer, in every seed",
          ja="ランダムな初期値: {steps} ステップ後、どの層でもフィルター同士の平均コサイン類似度が {split:g} 未満"
             "(すべてのシードで)",
          rule=random_stays_different, words=_words, applies=lambda r: bool(random_inits(r))),
    Claim("constant_behind_random",
          en="constant 1/fan_in: after {steps} steps its test accuracy is below the {random} start's, seed by seed",
          ja="定数 1/fan_in: {steps} ステップ後のテスト精度は、シードごとに{random_ja}より低い",
          rule=lambda r: behind_random(r, "constant"), words=_words, applies=_against_random("constant")),
    Claim("zeros_behind_random",
          en="zeros: after {steps} steps its test accuracy is below the {random} start's, seed by seed",
          ja="すべて 0: {steps} ステップ後のテスト精度は、シードごとに{random_ja}より低い",
          rule=lambda r: behind_random(r, "zeros"), words=_words, applies=_against_random("zeros")),
    Claim("float32_control",
          en="the symmetric start trained again in float32 (an illustration of the BLAS's rounding, not of "
             "initialization)",
          ja="対称な初期値を float32 でもう一度学習(BLAS の丸めの図示で、初期化についての証拠ではない)",
          rule=float32_control, words=_words, applies=lambda r: bool(r.get("float32_summary"))),
]


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'symmetry_similarity': '層ごとのパネル: フィルター同士の平均コサイン類似度と学習ステップ(シードの平均。1.0 = すべて同一)。対称な初期値は 1 のまま。すべて 0 と定数の線はどちらも 1.0 で重なるので、別の線種で描き、凡例にそう記します。',
    'symmetry_split': '対称な初期値が同一のフィルターからどれだけ離れたか(1 - 最小の類似度、対数軸)。0 のままなら対称性は破れていない。',
    'symmetry_accuracy': '初期化ごとのテスト精度と学習ステップ(シードの平均、帯 = 最小〜最大)。ランダムな初期値だけが学習する。',
    'symmetry_filters': '学習後の第 1 層の 3x3 フィルター(初期化ごとに 1 行、最初のシード)。対称な初期値ではすべて同じ形になる。',
}
