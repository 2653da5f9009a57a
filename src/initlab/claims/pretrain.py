"""The pretrain study's claims and prose: filters trained in advance help most when labels are
few, and the gap closes as labels grow (Erhan et al. 2010), decided over seeds.

Per pretrained start (transfer, autoencoder, kmeans, pca, where run):
* "<start>_helps_few": fine-tuned from it, test accuracy at the fewest labels > from random,
  paired by seed (permutation test: accuracies are exact numbers);
* "<start>_gap_closes": the per-seed gap (its accuracy - random's) at the fewest labels > the
  gap at the most labels;
and per frozen start: "<start>_frozen_features": with the first layer frozen (only the head
learns), its filters beat frozen random filters at the fewest labels: the help is in the
filters themselves, not in fine-tuning them.
"""
from __future__ import annotations

from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": "Filters trained in advance: does pretraining or transfer help, and when?",
            "ja": "前もって学習したフィルタ:事前学習や転移学習は役に立つのか、それはいつか?"}

NAMES = {"random": "random (He)", "transfer": "transfer (from the shapes)",
         "autoencoder": "denoising autoencoder", "kmeans": "k-means of patches", "pca": "PCA of patches"}
NAMES_JA = {"random": "ランダム(He)", "transfer": "転移(図形から)", "autoencoder": "ノイズ除去オートエンコーダ",
            "kmeans": "パッチの k-means", "pca": "パッチの PCA"}


def run(result, start, labels, frozen=False):
    return result["runs"].get(f"{start}{'/frozen' if frozen else ''}@{labels}")


def fewest(result) -> int:
    return min(result["labels"])


def most(result) -> int:
    return max(result["labels"])


def helps_few(result, start, frozen=False):
    n = fewest(result)
    return verdicts.paired(run(result, start, n, frozen)["accuracy"], run(result, "random", n, frozen)["accuracy"],
                           direction="greater", test="permutation", effect="difference",
                           effect_name=f"test accuracy: {start} - random at {n} labels")


def gaps(result, start, labels):
    mine, base = run(result, start, labels)["accuracy"], run(result, "random", labels)["accuracy"]
    return [a - b for a, b in zip(mine, base)]


def gap_closes(result, start):
    return verdicts.paired(gaps(result, start, fewest(result)), gaps(result, start, most(result)),
                           direction="greater", test="permutation", effect="difference",
                           effect_name=f"gap ({start} - random) at {fewest(result)} labels - at {most(result)}")


def _words(result):
    return {"few": fewest(result), "most": most(result)}


def _has(start, frozen=False, both_ends=False):
    def applies(result):
        counts = {fewest(result), most(result)}
        if both_ends and len(counts) < 2:
            return False
        return all(run(result, s, n, frozen) is not None for s in ("random", start) for n in counts)
    return applies


def _claims():
    out = []
    for start in ("transfer", "autoencoder", "kmeans", "pca"):
        name, name_ja = NAMES[start], NAMES_JA[start]
        out.append(Claim(
            f"{start}_helps_few",
            en=f"with {{few}} labelled images, a net fine-tuned from {name} filters reaches a higher test accuracy "
               "than from random filters, seed by seed",
            ja=f"ラベル付き画像 {{few}} 枚では、{name_ja}のフィルタから微調整したネットの方が、ランダムなフィルタからより"
               "テスト精度が高い(シードごと)",
            rule=lambda r, s=start: helps_few(r, s), words=_words, applies=_has(start)))
        out.append(Claim(
            f"{start}_gap_closes",
            en=f"the accuracy gain of {name} filters over random is larger with {{few}} labelled images than with "
               "{most} (the gap closes as labels grow; Erhan et al. 2010)",
            ja=f"{name_ja}のフィルタがランダムより上回る精度の幅は、ラベル {{most}} 枚より {{few}} 枚のときの方が大きい"
               "(ラベルが増えると差は縮まる。Erhan ら 2010)",
            rule=lambda r, s=start: gap_closes(r, s), words=_words, applies=_has(start, both_ends=True)))
    for start in ("transfer", "autoencoder", "kmeans", "pca"):
        name, name_ja = NAMES[start], NAMES_JA[start]
        out.append(Claim(
            f"{start}_frozen_features",
            en=f"with the first layer frozen (only the head learns) and {{few}} labelled images, {name} filters "
               "give a higher test accuracy than random filters: the help is in the filters themselves",
            ja=f"第 1 層を固定し(学習するのは出力側だけ)ラベル {{few}} 枚で学習すると、{name_ja}のフィルタの方がランダムな"
               "フィルタよりテスト精度が高い:効果はフィルタそのものにある",
            rule=lambda r, s=start: helps_few(r, s, frozen=True), words=_words, applies=_has(start, frozen=True)))
    return out


CLAIMS = _claims()


def _median(values):
    values = sorted(values)
    return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2


