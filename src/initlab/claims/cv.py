"""The cv study's claims, decided over repeated searches (one GridSearchCV per seed).

A candidate's measurement at one seed is its mean validation accuracy over that search's folds
(a fold whose fit diverged counts as 0). Every candidate at one seed is scored on the same
folds with the same fit seed, so candidates are compared seed by seed: the folds of one search
are not independent (they share most of their training data), the searches are. No claim
compares a candidate with the one that the same search picked as the best or the worst
unless the selection works against the claim: "the best beats the worst" would hold by
construction.
"""
from __future__ import annotations

import numpy as np

from .. import init
from ..lab import verdicts
from ..lab.claims import Claim

QUESTION = {"en": 'People tune the standard deviation by cross-validation: how?',
            "ja": '標準偏差は交差検証でどう調整するのか?'}

NEAR_CHANCE = 0.1       # "near chance": within 10 points of validation accuracy above it
NEAR_BEST = 0.05        # a named scheme "as good as the tuned std": within 5 points
HE = ("he_normal", "kaiming_normal")
SCHEMES = ("he_normal", "glorot_uniform", "lecun_normal")      # the study's default schemes, each with its claim

EXPLANATION = {
    "en": "When no theory fits, the scale of the initial weights is a hyperparameter like any other: try a grid of "
          "values, estimate each one's accuracy by k-fold cross-validation, and keep the best. initlab does this "
          "through scikit-learn's own GridSearchCV over an sklearn-compatible CNN, and repeats the whole search "
          "over seeds (each seed a new split, new folds and new fits), so that what it says about the curve is "
          "decided over independent searches.",
    "ja": "理論が当てはまらないとき、初期重みのスケールも他と同じく一つのハイパーパラメータとして扱えます。値のグリッドを"
          "試し、k 分割交差検証でそれぞれの精度を推定し、最良のものを選びます。initlab は scikit-learn 互換の CNN に"
          "対して scikit-learn 自身の GridSearchCV でこれを行い、探索全体をシードごとに繰り返します(シードごとに分割、"
          "フォールド、学習がすべて新しくなる)。曲線について述べることは、独立な探索にわたって判定されます。",
}

MEASURED = {
    "en": " In this run ({searches} searches of {folds} folds), the best mean validation accuracy over the searches, "
          "{best:.3f}, came from {best_label} (init std {best_std:.2g}); on the std curve the smallest std "
          "({small_std:.0e}) scored {small:.3f} and the largest ({large_std:.2g}) {large:.3f} (chance {chance:.2f}).",
    "ja": " この実行({searches} 回の探索、各 {folds} フォールド)では、探索全体での平均検証精度が最も高かったのは "
          "{best_label}(初期の標準偏差 {best_std:.2g})の {best:.3f} でした。標準偏差の曲線上では、最小の標準偏差"
          "({small_std:.0e})が {small:.3f}、最大({large_std:.2g})が {large:.3f} でした(偶然の水準 {chance:.2f})。",
}


def explanation(result, lang="en") -> str:
    """The section's prose for this run: the best candidate and the ends of the std curve, measured."""
    text = EXPLANATION[lang]
    points = curve(result) if result and "candidates" in result else []
    if result and result.get("best") and len(points) > 1:
        small, large = points[0], points[-1]
        text += MEASURED[lang].format(searches=len(result["searches"]), folds=result["settings"]["folds"],
                                      best=result["best"]["mean"], best_label=result["best"]["label"],
                                      best_std=result["best"]["init_std"], small_std=small["init_std"],
                                      small=float(np.mean(small["scores"])), large_std=large["init_std"],
                                      large=float(np.mean(large["scores"])), chance=result["chance"])
    return text


# --------------------------------------------------------------------------- the candidates

def curve(result) -> list[dict]:
    """The std curve: the base init's candidates (init_scale varied, nothing else), by scale."""
    base = result["settings"].get("base_init")
    return sorted((r for r in result["candidates"]
                   if r["params"].get("weight_init") == base and set(r["params"]) <= {"weight_init", "init_scale"}),
                  key=lambda r: r["init_scale"])


