"""The prefilters study's claims (Coates & Ng 2011; PCANet), decided over seeds.

Every start at one seed shares the rest of the network and the batches, so each comparison is
paired seed by seed. Speed is the step at which the validation accuracy first reaches the
threshold (a run that never does is censored at the budget: the sign test orders a censored
run after any that got there). Direction kept is the mean cosine of each filter to its start.
Every claim is "seed by seed", a sign test over the seeds, so one odd seed cannot carry it. A chosen start's directions are judged against
he_unit, He's own draws scaled to the same output variance, since the scale alone changes how
far a filter moves: a claim against He's scale would be about the scale.
"""
from __future__ import annotations

import numpy as np

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'Trained, chosen by hand, or computed from the data?',
            "ja": 'フィルターは学習されるのか、人が選ぶのか、データから計算するのか?'}

DATASETS = ("shapes", "digits")
CHOSEN = ("hand", "kmeans", "pca")
DATA_DRIVEN = ("kmeans", "pca")
LABELS = {"he": "random (He normal)", "hand": "hand-made (Sobel, X, ...)", "kmeans": "k-means of patches",
          "pca": "PCA of patches", "he_unit": "random at unit output variance"}
LABELS_JA = {"he": "ランダム(He 正規分布)", "hand": "手作り(Sobel、X など)", "kmeans": "パッチの k-means",
             "pca": "パッチの PCA", "he_unit": "出力の分散 1 のランダム"}

EXPLANATION = {
    "en": "All three happen. Filters can be chosen by hand (Sobel, X), learned from a random start, or computed from "
          "the data before any gradient step: k-means centroids of whitened image patches (Coates & Ng 2011) or "
          "their principal components (PCANet). The figures compare where each start goes.",
    "ja": "三つとも実際に行われています。手で選ぶ(Sobel、X)、ランダムな初期値から学習する、そして勾配による学習の前に"
          "データから計算する方法です。白色化した画像パッチの k-means の重心(Coates & Ng 2011)や主成分(PCANet)が"
          "その例です。図では、それぞれの初期値から学習がどこへ向かうかを比べます。",
}

SCALE = {
    "en": " Scale matters as well as direction: He's random first layer starts at an output variance of {he} on "
          "the training images ({data}; mean over seeds), the hand-made and data-driven ones at 1. The control "
          "he_unit is He's very same draws rescaled to 1, so comparing a start with it leaves only the directions.",
    "ja": " 向きだけでなくスケールも効きます。ランダムな He の第 1 層の出力の分散は学習画像上で {he}({data}、シード平均)、"
          "手作りとデータ由来のものは 1 です。対照の he_unit は He とまったく同じ乱数を分散 1 にスケールしたもので、"
          "これと比べれば違いは向きだけになります。",
}


def explanation(result, lang="en") -> str:
    """The section's prose for this run: the output variance of He's first layer is measured."""
    text = EXPLANATION[lang]
    variances = {name: ds["starts"]["he"]["initial_output_var"]
                 for name, ds in (result or {}).get("datasets", {}).items() if "he" in ds["starts"]}
    if variances:
        text += SCALE[lang].format(he=" / ".join(f"{np.mean(v):.2g}" for v in variances.values()),
                                   data=" / ".join(variances))
    return text


# --------------------------------------------------------------------------- the rules

def _start(result, dataset, start) -> dict:
    return result["datasets"][dataset]["starts"][start]


def faster(result, dataset, start, than):
    """`start` reaches the threshold in fewer steps than `than`, seed by seed (censored at the budget)."""
    return verdicts.paired(_start(result, dataset, start)["steps_to_threshold"],
                           _start(result, dataset, than)["steps_to_threshold"], direction="less",
                           budget=result["datasets"][dataset]["budget"], effect_name=f"{than}'s steps / {start}'s")


def keeps_direction(result, dataset, start, than):
    """`start`'s filters end nearer their start's direction than `than`'s (mean cosine over filters)."""
    return verdicts.paired(_start(result, dataset, start)["mean_cosine"], _start(result, dataset, than)["mean_cosine"],
                           direction="greater", effect="difference",
                           effect_name=f"cosine to start: {start} - {than}")


def looks_like_templates(result, dataset, start):
    """Before training, `start`'s filters match the hand-made templates better than He's draws."""
    return verdicts.paired(_start(result, dataset, start)["best_score_before"],
                           _start(result, dataset, "he")["best_score_before"], direction="greater",
                           effect="difference", effect_name=f"template score: {start} - he")


# --------------------------------------------------------------------------- the catalogue

def _has(dataset, *starts):
    return lambda r: dataset in r["datasets"] and all(s in r["datasets"][dataset]["starts"] for s in starts)