STARTS_EN = {"random": "random (He) filters",
             "transfer": "the filters of the same net trained first on the synthetic shapes (transfer{source})",
             "autoencoder": "the encoder of a denoising convolutional autoencoder trained on the unlabelled images "
                            "(unsupervised pretraining, Vincent et al. 2008)",
             "kmeans": "k-means centroids of image patches", "pca": "principal components of image patches"}
STARTS_JA = {"random": "ランダム(He)なフィルタ", "transfer": "同じネットを先に合成図形で学習させたときのフィルタ(転移{source})",
             "autoencoder": "ラベルなしの画像で学習したノイズ除去畳み込みオートエンコーダの符号化器(教師なし事前学習、"
                            "Vincent ら 2008)",
             "kmeans": "画像パッチの k-means の重心", "pca": "画像パッチの主成分"}


def explanation(result, lang="en") -> str:
    """The section's prose; the starts, sizes and numbers are this run's."""
    if not result:
        return EXPLANATION[lang].format(starts="", labels="", seeds="", steps="", pretrain_steps="", frozen="")
    s = result["settings"]
    source = result["pretraining"].get("transfer", {}).get("source_accuracy") or []
    source = {"en": f"; median test accuracy on the shapes {_median(source):.2f}",
              "ja": f"。図形でのテスト精度の中央値 {_median(source):.2f}"}[lang] if source else ""
    names = STARTS_JA if lang == "ja" else STARTS_EN
    starts = ("、" if lang == "ja" else "; ").join(names[x].format(source=source) for x in s["starts"])
    frozen = ("、" if lang == "ja" else ", ").join((NAMES_JA if lang == "ja" else NAMES)[x] for x in s["frozen"])
    trained = [(NAMES_JA if lang == "ja" else NAMES)[x] for x in s["starts"] if x in ("transfer", "autoencoder")]
    steps = ({"en": f" Pretraining ({', '.join(trained)}) ran {s['pretrain_steps']} steps.",
              "ja": f"事前学習({'、'.join(trained)})は {s['pretrain_steps']} ステップ。"}[lang] if trained else "")
    return EXPLANATION[lang].format(starts=starts, labels=", ".join(str(n) for n in result["labels"]),
                                    seeds=len(s["seeds"]), steps=s["steps"], pretrain_steps=steps,
                                    frozen=frozen or "-")


EXPLANATION = {
    "en": "Are a CNN's filters chosen, drawn at random, or trained in a step before training? Here the first conv layer "
          "of a small digits classifier starts from: {starts}.{pretrain_steps} Every start but random is rescaled to "
          "He's std, so only the filters' directions differ. Each net is then fine-tuned for {steps} steps with {labels} labelled images over {seeds} "
          "seeds; as a control the first layer is also frozen (only the head learns) for: {frozen}. The claims "
          "compare test accuracy with random's at the fewest labels, and the gap at the fewest against the gap at the "
          "most.",
    "ja": "CNN のフィルタは人が選ぶのか、ランダムに決めるのか、それとも学習の前の段階で学習するのか。ここでは数字を分類する"
          "小さな CNN の第 1 畳み込み層を次の初期値から始めます:{starts}。{pretrain_steps}ランダム以外の初期値は He の"
          "標準偏差にそろえるので、違うのはフィルタの向きだけです。"
          "その後ラベル付き画像 {labels} 枚で {steps} ステップ微調整し、{seeds} シードで比べます。対照として第 1 層を固定し"
          "出力側だけを学習させる場合も測ります({frozen})。主張は、最も少ないラベル数でのテスト精度をランダムと比べ、"
          "その差を最も多いラベル数での差と比べます。",
}


def captions(result, lang="en") -> dict:
    """{figure name: one or two sentences}, with this run's numbers."""
    if not result:
        return {}
    n, top = fewest(result), most(result)
    parts = []
    for start in result["settings"]["starts"]:
        a, b = run(result, start, n), run(result, start, top)
        if a is not None and b is not None:
            parts.append((start, _median(a["accuracy"]), _median(b["accuracy"])))
    if lang == "ja":
        listed = "、".join(f"{NAMES_JA[s]} {x:.2f} → {y:.2f}" for s, x, y in parts)
        return {"pretrain_filters": f"最初のシードの第 1 層のフィルタ:上段は事前学習(またはランダムな初期値)の直後、"
                                    f"下段はラベル {n} 枚で微調整した後。",
                "pretrain_labels": f"左:テスト精度の中央値、ラベル {n} 枚 → {top} 枚:{listed}。点線は第 1 層を固定した対照。"
                                   "右:同じシードのランダムな初期値に対する精度の差(中央値と範囲)。"}
    listed = "; ".join(f"{NAMES[s]} {x:.2f} -> {y:.2f}" for s, x, y in parts)
    return {"pretrain_filters": f"The first layer's filters at the first seed: top, right after pretraining (or the "
                                f"random start); bottom, after fine-tuning with {n} labelled images.",
            "pretrain_labels": f"Left: median test accuracy from {n} to {top} labelled images: {listed} (dotted: "
                               "the first layer frozen, the control). Right: each start's gain over random at the "
                               "same seed (median and range)."}