def named(result) -> list[dict]:
    """The variance-scaled schemes tried as designed (init_scale 1, nothing else varied)."""
    return [r for r in result["candidates"] if set(r["params"]) == {"weight_init", "init_scale"}
            and r["init_scale"] == 1.0 and init.is_fan_scaled(r["params"]["weight_init"])]


def he(result):
    return next((r for r in named(result) if r["params"]["weight_init"] in HE), None)


# --------------------------------------------------------------------------- the rules

def too_small_stalls(result):
    small = curve(result)[0]
    return verdicts.compare(small["scores"], result["chance"] + NEAR_CHANCE, direction="less", effect="difference",
                            effect_name=f"chance + {NEAR_CHANCE:g} - accuracy at std {small['init_std']:.0e}")


def too_large_loses(result):
    large, reference = curve(result)[-1], he(result)
    return verdicts.paired(large["scores"], reference["scores"], direction="less",
                           effect="difference", effect_name=f"accuracy: He - std {large['init_std']:.2g}")


def scheme(result, name):
    return next((r for r in named(result) if r["params"]["weight_init"] == name), None)


def near_best(result, name):
    """Per seed: the scheme `name` against the best point of the searched curve, less the
    margin. The best point is picked on the same folds, which favours the curve: the selection
    works against the claim."""
    tuned = np.max([r["scores"] for r in curve(result)], axis=0)
    return verdicts.paired(scheme(result, name)["scores"], (tuned - NEAR_BEST).tolist(), direction="greater",
                           effect="difference", effect_name=f"{name} - (best searched std - {NEAR_BEST:g}) (accuracy)")


# --------------------------------------------------------------------------- the catalogue

def _curve_from(low=None, high=None):
    def applies(result):
        points = curve(result)
        return len(points) > 1 and (low is None or points[0]["init_scale"] <= low) and \
            (high is None or points[-1]["init_scale"] >= high)
    return applies


def _words(result):
    points = curve(result)
    return {"small": points[0]["init_std"] if points else 0.0, "large": points[-1]["init_std"] if points else 0.0,
            "base": result["settings"].get("base_init"), "near_chance": NEAR_CHANCE * 100, "near": NEAR_BEST * 100}


CLAIMS = [
    Claim("too_small_stalls",
          en="too small a std ({small:.0e}) trains no better than near chance: its validation accuracy stays within "
             "{near_chance:g} points of chance, search by search (the signal and its gradient vanish through the layers)",
          ja="小さすぎる標準偏差({small:.0e})では偶然の水準程度にしか学習できない: 検証精度が探索ごとに偶然の水準から "
             "{near_chance:g} ポイント以内にとどまる(信号とその勾配が層を通るうちに消える)",
          rule=too_small_stalls, words=_words, applies=_curve_from(low=1e-3)),
    Claim("too_large_loses",
          en="too large a std ({large:.2g}) does worse than He's variance-scaled init, search by search "
             "(exploding signal; a diverged fold counts as 0)",
          ja="大きすぎる標準偏差({large:.2g})では、探索ごとに He の分散スケーリングより精度が劣る(信号が爆発する。"
             "発散したフォールドは精度 0 とみなす)",
          rule=too_large_loses, words=_words, applies=lambda r: _curve_from(high=0.3)(r) and he(r) is not None),
] + [
    Claim(f"{name}_near_best",
          en=f"{name}, a variance-scaled scheme used as designed (no tuning), scores within {{near:g}} points of the "
             "best std found by searching {base} on the same folds, search by search",
          ja=f"分散をスケールする方式 {name} は調整なしでも、同じフォールドで {{base}} の標準偏差を探索して見つけた最良値との"
             "精度の差が探索ごとに {near:g} ポイント以内",
          rule=lambda r, name=name: near_best(r, name), words=_words,
          applies=lambda r, name=name: scheme(r, name) is not None and len(curve(r)) > 1)
    for name in SCHEMES
]


# the figures' captions in the Japanese report (the English ones are the figure functions' docstrings)
CAPTIONS_JA = {
    'cv_accuracy_vs_std': '初期重みの標準偏差ごとの交差検証精度(シードの平均と各シード)と、分散をスケールする初期化(He、Glorot、LeCun)の精度。小さすぎても大きすぎても劣る。',
}