def _words(dataset, start=None):
    def words(r):
        ds = r["datasets"][dataset]
        out = {"data": dataset, "pct": f"{ds['threshold']:.0%}", "budget": ds["budget"]}
        if start:
            out.update(start=LABELS[start], start_ja=LABELS_JA[start])
        return out
    return words


def _claims_for(dataset) -> list[Claim]:
    out = []
    for start in CHOSEN:
        out.append(Claim(
            f"{start}_faster_than_he_{dataset}",
            en="{data}: the {start} start reaches {pct} validation accuracy in fewer steps than the random He start, "
               "seed by seed (a run that never got there counts as beyond the {budget} steps)",
            ja="{data}: 初期値「{start_ja}」は、シードごとにランダムな He の初期値より少ないステップで検証精度 {pct} に達する"
               "(達しなかった実行は {budget} ステップを超えたものとみなす)",
            rule=lambda r, s=start: faster(r, dataset, s, "he"), words=_words(dataset, start),
            applies=_has(dataset, start, "he")))
    for start in CHOSEN:
        out.append(Claim(
            f"{start}_faster_than_he_unit_{dataset}",
            en="{data}: the {start} start reaches {pct} in fewer steps than He's draws scaled to the same output "
               "variance (he_unit), seed by seed: its directions, not its scale, make it faster",
            ja="{data}: 初期値「{start_ja}」は、同じ出力の分散にスケールした He の乱数(he_unit)よりシードごとに少ない"
               "ステップで {pct} に達する: 速さはスケールではなく向きによる",
            rule=lambda r, s=start: faster(r, dataset, s, "he_unit"), words=_words(dataset, start),
            applies=_has(dataset, start, "he_unit")))
    for start in CHOSEN:
        out.append(Claim(
            f"{start}_keeps_direction_{dataset}",
            en="{data}: {start} filters keep their direction in training better than random ones at the same output "
               "variance (he_unit): a higher mean cosine of each filter to its start, seed by seed",
            ja="{data}: 「{start_ja}」のフィルターは、同じ出力の分散のランダムなもの(he_unit)より学習中に向きを保つ"
               "(各フィルターと初期値のコサインの平均がシードごとに高い)",
            rule=lambda r, s=start: keeps_direction(r, dataset, s, "he_unit"), words=_words(dataset, start),
            applies=_has(dataset, start, "he_unit")))
    out.append(Claim(
        f"scale_changes_direction_{dataset}",
        en="{data}: the scale alone changes how far filters turn: He's random filters at He's scale keep their "
           "direction better than the very same filters scaled to unit output variance, seed by seed (so a "
           "direction claim against He would measure the scale)",
        ja="{data}: スケールだけでフィルターの回転の大きさが変わる: He のスケールのランダムなフィルターは、まったく同じ"
           "フィルターを出力の分散 1 にスケールしたものよりシードごとに向きを保つ(He と比べた向きの主張はスケールを測って"
           "しまう)",
        rule=lambda r: keeps_direction(r, dataset, "he", "he_unit"), words=_words(dataset),
        applies=_has(dataset, "he", "he_unit")))
    for start in DATA_DRIVEN:
        out.append(Claim(
            f"{start}_looks_like_templates_{dataset}",
            en="{data}: before any training, {start} filters match hand-made templates (X, plus, lines, edges) "
               "better than He's random ones (mean best |correlation|, seed by seed)",
            ja="{data}: 学習前の時点で、「{start_ja}」のフィルターはランダムな He のものより手作りのテンプレート(X、十字、"
               "線、エッジ)によく一致する(最良の |相関| の平均、シードごと)",
            rule=lambda r, s=start: looks_like_templates(r, dataset, s), words=_words(dataset, start),
            applies=_has(dataset, start, "he")))
    return out


CLAIMS = [claim for dataset in DATASETS for claim in _claims_for(dataset)]


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'prefilters_filters': '(初期値, データセット) ごとのパネル: 第 1 層のフィルターの学習前(上段)と学習後(下段)、最初のシード。',
    'prefilters_curves': '初期値ごとの検証精度と学習ステップ(シードの平均、帯 = 最小〜最大)。',
    'prefilters_steps': 'しきい値の精度に達するまでのステップ数(棒 = シードの中央値、点 = シード。達しなかったシードは最も遅いものとして数える)。',
    'prefilters_movement': '第 1 層のフィルターがどれだけ動いたか: ||W_end - W_0|| / ||W_0|| と、各フィルターと初期値のコサイン(1 = 同じ向き)。',
    'prefilters_templates': '初期値ごとの、学習前と学習後の平均の最良テンプレートスコア(X、十字、直線、エッジとの相関の絶対値)。',
}
